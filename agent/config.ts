/**
 * Loads the agent's effective settings: the config file (`--config FILE`, else `commserve-dr.config.json`
 * in the working directory if present, else the embedded local defaults), validated with core's schema,
 * with relative paths resolved against the working directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '#core/errors';
import { parseSettings, type Settings } from '#core/settings';

/** The config file looked for in the working directory when `--config` is not given. */
export const DEFAULT_CONFIG_FILE = 'commserve-dr.config.json';

/** Effective settings and where they came from. */
export interface LoadedConfig {
  settings: Settings;
  /** The config file read, or `null` for the embedded local defaults. */
  source: string | null;
  /** The working directory relative paths were resolved against. */
  cwd: string;
}

/**
 * Reads and validates the settings.
 * @param configFile explicit `--config` path (must exist), or undefined.
 * @throws ConfigError when the file is missing (explicit), unreadable, not JSON, or invalid (all problems listed).
 */
export function loadConfig(configFile: string | undefined, cwd: string = process.cwd()): LoadedConfig {
  let file: string | null = null;
  if (configFile) {
    file = resolve(cwd, configFile);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${configFile}`);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
  }
  let raw: unknown = {};
  if (file) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
  }
  const settings = resolvePaths(parseSettings(raw, file ?? 'the embedded defaults'), cwd);
  return { settings, source: file, cwd };
}

function resolvePaths(settings: Settings, cwd: string): Settings {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(cwd, p));
  return {
    ...settings,
    Phase1Destination: abs(settings.Phase1Destination),
    StateDirectory: abs(settings.StateDirectory),
    FirewallDirectory: abs(settings.FirewallDirectory),
    Database: settings.Database.engine === 'sqlite' ? { ...settings.Database, path: abs(settings.Database.path) } : settings.Database,
    Registry: { ...settings.Registry, hiveFile: abs(settings.Registry.hiveFile) },
  };
}
