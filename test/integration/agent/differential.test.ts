/**
 * DIFFERENTIAL jobs and promotion to FULL (SPEC §4.2 step 3), against real SQLite, the file hive and moto.
 */
import Database from 'better-sqlite3';
import { cpSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { setName } from '#core/set-id';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { PAGE_HASHES_FILE } from '#agent/engines/sqlite/sqlite-engine';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoS3Client, useMoto } from '../../support/moto';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'diff-hot-site';
const logger = createLogger({ level: 'silent' });

describe('DIFFERENTIAL jobs (real SQLite, file hive, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    await generateSampleCommServe({ dir: template, sizeBytes: 3 * MiB, seed: 5 });
  });

  /** A fresh copy of the sample CommServe and settings pointing at it. */
  async function setup(): Promise<{ cwd: string; db: string; settings: Settings }> {
    const cwd = tempDir();
    cpSync(template, join(cwd, 'cs'), { recursive: true });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'cs', 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cwd, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cwd, 'cs', 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        // Plain dumps: these tests read the SET files with the engine's own restore functions (brotli, the default, is
        // decompressed by recover: recover-compressed, recover, npm-start).
        DumpCompression: 'none',
      },
      'test',
    );
    return { cwd, db: join(cwd, 'cs', 'commserv.db'), settings };
  }

  const run = (settings: Settings, type: 'FULL' | 'DIFFERENTIAL') => runPhase1({ settings, requestedType: type, s3: motoS3Client(), logger });
  const manifestOf = (settings: Settings, set: string) => parseManifest(readFileSync(join(settings.Phase1Destination, set, 'manifest.json')));

  it('a DIFFERENTIAL holds the pages changed since the cycle FULL, and FULL + DIFF restores the database as it was', async () => {
    const { cwd, db, settings } = await setup();
    await run(settings, 'FULL');
    const full = manifestOf(settings, 'SET_0000001');
    expect(full.files.map((f) => f.name)).toContain(PAGE_HASHES_FILE);
    expect(full.files.find((f) => f.name === PAGE_HASHES_FILE)!.role).toBe('sidecar');

    mutateSampleCommServe(db, { fraction: 0.01, seed: 11 });
    const first = await run(settings, 'DIFFERENTIAL');
    expect(first).toMatchObject({ jobId: 2, backupType: 'DIFFERENTIAL', cycleId: 1, status: 'Completed' });
    mutateSampleCommServe(db, { fraction: 0.01, seed: 12 });
    const second = await run(settings, 'DIFFERENTIAL');
    expect(second).toMatchObject({ jobId: 3, backupType: 'DIFFERENTIAL', cycleId: 1 });

    const diff = manifestOf(settings, 'SET_0000003');
    expect(diff).toMatchObject({ backupType: 'DIFFERENTIAL', cycleId: 1, baseFullSet: 'SET_0000001', promotion: null });
    expect(diff.files.map((f) => f.name)).toEqual(expect.arrayContaining(['commserv_DIFF_3.dmp', 'commserv_hive_3.reg']));
    const diffBytes = diff.files.find((f) => f.name === 'commserv_DIFF_3.dmp')!.size;
    const fullBytes = full.files.find((f) => f.name === 'commserv_FULL.dmp')!.size;
    expect(diffBytes).toBeLessThan(fullBytes / 2);
    // Cumulative: the second DIFF counts at least the pages the first one did.
    expect(Number(diff.database.details.changedPages)).toBeGreaterThanOrEqual(Number(manifestOf(settings, 'SET_0000002').database.details.changedPages));

    const restored = join(cwd, 'restored.db');
    await restoreFullPlusDifferential({
      fullDump: join(settings.Phase1Destination, 'SET_0000001', 'commserv_FULL.dmp'),
      diffFile: join(settings.Phase1Destination, 'SET_0000003', 'commserv_DIFF_3.dmp'),
      baseHashesFile: join(settings.Phase1Destination, 'SET_0000001', PAGE_HASHES_FILE),
      target: restored,
    });
    const check = new Database(restored, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    expect(tableDigests(restored)).toEqual(tableDigests(db));
  });

  it('promotes a DIFFERENTIAL to FULL when there is no FULL yet, and says why', async () => {
    const { settings } = await setup();
    const result = await run(settings, 'DIFFERENTIAL');
    expect(result).toMatchObject({ backupType: 'FULL', requestedType: 'DIFFERENTIAL', cycleId: result.jobId });
    const manifest = manifestOf(settings, 'SET_0000001');
    expect(manifest.promotion?.reason).toMatch(/no successful FULL/);
    expect(manifest.events.find((e) => e.code === 'PROMOTED_TO_FULL')?.level).toBe('warning');
  });

  it('promotes when the cycle FULL is incomplete in every copy (its manifest gone locally and at the hot-site)', async () => {
    const { settings } = await setup();
    await run(settings, 'FULL');
    unlinkSync(join(settings.Phase1Destination, setName(1), 'manifest.json'));
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `sets/${setName(1)}/manifest.json` }));
    const result = await run(settings, 'DIFFERENTIAL');
    expect(result.backupType).toBe('FULL');
    expect(manifestOf(settings, setName(2)).promotion?.reason).toBe('there is no successful FULL in the phase-1 destination or at the hot-site to base it on (no open cycle)');
  });

  it('the cycle FULL incomplete in the phase-1 destination but complete at the hot-site → the DIFFERENTIAL is based on the hot-site copy (manifest and page hashes fetched into the state directory), and restores exactly', async () => {
    const { db, settings } = await setup();
    await run(settings, 'FULL');
    const fullDump = join(settings.Phase1Destination, setName(1), 'commserv_FULL.dmp');
    unlinkSync(join(settings.Phase1Destination, setName(1), 'manifest.json'));
    mutateSampleCommServe(db, { fraction: 0.01, seed: 33 });
    const result = await run(settings, 'DIFFERENTIAL');
    expect(result.backupType).toBe('DIFFERENTIAL');
    const diff = manifestOf(settings, setName(2));
    expect(diff.cycleId).toBe(1);
    expect(diff.promotion ?? null).toBeNull();
    expect(readFileSync(join(settings.StateDirectory, 'differential-base', setName(1), PAGE_HASHES_FILE)).equals(readFileSync(join(settings.Phase1Destination, setName(1), PAGE_HASHES_FILE)))).toBe(true);
    const out = join(tempDir(), 'restored.db');
    await restoreFullPlusDifferential({ fullDump, diffFile: join(settings.Phase1Destination, setName(2), 'commserv_DIFF_2.dmp'), baseHashesFile: join(settings.Phase1Destination, setName(1), PAGE_HASHES_FILE), target: out });
    expect(tableDigests(out)).toEqual(tableDigests(db));
  });

  it("promotes when the FULL's page hashes are missing", async () => {
    const { settings } = await setup();
    await run(settings, 'FULL');
    rmSync(join(settings.Phase1Destination, 'SET_0000001', PAGE_HASHES_FILE));
    expect((await run(settings, 'DIFFERENTIAL')).backupType).toBe('FULL');
    expect(manifestOf(settings, 'SET_0000002').promotion?.reason).toMatch(/page hashes of the cycle's FULL are missing/);
  });

  it('promotes when the database was replaced (another application id)', async () => {
    const { db, settings } = await setup();
    await run(settings, 'FULL');
    const conn = new Database(db);
    conn.pragma('application_id = 12345');
    conn.close();
    expect((await run(settings, 'DIFFERENTIAL')).backupType).toBe('FULL');
    expect(manifestOf(settings, 'SET_0000002').promotion?.reason).toMatch(/database changed since the cycle's FULL SET_0000001: applicationId/);
  });

  it('promotes when the page size changed', async () => {
    const { db, settings } = await setup();
    await run(settings, 'FULL');
    const conn = new Database(db);
    conn.pragma('page_size = 8192');
    conn.exec('VACUUM');
    conn.close();
    expect((await run(settings, 'DIFFERENTIAL')).backupType).toBe('FULL');
    expect(manifestOf(settings, 'SET_0000002').promotion?.reason).toMatch(/pageSize 4096 → 8192/);
  });

  it('a new FULL starts a new cycle: the next DIFFERENTIAL is based on it', async () => {
    const { db, settings } = await setup();
    await run(settings, 'FULL');
    await run(settings, 'DIFFERENTIAL');
    await run(settings, 'FULL');
    mutateSampleCommServe(db, { fraction: 0.01, seed: 3 });
    const result = await run(settings, 'DIFFERENTIAL');
    expect(result).toMatchObject({ jobId: 4, backupType: 'DIFFERENTIAL', cycleId: 3 });
    expect(manifestOf(settings, 'SET_0000004').baseFullSet).toBe('SET_0000003');
  });
});
