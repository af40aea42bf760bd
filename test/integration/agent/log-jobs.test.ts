/**
 * LOG jobs (SPEC §4.5) through phase 1, against real SQLite, the file hive and moto: each LOG SET names its
 * predecessor, carries its point time, the changed pages and the overlay, goes to the hot-site manifest last, and the
 * chain FULL (+ DIFF) + LOGs rebuilds each point exactly; a LOG with no open cycle is refused without a SET folder.
 */
import { copyFileSync, cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { applyLogChainInPlace } from '#agent/engines/sqlite/log-point';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoS3Client, useMoto } from '../../support/moto';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'log-hot-site';
const logger = createLogger({ level: 'silent' });
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('LOG jobs through phase 1 (real SQLite, file hive, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    await generateSampleCommServe({ dir: template, sizeBytes: 3 * MiB, seed: 7 });
  });

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
  const run = (settings: Settings, type: 'FULL' | 'DIFFERENTIAL' | 'LOG') => runPhase1({ settings, requestedType: type, s3: motoS3Client(), logger });
  const manifestOf = (settings: Settings, set: string) => parseManifest(readFileSync(join(settings.Phase1Destination, set, 'manifest.json')));

  it('FULL, LOG, DIFFERENTIAL, LOG: each LOG continues the newest point and the chain rebuilds each point exactly', async () => {
    const { cwd, db, settings } = await setup();
    await run(settings, 'FULL');
    const expected = new Map<number, string>();
    // The point as the LOG read it: the live file itself (read in place under a read lock; nothing writes between jobs).
    const keep = async (jobId: number) => {
      const copy = join(cwd, `expected-${jobId}.db`);
      copyFileSync(db, copy);
      expected.set(jobId, copy);
    };
    mutateSampleCommServe(db, { fraction: 0.001, seed: 21 });
    const log2 = await run(settings, 'LOG');
    await keep(2);
    mutateSampleCommServe(db, { fraction: 0.001, seed: 22 });
    await run(settings, 'DIFFERENTIAL');
    mutateSampleCommServe(db, { fraction: 0.001, seed: 23 });
    await run(settings, 'LOG');
    await keep(4);

    expect(log2).toMatchObject({ jobId: 2, backupType: 'LOG', requestedType: 'LOG', cycleId: 1, status: 'Completed', integrity: 'skipped' });
    const m2 = manifestOf(settings, 'SET_0000002');
    const m4 = manifestOf(settings, 'SET_0000004');
    expect(m2).toMatchObject({ backupType: 'LOG', cycleId: 1, baseFullSet: 'SET_0000001', previousSet: 'SET_0000001' });
    expect(m4).toMatchObject({ backupType: 'LOG', cycleId: 1, previousSet: 'SET_0000003' });
    expect(m2.files.map((f) => [f.name, f.role])).toEqual(expect.arrayContaining([['commserv_LOG_2.dmp', 'database'], ['commserv_LOG_2.pagehashes', 'sidecar'], ['commserv_hive_2.reg', 'registry']]));
    expect(Date.parse(m2.pointTime!)).toBeGreaterThanOrEqual(Date.parse(m2.startTime));
    expect(Date.parse(m2.pointTime!)).toBeLessThanOrEqual(Date.parse(m2.endTime));
    const full = manifestOf(settings, 'SET_0000001');
    expect(m2.files.find((f) => f.name === 'commserv_LOG_2.dmp')!.size).toBeLessThan(full.files.find((f) => f.name === 'commserv_FULL.dmp')!.size / 4);
    // At the hot-site, manifest included.
    for (const name of ['commserv_LOG_4.dmp', 'commserv_LOG_4.pagehashes', 'manifest.json']) {
      await expect(motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: `sets/SET_0000004/${name}` }))).resolves.toBeDefined();
    }

    const dir = settings.Phase1Destination;
    const fullDump = join(dir, 'SET_0000001', 'commserv_FULL.dmp');
    // Point 2: FULL + LOG 2.
    const at2 = join(cwd, 'at2.db');
    copyFileSync(fullDump, at2);
    await applyLogChainInPlace(at2, { jobId: 1, pageCount: full.database.pageCount!, sha256: String(full.database.details.dumpSha256) }, [join(dir, 'SET_0000002', 'commserv_LOG_2.dmp')]);
    expect(sha(at2)).toBe(sha(expected.get(2)!));
    expect(tableDigests(at2)).toEqual(tableDigests(expected.get(2)!));
    // Point 4: FULL + DIFF 3 + LOG 4.
    const at4 = join(cwd, 'at4.db');
    const m3 = manifestOf(settings, 'SET_0000003');
    await restoreFullPlusDifferential({ fullDump, diffFile: join(dir, 'SET_0000003', 'commserv_DIFF_3.dmp'), target: at4 });
    await applyLogChainInPlace(at4, { jobId: 3, pageCount: m3.database.pageCount!, sha256: String(m3.database.details.reconstructedSha256) }, [join(dir, 'SET_0000004', 'commserv_LOG_4.dmp')]);
    expect(sha(at4)).toBe(sha(expected.get(4)!));
  });

  it('a LOG with no open cycle is refused before any SET folder exists, naming why', async () => {
    const { settings } = await setup();
    await expect(run(settings, 'LOG')).rejects.toMatchObject({ code: 'LOG_NOT_POSSIBLE', message: expect.stringContaining('run a FULL first') });
    expect(existsSync(settings.Phase1Destination) ? readdirSync(settings.Phase1Destination).filter((n) => n.startsWith('SET_')) : []).toEqual([]);
  });
});
