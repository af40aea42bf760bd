import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { setObjectKey } from '#core/hotsite-layout';
import { MiB } from '#core/transfer-plan';
import { makeValidateSetHandler } from '#lambdas/validate-set';
import { SetValidationError } from '#lambdas/shared/errors';
import { motoS3Client, useMoto } from '../../support/moto';
import {
  BUCKET,
  bytes,
  compositeSha256,
  createBucket,
  defaultFiles,
  makeSet,
  MULTIPART_PART_BYTES,
  putObject,
  recordCommands,
  sha256Base64,
  uploadSet,
  type FixtureFile,
} from './fixtures';

/** An 11 MiB database dump: three 5 MiB-or-less parts with lib-storage. */
const bigDatabase = (mode: FixtureFile['mode'], recordS3?: boolean): FixtureFile => ({
  name: 'commserv_FULL.dmp',
  role: 'database',
  content: bytes(11 * MiB, 3),
  mode,
  recordS3,
});

describe('ValidateSet (moto)', () => {
  useMoto();
  const s3 = motoS3Client();
  const validate = makeValidateSetHandler({ s3, bucket: BUCKET });

  beforeEach(() => createBucket(s3));

  async function expectFailure(event: unknown, code: string, message: RegExp): Promise<void> {
    const error = await validate(event).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SetValidationError);
    expect((error as SetValidationError).name).toBe('SetValidationError');
    expect((error as SetValidationError).code).toBe(code);
    expect((error as Error).message).toMatch(message);
  }

  describe('a SET uploaded with single PUTs and SHA-256 checksums', () => {
    it('moto reports base64(SHA-256 of the whole object) as ChecksumSHA256', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      const file = set.files[0];
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: setObjectKey('sets', 1, file.name), ChecksumMode: 'ENABLED' }));
      expect(head.ChecksumSHA256).toBe(sha256Base64(file.content));
    });

    it('is valid, checked by S3 checksums alone (no download)', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      const client = motoS3Client();
      const { calls } = recordCommands(client);
      const result = await makeValidateSetHandler({ s3: client, bucket: BUCKET })({ backupType: 'FULL', phase1: set.phase1 });
      expect(result).toEqual({
        files: 3,
        bytes: set.files.reduce((n, f) => n + f.content.length, 0),
        checkedBy: { s3Checksum: 3, streamedHash: 0 },
      });
      expect(calls.filter((c) => c.name === 'GetObjectCommand').map((c) => c.input.Key)).toEqual(['sets/SET_0000001/manifest.json']);
    });
  });

  describe('a SET whose database dump was a multipart upload (lib-storage, 5 MiB parts, SHA-256)', () => {
    it('moto reports the composite checksum without the -N part-count suffix AWS adds', async () => {
      const content = bytes(11 * MiB, 3);
      await putObject(s3, 'sets/SET_0000001/commserv_FULL.dmp', content, 'multipart');
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
      const composite = compositeSha256(content, MULTIPART_PART_BYTES);
      expect(composite).toMatch(/-3$/);
      expect(head.ChecksumSHA256).toBe(composite.replace(/-3$/, ''));
      expect(head.ChecksumSHA256).not.toBe(sha256Base64(content));
    });

    it('is valid against the manifest s3.checksumSHA256 (base64-N), without download', async () => {
      const set = makeSet(1, [bigDatabase('multipart'), ...defaultFiles('single').slice(1)]);
      await uploadSet(s3, set);
      const result = await validate({ phase1: set.phase1 });
      expect(result.checkedBy).toEqual({ s3Checksum: 3, streamedHash: 0 });
      expect(result.bytes).toBe(set.phase1.bytes);
    });

    it('is re-hashed by streaming when the manifest does not say what S3 reports', async () => {
      const set = makeSet(1, [bigDatabase('multipart', false), ...defaultFiles('single').slice(1)]);
      await uploadSet(s3, set);
      const result = await validate({ phase1: set.phase1 });
      expect(result.checkedBy).toEqual({ s3Checksum: 2, streamedHash: 1 });
    });
  });

  it('re-hashes objects uploaded without a SHA-256 checksum', async () => {
    const set = makeSet(1, defaultFiles('no-sha256'));
    await uploadSet(s3, set);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBeUndefined();
    const result = await validate({ phase1: set.phase1 });
    expect(result.checkedBy).toEqual({ s3Checksum: 0, streamedHash: 3 });
  });

  describe('a tampered SET', () => {
    it('fails when a file has another size', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      await putObject(s3, 'sets/SET_0000001/commserv_hive.reg', Buffer.concat([set.files[1].content, Buffer.from('x')]), 'single');
      await expectFailure({ phase1: set.phase1 }, 'SIZE_MISMATCH', /sets\/SET_0000001\/commserv_hive\.reg is \d+ bytes, the manifest says \d+/);
    });

    it('fails when content changed with the same size (S3 checksum differs from the manifest)', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      const changed = Buffer.from(set.files[0].content);
      changed[1000] ^= 0xff;
      await putObject(s3, 'sets/SET_0000001/commserv_FULL.dmp', changed, 'single');
      await expectFailure({ phase1: set.phase1 }, 'CHECKSUM_MISMATCH', /commserv_FULL\.dmp has SHA-256 checksum .* at S3, the manifest says/);
    });

    it('fails when content changed with the same size and no S3 checksum (streamed hash differs)', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      const changed = Buffer.from(set.files[0].content);
      changed[0] ^= 0x01;
      await putObject(s3, 'sets/SET_0000001/commserv_FULL.dmp', changed, 'no-sha256');
      await expectFailure({ phase1: set.phase1 }, 'CHECKSUM_MISMATCH', /commserv_FULL\.dmp has SHA-256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    });

    it('fails when a multipart object was replaced by other content of the same size', async () => {
      const set = makeSet(1, [bigDatabase('multipart'), ...defaultFiles('single').slice(1)]);
      await uploadSet(s3, set);
      await putObject(s3, 'sets/SET_0000001/commserv_FULL.dmp', bytes(11 * MiB, 4), 'multipart');
      await expectFailure({ phase1: set.phase1 }, 'CHECKSUM_MISMATCH', /commserv_FULL\.dmp/);
    });

    it('fails when a file is missing', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/FwPorts.txt' }));
      await expectFailure({ phase1: set.phase1 }, 'FILE_MISSING', /sets\/SET_0000001\/FwPorts\.txt is missing/);
    });
  });

  describe('the manifest', () => {
    it('fails when it is missing (incomplete SET)', async () => {
      const set = makeSet(1, defaultFiles('single'));
      for (const f of set.files) await putObject(s3, setObjectKey('sets', 1, f.name), f.content, 'single');
      await expectFailure({ phase1: set.phase1 }, 'MANIFEST_MISSING', /sets\/SET_0000001\/manifest\.json not found/);
    });

    it('fails when it is not JSON', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/manifest.json', Body: '{"formatVersion": 1,' }));
      await expectFailure({ phase1: set.phase1 }, 'MANIFEST_INVALID', /not valid JSON/);
    });

    it('fails when it describes another job', async () => {
      const set = makeSet(1, defaultFiles('single'));
      const other = makeSet(2, defaultFiles('single'));
      await uploadSet(s3, set);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/manifest.json', Body: other.manifest }));
      await expectFailure({ phase1: set.phase1 }, 'MANIFEST_MISMATCH', /jobId 2 \(phase 1 reported 1\), setName SET_0000002/);
    });

    it('fails when phase 1 reports another bucket', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      await expectFailure({ phase1: { ...set.phase1, bucket: 'some-other-bucket' } }, 'BUCKET_MISMATCH', /some-other-bucket/);
    });

    it('fails when phase 1 names a manifest key outside its SET', async () => {
      const set = makeSet(1, defaultFiles('single'));
      await uploadSet(s3, set);
      await expectFailure({ phase1: { ...set.phase1, manifestKey: 'jobs/001.json' } }, 'KEY_MISMATCH', /expected SET_0000001 at sets\/SET_0000001\/manifest\.json/);
    });
  });
});
