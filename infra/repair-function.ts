/**
 * The RepairObject function (issue 21 item 2; `lambdas/repair-object.ts`): the cloud-side writer that puts damaged
 * committed objects back and publishes the break-glass guide, so the agent's own writes can be create-only. The agent
 * invokes it synchronously (`lambda:InvokeFunction` on this function only; agent/hotsite/repair-function.ts says why
 * not through the state machine).
 *
 * Its role: read `sets/*` (and their versions), `archive/*`, `repair/*`, `recovery/*`; list the bucket and its
 * versions; restore `archive/*`; write `sets/*` (the copy into place) and the key `RECOVERY.md`. No delete, no
 * retention, no bucket configuration.
 */
import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HotSiteBucket } from './hot-site-bucket';
import { PROJECT_ROOT } from './phase2-functions';

/** Properties of the repair function. */
export interface RepairFunctionProps {
  readonly hotSite: HotSiteBucket;
  /** Principals allowed to invoke it (the agent's role). */
  readonly invokers: readonly iam.IGrantable[];
  /** Retention of its log group. Default one year. */
  readonly logRetention?: logs.RetentionDays;
}

/** RepairObject and its narrow role. */
export class RepairFunction extends Construct {
  readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: RepairFunctionProps) {
    super(scope, id);
    const hotSite = props.hotSite;
    this.function = new nodejs.NodejsFunction(this, 'RepairObject', {
      description: 'commserve-dr: puts a damaged committed hot-site object back from its versions, a checked staged copy or the archive; publishes RECOVERY.md',
      entry: path.join(PROJECT_ROOT, 'lambdas', 'repair-object.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.minutes(5),
      memorySize: 256,
      environment: { HOT_SITE_BUCKET: hotSite.bucket.bucketName, NODE_OPTIONS: '--enable-source-maps' },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      logGroup: new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR }),
      bundling: { target: 'node22', minify: true, sourceMap: true, keepNames: true, externalModules: [], tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'), forceDockerBundling: false },
    });
    const fn = this.function;
    for (const area of ['sets', 'archive', 'repair', 'recovery'] as const) hotSite.grantReadArea(fn, area);
    hotSite.grantWriteSets(fn);
    hotSite.grantWriteRecoveryGuide(fn);
    hotSite.grantRestoreArea(fn, 'archive');
    hotSite.grantListBucket(fn);
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucketVersions'], resources: [hotSite.bucket.bucketArn] }));
    // The function itself only (not `:*`, its versions and aliases: none is published), synchronously.
    for (const invoker of props.invokers) invoker.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    Validations.of(fn).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "AWS policy for writing the function's own CloudWatch Logs (logs:CreateLogStream/PutLogEvents); nothing else, and AWS keeps it current.",
      },
      { id: 'AwsSolutions-L1', reason: 'nodejs22.x on purpose: the bundles are built and tested with esbuild target node22 (docs: TOOLING.md).' },
    );
  }
}
