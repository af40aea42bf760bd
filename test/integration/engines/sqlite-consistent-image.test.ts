/**
 * Where a DIFFERENTIAL reads the live database from (issue 20 item 2, `consistent-image.ts`), on real SQLite through
 * the engine: a rollback-journal database is read in place under a read transaction (no snapshot file; no writer can
 * commit until every page is read, and can right after); a WAL database is read from a snapshot (writers commit
 * meanwhile, the DIFF is the database as of the snapshot). Each DIFF is restored onto its FULL and compared.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { openSqliteEngine, PAGE_HASHES_FILE, type SqliteEngine } from '#agent/engines/sqlite/sqlite-engine';
import type { DifferentialBase } from '#agent/engines/types';
import { parseManifest, type ManifestInput } from '#core/manifest';
import { setName } from '#core/set-id';
import { makeDatabase, tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A FULL (job 1) of `db` by the engine, with its page hashes, as the DIFFERENTIAL's base. */
async function fullBase(engine: SqliteEngine, dir: string): Promise<DifferentialBase & { dump: string }> {
  const setDir = join(dir, setName(1));
  mkdirSync(setDir, { recursive: true });
  const dump = join(setDir, 'commserv_FULL.dmp');
  const full = await engine.dumpFull(dump);
  const cycle = await engine.prepareCycle(dump, setDir, 1);
  const now = new Date().toISOString();
  const manifest = {
    formatVersion: 1, product: 'commserve-dr', jobId: 1, setName: setName(1), backupType: 'FULL', cycleId: 1, baseFullSet: null,
    startTime: now, endTime: now, agentVersion: 'test', hostname: 'test',
    database: { ...full.identity, details: cycle.details }, integrity: { status: 'skipped', messages: [], durationMs: 0 },
    registry: { store: 'none', exportedKeys: [], missingKeys: [] }, firewall: { present: [], missing: [] },
    files: [
      { name: 'commserv_FULL.dmp', role: 'database', size: full.bytes, sha256: sha(dump) },
      { name: PAGE_HASHES_FILE, role: 'sidecar', size: 1, sha256: '0'.repeat(64) },
    ],
  } satisfies ManifestInput;
  return { manifest: parseManifest(JSON.stringify(manifest)), setDir, dump };
}

/** Tries one committed write from another connection that does not wait for locks. */
function tryWrite(db: string, note: string): 'committed' | string {
  const other = new Database(db);
  try {
    other.pragma('busy_timeout = 0');
    other.prepare('UPDATE clients SET note = ? WHERE id = 1').run(note);
    return 'committed';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    other.close();
  }
}

describe('FULL and DIFFERENTIAL source: in place under a read lock, or an online backup for WAL (real SQLite)', () => {
  const tempDir = useTempDirs('commserve-dr-image-');

  it('FULL of a rollback-journal database: a byte copy of the live file read in place; writers cannot commit until it is copied, and can right after', async () => {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDatabase(db, 8000);
    const engine = openSqliteEngine(db);
    try {
      const writes: string[] = [];
      const dump = join(dir, 'commserv_FULL.dmp');
      const full = await engine.dumpFull(dump, (done, total) => {
        if (done < total) writes.push(tryWrite(db, 'written during the FULL'));
      });
      expect(writes.length).toBeGreaterThan(0);
      expect(new Set(writes)).toEqual(new Set(['SQLITE_BUSY']));
      expect(sha(dump)).toBe(sha(db));
      expect(full.bytes).toBe(full.identity.pageCount! * full.identity.pageSize!);
      expect(await engine.checkIntegrity(dump)).toMatchObject({ status: 'ok' });
      expect(tryWrite(db, 'written after the FULL')).toBe('committed');
      expect(tableDigests(dump)).not.toEqual(tableDigests(db));
    } finally {
      await engine.close();
    }
  });

  it('FULL of a WAL database: an online backup (writers commit meanwhile), the dump a self-contained rollback-journal file', async () => {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDatabase(db, 8000);
    const wal = new Database(db);
    wal.pragma('journal_mode = WAL');
    wal.exec("UPDATE clients SET note = 'only in the WAL' WHERE id % 7 = 0");
    const expected = tableDigests(db);
    const engine = openSqliteEngine(db);
    try {
      const dump = join(dir, 'commserv_FULL.dmp');
      await engine.dumpFull(dump);
      expect(readFileSync(dump).subarray(18, 20)).toEqual(Buffer.from([1, 1]));
      expect(tableDigests(dump)).toEqual(expected);
    } finally {
      await engine.close();
      wal.close();
    }
  });

  it('rollback-journal database: read in place (no snapshot file), writers cannot commit until every page is read, FULL + DIFF = the live file byte for byte', async () => {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDatabase(db, 8000); // several 1 MiB chunks, so progress is reported mid-read
    const engine = openSqliteEngine(db);
    try {
      const base = await fullBase(engine, dir);
      new Database(db).exec("UPDATE clients SET note = 'changed since the FULL' WHERE id % 40 = 0").close();
      const setDir = join(dir, setName(2));
      mkdirSync(setDir);
      const duringRead: Array<{ write: string; snapshots: string[] }> = [];
      const diff = await engine.dumpDifferential(base, join(setDir, 'commserv_DIFF_2.dmp'), 2, (done, total) => {
        if (done < total) duringRead.push({ write: tryWrite(db, 'written during the read'), snapshots: readdirSync(setDir).filter((f) => f.endsWith('.snapshot')) });
      });
      expect(duringRead.length).toBeGreaterThan(0);
      for (const seen of duringRead) expect(seen).toEqual({ write: 'SQLITE_BUSY', snapshots: [] });
      // The reconstructed database is the live file as it was read (nothing could commit meanwhile).
      expect(diff.identity.details.reconstructedSha256).toBe(sha(db));
      const restored = join(dir, 'restored.db');
      await restoreFullPlusDifferential({ fullDump: base.dump, diffFile: diff.file, baseHashesFile: join(base.setDir, PAGE_HASHES_FILE), target: restored, fullJobId: 1 });
      expect(sha(restored)).toBe(sha(db));
      expect(tableDigests(restored)).toEqual(tableDigests(db));
      // The read lock ended with the read: the next write commits.
      expect(tryWrite(db, 'written after the DIFF')).toBe('committed');
    } finally {
      await engine.close();
    }
  });

  it('WAL database: read from a snapshot, writers commit during the DIFF, and the DIFF is the database as of the snapshot', async () => {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDatabase(db, 8000);
    const wal = new Database(db);
    wal.pragma('journal_mode = WAL');
    const engine = openSqliteEngine(db);
    try {
      const base = await fullBase(engine, dir);
      wal.exec("UPDATE clients SET note = 'changed since the FULL' WHERE id % 40 = 0");
      const asOfDiff = tableDigests(db);
      const setDir = join(dir, setName(2));
      mkdirSync(setDir);
      const writes: string[] = [];
      const diff = await engine.dumpDifferential(base, join(setDir, 'commserv_DIFF_2.dmp'), 2, (done, total) => {
        if (done < total) writes.push(tryWrite(db, `written during the DIFF ${writes.length}`));
      });
      expect(writes.length).toBeGreaterThan(0);
      expect(writes.every((w) => w === 'committed')).toBe(true);
      const restored = join(dir, 'restored.db');
      await restoreFullPlusDifferential({ fullDump: base.dump, diffFile: diff.file, baseHashesFile: join(base.setDir, PAGE_HASHES_FILE), target: restored, fullJobId: 1 });
      expect(tableDigests(restored)).toEqual(asOfDiff);
      expect(tableDigests(db)).not.toEqual(asOfDiff); // the writes made during the DIFF are in the live database only
      expect(readdirSync(setDir).filter((f) => f.includes('.snapshot'))).toEqual([]);
    } finally {
      await engine.close();
      wal.close();
    }
  });
});
