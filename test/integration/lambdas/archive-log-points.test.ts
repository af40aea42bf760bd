/**
 * ArchiveSet archives LOG points with their cycle (SPEC §4.5, issue 17 item 2): a LOG execution has no archive step
 * of its own; the next FULL or DIFFERENTIAL copies every complete, not yet archived LOG SET older than itself.
 */
import { CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { decideJobRecord } from '#core/job';
import { MANIFEST_FILE, setObjectKey, setPrefix } from '#core/hotsite-layout';
import { setName } from '#core/set-id';
import { makeArchiveSetHandler, type ArchiveSetDeps } from '#lambdas/archive-set';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, bytes, createBucket, defaultFiles, makeSet, putObject, recordCommands, uploadSet, type FixtureFile, type FixtureSet } from './fixtures';

/** A LOG SET of cycle `cycleId` continuing `previous`. */
function logSet(jobId: number, cycleId: number, previous: number): FixtureSet {
  const files: FixtureFile[] = [
    { name: `commserv_LOG_${jobId}.dmp`, role: 'database', content: bytes(4_000 + jobId, jobId) },
    { name: `commserv_hive_${jobId}.reg`, role: 'registry', content: Buffer.from(`Windows Registry Editor Version 5.00\r\n; ${jobId}\r\n`) },
  ];
  const set = makeSet(jobId, files, { backupType: 'LOG', cycleId, baseFullSet: setName(cycleId), previousSet: setName(previous), pointTime: '2026-11-29T17:20:00.000Z' });
  return { ...set, phase1: { ...set.phase1, backupType: 'LOG', requestedType: 'LOG', cycleId } };
}

/** A DIFFERENTIAL SET of cycle `cycleId`. */
function differentialSet(jobId: number, cycleId: number): FixtureSet {
  const files: FixtureFile[] = [
    { name: `commserv_DIFF_${jobId}.dmp`, role: 'database', content: bytes(30_000, jobId) },
    { name: `commserv_hive_${jobId}.reg`, role: 'registry', content: Buffer.from('Windows Registry Editor Version 5.00\r\n') },
  ];
  const set = makeSet(jobId, files, { backupType: 'DIFFERENTIAL', cycleId, baseFullSet: setName(cycleId) });
  return { ...set, phase1: { ...set.phase1, backupType: 'DIFFERENTIAL', requestedType: 'DIFFERENTIAL', cycleId } };
}

describe('ArchiveSet: LOG points archived with their cycle (moto)', () => {
  useMoto();
  const s3 = motoS3Client();
  beforeEach(() => createBucket(s3));

  function archiver() {
    const client = motoS3Client();
    const recorder = recordCommands(client);
    return { ...recorder, archive: makeArchiveSetHandler({ s3: client, bucket: BUCKET }) };
  }

  async function archivedSets(): Promise<string[]> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/' }));
    return [...new Set((listed.Contents ?? []).filter((o) => o.Key!.endsWith(`/${MANIFEST_FILE}`)).map((o) => o.Key!.split('/')[1]))].sort();
  }

  /** FULL 1, LOGs 2 and 3 (cycle 1), DIFFERENTIAL 4, LOG 5 after it: all at the hot-site, FULL 1 already archived. */
  async function cycleWithLogs(): Promise<{ full: FixtureSet; logs: FixtureSet[]; diff: FixtureSet; later: FixtureSet }> {
    const full = makeSet(1, defaultFiles('single'));
    const logs = [logSet(2, 1, 1), logSet(3, 1, 2)];
    const diff = differentialSet(4, 1);
    const later = logSet(5, 1, 4);
    for (const set of [full, ...logs, diff, later]) await uploadSet(s3, set);
    await archiver().archive({ phase1: full.phase1 });
    return { full, logs, diff, later };
  }

  it("a DIFFERENTIAL's archive step copies the cycle's earlier LOG points (files, manifest last) in GLACIER — not the newer LOG", async () => {
    const { logs, diff } = await cycleWithLogs();
    const { archive, calls } = archiver();

    const result = await archive({ phase1: diff.phase1 });

    expect(result.prefix).toBe(setPrefix('archive', 4));
    expect(result.logPoints).toEqual({ archived: [setName(2), setName(3)], archivedCount: 2, failed: [] });
    expect(await archivedSets()).toEqual([setName(1), setName(2), setName(3), setName(4)].sort());
    for (const log of logs) {
      const copies = calls.filter((c) => c.name === 'CopyObjectCommand' && String(c.input.Key).startsWith(setPrefix('archive', log.jobId))).map((c) => c.input.Key);
      expect(copies).toEqual([...log.files.map((f) => setObjectKey('archive', log.jobId, f.name)), setObjectKey('archive', log.jobId, MANIFEST_FILE)]);
      for (const f of log.files) {
        const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: setObjectKey('archive', log.jobId, f.name) }));
        expect({ class: head.StorageClass, size: head.ContentLength }).toEqual({ class: 'GLACIER', size: f.content.length });
      }
    }
    const record = decideJobRecord({ backupType: 'DIFFERENTIAL', phase1: diff.phase1, archive: result }, BUCKET, '2026-11-29T18:00:00.000Z');
    expect(record.status).toBe('Completed');
    expect(record.events).toContainEqual(expect.objectContaining({ level: 'info', code: 'LOG_POINTS_ARCHIVED', message: `2 LOG point(s) archived with their cycle (${setName(2)}, ${setName(3)})` }));
  });

  it('the next FULL archives the closed cycle\'s last LOG; a second run copies nothing and lists no LOG', async () => {
    const { diff, later } = await cycleWithLogs();
    await archiver().archive({ phase1: diff.phase1 });
    const nextFull = makeSet(6, defaultFiles('single'));
    await uploadSet(s3, nextFull);

    const first = await archiver().archive({ phase1: nextFull.phase1 });
    expect(first.logPoints).toEqual({ archived: [setName(later.jobId)], archivedCount: 1, failed: [] });
    expect(await archivedSets()).toContain(setName(later.jobId));

    const again = archiver();
    const second = await again.archive({ phase1: nextFull.phase1 });
    expect(second.logPoints).toBeUndefined();
    expect(again.calls.filter((c) => c.name === 'CopyObjectCommand')).toEqual([]);
    // Finding LOG points costs listings, not a request per archived SET.
    expect(again.calls.filter((c) => c.name === 'ListObjectsV2Command').map((c) => c.input.Prefix)).toEqual(['sets/', 'archive/']);
  });

  it('a LOG SET without its manifest (unfinished) is not archived', async () => {
    const full = makeSet(1, defaultFiles('single'));
    const unfinished = logSet(2, 1, 1);
    await uploadSet(s3, full);
    for (const f of unfinished.files) await putObject(s3, setObjectKey('sets', 2, f.name), f.content, 'single');
    const diff = differentialSet(3, 1);
    await uploadSet(s3, diff);

    const result = await archiver().archive({ phase1: diff.phase1 });

    expect(result.logPoints).toBeUndefined();
    expect(await archivedSets()).toEqual([setName(3)]);
  });

  it('a LOG point that cannot be archived is named, never fails the job, and the next job tries again', async () => {
    const { logs, diff } = await cycleWithLogs();
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: setObjectKey('sets', 2, logs[0].files[0].name) }));

    const result = await archiver().archive({ phase1: diff.phase1 });

    expect(result.prefix).toBe(setPrefix('archive', 4));
    expect(result.logPoints?.archived).toEqual([setName(3)]);
    expect(result.logPoints?.failed).toEqual([{ set: setName(2), reason: expect.stringContaining(`${setObjectKey('sets', 2, logs[0].files[0].name)} is missing`) }]);
    const record = decideJobRecord({ backupType: 'DIFFERENTIAL', phase1: diff.phase1, archive: result }, BUCKET, '2026-11-29T18:00:00.000Z');
    expect(record.status).toBe('Completed');
    expect(record.phase2).toBe('archived');
    expect(record.events.at(-1)).toMatchObject({ level: 'warning', code: 'LOG_POINTS_NOT_ARCHIVED' });
    expect(record.events.at(-1)?.message).toContain(`1 LOG point(s) archived with their cycle (${setName(3)}); not archived, tried again by the next FULL or DIFFERENTIAL: ${setName(2)}:`);

    // Put back: the next archive step copies it.
    await putObject(s3, setObjectKey('sets', 2, logs[0].files[0].name), logs[0].files[0].content, 'single');
    const retried = await archiver().archive({ phase1: diff.phase1 });
    expect(retried.logPoints).toEqual({ archived: [setName(2)], archivedCount: 1, failed: [] });
  });

  it("a LOG execution's phase1 is never given to ArchiveSet by the state machine, but if it is, it archives only itself", async () => {
    const { logs } = await cycleWithLogs();
    const result = await archiver().archive({ phase1: logs[1].phase1 });
    expect(result.logPoints).toBeUndefined();
    expect(await archivedSets()).toEqual([setName(1), setName(3)].sort());
  });
});

describe('ArchiveSet: LOG points archived with their cycle under Object Lock (moto, Object-Lock-enabled bucket)', () => {
  useMoto();
  const s3 = motoS3Client();
  const DAY = 86_400_000;
  const T0 = Date.now();
  beforeEach(() => s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true })));

  function archiver(options: Partial<ArchiveSetDeps> & { at: number }) {
    const client = motoS3Client();
    // moto 5 wants a checksum-algorithm header on a CopyObject with lock headers (see archive-set.test.ts).
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CopyObjectCommand') (args.request as { headers: Record<string, string> }).headers['x-amz-sdk-checksum-algorithm'] = 'SHA256';
        return next(args);
      },
      { step: 'build', name: 'motoObjectLockCopyHeader' },
    );
    const { at, ...rest } = options;
    return makeArchiveSetHandler({ s3: client, bucket: BUCKET, now: () => new Date(at), ...rest });
  }
  const retainUntil = async (key: string) => {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return { mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate ? new Date(head.ObjectLockRetainUntilDate).getTime() : undefined };
  };
  const keysOf = async (jobId: number) => ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: setPrefix('archive', jobId) }))).Contents ?? []).map((o) => o.Key!);

  it("locks the LOG copies like the job's own, and extends the cycle's FULL to outlast them", async () => {
    const full = makeSet(1, defaultFiles('single'));
    const log = logSet(2, 1, 1);
    for (const set of [full, log]) await uploadSet(s3, set);
    await archiver({ at: T0, objectLock: { mode: 'GOVERNANCE', days: 30 } })({ phase1: full.phase1 });
    const nextFull = makeSet(3, defaultFiles('single'));
    await uploadSet(s3, nextFull);

    // 10 days later the next FULL archives the LOG, locked 30 days: until T0 + 40 d, beyond FULL 1's T0 + 30 d.
    const result = await archiver({ at: T0 + 10 * DAY, objectLock: { mode: 'GOVERNANCE', days: 30 } })({ phase1: nextFull.phase1 });

    expect(result.logPoints).toEqual({ archived: [setName(2)], archivedCount: 1, failed: [] });
    const logKeys = await keysOf(2);
    expect(logKeys).toHaveLength(log.files.length + 1);
    for (const key of logKeys) expect(await retainUntil(key)).toEqual({ mode: 'GOVERNANCE', until: T0 + 40 * DAY });
    const fullKeys = await keysOf(1);
    expect(fullKeys).toHaveLength(4);
    for (const key of fullKeys) expect(await retainUntil(key)).toEqual({ mode: 'GOVERNANCE', until: T0 + 40 * DAY });
  });
});
