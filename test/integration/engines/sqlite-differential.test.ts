/**
 * SQLite DIFFERENTIAL dumps against real SQLite: page-hash sidecar, DIFF writing (exactly the changed
 * pages, cumulative), FULL + DIFF restore (byte-identical, verified), and refusal of bad input.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteEngine, readSqliteHeader } from '#agent/engines/sqlite/sqlite-engine';
import { pageEntry, readPageHashes, writePageHashes } from '#agent/engines/sqlite/page-hashes';
import {
  compareDatabaseIdentity,
  databaseIdentity,
  readDifferentialHeader,
  restoreFullPlusDifferential,
  writeDifferential,
} from '#agent/engines/sqlite/differential';
import { snapshotOf, tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const HEADER = 128;
const TRAILER = 32;

/** A CommServe-like database of ~8 MB: several tables with indexes, deterministic content. */
function makeDb(path: string, options: { pageSize?: number; wal?: boolean; jobs?: number; seed?: number } = {}): void {
  const { pageSize = 4096, wal = false, jobs = 40_000, seed = 1 } = options;
  const db = new Database(path);
  db.pragma(`page_size = ${pageSize}`);
  if (wal) db.pragma('journal_mode = WAL');
  db.pragma('application_id = 1129530450');
  db.exec(`
    CREATE TABLE clients (id INTEGER PRIMARY KEY, name TEXT NOT NULL, os TEXT, note TEXT);
    CREATE INDEX clients_name ON clients(name);
    CREATE TABLE jobs (id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL, status TEXT NOT NULL, start_time INTEGER, end_time INTEGER, bytes INTEGER, note TEXT);
    CREATE INDEX jobs_client ON jobs(client_id, start_time);
    CREATE INDEX jobs_status ON jobs(status);
    CREATE TABLE events (id INTEGER PRIMARY KEY, job_id INTEGER, severity INTEGER, message TEXT);
    CREATE INDEX events_job ON events(job_id);`);
  const c = db.prepare('INSERT INTO clients (name, os, note) VALUES (?, ?, ?)');
  const j = db.prepare('INSERT INTO jobs (client_id, status, start_time, end_time, bytes, note) VALUES (?, ?, ?, ?, ?, ?)');
  const e = db.prepare('INSERT INTO events (job_id, severity, message) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 2000; i++) c.run(`client-${seed}-${i}.corp.example`, i % 3 ? 'Linux' : 'Windows', 'n'.repeat(40 + (i % 50)));
    for (let i = 0; i < jobs; i++) {
      j.run((i * 7919) % 2000 + 1, ['Completed', 'Failed', 'Running'][i % 3], 1_700_000_000 + i * 60, 1_700_000_000 + i * 60 + 300, i * 1013, `job ${seed}/${i} ${'j'.repeat(i % 40)}`);
      e.run(i + 1, i % 4, `event for job ${i}: ${'e'.repeat(20 + (i % 30))}`);
    }
  })();
  db.close();
}

/** About 1 % of the rows updated, some inserted, some deleted. */
function mutate(path: string, round = 1): void {
  const db = new Database(path);
  db.transaction(() => {
    const n = (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    const upd = db.prepare("UPDATE jobs SET status = 'Aged', end_time = end_time + ? WHERE id = ?");
    for (let k = 0; k < n / 100; k++) upd.run(round, ((k * 104729 + round * 31) % n) + 1);
    const ins = db.prepare('INSERT INTO events (job_id, severity, message) VALUES (?, 2, ?)');
    for (let k = 0; k < 300; k++) ins.run(k, `round ${round} new event ${k}`);
    db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 200 OFFSET ?)').run(round * 1000);
  })();
  db.close();
}

async function fullDump(source: string, file: string): Promise<void> {
  const engine = openSqliteEngine(source);
  try {
    await engine.dumpFull(file);
  } finally {
    await engine.close();
  }
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Independent parser of a DIFF: header fields and the page numbers of its records. */
function parseDiff(file: string) {
  const b = readFileSync(file);
  const pageSize = b.readUInt32BE(12);
  const records = b.readUInt32BE(72);
  const pages: number[] = [];
  for (let i = 0; i < records; i++) pages.push(b.readUInt32BE(HEADER + i * (4 + pageSize)));
  return { magic: b.toString('latin1', 0, 8), pageSize, basePageCount: b.readUInt32BE(16), pageCount: b.readUInt32BE(20), records, pages, size: b.length };
}

/** Pages (1-based) of `after` that differ from `before` or lie beyond it. */
function differingPages(before: string, after: string, pageSize: number): number[] {
  const a = readFileSync(before);
  const b = readFileSync(after);
  const out: number[] = [];
  for (let p = 0; p < b.length / pageSize; p++) {
    const s = p * pageSize;
    if (s >= a.length || !a.subarray(s, s + pageSize).equals(b.subarray(s, s + pageSize))) out.push(p + 1);
  }
  return out;
}

function integrity(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string);
  } finally {
    db.close();
  }
}

describe('SQLite DIFFERENTIAL (real SQLite)', () => {
  const tempDir = useTempDirs('commserve-dr-diff-');

  /** A database with a FULL (job 10) and its sidecar. */
  async function withFull(options: Parameters<typeof makeDb>[1] = {}) {
    const dir = tempDir();
    const db = join(dir, 'commserv.db');
    makeDb(db, options);
    const full = join(dir, 'commserv_FULL.dmp');
    await fullDump(db, full);
    const hashes = join(dir, 'commserv_FULL.pagehashes');
    const written = await writePageHashes(full, hashes, { jobId: 10 });
    return { dir, db, full, hashes, written };
  }

  it('writes a page-hash sidecar of the FULL and refuses a truncated, bit-flipped or foreign one', async () => {
    const { dir, full, hashes, written } = await withFull();
    const { pageSize, pageCount } = readSqliteHeader(full);
    // Version 2: 40 bytes per page, the page's XXH64 (checked against xxhash-wasm in sqlite-log-fast.test.ts) then its SHA-256.
    expect(written).toMatchObject({ pageSize, pageCount, bytes: 128 + 40 * pageCount, dumpSha256: sha(full) });
    expect(statSync(hashes).size).toBe(written.bytes);
    const header = await readPageHashes(hashes);
    expect(header).toMatchObject({ version: 2, algorithm: 2, digestBytes: 40, pageSize, pageCount, jobId: 10, dumpSha256: sha(full), dumpBytes: pageSize * pageCount });
    const raw = readFileSync(hashes);
    expect(raw.toString('latin1', 0, 8)).toBe('CSDRPH01');
    const dump = readFileSync(full);
    for (const p of [0, 1, pageCount - 1]) {
      const page = dump.subarray(p * pageSize, (p + 1) * pageSize);
      expect(raw.subarray(96 + 40 * p + 8, 96 + 40 * (p + 1)).equals(createHash('sha256').update(page).digest())).toBe(true);
      expect(raw.subarray(96 + 40 * p, 96 + 40 * (p + 1)).equals(pageEntry(page))).toBe(true);
    }

    const truncated = join(dir, 'truncated.pagehashes');
    writeFileSync(truncated, raw.subarray(0, raw.length - 100));
    await expect(readPageHashes(truncated)).rejects.toMatchObject({ code: 'PAGE_HASHES_INVALID', message: expect.stringContaining('truncated') });
    const flipped = join(dir, 'flipped.pagehashes');
    const copy = Buffer.from(raw);
    copy[96 + 40 * 5] ^= 0x01;
    writeFileSync(flipped, copy);
    await expect(readPageHashes(flipped)).rejects.toMatchObject({ code: 'PAGE_HASHES_INVALID', message: expect.stringContaining('corrupt') });
    const foreign = join(dir, 'foreign.pagehashes');
    writeFileSync(foreign, Buffer.concat([Buffer.from('NOTMAGIC'), raw.subarray(8)]));
    await expect(readPageHashes(foreign)).rejects.toMatchObject({ code: 'PAGE_HASHES_INVALID', message: expect.stringContaining('magic') });
    await expect(readPageHashes(join(dir, 'missing'))).rejects.toMatchObject({ code: 'PAGE_HASHES_INVALID' });
  });

  it('DIFF holds exactly the changed pages, and FULL + DIFF restores a byte-identical, consistent database', async () => {
    const { dir, db, full, hashes } = await withFull();
    const { pageSize, pageCount: basePages } = readSqliteHeader(full);
    expect(basePages * pageSize).toBeGreaterThan(5 * 1024 * 1024);
    mutate(db);
    const out = join(dir, 'commserv_DIFF_11.dmp');
    const result = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: out, baseJobId: 10, jobId: 11 });

    const fresh = join(dir, 'fresh.db');
    await snapshotOf(db, fresh);
    const expectedPages = differingPages(full, fresh, pageSize);
    const parsed = parseDiff(out);
    expect(parsed.magic).toBe('CSDRDF01');
    expect(parsed.pages).toEqual(expectedPages);
    expect(result).toMatchObject({ file: out, changedPages: expectedPages.length, pageSize, pageCount: statSync(fresh).size / pageSize, basePageCount: basePages, sha256: sha(fresh), bytes: statSync(out).size });
    expect(result.changedPages).toBeGreaterThan(0);
    expect(result.changedPages).toBeLessThan(basePages / 2);
    expect(result.bytes).toBeLessThanOrEqual(result.changedPages * (pageSize + 4) + HEADER + TRAILER);
    expect(await readDifferentialHeader(out)).toMatchObject({ version: 1, baseJobId: 10, jobId: 11, records: expectedPages.length, baseSha256: sha(full), sha256: sha(fresh) });
    // Only the DIFF is left next to the sources: no snapshot or partial file.
    expect(readdirSync(dir).sort()).toEqual(['commserv.db', 'commserv_DIFF_11.dmp', 'commserv_FULL.dmp', 'commserv_FULL.pagehashes', 'fresh.db']);

    const before = { full: sha(full), diff: sha(out), hashes: sha(hashes) };
    const target = join(dir, 'restored.db');
    const restored = await restoreFullPlusDifferential({ fullDump: full, diffFile: out, baseHashesFile: hashes, fullJobId: 10, target });
    expect(restored).toMatchObject({ target, sha256: sha(fresh), appliedPages: expectedPages.length, pageSize });
    expect(readFileSync(target).equals(readFileSync(fresh))).toBe(true);
    expect(integrity(target)).toBe('ok');
    expect(tableDigests(target)).toEqual(tableDigests(db));
    expect({ full: sha(full), diff: sha(out), hashes: sha(hashes) }).toEqual(before);
    expect(existsSync(`${target}.partial`)).toBe(false);
  });

  it('is cumulative: the second DIFF alone restores the latest state', async () => {
    const { dir, db, full, hashes } = await withFull();
    const { pageSize } = readSqliteHeader(full);
    mutate(db, 1);
    const diff1 = join(dir, 'commserv_DIFF_11.dmp');
    await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: diff1, baseJobId: 10, jobId: 11 });
    const state1 = join(dir, 'state1.db');
    await snapshotOf(db, state1);
    mutate(db, 2);
    const diff2 = join(dir, 'commserv_DIFF_12.dmp');
    const r2 = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: diff2, baseJobId: 10, jobId: 12 });
    const state2 = join(dir, 'state2.db');
    await snapshotOf(db, state2);

    // Relative to the FULL, not to DIFF 1: every page changed in either round is in DIFF 2.
    expect(parseDiff(diff2).pages).toEqual(differingPages(full, state2, pageSize));
    const pages1 = new Set(parseDiff(diff1).pages);
    expect(parseDiff(diff2).pages.filter((p) => pages1.has(p)).length).toBeGreaterThan(0);
    expect(r2.changedPages).toBeGreaterThanOrEqual(pages1.size);

    await restoreFullPlusDifferential({ fullDump: full, diffFile: diff2, target: join(dir, 'r2.db') });
    expect(readFileSync(join(dir, 'r2.db')).equals(readFileSync(state2))).toBe(true);
    await restoreFullPlusDifferential({ fullDump: full, diffFile: diff1, target: join(dir, 'r1.db') });
    expect(readFileSync(join(dir, 'r1.db')).equals(readFileSync(state1))).toBe(true);
    expect(integrity(join(dir, 'r2.db'))).toBe('ok');
  });

  it('handles a database that grew, then shrank below the FULL (VACUUM)', async () => {
    const { dir, db, full, hashes } = await withFull({ jobs: 20_000 });
    const { pageSize, pageCount: basePages } = readSqliteHeader(full);
    const conn = new Database(db);
    conn.exec(`INSERT INTO events (job_id, severity, message) SELECT job_id, severity, message || ' copy' FROM events`);
    conn.close();
    const grown = join(dir, 'commserv_DIFF_11.dmp');
    const r1 = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: grown, baseJobId: 10, jobId: 11 });
    expect(r1.pageCount).toBeGreaterThan(basePages);
    const p1 = parseDiff(grown);
    for (let p = basePages + 1; p <= r1.pageCount; p++) expect(p1.pages).toContain(p);
    await restoreFullPlusDifferential({ fullDump: full, diffFile: grown, baseHashesFile: hashes, target: join(dir, 'grown.db') });
    expect(tableDigests(join(dir, 'grown.db'))).toEqual(tableDigests(db));

    const conn2 = new Database(db);
    conn2.exec('DELETE FROM events WHERE id % 4 <> 0; DELETE FROM jobs WHERE id % 2 = 0; VACUUM;');
    conn2.close();
    const shrunk = join(dir, 'commserv_DIFF_12.dmp');
    const r2 = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: shrunk, baseJobId: 10, jobId: 12 });
    expect(r2.pageCount).toBeLessThan(basePages);
    expect(parseDiff(shrunk)).toMatchObject({ basePageCount: basePages, pageCount: r2.pageCount });
    const target = join(dir, 'shrunk.db');
    await restoreFullPlusDifferential({ fullDump: full, diffFile: shrunk, baseHashesFile: hashes, target });
    expect(statSync(target).size).toBe(r2.pageCount * pageSize);
    const fresh = join(dir, 'fresh.db');
    await snapshotOf(db, fresh);
    expect(readFileSync(target).equals(readFileSync(fresh))).toBe(true);
    expect(integrity(target)).toBe('ok');
    expect(tableDigests(target)).toEqual(tableDigests(db));
  });

  it('takes a consistent DIFF of a WAL-mode database with uncheckpointed changes', async () => {
    const { dir, db, full, hashes } = await withFull({ wal: true });
    expect(readFileSync(full)[18]).toBe(1); // the FULL was converted out of WAL
    const writer = new Database(db);
    writer.pragma('wal_autocheckpoint = 0');
    writer.prepare("UPDATE jobs SET status = 'Aged' WHERE id % 97 = 0").run();
    writer.prepare("INSERT INTO clients (name) VALUES ('new-client.corp.example')").run();
    expect(statSync(`${db}-wal`).size).toBeGreaterThan(0);
    try {
      const out = join(dir, 'commserv_DIFF_11.dmp');
      const result = await writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: out, baseJobId: 10, jobId: 11 });
      const target = join(dir, 'restored.db');
      await restoreFullPlusDifferential({ fullDump: full, diffFile: out, baseHashesFile: hashes, target });
      expect(result.sha256).toBe(sha(target));
      expect(readFileSync(target)[18]).toBe(1);
      expect(integrity(target)).toBe('ok');
      expect(tableDigests(target)).toEqual(tableDigests(db));
      expect(readdirSync(dir).filter((f) => f.includes('snapshot'))).toEqual([]);
    } finally {
      writer.close();
    }
  });

  it('exposes the database identity so a replaced database can be detected', async () => {
    const { dir, db } = await withFull();
    const id = databaseIdentity(db);
    expect(id).toMatchObject({ pageSize: 4096, applicationId: 1129530450, textEncoding: 1, userVersion: 0 });
    const other = join(dir, 'other.db');
    makeDb(other, { pageSize: 8192, jobs: 100 });
    const changes = compareDatabaseIdentity(id, databaseIdentity(other));
    expect(changes).toEqual([{ field: 'pageSize', base: 4096, current: 8192, replaced: true }]);
    const conn = new Database(other);
    conn.pragma('user_version = 3');
    conn.close();
    expect(compareDatabaseIdentity(id, databaseIdentity(other)).map((c) => c.field)).toEqual(['pageSize', 'userVersion']);
  });

  describe('bad input', () => {
    /** FULL (job 10) + sidecar + one DIFF (job 11), and the hashes of all three. */
    async function setup() {
      const base = await withFull({ jobs: 15_000 });
      mutate(base.db);
      const diff = join(base.dir, 'commserv_DIFF_11.dmp');
      await writeDifferential({ sourceDb: base.db, baseHashesFile: base.hashes, outFile: diff, baseJobId: 10, jobId: 11 });
      return { ...base, diff };
    }

    async function expectRefused(options: Parameters<typeof restoreFullPlusDifferential>[0], code: string, message: RegExp) {
      const sources = [options.fullDump, options.diffFile, options.baseHashesFile].filter((f): f is string => f !== undefined);
      const before = sources.map(sha);
      await expect(restoreFullPlusDifferential(options)).rejects.toMatchObject({ name: 'DatabaseError', code, message: expect.stringMatching(message) });
      expect(existsSync(options.target)).toBe(false);
      expect(existsSync(`${options.target}.partial`)).toBe(false);
      expect(sources.map(sha)).toEqual(before);
    }

    it('refuses a truncated or bit-flipped DIFF before writing the target', async () => {
      const { dir, full, hashes, diff } = await setup();
      const raw = readFileSync(diff);
      const truncated = join(dir, 'truncated.dmp');
      writeFileSync(truncated, raw.subarray(0, raw.length - 1000));
      await expectRefused({ fullDump: full, diffFile: truncated, baseHashesFile: hashes, target: join(dir, 't1.db') }, 'DIFF_CORRUPT', /truncated/);
      const cut = join(dir, 'cut.dmp');
      writeFileSync(cut, raw.subarray(0, 60));
      await expectRefused({ fullDump: full, diffFile: cut, target: join(dir, 't2.db') }, 'DIFF_CORRUPT', /truncated/);
      for (const offset of [HEADER + 4 + 100, 20, raw.length - 5]) {
        const flipped = join(dir, `flipped-${offset}.dmp`);
        const copy = Buffer.from(raw);
        copy[offset] ^= 0x10;
        writeFileSync(flipped, copy);
        await expectRefused({ fullDump: full, diffFile: flipped, target: join(dir, `t-${offset}.db`) }, 'DIFF_CORRUPT', /trailer SHA-256/);
      }
      await expectRefused({ fullDump: full, diffFile: full, target: join(dir, 't3.db') }, 'DIFF_CORRUPT', /bad magic/);
    });

    it('refuses a DIFF applied to the wrong FULL (other job id, other content, damaged FULL)', async () => {
      const { dir, full, hashes, diff } = await setup();
      await expectRefused({ fullDump: full, diffFile: diff, fullJobId: 12, target: join(dir, 'a.db') }, 'DIFF_WRONG_BASE', /FULL job 10, the FULL is job 12/);
      const otherHashes = join(dir, 'other.pagehashes');
      await writePageHashes(full, otherHashes, { jobId: 12 });
      await expectRefused({ fullDump: full, diffFile: diff, baseHashesFile: otherHashes, target: join(dir, 'b.db') }, 'DIFF_WRONG_BASE', /against FULL job 10, the FULL is job 12/);

      // Another FULL of the same database, same page count, different content.
      const alt = join(dir, 'alt.db');
      writeFileSync(alt, readFileSync(full));
      const conn = new Database(alt);
      conn.prepare('UPDATE clients SET note = upper(note) WHERE id = 5').run();
      conn.close();
      const otherFull = join(dir, 'other_FULL.dmp');
      await fullDump(alt, otherFull);
      expect(statSync(otherFull).size).toBe(statSync(full).size);
      await expectRefused({ fullDump: otherFull, diffFile: diff, target: join(dir, 'c.db') }, 'DIFF_WRONG_BASE', /not the DIFF's base/);
      const otherFullHashes = join(dir, 'other_FULL.pagehashes');
      await writePageHashes(otherFull, otherFullHashes, { jobId: 10 });
      await expectRefused({ fullDump: otherFull, diffFile: diff, baseHashesFile: otherFullHashes, target: join(dir, 'd.db') }, 'DIFF_WRONG_BASE', /another FULL/);

      // Another database altogether.
      const foreignDb = join(dir, 'foreign.db');
      makeDb(foreignDb, { jobs: 5000, seed: 9 });
      const foreignFull = join(dir, 'foreign_FULL.dmp');
      await fullDump(foreignDb, foreignFull);
      await expectRefused({ fullDump: foreignFull, diffFile: diff, target: join(dir, 'e.db') }, 'DIFF_WRONG_BASE', /does not apply/);

      // The right FULL, damaged (one bit): with the sidecar it is named as damaged.
      const damaged = join(dir, 'damaged_FULL.dmp');
      const bytes = readFileSync(full);
      bytes[bytes.length - 3000] ^= 0x04;
      writeFileSync(damaged, bytes);
      await expectRefused({ fullDump: damaged, diffFile: diff, baseHashesFile: hashes, target: join(dir, 'f.db') }, 'FULL_CORRUPT', /damaged/);
      await expectRefused({ fullDump: damaged, diffFile: diff, target: join(dir, 'g.db') }, 'DIFF_WRONG_BASE', /damaged/);
      const short = join(dir, 'short_FULL.dmp');
      writeFileSync(short, readFileSync(full).subarray(0, statSync(full).size - 4096));
      await expectRefused({ fullDump: short, diffFile: diff, baseHashesFile: hashes, target: join(dir, 'h.db') }, 'FULL_CORRUPT', /truncated/);
    });

    it('refuses a page-size mismatch, and promotes (DIFF_BASE_MISMATCH) on a changed page size or unusable base', async () => {
      const { dir, db, full, hashes, diff } = await setup();
      const big = join(dir, 'big.db');
      makeDb(big, { pageSize: 8192, jobs: 5000 });
      const bigFull = join(dir, 'big_FULL.dmp');
      await fullDump(big, bigFull);
      expect(readSqliteHeader(bigFull).pageSize).toBe(8192);
      await expectRefused({ fullDump: bigFull, diffFile: diff, target: join(dir, 'a.db') }, 'DIFF_PAGE_SIZE_MISMATCH', /4096-byte pages .* 8192-byte pages/);

      // DIFF of an 8 KiB-page database against the 4 KiB FULL: promote to FULL.
      const out = join(dir, 'commserv_DIFF_13.dmp');
      await expect(writeDifferential({ sourceDb: big, baseHashesFile: hashes, outFile: out, baseJobId: 10, jobId: 13 })).rejects.toMatchObject({
        code: 'DIFF_BASE_MISMATCH', message: expect.stringContaining('page size changed'),
      });
      // Unusable sidecar, or one of another FULL job.
      const broken = join(dir, 'broken.pagehashes');
      writeFileSync(broken, readFileSync(hashes).subarray(0, 200));
      await expect(writeDifferential({ sourceDb: db, baseHashesFile: broken, outFile: out, baseJobId: 10, jobId: 13 })).rejects.toMatchObject({ code: 'DIFF_BASE_MISMATCH' });
      await expect(writeDifferential({ sourceDb: db, baseHashesFile: join(dir, 'none'), outFile: out, baseJobId: 10, jobId: 13 })).rejects.toMatchObject({ code: 'DIFF_BASE_MISMATCH' });
      await expect(writeDifferential({ sourceDb: db, baseHashesFile: hashes, outFile: out, baseJobId: 9, jobId: 13 })).rejects.toMatchObject({
        code: 'DIFF_BASE_MISMATCH', message: expect.stringContaining('FULL job 10'),
      });
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes('snapshot') || f.endsWith('.partial'))).toEqual([]);
      // A source that is not a database: snapshot failure, nothing left behind.
      const notDb = join(dir, 'not.db');
      writeFileSync(notDb, 'x'.repeat(5000));
      await expect(writeDifferential({ sourceDb: notDb, baseHashesFile: hashes, outFile: out, baseJobId: 10, jobId: 13 })).rejects.toMatchObject({ code: 'DIFF_SNAPSHOT_FAILED' });
      expect(readdirSync(dir).filter((f) => f.includes('snapshot') || f.endsWith('.partial'))).toEqual([]);
      expect(existsSync(out)).toBe(false);
      // Restoring onto a source is refused.
      await expect(restoreFullPlusDifferential({ fullDump: full, diffFile: diff, target: full })).rejects.toMatchObject({ code: 'RESTORE_WRITE_FAILED' });
    });
  });
});
