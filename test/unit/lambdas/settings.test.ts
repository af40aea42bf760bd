/**
 * The Lambdas' settings loader without SSM: the settings path from the environment, the scalar
 * settings it looks for, the once-per-cold-start cache and the async lazy handler.
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { coerceSettingText } from '#core/settings-text';
import { coerceSettingText as agentCoerce } from '#agent/config';
import {
  lazyHandlerWithSettings,
  loadSettingParameters,
  resetSettingsCache,
  SCALAR_SETTING_NAMES,
  settingsFromParameters,
  settingsPrefixFromEnv,
} from '#lambdas/shared/settings';

/** An SSM stand-in answering GetParametersByPath from a map, counting calls. */
function stubSsm(values: () => Record<string, string>): { ssm: SSMClient; calls: () => number } {
  let calls = 0;
  const ssm = {
    send: async (command: { input: { Path: string } }) => {
      calls++;
      return { Parameters: Object.entries(values()).map(([name, value]) => ({ Name: `${command.input.Path}/${name}`, Value: value, Type: 'String' })) };
    },
  } as unknown as SSMClient;
  return { ssm, calls: () => calls };
}

describe('Lambda settings (no SSM)', () => {
  beforeEach(() => resetSettingsCache());

  it('the agent and the Lambdas coerce setting text the same way', () => {
    expect(agentCoerce).toBe(coerceSettingText);
    expect(coerceSettingText(' 7 ')).toBe(7);
    expect(coerceSettingText('unlimited')).toBeNull();
  });

  it('SETTINGS_PREFIX: trailing slashes dropped, unset or empty means none, a relative path is refused naming the variable', () => {
    expect(settingsPrefixFromEnv({ SETTINGS_PREFIX: '/commserve-dr/paris/' })).toBe('/commserve-dr/paris');
    expect(settingsPrefixFromEnv({})).toBeNull();
    expect(settingsPrefixFromEnv({ SETTINGS_PREFIX: '  ' })).toBeNull();
    expect(() => settingsPrefixFromEnv({ SETTINGS_PREFIX: 'commserve-dr/x' })).toThrow(/environment variable SETTINGS_PREFIX must be an SSM path/);
  });

  it('looks for the scalar settings only (not Database, Registry, HotSite)', () => {
    expect(SCALAR_SETTING_NAMES).toEqual(expect.arrayContaining(['RetainCycles', 'SetLifeSpanForFailedDR', 'ArchiveRetainCycles', 'ArchiveStorageClass', 'ScheduleTime']));
    expect(SCALAR_SETTING_NAMES).not.toContain('Database');
    expect(SCALAR_SETTING_NAMES).not.toContain('HotSite');
  });

  it('reads once per cold start, however many settings are asked for', async () => {
    let values = { RetainCycles: '2' };
    const { ssm, calls } = stubSsm(() => values);
    const env = { SETTINGS_PREFIX: '/p' };
    await settingsFromParameters(['RetainCycles'], { env, ssm });
    values = { RetainCycles: '4' };
    await expect(settingsFromParameters(['RetainCycles', 'ArchiveStorageClass'], { env, ssm })).resolves.toMatchObject({ settings: { RetainCycles: 2 } });
    await loadSettingParameters({ env, ssm });
    expect(calls()).toBe(1);
    resetSettingsCache();
    await expect(settingsFromParameters(['RetainCycles'], { env, ssm })).resolves.toMatchObject({ settings: { RetainCycles: 4 } });
    expect(calls()).toBe(2);
  });

  it('lazyHandlerWithSettings builds once, retries a failed build on the next call, and rebuilds after a cold start', async () => {
    let builds = 0;
    let fail = true;
    const handler = lazyHandlerWithSettings(async () => {
      builds++;
      if (fail) throw new Error('invalid setting');
      const n = builds;
      return async (event: number) => event + n;
    });
    await expect(handler(1)).rejects.toThrow('invalid setting');
    fail = false;
    await expect(handler(1)).resolves.toBe(3);
    await expect(handler(1)).resolves.toBe(3);
    expect(builds).toBe(2);
    resetSettingsCache();
    await expect(handler(1)).resolves.toBe(4);
  });
});
