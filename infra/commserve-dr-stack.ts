/**
 * `CommserveDrStack` (SPEC §8): the hot-site bucket, the settings parameters, the phase-2 functions,
 * the DR job state machine, its schedule, the monitoring, and the agent's access. Each concern is its
 * own construct; this stack only resolves the settings and wires the constructs together.
 */
import { CfnOutput, CfnParameter, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { DeployOrder } from './deploy-order';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { ARCHIVE_MINIMUM_DAYS, type ArchiveStorageClass, type SettingsInput } from '#core/settings';
import { AgentAccess, type SqlServerCredential } from './agent-access';
import { OperatorAccess } from './operator-access';
import { DrJobStateMachine } from './dr-job-state-machine';
import { HotSiteBucket, type ObjectLockMode } from './hot-site-bucket';
import { METRIC_NAMESPACE } from '#core/metrics';
import { DrMonitoring } from './monitoring';
import { Phase2Functions } from './phase2-functions';
import { DrJobSchedule } from './schedule';
import { DEFAULT_CELL, SettingsParameters, settingsPrefixForCell } from './settings-parameters';
import { noncurrentVersionDaysFor, TamperProtection } from './tamper-protection';
import { RepairFunction } from './repair-function';

/** Logical id of the deploy-time parameter holding the CommServe's managed-node id. */
export const COMMSERVE_INSTANCE_PARAMETER = 'CommServeInstanceId';

/** Feature flag: server access logs are delivered through a bucket policy (not the legacy ACL, which enforced object ownership forbids). */
const SERVER_ACCESS_LOGS_USE_BUCKET_POLICY = '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy';

/** Properties of the commserve-dr stack. */
export interface CommserveDrStackProps extends StackProps {
  /**
   * The CommServe's SSM managed-node id (`mi-…` on premises, `i-…` on EC2). When omitted, the stack
   * declares the CloudFormation parameter `CommServeInstanceId` (same pattern) to be given at deploy time.
   */
  readonly commServeInstanceId?: string;
  /** Settings cell: the parameters live under `/commserve-dr/<cell>/`, metrics carry `Cell=<cell>`. Default `default`. */
  readonly cell?: string;
  /**
   * Values of the settings published to Parameter Store (SPEC §9), when they differ from the schema's
   * defaults. The dedicated props below (archive class, retries, schedule) take precedence.
   */
  readonly settings?: SettingsInput;
  /** Explicit hot-site bucket name; default generated. */
  readonly bucketName?: string;
  /** ARN of an existing KMS key for the hot-site bucket; default a key created (and retained) by the stack. */
  readonly hotSiteKeyArn?: string;
  /** Days a noncurrent object version is kept. Default as long as retention keeps a SET (`noncurrentVersionDaysFor`: 97 with the default settings). */
  readonly noncurrentVersionExpirationDays?: number;
  /** Days server access logs are kept. Default 365. */
  readonly accessLogRetentionDays?: number;
  /** Object Lock for `archive/` objects; default off. `days` defaults to the archive class's minimum storage duration (90 or 180). */
  readonly archiveObjectLock?: { readonly mode: ObjectLockMode; readonly days?: number };
  /** Object Lock for the hot-site `sets/` objects (issue 21 item 3); default off. Each kept SET is locked by PruneSets until its cycle can expire. */
  readonly setsObjectLock?: { readonly mode: ObjectLockMode };
  /** `ArchiveStorageClass` (SPEC §9). Default GLACIER. */
  readonly archiveStorageClass?: ArchiveStorageClass;
  /** `ArchiveRetryCount` (SPEC §9). Default 10. Fixed in the state machine's Retry at deploy time. */
  readonly archiveRetryCount?: number;
  /** `ArchiveRetryIntervalMinutes` (SPEC §9). Default 30. Fixed in the state machine's Retry at deploy time. */
  readonly archiveRetryIntervalMinutes?: number;
  /** Phase-1 time limit in seconds. Default 21,600 (6 h). */
  readonly phase1TimeoutSeconds?: number;
  /** Phase-1 heartbeat limit in seconds. Default 600 (10 min). */
  readonly phase1HeartbeatSeconds?: number;
  /** `ScheduleTime`: daily FULL, `HH:MM`. Default 17:00. */
  readonly scheduleTime?: string;
  /** `ScheduleTimeZone`: IANA time zone of the schedules. Default UTC. */
  readonly scheduleTimeZone?: string;
  /** Extra DIFFERENTIAL schedules (`cron(…)` / `rate(…)` expressions, in `scheduleTimeZone`). Default none. */
  readonly differentialSchedules?: readonly string[];
  /** Whether the schedules are enabled. Default true. */
  readonly scheduleEnabled?: boolean;
  /** Name of the SQL Server credential `SecureString` the operator creates; default none (SQLite). */
  readonly sqlServerCredentialParameter?: string;
  /** ARN of the KMS key of that `SecureString`; default a key created by the stack (output `CredentialKeyArn`). */
  readonly sqlServerCredentialKeyArn?: string;
  /** E-mail addresses subscribed to the alarm topic. Default none. */
  readonly alarmEmails?: readonly string[];
  /** Attach `AmazonSSMManagedInstanceCore` to the agent's role instead of the trimmed Run Command policy. Default false. */
  readonly agentUseManagedInstanceCore?: boolean;
  /** Log the hot-site's write data events with CloudTrail for the tamper alarm. Default true (about $0.10 per 100,000 writes). */
  readonly tamperDataEventTrail?: boolean;
  /** Deny the agent any PutObject/CompleteMultipartUpload without If-None-Match (create-only). Default true (see infra/tamper-protection.ts). */
  readonly agentCreateOnly?: boolean;
  /** Absolute path of the agent's launcher on the CommServe, when `commserve-dr` is not on Local System's PATH. */
  readonly agentCommand?: string;
  /** Absolute path of the agent's config file on the CommServe, sent as `--config`; default the agent's machine-wide location. */
  readonly agentConfigFile?: string;
}

/** The commserve-dr stack. */
export class CommserveDrStack extends Stack {
  readonly hotSite: HotSiteBucket;
  readonly settings: SettingsParameters;
  readonly functions: Phase2Functions;
  readonly drJob: DrJobStateMachine;
  readonly schedule: DrJobSchedule;
  readonly monitoring: DrMonitoring;
  readonly agent: AgentAccess;
  /** The recovery and operator roles (recover/fetch/sets/history; verify and prune by hand). */
  readonly operators: OperatorAccess;
  readonly tamperProtection: TamperProtection;
  /** RepairObject: puts damaged committed objects back for the create-only agent (issue 21). */
  readonly repair: RepairFunction;

  constructor(scope: Construct, id: string, props: CommserveDrStackProps) {
    super(scope, id, props);
    this.node.setContext(SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    const cell = props.cell ?? DEFAULT_CELL;

    // The dedicated props win over `settings`; the schema fills in every default.
    this.settings = new SettingsParameters(this, 'Settings', {
      prefix: settingsPrefixForCell(cell),
      settings: {
        ...props.settings,
        // The agent reads its settings from this path: its metrics must carry the stack's cell, which the alarms watch.
        Cell: cell,
        ...definedEntries({
          ArchiveStorageClass: props.archiveStorageClass,
          ArchiveRetryCount: props.archiveRetryCount,
          ArchiveRetryIntervalMinutes: props.archiveRetryIntervalMinutes,
          ScheduleTime: props.scheduleTime,
          ScheduleTimeZone: props.scheduleTimeZone,
        }),
      },
    });
    const settings = this.settings.settings;

    this.hotSite = new HotSiteBucket(this, 'HotSite', {
      bucketName: props.bucketName,
      encryptionKey: props.hotSiteKeyArn ? kms.Key.fromKeyArn(this, 'HotSiteSuppliedKey', props.hotSiteKeyArn) : undefined,
      noncurrentVersionExpirationDays: props.noncurrentVersionExpirationDays ?? noncurrentVersionDaysFor(settings),
      accessLogRetentionDays: props.accessLogRetentionDays,
      archiveStorageClass: settings.ArchiveStorageClass,
      archiveObjectLock: props.archiveObjectLock && {
        mode: props.archiveObjectLock.mode,
        days: props.archiveObjectLock.days ?? ARCHIVE_MINIMUM_DAYS[settings.ArchiveStorageClass],
      },
      setsObjectLock: props.setsObjectLock,
    });
    this.functions = new Phase2Functions(this, 'Phase2', {
      hotSite: this.hotSite,
      archiveStorageClass: settings.ArchiveStorageClass,
      settings: this.settings,
      metrics: { namespace: METRIC_NAMESPACE, cell },
    });
    // Without the id (context), the parameter CommServeInstanceId may stay empty: the schedules stay disabled until it is set.
    const deployOrder = new DeployOrder(this, 'DeployOrder', { commServeInstanceId: props.commServeInstanceId, parameterId: COMMSERVE_INSTANCE_PARAMETER });
    const commServeInstanceId = deployOrder.commServeInstanceId;
    this.drJob = new DrJobStateMachine(this, 'DrJob', {
      commServeInstanceId,
      validateSet: this.functions.validateSet,
      archiveSet: this.functions.archiveSet,
      pruneSets: this.functions.pruneSets,
      reportJob: this.functions.reportJob,
      archiveRetryCount: settings.ArchiveRetryCount,
      archiveRetryIntervalMinutes: settings.ArchiveRetryIntervalMinutes,
      phase1Timeout: props.phase1TimeoutSeconds === undefined ? undefined : Duration.seconds(props.phase1TimeoutSeconds),
      phase1Heartbeat: props.phase1HeartbeatSeconds === undefined ? undefined : Duration.seconds(props.phase1HeartbeatSeconds),
      phase1Command: { settingsParameterPath: this.settings.prefix, agentCommand: props.agentCommand, configFile: props.agentConfigFile },
    });
    this.schedule = new DrJobSchedule(this, 'Schedule', {
      stateMachine: this.drJob.stateMachine,
      scheduleTime: settings.ScheduleTime,
      scheduleTimeZone: settings.ScheduleTimeZone,
      differentialSchedules: props.differentialSchedules,
      logBackupIntervalMinutes: settings.LogBackupIntervalMinutes,
      enabled: props.scheduleEnabled,
    });
    this.monitoring = new DrMonitoring(this, 'Monitoring', {
      stateMachine: this.drJob.stateMachine,
      cell,
      alarmEmails: props.alarmEmails,
      logBackupIntervalMinutes: settings.LogBackupIntervalMinutes,
    });

    let sqlServerCredential: SqlServerCredential | undefined;
    if (props.sqlServerCredentialParameter) {
      const key = props.sqlServerCredentialKeyArn
        ? kms.Key.fromKeyArn(this, 'CredentialSuppliedKey', props.sqlServerCredentialKeyArn)
        : new kms.Key(this, 'CredentialKey', {
            description: `commserve-dr: encrypts the SQL Server credential SecureString ${props.sqlServerCredentialParameter}`,
            enableKeyRotation: true,
            removalPolicy: RemovalPolicy.RETAIN,
          });
      sqlServerCredential = { parameterName: props.sqlServerCredentialParameter, key };
      if (!props.sqlServerCredentialKeyArn) {
        new CfnOutput(this, 'CredentialKeyArn', {
          description: 'KMS key for the SQL Server credential: aws ssm put-parameter --type SecureString --key-id <this>',
          value: key.keyArn,
        });
      }
    }
    this.agent = new AgentAccess(this, 'Agent', {
      hotSite: this.hotSite,
      drJob: this.drJob,
      settings: this.settings,
      sqlServerCredential,
      useManagedInstanceCore: props.agentUseManagedInstanceCore,
    });

    // The agent finds the state machine of its jobs run by hand under its settings path.
    new ssm.StringParameter(this, 'StateMachineArnParameter', {
      parameterName: `${this.settings.prefix}/StateMachineArn`,
      stringValue: this.drJob.stateMachine.stateMachineArn,
      description: 'commserve-dr setting StateMachineArn: the DR job state machine; a job run by hand on the CommServe starts its phase 2 there',
      tier: ssm.ParameterTier.STANDARD,
    });
    this.operators = new OperatorAccess(this, 'Operators', { hotSite: this.hotSite, settings: this.settings });
    this.repair = new RepairFunction(this, 'Repair', { hotSite: this.hotSite, invokers: [this.agent.role] });
    // The agent finds the repair function under its settings path, like the state machine.
    new ssm.StringParameter(this, 'RepairFunctionNameParameter', {
      parameterName: `${this.settings.prefix}/RepairFunctionName`,
      stringValue: this.repair.function.functionName,
      description: 'commserve-dr setting RepairFunctionName: the function the scrub asks to put damaged committed objects back (the agent only creates objects)',
      tier: ssm.ParameterTier.STANDARD,
    });
    this.tamperProtection = new TamperProtection(this, 'Tamper', {
      hotSite: this.hotSite,
      createOnlyPrincipals: [this.agent.role],
      writers: {
        creators: [this.agent.role],
        // The operator role writes verify/ and prune/ records and deletes in a manual prune: expected, not tampering.
        cloudWriters: [this.functions.archiveSet.role!, this.functions.reportJob.role!, this.functions.pruneSets.role!, this.operators.operatorRole, this.repair.function.role!],
        deleters: [this.functions.pruneSets.role!, this.operators.operatorRole],
        // Object Lock: ArchiveSet locks archive/ copies (and extends a FULL's), PruneSets the kept sets/ objects.
        lockers: [this.functions.archiveSet.role!, this.functions.pruneSets.role!],
      },
      alarmTopic: this.monitoring.topic,
      alarmTopicKey: this.monitoring.topicKey,
      dataEventTrail: props.tamperDataEventTrail,
      enforceCreateOnly: props.agentCreateOnly,
    });

    // Every schedule of the stack (including ones added later) runs only once the CommServe's id is known.
    deployOrder.holdSchedulesUntilRegistered(this);

    new CfnOutput(this, 'HotSiteBucketName', { value: this.hotSite.bucket.bucketName });
    new CfnOutput(this, 'DrJobStateMachineArn', { value: this.drJob.stateMachine.stateMachineArn });
    new CfnOutput(this, 'AgentRoleName', {
      description: 'IAM role of the CommServe managed node: aws ssm create-activation --iam-role <this>',
      value: this.agent.role.roleName,
    });
    new CfnOutput(this, 'RecoveryRoleArn', {
      description: 'assume for recover, fetch, sets, history, report (read and restore only): e.g. AWS_PROFILE with role_arn = <this>',
      value: this.operators.recoveryRole.roleArn,
    });
    new CfnOutput(this, 'OperatorRoleArn', { description: 'assume for verify and prune by hand (and recovery)', value: this.operators.operatorRole.roleArn });
    new CfnOutput(this, 'RepairFunctionName', { description: 'RepairObject (setting RepairFunctionName)', value: this.repair.function.functionName });
    new CfnOutput(this, 'SettingsPrefix', { description: 'SSM Parameter Store path of the settings', value: this.settings.prefix });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });
  }
}

/** The entries whose value is defined. */
function definedEntries<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}
