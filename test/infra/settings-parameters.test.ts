import { Match } from 'aws-cdk-lib/assertions';
import { SettingsSchema } from '#core/settings';
import { CLOUD_SETTING_NAMES, parameterValue, SITE_SETTINGS } from '#infra/settings-parameters';
import { parameterArn, roleStatements, synth } from './support/synth';

const DEFAULTS = SettingsSchema.parse({});

describe('SettingsParameters', () => {
  it('publishes every scalar setting of SPEC §9, and not the local-only, structured or site (path) ones', () => {
    expect(CLOUD_SETTING_NAMES).toEqual([
      'RetainCycles',
      'SetLifeSpanForFailedDR',
      'DisableActivityOnDbCorruption',
      'ArchiveStorageClass',
      'ArchiveRetainCycles',
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
      'Cell',
      'PublishMetrics',
      'DumpCompression',
      'DumpCompressionLevel',
      'AgentLogDirectory',
      'AgentLogMaxBytes',
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
        Value: parameterValue(DEFAULTS[name], name),
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

    it('publishes no site setting (Phase1Destination, FirewallDirectory, Database): their defaults are the local sample\'s relative paths', () => {
      const names = Object.values(t.json.Resources)
        .filter((r: any) => r.Type === 'AWS::SSM::Parameter')
        .map((r: any) => r.Properties.Name as string);
      for (const site of SITE_SETTINGS) expect(names).not.toContain(`/commserve-dr/default/${site}`);
      const values = Object.values(t.json.Resources)
        .filter((r: any) => r.Type === 'AWS::SSM::Parameter')
        .map((r: any) => JSON.stringify(r.Properties.Value));
      expect(values.filter((v) => v.includes('.commserve-dr') || v.includes('sample'))).toEqual([]);
    });
  });

  describe('site settings given at deploy time', () => {
    const database = {
      engine: 'sqlserver',
      server: 'cs01.corp.example',
      database: 'CommServ',
      user: 'commserve_dr',
      passwordParameter: '/commserve-dr-secrets/default/SqlServerPassword',
      backupDirectory: 'D:\\SQLBackup\\commserve-dr',
      tlsServerName: 'cs01.corp.example',
    };
    let t: ReturnType<typeof synth>;
    beforeAll(() => {
      t = synth({ context: { settings: JSON.stringify({ Phase1Destination: '\\\\nas01\\dr$\\cs01', FirewallDirectory: 'C:\\Program Files\\Commvault\\Base', Database: database }) } });
    });

    it('publishes each one under the settings path, the paths as given', () => {
      t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/default/Phase1Destination', Type: 'String', Value: '\\\\nas01\\dr$\\cs01' });
      t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/default/FirewallDirectory', Type: 'String', Value: 'C:\\Program Files\\Commvault\\Base' });
    });

    it('publishes the SQL Server Database settings as one JSON parameter (schema defaults filled in, no password)', () => {
      const parameter = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::SSM::Parameter' && r.Properties.Name === '/commserve-dr/default/Database') as any;
      expect(parameter.Properties.Type).toBe('String');
      expect(JSON.parse(parameter.Properties.Value)).toEqual({ ...database, port: 1433, trustServerCertificate: false });
      expect(Object.keys(JSON.parse(parameter.Properties.Value))).not.toContain('password');
    });

    it('never publishes a password put into Database by mistake (only the SecureString name is a setting)', () => {
      const leaked = synth({ context: { settings: { Database: { ...database, password: 'hunter2' } } } });
      const values = Object.values(leaked.json.Resources).map((r: any) => JSON.stringify(r.Properties ?? {}));
      expect(values.filter((v) => v.includes('hunter2'))).toEqual([]);
    });

    it('refuses relative paths, naming each setting', () => {
      expect(() => synth({ context: { settings: { Phase1Destination: 'dr-backups', Database: { engine: 'sqlite', path: 'cs/commserv.db' } } } })).toThrow(
        /invalid settings: Phase1Destination: must be an absolute path on the CommServe .*"dr-backups"; Database.path: must be an absolute path .*"cs\/commserv.db"/,
      );
      expect(() => synth({ context: { settings: { Database: { engine: 'sqlserver', server: 's', database: 'd', tlsCaFile: 'ca.pem' } } } })).toThrow(/Database.tlsCaFile: must be an absolute path/);
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
