import { Match } from 'aws-cdk-lib/assertions';
import { normaliseScheduleExpression } from '#infra/schedule';
import { logicalId, roleStatements, synth } from './support/synth';

describe('DrJobSchedule', () => {
  describe('defaults', () => {
    let t: ReturnType<typeof synth>;
    let machineId: string;
    beforeAll(() => {
      t = synth();
      machineId = logicalId(t.json, 'AWS::StepFunctions::StateMachine', 'DrJobStateMachine');
    });

    it('starts a FULL every day at 17:00 UTC, flexible window off, with {"backupType":"FULL"} (enabled once CommServeInstanceId is set)', () => {
      t.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(0 17 * * ? *)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: { 'Fn::If': ['CommServeRegistered', 'ENABLED', 'DISABLED'] },
        Target: {
          Arn: { Ref: machineId },
          Input: JSON.stringify({ backupType: 'FULL' }),
          RoleArn: { 'Fn::GetAtt': [logicalId(t.json, 'AWS::IAM::Role', 'ScheduleRole'), 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
        },
      });
    });

    it('has no DIFFERENTIAL schedule unless configured', () => {
      const inputs = Object.values(t.json.Resources)
        .filter((r: any) => r.Type === 'AWS::Scheduler::Schedule')
        .map((r: any) => r.Properties.Target.Input);
      // The FULL and the LOG schedule (issue 17): no DIFFERENTIAL.
      expect(inputs).toEqual([JSON.stringify({ backupType: 'FULL' }), JSON.stringify({ backupType: 'LOG' })]);
    });

    it('starts a LOG point every LogBackupIntervalMinutes (15), kept at most one interval and retried 3 times (issue 17)', () => {
      t.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(15 minutes)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: { 'Fn::If': ['CommServeRegistered', 'ENABLED', 'DISABLED'] },
        Target: {
          Arn: { Ref: machineId },
          Input: JSON.stringify({ backupType: 'LOG' }),
          RoleArn: { 'Fn::GetAtt': [logicalId(t.json, 'AWS::IAM::Role', 'ScheduleRole'), 'Arn'] },
          RetryPolicy: { MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 3 },
        },
      });
    });

    it("assumes a role trusted by EventBridge Scheduler of this account only, allowed only to start the state machine", () => {
      t.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
          ],
        },
      });
      expect(roleStatements(t.json, 'ScheduleRole')).toEqual([{ Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: machineId } }]);
    });
  });

  describe('configured through context', () => {
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth({
        context: {
          scheduleTime: '02:30',
          scheduleTimeZone: 'Europe/Paris',
          // As `cdk -c differentialSchedules='[…]'` passes it: JSON text.
          differentialSchedules: '["cron(0 8,14,20 * * ? *)", "rate(6 hours)"]',
          scheduleEnabled: 'false',
        },
      });
    });

    it('runs the FULL at ScheduleTime in ScheduleTimeZone (daylight saving handled by Scheduler)', () => {
      t.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(30 2 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        FlexibleTimeWindow: { Mode: 'OFF' },
        State: 'DISABLED',
        Target: Match.objectLike({ Input: '{"backupType":"FULL"}' }),
      });
    });

    it.each(['cron(0 8,14,20 * * ? *)', 'rate(6 hours)'])('adds a DIFFERENTIAL schedule %s in the same time zone', (expression) => {
      t.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: expression,
        ScheduleExpressionTimezone: 'Europe/Paris',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: Match.objectLike({ Input: '{"backupType":"DIFFERENTIAL"}' }),
      });
    });

    it('records the schedule settings in Parameter Store', () => {
      t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/default/ScheduleTime', Value: '02:30' });
      t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/default/ScheduleTimeZone', Value: 'Europe/Paris' });
    });
  });

  it('follows LogBackupIntervalMinutes: 5 → rate(5 minutes) kept 300 s; null → no LOG schedule (issue 17)', () => {
    const five = synth({ context: { settings: '{"LogBackupIntervalMinutes":5}' } });
    five.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      Target: Match.objectLike({ Input: '{"backupType":"LOG"}', RetryPolicy: { MaximumEventAgeInSeconds: 300, MaximumRetryAttempts: 3 } }),
    });
    const off = synth({ context: { settings: '{"LogBackupIntervalMinutes":null}' } });
    const inputs = Object.values(off.json.Resources)
      .filter((r: any) => r.Type === 'AWS::Scheduler::Schedule')
      .map((r: any) => r.Properties.Target.Input);
    expect(inputs).toEqual([JSON.stringify({ backupType: 'FULL' })]);
  });

  it('refuses a time zone that is not IANA, and a malformed ScheduleTime, naming the key', () => {
    expect(() => synth({ context: { scheduleTimeZone: 'Mars/Olympus' } })).toThrow(/invalid context: scheduleTimeZone: must be an IANA time-zone name/);
    expect(() => synth({ context: { scheduleTime: '5pm' } })).toThrow(/invalid context: scheduleTime: must be HH:MM/);
  });

  describe('normaliseScheduleExpression', () => {
    it.each([
      ['cron(0 */6 * * ? *)', 'cron(0 */6 * * ? *)'],
      ['0 5,11,23 * * ? *', 'cron(0 5,11,23 * * ? *)'],
      ['rate(6 hours)', 'rate(6 hours)'],
    ])('%s → %s', (input, expected) => {
      expect(normaliseScheduleExpression(input)).toBe(expected);
    });

    it.each(['every 6 hours', 'cron(0 5 * *)', 'rate(6 weeks)'])('refuses %s', (input) => {
      expect(() => normaliseScheduleExpression(input)).toThrow(/must be cron\(<6 fields>\) or rate/);
    });
  });
});
