/**
 * The phase-2 Lambda functions (SPEC §4.3, §8): one per state-machine task, named after the state
 * (`lambdas/validate-set.ts`, `lambdas/archive-set.ts`, `lambdas/prune-sets.ts`, `lambdas/report-job.ts`).
 *
 * Bundled locally with esbuild (a devDependency: no Docker), for Node.js 22 on arm64. The AWS SDK is
 * bundled rather than taken from the runtime: the handlers rely on S3 checksum behaviour
 * (`ChecksumMode`, SHA-256 on copies) that changed across SDK v3 releases, so the function runs the
 * SDK version the tests ran, whatever the runtime happens to ship; the cost is a larger bundle.
 * `keepNames` keeps error class names intact after minification (Step Functions matches on them).
 *
 * Each function gets only the bucket areas it needs (prefix-scoped grants of `HotSiteBucket`), read
 * access to the settings path (`SETTINGS_PREFIX`, read at cold start) and, for ReportJob, PutMetricData
 * in the `CommServeDR` namespace. PruneSets lists the bucket, reads `sets/`, `archive/`, `jobs/` and
 * `prune/`, writes `prune/` (its plan records) and deletes in `sets/` and `archive/` only — with Object
 * Lock on, it reads the lock of what it would expire and keeps what is still locked (a delete without a version id
 * would only hide a locked object behind a delete marker), and with `sets/` locked it locks the kept SETs.
 *
 * Environment:
 * | variable | functions | value |
 * |---|---|---|
 * | `HOT_SITE_BUCKET` | all | bucket name |
 * | `SETTINGS_PREFIX` | all (when settings are given) | `/commserve-dr/<cell>`: `GetParametersByPath` at cold start |
 * | `ARCHIVE_STORAGE_CLASS` | ArchiveSet | GLACIER, DEEP_ARCHIVE or GLACIER_IR |
 * | `ARCHIVE_OBJECT_LOCK_MODE`, `ARCHIVE_OBJECT_LOCK_DAYS` | ArchiveSet (Object Lock on) | GOVERNANCE or COMPLIANCE; days |
 * | `METRIC_NAMESPACE`, `METRIC_CELL` | ReportJob (when metrics are given) | `CommServeDR`; value of the `Cell` dimension |
 * | `RETAIN_CYCLES`, `SET_LIFESPAN_FOR_FAILED_DR_DAYS`, `ARCHIVE_RETAIN_CYCLES` | PruneSets | defaults of the retention settings (SPEC §9); the parameters under `SETTINGS_PREFIX`, read at cold start, override them; `unlimited` keeps every archive copy |
 * | `SETS_OBJECT_LOCK_MODE`, `OBJECT_LOCK_ENABLED` | PruneSets (Object Lock on) | GOVERNANCE or COMPLIANCE: lock the kept `sets/` objects; `true`: keep what is still locked |
 */
import * as path from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { RETENTION_DEFAULTS } from '#core/retention';
import type { ArchiveStorageClass } from '#core/settings';
import type { HotSiteBucket } from './hot-site-bucket';
import { grantPutMetricData } from './monitoring';
import type { SettingsParameters } from './settings-parameters';

/** Root of the project (holds package-lock.json, tsconfig.json, lambdas/). */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Properties of the phase-2 functions. */
export interface Phase2FunctionsProps {
  readonly hotSite: HotSiteBucket;
  /** Storage class of archive copies (`ARCHIVE_STORAGE_CLASS`). Default GLACIER. */
  readonly archiveStorageClass?: ArchiveStorageClass;
  /** Retention of the functions' log groups. Default one year. */
  readonly logRetention?: logs.RetentionDays;
  /** The settings parameters: every function gets `SETTINGS_PREFIX` and read access to that path. Default none. */
  readonly settings?: SettingsParameters;
  /** Custom metrics ReportJob publishes (`METRIC_NAMESPACE`, `METRIC_CELL`; PutMetricData in that namespace only). Default none. */
  readonly metrics?: { readonly namespace: string; readonly cell: string };
  /**
   * Retention settings of PruneSets (SPEC §9). Default the values of `settings` when given, else the
   * schema defaults (5 cycles, 90 days, archive kept in full).
   */
  readonly retention?: { readonly RetainCycles?: number; readonly SetLifeSpanForFailedDR?: number; readonly ArchiveRetainCycles?: number | null };
}

/** The four phase-2 functions. */
export class Phase2Functions extends Construct {
  /** ValidateSet: reads `sets/*`. 15 min, 512 MiB (may stream-hash large objects). */
  readonly validateSet: nodejs.NodejsFunction;
  /** ArchiveSet: reads `sets/*`, reads and writes `archive/*` (multipart copy included). 15 min, 256 MiB. */
  readonly archiveSet: nodejs.NodejsFunction;
  /** PruneSets: lists the bucket, reads `sets/` `archive/` `jobs/` `prune/`, writes `prune/`, deletes in `sets/` and `archive/`. 15 min, 512 MiB. */
  readonly pruneSets: nodejs.NodejsFunction;
  /** ReportJob: writes `jobs/*`. 1 min, 256 MiB. */
  readonly reportJob: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: Phase2FunctionsProps) {
    super(scope, id);
    const bucketName = props.hotSite.bucket.bucketName;
    const make = (name: string, file: string, options: { timeout: Duration; memorySize: number; environment: Record<string, string> }) =>
      new nodejs.NodejsFunction(this, name, {
        description: `commserve-dr phase 2: ${name} state`,
        entry: path.join(PROJECT_ROOT, 'lambdas', file),
        handler: 'handler',
        runtime: lambda.Runtime.NODEJS_22_X,
        architecture: lambda.Architecture.ARM_64,
        timeout: options.timeout,
        memorySize: options.memorySize,
        // Stack traces point into the TypeScript sources (the bundles carry source maps).
        environment: {
          ...options.environment,
          ...(props.settings ? { SETTINGS_PREFIX: props.settings.prefix } : {}),
          NODE_OPTIONS: '--enable-source-maps',
        },
        projectRoot: PROJECT_ROOT,
        depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR }),
        bundling: {
          target: 'node22',
          minify: true,
          sourceMap: true,
          keepNames: true,
          externalModules: [],
          tsconfig: path.join(PROJECT_ROOT, 'tsconfig.json'),
          forceDockerBundling: false,
        },
      });

    this.validateSet = make('ValidateSet', 'validate-set.ts', {
      timeout: Duration.minutes(15),
      memorySize: 512,
      environment: { HOT_SITE_BUCKET: bucketName },
    });
    props.hotSite.grantReadSets(this.validateSet);

    this.archiveSet = make('ArchiveSet', 'archive-set.ts', {
      timeout: Duration.minutes(15),
      memorySize: 256,
      environment: {
        HOT_SITE_BUCKET: bucketName,
        ARCHIVE_STORAGE_CLASS: props.archiveStorageClass ?? 'GLACIER',
        ...(props.hotSite.archiveObjectLock
          ? { ARCHIVE_OBJECT_LOCK_MODE: props.hotSite.archiveObjectLock.mode, ARCHIVE_OBJECT_LOCK_DAYS: String(props.hotSite.archiveObjectLock.days) }
          : {}),
      },
    });
    props.hotSite.grantReadSets(this.archiveSet);
    props.hotSite.grantArchive(this.archiveSet);

    const retention = {
      RetainCycles: props.retention?.RetainCycles ?? props.settings?.settings.RetainCycles ?? RETENTION_DEFAULTS.RetainCycles,
      SetLifeSpanForFailedDR: props.retention?.SetLifeSpanForFailedDR ?? props.settings?.settings.SetLifeSpanForFailedDR ?? RETENTION_DEFAULTS.SetLifeSpanForFailedDR,
      ArchiveRetainCycles: props.retention?.ArchiveRetainCycles !== undefined ? props.retention.ArchiveRetainCycles : (props.settings?.settings.ArchiveRetainCycles ?? null),
    };
    this.pruneSets = make('PruneSets', 'prune-sets.ts', {
      // Lists and deletes in batches of 1,000 keys; the listing of a long history is the slow part.
      timeout: Duration.minutes(15),
      memorySize: 512,
      environment: {
        HOT_SITE_BUCKET: bucketName,
        RETAIN_CYCLES: String(retention.RetainCycles),
        SET_LIFESPAN_FOR_FAILED_DR_DAYS: String(retention.SetLifeSpanForFailedDR),
        ARCHIVE_RETAIN_CYCLES: retention.ArchiveRetainCycles === null ? 'unlimited' : String(retention.ArchiveRetainCycles),
        // Object Lock (issue 21 item 3): lock the kept sets/ objects; look up locks before expiring anything.
        ...(props.hotSite.setsObjectLock ? { SETS_OBJECT_LOCK_MODE: props.hotSite.setsObjectLock.mode } : {}),
        ...(props.hotSite.objectLockEnabled ? { OBJECT_LOCK_ENABLED: 'true' } : {}),
      },
    });
    props.hotSite.grantPrune(this.pruneSets);

    this.reportJob = make('ReportJob', 'report-job.ts', {
      timeout: Duration.minutes(1),
      memorySize: 256,
      environment: {
        HOT_SITE_BUCKET: bucketName,
        ...(props.metrics ? { METRIC_NAMESPACE: props.metrics.namespace, METRIC_CELL: props.metrics.cell } : {}),
      },
    });
    props.hotSite.grantWriteJobs(this.reportJob);
    if (props.metrics) grantPutMetricData(this.reportJob, props.metrics.namespace);

    for (const fn of this.all) {
      props.settings?.grantRead(fn);
      Validations.of(fn).acknowledge(
        {
          id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
          reason: 'AWS policy for writing the function\'s own CloudWatch Logs (logs:CreateLogStream/PutLogEvents); nothing else, and AWS keeps it current.',
        },
        {
          id: 'AwsSolutions-L1',
          reason: 'nodejs22.x on purpose: the bundles are built and tested with esbuild target node22 (docs: TOOLING.md); moving to a newer runtime is a tested change, not a default.',
        },
      );
    }
  }

  /** The four functions. */
  get all(): nodejs.NodejsFunction[] {
    return [this.validateSet, this.archiveSet, this.pruneSets, this.reportJob];
  }
}
