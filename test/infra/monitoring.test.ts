import { Match } from 'aws-cdk-lib/assertions';
import * as coreMetrics from '#core/metrics';
import { DrMetricName, METRIC_NAMESPACE } from '#infra/monitoring';
import { logicalId, roleStatements, synth } from './support/synth';

describe('DrMonitoring', () => {
  let t: ReturnType<typeof synth>;
  let topicId: string;
  let machineId: string;
  const cell = [{ Name: 'Cell', Value: 'default' }];
  beforeAll(() => {
    t = synth({ context: { alarmEmail: 'dr-team@example.com, oncall@example.com' } });
    topicId = logicalId(t.json, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    machineId = logicalId(t.json, 'AWS::StepFunctions::StateMachine', 'DrJobStateMachine');
  });

  const machineMetric = (name: string, period: number) => ({
    MetricStat: { Metric: { Namespace: 'AWS/States', MetricName: name, Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machineId } }] }, Period: period, Stat: 'Sum' },
    ReturnData: false,
  });
  const customMetric = (name: string, period: number, stat = 'Sum') => ({
    MetricStat: { Metric: { Namespace: 'CommServeDR', MetricName: name, Dimensions: cell }, Period: period, Stat: stat },
    ReturnData: false,
  });

  it('uses the CommServeDR namespace and the metric names of core/metrics (shared with the publishers)', () => {
    expect(METRIC_NAMESPACE).toBe('CommServeDR');
    expect(coreMetrics.METRIC_NAMESPACE).toBe('CommServeDR');
    expect(coreMetrics.CELL_DIMENSION).toBe('Cell');
    expect(DrMetricName).toBe(coreMetrics.DrMetricName);
    expect([...coreMetrics.METRIC_NAMES].sort()).toEqual(['BytesProtected', 'DatabaseCorruptionDetected', 'JobDurationSeconds', 'JobFailed', 'JobSucceeded', 'RpoSeconds', 'UnrepairedDamage']);
    expect(coreMetrics.metricDimensions('paris')).toEqual([{ Name: 'Cell', Value: 'paris' }]);
  });

  it('alarms on DatabaseCorruptionDetected ≥ 1, keeping the state until a later check publishes 0', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CommServeDR',
      MetricName: 'DatabaseCorruptionDetected',
      Dimensions: cell,
      Statistic: 'Maximum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
  });

  it('alarms on a failed job: ExecutionsFailed/TimedOut/Aborted of the state machine plus the JobFailed metric, ≥ 1', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(executionsFailed, 0) + FILL(executionsTimedOut, 0) + FILL(executionsAborted, 0) + FILL(jobFailed, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'executionsFailed', ...machineMetric('ExecutionsFailed', 300) }),
        Match.objectLike({ Id: 'executionsTimedOut', ...machineMetric('ExecutionsTimedOut', 300) }),
        Match.objectLike({ Id: 'executionsAborted', ...machineMetric('ExecutionsAborted', 300) }),
        Match.objectLike({ Id: 'jobFailed', ...customMetric('JobFailed', 300) }),
      ]),
    });
  });

  it('alarms when no DR backup succeeded within 26 hours: 26 hourly periods all < 1, missing data breaching', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: topicId }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(executionsSucceeded, 0) + FILL(jobSucceeded, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'executionsSucceeded', ...machineMetric('ExecutionsSucceeded', 3600) }),
        Match.objectLike({ Id: 'jobSucceeded', ...customMetric('JobSucceeded', 3600) }),
      ]),
    });
  });

  it('alarms when the RPO (age of the newest restorable point) exceeds twice LogBackupIntervalMinutes (15 → 30 min), or two 15-min periods pass without a report (missing data breaching)', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'CommServeDR',
      MetricName: 'RpoSeconds',
      Dimensions: cell,
      Statistic: 'Maximum',
      Period: 900,
      Unit: 'Seconds',
      Threshold: 1800,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
  });

  it('alarms on UnrepairedDamage ≥ 1 (hot-site damage no copy could repair), keeping the state until a later job publishes 0', () => {
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('neither the phase-1 copy nor the archive copy could repair it'),
      Namespace: 'CommServeDR',
      MetricName: 'UnrepairedDamage',
      Dimensions: cell,
      Statistic: 'Maximum',
      Period: 300,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
    expect(t.json.Resources[logicalId(t.json, 'AWS::CloudWatch::Alarm', 'MonitoringHotSiteUnrepairedDamage')].Properties.MetricName).toBe('UnrepairedDamage');
  });

  it('sends to an SNS topic encrypted with a rotating KMS key that CloudWatch may use, TLS only', () => {
    const keyId = logicalId(t.json, 'AWS::KMS::Key', 'MonitoringTopicKey');
    t.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Principal: { Service: Match.arrayWith(['cloudwatch.amazonaws.com']) }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
        ]),
      },
    });
    t.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it.each(['dr-team@example.com', 'oncall@example.com'])('subscribes %s by e-mail (context alarmEmail)', (email) => {
    t.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: email, TopicArn: { Ref: topicId } });
  });

  it('lets ReportJob publish metrics in the CommServeDR namespace only, and tells it the namespace and cell', () => {
    t.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('ReportJob'),
      Environment: { Variables: Match.objectLike({ METRIC_NAMESPACE: 'CommServeDR', METRIC_CELL: 'default' }) },
    });
    const put = roleStatements(t.json, 'Phase2ReportJobServiceRole').filter((s) => [s.Action].flat().includes('cloudwatch:PutMetricData'));
    expect(put).toEqual([{ Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CommServeDR' } } }]);
    for (const fn of ['Phase2ValidateSetServiceRole', 'Phase2ArchiveSetServiceRole', 'Phase2PruneSetsServiceRole']) {
      expect(roleStatements(t.json, fn).flatMap((s) => [s.Action].flat())).not.toContain('cloudwatch:PutMetricData');
    }
  });

  describe('dashboard', () => {
    let body: string;
    beforeAll(() => {
      const id = logicalId(t.json, 'AWS::CloudWatch::Dashboard', 'MonitoringDashboard');
      const properties = t.json.Resources[id].Properties;
      expect(properties.DashboardName).toBe('commserve-dr-default');
      // The body is an Fn::Join around the state machine ARN and the region: join the literal parts.
      body = JSON.stringify(properties.DashboardBody);
    });

    it.each(['JobSucceeded', 'JobFailed', 'JobDurationSeconds', 'BytesProtected', 'DatabaseCorruptionDetected', 'UnrepairedDamage', 'ExecutionsSucceeded', 'ExecutionTime'])('graphs %s', (metric) => {
      expect(body).toContain(metric);
    });

    it('shows the four alarm states', () => {
      expect(body).toContain('Alarm states');
      for (const prefix of ['MonitoringNoSuccessfulDrBackup', 'MonitoringJobFailed', 'MonitoringDatabaseCorruptionDetected', 'MonitoringHotSiteUnrepairedDamage']) {
        expect(body).toContain(logicalId(t.json, 'AWS::CloudWatch::Alarm', prefix));
      }
    });
  });
});
