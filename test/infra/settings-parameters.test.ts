import { Match } from 'aws-cdk-lib/assertions';
import { SettingsSchema } from '#core/settings';
import { CLOUD_SETTING_NAMES, parameterValue } from '#infra/settings-parameters';
import { parameterArn, roleStatements, synth } from './support/synth';

const DEFAULTS = SettingsSchema.parse({});

describe('SettingsParameters', () => {
  it('publishes every scalar setting of SPEC §9, and not the local-only or structured ones', () => {
    expect(CLOUD_SETTING_NAMES).toEqual([
      'RetainCycles',
      'SetLifeSpanForFailedDR',
      'DisableActivityOnDbCorruption',
      'ArchiveStorageClass',
      'ArchiveRetainCycles',
      'Phase1Destination',
      'DestinationRetryCount',
      'DestinationRetryIntervalSeconds',
      'DbRetryCount',
      'DbRetryIntervalMinutes',
      'ArchiveRetryCount',
      'ArchiveRetryIntervalMinutes',
      'ScrubRequestsPerJob',
      'LogBackupIntervalMinutes',
      'ScheduleTime',
      'ScheduleTimeZone',
      'FirewallDirectory',
      'Cell',
      'PublishMetrics',
      'DumpCompression',
      'DumpCompressionLevel',
      'AnsiCodePage',
    ]);
  });

  describe('defaults', () => {
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth();
    });

    it.each(CLOUD_SETTING_NAMES.map((name) => [name]))('%s is a String parameter under /commserve-dr/default/ holding the schema default', (name) => {
      t.template.hasResourceProperties('AWS::SSM::Parameter', {
        Name: `/commserve-dr/default/${name}`,
        Type: 'String',
        Value: parameterValue(DEFAULTS[name]),
        Tier: 'Standard',
      });
    });

    it('writes the documented defaults as text (5, 90, false, GLACIER, unlimited, 17:00, UTC)', () => {
      const values = Object.fromEntries(
        Object.values(t.json.Resources)
          .filter((r: any) => r.Type === 'AWS::SSM::Parameter')
          .map((r: any) => [r.Properties.Name.split('/').pop(), r.Properties.Value]),
      );
      expect(values).toMatchObject({
        RetainCycles: '5',
        SetLifeSpanForFailedDR: '90',
        DisableActivityOnDbCorruption: 'false',
        ArchiveStorageClass: 'GLACIER',
        ArchiveRetainCycles: 'unlimited',
        DbRetryCount: '10',
        DbRetryIntervalMinutes: '30',
        ArchiveRetryCount: '10',
        ArchiveRetryIntervalMinutes: '30',
        ScrubRequestsPerJob: '150',
        ScheduleTime: '17:00',
        ScheduleTimeZone: 'UTC',
      });
    });

    it.each(['Phase2ValidateSet', 'Phase2ArchiveSet', 'Phase2PruneSets', 'Phase2ReportJob'])('%s gets SETTINGS_PREFIX and may read that path only', (fn) => {
      t.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(fn.replace('Phase2', '')),
        Environment: { Variables: Match.objectLike({ SETTINGS_PREFIX: '/commserve-dr/default' }) },
      });
      const ssm = roleStatements(t.json, `${fn}ServiceRole`).filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
      expect(ssm).toEqual([
        {
          Effect: 'Allow',
          Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
          Resource: [parameterArn('commserve-dr/default'), parameterArn('commserve-dr/default/*')],
        },
      ]);
    });

    it('outputs the prefix', () => {
      t.template.hasOutput('SettingsPrefix', { Value: '/commserve-dr/default' });
    });
  });

  describe('configured through context', () => {
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth({
        context: {
          cell: 'paris',
          settings: '{"RetainCycles": 7, "ArchiveRetainCycles": 3, "DisableActivityOnDbCorruption": true, "Phase1Destination": "D:\\\\DR", "ArchiveRetryCount": 1}',
          archiveRetryCount: 4, // the dedicated key wins over settings.ArchiveRetryCount
        },
      });
    });

    it('puts the parameters under /commserve-dr/<cell>/ with the given values', () => {
      for (const [name, value] of Object.entries({
        RetainCycles: '7',
        ArchiveRetainCycles: '3',
        DisableActivityOnDbCorruption: 'true',
        Phase1Destination: 'D:\\DR',
        ArchiveRetryCount: '4',
        SetLifeSpanForFailedDR: '90',
      })) {
        t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: `/commserve-dr/paris/${name}`, Value: value });
      }
    });

    it('stores the stack cell as the Cell setting (the dimension the alarms watch)', () => {
      t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/paris/Cell', Value: 'paris' });
    });

    it('gives the functions the cell prefix', () => {
      t.template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ SETTINGS_PREFIX: '/commserve-dr/paris' }) } });
    });

    it('gives PruneSets the same retention settings as Parameter Store', () => {
      t.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('PruneSets'),
        Environment: { Variables: Match.objectLike({ RETAIN_CYCLES: '7', ARCHIVE_RETAIN_CYCLES: '3', SET_LIFESPAN_FOR_FAILED_DR_DAYS: '90' }) },
      });
    });

    it('uses the same ArchiveRetryCount in the state machine as in Parameter Store', () => {
      const machine = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::StepFunctions::StateMachine') as any;
      expect(JSON.stringify(machine.Properties.DefinitionString)).toContain('\\"MaxAttempts\\":4');
    });
  });

  it('refuses invalid settings, naming each one', () => {
    expect(() => synth({ context: { settings: { RetainCycles: 0, ArchiveStorageClass: 'STANDARD' } } })).toThrow(/invalid settings: RetainCycles: .*; ArchiveStorageClass: /);
    expect(() => synth({ context: { settings: { NoSuchSetting: 1 } } })).toThrow(/invalid settings: .*NoSuchSetting/);
    expect(() => synth({ context: { cell: 'a/b' } })).toThrow(/invalid context: cell/);
  });
});
