/**
 * Effective settings: defaults, config file, environment and SSM Parameter Store (moto), with the source
 * of each, and every validation problem listed at once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError } from '#core/errors';
import { coerceSettingText, loadConfig, loadEffectiveConfig } from '#agent/config';
import { motoEndpoint, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const ssmClient = () => new SSMClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

describe('settings sources (moto SSM)', () => {
  useMoto();
  const tempDir = useTempDirs();

  it('coerces environment and SSM text: JSON values, plain text, and unlimited/empty as null', () => {
    expect(coerceSettingText('7')).toBe(7);
    expect(coerceSettingText('true')).toBe(true);
    expect(coerceSettingText('GLACIER')).toBe('GLACIER');
    expect(coerceSettingText('17:00')).toBe('17:00');
    expect(coerceSettingText('unlimited')).toBeNull();
    expect(coerceSettingText('')).toBeNull();
    expect(coerceSettingText('{"engine":"sqlite","path":"x.db"}')).toEqual({ engine: 'sqlite', path: 'x.db' });
  });

  it('records where each setting came from: default, file, environment', () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ RetainCycles: 3, Phase1Destination: 'dr' }));
    const loaded = loadConfig(undefined, cwd, { COMMSERVE_DR_RetainCycles: '8', COMMSERVE_DR_ArchiveStorageClass: 'DEEP_ARCHIVE' });
    expect(loaded.settings).toMatchObject({ RetainCycles: 8, ArchiveStorageClass: 'DEEP_ARCHIVE', Phase1Destination: join(cwd, 'dr'), SetLifeSpanForFailedDR: 90 });
    expect(loaded.sources).toMatchObject({ RetainCycles: 'environment', ArchiveStorageClass: 'environment', Phase1Destination: 'file', SetLifeSpanForFailedDR: 'default' });
  });

  it('reads settings from SSM by path (no redeploy to change them); the file and environment override it', async () => {
    const cwd = tempDir();
    const ssm = ssmClient();
    for (const [name, value] of [
      ['RetainCycles', '9'],
      ['ArchiveRetainCycles', 'unlimited'],
      ['DisableActivityOnDbCorruption', 'true'],
      ['SetLifeSpanForFailedDR', '30'],
      ['NotASetting', 'x'],
    ]) {
      await ssm.send(new PutParameterCommand({ Name: `/commserve-dr/cell1/${name}`, Value: value, Type: 'String' }));
    }
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ SettingsParameterPath: '/commserve-dr/cell1', SetLifeSpanForFailedDR: 60 }));
    const loaded = await loadEffectiveConfig(undefined, cwd, { COMMSERVE_DR_DbRetryCount: '2' }, ssm);
    expect(loaded.ssmPath).toBe('/commserve-dr/cell1/');
    expect(loaded.settings).toMatchObject({ RetainCycles: 9, ArchiveRetainCycles: null, DisableActivityOnDbCorruption: true, SetLifeSpanForFailedDR: 60, DbRetryCount: 2 });
    expect(loaded.sources).toMatchObject({ RetainCycles: 'ssm', ArchiveRetainCycles: 'ssm', SetLifeSpanForFailedDR: 'file', DbRetryCount: 'environment', ScheduleTime: 'default' });
  });

  it('lists every invalid setting at once with its key, whatever the source', async () => {
    const cwd = tempDir();
    const ssm = ssmClient();
    await ssm.send(new PutParameterCommand({ Name: '/commserve-dr/bad/ArchiveStorageClass', Value: 'STANDARD', Type: 'String' }));
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ SettingsParameterPath: '/commserve-dr/bad', ScheduleTime: '25:00' }));
    const error = await loadEffectiveConfig(undefined, cwd, { COMMSERVE_DR_RetainCycles: '0' }, ssm).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).context.issues).toEqual([
      expect.stringMatching(/^RetainCycles:/),
      expect.stringMatching(/^ArchiveStorageClass:/),
      expect.stringMatching(/^ScheduleTime: must be HH:MM/),
    ]);
    // Each problem under the place its value came from — not "<file>, SSM …, the environment" for all of them.
    const message = (error as ConfigError).message;
    const file = join(cwd, 'commserve-dr.config.json');
    expect(message).toMatch(/^invalid settings in environment variable COMMSERVE_DR_RetainCycles: RetainCycles: [^;]+; in SSM parameter \/commserve-dr\/bad\/ArchiveStorageClass: ArchiveStorageClass: [^;]+; in (\S+): ScheduleTime: must be HH:MM/);
    expect(message).toContain(`; in ${file}: ScheduleTime: must be HH:MM`);
    expect(message).not.toContain('the environment');
  });

  it('a misspelt key in the config file: "did you mean <Key>?" naming the file; nested too (a misspelt key is not silently dropped)', () => {
    const cwd = tempDir();
    const file = join(cwd, 'commserve-dr.config.json');
    writeFileSync(file, JSON.stringify({ RetainCycle: 3, HotSite: { bukcet: 'commserve-dr-hot-site' } }));
    expect(() => loadConfig(undefined, cwd, {})).toThrow(
      `invalid settings in ${file}: HotSite.bucket: Invalid input: expected string, received undefined ("HotSite.bukcet" is given: did you mean HotSite.bucket?); "RetainCycle" is not a setting (did you mean RetainCycles?)`,
    );
    writeFileSync(file, JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpiont: 'http://127.0.0.1:5000' } }));
    expect(() => loadConfig(undefined, cwd, {})).toThrow(`invalid settings in ${file}: "HotSite.endpiont" is not a setting (did you mean HotSite.endpoint?)`);
    // The file's error does not blame the environment, and a bad value from the environment names its variable.
    writeFileSync(file, JSON.stringify({ RetainCycles: 3 }));
    expect(() => loadConfig(undefined, cwd, { COMMSERVE_DR_AnsiCodePage: '7' })).toThrow(/^invalid settings in environment variable COMMSERVE_DR_AnsiCodePage: AnsiCodePage: must be a single-byte Windows ANSI code page/);
  });
});
