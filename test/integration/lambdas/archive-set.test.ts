import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
} from '@aws-sdk/client-s3';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { MiB } from '#core/transfer-plan';
import { setName } from '#core/set-id';
import { makeArchiveSetHandler, type ArchiveSetDeps } from '#lambdas/archive-set';
import { ArchiveCopyError } from '#lambdas/shared/errors';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, bytes, createBucket, defaultFiles, makeSet, recordCommands, sha256Base64, uploadSet, type FixtureFile } from './fixtures';

const bigDatabase = (mode: FixtureFile['mode'] = 'single'): FixtureFile => ({
  name: 'commserv_FULL.dmp',
  role: 'database',
  content: bytes(11 * MiB, 5),
  mode,
});

/** Multipart copy forced for anything over 5 MiB, in 5 MiB parts (the S3 minimum part size). */
const FORCE_MULTIPART: Partial<ArchiveSetDeps> = { multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB };

describe('ArchiveSet (moto)', () => {
  useMoto();
  const s3 = motoS3Client();

  beforeEach(() => createBucket(s3));

  /** A fresh client whose commands are recorded (and can be made to fail), and a handler over it. */
  function archiver(options: Partial<ArchiveSetDeps> = {}) {
    const client = motoS3Client();
    const recorder = recordCommands(client);
    return { ...recorder, archive: makeArchiveSetHandler({ s3: client, bucket: BUCKET, ...options }) };
  }

  async function head(key: string) {
    return s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  }

  async function readArchived(key: string): Promise<Buffer> {
    // moto refuses GetObject on GLACIER objects (InvalidObjectState) until they are restored.
    await s3.send(new RestoreObjectCommand({ Bucket: BUCKET, Key: key, RestoreRequest: { Days: 1 } }));
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  it('copies every file, then the manifest, to archive/SET_n/ in GLACIER', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    const { archive, calls } = archiver();

    const result = await archive({ backupType: 'FULL', phase1: set.phase1, validation: { files: 3, bytes: 1, checkedBy: { s3Checksum: 3, streamedHash: 0 } } });

    expect(result).toEqual({
      storageClass: 'GLACIER',
      prefix: 'archive/SET_0000001/',
      objects: 4,
      bytes: set.phase1.bytes + set.manifest.length,
      multipartCopies: 0,
    });
    const copies = calls.filter((c) => c.name === 'CopyObjectCommand').map((c) => c.input);
    expect(copies.map((c) => c.Key)).toEqual([...set.files.map((f) => `archive/SET_0000001/${f.name}`), 'archive/SET_0000001/manifest.json']);
    for (const copy of copies) {
      expect(copy).toMatchObject({ StorageClass: 'GLACIER', MetadataDirective: 'COPY', ChecksumAlgorithm: 'SHA256' });
    }
    for (const f of set.files) {
      const archived = await head(setObjectKey('archive', 1, f.name));
      expect(archived.StorageClass).toBe('GLACIER');
      expect(archived.ContentLength).toBe(f.content.length);
      expect(archived.ChecksumSHA256).toBe(sha256Base64(f.content));
    }
    expect((await head('archive/SET_0000001/manifest.json')).StorageClass).toBe('GLACIER');
    // The hot-site copy stays where it is.
    expect((await head('sets/SET_0000001/commserv_FULL.dmp')).StorageClass).toBeUndefined();
  });

  it.each(['DEEP_ARCHIVE', 'GLACIER_IR'] as const)('uses the configured storage class %s', async (storageClass) => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    const result = await archiver({ storageClass }).archive({ phase1: set.phase1 });
    expect(result.storageClass).toBe(storageClass);
    expect((await head('archive/SET_0000001/commserv_FULL.dmp')).StorageClass).toBe(storageClass);
    expect((await head('archive/SET_0000001/manifest.json')).StorageClass).toBe(storageClass);
  });

  it('copies an object over the threshold with multipart copy, byte for byte', async () => {
    const set = makeSet(1, [bigDatabase('multipart'), ...defaultFiles('single').slice(1)]);
    await uploadSet(s3, set);
    const { archive, calls } = archiver(FORCE_MULTIPART);

    const result = await archive({ phase1: set.phase1 });

    expect(result.multipartCopies).toBe(1);
    const create = calls.filter((c) => c.name === 'CreateMultipartUploadCommand');
    expect(create).toHaveLength(1);
    expect(create[0].input).toMatchObject({ Key: 'archive/SET_0000001/commserv_FULL.dmp', StorageClass: 'GLACIER', ChecksumAlgorithm: 'SHA256' });
    const parts = calls.filter((c) => c.name === 'UploadPartCopyCommand').map((c) => [c.input.PartNumber, c.input.CopySourceRange]);
    expect(parts.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, `bytes=0-${5 * MiB - 1}`],
      [2, `bytes=${5 * MiB}-${10 * MiB - 1}`],
      [3, `bytes=${10 * MiB}-${11 * MiB - 1}`],
    ]);
    expect(calls.filter((c) => c.name === 'CompleteMultipartUploadCommand')).toHaveLength(1);
    const archived = await head('archive/SET_0000001/commserv_FULL.dmp');
    expect(archived.StorageClass).toBe('GLACIER');
    expect(archived.ContentLength).toBe(11 * MiB);
    expect((await readArchived('archive/SET_0000001/commserv_FULL.dmp')).equals(set.files[0].content)).toBe(true);
  });

  it('archives a multipart-uploaded object under the threshold with CopyObject', async () => {
    const set = makeSet(1, [bigDatabase('multipart'), ...defaultFiles('single').slice(1)]);
    await uploadSet(s3, set);
    const { archive, calls } = archiver();

    const result = await archive({ phase1: set.phase1 });

    expect(result.multipartCopies).toBe(0);
    expect(calls.filter((c) => c.name === 'CreateMultipartUploadCommand')).toHaveLength(0);
    const archived = await head('archive/SET_0000001/commserv_FULL.dmp');
    expect(archived.StorageClass).toBe('GLACIER');
    expect((await readArchived('archive/SET_0000001/commserv_FULL.dmp')).equals(set.files[0].content)).toBe(true);
  });

  it('is idempotent: a second run copies nothing', async () => {
    const set = makeSet(1, [bigDatabase('single'), ...defaultFiles('single').slice(1)]);
    await uploadSet(s3, set);
    const first = await archiver(FORCE_MULTIPART).archive({ phase1: set.phase1 });
    const { archive, calls } = archiver(FORCE_MULTIPART);

    const second = await archive({ phase1: set.phase1 });

    expect(second).toEqual(first);
    // Checks and reads only, plus the two listings that look for LOG points to archive with the cycle (issue 17).
    expect(calls.map((c) => c.name).filter((n) => !['HeadObjectCommand', 'GetObjectCommand', 'ListObjectsV2Command'].includes(n))).toEqual([]);
    expect(calls.filter((c) => c.name === 'ListObjectsV2Command').map((c) => c.input.Prefix)).toEqual(['sets/', 'archive/']);
  });

  it('completes a partial archive copy on retry without copying again what is archived', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    const failing = archiver();
    failing.failWhen((name, input) => name === 'CopyObjectCommand' && input.Key === 'archive/SET_0000001/commserv_hive.reg');

    const error = await failing.archive({ phase1: set.phase1 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveCopyError);
    expect((error as Error).name).toBe('ArchiveCopyError');
    expect((error as Error).message).toMatch(/copying sets\/SET_0000001\/commserv_hive\.reg to archive\/SET_0000001\/commserv_hive\.reg failed: InternalError/);
    // The manifest is copied last: a partial archive copy has none.
    await expect(head('archive/SET_0000001/manifest.json')).rejects.toMatchObject({ name: 'NotFound' });

    const retry = archiver();
    await retry.archive({ phase1: set.phase1 });
    expect(retry.calls.filter((c) => c.name === 'CopyObjectCommand').map((c) => c.input.Key)).toEqual([
      'archive/SET_0000001/commserv_hive.reg',
      'archive/SET_0000001/FwPorts.txt',
      'archive/SET_0000001/manifest.json',
    ]);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/SET_0000001/' }));
    expect(listed.Contents?.map((o) => o.Key).sort()).toEqual(
      ['FwPorts.txt', 'commserv_FULL.dmp', 'commserv_hive.reg', MANIFEST_FILE].map((n) => `archive/SET_0000001/${n}`).sort(),
    );
  });

  it('aborts the multipart upload when a part copy fails', async () => {
    const set = makeSet(1, [bigDatabase('single'), ...defaultFiles('single').slice(1)]);
    await uploadSet(s3, set);
    const { archive, calls, failWhen } = archiver(FORCE_MULTIPART);
    failWhen((name, input) => name === 'UploadPartCopyCommand' && input.PartNumber === 2);

    await expect(archive({ phase1: set.phase1 })).rejects.toMatchObject({ name: 'ArchiveCopyError', code: 'COPY_FAILED' });

    expect(calls.filter((c) => c.name === 'AbortMultipartUploadCommand')).toHaveLength(1);
    expect(calls.filter((c) => c.name === 'CompleteMultipartUploadCommand')).toHaveLength(0);
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
    expect(uploads.Uploads ?? []).toEqual([]);
    await expect(head('archive/SET_0000001/commserv_FULL.dmp')).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('re-copies an archived object whose storage class is not the configured one', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    await archiver({ storageClass: 'GLACIER' }).archive({ phase1: set.phase1 });
    const { archive, calls } = archiver({ storageClass: 'DEEP_ARCHIVE' });
    await archive({ phase1: set.phase1 });
    expect(calls.filter((c) => c.name === 'CopyObjectCommand')).toHaveLength(4);
    expect((await head('archive/SET_0000001/FwPorts.txt')).StorageClass).toBe('DEEP_ARCHIVE');
  });

  it('fails with SOURCE_MISSING when a file of the SET is gone', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/FwPorts.txt' }));
    await expect(archiver().archive({ phase1: set.phase1 })).rejects.toMatchObject({
      name: 'ArchiveCopyError',
      code: 'SOURCE_MISSING',
      message: expect.stringContaining('sets/SET_0000001/FwPorts.txt is missing'),
    });
  });

  it('fails with SOURCE_CHANGED when a file no longer has the manifest size', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, set);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/FwPorts.txt', Body: 'changed!!!!!!' }));
    await expect(archiver().archive({ phase1: set.phase1 })).rejects.toMatchObject({ name: 'ArchiveCopyError', code: 'SOURCE_CHANGED' });
  });

  it('fails with ArchiveCopyError when the manifest is missing', async () => {
    const set = makeSet(1, defaultFiles('single'));
    await expect(archiver().archive({ phase1: set.phase1 })).rejects.toMatchObject({ name: 'ArchiveCopyError', code: 'MANIFEST_MISSING' });
  });
});

describe('ArchiveSet with Object Lock (moto, Object-Lock-enabled bucket)', () => {
  useMoto();
  const s3 = motoS3Client();
  const DAY = 86_400_000;
  const T0 = Date.now();

  beforeEach(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
  });

  const diffFiles = (): FixtureFile[] => [
    { name: 'commserv_DIFF_2.dmp', role: 'database', content: bytes(50_000, 9) },
    { name: 'commserv_hive_2.reg', role: 'registry', content: Buffer.from('Windows Registry Editor Version 5.00\r\n') },
  ];

  function archiver(options: Partial<ArchiveSetDeps> & { at: number }) {
    const client = motoS3Client();
    // moto 5 refuses Object Lock headers on any PUT without Content-MD5 or x-amz-sdk-checksum-algorithm,
    // CopyObject included; AWS requires that only of uploads with a body (boto/s3transfer#224 copies
    // with lock arguments as they are). The header is added to CopyObject here so moto accepts it.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand') (args.request as { headers: Record<string, string> }).headers['x-amz-sdk-checksum-algorithm'] = 'SHA256';
        return next(args);
      },
      { step: 'build', name: 'motoObjectLockCopyHeader' },
    );
    const recorder = recordCommands(client);
    const { at, ...rest } = options;
    return { ...recorder, archive: makeArchiveSetHandler({ s3: client, bucket: BUCKET, now: () => new Date(at), ...rest }) };
  }

  /** The retention of an object. (moto answers GetObjectRetention with InvalidObjectState for GLACIER objects; HeadObject reports it.) */
  async function retention(key: string) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return head.ObjectLockMode ? { Mode: head.ObjectLockMode, RetainUntilDate: head.ObjectLockRetainUntilDate } : undefined;
  }

  async function archivedKeys(jobId: number): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `archive/${setName(jobId)}/` }));
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  it('locks every archive copy until now + days, in the configured mode', async () => {
    const full = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, full);
    const { archive, calls } = archiver({ at: T0, objectLock: { mode: 'GOVERNANCE', days: 30 } });

    await archive({ backupType: 'FULL', phase1: full.phase1 });

    const until = new Date(T0 + 30 * DAY);
    for (const copy of calls.filter((c) => c.name === 'CopyObjectCommand')) {
      expect(copy.input).toMatchObject({ ObjectLockMode: 'GOVERNANCE', ObjectLockRetainUntilDate: until });
    }
    const keys = await archivedKeys(1);
    expect(keys).toHaveLength(4);
    for (const key of keys) {
      const r = await retention(key);
      expect(r?.Mode).toBe('GOVERNANCE');
      expect(new Date(r!.RetainUntilDate!).getTime()).toBe(until.getTime());
    }
    // The hot-site copy is not locked: it must stay prunable.
    expect(await retention('sets/SET_0000001/commserv_FULL.dmp')).toBeUndefined();
    // Each copy carried its lock: no retention had to be set afterwards.
    expect(calls.filter((c) => c.name === 'PutObjectRetentionCommand')).toEqual([]);
  });

  it('locks a multipart copy too (CreateMultipartUpload carries the lock)', async () => {
    const full = makeSet(1, [bigDatabase('single'), ...defaultFiles('single').slice(1)]);
    await uploadSet(s3, full);
    const { archive, calls } = archiver({ at: T0, objectLock: { mode: 'COMPLIANCE', days: 10 }, ...FORCE_MULTIPART });

    const result = await archive({ backupType: 'FULL', phase1: full.phase1 });

    expect(result.multipartCopies).toBe(1);
    const created = calls.filter((c) => c.name === 'CreateMultipartUploadCommand');
    expect(created).toHaveLength(1);
    expect(created[0].input).toMatchObject({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date(T0 + 10 * DAY) });
    // moto does not apply the lock of a multipart upload; ArchiveSet's check after the copy sets it.
    const r = await retention('archive/SET_0000001/commserv_FULL.dmp');
    expect(r?.Mode).toBe('COMPLIANCE');
    expect(new Date(r!.RetainUntilDate!).getTime()).toBe(T0 + 10 * DAY);
  });

  it("extends the retention of a DIFFERENTIAL's FULL archive copy when the DIFFERENTIAL's lock outlasts it, never shortens it", async () => {
    const full = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, full);
    await archiver({ at: T0, objectLock: { mode: 'GOVERNANCE', days: 30 } }).archive({ backupType: 'FULL', phase1: full.phase1 });

    const diff = makeSet(2, diffFiles(), { backupType: 'DIFFERENTIAL', cycleId: 1, baseFullSet: 'SET_0000001' });
    await uploadSet(s3, diff);
    const diffPhase1 = { ...diff.phase1, backupType: 'DIFFERENTIAL' as const, requestedType: 'DIFFERENTIAL' as const, cycleId: 1 };

    // 10 days later, a DIFFERENTIAL locked for 30 days: until T0 + 40 d, beyond the FULL's T0 + 30 d.
    const later = archiver({ at: T0 + 10 * DAY, objectLock: { mode: 'GOVERNANCE', days: 30 } });
    await later.archive({ backupType: 'DIFFERENTIAL', phase1: diffPhase1 });

    const diffUntil = T0 + 40 * DAY;
    for (const key of await archivedKeys(2)) expect(new Date((await retention(key))!.RetainUntilDate!).getTime()).toBe(diffUntil);
    const fullKeys = await archivedKeys(1);
    expect(fullKeys).toHaveLength(4);
    for (const key of fullKeys) {
      const r = await retention(key);
      expect(r?.Mode).toBe('GOVERNANCE');
      expect(new Date(r!.RetainUntilDate!).getTime()).toBe(diffUntil);
    }
    expect(later.calls.filter((c) => c.name === 'PutObjectRetentionCommand').map((c) => c.input.Key).sort()).toEqual([...fullKeys].sort());

    // A DIFFERENTIAL whose lock ends earlier than the FULL's leaves the FULL as it is.
    const shorter = archiver({ at: T0 + 11 * DAY, objectLock: { mode: 'GOVERNANCE', days: 5 } });
    await shorter.archive({ backupType: 'DIFFERENTIAL', phase1: diffPhase1 });
    expect(shorter.calls.filter((c) => c.name === 'PutObjectRetentionCommand')).toEqual([]);
    for (const key of fullKeys) expect(new Date((await retention(key))!.RetainUntilDate!).getTime()).toBe(diffUntil);
  });

  it('archives a DIFFERENTIAL whose FULL has no archive copy (nothing to extend), and logs it', async () => {
    const diff = makeSet(2, diffFiles(), { backupType: 'DIFFERENTIAL', cycleId: 1, baseFullSet: 'SET_0000001' });
    await uploadSet(s3, diff);
    const entries: Array<Record<string, unknown>> = [];
    const { archive } = archiver({ at: T0, objectLock: { mode: 'GOVERNANCE', days: 30 }, log: (e) => entries.push(e) });

    const result = await archive({ backupType: 'DIFFERENTIAL', phase1: { ...diff.phase1, backupType: 'DIFFERENTIAL', cycleId: 1 } });

    expect(result.objects).toBe(3);
    expect(entries).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^archive\/SET_0000001\/ holds no archive copy of the base FULL/) }));
  });

  it('fails with ArchiveCopyError RETENTION_FAILED when the retention cannot be set', async () => {
    const full = makeSet(1, defaultFiles('single'));
    await uploadSet(s3, full);
    await archiver({ at: T0, objectLock: { mode: 'GOVERNANCE', days: 30 } }).archive({ backupType: 'FULL', phase1: full.phase1 });
    // A retry of the same job a day later: the objects are archived already, their retention is extended.
    const retry = archiver({ at: T0 + DAY, objectLock: { mode: 'GOVERNANCE', days: 30 } });
    retry.failWhen((name) => name === 'PutObjectRetentionCommand', Object.assign(new Error('denied'), { name: 'AccessDenied' }));

    const error = await retry.archive({ backupType: 'FULL', phase1: full.phase1 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ArchiveCopyError);
    expect(error).toMatchObject({ code: 'RETENTION_FAILED', message: expect.stringMatching(/cannot extend the Object Lock retention of archive\/SET_0000001\/.* AccessDenied: denied/) });
  });
});
