/**
 * The restore side of SQLite DIFFERENTIALs used by recovery (issue 10), on real SQLite: the SHA-256 of FULL + DIFF
 * computed from the FULL's bytes as they stream by (`DifferentialImageHasher`), and the DIFF applied in place to a
 * copy of the FULL (`applyDifferentialInPlace`) — byte-identical to the snapshot the DIFF was taken from, verified
 * before anything is written.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDifferentialInPlace, DifferentialImageHasher, readDifferentialHeader, writeDifferential } from '#agent/engines/sqlite/differential';
import { writePageHashes } from '#agent/engines/sqlite/page-hashes';
import { openSqliteEngine } from '#agent/engines/sqlite/sqlite-engine';
import { makeDatabase, snapshotOf, tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function dump(source: string, file: string): Promise<void> {
  const engine = openSqliteEngine(source);
  try {
    await engine.dumpFull(file);
  } finally {
    await engine.close();
  }
}

/** Feeds `bytes` to a new hasher in chunks of `chunk` bytes (the last one shorter). */
async function hashInChunks(diff: string, bytes: Buffer, chunk: number) {
  const hasher = await DifferentialImageHasher.open(diff, await readDifferentialHeader(diff));
  for (let at = 0; at < bytes.length; at += chunk) await hasher.update(bytes.subarray(at, Math.min(bytes.length, at + chunk)));
  return hasher.finish();
}

describe('DIFFERENTIAL applied in place, its result hashed while the FULL streams (real SQLite)', () => {
  const tempDir = useTempDirs('commserve-dr-inplace-');

  /** FULL (job 10) of a small database, its sidecar, then `change` applied to the database and a DIFF (job 11). */
  async function fullAndDiff(change: (db: Database.Database) => void) {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDatabase(db, 6000);
    const full = join(dir, 'commserv_FULL.dmp');
    await dump(db, full);
    const hashes = join(dir, 'commserv_FULL.pagehashes');
    await writePageHashes(full, hashes, { jobId: 10 });
    const conn = new Database(db);
    change(conn);
    conn.close();
    const diff = join(dir, 'commserv_DIFF_11.dmp');
    const result = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: diff, baseJobId: 10, jobId: 11 });
    const snapshot = join(dir, 'snapshot.db');
    await snapshotOf(db, snapshot); // what writeDifferential read (no live connection given)
    return { dir, db, full, diff, result, snapshot };
  }

  /** Name, change, and the page count of the result against the FULL's (-1 fewer, 0 same, 1 more). */
  const scenarios: Array<[string, (db: Database.Database) => void, number]> = [
    ['rows updated', (db) => db.exec("UPDATE clients SET note = 'changed' WHERE id % 50 = 0"), 0],
    ['database grown', (db) => db.exec("INSERT INTO clients (name, note) SELECT name || '-copy', note FROM clients"), 1],
    ['database shrunk (VACUUM)', (db) => db.exec('DELETE FROM clients WHERE id % 3 <> 0; VACUUM;'), -1],
  ];

  it.each(scenarios)('%s: the streamed SHA-256 of FULL + DIFF is the recorded one, whatever the chunk sizes', async (_name, change, growth) => {
    const { full, diff, result, snapshot } = await fullAndDiff(change);
    expect(Math.sign(result.pageCount - result.basePageCount)).toBe(growth);
    expect(sha(snapshot)).toBe(result.sha256);
    const bytes = readFileSync(full);
    for (const chunk of [1, 4095, 4096, 65_536, 1_000_003, bytes.length]) {
      if (chunk === 1 && bytes.length > 2_000_000) continue; // byte by byte only for small FULLs
      const hashed = await hashInChunks(diff, bytes, chunk);
      expect({ chunk, sha256: hashed.sha256, fullBytes: hashed.fullBytes }).toEqual({ chunk, sha256: result.sha256, fullBytes: bytes.length });
      expect(hashed.appliedPages).toBe(result.changedPages);
    }
  });

  it.each(scenarios)('%s: applied in place (with or without the streamed SHA-256), the copy becomes the snapshot byte for byte', async (_name, change) => {
    const { dir, db, full, diff, result, snapshot } = await fullAndDiff(change);
    const header = await readDifferentialHeader(diff);
    const fullBefore = sha(full);
    for (const precomputed of [undefined, result.sha256]) {
      const work = join(dir, `work-${precomputed ? 'streamed' : 'read'}.db`);
      copyFileSync(full, work);
      const applied = await applyDifferentialInPlace({ file: work, diffFile: diff, header, reconstructedSha256: precomputed });
      expect(applied).toMatchObject({ target: work, sha256: result.sha256, pageCount: result.pageCount, appliedPages: result.changedPages });
      expect(statSync(work).size).toBe(result.pageCount * result.pageSize);
      expect(readFileSync(work).equals(readFileSync(snapshot))).toBe(true);
      expect(tableDigests(work)).toEqual(tableDigests(db));
    }
    expect(sha(full)).toBe(fullBefore); // the FULL itself is never touched
  });

  it('refuses another FULL, a truncated FULL or a wrong SHA-256 before writing a byte', async () => {
    const { dir, full, diff } = await fullAndDiff((db) => db.exec("UPDATE clients SET note = 'changed' WHERE id % 20 = 0"));
    const header = await readDifferentialHeader(diff);

    // Another FULL of the same size (one byte changed in a page the DIFF does not replace).
    const other = join(dir, 'other.db');
    const bytes = readFileSync(full);
    const untouched = Array.from({ length: header.basePageCount }, (_, i) => i + 1).find((p) => p > 1 && !isReplaced(diff, header, p))!;
    bytes[(untouched - 1) * header.pageSize + 100] ^= 0xff;
    writeFileSync(other, bytes);
    const otherBefore = sha(other);
    await expect(applyDifferentialInPlace({ file: other, diffFile: diff, header })).rejects.toMatchObject({ code: 'DIFF_WRONG_BASE' });
    expect(sha(other)).toBe(otherBefore);
    // Streaming that other FULL gives a SHA-256 that is not the recorded one.
    expect((await hashInChunks(diff, bytes, 65_536)).sha256).not.toBe(header.sha256);

    // A truncated FULL.
    const short = join(dir, 'short.db');
    writeFileSync(short, readFileSync(full).subarray(0, header.pageSize * (header.basePageCount - 1)));
    await expect(applyDifferentialInPlace({ file: short, diffFile: diff, header })).rejects.toMatchObject({ code: 'DIFF_WRONG_BASE' });
    const hasher = await DifferentialImageHasher.open(diff, header);
    await hasher.update(readFileSync(short));
    await expect(hasher.finish()).rejects.toMatchObject({ code: 'DIFF_WRONG_BASE' });

    // The right FULL with a wrong streamed SHA-256: nothing written.
    const work = join(dir, 'work.db');
    copyFileSync(full, work);
    await expect(applyDifferentialInPlace({ file: work, diffFile: diff, header, reconstructedSha256: 'f'.repeat(64) })).rejects.toMatchObject({ code: 'RESTORE_VERIFY_FAILED' });
    expect(sha(work)).toBe(sha(full));
  });
});

/** Whether the DIFF has a record for page `page` (independent parser). */
function isReplaced(diff: string, header: { pageSize: number; records: number }, page: number): boolean {
  const b = readFileSync(diff);
  for (let i = 0; i < header.records; i++) if (b.readUInt32BE(128 + i * (4 + header.pageSize)) === page) return true;
  return false;
}
