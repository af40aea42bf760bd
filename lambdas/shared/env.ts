/**
 * Environment configuration of the phase-2 Lambda functions, validated once (on the first
 * invocation: importing a handler module never throws, so tests can use the factories alone).
 *
 * Variables (set by the CDK stack, `infra/phase2-functions.ts`):
 * - `HOT_SITE_BUCKET` (all functions): name of the hot-site bucket;
 * - `ARCHIVE_STORAGE_CLASS` (ArchiveSet): GLACIER (default when unset), DEEP_ARCHIVE or GLACIER_IR — the
 *   deploy-time default: the parameter `ArchiveStorageClass` under `SETTINGS_PREFIX`, read at cold start,
 *   overrides it (`loadArchiveStorageClass`, `shared/settings.ts`);
 * - `ARCHIVE_OBJECT_LOCK_MODE`, `ARCHIVE_OBJECT_LOCK_DAYS` (ArchiveSet, Object Lock on): GOVERNANCE or
 *   COMPLIANCE, and days (integer 1–36,500); both or neither;
 * - `METRIC_NAMESPACE`, `METRIC_CELL` (ReportJob): publish the job metrics in that namespace with the
 *   dimension `Cell` (default `default`); unset: no metrics.
 */
import { ArchiveStorageClass } from '#core/settings';
import { EnvironmentError } from './errors';
import { settingsFromParameters, type SettingsLoaderOptions } from './settings';

/** Environment variable names. */
export const ENV = {
  HotSiteBucket: 'HOT_SITE_BUCKET',
  ArchiveStorageClass: 'ARCHIVE_STORAGE_CLASS',
  ArchiveObjectLockMode: 'ARCHIVE_OBJECT_LOCK_MODE',
  ArchiveObjectLockDays: 'ARCHIVE_OBJECT_LOCK_DAYS',
  MetricNamespace: 'METRIC_NAMESPACE',
  MetricCell: 'METRIC_CELL',
} as const;

/** S3 bucket names (3–63 characters, lowercase letters, digits, dots and hyphens). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * The hot-site bucket name from `HOT_SITE_BUCKET`.
 * @throws EnvironmentError naming the variable when it is unset, empty or not a valid bucket name.
 */
export function hotSiteBucketFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  const value = env[ENV.HotSiteBucket]?.trim();
  if (!value) throw new EnvironmentError(`environment variable ${ENV.HotSiteBucket} is not set (the hot-site bucket name)`);
  if (!BUCKET_NAME.test(value)) {
    throw new EnvironmentError(`environment variable ${ENV.HotSiteBucket} is not a valid S3 bucket name: ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * The archive storage class from `ARCHIVE_STORAGE_CLASS`; GLACIER when unset or empty (SPEC §9).
 * @throws EnvironmentError naming the variable and the allowed values when it holds anything else.
 */
export function archiveStorageClassFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveStorageClass {
  const value = env[ENV.ArchiveStorageClass]?.trim();
  if (!value) return 'GLACIER';
  const parsed = ArchiveStorageClass.safeParse(value);
  if (!parsed.success) {
    throw new EnvironmentError(
      `environment variable ${ENV.ArchiveStorageClass} must be one of ${ArchiveStorageClass.options.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return parsed.data;
}

/**
 * ArchiveSet's storage class: the parameter `ArchiveStorageClass` read at cold start when there is one,
 * else `ARCHIVE_STORAGE_CLASS`.
 * @returns the class and its source (`environment` or the parameter's name).
 * @throws EnvironmentError naming an invalid variable; SettingsParameterError naming an invalid parameter.
 */
export async function loadArchiveStorageClass(options: SettingsLoaderOptions = {}): Promise<{ storageClass: ArchiveStorageClass; source: string }> {
  const env = options.env ?? process.env;
  const fromEnv = archiveStorageClassFromEnv(env);
  const parameters = await settingsFromParameters(['ArchiveStorageClass'], { ...options, env });
  const fromParameter = parameters.settings.ArchiveStorageClass;
  return fromParameter ? { storageClass: fromParameter, source: parameters.sources.ArchiveStorageClass! } : { storageClass: fromEnv, source: 'environment' };
}

/** Object Lock retention ArchiveSet applies to each archive object. */
export interface ArchiveObjectLockConfig {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Retention in days from the copy. */
  days: number;
}

/**
 * The archive Object Lock from `ARCHIVE_OBJECT_LOCK_MODE` and `ARCHIVE_OBJECT_LOCK_DAYS`; undefined when
 * neither is set.
 * @throws EnvironmentError naming the variable when only one is set or a value is invalid.
 */
export function archiveObjectLockFromEnv(env: NodeJS.ProcessEnv = process.env): ArchiveObjectLockConfig | undefined {
  const mode = env[ENV.ArchiveObjectLockMode]?.trim();
  const days = env[ENV.ArchiveObjectLockDays]?.trim();
  if (!mode && !days) return undefined;
  if (mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') {
    throw new EnvironmentError(`environment variable ${ENV.ArchiveObjectLockMode} must be GOVERNANCE or COMPLIANCE, got ${JSON.stringify(mode ?? '')}`);
  }
  if (!days || !/^\d+$/.test(days) || Number(days) < 1 || Number(days) > 36500) {
    throw new EnvironmentError(`environment variable ${ENV.ArchiveObjectLockDays} must be an integer from 1 to 36500, got ${JSON.stringify(days ?? '')}`);
  }
  return { mode, days: Number(days) };
}

/** Where ReportJob publishes the job metrics. */
export interface MetricsTarget {
  namespace: string;
  /** Value of the `Cell` dimension. */
  cell: string;
}

/** The metrics target from `METRIC_NAMESPACE` and `METRIC_CELL` (default `default`); undefined when `METRIC_NAMESPACE` is unset. */
export function metricsTargetFromEnv(env: NodeJS.ProcessEnv = process.env): MetricsTarget | undefined {
  const namespace = env[ENV.MetricNamespace]?.trim();
  if (!namespace) return undefined;
  return { namespace, cell: env[ENV.MetricCell]?.trim() || 'default' };
}
