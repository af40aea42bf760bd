/**
 * Which bytes a backup job's integrity check covered (issue 15), on real SQLite: the check of the live database reports
 * the file change counter read under its read transaction, a DIFFERENTIAL read in place the counter of the state it
 * read; equal only when no commit came between (a write from another connection in between makes them differ); a WAL
 * database reports neither (its DIFF reads a snapshot). And what the job records from that (`IntegrityCheck.coveredImage`):
 * a FULL's check of its own dump covers the dump's content SHA-256; a DIFFERENTIAL's covers its reconstructed image only
 * with equal counters; nothing else is covered.
 */
import Database from 'better-sqlite3';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrityCheck } from '#agent/commands/backup/build-set';
import type { Phase1Job } from '#agent/commands/backup/job-context';
import { openSqliteEngine, type SqliteEngine } from '#agent/engines/sqlite/sqlite-engine';
import type { DatabaseEngine, DumpResult, IntegrityResult } from '#agent/engines/types';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { BackupType } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { useTempDirs } from '../../support/tmp';

describe('integrity check coverage: the change counter of the state checked and of the state dumped (real SQLite)', () => {
  const tempDir = useTempDirs('commserve-dr-coverage-');
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    await generateSampleCommServe({ dir: template, sizeBytes: 1 * MiB, seed: 5 });
  });

  /** A copy of the sample; the FULL dump and its page hashes for a DIFFERENTIAL base. */
  async function setup(options: { wal?: boolean } = {}) {
    const dir = tempDir();
    cpSync(join(template, 'commserv.db'), join(dir, 'commserv.db'));
    const path = join(dir, 'commserv.db');
    if (options.wal) {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.close();
    }
    const engine = openSqliteEngine(path);
    const fullDir = join(dir, 'SET_1');
    mkdirSync(fullDir);
    const full = await engine.dumpFull(join(fullDir, 'commserv_FULL.dmp'));
    const cycle = await engine.prepareCycle(full.file, fullDir, 1);
    const base = { manifest: { jobId: 1, setName: 'SET_1', database: { ...full.identity, details: cycle.details }, files: [] } as never, setDir: fullDir };
    const counter = () => readFileSync(path).readUInt32BE(24);
    const write = () => {
      const db = new Database(path);
      db.exec("CREATE TABLE IF NOT EXISTS coverage_probe (x); INSERT INTO coverage_probe VALUES ('a commit between the check and the dump')");
      db.close();
    };
    return { dir, engine, base, counter, write };
  }

  let opened: SqliteEngine[] = [];
  afterEach(async () => {
    for (const engine of opened) await engine.close();
    opened = [];
  });

  it('a rollback-journal database: the check and the DIFF dump read the same state → the same counter (the file header’s)', async () => {
    const { dir, engine, base, counter } = await setup();
    opened.push(engine);
    const checked = await engine.checkIntegrity();
    expect(checked.status).toBe('ok');
    expect(checked.changeCounter).toBe(counter());
    const diff = await engine.dumpDifferential(base, join(dir, 'commserv_DIFF_2.dmp'), 2);
    expect(diff.changeCounter).toBe(checked.changeCounter);
  });

  it('a commit between the check and the dump → different counters', async () => {
    const { dir, engine, base, write } = await setup();
    opened.push(engine);
    const checked = await engine.checkIntegrity();
    write();
    const diff = await engine.dumpDifferential(base, join(dir, 'commserv_DIFF_2.dmp'), 2);
    expect(diff.changeCounter).toBeDefined();
    expect(diff.changeCounter).not.toBe(checked.changeCounter);
  });

  it('a WAL database: no counter from either (the DIFF reads a snapshot; the counter is not kept up to date in WAL mode)', async () => {
    const { dir, engine, base } = await setup({ wal: true });
    opened.push(engine);
    const checked = await engine.checkIntegrity();
    expect(checked).toMatchObject({ status: 'ok' });
    expect(checked.changeCounter).toBeUndefined();
    const diff = await engine.dumpDifferential(base, join(dir, 'commserv_DIFF_2.dmp'), 2);
    expect(diff.changeCounter).toBeUndefined();
  });

  it("a FULL's check of its own dump reports no counter (it is not the live database)", async () => {
    const { engine, base } = await setup();
    opened.push(engine);
    const checked = await engine.checkIntegrity(join(base.setDir, 'commserv_FULL.dmp'));
    expect(checked).toEqual({ status: 'ok', messages: [], durationMs: expect.any(Number) });
  });
});

describe('IntegrityCheck.coveredImage: the image a job records its check passed on', () => {
  const IMAGE = 'a'.repeat(64);
  const DUMP = 'b'.repeat(64);
  const CONTENT = 'c'.repeat(64);
  const ok = (changeCounter?: number): IntegrityResult => ({ status: 'ok', messages: [], durationMs: 1, ...(changeCounter !== undefined ? { changeCounter } : {}) });
  const diffDump = (changeCounter?: number): DumpResult => ({
    file: 'x',
    bytes: 1,
    identity: { engine: 'sqlite', name: 'commserv.db', details: { reconstructedSha256: IMAGE } },
    ...(changeCounter !== undefined ? { changeCounter } : {}),
  });
  const fullDump: DumpResult = { file: 'x', bytes: 1, identity: { engine: 'sqlite', name: 'commserv.db', details: {} } };

  /** An IntegrityCheck of a job of `backupType` whose check is started on `target` (engine calls answered at once). */
  function check(backupType: BackupType, target: 'dump' | 'live', engine: 'sqlite' | 'sqlserver' = 'sqlite', log = false): IntegrityCheck {
    const job = { backupType, logBase: log ? {} : undefined, timed: (_: string, fn: () => Promise<unknown>) => fn() } as unknown as Phase1Job;
    const fake = { engine, checkIntegrity: async () => ok() } as unknown as DatabaseEngine;
    const integrity = new IntegrityCheck(job, { engine: fake } as never);
    integrity.start(target === 'dump' ? 'dump-file' : undefined);
    return integrity;
  }

  it("a SQLite FULL's check of its dump covers the dump's content (the decompressed content for a compressed dump)", () => {
    expect(check(BackupType.Full, 'dump').coveredImage(ok(), fullDump, { name: 'commserv_FULL.dmp', role: 'database', size: 1, sha256: DUMP })).toBe(DUMP);
    const compressed = { name: 'commserv_FULL.dmp', role: 'database' as const, size: 1, sha256: DUMP, compression: { algorithm: 'brotli' as const, level: 5, contentSize: 2, contentSha256: CONTENT } };
    expect(check(BackupType.Full, 'dump').coveredImage(ok(), fullDump, compressed)).toBe(CONTENT);
  });

  it("a DIFFERENTIAL's check of the live database covers its reconstructed image only when both read the same state", () => {
    expect(check(BackupType.Differential, 'live').coveredImage(ok(7), diffDump(7), undefined)).toBe(IMAGE);
    expect(check(BackupType.Differential, 'live').coveredImage(ok(7), diffDump(8), undefined)).toBeUndefined();
    expect(check(BackupType.Differential, 'live').coveredImage(ok(), diffDump(7), undefined)).toBeUndefined();
    expect(check(BackupType.Differential, 'live').coveredImage(ok(7), diffDump(), undefined)).toBeUndefined();
  });

  it('nothing is covered otherwise: a failed check, a FULL checked live (a promoted DIFFERENTIAL), SQL Server, a LOG point', () => {
    const entry = { name: 'commserv_FULL.dmp', role: 'database' as const, size: 1, sha256: DUMP };
    expect(check(BackupType.Full, 'dump').coveredImage({ status: 'corrupt', messages: ['x'], durationMs: 1 }, fullDump, entry)).toBeUndefined();
    expect(check(BackupType.Full, 'live').coveredImage(ok(7), fullDump, entry)).toBeUndefined();
    expect(check(BackupType.Full, 'dump', 'sqlserver').coveredImage(ok(), fullDump, entry)).toBeUndefined();
    expect(check(BackupType.Log, 'live', 'sqlite', true).coveredImage(ok(7), diffDump(7), undefined)).toBeUndefined();
  });
});
