/**
 * Where the agent's settings and state live on the machine, independent of the working directory (issue 22 item 2):
 * the SSM Agent runs the scheduled command as Local System in a per-command folder of its own, so nothing may be
 * found or written relative to it.
 *
 * | what | Windows | elsewhere |
 * |---|---|---|
 * | machine-wide config file | `%ProgramData%\commserve-dr\commserve-dr.config.json` | `/etc/commserve-dr/commserve-dr.config.json` |
 * | default `StateDirectory` of a scheduled job | `%ProgramData%\commserve-dr\state` | `/var/lib/commserve-dr/state` |
 *
 * `%ProgramData%` is read from the environment (`C:\ProgramData` when unset, as for Local System).
 */
import { posix, win32 } from 'node:path';
import { ConfigError } from '#core/errors';
import type { LoadedConfig, RelativePathSetting } from './config';
import { sourcePlace } from './config-issues';

/** File name of the config file (working directory and machine-wide). */
const CONFIG_FILE_NAME = 'commserve-dr.config.json';

/** The machine-wide directory of the agent on Windows: `%ProgramData%\commserve-dr`. */
function windowsDataDirectory(env: NodeJS.ProcessEnv): string {
  return win32.join(env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData', 'commserve-dr');
}

/** The machine-wide config file (see the module table). */
export function machineConfigFile(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === 'win32' ? win32.join(windowsDataDirectory(env), CONFIG_FILE_NAME) : posix.join('/etc/commserve-dr', CONFIG_FILE_NAME);
}

/** The default state directory (job counter, phase-1 lock, scrub state) of a scheduled job (see the module table). */
export function machineStateDirectory(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  return platform === 'win32' ? win32.join(windowsDataDirectory(env), 'state') : '/var/lib/commserve-dr/state';
}

/** Why the settings must not hold relative paths: shown in the refusal. */
export type ProductionReason = 'scheduled job (--task-token)' | 'job against AWS' | string;

function describeRelative(p: RelativePathSetting, loaded: LoadedConfig): string {
  const where =
    p.source === 'default'
      ? `not set (the default ${JSON.stringify(p.value)} is the local sample's); set it in ${loaded.source ?? 'the config file'}${loaded.ssmPath ? ` or as the parameter ${loaded.ssmPath}${p.setting.split('.')[0]}` : ''}`
      : `${JSON.stringify(p.value)} from ${sourcePlace(p.setting.split('.')[0], p.source, { file: loaded.source, ssmPath: loaded.ssmPath })}`;
  return `${p.setting}: ${where}`;
}

/**
 * The settings of a production run: `StateDirectory` left at its default becomes {@link machineStateDirectory}, and any
 * other relative path is refused — it would resolve against the working directory, which for the SSM Agent is a fresh
 * per-command folder (a new job counter and lock every run, SETs written where nobody looks).
 * @param reason what makes the run a production one, named in the message.
 * @returns the settings with `StateDirectory` absolute (the others already were).
 * @throws ConfigError listing every relative path setting with its value and where it came from (or that it is unset).
 */
export function requireProductionPaths(loaded: LoadedConfig, reason: ProductionReason, platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const problems = productionPathProblems(loaded);
  if (problems.length > 0) {
    throw new ConfigError(
      `relative paths are refused for a ${reason} (they would resolve against the working directory ${loaded.cwd}, which for the SSM Agent is a per-command folder): ${problems.map((p) => describeRelative(p, loaded)).join('; ')} — give absolute paths`,
      { context: { issues: problems.map((p) => p.setting) } },
    );
  }
  if (loaded.relativePaths.some((p) => p.setting === 'StateDirectory')) {
    return { ...loaded, settings: { ...loaded.settings, StateDirectory: machineStateDirectory(platform, env) }, relativePaths: [] };
  }
  return loaded;
}

/** The relative path settings a production run refuses (`StateDirectory` at its default is replaced, not refused). */
export function productionPathProblems(loaded: LoadedConfig): RelativePathSetting[] {
  return loaded.relativePaths.filter((p) => !(p.setting === 'StateDirectory' && p.source === 'default'));
}

/** One line per relative path setting, as {@link requireProductionPaths} names them (for `doctor`). */
export function describeProductionPathProblems(loaded: LoadedConfig): string[] {
  return productionPathProblems(loaded).map((p) => describeRelative(p, loaded));
}
