/**
 * SQLite LOG points (SPEC §4.5, issue 17): the pages changed since the previous point of the open cycle, from a
 * consistent snapshot, checked end to end with the SHA-256 of the reconstructed database.
 *
 * ## The LOG dump `commserv_LOG_<jobId>.dmp`
 * The DIFF format `CSDRDF01` (see `differential.ts`), version 2, with the **previous point** as its base instead of
 * the FULL: base page count = the previous point's page count, base job id = the previous point's job id, base
 * identity (bytes 76–107) = the previous point's recorded identity. Applying LOG k to the database of point k−1 gives
 * point k, whose identity is in the header (bytes 40–71); the same reader validates it (`readDifferentialHeader`).
 *
 * The identity of a point (version 2) is its **page-digest root** (`page-digester.ts`): SHA-256 over the full SHA-256
 * of every page. LOG points written before (version 1) carry the SHA-256 of the whole database; both are verified end
 * to end by {@link applyLogChainInPlace}. The FULL's and a DIFFERENTIAL's identity stay the SHA-256 of their bytes (a
 * LOG's base identity is whatever its predecessor recorded).
 *
 * ## Finding the changed pages
 * Against a FULL whose page-hash sidecar is version 2 (`page-hashes.ts`: XXH64 + SHA-256 per page), the pages are
 * compared by **XXH64** (WebAssembly, `page-xxh64.ts`, ≈ 16 GB/s on the pages as read): a page whose XXH64 equals the
 * previous point's is unchanged, and its SHA-256 for the root is the previous point's (from the overlay or the FULL's
 * sidecar); only a changed page is hashed with SHA-256. Why 64 bits are enough, and what a miss would do: see
 * page-hashes.ts. Against a version-1 sidecar (FULLs taken before), every page is hashed with SHA-256 on two threads
 * and compared by its first 16 bytes, as before.
 *
 * ## The previous point's page state without a page-hash table per point: the overlay `commserv_LOG_<jobId>.pagehashes`
 * Format `CSDRPO01` (all integers big-endian):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic, ASCII `CSDRPO01` |
 * | 8 | 2 | format version, uint16 (2 against a version-2 FULL sidecar; 1 against a version-1 one) |
 * | 10 | 2 | header length, uint16 (= 64) |
 * | 12 | 4 | page size, uint32 |
 * | 16 | 4 | page count of this point, uint32 |
 * | 20 | 8 | job id of the cycle's FULL, uint64 |
 * | 28 | 8 | job id of this LOG, uint64 |
 * | 36 | 4 | entries, uint32 |
 * | 40 | 24 | reserved, zero |
 * | 64 | E × entries | ascending by page number: version 2 (E = 44): page number (uint32), the page's XXH64 (8 bytes, little-endian) and SHA-256 (32); version 1 (E = 20): page number, the first 16 bytes of its SHA-256 |
 * | 64 + E × entries | 32 | trailer: SHA-256 of every byte before it |
 *
 * It lists every page of this point that differs from the cycle's FULL (and every page beyond the FULL's page
 * count): the FULL's sidecar overlaid with it gives the entry of every page of the point. It is computed in the
 * same pass that finds the changed pages, so it is exact, not accumulated. Its size tracks the pages changed since
 * the FULL (44 bytes each: 11 MB for 250,000 changed pages), not the database size. A LOG reads it (and the FULL's
 * sidecar) sequentially, merged with the pages, never whole into memory (version 1 overlays are still read whole). The first LOG after a
 * DIFFERENTIAL builds its overlay from the DIFF's records (every DIFF page differs from the FULL).
 *
 * ## Cost today
 * A LOG point reads the database once — in place under a read transaction (rollback-journal databases), or from a
 * snapshot (WAL databases: online backup, read + write of every page, first; see `consistent-image.ts`) — plus the
 * FULL's sidecar (40 bytes per page) and the previous overlay. The CPU per page is an XXH64 and a comparison; the
 * SHA-256 only for changed pages. The bytes written to the SET and uploaded track the changed pages only. See
 * docs/ARCHITECTURE.md for the measured ratios.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import { FULL_PAGE_DIGEST_BYTES, fileIdentities, PageDigester, pageDigestRoot } from './page-digester';
import { differentialEntries, NO_ENTRIES, OVERLAY_ENTRY_V2_BYTES, OverlayCursor, overlayFileEntries, SidecarEntryReader, type OverlayEntrySource } from './log-entries';
import { sharedPageMemory, xxh64Pages, XXH64_BYTES } from './page-xxh64';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DatabaseError } from '#core/errors';
import {
  PAGE_DIGEST_BYTES,
  PAGE_ENTRY_BYTES,
  PAGE_ENTRY_SHA256_AT,
  PAGE_HASHES_VERSION_TRUNCATED,
  type PageHashesHeader,
  pageDigest,
  pagesPerChunk,
  readFully,
  readPageDigests,
  readPageHashes,
  removeQuietly,
  sha256OfRange,
  writeFully,
} from './page-hashes';
import {
  DIFF_HEADER_BYTES,
  DIFF_MAGIC,
  DIFF_RECORD_PREFIX_BYTES,
  DIFF_TRAILER_BYTES,
  DIFF_VERSION_PAGE_ROOT,
  readDifferentialHeader,
} from './differential';
import { openConsistentImage, type ConsistentImage, type LiveDatabase } from './consistent-image';

/** Magic of a LOG overlay (bytes 0–7). */
export const OVERLAY_MAGIC = 'CSDRPO01';
const OVERLAY_VERSION = 1;
/** Overlay version 2: entries of page number + XXH64 + SHA-256 (44 bytes), for FULLs with version-2 page hashes. */
const OVERLAY_VERSION_FAST = 2;
const OVERLAY_HEADER_BYTES = 64;
/** Page number (4) + digest (16, `PAGE_DIGEST_BYTES`); a literal, as page-hashes.ts and this module import each other through sqlite-engine.ts. */
const OVERLAY_ENTRY_BYTES = 20;
const OVERLAY_TRAILER_BYTES = 32;

export { logDumpFile } from '#core/dump-files';

/** Name of a LOG point's page overlay in a SET. */
export function logOverlayFile(jobId: number): string {
  return `commserv_LOG_${jobId}.pagehashes`;
}

/** The point a LOG continues: what its page state is and where to read it. */
export interface LogPredecessor {
  /** Job id of the previous point (the FULL, a DIFFERENTIAL or a LOG of the cycle). */
  jobId: number;
  /** Page count of the previous point's database. */
  pageCount: number;
  /** Identity (hex) of the previous point's database as recorded with it: the SHA-256 of its bytes (FULL, DIFFERENTIAL, LOG version 1) or its page-digest root (LOG version 2). */
  sha256: string;
  /** Pages of the previous point that differ from the FULL: none (the FULL itself), a DIFF's records, or a LOG's overlay. */
  overlay: { kind: 'full' } | { kind: 'diff'; file: string } | { kind: 'log'; file: string };
}

/** Options of {@link writeLogPoint}. */
export interface WriteLogPointOptions {
  /** Path of the live database. */
  sourceDb: string;
  /** Takes a consistent snapshot into `file` (default: an online backup of `sourceDb`). */
  takeSnapshot?: (file: string) => Promise<unknown>;
  /** The engine's live connection: read the database file in place unless it is in WAL mode (`consistent-image.ts`). */
  live?: LiveDatabase;
  /** The cycle's FULL page-hash sidecar. */
  fullHashesFile: string;
  /** Job id of the cycle's FULL. */
  fullJobId: number;
  previous: LogPredecessor;
  /** Where to write the LOG dump; written as `.partial`, then renamed. */
  outFile: string;
  /** Where to write this point's overlay. */
  overlayOutFile: string;
  jobId: number;
  /** Called after each chunk of the snapshot compared: (bytes compared, snapshot size). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Threads hashing the pages: 2 (default: the main thread and a worker, `page-digester.ts`) or 1. */
  hashThreads?: 1 | 2;
}

/** What {@link writeLogPoint} wrote. */
export interface LogPointResult {
  bytes: number;
  overlayBytes: number;
  /** Page records in the LOG (pages changed since the previous point, plus pages beyond its page count). */
  changedPages: number;
  /** Pages of this point that differ from the FULL (overlay entries). */
  overlayPages: number;
  pageSize: number;
  pageCount: number;
  /**
   * Identity of this point's database, recorded in the LOG header and the manifest (`reconstructedSha256`): its
   * page-digest root (`page-digester.ts`), not the SHA-256 of the file's bytes.
   */
  sha256: string;
  /** The point's moment (ISO-8601 UTC): when the read in place ended, or the snapshot was complete. */
  pointTime: string;
  durationMs: number;
  snapshotMs: number;
}

function baseProblem(message: string, cause?: unknown): DatabaseError {
  return new DatabaseError('LOG_BASE_UNUSABLE', message, { cause });
}

/**
 * Reads a LOG overlay into a map page → digest, validating its trailer.
 * @throws DatabaseError `LOG_BASE_UNUSABLE` when it is missing, damaged or of another FULL.
 */
export async function readLogOverlay(file: string, fullJobId: number): Promise<{ pageCount: number; digests: Map<number, Buffer> }> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (error) {
    throw baseProblem(`the previous LOG point's overlay ${basename(file)} cannot be read (${(error as Error).message})`, error);
  }
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(OVERLAY_HEADER_BYTES);
    if (size < OVERLAY_HEADER_BYTES + OVERLAY_TRAILER_BYTES || (await readFully(fh, header, 0, header.length, 0)) !== header.length || header.toString('latin1', 0, 8) !== OVERLAY_MAGIC) {
      throw baseProblem(`${basename(file)} is not a LOG overlay (bad header)`);
    }
    const version = header.readUInt16BE(8);
    if (version !== OVERLAY_VERSION) throw baseProblem(`${basename(file)} is a version ${version} overlay; a LOG against a FULL with version-1 page hashes continues version-1 overlays only`);
    const entries = header.readUInt32BE(36);
    const body = OVERLAY_HEADER_BYTES + entries * OVERLAY_ENTRY_BYTES;
    if (size !== body + OVERLAY_TRAILER_BYTES) throw baseProblem(`${basename(file)} is ${size} bytes, ${body + OVERLAY_TRAILER_BYTES} expected`);
    const all = Buffer.allocUnsafe(size);
    await readFully(fh, all, 0, size, 0);
    if (!createHash('sha256').update(all.subarray(0, body)).digest().equals(all.subarray(body))) throw baseProblem(`${basename(file)} is damaged (trailer SHA-256 mismatch)`);
    const ofFull = Number(header.readBigUInt64BE(20));
    if (ofFull !== fullJobId) throw baseProblem(`${basename(file)} belongs to the cycle of FULL job ${ofFull}, not ${fullJobId}`);
    const digests = new Map<number, Buffer>();
    for (let at = OVERLAY_HEADER_BYTES; at < body; at += OVERLAY_ENTRY_BYTES) digests.set(all.readUInt32BE(at), Buffer.from(all.subarray(at + 4, at + OVERLAY_ENTRY_BYTES)));
    return { pageCount: header.readUInt32BE(16), digests };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** The digests of a DIFF's pages (every one differs from the FULL): the overlay of a DIFFERENTIAL point. */
async function overlayOfDifferential(diffFile: string): Promise<Map<number, Buffer>> {
  let header;
  try {
    header = await readDifferentialHeader(diffFile);
  } catch (error) {
    throw baseProblem(`the DIFFERENTIAL the LOG continues is unusable: ${(error as Error).message}`, error);
  }
  const recordBytes = DIFF_RECORD_PREFIX_BYTES + header.pageSize;
  const perChunk = Math.max(1, Math.floor((1024 * 1024) / recordBytes));
  const buffer = Buffer.allocUnsafe(perChunk * recordBytes);
  const digests = new Map<number, Buffer>();
  const fh = await open(diffFile, 'r');
  try {
    for (let i = 0; i < header.records; i += perChunk) {
      const n = Math.min(perChunk, header.records - i);
      await readFully(fh, buffer, 0, n * recordBytes, DIFF_HEADER_BYTES + i * recordBytes);
      for (let r = 0; r < n; r++) {
        const at = r * recordBytes;
        digests.set(buffer.readUInt32BE(at), pageDigest(buffer.subarray(at + DIFF_RECORD_PREFIX_BYTES, at + recordBytes)));
      }
    }
  } finally {
    await fh.close();
  }
  return digests;
}

async function previousOverlay(previous: LogPredecessor, fullJobId: number): Promise<Map<number, Buffer>> {
  if (previous.overlay.kind === 'full') return new Map();
  if (previous.overlay.kind === 'diff') return overlayOfDifferential(previous.overlay.file);
  return (await readLogOverlay(previous.overlay.file, fullJobId)).digests;
}

/**
 * Writes a LOG point: opens a consistent image of the live database (in place or a snapshot, `consistent-image.ts`),
 * reads it once, and for every page finds whether it changed since the previous point and whether it differs from the
 * FULL: changed pages go to the LOG dump (`CSDRDF01` version 2 against the previous point), pages that differ from the
 * FULL to this point's overlay. Both files are written as `.partial`, fsynced and renamed; removed on error.
 *
 * How pages are compared depends on the FULL's page-hash sidecar (`page-hashes.ts`):
 * - version 2 (XXH64 + SHA-256 per page): by XXH64, in WebAssembly on the pages as read ({@link writeLogPointFast});
 *   the SHA-256 only of the changed pages; overlay version 2. Memory: two read chunks and 1 MiB blocks of the sidecar
 *   and the previous overlay, whatever the database size.
 * - version 1 (FULLs taken before 2026-12-06: the first 16 bytes of SHA-256): every page's SHA-256, on two threads
 *   ({@link writeLogPointTruncated}); overlay version 1.
 *
 * @throws DatabaseError `LOG_BASE_UNUSABLE` (the FULL's sidecar or the previous point's overlay/DIFF is missing or
 *   damaged, or the page size changed: take a FULL), `DIFF_SNAPSHOT_FAILED`, `DUMP_DISK_FULL`, `LOG_WRITE_FAILED`.
 */
export async function writeLogPoint(options: WriteLogPointOptions): Promise<LogPointResult> {
  let full: PageHashesHeader;
  try {
    full = await readPageHashes(options.fullHashesFile, { verifyTrailer: false });
    // A version-1 sidecar is validated whole first, as before; version 2 is checked in the same pass that uses it.
    if (full.version === PAGE_HASHES_VERSION_TRUNCATED) full = await readPageHashes(options.fullHashesFile);
  } catch (error) {
    throw baseProblem(`cannot take a LOG point: the FULL's page hashes are unusable (${(error as Error).message})`, error);
  }
  return full.version === PAGE_HASHES_VERSION_TRUNCATED ? writeLogPointTruncated(options, full) : writeLogPointFast(options, full);
}

/**
 * A LOG point against a FULL whose sidecar is version 1: every page's SHA-256 (two threads), compared by its first
 * 16 bytes with the FULL's sidecar overlaid with the previous point's overlay (version 1, read into memory: 20 bytes
 * per page changed since the FULL). its digest with the previous point's (the FULL's sidecar overlaid with the previous point's
 * overlay): changed pages go to the LOG dump (`CSDRDF01` against the previous point), pages that differ from the FULL
 * to this point's overlay. Both files are written as `.partial`, fsynced and renamed; removed on error. Memory: the
 * previous overlay (20 bytes per page changed since the FULL) plus 1 MiB buffers.
 *
 * @throws DatabaseError `LOG_BASE_UNUSABLE` (the FULL's sidecar or the previous point's overlay/DIFF is missing or
 *   damaged, or the page size changed: take a FULL), `DIFF_SNAPSHOT_FAILED`, `DUMP_DISK_FULL`, `LOG_WRITE_FAILED`.
 */
async function writeLogPointTruncated(options: WriteLogPointOptions, full: PageHashesHeader): Promise<LogPointResult> {
  const started = performance.now();
  const { sourceDb, fullHashesFile, fullJobId, previous, outFile, overlayOutFile, jobId, onProgress } = options;
  const overlay = await previousOverlay(previous, fullJobId);

  const partial = `${outFile}.partial`;
  const overlayPartial = `${overlayOutFile}.partial`;
  let image: ConsistentImage | undefined;
  let sidecar: FileHandle | undefined;
  let out: FileHandle | undefined;
  let ov: FileHandle | undefined;
  let digester: PageDigester | undefined;
  try {
    image = await openConsistentImage({ sourceDb, live: options.live, takeSnapshot: options.takeSnapshot, outFile, purpose: 'a LOG point' });
    const snapshotMs = image.preparedMs;
    const { pageSize, pageCount, handle: snap } = image;
    if (pageSize !== full.pageSize) throw baseProblem(`page size changed since the FULL (${full.pageSize} → ${pageSize} bytes): take a FULL`);
    const snapBytes = pageCount * pageSize;
    sidecar = await open(fullHashesFile, 'r');
    out = await open(partial, 'w+');
    ov = await open(overlayPartial, 'w+');

    const chunkPages = pagesPerChunk(pageSize);
    const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
    // Two shared input buffers: the next chunk is read (libuv thread pool) while this one is hashed (the main thread
    // and the digester's worker), so the read and the hashing overlap instead of adding up (issue 17, bench/log.ts).
    digester = PageDigester.create({ pageSize, chunkPages, threads: options.hashThreads });
    const inputs = digester.inputs;
    const digests = digester.digests;
    const readChunk = (first: number, buffer: Buffer) => {
      const read = readFully(snap, buffer, 0, Math.min(chunkPages, pageCount - first) * pageSize, first * pageSize);
      read.catch(() => undefined); // awaited below; a read still in flight when an error ends the loop is not unhandled
      return read;
    };
    let pending = pageCount > 0 ? readChunk(0, inputs[0]) : undefined;
    const fullDigests = Buffer.allocUnsafe(chunkPages * PAGE_DIGEST_BYTES);
    const output = Buffer.allocUnsafe(chunkPages * recordBytes);
    const overlayOut = Buffer.allocUnsafe(chunkPages * OVERLAY_ENTRY_BYTES);
    const root = pageDigestRoot(pageSize, pageCount);
    let outPos = DIFF_HEADER_BYTES;
    let ovPos = OVERLAY_HEADER_BYTES;
    let records = 0;
    let overlayPages = 0;
    for (let first = 0, k = 0; first < pageCount; first += chunkPages, k++) {
      const n = Math.min(chunkPages, pageCount - first);
      const current = (k % 2) as 0 | 1;
      const input = inputs[current];
      const got = await pending!;
      pending = first + chunkPages < pageCount ? readChunk(first + chunkPages, inputs[1 - current]) : undefined;
      if (got !== n * pageSize) throw new Error('snapshot ended early');
      const inFull = Math.max(0, Math.min(n, full.pageCount - first));
      const fullRead = inFull > 0 ? readPageDigests(sidecar, first, inFull, fullDigests, full) : undefined;
      fullRead?.catch(() => undefined); // awaited below
      await digester.digest(current, n);
      await fullRead;
      root.update(digests.subarray(0, n * FULL_PAGE_DIGEST_BYTES));
      let fill = 0;
      let ovFill = 0;
      for (let i = 0; i < n; i++) {
        const pageNo = first + i + 1;
        // This page's 16-byte digest (as in the FULL's sidecar): the first 16 bytes of its SHA-256.
        const at = i * FULL_PAGE_DIGEST_BYTES;
        const end = at + PAGE_DIGEST_BYTES;
        const differsFromFull = i >= inFull || digests.compare(fullDigests, i * PAGE_DIGEST_BYTES, (i + 1) * PAGE_DIGEST_BYTES, at, end) !== 0;
        if (differsFromFull) {
          overlayOut.writeUInt32BE(pageNo, ovFill);
          digests.copy(overlayOut, ovFill + 4, at, end);
          ovFill += OVERLAY_ENTRY_BYTES;
          overlayPages++;
        }
        if (pageNo <= previous.pageCount) {
          const before = overlay.get(pageNo);
          const unchanged = before ? digests.compare(before, 0, PAGE_DIGEST_BYTES, at, end) === 0 : !differsFromFull;
          if (unchanged) continue;
        }
        output.writeUInt32BE(pageNo, fill);
        input.copy(output, fill + DIFF_RECORD_PREFIX_BYTES, i * pageSize, (i + 1) * pageSize);
        fill += recordBytes;
        records++;
      }
      if (fill > 0) {
        await writeFully(out, output, 0, fill, outPos);
        outPos += fill;
      }
      if (ovFill > 0) {
        await writeFully(ov, overlayOut, 0, ovFill, ovPos);
        ovPos += ovFill;
      }
      onProgress?.((first + n) * pageSize, snapBytes);
    }
    const sha = root.digest();
    await digester.close();
    // Every page is read: the point's moment (end of the read in place, or of the snapshot); writers may commit again.
    const pointTime = await image.release();

    await sealLogPoint({ out, ov, outPos, ovPos, partial, overlayPartial, outFile, overlayOutFile, pageSize, pageCount, previous, jobId, fullJobId, identity: sha, records, overlayPages, overlayVersion: OVERLAY_VERSION });
    out = undefined;
    ov = undefined;
    return {
      bytes: outPos + DIFF_TRAILER_BYTES,
      overlayBytes: ovPos + OVERLAY_TRAILER_BYTES,
      changedPages: records,
      overlayPages,
      pageSize,
      pageCount,
      sha256: sha.toString('hex'),
      pointTime,
      durationMs: performance.now() - started,
      snapshotMs,
    };
  } catch (error) {
    await out?.close().catch(() => undefined);
    await ov?.close().catch(() => undefined);
    out = undefined;
    ov = undefined;
    await removeQuietly(partial);
    await removeQuietly(overlayPartial);
    if (error instanceof DatabaseError) throw error;
    const code = (error as { code?: string }).code;
    throw new DatabaseError(code === 'ENOSPC' || code === 'SQLITE_FULL' ? 'DUMP_DISK_FULL' : 'LOG_WRITE_FAILED', `LOG point of ${basename(sourceDb)} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await out?.close().catch(() => undefined);
    await ov?.close().catch(() => undefined);
    await sidecar?.close().catch(() => undefined);
    await digester?.close();
    await image?.release();
  }
}

/** Size of the chunks a fast LOG point reads (whole pages), two at a time (one read while the other is compared). */
const FAST_CHUNK_BYTES = 4 * 1024 * 1024;
const fastChunkPages = (pageSize: number) => Math.max(1, Math.floor(FAST_CHUNK_BYTES / pageSize));

/** Everything {@link sealLogPoint} writes into the two `.partial` files before it renames them. */
interface SealInput {
  out: FileHandle;
  ov: FileHandle;
  /** End of the LOG's page records (where its trailer goes). */
  outPos: number;
  /** End of the overlay's entries. */
  ovPos: number;
  partial: string;
  overlayPartial: string;
  outFile: string;
  overlayOutFile: string;
  pageSize: number;
  pageCount: number;
  previous: LogPredecessor;
  jobId: number;
  fullJobId: number;
  /** The point's page-digest root (32 bytes). */
  identity: Buffer;
  records: number;
  overlayPages: number;
  overlayVersion: number;
}

/** Writes the LOG's and the overlay's headers and trailers, fsyncs and closes both, renames them to their names. */
async function sealLogPoint(x: SealInput): Promise<void> {
  const header = Buffer.alloc(DIFF_HEADER_BYTES);
  header.write(DIFF_MAGIC, 0, 'latin1');
  header.writeUInt16BE(DIFF_VERSION_PAGE_ROOT, 8);
  header.writeUInt16BE(DIFF_HEADER_BYTES, 10);
  header.writeUInt32BE(x.pageSize, 12);
  header.writeUInt32BE(x.previous.pageCount, 16);
  header.writeUInt32BE(x.pageCount, 20);
  header.writeBigUInt64BE(BigInt(x.previous.jobId), 24);
  header.writeBigUInt64BE(BigInt(x.jobId), 32);
  x.identity.copy(header, 40);
  header.writeUInt32BE(x.records, 72);
  Buffer.from(x.previous.sha256, 'hex').copy(header, 76);
  await writeFully(x.out, header, 0, header.length, 0);
  const trailer = await sha256OfRange(x.out, x.outPos);
  await writeFully(x.out, trailer, 0, trailer.length, x.outPos);

  const ovHeader = Buffer.alloc(OVERLAY_HEADER_BYTES);
  ovHeader.write(OVERLAY_MAGIC, 0, 'latin1');
  ovHeader.writeUInt16BE(x.overlayVersion, 8);
  ovHeader.writeUInt16BE(OVERLAY_HEADER_BYTES, 10);
  ovHeader.writeUInt32BE(x.pageSize, 12);
  ovHeader.writeUInt32BE(x.pageCount, 16);
  ovHeader.writeBigUInt64BE(BigInt(x.fullJobId), 20);
  ovHeader.writeBigUInt64BE(BigInt(x.jobId), 28);
  ovHeader.writeUInt32BE(x.overlayPages, 36);
  await writeFully(x.ov, ovHeader, 0, ovHeader.length, 0);
  const ovTrailer = await sha256OfRange(x.ov, x.ovPos);
  await writeFully(x.ov, ovTrailer, 0, ovTrailer.length, x.ovPos);

  for (const fh of [x.out, x.ov]) await fh.sync();
  await x.out.close();
  await x.ov.close();
  await rename(x.partial, x.outFile);
  await rename(x.overlayPartial, x.overlayOutFile);
}

/** What {@link readLogOverlayHeader} found in a LOG overlay (either version). */
export interface LogOverlayHeader {
  version: number;
  pageSize: number;
  /** Page count of the point the overlay describes. */
  pageCount: number;
  fullJobId: number;
  jobId: number;
  entries: number;
  /** Bytes per entry: 20 (version 1) or 44 (version 2). */
  entryBytes: number;
}

/**
 * Validates a LOG overlay of either version (magic, version, size, trailer SHA-256, its FULL) and returns its header.
 * @throws DatabaseError `LOG_BASE_UNUSABLE` when it is missing, damaged or of another FULL.
 */
export async function readLogOverlayHeader(file: string, fullJobId: number): Promise<LogOverlayHeader> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (error) {
    throw baseProblem(`the previous LOG point's overlay ${basename(file)} cannot be read (${(error as Error).message})`, error);
  }
  try {
    const size = (await fh.stat()).size;
    const header = Buffer.alloc(OVERLAY_HEADER_BYTES);
    if (size < OVERLAY_HEADER_BYTES + OVERLAY_TRAILER_BYTES || (await readFully(fh, header, 0, header.length, 0)) !== header.length || header.toString('latin1', 0, 8) !== OVERLAY_MAGIC) {
      throw baseProblem(`${basename(file)} is not a LOG overlay (bad header)`);
    }
    const version = header.readUInt16BE(8);
    if (version !== OVERLAY_VERSION && version !== OVERLAY_VERSION_FAST) throw baseProblem(`${basename(file)} is a LOG overlay of unknown version ${version}`);
    const entryBytes = version === OVERLAY_VERSION ? OVERLAY_ENTRY_BYTES : OVERLAY_ENTRY_V2_BYTES;
    const entries = header.readUInt32BE(36);
    const body = OVERLAY_HEADER_BYTES + entries * entryBytes;
    if (size !== body + OVERLAY_TRAILER_BYTES) throw baseProblem(`${basename(file)} is ${size} bytes, ${body + OVERLAY_TRAILER_BYTES} expected`);
    const trailer = Buffer.alloc(OVERLAY_TRAILER_BYTES);
    await readFully(fh, trailer, 0, trailer.length, body);
    if (!(await sha256OfRange(fh, body)).equals(trailer)) throw baseProblem(`${basename(file)} is damaged (trailer SHA-256 mismatch)`);
    const ofFull = Number(header.readBigUInt64BE(20));
    if (ofFull !== fullJobId) throw baseProblem(`${basename(file)} belongs to the cycle of FULL job ${ofFull}, not ${fullJobId}`);
    return { version, pageSize: header.readUInt32BE(12), pageCount: header.readUInt32BE(16), fullJobId: ofFull, jobId: Number(header.readBigUInt64BE(28)), entries, entryBytes };
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * The previous point's differences from the FULL as a stream of version-2 overlay entries, and the file it reads.
 * @throws DatabaseError `LOG_BASE_UNUSABLE` when the overlay or DIFFERENTIAL is missing, damaged, of another FULL or
 *   point, or a version-1 overlay (which cannot continue a FULL with version-2 page hashes).
 */
async function previousEntries(previous: LogPredecessor, fullJobId: number, pageSize: number): Promise<{ source: OverlayEntrySource; fh?: FileHandle; what: string }> {
  if (previous.overlay.kind === 'full') return { source: NO_ENTRIES, what: 'the FULL' };
  const file = previous.overlay.file;
  if (previous.overlay.kind === 'log') {
    const h = await readLogOverlayHeader(file, fullJobId);
    if (h.version !== OVERLAY_VERSION_FAST) throw baseProblem(`${basename(file)} is a version-${h.version} overlay, which cannot continue a FULL with version-2 page hashes: take a FULL`);
    if (h.pageCount !== previous.pageCount || h.pageSize !== pageSize) throw baseProblem(`${basename(file)} describes ${h.pageCount} pages of ${h.pageSize} bytes, the previous point has ${previous.pageCount} of ${pageSize}`);
    const fh = await open(file, 'r');
    return { source: overlayFileEntries(fh, OVERLAY_HEADER_BYTES, h.entries), fh, what: `the previous LOG point's overlay ${basename(file)}` };
  }
  let header;
  try {
    header = await readDifferentialHeader(file);
  } catch (error) {
    throw baseProblem(`the DIFFERENTIAL the LOG continues is unusable: ${(error as Error).message}`, error);
  }
  if (header.pageSize !== pageSize) throw baseProblem(`the DIFFERENTIAL the LOG continues has ${header.pageSize}-byte pages, not ${pageSize}`);
  const fh = await open(file, 'r');
  return { source: differentialEntries(fh, DIFF_HEADER_BYTES, header.records, pageSize), fh, what: `the DIFFERENTIAL ${basename(file)}` };
}

/** Whether the 8 bytes at `a[ai]` equal those at `b[bi]` (two XXH64s). */
function same8(a: Buffer, ai: number, b: Buffer, bi: number): boolean {
  return a.readInt32LE(ai) === b.readInt32LE(bi) && a.readInt32LE(ai + 4) === b.readInt32LE(bi + 4);
}

/**
 * A LOG point against a FULL whose sidecar is version 2 (see {@link writeLogPoint}): the database is read in
 * {@link FAST_CHUNK_BYTES} chunks straight into a WebAssembly memory (the next chunk read while this one is compared),
 * every page's XXH64 is computed there (`page-xxh64.ts`) and compared with the previous point's — the previous
 * overlay's entry for the page if it has one, else the FULL's. An unchanged page's SHA-256 (for the page-digest root)
 * is the previous point's; a changed page's is computed. The FULL's sidecar trailer is checked at the end of the
 * pass, before anything is published.
 */
async function writeLogPointFast(options: WriteLogPointOptions, full: PageHashesHeader): Promise<LogPointResult> {
  const started = performance.now();
  const { sourceDb, fullHashesFile, fullJobId, previous, outFile, overlayOutFile, jobId, onProgress } = options;
  const partial = `${outFile}.partial`;
  const overlayPartial = `${overlayOutFile}.partial`;
  let image: ConsistentImage | undefined;
  let sidecar: FileHandle | undefined;
  let prevFh: FileHandle | undefined;
  let out: FileHandle | undefined;
  let ov: FileHandle | undefined;
  try {
    try {
      sidecar = await open(fullHashesFile, 'r');
    } catch (error) {
      throw baseProblem(`cannot take a LOG point: the FULL's page hashes cannot be read (${(error as Error).message})`, error);
    }
    const fullReader = new SidecarEntryReader(sidecar, full, fullHashesFile, fastChunkPages(full.pageSize));
    await fullReader.begin();
    const prev = await previousEntries(previous, fullJobId, full.pageSize);
    prevFh = prev.fh;
    image = await openConsistentImage({ sourceDb, live: options.live, takeSnapshot: options.takeSnapshot, outFile, purpose: 'a LOG point' });
    const snapshotMs = image.preparedMs;
    const { pageSize, pageCount, handle: snap } = image;
    if (pageSize !== full.pageSize) throw baseProblem(`page size changed since the FULL (${full.pageSize} → ${pageSize} bytes): take a FULL`);
    out = await open(partial, 'w+');
    ov = await open(overlayPartial, 'w+');
    const scan = await scanPages({ snap, pageSize, pageCount, full, fullReader, cursorSource: prev.source, cursorWhat: prev.what, previous, out, ov, onProgress });
    await fullReader.verify();
    // Every page is read: the point's moment (end of the read in place, or of the snapshot); writers may commit again.
    const pointTime = await image.release();
    await sealLogPoint({ out, ov, outPos: scan.outPos, ovPos: scan.ovPos, partial, overlayPartial, outFile, overlayOutFile, pageSize, pageCount, previous, jobId, fullJobId, identity: scan.root, records: scan.records, overlayPages: scan.overlayPages, overlayVersion: OVERLAY_VERSION_FAST });
    out = undefined;
    ov = undefined;
    return {
      bytes: scan.outPos + DIFF_TRAILER_BYTES,
      overlayBytes: scan.ovPos + OVERLAY_TRAILER_BYTES,
      changedPages: scan.records,
      overlayPages: scan.overlayPages,
      pageSize,
      pageCount,
      sha256: scan.root.toString('hex'),
      pointTime,
      durationMs: performance.now() - started,
      snapshotMs,
    };
  } catch (error) {
    await out?.close().catch(() => undefined);
    await ov?.close().catch(() => undefined);
    out = undefined;
    ov = undefined;
    await removeQuietly(partial);
    await removeQuietly(overlayPartial);
    if (error instanceof DatabaseError) throw error;
    const code = (error as { code?: string }).code;
    throw new DatabaseError(code === 'ENOSPC' || code === 'SQLITE_FULL' ? 'DUMP_DISK_FULL' : 'LOG_WRITE_FAILED', `LOG point of ${basename(sourceDb)} failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await out?.close().catch(() => undefined);
    await ov?.close().catch(() => undefined);
    await sidecar?.close().catch(() => undefined);
    await prevFh?.close().catch(() => undefined);
    await image?.release();
  }
}

/** The one pass of {@link writeLogPointFast}: what it reads from and writes to. */
interface ScanInput {
  snap: FileHandle;
  pageSize: number;
  pageCount: number;
  full: PageHashesHeader;
  fullReader: SidecarEntryReader;
  cursorSource: OverlayEntrySource;
  cursorWhat: string;
  previous: LogPredecessor;
  out: FileHandle;
  ov: FileHandle;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Reads every page once, writes the changed pages (LOG records) and the pages that differ from the FULL (overlay). */
async function scanPages(x: ScanInput): Promise<{ outPos: number; ovPos: number; records: number; overlayPages: number; root: Buffer }> {
  const { snap, pageSize, pageCount, full, fullReader, previous, out, ov } = x;
  const chunkPages = fastChunkPages(pageSize);
  const chunkBytes = chunkPages * pageSize;
  const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
  // One shared WebAssembly memory: two input chunks, then the XXH64 of each page of the chunk being compared.
  const memory = sharedPageMemory(2 * chunkBytes + chunkPages * XXH64_BYTES);
  const mem = Buffer.from(memory.buffer as unknown as ArrayBuffer);
  const inputs = [mem.subarray(0, chunkBytes), mem.subarray(chunkBytes, 2 * chunkBytes)];
  const xxhAt = 2 * chunkBytes;
  const xxh64 = xxh64Pages(memory);
  const cursor = new OverlayCursor(x.cursorSource, chunkPages, x.cursorWhat);
  const shas = Buffer.allocUnsafe(chunkPages * FULL_PAGE_DIGEST_BYTES);
  // Two output buffers each: a chunk's writes run while the next chunk is compared.
  const outputs = [Buffer.allocUnsafe(chunkPages * recordBytes), Buffer.allocUnsafe(chunkPages * recordBytes)];
  const overlayOuts = [Buffer.allocUnsafe(chunkPages * OVERLAY_ENTRY_V2_BYTES), Buffer.allocUnsafe(chunkPages * OVERLAY_ENTRY_V2_BYTES)];
  const writes: Array<Promise<void> | undefined> = [undefined, undefined];
  const root = pageDigestRoot(pageSize, pageCount);
  const readChunk = (first: number, k: number) => {
    const read = readFully(snap, inputs[k % 2], 0, Math.min(chunkPages, pageCount - first) * pageSize, first * pageSize);
    read.catch(() => undefined); // awaited below; a read still in flight when an error ends the loop is not unhandled
    return read;
  };
  let pending = pageCount > 0 ? readChunk(0, 0) : undefined;
  let outPos = DIFF_HEADER_BYTES;
  let ovPos = OVERLAY_HEADER_BYTES;
  let records = 0;
  let overlayPages = 0;
  for (let first = 0, k = 0; first < pageCount; first += chunkPages, k++) {
    const n = Math.min(chunkPages, pageCount - first);
    const input = inputs[k % 2];
    await writes[k % 2]; // this chunk's output buffers are free again
    const output = outputs[k % 2];
    const overlayOut = overlayOuts[k % 2];
    const got = await pending!;
    pending = first + chunkPages < pageCount ? readChunk(first + chunkPages, k + 1) : undefined;
    if (got !== n * pageSize) throw new Error('snapshot ended early');
    const inFull = Math.max(0, Math.min(n, full.pageCount - first));
    const fullEntries = inFull > 0 ? await fullReader.take(inFull) : mem.subarray(0, 0);
    await cursor.collect(first, n);
    xxh64((k % 2) * chunkBytes, n, pageSize, xxhAt, 0n);
    let fill = 0;
    let ovFill = 0;
    for (let i = 0; i < n; i++) {
      const pageNo = first + i + 1;
      const xAt = xxhAt + i * XXH64_BYTES;
      const fullAt = i < inFull ? i * PAGE_ENTRY_BYTES : -1;
      const slot = cursor.slotOf(i);
      // The previous point's entry of this page: its overlay's, else the FULL's (none: a page the point did not have).
      let unchanged = false;
      if (pageNo <= previous.pageCount) {
        if (slot >= 0 && same8(mem, xAt, cursor.entries, slot + 4)) {
          cursor.entries.copy(shas, i * FULL_PAGE_DIGEST_BYTES, slot + 4 + PAGE_ENTRY_SHA256_AT, slot + OVERLAY_ENTRY_V2_BYTES);
          unchanged = true;
        } else if (slot < 0 && fullAt >= 0 && same8(mem, xAt, fullEntries, fullAt)) {
          fullEntries.copy(shas, i * FULL_PAGE_DIGEST_BYTES, fullAt + PAGE_ENTRY_SHA256_AT, fullAt + PAGE_ENTRY_BYTES);
          unchanged = true;
        }
      }
      const page = input.subarray(i * pageSize, (i + 1) * pageSize);
      if (!unchanged) {
        oneShotHash('sha256', page, 'buffer').copy(shas, i * FULL_PAGE_DIGEST_BYTES);
        output.writeUInt32BE(pageNo, fill);
        page.copy(output, fill + DIFF_RECORD_PREFIX_BYTES);
        fill += recordBytes;
        records++;
      }
      if (fullAt < 0 || !same8(mem, xAt, fullEntries, fullAt)) {
        overlayOut.writeUInt32BE(pageNo, ovFill);
        mem.copy(overlayOut, ovFill + 4, xAt, xAt + XXH64_BYTES);
        shas.copy(overlayOut, ovFill + 4 + XXH64_BYTES, i * FULL_PAGE_DIGEST_BYTES, (i + 1) * FULL_PAGE_DIGEST_BYTES);
        ovFill += OVERLAY_ENTRY_V2_BYTES;
        overlayPages++;
      }
    }
    root.update(shas.subarray(0, n * FULL_PAGE_DIGEST_BYTES));
    const written = Promise.all([fill > 0 ? writeFully(out, output, 0, fill, outPos) : undefined, ovFill > 0 ? writeFully(ov, overlayOut, 0, ovFill, ovPos) : undefined]).then(() => undefined);
    written.catch(() => undefined); // awaited two chunks later, or below
    writes[k % 2] = written;
    outPos += fill;
    ovPos += ovFill;
    x.onProgress?.((first + n) * pageSize, pageCount * pageSize);
  }
  await Promise.all(writes);
  return { outPos, ovPos, records, overlayPages, root: root.digest() };
}

/** The state a LOG chain is applied to: the restored FULL (or FULL + DIFFERENTIAL) it starts from. */
export interface LogChainBase {
  jobId: number;
  pageCount: number;
  /** SHA-256 (hex) of the base database, already verified by the caller. */
  sha256: string;
}

/** What {@link applyLogChainInPlace} produced. */
export interface LogChainResult {
  /** Job id of the last LOG applied. */
  jobId: number;
  bytes: number;
  pageCount: number;
  /** Page records written, over all LOGs. */
  appliedPages: number;
  /** SHA-256 of the result's bytes (the last LOG's recorded identity when it is a version-1 LOG). */
  sha256: string;
  /** The last LOG's recorded identity, which the result was verified against: `sha256` (version 1) or the result's page-digest root (version 2). */
  identity: { kind: 'sha256' | 'page-root'; value: string };
  durationMs: number;
}

/**
 * Applies a chain of LOG points, oldest first, in place to `file` (the verified database of `base`). Before the first
 * write every LOG is validated (`readDifferentialHeader`: trailer, records) and the links are checked: LOG 1 continues
 * `base` (job id, page count, SHA-256), LOG k continues LOG k−1. Then each LOG's pages are written (positional writes)
 * and the file is cut or grown to its page count; finally the result is read once and its identity must equal the last
 * LOG's recorded one: its SHA-256 (a version-1 LOG) or its page-digest root (version 2; computed in the same read as
 * the SHA-256 of its bytes, which is returned either way). The file is left half-patched if a write fails or the final check fails: work on a copy.
 *
 * @throws DatabaseError `LOG_CHAIN_BROKEN` (a link does not match: a LOG is missing, from another chain or the base is
 *   another point), `DIFF_CORRUPT` (a damaged LOG), `RESTORE_VERIFY_FAILED` (the result's SHA-256 differs),
 *   `RESTORE_WRITE_FAILED` (I/O).
 */
export async function applyLogChainInPlace(file: string, base: LogChainBase, logFiles: readonly string[]): Promise<LogChainResult> {
  const started = performance.now();
  const headers = [];
  let link = { jobId: base.jobId, pageCount: base.pageCount, sha256: base.sha256, name: 'the base' };
  for (const logFile of logFiles) {
    const h = await readDifferentialHeader(logFile);
    const broken = (why: string) => new DatabaseError('LOG_CHAIN_BROKEN', `${basename(logFile)} does not continue ${link.name} (job ${link.jobId}): ${why}`, { context: { log: basename(logFile) } });
    if (h.baseJobId !== link.jobId) throw broken(`it continues job ${h.baseJobId}`);
    if (h.basePageCount !== link.pageCount) throw broken(`its base has ${h.basePageCount} pages, not ${link.pageCount}`);
    if (h.baseSha256 !== link.sha256) throw broken(`its base SHA-256 ${h.baseSha256.slice(0, 12)}… is not ${link.sha256.slice(0, 12)}…`);
    headers.push({ file: logFile, header: h });
    link = { jobId: h.jobId, pageCount: h.pageCount, sha256: h.sha256, name: basename(logFile) };
  }
  if (headers.length === 0) throw new DatabaseError('LOG_CHAIN_BROKEN', 'no LOG point to apply');
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, 'r+');
    const pageSize = headers[0].header.pageSize;
    const size = (await fh.stat()).size;
    if (size !== base.pageCount * pageSize) throw new DatabaseError('LOG_CHAIN_BROKEN', `${basename(file)} is ${size} bytes, the chain's base has ${base.pageCount} pages of ${pageSize} bytes`);
    let applied = 0;
    for (const { file: logFile, header } of headers) {
      const recordBytes = DIFF_RECORD_PREFIX_BYTES + header.pageSize;
      const perChunk = Math.max(1, Math.floor((1024 * 1024) / recordBytes));
      const buffer = Buffer.allocUnsafe(perChunk * recordBytes);
      const logFh = await open(logFile, 'r');
      try {
        for (let i = 0; i < header.records; i += perChunk) {
          const n = Math.min(perChunk, header.records - i);
          if ((await readFully(logFh, buffer, 0, n * recordBytes, DIFF_HEADER_BYTES + i * recordBytes)) !== n * recordBytes) throw new Error(`${basename(logFile)} ended early`);
          for (let r = 0; r < n; r++) {
            const at = r * recordBytes;
            await writeFully(fh, buffer, at + DIFF_RECORD_PREFIX_BYTES, header.pageSize, (buffer.readUInt32BE(at) - 1) * header.pageSize);
          }
          applied += n;
        }
      } finally {
        await logFh.close();
      }
      await fh.truncate(header.pageCount * header.pageSize);
    }
    const last = headers.at(-1)!.header;
    const bytes = last.pageCount * last.pageSize;
    let sha256: string;
    let actual: string;
    if (last.identity === 'page-root') {
      const both = await fileIdentities(fh, last.pageSize, last.pageCount);
      sha256 = both.sha256;
      actual = both.pageRoot;
    } else {
      sha256 = (await sha256OfRange(fh, bytes)).toString('hex');
      actual = sha256;
    }
    if (actual !== last.sha256) {
      const what = last.identity === 'page-root' ? 'page-digest root' : 'SHA-256';
      throw new DatabaseError('RESTORE_VERIFY_FAILED', `the database rebuilt to LOG job ${last.jobId} has ${what} ${actual.slice(0, 12)}…, not the recorded ${last.sha256.slice(0, 12)}…`);
    }
    return { jobId: last.jobId, bytes, pageCount: last.pageCount, appliedPages: applied, sha256, identity: { kind: last.identity, value: last.sha256 }, durationMs: performance.now() - started };
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError('RESTORE_WRITE_FAILED', `cannot apply the LOG chain to ${basename(file)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await fh?.close().catch(() => undefined);
  }
}
