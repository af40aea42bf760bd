/**
 * `CommserveDrStack`: the hot-site bucket, the phase-2 functions and the DR job state machine
 * (SPEC §8). Each concern is its own construct; this stack only wires them together.
 */
import { CfnOutput, CfnParameter, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { ArchiveStorageClass } from '#core/settings';
import { DrJobStateMachine } from './dr-job-state-machine';
import { HotSiteBucket } from './hot-site-bucket';
import { Phase2Functions } from './phase2-functions';

/** Logical id of the deploy-time parameter holding the CommServe's managed-node id. */
export const COMMSERVE_INSTANCE_PARAMETER = 'CommServeInstanceId';

/** Properties of the commserve-dr stack. */
export interface CommserveDrStackProps extends StackProps {
  /**
   * The CommServe's SSM managed-node id (`mi-…` on premises, `i-…` on EC2). When omitted, the stack
   * declares the CloudFormation parameter `CommServeInstanceId` (same pattern) to be given at deploy time.
   */
  readonly commServeInstanceId?: string;
  /** Explicit hot-site bucket name; default generated. */
  readonly bucketName?: string;
  /** `ArchiveStorageClass` (SPEC §9). Default GLACIER. */
  readonly archiveStorageClass?: ArchiveStorageClass;
  /** `ArchiveRetryCount` (SPEC §9). Default 10. */
  readonly archiveRetryCount?: number;
  /** `ArchiveRetryIntervalMinutes` (SPEC §9). Default 30. */
  readonly archiveRetryIntervalMinutes?: number;
  /** Phase-1 time limit in seconds. Default 21,600 (6 h). */
  readonly phase1TimeoutSeconds?: number;
  /** Phase-1 heartbeat limit in seconds. Default 600 (10 min). */
  readonly phase1HeartbeatSeconds?: number;
}

/** The commserve-dr stack. */
export class CommserveDrStack extends Stack {
  readonly hotSite: HotSiteBucket;
  readonly functions: Phase2Functions;
  readonly drJob: DrJobStateMachine;

  constructor(scope: Construct, id: string, props: CommserveDrStackProps) {
    super(scope, id, props);
    this.hotSite = new HotSiteBucket(this, 'HotSite', { bucketName: props.bucketName });
    this.functions = new Phase2Functions(this, 'Phase2', { hotSite: this.hotSite, archiveStorageClass: props.archiveStorageClass });
    const commServeInstanceId =
      props.commServeInstanceId ??
      new CfnParameter(this, COMMSERVE_INSTANCE_PARAMETER, {
        type: 'String',
        allowedPattern: '^(mi|i)-[0-9a-f]{8,17}$',
        constraintDescription: 'an SSM managed-node id: mi-… (on premises) or i-… (EC2)',
        description: 'The CommServe SSM managed node that runs phase 1 (commserve-dr backup --task-token …)',
      }).valueAsString;
    this.drJob = new DrJobStateMachine(this, 'DrJob', {
      commServeInstanceId,
      validateSet: this.functions.validateSet,
      archiveSet: this.functions.archiveSet,
      reportJob: this.functions.reportJob,
      archiveRetryCount: props.archiveRetryCount,
      archiveRetryIntervalMinutes: props.archiveRetryIntervalMinutes,
      phase1Timeout: props.phase1TimeoutSeconds === undefined ? undefined : Duration.seconds(props.phase1TimeoutSeconds),
      phase1Heartbeat: props.phase1HeartbeatSeconds === undefined ? undefined : Duration.seconds(props.phase1HeartbeatSeconds),
    });
    new CfnOutput(this, 'HotSiteBucketName', { value: this.hotSite.bucket.bucketName });
    new CfnOutput(this, 'DrJobStateMachineArn', { value: this.drJob.stateMachine.stateMachineArn });
  }
}
