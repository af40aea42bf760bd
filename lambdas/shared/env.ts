/**
 * Environment configuration of the phase-2 Lambda functions, validated once (on the first
 * invocation: importing a handler module never throws, so tests can use the factories alone).
 *
 * Variables (set by the CDK stack, `infra/phase2-functions.ts`):
 * - `HOT_SITE_BUCKET` (all functions): name of the hot-site bucket;
 * - `ARCHIVE_STORAGE_CLASS` (ArchiveSet): GLACIER (default when unset), DEEP_ARCHIVE or GLACIER_IR.
 */
import { ArchiveStorageClass } from '#core/settings';
import { EnvironmentError } from './errors';

/** Environment variable names. */
export const ENV = {
  HotSiteBucket: 'HOT_SITE_BUCKET',
  ArchiveStorageClass: 'ARCHIVE_STORAGE_CLASS',
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
