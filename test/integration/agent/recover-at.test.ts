/**
 * `recover --at` (SPEC §4.5, issue 17) on real components: a 1%-activity day split into LOG points (real SQLite,
 * phase 1 to moto), then point-in-time recovery from the hot-site to each point's exact moment and to moments between
 * them — each result `sqldiff`-equal to the copy of the source saved at that point — and a damaged LOG breaking the
 * chain: recovery past it refused naming the newest reachable moment, before it still possible.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { runRecover } from '#agent/commands/recover/recover';
import { exec } from '#agent/cli';
import { uploadSet } from '#agent/hotsite/stream-upload';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { capture } from '../../support/cli';
import { motoS3Client, useMoto } from '../../support/moto';
import { rowDifferences, tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const logger = createLogger({ level: 'silent' });
const noProcesses = { processNames: [] as string[] };
/** `sqldiff a b` prints nothing when the two databases hold the same rows (every table's digests without sqldiff). */
const sqldiff = rowDifferences;

describe('recover --at: FULL + DIFFERENTIAL + LOG chain to a moment (real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs('commserve-dr-at-');
  let root: string;
  let settings: Settings;
  /** Per point (job id): its moment (manifest pointTime) and the copy of the source saved right after it. */
  const points = new Map<number, { time: string; copy: string; type: string }>();

  beforeAll(async () => {
    root = tempDir();
    const cs = join(root, 'cs');
    await generateSampleCommServe({ dir: cs, sizeBytes: 3 * MiB, seed: 17 });
    const bucket = `at-${process.pid}`;
    await motoS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
    settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cs, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cs, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cs, 'firewall'),
        Phase1Destination: join(root, 'dr'),
        StateDirectory: join(root, 'state'),
        HotSite: { bucket, endpoint: moto.endpoint() },
      },
      'test',
    );
    const db = join(cs, 'commserv.db');
    mkdirSync(join(root, 'saved'));
    // The day: FULL, then 1% of the rows changed in four steps, each followed by a LOG point (a DIFFERENTIAL midway).
    const plan = ['FULL', 'LOG', 'LOG', 'DIFFERENTIAL', 'LOG', 'LOG'] as const;
    for (const [i, type] of plan.entries()) {
      if (i > 0) mutateSampleCommServe(db, { fraction: 0.0025, seed: 100 + i });
      const result = await runPhase1({ settings, requestedType: type, s3: motoS3Client(), logger });
      expect(result).toMatchObject({ backupType: type, status: 'Completed' });
      const copy = join(root, 'saved', `${result.jobId}.db`);
      const source = new Database(db, { readonly: true });
      await source.backup(copy);
      source.close();
      const manifest = parseManifest(readFileSync(join(settings.Phase1Destination, result.setName, 'manifest.json')));
      points.set(result.jobId, { time: manifest.pointTime!, copy, type });
    }
  }, 240_000);

  let buckets = 0;
  /** The hot-site as phase 1 left it (moto is reset between tests): every SET uploaded again into a bucket of its own. */
  async function hotSite(): Promise<Settings> {
    const bucket = `at-${process.pid}-${++buckets}`;
    const s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const jobId of points.keys()) {
      const dir = join(settings.Phase1Destination, setName(jobId));
      await uploadSet(s3, bucket, dir, parseManifest(readFileSync(join(dir, 'manifest.json'))));
    }
    return { ...settings, HotSite: { ...settings.HotSite, bucket } };
  }
  let current: Settings;
  beforeEach(async () => {
    current = await hotSite();
  });
  const recoverAt = (at: string, extra: Partial<Parameters<typeof runRecover>[0]> = {}) =>
    runRecover({ settings: current, s3: motoS3Client(), logger, to: join(tempDir(), 'target'), at, preflight: noProcesses, ...extra });

  it('recovers to every point’s exact moment, each sqldiff-equal to the source saved at that point', async () => {
    for (const [jobId, p] of points) {
      const result = await recoverAt(p.time);
      expect({ jobId, status: result.document.status, error: result.document.error }).toEqual({ jobId, status: 'recovered', error: null });
      expect(result.document.pointInTime).toEqual({ requested: p.time, reached: p.time, exact: true, gapMs: 0, set: setName(jobId) });
      expect(result.document.point!.sets.at(-1)).toBe(setName(jobId));
      const restored = result.document.database!.file;
      expect(sqldiff(restored, p.copy)).toBe('');
      expect(tableDigests(restored)).toEqual(tableDigests(p.copy));
      expect(result.document.database!.integrity).toBe('ok');
      expect(result.text).toContain(`Point in time: asked ${p.time}, reached ${p.time} with ${setName(jobId)} — exactly the moment asked for`);
      // Each page is counted where it came from: LOG pages are never called DIFFERENTIAL pages (newcomer review).
      const d = result.document.database!;
      const pagesLine = result.text.split('\n').find((l) => l.startsWith('Database: '))!;
      if (p.type === 'LOG') {
        expect(d.appliedLogPages).toBeGreaterThan(0);
        expect(pagesLine).toContain(`${d.appliedLogPages} LOG pages applied`);
      } else expect(d.appliedLogPages).toBeUndefined();
      if (jobId <= 3) expect(pagesLine).not.toContain('DIFFERENTIAL pages');
    }
    // The chain of the last point: FULL + DIFFERENTIAL + the two LOGs after it (not the LOGs before the DIFFERENTIAL).
    const last = await recoverAt(points.get(6)!.time, { dryRun: true });
    expect(last.document.point!.sets).toEqual([setName(1), setName(4), setName(5), setName(6)]);
  });

  it('a moment between two points restores the earlier one and states the gap; the CLI --dry-run plans it', async () => {
    const t3 = Date.parse(points.get(3)!.time);
    const half = Math.floor((Date.parse(points.get(4)!.time) - t3) / 2);
    expect(half).toBeGreaterThan(0);
    const between = new Date(t3 + half).toISOString();
    const result = await recoverAt(between);
    expect(result.document.pointInTime).toEqual({ requested: between, reached: points.get(3)!.time, exact: true, gapMs: half, set: setName(3) });
    expect(sqldiff(result.document.database!.file, points.get(3)!.copy)).toBe('');
    expect(result.text).toContain(`${(half / 1000).toFixed(3)} s before the moment asked for`);

    const cwd = tempDir();
    const io = capture(cwd);
    const config = join(cwd, 'commserve-dr.config.json');
    writeFileSync(config, JSON.stringify({ Phase1Destination: settings.Phase1Destination, StateDirectory: join(cwd, 'state'), HotSite: current.HotSite }));
    const code = await exec(['recover', '--to', join(cwd, 'target'), '--at', between, '--dry-run', '--force', '--json'], io);
    const doc = JSON.parse(io.out());
    expect({ code, status: doc.status }).toEqual({ code: 0, status: 'planned' });
    expect(doc.pointInTime).toMatchObject({ reached: points.get(3)!.time, gapMs: half });
    expect(doc.plan.sets).toEqual([setName(1), setName(2), setName(3)]);
    expect(existsSync(join(cwd, 'target', 'commserv.db'))).toBe(false);
  });

  it('refuses a moment without a zone, before the FULL, and --at with --set', async () => {
    expect((await recoverAt('2026-12-05T14:30:00')).document.error).toMatchObject({ code: 'USAGE' });
    const before = new Date(Date.parse(points.get(1)!.time) - 60_000).toISOString();
    expect((await recoverAt(before)).document.error).toMatchObject({ code: 'AT_BEFORE_FIRST_POINT', message: expect.stringContaining(`the oldest is ${setName(1)}`) });
    expect((await recoverAt(points.get(2)!.time, { setName: setName(2) })).exitCode).toBe(2);
  });

  it('a LOG missing from every copy breaks the chain: past it refused naming the newest reachable moment; before it still recovers', async () => {
    // LOG 5's dump is gone from every copy: the hot-site and the phase-1 destination (recovery reads both).
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: current.HotSite.bucket, Key: `sets/${setName(5)}/commserv_LOG_5.dmp` }));
    rmSync(join(current.Phase1Destination, setName(5), 'commserv_LOG_5.dmp'));

    const past = await recoverAt(points.get(6)!.time);
    expect(past.document.status).toBe('failed');
    expect(past.document.error).toMatchObject({ code: 'AT_PAST_GAP' });
    expect(past.document.error!.message).toContain(`the newest reachable moment is ${points.get(4)!.time} (${setName(4)})`);
    expect(past.document.error!.message).toContain(`commserv_LOG_5.dmp is missing in every copy read`);
    const ok = await recoverAt(points.get(4)!.time);
    expect(ok.document.status).toBe('recovered');
    expect(sqldiff(ok.document.database!.file, points.get(4)!.copy)).toBe('');
  });
});
