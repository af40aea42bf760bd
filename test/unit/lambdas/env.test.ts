import { archiveObjectLockFromEnv, archiveStorageClassFromEnv, hotSiteBucketFromEnv, metricsTargetFromEnv } from '#lambdas/shared/env';
import { EnvironmentError } from '#lambdas/shared/errors';

describe('hotSiteBucketFromEnv', () => {
  it('returns HOT_SITE_BUCKET', () => {
    expect(hotSiteBucketFromEnv({ HOT_SITE_BUCKET: 'commserve-dr-hot-site' })).toBe('commserve-dr-hot-site');
  });
  it('names the variable when it is missing or empty', () => {
    for (const env of [{}, { HOT_SITE_BUCKET: '  ' }]) {
      expect(() => hotSiteBucketFromEnv(env)).toThrow(new EnvironmentError('environment variable HOT_SITE_BUCKET is not set (the hot-site bucket name)'));
    }
  });
  it('refuses an invalid bucket name', () => {
    expect(() => hotSiteBucketFromEnv({ HOT_SITE_BUCKET: 'Not_A_Bucket' })).toThrow(/HOT_SITE_BUCKET is not a valid S3 bucket name: "Not_A_Bucket"/);
  });
});

describe('archiveStorageClassFromEnv', () => {
  it('defaults to GLACIER', () => {
    expect(archiveStorageClassFromEnv({})).toBe('GLACIER');
    expect(archiveStorageClassFromEnv({ ARCHIVE_STORAGE_CLASS: '' })).toBe('GLACIER');
  });
  it.each(['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR'])('accepts %s', (value) => {
    expect(archiveStorageClassFromEnv({ ARCHIVE_STORAGE_CLASS: value })).toBe(value);
  });
  it('refuses other classes, naming the variable and the allowed values', () => {
    const error = (() => {
      try {
        archiveStorageClassFromEnv({ ARCHIVE_STORAGE_CLASS: 'STANDARD' });
      } catch (e) {
        return e as EnvironmentError;
      }
    })();
    expect(error?.name).toBe('EnvironmentError');
    expect(error?.code).toBe('ENV_INVALID');
    expect(error?.message).toBe('environment variable ARCHIVE_STORAGE_CLASS must be one of GLACIER, DEEP_ARCHIVE, GLACIER_IR, got "STANDARD"');
  });
});

describe('archiveObjectLockFromEnv', () => {
  it('is undefined when neither variable is set', () => {
    expect(archiveObjectLockFromEnv({})).toBeUndefined();
  });
  it('returns the mode and days', () => {
    expect(archiveObjectLockFromEnv({ ARCHIVE_OBJECT_LOCK_MODE: 'COMPLIANCE', ARCHIVE_OBJECT_LOCK_DAYS: '180' })).toEqual({ mode: 'COMPLIANCE', days: 180 });
  });
  it('names the variable when one is missing or invalid', () => {
    expect(() => archiveObjectLockFromEnv({ ARCHIVE_OBJECT_LOCK_DAYS: '90' })).toThrow(/ARCHIVE_OBJECT_LOCK_MODE must be GOVERNANCE or COMPLIANCE/);
    expect(() => archiveObjectLockFromEnv({ ARCHIVE_OBJECT_LOCK_MODE: 'GOVERNANCE' })).toThrow(/ARCHIVE_OBJECT_LOCK_DAYS must be an integer/);
    expect(() => archiveObjectLockFromEnv({ ARCHIVE_OBJECT_LOCK_MODE: 'GOVERNANCE', ARCHIVE_OBJECT_LOCK_DAYS: '0' })).toThrow(EnvironmentError);
  });
});

describe('metricsTargetFromEnv', () => {
  it('is undefined without METRIC_NAMESPACE', () => {
    expect(metricsTargetFromEnv({ METRIC_CELL: 'paris' })).toBeUndefined();
  });
  it('returns the namespace and cell (default "default")', () => {
    expect(metricsTargetFromEnv({ METRIC_NAMESPACE: 'CommServeDR', METRIC_CELL: 'paris' })).toEqual({ namespace: 'CommServeDR', cell: 'paris' });
    expect(metricsTargetFromEnv({ METRIC_NAMESPACE: 'CommServeDR' })).toEqual({ namespace: 'CommServeDR', cell: 'default' });
  });
});
