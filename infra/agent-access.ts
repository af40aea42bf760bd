/**
 * Least-privilege access of the on-prem agent (SPEC §4.1, §8). The CommServe is an SSM managed node
 * registered by hybrid activation (`aws ssm create-activation --iam-role <role>`); this construct
 * creates that service role. Commands sent by Run Command run as Local System with the role's
 * credentials, so this role is everything `commserve-dr backup` can do in AWS:
 *
 * - the SSM Agent's own channel to Systems Manager (Run Command and associations only: the
 *   `ssm:UpdateInstanceInformation`/association/document calls, `ssmmessages:*Channel`,
 *   `ec2messages:*`) — a trimmed `AmazonSSMManagedInstanceCore` without its account-wide
 *   `ssm:GetParameter(s)`; `useManagedInstanceCore` attaches the managed policy instead;
 * - hot-site bucket: read and write `sets/*` and `jobs/*` (multipart included), list key names and the
 *   multipart uploads in progress (phase 1 aborts those a killed job left); no delete, nothing under
 *   `archive/` (phase 2 is the Lambdas' work, also for a job run by hand);
 * - the DR job state machine: `states:SendTaskSuccess/SendTaskFailure/SendTaskHeartbeat` (phase-1
 *   callback) and `states:StartExecution` (a job run by hand starts phase 2 there, and so does a job finishing
 *   the phase 2 of a SET a lost execution left half-finished: `finish-phase2-<SET>`, agent/upkeep/half-finished.ts);
 * - Parameter Store: read the settings under the cell's prefix (`GetParametersByPath`), and
 *   `ssm:GetParameter` on the SQL Server credential `SecureString` (created by the operator) with
 *   `kms:Decrypt` on its key through SSM only;
 * - CloudWatch: `PutMetricData` in the `CommServeDR` namespace only.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { DrJobStateMachine } from './dr-job-state-machine';
import type { HotSiteBucket } from './hot-site-bucket';
import { grantPutMetricData, METRIC_NAMESPACE } from './monitoring';
import { acknowledgeWildcardResource } from './nag';
import { parameterArnForName, type SettingsParameters } from './settings-parameters';

/** Actions the SSM Agent needs for Run Command (and State Manager associations) on a managed node. */
export const SSM_AGENT_ACTIONS = [
  'ssm:UpdateInstanceInformation',
  'ssm:ListInstanceAssociations',
  'ssm:ListAssociations',
  'ssm:DescribeAssociation',
  'ssm:UpdateAssociationStatus',
  'ssm:UpdateInstanceAssociationStatus',
  'ssm:GetDocument',
  'ssm:DescribeDocument',
  'ssmmessages:CreateControlChannel',
  'ssmmessages:CreateDataChannel',
  'ssmmessages:OpenControlChannel',
  'ssmmessages:OpenDataChannel',
  'ec2messages:AcknowledgeMessage',
  'ec2messages:DeleteMessage',
  'ec2messages:FailMessage',
  'ec2messages:GetEndpoint',
  'ec2messages:GetMessages',
  'ec2messages:SendReply',
] as const;

/** The operator's SQL Server credential in Parameter Store. */
export interface SqlServerCredential {
  /** Name of the `SecureString` parameter (e.g. `/commserve-dr-secrets/default/SqlServerPassword`). */
  readonly parameterName: string;
  /** The KMS key that encrypts it. */
  readonly key: kms.IKey;
}

/** Properties of the agent's access. */
export interface AgentAccessProps {
  readonly hotSite: HotSiteBucket;
  readonly drJob: DrJobStateMachine;
  readonly settings: SettingsParameters;
  /** The SQL Server credential the agent may read; default none (SQLite, or Windows authentication). */
  readonly sqlServerCredential?: SqlServerCredential;
  /** Attach AWS's `AmazonSSMManagedInstanceCore` (Session Manager, Inventory, Patch Manager …) instead of the trimmed Run Command policy. Default false. */
  readonly useManagedInstanceCore?: boolean;
}

/** The service role of the CommServe's managed node. */
export class AgentAccess extends Construct {
  /** Give this role's name to `aws ssm create-activation --iam-role`. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: AgentAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.role = new iam.Role(this, 'Role', {
      description: 'commserve-dr agent on the CommServe (SSM hybrid-activated managed node): phase 1 of the DR backup job',
      // As in the SSM documentation for the hybrid service role: only Systems Manager of this account.
      assumedBy: new iam.ServicePrincipal('ssm.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:ssm:${stack.region}:${stack.account}:*` },
        },
      }),
    });

    if (props.useManagedInstanceCore) {
      this.role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore'));
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
        reason: 'Opted in by context (agentUseManagedInstanceCore): the operator wants SSM features beyond Run Command on the CommServe, which this AWS policy covers and tracks.',
      });
    } else {
      this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [...SSM_AGENT_ACTIONS], resources: ['*'] }));
      acknowledgeWildcardResource(
        this.role,
        '*',
        "The SSM Agent's own calls (instance information, associations, documents, ssmmessages/ec2messages channels) act on the calling managed node and do not take a resource ARN; this is AmazonSSMManagedInstanceCore minus its account-wide GetParameter(s).",
      );
    }

    props.hotSite.grantReadArea(this.role, 'sets');
    props.hotSite.grantWriteSets(this.role);
    props.hotSite.grantListMultipartUploads(this.role);
    props.hotSite.grantReadJobs(this.role);
    props.hotSite.grantWriteJobs(this.role);
    // The scrub's check state (state/scrub.json) and the break-glass guide, rewritten by each job.
    props.hotSite.grantReadArea(this.role, 'state');
    props.hotSite.grantWriteArea(this.role, 'state');
    props.hotSite.grantWriteRecoveryGuide(this.role);
    // The scrub's repair in process (versions, staged copies under repair/, archive copies back): see grantRepairInPlace.
    props.hotSite.grantRepairInPlace(this.role);
    props.drJob.grantTaskResponse(this.role);
    props.drJob.grantStartExecution(this.role);
    // `commserve-dr doctor` checks the state machine of jobs run by hand is there (a read of its description only).
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['states:DescribeStateMachine'], resources: [props.drJob.stateMachine.stateMachineArn] }));
    props.settings.grantRead(this.role);
    grantPutMetricData(this.role, METRIC_NAMESPACE);

    if (props.sqlServerCredential) {
      const { parameterName, key } = props.sqlServerCredential;
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [parameterArnForName(this, parameterName)] }),
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `ssm.${stack.region}.amazonaws.com` } },
        }),
      );
    }
  }
}
