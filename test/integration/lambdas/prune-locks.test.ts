import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { BackupType, setName } from '#core/set-id';
import { makePruneSetsHandler } from '#lambdas/prune-sets';
import type { PruneSettings } from '#lambdas/shared/prune-env';
import { deleteKeys, listPrefix, groupBySet, type IndexEntry } from '#lambdas/shared/prune-io';
import { applySetLocks, LOCK_CHECK_MARGIN_MS } from '#lambdas/shared/prune-locks';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, defaultFiles, makeSet, recordCommands, uploadSet, type FixtureSet } from './fixtures';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const settings: PruneSettings = { RetainCycles: 2, SetLifeSpanForFailedDR: 90, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false };

/** A complete SET of `backupType` that ended at `endMs` (the manifest's times). */
function fixture(jobId: number, backupType: BackupType, endMs: number, cycleId = jobId): FixtureSet {
  const files = backupType === BackupType.Full ? defaultFiles() : [{ name: `commserv_DIFF_${jobId}.dmp`, role: 'database' as const, content: Buffer.from(`diff ${jobId}`) }];
  const set = makeSet(jobId, files, {
    backupType,
    cycleId,
    baseFullSet: backupType === BackupType.Full ? null : setName(cycleId),
    startTime: iso(endMs - 10 * 60_000),
    endTime: iso(endMs),
  });
  return { ...set, phase1: { ...set.phase1, backupType, requestedType: backupType, cycleId, startTime: iso(endMs - 10 * 60_000), endTime: iso(endMs) } };
}

const keysOf = (set: FixtureSet): string[] => [...set.files.map((f) => setObjectKey('sets', set.jobId, f.name)), setObjectKey('sets', set.jobId, MANIFEST_FILE)];

describe('PruneSets with hot-site Object Lock (moto, Object-Lock-enabled bucket)', () => {
  useMoto();
  jest.setTimeout(60_000);
  let s3: S3Client;
  // moto checks retention against its own clock: every date here is relative to the real now.
  const T = Date.now();

  beforeEach(async () => {
    s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
  });

  async function lockOf(key: string): Promise<{ mode?: string; until?: string }> {
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return { mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate?.toISOString() };
  }

  it('locks every kept SET until its cycle can expire, extends the FULL to a later DIFFERENTIAL’s date (never shortens), and a locked version cannot be deleted', async () => {
    // FULL 1 three days ago; FULLs of the next two days failed; DIFFERENTIAL 2 on FULL 1, an hour ago (this job).
    const full = fixture(1, BackupType.Full, T - 3 * DAY);
    const diff = fixture(2, BackupType.Differential, T - HOUR, 1);
    await uploadSet(s3, full);
    await uploadSet(s3, diff);
    // The previous prune had locked FULL 1 until its own cycle date (T); one object carries a longer lock already.
    const [dump, reg] = keysOf(full);
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: dump, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(T + HOUR) } }));
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: reg, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(T + 10 * DAY) } }));

    const recorder = recordCommands(s3);
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => new Date(T), locks: { check: true, sets: { mode: 'GOVERNANCE' } } });
    const summary = await handler({ backupType: 'DIFFERENTIAL', phase1: diff.phase1, archive: {} });

    // The DIFFERENTIAL's own date (an hour ago + RetainCycles 2 days) is after its cycle's (FULL + 3 days): the FULL follows it.
    const until = iso(T - HOUR + 2 * DAY);
    expect(summary).toMatchObject({ outcome: 'pruned', locks: { sets: 2, setsLocked: 2, failedObjects: 0, keptWhileLocked: 0 } });
    for (const key of keysOf(diff)) expect([key, await lockOf(key)]).toEqual([key, { mode: 'GOVERNANCE', until }]);
    expect(await lockOf(dump)).toEqual({ mode: 'GOVERNANCE', until }); // extended from T + 1 h
    expect(await lockOf(reg)).toEqual({ mode: 'COMPLIANCE', until: iso(T + 10 * DAY) }); // longer already: untouched, mode kept
    expect(await lockOf(keysOf(full)[3])).toEqual({ mode: 'GOVERNANCE', until }); // the manifest too
    const retentionCalls = recorder.calls.filter((c) => c.name === 'PutObjectRetentionCommand').map((c) => c.input.Key).sort();
    expect(retentionCalls).toEqual([...keysOf(diff), dump, keysOf(full)[2], keysOf(full)[3]].sort());
    // Locked before the plan record was written, which says so.
    const names = recorder.calls.map((c) => c.name);
    expect(names.lastIndexOf('PutObjectRetentionCommand')).toBeLessThan(names.indexOf('PutObjectCommand'));
    const record = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: summary.planKey! }))).Body!.transformToString());
    expect(record.hotSite.locks).toEqual([
      expect.objectContaining({ setName: setName(1), retainUntil: until, basis: 'dependant', reason: `extended to the lock of DIFFERENTIAL ${setName(2)}, which depends on it` }),
      expect.objectContaining({ setName: setName(2), retainUntil: until, basis: 'own-time' }),
    ]);
    expect(record.hotSite.lockOutcome).toMatchObject({ sets: 2, setsLocked: 2, objectsExtended: 5, objectsAlreadyLocked: 1, failedCount: 0 });

    // The lock holds: deleting the locked version is refused (GOVERNANCE without the bypass, which no DR role has).
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: dump }));
    await expect(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: dump, VersionId: versions.Versions![0].VersionId }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('an expired SET still locked is kept with its date in the plan; the first prune after that date deletes it, and its locked versions stay until then', async () => {
    const sets = [1, 2, 3, 4].map((id) => fixture(id, BackupType.Full, T - (5 - id) * DAY));
    for (const set of sets) await uploadSet(s3, set);
    // SET 1 expires by the rules (RetainCycles 2: cycles 2 and 3 kept, 4 open), but it is locked for one more hour.
    for (const key of keysOf(sets[0])) {
      await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: key, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(T + HOUR) } }));
    }
    const prune = (at: number) => makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => new Date(at), locks: { check: true } })({ phase1: sets[3].phase1, archive: {} });

    const first = await prune(T);
    expect(first).toMatchObject({ outcome: 'pruned', hotSite: { expired: 0, setsDeleted: 0 }, locks: { keptWhileLocked: 1 } });
    const record = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: first.planKey! }))).Body!.transformToString());
    const decision = record.hotSite.decisions.find((d: { setName: string }) => d.setName === setName(1));
    expect(decision).toMatchObject({ action: 'keep', code: 'object-locked' });
    expect(decision.reason).toContain(`under Object Lock (COMPLIANCE) until ${iso(T + HOUR)}`);
    expect((await listPrefix(s3, BUCKET, `sets/${setName(1)}/`)).length).toBe(4);

    // Planned two hours later: the lock has ended for the plan, so SET 1 is expired and deleted (delete markers) …
    const later = await prune(T + 2 * HOUR);
    expect(later).toMatchObject({ outcome: 'pruned', hotSite: { expired: 1, setsDeleted: 1, objectsDeleted: 4 } });
    expect(await listPrefix(s3, BUCKET, `sets/${setName(1)}/`)).toEqual([]);
    // … and, the real clock being before the date, the locked versions are still there and cannot be deleted.
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: `sets/${setName(1)}/` }));
    expect(versions.Versions).toHaveLength(4);
    expect(versions.DeleteMarkers).toHaveLength(4);
    await expect(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: versions.Versions![0].Key, VersionId: versions.Versions![0].VersionId }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('the next prune heads only SETs that are new or changed since the last lock check (plan-record index)', async () => {
    const sets = [1, 2, 3].map((id) => fixture(id, BackupType.Full, T - (3 - id) * DAY));
    for (const set of sets) await uploadSet(s3, set);
    // The wall clock of the lock check is put 10 minutes ahead, so the objects just written count as older than it.
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => new Date(T), wallClock: () => Date.now() + 2 * LOCK_CHECK_MARGIN_MS, locks: { check: true, sets: { mode: 'GOVERNANCE' } } });
    const first = await handler({ phase1: sets[2].phase1, archive: {} });
    expect(first.requests.HeadObject).toBe(3 * 4);
    const fourth = fixture(4, BackupType.Full, T);
    await uploadSet(s3, fourth);
    const recorder = recordCommands(s3);
    const second = await handler({ phase1: fourth.phase1, archive: {} });
    const headed = recorder.calls.filter((c) => c.name === 'HeadObjectCommand').map((c) => c.input.Key as string);
    // SET 1 now expires by the rules (3 counting cycles, RetainCycles 2): its lock is looked up (until T + 1 day) and it
    // is kept; of the locks, only the new SET's objects are read.
    expect(second).toMatchObject({ hotSite: { expired: 0 }, locks: { sets: 4, setsLocked: 4, keptWhileLocked: 1 } });
    expect(headed.sort()).toEqual([...keysOf(sets[0]), ...keysOf(fourth)].sort());
    for (const key of keysOf(fourth)) expect((await lockOf(key)).mode).toBe('GOVERNANCE');
  });

  it('an object changed after the last lock check (a repair’s new version) is checked and locked again', async () => {
    const set = fixture(1, BackupType.Full, T);
    await uploadSet(s3, set);
    const listed = groupBySet(await listPrefix(s3, BUCKET, 'sets/'), 'sets').sets;
    const until = iso(T + DAY);
    const target = { jobId: 1, setName: setName(1), backupType: BackupType.Full, mode: 'GOVERNANCE' as const, retainUntil: until, basis: 'cycle' as const, reason: 'test' };
    const entry = { jobId: 1, backupType: 'FULL', status: 'Completed', statusFrom: 'record', complete: true, phase2: 'archived', lockedUntil: until, lockCheckedAt: iso(T + HOUR) } as IndexEntry;
    // Every object older than the check: nothing to do.
    const unchanged = await applySetLocks(s3, BUCKET, [target], listed, new Map([[1, { ...entry }]]));
    expect(unchanged).toMatchObject({ setsUnchanged: 1, objectsExtended: 0 });
    // The dump was rewritten after the check (listed LastModified later): the whole SET is checked, the new version locked.
    const [dump] = keysOf(set);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: dump, Body: set.files[0].content }));
    const relisted = groupBySet(await listPrefix(s3, BUCKET, 'sets/'), 'sets').sets;
    relisted.get(1)!.objects.find((o) => o.key === dump)!.lastModified = iso(T + 2 * HOUR);
    const index = new Map([[1, { ...entry }]]);
    const changed = await applySetLocks(s3, BUCKET, [target], relisted, index);
    expect(changed).toMatchObject({ setsUnchanged: 0, setsLocked: 1, objectsExtended: 4, failedCount: 0 });
    expect(await lockOf(dump)).toEqual({ mode: 'GOVERNANCE', until });
    expect(index.get(1)!.lockedUntil).toBe(until);
  });

  it('never asks for a shorter retention: an object locked longer keeps its date and mode (S3 behaviour moto lacks: S3 refuses to shorten a COMPLIANCE retention, or a GOVERNANCE one without s3:BypassGovernanceRetention, which no DR role has — moto accepts both, shown here)', async () => {
    const set = fixture(1, BackupType.Full, T);
    await uploadSet(s3, set);
    const [dump, reg] = keysOf(set);
    const far = new Date(T + 30 * DAY);
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: dump, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: far } }));
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: reg, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: far } }));
    const listed = groupBySet(await listPrefix(s3, BUCKET, 'sets/'), 'sets').sets;
    const recorder = recordCommands(s3);
    const outcome = await applySetLocks(s3, BUCKET, [{ jobId: 1, setName: setName(1), backupType: BackupType.Full, mode: 'GOVERNANCE', retainUntil: iso(T + DAY), basis: 'cycle', reason: 'test' }], listed, new Map());
    expect(outcome).toMatchObject({ setsLocked: 1, objectsAlreadyLocked: 2, objectsExtended: 2 });
    // Only the two objects without a longer lock get one.
    expect(recorder.calls.filter((c) => c.name === 'PutObjectRetentionCommand').map((c) => c.input.Key).sort()).toEqual(keysOf(set).slice(2).sort());
    expect(await lockOf(dump)).toEqual({ mode: 'COMPLIANCE', until: far.toISOString() });
    expect(await lockOf(reg)).toEqual({ mode: 'GOVERNANCE', until: far.toISOString() });
    // What real S3 would refuse (AccessDenied), moto allows: the guarantee rests on S3 and on the code above.
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: dump, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(T + HOUR) } }));
    expect(await lockOf(dump)).toEqual({ mode: 'COMPLIANCE', until: iso(T + HOUR) });
  });

  it('a retention S3 refuses is named per object, marks the prune pruned-with-errors, and deletes go on', async () => {
    const sets = [1, 2, 3, 4].map((id) => fixture(id, BackupType.Full, T - (5 - id) * DAY));
    for (const set of sets) await uploadSet(s3, set);
    const recorder = recordCommands(s3);
    recorder.failWhen((name, input) => name === 'PutObjectRetentionCommand' && input.Key === keysOf(sets[3])[0], Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));
    const summary = await makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => new Date(T), locks: { check: true, sets: { mode: 'COMPLIANCE' } } })({ phase1: sets[3].phase1, archive: {} });
    expect(summary).toMatchObject({ outcome: 'pruned-with-errors', hotSite: { expired: 1, setsDeleted: 1 }, locks: { sets: 2, setsLocked: 1, failedObjects: 1 } });
    // SET 2's date (its end + 3 days) is now: its lock would already have ended, so only SETs 3 and 4 are locked.
    expect(summary.locks!.failureSample[0]).toBe(`AccessDenied cannot lock ${keysOf(sets[3])[0]} until ${iso(T - DAY + 3 * DAY)}: AccessDenied: Access Denied`);
  });

  it('S3 does not refuse a delete without a version id on a locked object: DeleteObjects reports it deleted, a delete marker hides it, the locked version stays (only a delete naming the version is refused)', async () => {
    const set = fixture(1, BackupType.Full, T - DAY);
    await uploadSet(s3, set);
    const [dump] = keysOf(set);
    await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: dump, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(T + DAY) } }));

    const result = await deleteKeys(s3, BUCKET, [dump], { attempts: 1 });

    expect(result).toEqual({ deleted: 1, failed: [] });
    expect(await listPrefix(s3, BUCKET, dump)).toEqual([]);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: dump }));
    expect([versions.Versions?.length, versions.DeleteMarkers?.length]).toEqual([1, 1]);
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: dump, VersionId: versions.Versions![0].VersionId }))).ObjectLockMode).toBe('COMPLIANCE');
    await expect(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: dump, VersionId: versions.Versions![0].VersionId }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});
