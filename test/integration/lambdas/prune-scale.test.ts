/**
 * PruneSets at scale against moto (issue 4, deliverable 5): a hot-site of 40 cycles (a FULL and five
 * DIFFERENTIALs each, 11 objects a SET, > 2,500 objects), with job records, one SET whose keys are
 * foreign, and one incomplete SET. Checks exactly which SETs go, that foreign keys and the incomplete
 * SET are untouched, the plan record, and that S3 requests grow per 1,000 objects (ListObjectsV2,
 * DeleteObjects) rather than per object — and, on the next prune, that the plan record's index saves
 * the per-SET reads.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makePruneSetsHandler } from '#lambdas/prune-sets';
import type { PruneSettings } from '#lambdas/shared/prune-env';
import { listPrefix } from '#lambdas/shared/prune-io';
import { mapWithConcurrency } from '#lambdas/shared/concurrency';
import { jobRecordKey, parseSetObjectKey, setObjectKey } from '#core/hotsite-layout';
import type { JobRecord } from '#core/job';
import { setName } from '#core/set-id';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, createBucket, makeSet, recordCommands, type FixtureSet } from './fixtures';

const HOUR = 3_600_000;
const CYCLES = 40;
const DIFFS_PER_CYCLE = 5;
const PER_CYCLE = 1 + DIFFS_PER_CYCLE;
const LOGS_PER_SET = 9; // + dump + manifest = 11 objects a SET
const LAST_JOB = CYCLES * PER_CYCLE; // 240: the running job (a DIFFERENTIAL of the open cycle 40)
const INCOMPLETE = 100; // an intermediate DIFFERENTIAL of cycle 17 (FULL 97) whose upload never finished
const FOREIGN_SET = 7; // an expired FULL whose folder also holds keys that are not SET objects
const PUT_CONCURRENCY = 24;

const settings: PruneSettings = { RetainCycles: 5, SetLifeSpanForFailedDR: 90, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false };

const fullOf = (jobId: number): number => Math.floor((jobId - 1) / PER_CYCLE) * PER_CYCLE + 1;
const isFull = (jobId: number): boolean => fullOf(jobId) === jobId;

/** SET `id`: FULL or DIFFERENTIAL by position, its dump, `LOGS_PER_SET` logs and a real manifest; ended `LAST_JOB - id` hours before `t0`. */
function buildSet(id: number, t0: number): FixtureSet {
  const full = isFull(id);
  const files = [
    { name: full ? 'commserv_FULL.dmp' : `commserv_DIFF_${id}.dmp`, role: 'database' as const, content: Buffer.from(`dump ${id}`) },
    ...Array.from({ length: LOGS_PER_SET }, (_, i) => ({ name: `job_${i}.log`, role: 'log' as const, content: Buffer.from(`log ${id}.${i}`) })),
  ];
  const end = new Date(t0 - (LAST_JOB - id) * HOUR).toISOString();
  return makeSet(
    id,
    files,
    full
      ? { startTime: end, endTime: end }
      : { startTime: end, endTime: end, backupType: 'DIFFERENTIAL', cycleId: fullOf(id), baseFullSet: setName(fullOf(id)) },
  );
}

function jobRecord(set: FixtureSet, status: JobRecord['status']): JobRecord {
  const type = isFull(set.jobId) ? 'FULL' : 'DIFFERENTIAL';
  return {
    jobId: set.jobId,
    setName: setName(set.jobId),
    backupType: type,
    requestedType: type,
    status,
    startTime: null,
    endTime: new Date().toISOString(),
    bytes: set.files.reduce((sum, f) => sum + f.content.length, 0),
    copies: { phase1Destination: null, hotSite: `s3://${BUCKET}/sets/${setName(set.jobId)}/`, archive: null },
    phase2: status === 'Failed' ? 'not-run' : 'archived',
    integrity: status === 'Failed' ? null : 'ok',
    events: [],
  };
}

const put = (s3: S3Client, Key: string, Body: Buffer | string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));

/** Uploads SETs (their files, then every manifest) and `records`, `PUT_CONCURRENCY` requests at a time. */
async function upload(s3: S3Client, sets: readonly FixtureSet[], options: { withoutManifest?: ReadonlySet<number>; records?: readonly JobRecord[] } = {}): Promise<void> {
  const items: Array<{ key: string; body: Buffer | string }> = sets.flatMap((set) => set.files.map((f) => ({ key: setObjectKey('sets', set.jobId, f.name), body: f.content })));
  for (const r of options.records ?? []) items.push({ key: jobRecordKey(r.jobId!), body: JSON.stringify(r) });
  await mapWithConcurrency(items, PUT_CONCURRENCY, (i) => put(s3, i.key, i.body));
  const complete = sets.filter((s) => !options.withoutManifest?.has(s.jobId));
  await mapWithConcurrency(complete, PUT_CONCURRENCY, (set) => put(s3, setObjectKey('sets', set.jobId, 'manifest.json'), set.manifest));
}

/** Counts the commands an S3 client sends, by operation (`ListObjectsV2`, …). */
function countByOperation(calls: ReadonlyArray<{ name: string }>, from = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls.slice(from)) {
    const op = c.name.replace(/Command$/, '');
    out[op] = (out[op] ?? 0) + 1;
  }
  return out;
}

/** Job ids of the SETs that still have objects (by the product's own key parser: foreign keys do not count). */
const jobIdsOf = (keys: readonly string[]): Set<number> => new Set(keys.flatMap((k) => parseSetObjectKey(k)?.jobId ?? []));

describe('PruneSets at scale against moto (> 2,500 objects, 40 cycles)', () => {
  useMoto();
  jest.setTimeout(60_000);

  it('expires exactly the SETs before the 5 retained cycles, leaves foreign keys and the incomplete SET alone, requests grow per 1,000 objects', async () => {
    const s3 = motoS3Client();
    await createBucket(s3);
    const t0 = Date.now();
    const sets = Array.from({ length: LAST_JOB }, (_, i) => buildSet(i + 1, t0));
    // Job records for every finished job; the running job (240) has none yet (ReportJob comes after
    // PruneSets); the incomplete SET's job failed during its upload.
    const records = sets.filter((s) => s.jobId !== LAST_JOB).map((s) => jobRecord(s, s.jobId === INCOMPLETE ? 'Failed' : 'Completed'));
    await upload(s3, sets, { withoutManifest: new Set([INCOMPLETE]), records });
    const foreign = [
      `sets/${setName(FOREIGN_SET)}/../x`,
      `sets/${setName(FOREIGN_SET)}/nested/commserv_FULL.dmp`,
      `sets/${setName(FOREIGN_SET)}/..`,
      'sets/SET_7/manifest.json', // not the canonical name of job 7
      'sets/SET_7/commserv_FULL.dmp',
      'sets/SET_0007/manifest.json',
      'sets/set_007/manifest.json',
      'sets/notaset/manifest.json',
      'sets/README.txt',
    ];
    const outside = ['other/SET_0000007/manifest.json', 'setsX/SET_0000001/manifest.json'];
    await mapWithConcurrency([...foreign, ...outside], 8, (key) => put(s3, key, 'not ours'));

    const before = await listPrefix(s3, BUCKET, 'sets/');
    expect(before.map((o) => o.key)).toEqual(expect.arrayContaining(foreign)); // moto keeps `..` segments verbatim
    const setsObjects = before.length;
    expect(setsObjects).toBe(LAST_JOB * 11 - 1 + foreign.length);
    expect(setsObjects).toBeGreaterThan(2500);

    const recorder = recordCommands(s3);
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings });
    const summary = await handler({ phase1: { ...sets[LAST_JOB - 1].phase1, backupType: 'DIFFERENTIAL' }, archive: { storageClass: 'GLACIER' } });
    const handlerCalls = [...recorder.calls]; // the handler's requests only (the checks below send more)
    const ops = countByOperation(handlerCalls);

    // Cycles 1–39 are complete and successful; 35–39 are retained (boundary: FULL 205); 40 is open.
    // The incomplete DIFFERENTIAL 100 is within SetLifeSpanForFailedDR (kept), so its cycle's FULL 97 is kept too.
    const boundary = (CYCLES - 1 - settings.RetainCycles) * PER_CYCLE + 1;
    expect(boundary).toBe(205);
    const expectedExpired = Array.from({ length: boundary - 1 }, (_, i) => i + 1).filter((id) => id !== INCOMPLETE && id !== fullOf(INCOMPLETE));
    const expectedKept = [fullOf(INCOMPLETE), INCOMPLETE, ...Array.from({ length: LAST_JOB - boundary + 1 }, (_, i) => boundary + i)];
    const deletedKeys = expectedExpired.length * 11;

    expect(summary).toMatchObject({ outcome: 'pruned', jobId: LAST_JOB, planKey: 'prune/240.json', failedKeys: 0 });
    expect(summary.hotSite).toEqual({
      sets: LAST_JOB,
      kept: expectedKept.length,
      expired: expectedExpired.length,
      setsDeleted: expectedExpired.length,
      objectsDeleted: deletedKeys,
      foreignKeys: foreign.length,
    });
    expect(JSON.stringify(summary).length).toBeLessThan(4096);

    // The plan record, written before the first delete.
    const record = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'prune/240.json' }))).Body!.transformToString());
    expect(record).toMatchObject({ kind: 'commserve-dr-prune-plan', jobId: LAST_JOB, dryRun: false });
    expect(record.hotSite.expire).toEqual(expectedExpired);
    expect(record.hotSite.keep).toEqual(expectedKept);
    expect(record.hotSite.boundary).toBe(boundary);
    expect(record.hotSite.openCycleId).toBe(CYCLES * PER_CYCLE - DIFFS_PER_CYCLE);
    expect(record.hotSite.retainedCycles).toEqual([205, 211, 217, 223, 229]);
    expect(record.hotSite.foreignKeys).toBe(foreign.length);
    expect([...record.hotSite.foreignSample].sort()).toEqual([...foreign].sort());
    const decision = (id: number) => record.hotSite.decisions.find((d: { jobId: number }) => d.jobId === id);
    expect(decision(INCOMPLETE)).toMatchObject({ action: 'keep', code: 'incomplete-within-lifespan', complete: false, status: 'Failed' });
    expect(decision(fullOf(INCOMPLETE))).toMatchObject({ action: 'keep', code: 'full-of-kept-differential' });
    expect(decision(FOREIGN_SET)).toMatchObject({ action: 'expire', code: 'older-than-retention' });
    expect(decision(LAST_JOB)).toMatchObject({ action: 'keep', code: 'open-cycle' });
    expect(record.index.map((e: { jobId: number }) => e.jobId)).toEqual(expectedKept);

    // What is left: exactly the kept SETs, every foreign key, the incomplete SET's files, the keys outside sets/.
    const after = (await listPrefix(s3, BUCKET, 'sets/')).map((o) => o.key);
    expect([...jobIdsOf(after)].sort((a, b) => a - b)).toEqual(expectedKept);
    for (const key of foreign) expect(after).toContain(key);
    expect(after.filter((k) => k.startsWith(`sets/${setName(INCOMPLETE)}/`))).toHaveLength(10);
    expect(after).toHaveLength(setsObjects - deletedKeys);
    expect((await listPrefix(s3, BUCKET, 'other/')).map((o) => o.key)).toEqual([outside[0]]);
    expect((await listPrefix(s3, BUCKET, 'jobs/')).length).toBe(records.length); // records are history: never pruned

    // Requests: per 1,000 objects for listing and deleting; the reads are per SET on a first prune (no index yet).
    const pages = (n: number) => Math.ceil(n / 1000);
    expect(ops.ListObjectsV2).toBe(1 + pages(records.length) + pages(setsObjects)); // prune/ (empty: one page), jobs/, sets/
    expect(ops.ListObjectsV2).toBe(5);
    expect(ops.DeleteObjects).toBe(pages(expectedExpired.length) + pages(deletedKeys - expectedExpired.length)); // manifests first, then the rest
    expect(ops.DeleteObjects).toBe(4);
    expect(ops.DeleteObjects).toBeLessThanOrEqual(pages(deletedKeys) + 1);
    const batches = handlerCalls.filter((c) => c.name === 'DeleteObjectsCommand').map((c) => (c.input.Delete as { Objects: unknown[] }).Objects.length);
    expect(Math.max(...batches)).toBeLessThanOrEqual(1000);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(deletedKeys);
    // One GET per manifest (239: the incomplete SET has none) and per job record (239: not the running job's).
    expect(ops.GetObject).toBe(2 * (LAST_JOB - 1));
    expect(ops.PutObject).toBe(1);
    expect(Object.keys(ops).sort()).toEqual(['DeleteObjects', 'GetObject', 'ListObjectsV2', 'PutObject']);
    expect(summary.requests).toEqual(ops); // the handler's own counter agrees with what was sent

    // The next job, FULL 241, completes cycle 40: cycle 35 (SETs 205–210) now falls out of retention.
    // ReportJob wrote job 240's record; the plan record is the index, so only the new SET, SET_240
    // (whose status was only vouched for last time) and the incomplete SET (no manifest: never taken
    // from the index) are read.
    await put(s3, jobRecordKey(LAST_JOB), JSON.stringify(jobRecord(sets[LAST_JOB - 1], 'Completed')));
    const next = buildSet(LAST_JOB + 1, t0 + HOUR);
    expect(isFull(next.jobId)).toBe(true);
    await upload(s3, [next]);
    const mark = recorder.calls.length;
    const second = await handler({ phase1: next.phase1, archive: {} });
    const ops2 = countByOperation(recorder.calls, mark);
    expect(second).toMatchObject({ outcome: 'pruned', planKey: 'prune/241.json', failedKeys: 0 });
    expect(second.hotSite).toEqual({ sets: expectedKept.length + 1, kept: expectedKept.length + 1 - PER_CYCLE, expired: PER_CYCLE, setsDeleted: PER_CYCLE, objectsDeleted: PER_CYCLE * 11, foreignKeys: foreign.length });
    const record2 = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'prune/241.json' }))).Body!.transformToString());
    expect(record2.hotSite.expire).toEqual([205, 206, 207, 208, 209, 210]);
    expect(record2.hotSite.boundary).toBe(211);
    expect(ops2).toEqual({
      ListObjectsV2: 1 + pages(records.length + 1) + pages(after.length + 11), // prune/, jobs/, sets/
      GetObject: 1 + 1 + 2 + 1, // previous plan record; SET_241's manifest; SET_240's manifest + record; SET_100's record
      PutObject: 1,
      DeleteObjects: 2, // 6 manifests, then 60 other keys
    });
  });
});
