/**
 * Environment configuration of the PruneSets function (SPEC §9), read and validated once:
 * - `RETAIN_CYCLES`: successful complete cycles kept at the hot-site (integer ≥ 1; default 5);
 * - `SET_LIFESPAN_FOR_FAILED_DR_DAYS`: days an incomplete or phase-2-failed SET is kept (integer ≥ 1; default 90);
 * - `ARCHIVE_RETAIN_CYCLES`: cycles kept under `archive/` (integer ≥ 1); unset, empty or `unlimited` keeps everything;
 * - `ALLOW_EARLY_ARCHIVE_DELETION`: `true` deletes archive objects younger than their class's minimum (default false);
 * - `SETS_OBJECT_LOCK_MODE`: `GOVERNANCE` or `COMPLIANCE` locks the kept `sets/` objects until their cycle can expire
 *   (issue 21 item 3); unset: not locked;
 * - `OBJECT_LOCK_ENABLED`: `true` when the bucket has Object Lock enabled (hot-site or archive lock): the prune looks
 *   up the lock of what it would expire and keeps what is still locked (implied by `SETS_OBJECT_LOCK_MODE`).
 *
 * The first three are the deploy-time defaults: the parameters `RetainCycles`, `SetLifeSpanForFailedDR`
 * and `ArchiveRetainCycles` under `SETTINGS_PREFIX`, read at cold start (`shared/settings.ts`), override
 * them (`loadPruneSettings`).
 */
import { RETENTION_DEFAULTS } from '#core/retention';
import { EnvironmentError } from './errors';
import type { PruneLockOptions } from './prune-run';
import { settingsFromParameters, type SettingsLoaderOptions } from './settings';

/** Variable names. */
export const PRUNE_ENV = {
  RetainCycles: 'RETAIN_CYCLES',
  SetLifeSpanForFailedDR: 'SET_LIFESPAN_FOR_FAILED_DR_DAYS',
  ArchiveRetainCycles: 'ARCHIVE_RETAIN_CYCLES',
  AllowEarlyArchiveDeletion: 'ALLOW_EARLY_ARCHIVE_DELETION',
  SetsObjectLockMode: 'SETS_OBJECT_LOCK_MODE',
  ObjectLockEnabled: 'OBJECT_LOCK_ENABLED',
} as const;

/** Retention settings of the PruneSets function. */
export interface PruneSettings {
  RetainCycles: number;
  /** Days. */
  SetLifeSpanForFailedDR: number;
  /** null keeps every archive copy. */
  ArchiveRetainCycles: number | null;
  allowEarlyArchiveDeletion: boolean;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number | null): number | null {
  const value = env[name]?.trim();
  if (!value) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new EnvironmentError(`environment variable ${name} must be an integer ≥ 1, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/**
 * The PruneSets settings from the environment, with core defaults.
 * @throws EnvironmentError naming the variable when a value is invalid.
 */
export function pruneSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): PruneSettings {
  const archive = env[PRUNE_ENV.ArchiveRetainCycles]?.trim().toLowerCase();
  const allow = env[PRUNE_ENV.AllowEarlyArchiveDeletion]?.trim().toLowerCase() ?? '';
  if (!['', 'true', 'false'].includes(allow)) {
    throw new EnvironmentError(`environment variable ${PRUNE_ENV.AllowEarlyArchiveDeletion} must be true or false, got ${JSON.stringify(allow)}`);
  }
  return {
    RetainCycles: positiveInt(env, PRUNE_ENV.RetainCycles, RETENTION_DEFAULTS.RetainCycles)!,
    SetLifeSpanForFailedDR: positiveInt(env, PRUNE_ENV.SetLifeSpanForFailedDR, RETENTION_DEFAULTS.SetLifeSpanForFailedDR)!,
    ArchiveRetainCycles: archive === 'unlimited' ? null : positiveInt(env, PRUNE_ENV.ArchiveRetainCycles, null),
    allowEarlyArchiveDeletion: allow === 'true',
  };
}

/** The retention settings PruneSets takes from Parameter Store when they are there. */
export const PRUNE_PARAMETER_SETTINGS = ['RetainCycles', 'SetLifeSpanForFailedDR', 'ArchiveRetainCycles'] as const;

/** Effective PruneSets settings and where each retention setting came from. */
export interface LoadedPruneSettings {
  settings: PruneSettings;
  /** `environment` (the deploy-time default) or the parameter's name. */
  sources: Record<(typeof PRUNE_PARAMETER_SETTINGS)[number], string>;
}

/**
 * The PruneSets settings: the environment's deploy-time values, overridden by the settings parameters
 * read at cold start (when `SETTINGS_PREFIX` is set).
 * @throws EnvironmentError naming an invalid variable; SettingsParameterError naming an invalid parameter.
 */
export async function loadPruneSettings(options: SettingsLoaderOptions = {}): Promise<LoadedPruneSettings> {
  const env = options.env ?? process.env;
  const fromEnv = pruneSettingsFromEnv(env);
  const parameters = await settingsFromParameters(PRUNE_PARAMETER_SETTINGS, { ...options, env });
  const sources = Object.fromEntries(PRUNE_PARAMETER_SETTINGS.map((n) => [n, parameters.sources[n] ?? 'environment'])) as LoadedPruneSettings['sources'];
  return { settings: { ...fromEnv, ...parameters.settings }, sources };
}

/**
 * The prune's Object Lock handling from the environment (`SETS_OBJECT_LOCK_MODE`, `OBJECT_LOCK_ENABLED`).
 * @throws EnvironmentError naming the variable when a value is invalid.
 */
export function pruneLocksFromEnv(env: NodeJS.ProcessEnv = process.env): PruneLockOptions {
  const mode = env[PRUNE_ENV.SetsObjectLockMode]?.trim() ?? '';
  if (mode !== '' && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') {
    throw new EnvironmentError(`environment variable ${PRUNE_ENV.SetsObjectLockMode} must be GOVERNANCE or COMPLIANCE, got ${JSON.stringify(mode)}`);
  }
  const enabled = env[PRUNE_ENV.ObjectLockEnabled]?.trim().toLowerCase() ?? '';
  if (!['', 'true', 'false'].includes(enabled)) {
    throw new EnvironmentError(`environment variable ${PRUNE_ENV.ObjectLockEnabled} must be true or false, got ${JSON.stringify(enabled)}`);
  }
  return { check: mode !== '' || enabled === 'true', ...(mode ? { sets: { mode } } : {}) };
}
