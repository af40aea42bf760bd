import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { makePruneSetsHandler } from '#lambdas/prune-sets';
import type { PruneSettings } from '#lambdas/shared/prune-env';
import { listPrefix } from '#lambdas/shared/prune-io';
import { mapWithConcurrency } from '#lambdas/shared/concurrency';
import { setName } from '#core/set-id';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, createBucket, makeSet, recordCommands, type FixtureSet } from './fixtures';

const DAY = 86_400_000;
const NOW = new Date('2026-12-31T12:00:00.000Z');
const EXTRA_LOGS = 90;

/** A FULL SET of job `id` that ended `id` days before job `last`, with `EXTRA_LOGS` small log files besides its dump. */
function fullSet(id: number, last: number): FixtureSet {
  const files = [
    { name: 'commserv_FULL.dmp', role: 'database' as const, content: Buffer.from(`dump ${id}`) },
    ...Array.from({ length: EXTRA_LOGS }, (_, i) => ({ name: `job_${i}.log`, role: 'log' as const, content: Buffer.from(`log ${i}`) })),
  ];
  const end = new Date(NOW.getTime() - (last - id + 1) * DAY).toISOString();
  return makeSet(id, files, { endTime: end, startTime: end });
}

async function put(s3: S3Client, Key: string, Body: Buffer | string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body }));
}

async function uploadMany(s3: S3Client, sets: FixtureSet[]): Promise<void> {
  const items = sets.flatMap((set) => set.files.map((f) => ({ key: `sets/${setName(set.jobId)}/${f.name}`, body: f.content })));
  await mapWithConcurrency(items, 16, (i) => put(s3, i.key, i.body));
  await mapWithConcurrency(sets, 8, (set) => put(s3, `sets/${setName(set.jobId)}/manifest.json`, set.manifest));
}

const settings: PruneSettings = { RetainCycles: 2, SetLifeSpanForFailedDR: 90, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false };

describe('PruneSets against moto', () => {
  useMoto();
  jest.setTimeout(120_000);

  it('lists > 1,000 keys with pagination, records the plan before deleting in batches of ≤ 1,000, leaves foreign keys and an incomplete SET alone', async () => {
    const s3 = motoS3Client();
    await createBucket(s3);
    const sets = Array.from({ length: 12 }, (_, i) => fullSet(i + 1, 12));
    await uploadMany(s3, sets);
    // Foreign keys: not SET objects of this product.
    const foreign = ['sets/README.txt', 'sets/SET_12/other.bin', 'sets/SET_0000001/nested/file.bin', 'sets/set_002/x.bin'];
    for (const key of foreign) await put(s3, key, 'not ours');
    // An incomplete SET (no manifest), written just now: an upload may still be running.
    await put(s3, 'sets/SET_0000013/commserv_DIFF_13.dmp', 'partial');
    const before = await listPrefix(s3, BUCKET, 'sets/');
    expect(before.length).toBeGreaterThan(1100);

    const recorder = recordCommands(s3);
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => NOW });
    const summary = await handler({ backupType: 'FULL', phase1: sets[11].phase1, archive: { storageClass: 'GLACIER' } });

    expect(summary).toMatchObject({ outcome: 'pruned', jobId: 12, planKey: 'prune/012.json', failedKeys: 0 });
    expect(summary.hotSite).toMatchObject({ sets: 13, expired: 9, setsDeleted: 9, objectsDeleted: 9 * (EXTRA_LOGS + 2), foreignKeys: 4 });
    expect(JSON.stringify(summary).length).toBeLessThan(4096);

    const names = recorder.calls.map((c) => c.name);
    expect(names.filter((n) => n === 'ListObjectsV2Command').length).toBeGreaterThanOrEqual(2); // paginated
    const putPlan = names.indexOf('PutObjectCommand');
    const firstDelete = names.indexOf('DeleteObjectsCommand');
    expect(putPlan).toBeGreaterThanOrEqual(0);
    expect(putPlan).toBeLessThan(firstDelete);
    const batches = recorder.calls.filter((c) => c.name === 'DeleteObjectsCommand').map((c) => (c.input.Delete as { Objects: unknown[] }).Objects.length);
    expect(Math.max(...batches)).toBeLessThanOrEqual(1000);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(9 * (EXTRA_LOGS + 2));
    expect(batches.length).toBeGreaterThanOrEqual(2); // manifests, then 810 other keys (and ≤ 1,000 a batch)

    const after = (await listPrefix(s3, BUCKET, 'sets/')).map((o) => o.key);
    for (const key of foreign) expect(after).toContain(key);
    expect(after).toContain('sets/SET_0000013/commserv_DIFF_13.dmp');
    const remaining = new Set(after.flatMap((k) => /^sets\/(SET_\d{3,})\//.exec(k)?.[1] ?? []));
    expect([...remaining].sort()).toEqual(['SET_0000001', 'SET_0000010', 'SET_0000011', 'SET_0000012', 'SET_0000013']); // SET_0000001 only for its foreign nested key

    const record = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'prune/012.json' }))).Body!.transformToString());
    expect(record.kind).toBe('commserve-dr-prune-plan');
    expect(record.hotSite.decisions).toHaveLength(13);
    expect(record.hotSite.decisions.find((d: { setName: string }) => d.setName === 'SET_0000001')).toMatchObject({ action: 'expire', code: 'older-than-retention' });
    expect(record.hotSite.decisions.find((d: { setName: string }) => d.setName === 'SET_0000013')).toMatchObject({ action: 'keep', code: 'open-cycle' }); // placed by position after SET_0000012
  });

  it('the next prune reuses the plan record as its index: reads only the new SET', async () => {
    const s3 = motoS3Client();
    await createBucket(s3);
    const sets = Array.from({ length: 4 }, (_, i) => fullSet(i + 1, 5));
    await uploadMany(s3, sets);
    for (const set of sets) {
      await put(s3, `jobs/${String(set.jobId).padStart(3, '0')}.json`, JSON.stringify({
        jobId: set.jobId, setName: setName(set.jobId), backupType: 'FULL', requestedType: 'FULL', status: 'Completed', startTime: null,
        endTime: NOW.toISOString(), bytes: 1, copies: { phase1Destination: null, hotSite: null, archive: null }, phase2: 'archived', integrity: 'ok', events: [],
      }));
    }
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings: { ...settings, RetainCycles: 5 }, now: () => NOW });
    const first = await handler({ phase1: sets[3].phase1, archive: {} });
    expect(first.requests.GetObject).toBe(4 + 3); // 4 manifests + 3 records (the running job has none yet)
    const fifth = fullSet(5, 5);
    await uploadMany(s3, [fifth]);
    const second = await handler({ phase1: fifth.phase1, archive: {} });
    // the previous plan record, the new SET's manifest, SET_0000004 whose status was only expected then (manifest + record)
    expect(second.requests.GetObject).toBe(1 + 1 + 2);
    expect(second.hotSite.expired).toBe(0);
  });

  it('archive retention: copies younger than the class minimum are kept with a warning unless early deletion is allowed', async () => {
    const s3 = motoS3Client();
    await createBucket(s3);
    const sets = Array.from({ length: 4 }, (_, i) => fullSet(i + 1, 4));
    await uploadMany(s3, sets);
    for (const set of sets) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `archive/${setName(set.jobId)}/commserv_FULL.dmp`, Body: 'x', StorageClass: 'GLACIER' }));
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `archive/${setName(set.jobId)}/manifest.json`, Body: set.manifest, StorageClass: 'GLACIER' }));
    }
    const archiveSettings = { ...settings, RetainCycles: 5, ArchiveRetainCycles: 1 };
    const kept = await makePruneSetsHandler({ s3, bucket: BUCKET, settings: archiveSettings, now: () => new Date() })({ phase1: sets[3].phase1, archive: {} });
    expect(kept.archive).toMatchObject({ sets: 4, expired: 0, earlyDeletionWarnings: 2 });
    const allowed = await makePruneSetsHandler({ s3, bucket: BUCKET, settings: { ...archiveSettings, allowEarlyArchiveDeletion: true }, now: () => new Date() })({
      phase1: sets[3].phase1,
      archive: {},
    });
    expect(allowed.archive).toMatchObject({ expired: 2, setsDeleted: 2, objectsDeleted: 4 });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/' }));
    expect((left.Contents ?? []).map((o) => o.Key?.split('/')[1])).toEqual(['SET_0000003', 'SET_0000003', 'SET_0000004', 'SET_0000004']);
    expect(allowed.hotSite.expired).toBe(0);
  });
});
