/**
 * The Lambdas' settings from Parameter Store (moto SSM): read once per cold start, coerced like the
 * agent's, validated by name, overriding the environment's deploy-time defaults — and the deployed
 * entry points (`handler`) of PruneSets and ArchiveSet using them.
 */
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { handler as archiveSetHandler } from '#lambdas/archive-set';
import { handler as pruneSetsHandler } from '#lambdas/prune-sets';
import { loadArchiveStorageClass } from '#lambdas/shared/env';
import { loadPruneSettings } from '#lambdas/shared/prune-env';
import {
  loadSettingParameters,
  readSettingParameters,
  resetSettingsCache,
  SCALAR_SETTING_NAMES,
  settingsFromParameters,
  SettingsParameterError,
} from '#lambdas/shared/settings';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, createBucket, makeSet, uploadSet } from './fixtures';

const PREFIX = '/commserve-dr/lambda-test';
const ssmClient = () => new SSMClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

async function put(name: string, value: string, type: 'String' | 'SecureString' = 'String'): Promise<void> {
  await ssmClient().send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
}

describe('Lambda settings from Parameter Store (moto SSM)', () => {
  useMoto();
  const env = { SETTINGS_PREFIX: PREFIX };
  const opts = () => ({ env, ssm: ssmClient() });
  beforeEach(() => resetSettingsCache());

  it('a changed parameter is used after a cold start, not before: one read per execution environment', async () => {
    await put(`${PREFIX}/RetainCycles`, '3');
    expect((await settingsFromParameters(['RetainCycles'], opts())).settings).toEqual({ RetainCycles: 3 });

    await put(`${PREFIX}/RetainCycles`, '7');
    // Same execution environment: the value read at cold start.
    expect((await settingsFromParameters(['RetainCycles'], opts())).settings).toEqual({ RetainCycles: 3 });

    resetSettingsCache(); // a cold start
    const fresh = await settingsFromParameters(['RetainCycles'], opts());
    expect(fresh.settings).toEqual({ RetainCycles: 7 });
    expect(fresh.sources).toEqual({ RetainCycles: `${PREFIX}/RetainCycles` });
  });

  it('reads every page, not recursively, skips SecureStrings and names that are not settings, coerces like the agent', async () => {
    // More than one page: GetParametersByPath returns at most 10 parameters a call.
    const values: Record<string, string> = {
      RetainCycles: '4',
      SetLifeSpanForFailedDR: '30',
      DisableActivityOnDbCorruption: 'true',
      ArchiveStorageClass: 'DEEP_ARCHIVE',
      ArchiveRetainCycles: 'unlimited',
      Phase1Destination: 'D:\\DR',
      DestinationRetryCount: '3',
      DestinationRetryIntervalSeconds: '5',
      DbRetryCount: '2',
      DbRetryIntervalMinutes: '1',
      ArchiveRetryCount: '10',
      ArchiveRetryIntervalMinutes: '30',
      ScheduleTime: '17:00',
      ScheduleTimeZone: 'Europe/Paris',
      FirewallDirectory: 'C:\\Firewall',
      Cell: 'lambda-test',
    };
    for (const [name, value] of Object.entries(values)) await put(`${PREFIX}/${name}`, value);
    await put(`${PREFIX}/NotASetting`, '1');
    await put(`${PREFIX}/nested/RetainCycles`, '99');
    await put(`${PREFIX}/PublishMetrics`, 'false', 'SecureString');

    const client = ssmClient();
    let calls = 0;
    const counting = { send: (command: never) => (calls++, client.send(command)) } as unknown as SSMClient;
    const read = await readSettingParameters({ env, ssm: counting });
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(read.prefix).toBe(PREFIX);
    expect(Object.keys(read.parameters).sort()).toEqual(Object.keys(values).sort());
    expect(read.parameters.RetainCycles).toEqual({ parameter: `${PREFIX}/RetainCycles`, text: '4', value: 4 });
    expect(read.parameters.ArchiveRetainCycles?.value).toBeNull();
    expect(read.parameters.DisableActivityOnDbCorruption?.value).toBe(true);
    expect(read.parameters.ScheduleTime?.value).toBe('17:00');

    const all = await settingsFromParameters(SCALAR_SETTING_NAMES, opts());
    expect(all.settings).toMatchObject({ RetainCycles: 4, ArchiveStorageClass: 'DEEP_ARCHIVE', ArchiveRetainCycles: null, Phase1Destination: 'D:\\DR' });
    expect(all.settings).not.toHaveProperty('PublishMetrics');
  });

  it('an invalid parameter fails with a message naming it, its value and the rule; the corrected value is read on the next call', async () => {
    await put(`${PREFIX}/RetainCycles`, '0');
    await put(`${PREFIX}/ArchiveRetainCycles`, 'all');
    const failure = settingsFromParameters(['RetainCycles', 'SetLifeSpanForFailedDR', 'ArchiveRetainCycles'], opts());
    await expect(failure).rejects.toBeInstanceOf(SettingsParameterError);
    await expect(failure).rejects.toMatchObject({ name: 'SettingsParameterError', code: 'SETTING_INVALID' });
    const message = ((await failure.catch((e: unknown) => e)) as Error).message;
    expect(message).toMatch(new RegExp(`${PREFIX}/RetainCycles = "0": .*>=\\s?1`));
    expect(message).toContain(`${PREFIX}/ArchiveRetainCycles = "all"`);

    await put(`${PREFIX}/ArchiveStorageClass`, 'STANDARD');
    await expect(settingsFromParameters(['ArchiveStorageClass'], opts())).rejects.toThrow(
      new RegExp(`^invalid setting in Parameter Store: ${PREFIX}/ArchiveStorageClass = "STANDARD": .*GLACIER`),
    );

    // Fixed in the console: no cold start needed after a refused value.
    await put(`${PREFIX}/RetainCycles`, '2');
    await put(`${PREFIX}/ArchiveRetainCycles`, '3');
    expect((await settingsFromParameters(['RetainCycles', 'ArchiveRetainCycles'], opts())).settings).toEqual({ RetainCycles: 2, ArchiveRetainCycles: 3 });
  });

  it('a handler validates only the settings it uses: an invalid ScheduleTime does not stop pruning', async () => {
    await put(`${PREFIX}/ScheduleTime`, '25:00');
    await put(`${PREFIX}/RetainCycles`, '2');
    await expect(loadPruneSettings(opts())).resolves.toMatchObject({ settings: { RetainCycles: 2 } });
    await expect(settingsFromParameters(['ScheduleTime'], opts())).rejects.toThrow(`${PREFIX}/ScheduleTime = "25:00"`);
  });

  it('parameters override the deploy-time environment; settings without a parameter keep it', async () => {
    const deployEnv = { ...env, RETAIN_CYCLES: '5', SET_LIFESPAN_FOR_FAILED_DR_DAYS: '60', ARCHIVE_RETAIN_CYCLES: '4', ARCHIVE_STORAGE_CLASS: 'GLACIER' };
    await put(`${PREFIX}/RetainCycles`, '9');
    await put(`${PREFIX}/ArchiveRetainCycles`, 'unlimited');
    await put(`${PREFIX}/ArchiveStorageClass`, 'GLACIER_IR');
    const prune = await loadPruneSettings({ env: deployEnv, ssm: ssmClient() });
    expect(prune.settings).toEqual({ RetainCycles: 9, SetLifeSpanForFailedDR: 60, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false });
    expect(prune.sources).toEqual({ RetainCycles: `${PREFIX}/RetainCycles`, SetLifeSpanForFailedDR: 'environment', ArchiveRetainCycles: `${PREFIX}/ArchiveRetainCycles` });
    await expect(loadArchiveStorageClass({ env: deployEnv, ssm: ssmClient() })).resolves.toEqual({ storageClass: 'GLACIER_IR', source: `${PREFIX}/ArchiveStorageClass` });

    await ssmClient().send(new DeleteParameterCommand({ Name: `${PREFIX}/ArchiveStorageClass` }));
    resetSettingsCache();
    await expect(loadArchiveStorageClass({ env: deployEnv, ssm: ssmClient() })).resolves.toEqual({ storageClass: 'GLACIER', source: 'environment' });
  });

  it('SETTINGS_PREFIX unset: the environment alone, no SSM call', async () => {
    const noSsm = { send: async () => Promise.reject(new Error('no SSM call expected')) } as unknown as SSMClient;
    await expect(loadSettingParameters({ env: {}, ssm: noSsm })).resolves.toEqual({ prefix: null, parameters: {} });
    await expect(loadPruneSettings({ env: { RETAIN_CYCLES: '3' }, ssm: noSsm })).resolves.toMatchObject({ settings: { RetainCycles: 3 } });
  });

  it('an unreadable path or an invalid SETTINGS_PREFIX is refused clearly', async () => {
    const failing = { send: async () => Promise.reject(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' })) } as unknown as SSMClient;
    await expect(readSettingParameters({ env, ssm: failing })).rejects.toMatchObject({
      code: 'SETTINGS_UNREADABLE',
      message: expect.stringMatching(new RegExp(`^cannot read the settings under SSM ${PREFIX} \\(SETTINGS_PREFIX\\): .*User is not authorized`)),
    });
    await expect(readSettingParameters({ env: { SETTINGS_PREFIX: 'commserve-dr' } })).rejects.toMatchObject({ name: 'EnvironmentError', message: expect.stringContaining('SETTINGS_PREFIX') });
  });

  describe('the deployed entry points', () => {
    const saved = { ...process.env };
    beforeEach(() => {
      // The Lambda environment: the SDK clients find moto through AWS_ENDPOINT_URL.
      Object.assign(process.env, {
        AWS_ENDPOINT_URL: motoEndpoint(),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        HOT_SITE_BUCKET: BUCKET,
        SETTINGS_PREFIX: PREFIX,
        RETAIN_CYCLES: '5',
        ARCHIVE_STORAGE_CLASS: 'GLACIER',
      });
    });
    afterEach(() => {
      process.env = { ...saved };
      resetSettingsCache();
    });

    it('PruneSets and ArchiveSet fail on an invalid parameter, naming it', async () => {
      await put(`${PREFIX}/RetainCycles`, '-1');
      await put(`${PREFIX}/ArchiveStorageClass`, 'glacier');
      await expect(pruneSetsHandler({})).rejects.toMatchObject({ name: 'SettingsParameterError', message: expect.stringContaining(`${PREFIX}/RetainCycles = "-1"`) });
      await expect(archiveSetHandler({})).rejects.toMatchObject({ name: 'SettingsParameterError', message: expect.stringContaining(`${PREFIX}/ArchiveStorageClass = "glacier"`) });
    });

    it('PruneSets applies RetainCycles from Parameter Store (1) over its environment (5); the value changed later applies after a cold start', async () => {
      const s3 = motoS3Client();
      await createBucket(s3);
      const sets = [1, 2, 3, 4, 5].map((id) => makeSet(id, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from(`dump ${id}`) }]));
      for (const set of sets.slice(0, 4)) await uploadSet(s3, set);
      await put(`${PREFIX}/RetainCycles`, '1');

      const first = await pruneSetsHandler({ backupType: 'FULL', phase1: sets[3].phase1, archive: { storageClass: 'GLACIER' } });
      expect(first).toMatchObject({ outcome: 'pruned', hotSite: { sets: 4, expired: 2 } }); // keeps cycle 3 and the open cycle 4
      const left = async () =>
        [...new Set(((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sets/' }))).Contents ?? []).map((o) => o.Key!.split('/')[1]))].sort();
      expect(await left()).toEqual(['SET_0000003', 'SET_0000004']);

      // A console edit: the warm function keeps its settings; a new execution environment reads the new value.
      await put(`${PREFIX}/RetainCycles`, '3');
      await uploadSet(s3, sets[4]);
      resetSettingsCache();
      const second = await pruneSetsHandler({ backupType: 'FULL', phase1: sets[4].phase1, archive: { storageClass: 'GLACIER' } });
      expect(second).toMatchObject({ outcome: 'pruned', hotSite: { sets: 3, expired: 0 } });
      expect(await left()).toEqual(['SET_0000003', 'SET_0000004', 'SET_0000005']);
    });
  });
});
