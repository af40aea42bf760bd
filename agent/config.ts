/**
 * Loads the agent's effective settings (SPEC §9) and records where each came from:
 * 1. the embedded defaults (core/settings.ts);
 * 2. the config file: `--config FILE`, else `commserve-dr.config.json` in the working directory if present, else the
 *    machine-wide file (`%ProgramData%\commserve-dr\commserve-dr.config.json` on Windows,
 *    `/etc/commserve-dr/commserve-dr.config.json` elsewhere; agent/config-location.ts) if present — so a command run
 *    by the SSM Agent in its own per-command folder finds its settings;
 * 3. environment variables `COMMSERVE_DR_<Name>` (e.g. `COMMSERVE_DR_RetainCycles=7`; objects as JSON);
 * 4. SSM Parameter Store, when `SettingsParameterPath` is set (by file or environment): every parameter
 *    under that path named after a setting (`<path>/RetainCycles`), read with GetParametersByPath —
 *    so changing a setting needs no redeploy.
 * Precedence, key by key: defaults < SSM (the operator's central settings) < file < environment (a local
 * override). All problems are listed at once, with the key.
 * `SettingsParameterPath` may also be given explicitly (`--settings-parameter-path`, as the state machine's RunPhase1
 * command does); it then wins over the file and the environment.
 * Relative paths are resolved against the working directory, and recorded (`relativePaths`) so that a scheduled job
 * can refuse them (agent/config-location.ts `requireProductionPaths`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, describeError } from '#core/errors';
import { parseSettings, SETTING_NAMES, type Settings } from '#core/settings';
import { coerceSettingText } from '#core/settings-text';
import { ENV_PREFIX, settingsFromEnvironment } from './config-env';
import { settingsProblems } from './config-issues';
import { machineConfigFile } from './config-location';

/** The text form of a setting (environment, SSM); shared with the Lambdas. */
export { coerceSettingText };

/** The config file looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'commserve-dr.config.json';
export { ENV_PREFIX };
/** Environment variable / file key naming the SSM path to read settings from (not itself a setting). */
export const SSM_PATH_KEY = 'SettingsParameterPath';

/** Where a setting's value came from. */
export type SettingSource = 'default' | 'file' | 'environment' | 'ssm';

/** How the config file was found: `--config`, the working directory, or the machine-wide location. */
export type ConfigFileKind = 'option' | 'working-directory' | 'machine';

/** A path setting whose value was relative (resolved against the working directory). */
export interface RelativePathSetting {
  /** The setting, e.g. `Phase1Destination` or `Database.path`. */
  setting: string;
  /** The value as given (before resolution). */
  value: string;
  /** Where the value came from (`default` when nothing set it). */
  source: SettingSource;
}

/** Options of the loaders beyond file, working directory and environment. */
export interface LoadOptions {
  /** The machine-wide config file to fall back on; `null` for none. Default: `machineConfigFile()` of this machine. */
  machineConfigFile?: string | null;
  /** `SettingsParameterPath` given explicitly (`--settings-parameter-path`): wins over the file and the environment. */
  settingsParameterPath?: string;
}

/** Effective settings and where they came from. */
export interface LoadedConfig {
  settings: Settings;
  /** The config file read, or `null` for none. */
  source: string | null;
  /** How the config file was found, or `null` for none. */
  sourceKind: ConfigFileKind | null;
  /** Path settings that were relative (resolved against `cwd`), with their source. */
  relativePaths: RelativePathSetting[];
  /** Source of each top-level setting. */
  sources: Record<string, SettingSource>;
  /** The SSM path read, when one was. */
  ssmPath: string | null;
  /** The working directory relative paths were resolved against. */
  cwd: string;
}

interface ConfigFile {
  file: string | null;
  kind: ConfigFileKind | null;
  raw: Record<string, unknown>;
}

function findConfigFile(configFile: string | undefined, cwd: string, options: LoadOptions): { file: string | null; kind: ConfigFileKind | null } {
  if (configFile) {
    const file = resolve(cwd, configFile);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${configFile}`);
    return { file, kind: 'option' };
  }
  if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) return { file: resolve(cwd, DEFAULT_CONFIG_FILE), kind: 'working-directory' };
  const machine = options.machineConfigFile === undefined ? machineConfigFile() : options.machineConfigFile;
  if (machine && existsSync(machine)) return { file: machine, kind: 'machine' };
  return { file: null, kind: null };
}

function readConfigFile(configFile: string | undefined, cwd: string, options: LoadOptions): ConfigFile {
  const { file, kind } = findConfigFile(configFile, cwd, options);
  if (!file) return { file: null, kind: null, raw: {} };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${file} must hold a JSON object`);
  return { file, kind, raw: raw as Record<string, unknown> };
}

function fromEnvironment(env: NodeJS.ProcessEnv): Record<string, unknown> {
  return settingsFromEnvironment(env, [SSM_PATH_KEY]);
}

function merge(layers: Array<{ source: SettingSource; values: Record<string, unknown> }>): { raw: Record<string, unknown>; sources: Record<string, SettingSource> } {
  const raw: Record<string, unknown> = {};
  const sources: Record<string, SettingSource> = Object.fromEntries(SETTING_NAMES.map((n) => [n, 'default' as SettingSource]));
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer.values)) {
      raw[key] = value;
      sources[key] = layer.source;
    }
  }
  return { raw, sources };
}

function finish(raw: Record<string, unknown>, sources: Record<string, SettingSource>, config: ConfigFile, ssmPath: string | null, cwd: string): LoadedConfig {
  const { file, kind } = config;
  const { [SSM_PATH_KEY]: _path, ...settingsRaw } = raw;
  delete sources[SSM_PATH_KEY];
  // Each problem is named under the place its value came from (file path, environment variable, SSM parameter).
  const problems = settingsProblems(settingsRaw, sources, { file, ssmPath });
  if (problems) throw problems;
  const parsed = parseSettings(settingsRaw, file ?? 'the settings');
  const relativePaths = pathSettings(parsed)
    .filter((p) => !isAbsolute(p.value))
    .map((p) => ({ ...p, source: sources[p.setting.split('.')[0]] ?? 'default' }));
  return { settings: resolvePaths(parsed, cwd), source: file, sourceKind: kind, relativePaths, sources, ssmPath, cwd };
}

/**
 * The path settings the agent reads or writes on this machine (the SQL Server `backupDirectory` and restore
 * directories are the server's paths and are not resolved here). `Registry.hiveFile` counts only for the file-backed store.
 */
function pathSettings(settings: Settings): Array<{ setting: string; value: string }> {
  const paths = [
    { setting: 'Phase1Destination', value: settings.Phase1Destination },
    { setting: 'StateDirectory', value: settings.StateDirectory },
    { setting: 'FirewallDirectory', value: settings.FirewallDirectory },
  ];
  const db = settings.Database;
  if (db.engine === 'sqlite') paths.push({ setting: 'Database.path', value: db.path });
  else {
    if (db.agentBackupDirectory) paths.push({ setting: 'Database.agentBackupDirectory', value: db.agentBackupDirectory });
    if (db.tlsCaFile) paths.push({ setting: 'Database.tlsCaFile', value: db.tlsCaFile });
  }
  const fileHive = settings.Registry.store === 'file-hive' || (settings.Registry.store === undefined && process.platform !== 'win32');
  if (fileHive) paths.push({ setting: 'Registry.hiveFile', value: settings.Registry.hiveFile });
  return paths;
}

/**
 * Reads the settings from defaults, the config file and the environment (no network).
 * @param configFile explicit `--config` path (must exist), or undefined.
 * @throws ConfigError when the file is missing (explicit), unreadable, not JSON, or invalid (all problems listed).
 */
export function loadConfig(configFile: string | undefined, cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env, options: LoadOptions = {}): LoadedConfig {
  const config = readConfigFile(configFile, cwd, options);
  const { raw, sources } = merge([
    { source: 'file', values: config.raw },
    { source: 'environment', values: fromEnvironment(env) },
  ]);
  return finish(raw, sources, config, null, cwd);
}

/**
 * Like `loadConfig`, then overlays SSM parameters when `SettingsParameterPath` is set.
 * @param ssm client to use (default: one for the hot-site region).
 * @throws ConfigError as `loadConfig`, and when SSM cannot be read (the path and the reason; never a value).
 */
export async function loadEffectiveConfig(
  configFile: string | undefined,
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
  ssm?: SSMClient,
  options: LoadOptions = {},
): Promise<LoadedConfig> {
  const config = readConfigFile(configFile, cwd, options);
  const fileValues = config.raw;
  const envValues = fromEnvironment(env);
  const path = (options.settingsParameterPath ?? envValues[SSM_PATH_KEY] ?? fileValues[SSM_PATH_KEY]) as unknown;
  if (path === undefined || path === null) return loadConfig(configFile, cwd, env, options);
  if (typeof path !== 'string' || !path.startsWith('/')) throw new ConfigError(`${SSM_PATH_KEY}: must be an SSM path starting with /, got ${JSON.stringify(path)}`);
  // The SSM client needs only the region (and a stand-in endpoint); the rest is validated once, with SSM's values.
  const hotSite = (envValues.HotSite ?? fileValues.HotSite ?? {}) as { region?: unknown; endpoint?: unknown };
  const region = typeof hotSite.region === 'string' ? hotSite.region : (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1');
  const endpoint = typeof hotSite.endpoint === 'string' ? hotSite.endpoint : undefined;
  // The AWS SDK is loaded only here, when settings come from SSM: a command that only reads the settings file
  // (`registry parse`, `config`) starts without it (~1 s of module loading, during which a signal waits).
  const { GetParametersByPathCommand } = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
  const client = ssm ?? (require('./aws/clients') as typeof import('./aws/clients')).ssmClient({ region, endpoint });
  const ssmValues: Record<string, unknown> = {};
  const prefix = path.endsWith('/') ? path : `${path}/`;
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new GetParametersByPathCommand({ Path: prefix, Recursive: false, WithDecryption: false, NextToken: token }));
      for (const p of page.Parameters ?? []) {
        const name = p.Name?.slice(prefix.length);
        if (name && (SETTING_NAMES as string[]).includes(name) && p.Type !== 'SecureString') ssmValues[name] = coerceSettingText(p.Value ?? '');
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw new ConfigError(`cannot read the settings under SSM ${prefix}: ${describeError(error)}`, { cause: error });
  }
  // Precedence: defaults < SSM (the operator's central settings) < file < environment (a local override).
  const { raw, sources } = merge([
    { source: 'ssm', values: ssmValues },
    { source: 'file', values: fileValues },
    { source: 'environment', values: envValues },
  ]);
  return finish(raw, sources, config, prefix, cwd);
}

function resolvePaths(settings: Settings, cwd: string): Settings {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  return {
    ...settings,
    Phase1Destination: abs(settings.Phase1Destination),
    StateDirectory: abs(settings.StateDirectory),
    FirewallDirectory: abs(settings.FirewallDirectory),
    AgentLogDirectory: settings.AgentLogDirectory === null ? null : abs(settings.AgentLogDirectory),
    Database: settings.Database.engine === 'sqlite' ? { ...settings.Database, path: abs(settings.Database.path) } : settings.Database,
    Registry: { ...settings.Registry, hiveFile: abs(settings.Registry.hiveFile) },
  };
}
