/** SQLite helpers for tests: content hashes of every table, and deliberate corruption. */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { backupInto, convertOutOfWal } from '#agent/engines/sqlite/differential';
import { setName } from '#core/set-id';

/** Row count and SHA-256 of the rows (ordered by rowid or all columns) of every user table. */
export function tableDigests(path: string): Record<string, { rows: number; sha256: string }> {
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const { name } of tables) {
      const hash = createHash('sha256');
      let rows = 0;
      for (const row of db.prepare(`SELECT * FROM "${name}" ORDER BY 1, 2`).iterate()) {
        hash.update(JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v)));
        rows++;
      }
      out[name] = { rows, sha256: hash.digest('hex') };
    }
    return out;
  } finally {
    db.close();
  }
}

/** Small database with one indexed table of `rows` rows. */
export function makeDatabase(path: string, rows = 2000): void {
  const db = new Database(path);
  db.exec('CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT); CREATE INDEX clients_name ON clients(name);');
  const insert = db.prepare('INSERT INTO clients (name, note) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(`client-${i}.corp.example`, 'x'.repeat(200));
  })();
  db.close();
}

/** Damages the b-tree page `page` (1-based) by overwriting its cell-pointer area with garbage. */
export function corruptPage(path: string, page: number, pageSize = 4096): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (page - 1) * pageSize + 8);
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether two databases hold the same rows: `sqldiff` (Debian `sqlite3-tools`) prints nothing when they do; without
 * sqldiff, every table's rows are compared by {@link tableDigests}.
 * @returns `''` when equal, else what differs (sqldiff's SQL, or the tables whose digests differ).
 */
export function rowDifferences(a: string, b: string): string {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const run = spawnSync('sqldiff', [a, b], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (!run.error) {
    if (run.status !== 0) return `sqldiff failed (${run.status}): ${run.stderr}`;
    return run.stdout.trim();
  }
  const da = tableDigests(a);
  const db = tableDigests(b);
  const names = [...new Set([...Object.keys(da), ...Object.keys(db)])].filter((n) => JSON.stringify(da[n]) !== JSON.stringify(db[n]));
  return names.length ? `tables differ: ${names.join(', ')}` : '';
}

/**
 * The database as `writeDifferential` sees it without a live connection: an online-backup snapshot, out of WAL mode.
 * (The engine's FULL is a byte copy of the live file instead, whose header change counter differs from a backup's.)
 */
export async function snapshotOf(source: string, file: string): Promise<void> {
  await backupInto(source, file);
  convertOutOfWal(file);
}

/**
 * Saves the source database `db` as it is now (SQLite online backup) for "the source at point n": `save(n)` writes
 * `<dir>/source-at/<SET name of n>.db` and returns its path.
 */
export function sourceSaver(db: string, dir: string): (n: number) => Promise<string> {
  mkdirSync(join(dir, 'source-at'), { recursive: true });
  return async (n) => {
    const copy = new Database(db, { readonly: true });
    const path = join(dir, 'source-at', `${setName(n)}.db`);
    await copy.backup(path);
    copy.close();
    return path;
  };
}
