/**
 * Monitoring of the DR backup jobs (SPEC §4.1, §8): custom metrics, three alarms, an encrypted SNS
 * topic they notify, and a CloudWatch dashboard.
 *
 * **Custom metrics** (names in `core/metrics.ts`) — namespace `CommServeDR`, one dimension `Cell` (the settings cell, so several
 * CommServes can share an account):
 * | metric | unit | published by | when |
 * |---|---|---|---|
 * | `DatabaseCorruptionDetected` | Count | agent | every integrity check: 1 = corrupt, 0 = clean |
 * | `JobSucceeded` | Count | ReportJob | 1 when the job ends Completed or Completed With One or More Errors |
 * | `JobFailed` | Count | ReportJob (and the agent, for a job run by hand that fails before phase 2) | 1 when the job ends Failed |
 * | `BytesProtected` | Bytes | ReportJob | size of the job's SET |
 * | `JobDurationSeconds` | Seconds | ReportJob | job start to report |
 * | `RpoSeconds` | Seconds | agent, after every job commits its SET at the hot-site | age of the newest restorable point |
 * | `UnrepairedDamage` | Count | agent, every FULL/DIFFERENTIAL job whose upkeep reached the hot-site | objects damaged or missing at the hot-site that no copy could repair |
 *
 * **Alarms** (all notify the SNS topic, on ALARM and back to OK):
 * - *DatabaseCorruptionDetected*: max ≥ 1 over 5 min; missing data keeps the state (`ignore`), so it
 *   stays in ALARM until a later integrity check publishes 0.
 * - *JobFailed*: `ExecutionsFailed + ExecutionsTimedOut + ExecutionsAborted` of the state machine plus
 *   the custom `JobFailed`, ≥ 1 over 5 min; missing data = not breaching. The Step Functions metrics
 *   need no cooperation from the code (the execution ends in JobFailed exactly when the job record says
 *   Failed, or when ReportJob itself fails); the custom metric adds jobs that never reach the state machine.
 * - *NoSuccessfulDrBackup*: `ExecutionsSucceeded + JobSucceeded` < 1 in each of 26 consecutive
 *   1-hour periods, missing data = **breaching**. One 26-hour period is not possible (a period longer
 *   than a day is not allowed), and CloudWatch allows period × evaluation periods up to 7 days for
 *   periods of an hour or more, so 26 × 1 h is the direct form of "no success within 26 hours";
 *   it also fires 26 h after deployment if no job has succeeded yet.
 * - *RpoExceeded* (when LOG points are on): see the constructor.
 * - *HotSiteUnrepairedDamage* (issue 16 item 3): `UnrepairedDamage` max ≥ 1 over 5 min — a kept SET at the hot-site
 *   is damaged or missing an object and neither the local nor the archive copy could repair it (the job ends
 *   *Completed With One or More Errors*, which the JobFailed alarm does not see). Missing data keeps the state
 *   (`ignore`): the metric comes once per FULL/DIFFERENTIAL job that reached the hot-site, so the alarm stays in ALARM
 *   until a later job publishes 0 (everything it knows of intact or repaired).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CELL_DIMENSION, DrMetricName, METRIC_NAMESPACE } from '#core/metrics';
import { acknowledgeWildcardResource } from './nag';

// The names live in core (the publishers use them too); re-exported for the infra code and tests.
export { CELL_DIMENSION, DrMetricName, METRIC_NAMESPACE } from '#core/metrics';

/**
 * Lets `grantee` publish custom metrics in `namespace` only: `cloudwatch:PutMetricData` (which has no
 * resource-level permissions, hence `*`) with the condition `cloudwatch:namespace` = `namespace`.
 */
export function grantPutMetricData(grantee: iam.IGrantable, namespace: string = METRIC_NAMESPACE): iam.Grant {
  const grant = iam.Grant.addToPrincipal({
    grantee,
    actions: ['cloudwatch:PutMetricData'],
    resourceArns: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
  });
  acknowledgeWildcardResource(
    grantee.grantPrincipal,
    '*',
    `cloudwatch:PutMetricData has no resource-level permissions; the statement is limited by the condition cloudwatch:namespace = ${namespace}.`,
  );
  return grant;
}

/** Properties of the monitoring. */
export interface DrMonitoringProps {
  /** The DR job state machine (its execution metrics). */
  readonly stateMachine: sfn.IStateMachine;
  /** Settings cell: value of the `Cell` dimension. */
  readonly cell: string;
  /** Addresses subscribed to the alarm topic by e-mail (each must confirm). Default none. */
  readonly alarmEmails?: readonly string[];
  /** Window of the "no successful DR backup" alarm, in hours (1 to 168). Default 26. */
  readonly noSuccessWindowHours?: number;
  /**
   * Minutes between LOG points (`LogBackupIntervalMinutes`, SPEC §4.5): the RPO alarm fires when the newest restorable
   * point at the hot-site is older than twice this, or no job reported the RPO for that long. Default 15; null = LOG
   * points off, no RPO alarm (the 26-hour no-success alarm still watches the daily job).
   */
  readonly logBackupIntervalMinutes?: number | null;
  /** Name of the dashboard. Default `commserve-dr-<cell>`. */
  readonly dashboardName?: string;
}

/** Custom metrics, alarms, alarm topic and dashboard of the DR job. */
export class DrMonitoring extends Construct {
  readonly topic: sns.Topic;
  /** Encrypts the topic; CloudWatch may use it to publish alarms. */
  readonly topicKey: kms.Key;
  readonly corruptionAlarm: cloudwatch.Alarm;
  readonly jobFailedAlarm: cloudwatch.Alarm;
  readonly noSuccessAlarm: cloudwatch.Alarm;
  /** RPO over twice the LOG interval (absent when LOG points are off). */
  readonly rpoAlarm?: cloudwatch.Alarm;
  /** Damage at the hot-site that no copy could repair (`UnrepairedDamage` ≥ 1). */
  readonly unrepairedDamageAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;
  private readonly cell: string;

  constructor(scope: Construct, id: string, props: DrMonitoringProps) {
    super(scope, id);
    this.cell = props.cell;
    const windowHours = props.noSuccessWindowHours ?? 26;
    if (!Number.isInteger(windowHours) || windowHours < 1 || windowHours > 168) {
      throw new Error(`noSuccessWindowHours must be an integer from 1 to 168, got ${windowHours}`);
    }

    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'commserve-dr alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic (an AWS managed key would not allow it).
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'commserve-dr alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const email of props.alarmEmails ?? []) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    const sm = props.stateMachine;
    const fiveMinutes = Duration.minutes(5);
    const oneHour = Duration.hours(1);

    this.corruptionAlarm = new cloudwatch.Alarm(this, 'DatabaseCorruptionDetected', {
      alarmDescription:
        'The integrity check of the CommServe database found corruption (DBCC CHECKDB / PRAGMA integrity_check). The SET is flagged; job activity may be disabled. See the job record in jobs/ and docs/DEPLOY.md.',
      metric: this.metric(DrMetricName.DatabaseCorruptionDetected, { statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    this.jobFailedAlarm = new cloudwatch.Alarm(this, 'JobFailed', {
      alarmDescription: 'A DR backup job failed (no usable SET): the state machine execution failed, timed out or was aborted, or the job reported Failed.',
      metric: new cloudwatch.MathExpression({
        label: 'Failed DR backup jobs',
        expression: 'FILL(executionsFailed, 0) + FILL(executionsTimedOut, 0) + FILL(executionsAborted, 0) + FILL(jobFailed, 0)',
        usingMetrics: {
          executionsFailed: sm.metricFailed({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          executionsTimedOut: sm.metricTimedOut({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          executionsAborted: sm.metricAborted({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          jobFailed: this.metric(DrMetricName.JobFailed, { statistic: cloudwatch.Stats.SUM, period: fiveMinutes }),
        },
        period: fiveMinutes,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.noSuccessAlarm = new cloudwatch.Alarm(this, 'NoSuccessfulDrBackup', {
      alarmDescription: `No successful DR backup of the CommServe within ${windowHours} hours: the hot-site's newest restorable point is getting old. Check the schedule, the agent and the last job record.`,
      metric: new cloudwatch.MathExpression({
        label: 'Successful DR backup jobs',
        expression: 'FILL(executionsSucceeded, 0) + FILL(jobSucceeded, 0)',
        usingMetrics: {
          executionsSucceeded: sm.metricSucceeded({ period: oneHour, statistic: cloudwatch.Stats.SUM }),
          jobSucceeded: this.metric(DrMetricName.JobSucceeded, { statistic: cloudwatch.Stats.SUM, period: oneHour }),
        },
        period: oneHour,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: windowHours,
      datapointsToAlarm: windowHours,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.unrepairedDamageAlarm = new cloudwatch.Alarm(this, 'HotSiteUnrepairedDamage', {
      alarmDescription:
        'A SET kept at the hot-site is damaged or misses an object, and neither the phase-1 copy nor the archive copy could repair it (the job ended Completed With One or More Errors; its record names each object as HOTSITE_DAMAGED). Restores from that SET may fail: run `commserve-dr verify --repair SET_n`, see docs/DEPLOY.md "Reading the alarms".',
      metric: this.metric(DrMetricName.UnrepairedDamage, { statistic: cloudwatch.Stats.MAXIMUM, period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });

    const interval = props.logBackupIntervalMinutes === undefined ? 15 : props.logBackupIntervalMinutes;
    if (interval !== null) {
      if (!Number.isInteger(interval) || interval < 1 || interval > 1440) throw new Error(`logBackupIntervalMinutes must be an integer from 1 to 1440, or null, got ${interval}`);
      // Periods of one interval, alarm on 2 of 2 (issue 17 RPO check): RpoSeconds is published when a point is committed
      // (its age then: seconds), so what the alarm really watches is the time since the last commit. Two whole periods
      // without a report (missing data = breaching: LOG points skipped, failing, or the agent or schedule stopped) →
      // ALARM when the RPO is between 2× and 3× the interval; a report above 2× raises it too. (One period of 2× the
      // interval, as before, fired only between 2× and 4×, clock-aligned periods.)
      this.rpoAlarm = new cloudwatch.Alarm(this, 'RpoExceeded', {
        alarmDescription: `The newest restorable point at the hot-site is older than ${2 * interval} minutes (twice LogBackupIntervalMinutes = ${interval}), or no job reported it for two ${interval}-minute periods: LOG points are not arriving. Check the LOG schedule, the agent and the last job record.`,
        metric: this.metric(DrMetricName.RpoSeconds, { statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(interval), unit: cloudwatch.Unit.SECONDS }),
        threshold: 2 * interval * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    const action = new actions.SnsAction(this.topic);
    for (const alarm of [this.corruptionAlarm, this.jobFailedAlarm, this.noSuccessAlarm, this.unrepairedDamageAlarm, ...(this.rpoAlarm ? [this.rpoAlarm] : [])]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }

    this.dashboard = this.buildDashboard(sm, props.dashboardName ?? `commserve-dr-${props.cell}`);
  }

  /** A custom metric of this cell (namespace `CommServeDR`, dimension `Cell`). */
  metric(name: DrMetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName: name, dimensionsMap: { [CELL_DIMENSION]: this.cell }, ...options });
  }

  /** Lets `grantee` publish the custom metrics (PutMetricData restricted to the namespace). */
  grantPutMetricData(grantee: iam.IGrantable): iam.Grant {
    return grantPutMetricData(grantee, METRIC_NAMESPACE);
  }

  private buildDashboard(sm: sfn.IStateMachine, dashboardName: string): cloudwatch.Dashboard {
    const day = Duration.days(1);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName,
      defaultInterval: Duration.days(14),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# commserve-dr DR backups (cell \`${this.cell}\`)\nDaily bars: a day without a successful job is a gap. Alarms notify the SNS topic; see docs/DEPLOY.md, "Reading the alarms".`,
        width: 24,
        height: 2,
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarm states',
        alarms: [this.noSuccessAlarm, this.jobFailedAlarm, this.corruptionAlarm, this.unrepairedDamageAlarm],
        width: 24,
        height: 3,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Successful jobs in the last 26 h (0 = no restorable point added)',
        metrics: [sm.metricSucceeded({ period: Duration.hours(26), statistic: cloudwatch.Stats.SUM, label: 'ExecutionsSucceeded' })],
        width: 6,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Jobs per day (last successful job = newest green bar)',
        view: cloudwatch.GraphWidgetView.BAR,
        left: [
          this.metric(DrMetricName.JobSucceeded, { statistic: cloudwatch.Stats.SUM, period: day, label: 'JobSucceeded', color: cloudwatch.Color.GREEN }),
          this.metric(DrMetricName.JobFailed, { statistic: cloudwatch.Stats.SUM, period: day, label: 'JobFailed', color: cloudwatch.Color.RED }),
          sm.metricSucceeded({ statistic: cloudwatch.Stats.SUM, period: day, label: 'ExecutionsSucceeded' }),
          sm.metricFailed({ statistic: cloudwatch.Stats.SUM, period: day, label: 'ExecutionsFailed' }),
        ],
        width: 18,
        height: 6,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Job duration',
        left: [this.metric(DrMetricName.JobDurationSeconds, { statistic: cloudwatch.Stats.MAXIMUM, period: day, label: 'JobDurationSeconds (max per day)', unit: cloudwatch.Unit.SECONDS })],
        right: [sm.metric('ExecutionTime', { statistic: cloudwatch.Stats.MAXIMUM, period: day, label: 'State machine ExecutionTime (ms)' })],
        leftYAxis: { label: 'seconds', showUnits: false, min: 0 },
        rightYAxis: { label: 'milliseconds', showUnits: false, min: 0 },
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'SET size',
        left: [this.metric(DrMetricName.BytesProtected, { statistic: cloudwatch.Stats.MAXIMUM, period: day, label: 'BytesProtected (max per day)', unit: cloudwatch.Unit.BYTES })],
        leftYAxis: { label: 'bytes', showUnits: false, min: 0 },
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Database corruption detected',
        left: [this.metric(DrMetricName.DatabaseCorruptionDetected, { statistic: cloudwatch.Stats.MAXIMUM, period: day, label: 'DatabaseCorruptionDetected' })],
        leftYAxis: { min: 0, max: 1 },
        leftAnnotations: [{ value: 1, label: 'corrupt', color: cloudwatch.Color.RED }],
        width: 8,
        height: 6,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Hot-site objects damaged and not repaired (scrub of the kept SETs, per FULL/DIFFERENTIAL job)',
        left: [this.metric(DrMetricName.UnrepairedDamage, { statistic: cloudwatch.Stats.MAXIMUM, period: day, label: 'UnrepairedDamage (max per day)' })],
        leftYAxis: { min: 0 },
        leftAnnotations: [{ value: 1, label: 'unrepaired', color: cloudwatch.Color.RED }],
        width: 24,
        height: 4,
      }),
    );
    return dashboard;
  }
}

/** Convenience for tests and docs: the metric dimensions a publisher must send. */
export { metricDimensions } from '#core/metrics';
