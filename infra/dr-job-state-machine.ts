/**
 * The DR job state machine (SPEC §4.1, §4.3): phase 1 on the CommServe through SSM Run Command with
 * the task-token callback, then phase 2 (validate, archive, prune) and the job report.
 *
 * | state | type | result | on error |
 * |---|---|---|---|
 * | HasPhase1Result | Choice: `$.phase1` present → ValidateSet; `$.backupType` FULL or DIFFERENTIAL → RunPhase1; else → RejectInput | | |
 * | RejectInput | Pass: `{Error: "InvalidJobInput", Cause}` | `$.error` → ReportJob | |
 * | RunPhase1 | Task `ssm:sendCommand.waitForTaskToken` (timeout, heartbeat) | `$.phase1` | `LOG_SKIPPED` → `$.skipped` → LogSkipped; States.ALL → `$.error` → ReportJob |
 * | LogSkipped | Succeed: a LOG point due while another job held the lock waited, then was skipped; the running job's record names it (issue 17) | | |
 * | ValidateSet | Lambda (payload only) | `$.validation` | States.ALL → `$.error` → ReportJob |
 * | ArchiveSet | Lambda, Retry States.ALL (count × interval, backoff 1) | `$.archive` → PruneSets | States.ALL → `$.archiveError` → ReportJob |
 * | PruneSets | Lambda (payload only) | `$.prune` | States.ALL → `$.pruneError` → ReportJob (a failed prune never fails the job) |
 * | ReportJob | Lambda | `$.report` | (execution fails) |
 * | IsJobFailed | Choice: `$.report.status` = "Failed" → JobFailed, else → JobSucceeded | | |
 * | JobFailed / JobSucceeded | Fail (`DrJobFailed`) / Succeed | | |
 *
 * RejectInput exists because a missing `$.backupType` would make RunPhase1's parameters fail with
 * States.Runtime, which no Catch can handle: the execution would end without a job record.
 *
 * The state names are a contract: the local runner (aws-local-stepfunctions) overrides tasks by name.
 * An override of RunPhase1 receives the SendCommand parameters, not the state input:
 * `{DocumentName, InstanceIds, Comment, Parameters: {commands: ["commserve-dr --settings-parameter-path
 * /commserve-dr/<cell> backup --type FULL --task-token <token>"], executionTimeout: ["21600"]}}` (with `--config <file>`
 * when the deployment names one; infra/phase1-command.ts), and returns the agent's `Phase1Result`.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag';
import { phase1CommandTemplate, type Phase1CommandOptions } from './phase1-command';
import { DEFAULT_CELL, settingsPrefixForCell } from './settings-parameters';

/** Names of the states (the override keys of the local runner). */
export const DrJobState = {
  HasPhase1Result: 'HasPhase1Result',
  RejectInput: 'RejectInput',
  RunPhase1: 'RunPhase1',
  /** A LOG point skipped because another job held the phase-1 lock (agent error `LOG_SKIPPED`): not a failed job. */
  LogSkipped: 'LogSkipped',
  ValidateSet: 'ValidateSet',
  /** LOG points (SPEC §4.5) skip ArchiveSet and PruneSets: they are archived and pruned with their cycle. */
  IsLogPoint: 'IsLogPoint',
  ArchiveSet: 'ArchiveSet',
  PruneSets: 'PruneSets',
  ReportJob: 'ReportJob',
  IsJobFailed: 'IsJobFailed',
  JobSucceeded: 'JobSucceeded',
  JobFailed: 'JobFailed',
} as const;
/** One of the state names. */
export type DrJobState = (typeof DrJobState)[keyof typeof DrJobState];

/** The agent's error when a scheduled LOG point is skipped (agent/commands/backup/log-wait.ts). */
export const LOG_SKIPPED_ERROR = 'LOG_SKIPPED';

/** Error name of the JobFailed state. */
export const DR_JOB_FAILED_ERROR = 'DrJobFailed';
/** SSM document that runs the agent on the (Windows) CommServe. */
export const RUN_COMMAND_DOCUMENT = 'AWS-RunPowerShellScript';

/** Properties of the DR job state machine. */
export interface DrJobStateMachineProps {
  /** The CommServe's SSM managed-node id: `mi-…` (hybrid, on premises) or `i-…` (EC2). */
  readonly commServeInstanceId: string;
  readonly validateSet: lambda.IFunction;
  readonly archiveSet: lambda.IFunction;
  /** Applies retention (SPEC §5) after a successful archive copy. */
  readonly pruneSets: lambda.IFunction;
  readonly reportJob: lambda.IFunction;
  /** Longest phase 1 may take (RunPhase1 `TimeoutSeconds`, and the SSM `executionTimeout`). Default 6 h. */
  readonly phase1Timeout?: Duration;
  /** Longest gap between the agent's heartbeats (RunPhase1 `HeartbeatSeconds`). Default 10 min. */
  readonly phase1Heartbeat?: Duration;
  /** ArchiveSet retries after a failure (`ArchiveRetryCount`, SPEC §9). Default 10. */
  readonly archiveRetryCount?: number;
  /** Minutes between ArchiveSet retries (`ArchiveRetryIntervalMinutes`). Default 30; at least 1 s is used. */
  readonly archiveRetryIntervalMinutes?: number;
  /** Log group of the executions (level ALL, without execution data); default a new one kept one year. */
  readonly logGroup?: logs.ILogGroup;
  /**
   * What RunPhase1's command line names (infra/phase1-command.ts): the settings path (default `/commserve-dr/default`),
   * the config file (default none: the agent's machine-wide location) and the executable (default `commserve-dr`).
   */
  readonly phase1Command?: Partial<Phase1CommandOptions>;
}

/** The DR job state machine and its role. */
export class DrJobStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props: DrJobStateMachineProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const phase1Timeout = props.phase1Timeout ?? Duration.hours(6);
    const archiveRetryCount = props.archiveRetryCount ?? 10;
    const archiveRetryIntervalSeconds = Math.max(1, Math.round((props.archiveRetryIntervalMinutes ?? 30) * 60));
    if (!Number.isInteger(archiveRetryCount) || archiveRetryCount < 0 || archiveRetryCount > 99999999) {
      throw new Error(`archiveRetryCount must be an integer ≥ 0, got ${archiveRetryCount}`);
    }

    const documentArn = stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: RUN_COMMAND_DOCUMENT });
    // The CommServe is an SSM managed node: `mi-…` (hybrid activation) or `i-…` (EC2). When the id is a
    // deploy-time parameter (a token), both ARN forms are allowed for that one id.
    const managedInstanceArn = stack.formatArn({ service: 'ssm', resource: 'managed-instance', resourceName: props.commServeInstanceId });
    const ec2InstanceArn = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: props.commServeInstanceId });
    const instanceArns = Token.isUnresolved(props.commServeInstanceId)
      ? [managedInstanceArn, ec2InstanceArn]
      : [props.commServeInstanceId.startsWith('mi-') ? managedInstanceArn : ec2InstanceArn];

    const reportJob = new tasks.LambdaInvoke(this, DrJobState.ReportJob, {
      lambdaFunction: props.reportJob,
      payloadResponseOnly: true,
      resultPath: '$.report',
    });
    const jobFailed = new sfn.Fail(this, DrJobState.JobFailed, {
      error: DR_JOB_FAILED_ERROR,
      cause: 'The DR backup job failed; its job record (jobs/ in the hot-site bucket) gives the reason.',
    });
    const jobSucceeded = new sfn.Succeed(this, DrJobState.JobSucceeded);
    reportJob.next(
      new sfn.Choice(this, DrJobState.IsJobFailed).when(sfn.Condition.stringEquals('$.report.status', 'Failed'), jobFailed).otherwise(jobSucceeded),
    );

    const runPhase1 = new tasks.CallAwsService(this, DrJobState.RunPhase1, {
      service: 'ssm',
      action: 'sendCommand',
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      parameters: {
        DocumentName: RUN_COMMAND_DOCUMENT,
        InstanceIds: [props.commServeInstanceId],
        Comment: 'commserve-dr DR backup job, phase 1',
        Parameters: {
          commands: sfn.JsonPath.array(
            sfn.JsonPath.format(
              phase1CommandTemplate({ settingsParameterPath: settingsPrefixForCell(DEFAULT_CELL), ...props.phase1Command }),
              sfn.JsonPath.stringAt('$.backupType'),
              sfn.JsonPath.taskToken,
            ),
          ),
          executionTimeout: [String(phase1Timeout.toSeconds())],
        },
      },
      iamResources: [documentArn, ...instanceArns],
      iamAction: 'ssm:SendCommand',
      taskTimeout: sfn.Timeout.duration(phase1Timeout),
      heartbeatTimeout: sfn.Timeout.duration(props.phase1Heartbeat ?? Duration.minutes(10)),
      resultPath: '$.phase1',
    });
    // First: a skipped LOG point is not a failed job (its record is an event of the job that held the lock).
    runPhase1.addCatch(new sfn.Succeed(this, DrJobState.LogSkipped, { comment: 'LOG point skipped: another DR job held the phase-1 lock for the whole wait' }), {
      errors: [LOG_SKIPPED_ERROR],
      resultPath: '$.skipped',
    });
    runPhase1.addCatch(reportJob, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const validateSet = new tasks.LambdaInvoke(this, DrJobState.ValidateSet, {
      lambdaFunction: props.validateSet,
      payloadResponseOnly: true,
      resultPath: '$.validation',
    });
    validateSet.addCatch(reportJob, { errors: [sfn.Errors.ALL], resultPath: '$.error' });

    const archiveSet = new tasks.LambdaInvoke(this, DrJobState.ArchiveSet, {
      lambdaFunction: props.archiveSet,
      payloadResponseOnly: true,
      resultPath: '$.archive',
      // The configured retry policy alone (it covers Lambda service errors too).
      retryOnServiceExceptions: false,
    });
    archiveSet.addRetry({
      errors: [sfn.Errors.ALL],
      maxAttempts: archiveRetryCount,
      interval: Duration.seconds(archiveRetryIntervalSeconds),
      backoffRate: 1,
    });
    archiveSet.addCatch(reportJob, { errors: [sfn.Errors.ALL], resultPath: '$.archiveError' });

    // Retention after each successful job (SPEC §5); its failure is recorded, never the job's.
    const pruneSets = new tasks.LambdaInvoke(this, DrJobState.PruneSets, {
      lambdaFunction: props.pruneSets,
      payloadResponseOnly: true,
      resultPath: '$.prune',
    });
    pruneSets.addCatch(reportJob, { errors: [sfn.Errors.ALL], resultPath: '$.pruneError' });

    runPhase1.next(validateSet);
    validateSet.next(
      new sfn.Choice(this, DrJobState.IsLogPoint)
        .when(sfn.Condition.and(sfn.Condition.isPresent('$.phase1.backupType'), sfn.Condition.stringEquals('$.phase1.backupType', 'LOG')), reportJob)
        .otherwise(archiveSet),
    );
    archiveSet.next(pruneSets);
    pruneSets.next(reportJob);

    const rejectInput = new sfn.Pass(this, DrJobState.RejectInput, {
      result: sfn.Result.fromObject({ Error: 'InvalidJobInput', Cause: 'the job input needs backupType "FULL", "DIFFERENTIAL" or "LOG" (or a phase1 result)' }),
      resultPath: '$.error',
    }).next(reportJob);

    const start = new sfn.Choice(this, DrJobState.HasPhase1Result)
      .when(sfn.Condition.isPresent('$.phase1'), validateSet)
      .when(
        // IsPresent first: a comparison on a missing path is itself a States.Runtime error.
        sfn.Condition.and(
          sfn.Condition.isPresent('$.backupType'),
          sfn.Condition.or(
            sfn.Condition.stringEquals('$.backupType', 'FULL'),
            sfn.Condition.stringEquals('$.backupType', 'DIFFERENTIAL'),
            sfn.Condition.stringEquals('$.backupType', 'LOG'),
          ),
        ),
        runPhase1,
      )
      .otherwise(rejectInput);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'commserve-dr DR backup job: phase 1 on the CommServe (SSM callback), then validate, archive, prune and report',
      definitionBody: sfn.DefinitionBody.fromChainable(start),
      logs: {
        destination: props.logGroup ?? new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR }),
        // Every state transition, without the payloads (keys and summaries only, but no need to copy them).
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
      tracingEnabled: true,
    });
    const role = this.stateMachine.role;
    acknowledgeWildcardResource(
      role,
      '*',
      'X-Ray tracing (xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules/Targets) and CloudWatch Logs vended delivery (logs:CreateLogDelivery …) do not support resource-level permissions; CDK adds exactly those for tracing and logging.',
    );
    for (const fn of [props.validateSet, props.archiveSet, props.pruneSets, props.reportJob]) {
      acknowledgeWildcardResource(
        role,
        `${fn.functionArn}:*`,
        'LambdaInvoke also allows the versions and aliases of this one phase-2 function (<function ARN>:*); no other function.',
      );
    }
  }

  /** Lets the agent (on the CommServe) report phase 1: states:SendTaskSuccess/Failure/Heartbeat on this machine. */
  grantTaskResponse(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantTaskResponse(grantee);
  }

  /** Lets an operator's agent start a job by hand (states:StartExecution on this machine). */
  grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }
}

/** Every state name, in definition order. */
export const DR_JOB_STATE_NAMES: readonly DrJobState[] = Object.values(DrJobState);
