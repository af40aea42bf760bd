import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { runPrune } from '#agent/commands/prune/prune';
import { listPrefix } from '#lambdas/shared/prune-io';
import { motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, createBucket, makeSet, type FixtureSet } from '../lambdas/fixtures';

const DAY = 86_400_000;
const NOW = new Date('2026-12-31T12:00:00.000Z');

function fullSet(id: number, last: number): FixtureSet {
  const end = new Date(NOW.getTime() - (last - id + 1) * DAY).toISOString();
  return makeSet(id, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from(`dump ${id}`) }], { endTime: end, startTime: end });
}

async function upload(s3: S3Client, set: FixtureSet): Promise<void> {
  for (const f of set.files) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `sets/${setName(set.jobId)}/${f.name}`, Body: f.content }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `sets/${setName(set.jobId)}/manifest.json`, Body: set.manifest }));
}

function writeLocal(dest: string, set: FixtureSet, withManifest = true): string {
  const dir = join(dest, setName(set.jobId));
  mkdirSync(dir, { recursive: true });
  for (const f of set.files) writeFileSync(join(dir, f.name), f.content);
  if (withManifest) writeFileSync(join(dir, 'manifest.json'), set.manifest);
  return dir;
}

describe('commserve-dr prune (runPrune)', () => {
  useMoto();
  let work: string;
  let settings: Settings;
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'prune-'));
    settings = parseSettings(
      { RetainCycles: 2, Phase1Destination: join(work, 'dr'), StateDirectory: join(work, 'state'), HotSite: { bucket: BUCKET } },
      'test',
    );
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  async function arrange(s3: S3Client): Promise<void> {
    await createBucket(s3);
    for (let id = 1; id <= 5; id++) {
      const set = fullSet(id, 6);
      await upload(s3, set);
      writeLocal(settings.Phase1Destination, set);
    }
    // Local only: SET_0000006, complete (the hot-site lost it); SET_0000007 an incomplete FULL (no manifest) whose files were last written 100 days ago; a foreign folder.
    writeLocal(settings.Phase1Destination, fullSet(6, 6));
    const old = writeLocal(settings.Phase1Destination, makeSet(7, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from('partial') }]), false);
    const t = new Date(NOW.getTime() - 100 * DAY);
    utimesSync(join(old, 'commserv_FULL.dmp'), t, t);
    utimesSync(old, t, t);
    mkdirSync(join(settings.Phase1Destination, 'notes'));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/keep-me.txt', Body: 'foreign' }));
  }

  it('--dry-run deletes nothing and gives a reason for every SET', async () => {
    const s3 = motoS3Client();
    await arrange(s3);
    const { document, table } = await runPrune({ settings, s3, dryRun: true, now: NOW });
    expect(document.plan.hotSite.expire).toEqual([1, 2, 3, 7]);
    expect(document.applied).toBeNull();
    for (const d of document.plan.hotSite.decisions) expect(table).toContain(`${d.setName}`);
    expect(table).toContain('dry run');
    expect(table).toMatch(/SET_0000001 .* EXPIRE .*older than the oldest retained cycle SET_0000004/);
    expect(table).toMatch(/SET_0000007 .* EXPIRE .*past the 90-day SetLifeSpanForFailedDR/);
    expect((await listPrefix(s3, BUCKET, 'sets/')).length).toBe(11);
    expect(readdirSync(settings.Phase1Destination).length).toBe(8);
    expect((await listPrefix(s3, BUCKET, 'prune/')).length).toBe(0);
  });

  it('applies the plan: hot-site first, then the phase-1 destination; foreign entries untouched', async () => {
    const s3 = motoS3Client();
    await arrange(s3);
    const { document, table } = await runPrune({ settings, s3, now: NOW });
    expect(document.planKey).toMatch(/^prune\/manual-.*\.json$/);
    expect(document.applied?.hotSite?.setsDeleted).toEqual([1, 2, 3]);
    expect(document.applied?.local.removed).toEqual(['SET_0000001', 'SET_0000002', 'SET_0000003', 'SET_0000007']);
    expect(document.applied?.failedCount).toBe(0);
    const keys = (await listPrefix(s3, BUCKET, 'sets/')).map((o) => o.key);
    expect(keys).toContain('sets/keep-me.txt');
    expect(keys.filter((k) => k.startsWith('sets/SET_00')).map((k) => k.split('/')[1])).toEqual(['SET_0000004', 'SET_0000004', 'SET_0000005', 'SET_0000005']);
    expect(readdirSync(settings.Phase1Destination).sort()).toEqual(['SET_0000004', 'SET_0000005', 'SET_0000006', 'notes']);
    expect(existsSync(document.localPlanFile!)).toBe(true);
    expect(table).toContain('Phase-1 destination: 4 SET folder(s) removed');
    // Planning again expires nothing more.
    const again = await runPrune({ settings, s3, dryRun: true, now: NOW });
    expect(again.document.plan.hotSite.expire).toEqual([]);
  });

  it('without a hot-site client prunes the phase-1 destination only', async () => {
    for (let id = 1; id <= 5; id++) writeLocal(settings.Phase1Destination, fullSet(id, 6));
    const { document } = await runPrune({ settings, s3: null, now: NOW });
    expect(document.applied?.local.removed).toEqual(['SET_0000001', 'SET_0000002']);
    expect(document.hotSiteUnavailable).toMatch(/no hot-site client/);
  });
});

describe('commserve-dr prune (runPrune) on an Object-Lock-enabled bucket', () => {
  useMoto();
  it('keeps an expired SET whose hot-site objects are still locked, naming the date, and deletes the rest (moto)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'prune-lock-'));
    try {
      const settings = parseSettings({ RetainCycles: 2, Phase1Destination: join(work, 'dr'), StateDirectory: join(work, 'state'), HotSite: { bucket: BUCKET } }, 'test');
      const s3 = motoS3Client();
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET, ObjectLockEnabledForBucket: true }));
      // Dates relative to the real clock: moto checks retention against it.
      const now = new Date();
      const sets = [1, 2, 3, 4, 5].map((id) => {
        const end = new Date(now.getTime() - (6 - id) * DAY).toISOString();
        return makeSet(id, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from(`dump ${id}`) }], { endTime: end, startTime: end });
      });
      for (const set of sets) await upload(s3, set);
      const until = new Date(now.getTime() + DAY);
      for (const key of [`sets/${setName(2)}/commserv_FULL.dmp`]) {
        await s3.send(new PutObjectRetentionCommand({ Bucket: BUCKET, Key: key, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: until } }));
      }
      const { document } = await runPrune({ settings, s3, dryRun: false, now });
      expect(document.plan.hotSite.expire).toEqual([1]);
      const kept = document.plan.hotSite.decisions.find((d) => d.jobId === 2)!;
      expect(kept).toMatchObject({ action: 'keep', code: 'object-locked' });
      expect(kept.reason).toContain(`under Object Lock (GOVERNANCE) until ${until.toISOString()}`);
      const left = new Set((await listPrefix(s3, BUCKET, 'sets/')).map((o) => o.key.split('/')[1]));
      expect([...left].sort()).toEqual([2, 3, 4, 5].map((id) => setName(id)));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
