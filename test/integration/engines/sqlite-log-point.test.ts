/**
 * SQLite LOG points against real SQLite (issue 17): each LOG holds the pages changed since the previous point
 * (FULL, DIFFERENTIAL or LOG), its overlay lets the next LOG know the previous page state, and FULL (+ DIFF) + the
 * LOG chain rebuilds each point exactly (SHA-256, and sqldiff-equal when sqldiff is installed, else table digests).
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readSqliteHeader } from '#agent/engines/sqlite/sqlite-engine';
import { writePageHashes } from '#agent/engines/sqlite/page-hashes';
import { readDifferentialHeader, restoreFullPlusDifferential, writeDifferential } from '#agent/engines/sqlite/differential';
import { applyLogChainInPlace, readLogOverlayHeader, writeLogPoint, type LogPredecessor } from '#agent/engines/sqlite/log-point';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * The page-digest root of a database file, computed here independently of page-digester.ts: SHA-256 over 'CSDRPR01',
 * page size and page count (uint32 BE), then the SHA-256 of every page.
 */
function pageRoot(file: string): string {
  const bytes = readFileSync(file);
  const pageSize = readSqliteHeader(file).pageSize;
  const head = Buffer.alloc(16);
  head.write('CSDRPR01', 0, 'latin1');
  head.writeUInt32BE(pageSize, 8);
  head.writeUInt32BE(bytes.length / pageSize, 12);
  const root = createHash('sha256').update(head);
  for (let at = 0; at < bytes.length; at += pageSize) root.update(createHash('sha256').update(bytes.subarray(at, at + pageSize)).digest());
  return root.digest('hex');
}

function hasSqldiff(): boolean {
  try {
    execFileSync('sqldiff', ['--help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The two databases hold the same content: sqldiff prints nothing (or, without sqldiff, equal table digests). */
function expectSameContent(a: string, b: string): void {
  if (hasSqldiff()) expect(execFileSync('sqldiff', [a, b]).toString()).toBe('');
  else expect(tableDigests(a)).toEqual(tableDigests(b));
}

/** A consistent copy of the live database as an online backup makes it (what a point's snapshot holds). */
async function snapshotOf(live: string, copy: string): Promise<void> {
  const db = new Database(live);
  try {
    await db.backup(copy);
  } finally {
    db.close();
  }
}

/** Pages of `after` that differ from `before` (every page beyond `before`'s end counts). */
function changedPages(before: string, after: string, pageSize: number): number {
  const a = readFileSync(before);
  const b = readFileSync(after);
  let n = 0;
  for (let at = 0; at < b.length; at += pageSize) if (at >= a.length || !a.subarray(at, at + pageSize).equals(b.subarray(at, at + pageSize))) n++;
  return n;
}

function makeDb(path: string): void {
  const db = new Database(path);
  db.exec('CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT, note TEXT); CREATE INDEX jobs_status ON jobs(status);');
  const insert = db.prepare('INSERT INTO jobs (status, note) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run(['Completed', 'Failed'][i % 2], `job ${i} ${'x'.repeat(i % 60)}`);
  })();
  db.close();
}

/** About `fraction` of the rows updated, plus a few inserted (the day's activity). */
function activity(path: string, seed: number, fraction = 0.01): void {
  const db = new Database(path);
  const update = db.prepare('UPDATE jobs SET status = ?, note = ? WHERE id = ?');
  const insert = db.prepare('INSERT INTO jobs (status, note) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 20_000 * fraction; i++) update.run('Running', `seed ${seed} row ${i}`, ((i * 7919 + seed * 104_729) % 20_000) + 1);
    for (let i = 0; i < 50; i++) insert.run('Completed', `new ${seed}/${i}`);
  })();
  db.close();
}

describe('SQLite LOG points (chain of pages changed since the previous point)', () => {
  const tmp = useTempDirs();

  test('a 1%-activity day split into LOG points (through a DIFFERENTIAL) rebuilds each point exactly', async () => {
    const dir = tmp();
    const live = join(dir, 'live.db');
    makeDb(live);
    // FULL 1
    const fullDump = join(dir, 'full.dmp');
    const src = new Database(live);
    await src.backup(fullDump);
    src.close();
    const hashes = join(dir, 'full.pagehashes');
    const fullHashes = await writePageHashes(fullDump, hashes, { jobId: 1 });
    const fullPages = readSqliteHeader(fullDump).pageCount;

    const points: Array<{ jobId: number; copy: string; kind: 'LOG' | 'DIFF'; file: string; overlay?: string; sha256: string; pageCount: number; predecessor: number }> = [];
    let previous: LogPredecessor = { jobId: 1, pageCount: fullPages, sha256: fullHashes.dumpSha256, overlay: { kind: 'full' } };
    for (let jobId = 2; jobId <= 7; jobId++) {
      activity(live, jobId);
      const copy = join(dir, `expected-${jobId}.db`);
      if (jobId === 4) {
        // A DIFFERENTIAL in the middle: cumulative against the FULL; the next LOG continues it.
        const file = join(dir, `diff-${jobId}.dmp`);
        const diff = await writeDifferential({ sourceDb: live, baseHashesFile: hashes, outFile: file, baseJobId: 1, jobId });
        await snapshotOf(live, copy);
        points.push({ jobId, copy, kind: 'DIFF', file, sha256: diff.sha256, pageCount: diff.pageCount, predecessor: 1 });
        previous = { jobId, pageCount: diff.pageCount, sha256: diff.sha256, overlay: { kind: 'diff', file } };
        continue;
      }
      const file = join(dir, `log-${jobId}.dmp`);
      const overlay = join(dir, `log-${jobId}.pagehashes`);
      const result = await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous, outFile: file, overlayOutFile: overlay, jobId });
      await snapshotOf(live, copy);
      expect(sha(copy)).not.toBe(result.sha256);
      // Exactly the pages that differ from the previous point (an oracle comparing the two database files page by page).
      expect(result.changedPages).toBe(changedPages(points.at(-1)?.copy ?? fullDump, copy, result.pageSize));
      expect(result.changedPages).toBeLessThan(result.pageCount);
      expect(result.bytes).toBe(160 + result.changedPages * (4 + result.pageSize));
      // The point's identity is its page-digest root (format version 2), computed here independently.
      expect(result.sha256).toBe(pageRoot(copy));
      const header = await readDifferentialHeader(file);
      expect(header).toMatchObject({ version: 2, identity: 'page-root', sha256: pageRoot(copy), baseJobId: previous.jobId, basePageCount: previous.pageCount, baseSha256: previous.sha256, jobId });
      expect(await readLogOverlayHeader(overlay, 1)).toMatchObject({ version: 2, pageCount: result.pageCount, entries: result.overlayPages, entryBytes: 44 });
      points.push({ jobId, copy, kind: 'LOG', file, overlay, sha256: result.sha256, pageCount: result.pageCount, predecessor: previous.jobId });
      previous = { jobId, pageCount: result.pageCount, sha256: result.sha256, overlay: { kind: 'log', file: overlay } };
    }

    // Rebuild every point: FULL (+ DIFF 4 for the points after it) + the LOGs since.
    for (const point of points) {
      const target = join(dir, `rebuilt-${point.jobId}.db`);
      const diff = points.find((p) => p.kind === 'DIFF' && p.jobId <= point.jobId);
      if (diff) await restoreFullPlusDifferential({ fullDump, diffFile: diff.file, target });
      else copyFileSync(fullDump, target);
      const base = diff ? { jobId: diff.jobId, pageCount: diff.pageCount, sha256: diff.sha256 } : { jobId: 1, pageCount: fullPages, sha256: fullHashes.dumpSha256 };
      const logs = points.filter((p) => p.kind === 'LOG' && p.jobId > base.jobId && p.jobId <= point.jobId).map((p) => p.file);
      if (logs.length > 0) {
        const result = await applyLogChainInPlace(target, base, logs);
        // Verified against the last LOG's recorded page-digest root; the SHA-256 returned is of the rebuilt bytes.
        expect(result.identity).toEqual({ kind: 'page-root', value: point.sha256 });
        expect(result.sha256).toBe(sha(point.copy));
        expect(pageRoot(target)).toBe(point.sha256);
      } else {
        expect(sha(target)).toBe(point.sha256);
      }
      expect(sha(target)).toBe(sha(point.copy));
      expectSameContent(target, point.copy);
    }
  });

  test('a missing LOG in the chain is refused before anything is written', async () => {
    const dir = tmp();
    const live = join(dir, 'live.db');
    makeDb(live);
    const fullDump = join(dir, 'full.dmp');
    const src = new Database(live);
    await src.backup(fullDump);
    src.close();
    const hashes = join(dir, 'full.pagehashes');
    const full = await writePageHashes(fullDump, hashes, { jobId: 1 });
    const pages = readSqliteHeader(fullDump).pageCount;
    activity(live, 2);
    const first = await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 1, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'full' } }, outFile: join(dir, 'l2.dmp'), overlayOutFile: join(dir, 'l2.ph'), jobId: 2 });
    activity(live, 3);
    await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 2, pageCount: first.pageCount, sha256: first.sha256, overlay: { kind: 'log', file: join(dir, 'l2.ph') } }, outFile: join(dir, 'l3.dmp'), overlayOutFile: join(dir, 'l3.ph'), jobId: 3 });
    const target = join(dir, 'target.db');
    copyFileSync(fullDump, target);
    const before = sha(target);
    await expect(applyLogChainInPlace(target, { jobId: 1, pageCount: pages, sha256: full.dumpSha256 }, [join(dir, 'l3.dmp')])).rejects.toMatchObject({ code: 'LOG_CHAIN_BROKEN', message: expect.stringContaining('it continues job 2') });
    expect(sha(target)).toBe(before);
  });

  test('a damaged overlay of the previous point refuses the LOG (LOG_BASE_UNUSABLE), leaving no partial file', async () => {
    const dir = tmp();
    const live = join(dir, 'live.db');
    makeDb(live);
    const fullDump = join(dir, 'full.dmp');
    const src = new Database(live);
    await src.backup(fullDump);
    src.close();
    const hashes = join(dir, 'full.pagehashes');
    const full = await writePageHashes(fullDump, hashes, { jobId: 1 });
    const pages = readSqliteHeader(fullDump).pageCount;
    activity(live, 2);
    await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 1, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'full' } }, outFile: join(dir, 'l2.dmp'), overlayOutFile: join(dir, 'l2.ph'), jobId: 2 });
    const bytes = readFileSync(join(dir, 'l2.ph'));
    bytes[70] ^= 0xff;
    writeFileSync(join(dir, 'l2.ph'), bytes);
    await expect(
      writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 2, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'log', file: join(dir, 'l2.ph') } }, outFile: join(dir, 'l3.dmp'), overlayOutFile: join(dir, 'l3.ph'), jobId: 3 }),
    ).rejects.toMatchObject({ code: 'LOG_BASE_UNUSABLE', message: expect.stringContaining('damaged') });
    expect(existsSync(join(dir, 'l3.dmp'))).toBe(false);
    expect(existsSync(join(dir, 'l3.dmp.partial'))).toBe(false);
  });

  /** A FULL of a fresh database and its sidecar; `live` keeps changing after it. */
  async function fullOf(dir: string) {
    const live = join(dir, 'live.db');
    makeDb(live);
    const fullDump = join(dir, 'full.dmp');
    await snapshotOf(live, fullDump);
    const hashes = join(dir, 'full.pagehashes');
    const full = await writePageHashes(fullDump, hashes, { jobId: 1 });
    return { live, fullDump, hashes, full, pages: readSqliteHeader(fullDump).pageCount };
  }

  /** Rewrites a LOG dump as a version-1 LOG (what agents before the page-digest root wrote): whole-file SHA-256 identities, trailer recomputed. */
  function asVersion1(file: string, sha256: string, baseSha256: string): void {
    const bytes = readFileSync(file);
    bytes.writeUInt16BE(1, 8);
    Buffer.from(sha256, 'hex').copy(bytes, 40);
    Buffer.from(baseSha256, 'hex').copy(bytes, 76);
    const body = bytes.length - 32;
    createHash('sha256').update(bytes.subarray(0, body)).digest().copy(bytes, body);
    writeFileSync(file, bytes);
  }

  test('LOG points written before the page-digest root (format version 1, SHA-256 identity) still verify, alone and followed by a version-2 LOG', async () => {
    const dir = tmp();
    const { live, fullDump, hashes, full, pages } = await fullOf(dir);
    activity(live, 2);
    const l2 = await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 1, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'full' } }, outFile: join(dir, 'l2.dmp'), overlayOutFile: join(dir, 'l2.ph'), jobId: 2 });
    const at2 = join(dir, 'at2.db');
    await snapshotOf(live, at2);
    asVersion1(join(dir, 'l2.dmp'), sha(at2), full.dumpSha256);
    expect(await readDifferentialHeader(join(dir, 'l2.dmp'))).toMatchObject({ version: 1, identity: 'sha256', sha256: sha(at2) });
    // The next LOG continues the old one: its base identity is the SHA-256 the version-1 LOG recorded.
    activity(live, 3);
    const l3 = await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 2, pageCount: l2.pageCount, sha256: sha(at2), overlay: { kind: 'log', file: join(dir, 'l2.ph') } }, outFile: join(dir, 'l3.dmp'), overlayOutFile: join(dir, 'l3.ph'), jobId: 3 });
    const at3 = join(dir, 'at3.db');
    await snapshotOf(live, at3);

    const old = join(dir, 'old.db');
    copyFileSync(fullDump, old);
    const one = await applyLogChainInPlace(old, { jobId: 1, pageCount: pages, sha256: full.dumpSha256 }, [join(dir, 'l2.dmp')]);
    expect(one).toMatchObject({ sha256: sha(at2), identity: { kind: 'sha256', value: sha(at2) } });
    expectSameContent(old, at2);

    const mixed = join(dir, 'mixed.db');
    copyFileSync(fullDump, mixed);
    const two = await applyLogChainInPlace(mixed, { jobId: 1, pageCount: pages, sha256: full.dumpSha256 }, [join(dir, 'l2.dmp'), join(dir, 'l3.dmp')]);
    expect(two).toMatchObject({ sha256: sha(at3), identity: { kind: 'page-root', value: l3.sha256 } });
    expect(l3.sha256).toBe(pageRoot(at3));
    expectSameContent(mixed, at3);

    // A version-1 LOG whose recorded SHA-256 is not its result's is refused, naming the SHA-256.
    asVersion1(join(dir, 'l2.dmp'), sha(at3), full.dumpSha256);
    const wrong = join(dir, 'wrong.db');
    copyFileSync(fullDump, wrong);
    await expect(applyLogChainInPlace(wrong, { jobId: 1, pageCount: pages, sha256: full.dumpSha256 }, [join(dir, 'l2.dmp')])).rejects.toMatchObject({ code: 'RESTORE_VERIFY_FAILED', message: expect.stringContaining('has SHA-256') });
  });

  test('a page altered inside a LOG (trailer recomputed, so the file itself looks intact) fails the page-digest root check on recovery', async () => {
    const dir = tmp();
    const { live, fullDump, hashes, full, pages } = await fullOf(dir);
    activity(live, 2);
    const l2 = await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 1, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'full' } }, outFile: join(dir, 'l2.dmp'), overlayOutFile: join(dir, 'l2.ph'), jobId: 2 });
    expect(l2.changedPages).toBeGreaterThan(0);
    const bytes = readFileSync(join(dir, 'l2.dmp'));
    bytes[128 + 4 + 100] ^= 0x01; // one bit of the first page record's page
    const body = bytes.length - 32;
    createHash('sha256').update(bytes.subarray(0, body)).digest().copy(bytes, body);
    writeFileSync(join(dir, 'l2.dmp'), bytes);
    const target = join(dir, 'target.db');
    copyFileSync(fullDump, target);
    await expect(applyLogChainInPlace(target, { jobId: 1, pageCount: pages, sha256: full.dumpSha256 }, [join(dir, 'l2.dmp')])).rejects.toMatchObject({
      code: 'RESTORE_VERIFY_FAILED',
      message: expect.stringContaining(`page-digest root`),
    });
  });

  test('a LOG dump (version 2) is refused as a DIFFERENTIAL (DIFF_CORRUPT), nothing written', async () => {
    const dir = tmp();
    const { live, fullDump, hashes, full, pages } = await fullOf(dir);
    activity(live, 2);
    await writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous: { jobId: 1, pageCount: pages, sha256: full.dumpSha256, overlay: { kind: 'full' } }, outFile: join(dir, 'l2.dmp'), overlayOutFile: join(dir, 'l2.ph'), jobId: 2 });
    const target = join(dir, 'target.db');
    await expect(restoreFullPlusDifferential({ fullDump, diffFile: join(dir, 'l2.dmp'), target })).rejects.toMatchObject({ code: 'DIFF_CORRUPT', message: expect.stringContaining("a LOG point's dump") });
    expect(existsSync(target)).toBe(false);
  });
});
