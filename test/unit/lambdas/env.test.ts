import { archiveStorageClassFromEnv, hotSiteBucketFromEnv } from '#lambdas/shared/env';
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
