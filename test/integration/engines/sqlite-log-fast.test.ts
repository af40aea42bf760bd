/**
 * LOG points against a version-2 FULL page-hash sidecar (issue 17: changed pages found by XXH64, SHA-256 only for the
 * changed pages), on real SQLite files:
 * - the hand-assembled WebAssembly XXH64 equals the reference implementation (the `xxhash-wasm` package);
 * - a changed page is never missed, whatever bytes change (fast-check: random edits, one byte in place included);
 * - a FULL with a version-1 sidecar (taken before) still continues into a LOG chain that rebuilds each point;
 * - a damaged sidecar or overlay makes the LOG refuse with LOG_BASE_UNUSABLE, and nothing is left behind.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readSqliteHeader } from '#agent/engines/sqlite/sqlite-engine';
import { pageDigest, pageEntry, readPageHashes, writePageHashes } from '#agent/engines/sqlite/page-hashes';
import { xxh64OfPages } from '#agent/engines/sqlite/page-xxh64';
import { applyLogChainInPlace, readLogOverlayHeader, writeLogPoint, type LogPredecessor } from '#agent/engines/sqlite/log-point';
import { DIFF_HEADER_BYTES, readDifferentialHeader } from '#agent/engines/sqlite/differential';
import type { LiveDatabase } from '#agent/engines/sqlite/consistent-image';
import { useTempDirs } from '../../support/tmp';

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Page-digest root computed here, independently: SHA-256('CSDRPR01' ‖ page size ‖ page count ‖ SHA-256 of every page). */
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

function makeDb(path: string, rows = 3000): void {
  const db = new Database(path);
  db.pragma('page_size = 1024');
  db.exec('CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT, note TEXT)');
  const insert = db.prepare('INSERT INTO jobs (status, note) VALUES (?, ?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) insert.run(i % 2 ? 'Completed' : 'Failed', `job ${i} ${'x'.repeat(i % 40)}`);
  })();
  db.close();
}

/** Reads a database file in place (as the engine's read transaction would let it): the file must not change meanwhile. */
function inPlace(handles: FileHandle[], file: string): LiveDatabase {
  return {
    beginRead: () => true,
    endRead: () => undefined,
    fileHandle: async () => {
      const fh = await open(file, 'r');
      handles.push(fh);
      return fh;
    },
  };
}

/** Writes a version-1 sidecar (first 16 bytes of SHA-256 per page), as FULLs taken before version 2 carry. */
function writeV1Sidecar(dump: string, file: string, jobId: number): void {
  const bytes = readFileSync(dump);
  const pageSize = readSqliteHeader(dump).pageSize;
  const pages = bytes.length / pageSize;
  const header = Buffer.alloc(96);
  header.write('CSDRPH01', 0, 'latin1');
  header.writeUInt16BE(1, 8);
  header.writeUInt16BE(96, 10);
  header.writeUInt8(1, 12);
  header.writeUInt8(16, 13);
  header.writeUInt32BE(pageSize, 16);
  header.writeUInt32BE(pages, 20);
  header.writeBigUInt64BE(BigInt(bytes.length), 24);
  header.writeBigUInt64BE(BigInt(jobId), 32);
  createHash('sha256').update(bytes).digest().copy(header, 40);
  const parts: Buffer[] = [header];
  for (let p = 0; p < pages; p++) parts.push(pageDigest(bytes.subarray(p * pageSize, (p + 1) * pageSize)));
  const body = Buffer.concat(parts);
  writeFileSync(file, Buffer.concat([body, createHash('sha256').update(body).digest()]));
}

/** Page numbers (1-based) of the LOG's records. */
function recordPages(logFile: string, pageSize: number, records: number): number[] {
  const bytes = readFileSync(logFile);
  const out: number[] = [];
  for (let r = 0; r < records; r++) out.push(bytes.readUInt32BE(DIFF_HEADER_BYTES + r * (4 + pageSize)));
  return out;
}

describe('SQLite LOG points against version-2 page hashes (XXH64 change detection)', () => {
  const tmp = useTempDirs();
  const handles: FileHandle[] = [];
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close()));
  });

  test('the WebAssembly XXH64 of each page equals the reference xxhash-wasm h64Raw (random pages, sizes, seeds)', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const xx = await (require('xxhash-wasm') as () => Promise<{ h64Raw(data: Uint8Array, seed?: bigint): bigint }>)();
    fc.assert(
      fc.property(fc.constantFrom(512, 1024, 4096, 65536), fc.integer({ min: 1, max: 3 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (pageSize, pages, seed, fill) => {
        const data = Buffer.alloc(pageSize * pages);
        for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i + fill, 2654435761) >>> 24) & 0xff;
        const ours = xxh64OfPages(data, pageSize, seed);
        for (let p = 0; p < pages; p++) expect(ours.readBigUInt64LE(p * 8)).toBe(xx.h64Raw(data.subarray(p * pageSize, (p + 1) * pageSize), seed));
      }),
      { numRuns: 60 },
    );
    // The page entry: XXH64 (seed 0) then the SHA-256.
    const page = Buffer.alloc(4096, 7);
    const entry = pageEntry(page);
    expect(entry.readBigUInt64LE(0)).toBe(xx.h64Raw(page, 0n));
    expect(entry.subarray(8).toString('hex')).toBe(createHash('sha256').update(page).digest('hex'));
  });

  test('a changed page is never missed: random byte edits (one byte in place included) are exactly the LOG\'s pages, in a chain of two points', async () => {
    const dir = tmp();
    const base = join(dir, 'base.db');
    makeDb(base);
    const pageSize = readSqliteHeader(base).pageSize;
    const pages = readSqliteHeader(base).pageCount;
    const hashes = join(dir, 'full.pagehashes');
    await writePageHashes(base, hashes, { jobId: 1 });
    expect(await readPageHashes(hashes)).toMatchObject({ version: 2, algorithm: 2, digestBytes: 40, pageCount: pages });
    // An edit: a page (not page 1, whose header says the page count) and a run of bytes in it, XORed with a non-zero byte.
    const edit = fc.record({ page: fc.integer({ min: 2, max: pages }), at: fc.integer({ min: 0, max: pageSize - 1 }), length: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 64 })), xor: fc.integer({ min: 1, max: 255 }) });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 6 }), fc.array(edit, { minLength: 0, maxLength: 4 }), async (firstEdits, secondEdits) => {
        run++;
        const live = join(dir, `live-${run}.db`);
        copyFileSync(base, live);
        const apply = (edits: typeof firstEdits) => {
          const fh = readFileSync(live);
          for (const e of edits) for (let i = e.at; i < Math.min(pageSize, e.at + e.length); i++) fh[(e.page - 1) * pageSize + i] ^= e.xor;
          writeFileSync(live, fh);
        };
        const changed = (before: Buffer, after: Buffer) => {
          const out: number[] = [];
          for (let p = 1; p <= pages; p++) if (!before.subarray((p - 1) * pageSize, p * pageSize).equals(after.subarray((p - 1) * pageSize, p * pageSize))) out.push(p);
          return out;
        };
        const original = readFileSync(live);
        apply(firstEdits);
        const afterFirst = readFileSync(live);
        const out1 = join(dir, `log-${run}-a.dmp`);
        const ov1 = join(dir, `log-${run}-a.pagehashes`);
        const previous: LogPredecessor = { jobId: 1, pageCount: pages, sha256: sha(base), overlay: { kind: 'full' } };
        const first = await writeLogPoint({ sourceDb: live, live: inPlace(handles, live), fullHashesFile: hashes, fullJobId: 1, previous, outFile: out1, overlayOutFile: ov1, jobId: 2 });
        expect(recordPages(out1, pageSize, first.changedPages)).toEqual(changed(original, afterFirst));
        expect(first.sha256).toBe(pageRoot(live));
        expect(first.overlayPages).toBe(changed(original, afterFirst).length);

        apply(secondEdits);
        const afterSecond = readFileSync(live);
        const out2 = join(dir, `log-${run}-b.dmp`);
        const ov2 = join(dir, `log-${run}-b.pagehashes`);
        const second = await writeLogPoint({
          sourceDb: live,
          live: inPlace(handles, live),
          fullHashesFile: hashes,
          fullJobId: 1,
          previous: { jobId: 2, pageCount: first.pageCount, sha256: first.sha256, overlay: { kind: 'log', file: ov2.replace('-b.', '-a.') } },
          outFile: out2,
          overlayOutFile: ov2,
          jobId: 3,
        });
        expect(recordPages(out2, pageSize, second.changedPages)).toEqual(changed(afterFirst, afterSecond));
        expect(second.overlayPages).toBe(changed(original, afterSecond).length);
        expect(second.sha256).toBe(pageRoot(live));
        // And the chain rebuilds the point: FULL + both LOGs, verified against the recorded page-digest root.
        const rebuilt = join(dir, `rebuilt-${run}.db`);
        copyFileSync(base, rebuilt);
        await applyLogChainInPlace(rebuilt, { jobId: 1, pageCount: pages, sha256: sha(base) }, [out1, out2]);
        expect(readFileSync(rebuilt).equals(afterSecond)).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  test('a FULL with a version-1 sidecar (taken before) still continues into a LOG chain that rebuilds each point', async () => {
    const dir = tmp();
    const live = join(dir, 'live.db');
    makeDb(live);
    const full = join(dir, 'full.dmp');
    copyFileSync(live, full);
    const hashes = join(dir, 'full.pagehashes');
    writeV1Sidecar(full, hashes, 1);
    expect((await readPageHashes(hashes)).version).toBe(1);
    const pages = readSqliteHeader(full).pageCount;
    let previous: LogPredecessor = { jobId: 1, pageCount: pages, sha256: sha(full), overlay: { kind: 'full' } };
    const logs: string[] = [];
    for (let jobId = 2; jobId <= 3; jobId++) {
      const db = new Database(live);
      db.prepare('UPDATE jobs SET note = ? WHERE id % 97 = ?').run(`point ${jobId}`, jobId);
      db.prepare('INSERT INTO jobs (status, note) VALUES (?, ?)').run('Running', 'x'.repeat(3000));
      db.close();
      const outFile = join(dir, `log-${jobId}.dmp`);
      const overlayOutFile = join(dir, `log-${jobId}.pagehashes`);
      const result = await writeLogPoint({ sourceDb: live, live: inPlace(handles, live), fullHashesFile: hashes, fullJobId: 1, previous, outFile, overlayOutFile, jobId });
      expect((await readLogOverlayHeader(overlayOutFile, 1)).version).toBe(1); // the old path, the old overlay
      expect(result.sha256).toBe(pageRoot(live));
      logs.push(outFile);
      const rebuilt = join(dir, `rebuilt-${jobId}.db`);
      copyFileSync(full, rebuilt);
      const chain = await applyLogChainInPlace(rebuilt, { jobId: 1, pageCount: pages, sha256: sha(full) }, logs);
      expect(chain.sha256).toBe(sha(live));
      previous = { jobId, pageCount: result.pageCount, sha256: result.sha256, overlay: { kind: 'log', file: overlayOutFile } };
    }
  });

  test('a damaged sidecar or overlay makes the LOG refuse (LOG_BASE_UNUSABLE, naming the file) and leaves no file behind', async () => {
    const dir = tmp();
    const live = join(dir, 'live.db');
    makeDb(live);
    const pages = readSqliteHeader(live).pageCount;
    const hashes = join(dir, 'full.pagehashes');
    await writePageHashes(live, hashes, { jobId: 1 });
    const good = readFileSync(hashes);
    const previous: LogPredecessor = { jobId: 1, pageCount: pages, sha256: sha(live), overlay: { kind: 'full' } };
    const db = new Database(live);
    db.prepare('UPDATE jobs SET note = ? WHERE id < 50').run('changed');
    db.close();
    const logDir = join(dir, 'out');
    require('node:fs').mkdirSync(logDir);
    const attempt = (over: Partial<Parameters<typeof writeLogPoint>[0]> = {}) =>
      writeLogPoint({ sourceDb: live, fullHashesFile: hashes, fullJobId: 1, previous, outFile: join(logDir, 'log.dmp'), overlayOutFile: join(logDir, 'log.pagehashes'), jobId: 2, ...over });

    // One XXH64 byte of an unchanged page flipped: the pass would compare against a wrong entry; the trailer catches it.
    const damaged = Buffer.from(good);
    damaged[96 + 40 * (pages - 1) + 3] ^= 0x10;
    writeFileSync(hashes, damaged);
    await expect(attempt()).rejects.toMatchObject({ code: 'LOG_BASE_UNUSABLE', message: expect.stringMatching(/full\.pagehashes are damaged \(trailer SHA-256 mismatch\)/) });
    expect(readdirSync(logDir)).toEqual([]);
    // Truncated.
    writeFileSync(hashes, good.subarray(0, good.length - 41));
    await expect(attempt()).rejects.toMatchObject({ code: 'LOG_BASE_UNUSABLE', message: expect.stringMatching(/full\.pagehashes/) });
    expect(readdirSync(logDir)).toEqual([]);

    // A good point, then its overlay damaged: the next LOG refuses to continue it.
    writeFileSync(hashes, good);
    const first = await attempt();
    const overlay = join(dir, 'first.pagehashes');
    copyFileSync(join(logDir, 'log.pagehashes'), overlay);
    await expect(readDifferentialHeader(join(logDir, 'log.dmp'))).resolves.toMatchObject({ records: first.changedPages });
    const ov = readFileSync(overlay);
    ov[64 + 5] ^= 0x01;
    writeFileSync(overlay, ov);
    const next = join(dir, 'out2');
    require('node:fs').mkdirSync(next);
    const continuing = { previous: { jobId: 2, pageCount: first.pageCount, sha256: first.sha256, overlay: { kind: 'log' as const, file: overlay } }, outFile: join(next, 'log.dmp'), overlayOutFile: join(next, 'log.pagehashes'), jobId: 3 };
    await expect(attempt(continuing)).rejects.toMatchObject({ code: 'LOG_BASE_UNUSABLE', message: expect.stringMatching(/first\.pagehashes is damaged/) });
    expect(readdirSync(next)).toEqual([]);
    // A version-1 overlay cannot continue a FULL with version-2 page hashes.
    writeV1Sidecar(live, join(dir, 'v1.pagehashes'), 1);
    const v1 = await writeLogPoint({ sourceDb: live, fullHashesFile: join(dir, 'v1.pagehashes'), fullJobId: 1, previous, outFile: join(dir, 'v1.dmp'), overlayOutFile: join(dir, 'v1-overlay.pagehashes'), jobId: 2 });
    expect(v1.changedPages).toBeGreaterThan(0);
    await expect(attempt({ ...continuing, previous: { ...continuing.previous, overlay: { kind: 'log', file: join(dir, 'v1-overlay.pagehashes') } } })).rejects.toMatchObject({
      code: 'LOG_BASE_UNUSABLE',
      message: expect.stringMatching(/version-1 overlay, which cannot continue a FULL with version-2 page hashes: take a FULL/),
    });
    expect(existsSync(join(next, 'log.dmp.partial'))).toBe(false);
  });
});
