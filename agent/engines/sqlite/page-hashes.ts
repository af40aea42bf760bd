/**
 * Page-hash sidecar of a SQLite FULL dump (issue 3, issue 17): one entry per database page, so that a later
 * DIFFERENTIAL or LOG point can tell which pages changed since the FULL without reading the FULL dump back.
 *
 * ## Sidecar format `CSDRPH01` (all integers big-endian)
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic, ASCII `CSDRPH01` |
 * | 8 | 2 | format version, uint16 (2 written today; 1 still read) |
 * | 10 | 2 | header length in bytes, uint16 (= 96) |
 * | 12 | 1 | page-entry algorithm id, uint8 (version 1: 1; version 2: 2, see below) |
 * | 13 | 1 | page-entry length in bytes, uint8 (version 1: 16; version 2: 40) |
 * | 14 | 2 | reserved, zero |
 * | 16 | 4 | page size in bytes, uint32 (512 … 65536) |
 * | 20 | 4 | page count of the dump, uint32 |
 * | 24 | 8 | size of the dump in bytes, uint64 (= page size × page count) |
 * | 32 | 8 | job id of the FULL, uint64 (0 = not recorded) |
 * | 40 | 32 | SHA-256 of the whole dump file |
 * | 72 | 24 | reserved, zero |
 * | 96 | L × page count | entry of page 1, page 2, … (page n at offset 96 + L × (n − 1)), L = entry length |
 * | 96 + L × page count | 32 | trailer: SHA-256 of every byte before it |
 *
 * Entries:
 * - **version 1** (algorithm 1, FULLs taken before 2026-12-06): the first 16 bytes of the page's SHA-256. 1/256 of
 *   the dump at 4 KiB pages. A LOG point continuing such a FULL hashes every page with SHA-256 (log-point.ts).
 * - **version 2** (algorithm 2): the page's XXH64 (seed 0; 8 bytes, little-endian, `page-xxh64.ts`) then its full
 *   SHA-256 (32 bytes). 40 bytes per page: 1/102 of the dump at 4 KiB pages (10 MiB per GiB). A LOG point finds the
 *   changed pages by XXH64 alone (≈ 16 GB/s in WebAssembly, against ≈ 1 GB/s for SHA-256) and takes the SHA-256 of an
 *   unchanged page, which its identity (the page-digest root) needs, from here. A DIFFERENTIAL compares the first 16
 *   bytes of the SHA-256, as with version 1.
 *
 * ## Why a 128-bit truncated SHA-256 is enough (DIFFERENTIAL)
 * A page is reported unchanged only when its new digest equals the FULL's digest *of the same page
 * number*. For non-adversarial content that is a 2⁻¹²⁸ event per changed page; even over the
 * 2³² pages a SQLite file can hold, the chance of one miss stays below 2⁻⁹⁶. And a miss would not go
 * unnoticed: every DIFFERENTIAL records the SHA-256 of the whole reconstructed database, which the
 * restore verifies, so a collision can only make a restore refuse, never make it silently wrong.
 *
 * ## Why a 64-bit XXH64 is enough to find a LOG point's changed pages
 * A page is taken as unchanged since the previous point when its XXH64 equals the previous point's XXH64 of the same
 * page number. XXH64 passes SMHasher's distribution and collision tests: for two different pages it collides with
 * probability ≈ 2⁻⁶⁴. Bound for a busy CommServe: a 100 GB database (25 M pages of 4 KiB) with *every* page changing
 * between *every* two points, one point every 5 minutes (105,120 a year), is 2.6 × 10¹² ≈ 2⁴¹ comparisons of a
 * changed page a year: the chance of one miss in a year stays below 1.5 × 10⁻⁷ (1 in 7 million); with 0.1% of the
 * pages changing per point it is below 1.5 × 10⁻¹⁰. That is well below the rate of undetected read errors of the disks the pages come from.
 * XXH64 is not a cryptographic hash: whoever can write chosen bytes into the CommServe database could in principle
 * craft a page with the old page's XXH64; such a writer can already alter the catalog, and the FULL and DIFFERENTIAL
 * (compared by SHA-256) still capture the page.
 *
 * **What a miss would do** (the 2⁻⁶⁴ event): the page is not in the LOG and its SHA-256 is taken from the previous
 * point, so the point's identity describes the database *without* that page's change; recovery to that point rebuilds
 * and verifies exactly that, i.e. restores one page as it was at the previous point (an inconsistency SQLite's
 * `quick_check` after recovery may or may not notice). The next LOG point that sees the page change again, and the
 * next DIFFERENTIAL or FULL, carry the page. It can never corrupt a FULL or a DIFFERENTIAL.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { DatabaseError } from '#core/errors';
import { readSqliteHeader } from './sqlite-engine';
import { sharedPageMemory, xxh64Pages, XXH64_BYTES, type WasmMemory, type Xxh64Pages } from './page-xxh64';

/** Magic of the page-hash sidecar (bytes 0–7). */
export const PAGE_HASHES_MAGIC = 'CSDRPH01';
/** Sidecar format version written (bytes 8–9): 2, entries of XXH64 + SHA-256. */
export const PAGE_HASHES_VERSION = 2;
/** The older sidecar format version, still read: entries of the first 16 bytes of SHA-256. */
export const PAGE_HASHES_VERSION_TRUNCATED = 1;
/** Sidecar header length in bytes; page digests start at this offset. */
export const PAGE_HASHES_HEADER_BYTES = 96;
/** Algorithm id 1: the first 16 bytes of the SHA-256 of the page. */
export const PAGE_DIGEST_ALGORITHM_SHA256_128 = 1;
/** Length in bytes of one page digest (a version-1 entry; what {@link readPageDigests} returns for either version). */
export const PAGE_DIGEST_BYTES = 16;
/** Algorithm id 2 (version 2): the page's XXH64 (seed 0, little-endian), then its SHA-256. */
export const PAGE_ENTRY_ALGORITHM_XXH64_SHA256 = 2;
/** Length in bytes of a version-2 entry: XXH64 (8) + SHA-256 (32). */
export const PAGE_ENTRY_BYTES = XXH64_BYTES + 32;
/** Offset of the SHA-256 in a version-2 entry. */
export const PAGE_ENTRY_SHA256_AT = XXH64_BYTES;
/** Length in bytes of the sidecar's trailer (SHA-256 of everything before it). */
export const PAGE_HASHES_TRAILER_BYTES = 32;
/** Size of the sequential reads over database files (rounded down to whole pages). */
export const IO_CHUNK_BYTES = 1024 * 1024;

/** Header of a page-hash sidecar, as returned by {@link readPageHashes}. */
export interface PageHashesHeader {
  /** Format version (1 or 2). */
  version: number;
  /** Page-entry algorithm id ({@link PAGE_DIGEST_ALGORITHM_SHA256_128} or {@link PAGE_ENTRY_ALGORITHM_XXH64_SHA256}). */
  algorithm: number;
  /** Bytes per page entry (16 or 40). */
  digestBytes: number;
  /** Page size of the FULL dump, bytes. */
  pageSize: number;
  /** Page count of the FULL dump. */
  pageCount: number;
  /** Size of the FULL dump, bytes. */
  dumpBytes: number;
  /** Job id of the FULL, or 0 when it was not recorded. */
  jobId: number;
  /** SHA-256 of the whole FULL dump, lowercase hex. */
  dumpSha256: string;
  /** Size of the sidecar file itself, bytes. */
  fileBytes: number;
}

/** What {@link writePageHashes} wrote. */
export interface PageHashesResult {
  /** Page size of the dump, bytes. */
  pageSize: number;
  /** Page count of the dump (its size divided by the page size). */
  pageCount: number;
  /** Size of the sidecar written, bytes. */
  bytes: number;
  /** SHA-256 of the whole dump, lowercase hex (also recorded in the sidecar, offset 40). */
  dumpSha256: string;
}

/** The 16-byte digest of one page (first 16 bytes of its SHA-256). */
export function pageDigest(page: Uint8Array): Buffer {
  return oneShotHash('sha256', page, 'buffer').subarray(0, PAGE_DIGEST_BYTES);
}

/** The 40-byte version-2 entry of one page: XXH64 (seed 0, little-endian) then SHA-256. */
export function pageEntry(page: Uint8Array): Buffer {
  return new PageEntryHasher(page.length, 1).entries(page, 1);
}

/**
 * Version-2 entries of whole pages, one chunk at a time: the pages are copied into a WebAssembly memory of its own for
 * XXH64 (`page-xxh64.ts`); the SHA-256 of each page is node:crypto's. Memory: `chunkPages × (pageSize + 48)` bytes.
 */
export class PageEntryHasher {
  private readonly memory: WasmMemory;
  private readonly view: Buffer;
  private readonly xxh64: Xxh64Pages;
  private readonly out: Buffer;

  constructor(readonly pageSize: number, readonly chunkPages: number) {
    this.memory = sharedPageMemory(chunkPages * (pageSize + XXH64_BYTES));
    this.view = Buffer.from(this.memory.buffer as unknown as ArrayBuffer);
    this.xxh64 = xxh64Pages(this.memory);
    this.out = Buffer.allocUnsafe(chunkPages * PAGE_ENTRY_BYTES);
  }

  /**
   * The entries of the first `count` pages of `data` (≤ `chunkPages`), 40 bytes each, in page order. The returned
   * buffer is reused by the next call.
   */
  entries(data: Uint8Array, count: number): Buffer {
    if (count > this.chunkPages) throw new RangeError(`${count} pages exceed the chunk of ${this.chunkPages}`);
    const size = this.pageSize;
    const at = this.chunkPages * size;
    this.view.set(data.subarray(0, count * size), 0);
    this.xxh64(0, count, size, at, 0n);
    for (let i = 0; i < count; i++) {
      this.view.copy(this.out, i * PAGE_ENTRY_BYTES, at + i * XXH64_BYTES, at + (i + 1) * XXH64_BYTES);
      oneShotHash('sha256', data.subarray(i * size, (i + 1) * size), 'buffer').copy(this.out, i * PAGE_ENTRY_BYTES + PAGE_ENTRY_SHA256_AT);
    }
    return this.out.subarray(0, count * PAGE_ENTRY_BYTES);
  }
}

/**
 * JavaScript source for an eval'd worker (the FULL's hashing worker, `agent/hotsite/hash-worker.ts`): defines
 * `pageEntries(view, pageSize, pages)` returning a Buffer over its own ArrayBuffer with the version-2 entries of the
 * first `pages` pages of `view`. The worker must be created with `workerData.xxh64` = `xxh64PagesModule()`.
 */
export const PAGE_ENTRIES_WORKER_SOURCE = `
const pageEntryCrypto = require('node:crypto');
const pageEntryState = { bytes: 0, memory: undefined, hash: undefined };
function pageEntries(view, pageSize, pages) {
  const need = pages * (pageSize + ${XXH64_BYTES});
  if (pageEntryState.bytes < need) {
    const wasmPages = Math.max(1, Math.ceil(need / 65536));
    const memory = new WebAssembly.Memory({ initial: wasmPages, maximum: wasmPages, shared: true });
    const instance = new WebAssembly.Instance(require('node:worker_threads').workerData.xxh64, { e: { m: memory } });
    pageEntryState.bytes = wasmPages * 65536;
    pageEntryState.memory = memory;
    pageEntryState.hash = instance.exports.p;
  }
  const mem = Buffer.from(pageEntryState.memory.buffer);
  const at = pages * pageSize;
  view.copy(mem, 0, 0, at);
  pageEntryState.hash(0, pages, pageSize, at, 0n);
  const out = Buffer.from(new ArrayBuffer(pages * ${PAGE_ENTRY_BYTES}));
  for (let i = 0; i < pages; i++) {
    mem.copy(out, i * ${PAGE_ENTRY_BYTES}, at + i * ${XXH64_BYTES}, at + (i + 1) * ${XXH64_BYTES});
    pageEntryCrypto.hash('sha256', view.subarray(i * pageSize, (i + 1) * pageSize), 'buffer').copy(out, i * ${PAGE_ENTRY_BYTES} + ${XXH64_BYTES});
  }
  return out;
}
`;

/** Largest whole number of pages that fits in {@link IO_CHUNK_BYTES} (at least one page). */
export function pagesPerChunk(pageSize: number): number {
  return Math.max(1, Math.floor(IO_CHUNK_BYTES / pageSize));
}

/**
 * Reads up to `length` bytes at `position` into `buffer[offset…]`, looping over short reads.
 * @returns the number of bytes read (less than `length` only at end of file).
 */
export async function readFully(fh: FileHandle, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, offset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `buffer[offset, offset+length)` at `position`, looping over short writes. */
export async function writeFully(fh: FileHandle, buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesWritten } = await fh.write(buffer, offset + done, length - done, position + done);
    if (bytesWritten === 0) throw new Error(`short write at byte ${position + done}`);
    done += bytesWritten;
  }
}

/** SHA-256 (raw 32 bytes) of the first `length` bytes of an open file, read sequentially in 1 MiB chunks. */
export async function sha256OfRange(fh: FileHandle, length: number): Promise<Buffer> {
  const hasher = createHash('sha256');
  const buffer = Buffer.allocUnsafe(IO_CHUNK_BYTES);
  let position = 0;
  while (position < length) {
    const want = Math.min(IO_CHUNK_BYTES, length - position);
    const got = await readFully(fh, buffer, 0, want, position);
    if (got !== want) throw new Error(`file ended at byte ${position + got}, expected ${length} bytes`);
    hasher.update(buffer.subarray(0, got));
    position += got;
  }
  return hasher.digest();
}

/** Removes a file if present; never throws. */
export async function removeQuietly(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}

function checkJobId(jobId: number, what: string): void {
  if (!Number.isSafeInteger(jobId) || jobId < 0) throw new RangeError(`${what} must be a non-negative integer, got ${String(jobId)}`);
}

/**
 * Computes the page-hash sidecar of a FULL dump in one sequential pass over the dump (1 MiB reads,
 * memory bounded whatever the dump size) and writes it to `sidecarFile` (via `<sidecarFile>.partial`,
 * fsynced and renamed, so a crash never leaves a half sidecar under the final name).
 *
 * @param dumpFile the FULL dump: an SQLite database file in rollback-journal mode (as `dumpFull` writes it).
 * @param sidecarFile where to write the sidecar (created or replaced).
 * @param options.jobId job id of the FULL, recorded at offset 32 so a DIFFERENTIAL can check its base (0 = none).
 * @returns page size, page count, sidecar size and the SHA-256 of the dump.
 * @throws DatabaseError `DB_NOT_SQLITE` when the dump has no SQLite header, `DUMP_INVALID` when its size is
 *   not a whole number of pages, `PAGE_HASHES_WRITE_FAILED` when reading the dump or writing the sidecar fails.
 */
export async function writePageHashes(dumpFile: string, sidecarFile: string, options: { jobId?: number } = {}): Promise<PageHashesResult> {
  const jobId = options.jobId ?? 0;
  checkJobId(jobId, 'jobId');
  const { pageSize } = readSqliteHeader(dumpFile);
  let dump: FileHandle | undefined;
  let writer: PageHashesWriter | undefined;
  try {
    dump = await open(dumpFile, 'r');
    const dumpBytes = (await dump.stat()).size;
    if (dumpBytes % pageSize !== 0) {
      throw new DatabaseError('DUMP_INVALID', `${basename(dumpFile)} is ${dumpBytes} bytes, not a whole number of ${pageSize}-byte pages`);
    }
    const pageCount = dumpBytes / pageSize;
    writer = await PageHashesWriter.create(sidecarFile, pageSize, jobId);
    const whole = createHash('sha256');
    const chunkPages = pagesPerChunk(pageSize);
    const buffer = Buffer.allocUnsafe(chunkPages * pageSize);
    const hasher = new PageEntryHasher(pageSize, chunkPages);
    for (let page = 0; page < pageCount; page += chunkPages) {
      const n = Math.min(chunkPages, pageCount - page);
      const got = await readFully(dump, buffer, 0, n * pageSize, page * pageSize);
      if (got !== n * pageSize) throw new Error(`${basename(dumpFile)} shrank while it was read`);
      whole.update(buffer.subarray(0, got));
      await writer.addDigests(hasher.entries(buffer, n), got);
    }
    return await writer.finish(whole.digest('hex'));
  } catch (error) {
    await writer?.abort();
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError('PAGE_HASHES_WRITE_FAILED', `cannot write the page hashes of ${basename(dumpFile)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await dump?.close().catch(() => undefined);
  }
}

/**
 * Writes a page-hash sidecar (version 2) from page entries a caller computes in its own pass over the FULL dump (phase
 * 1's single read: checksums, upload and page entries at once, the entries in a hashing worker that runs
 * {@link PAGE_ENTRIES_WORKER_SOURCE}). Entries go to
 * `<sidecarFile>.partial` as they arrive (memory: none kept, whatever the dump size); {@link finish} writes the header
 * and trailer, fsyncs and renames. Same file as {@link writePageHashes} writes for the same dump.
 */
export class PageHashesWriter {
  private out: FileHandle | undefined;
  private outPos = PAGE_HASHES_HEADER_BYTES;
  private pages = 0;
  private bytes = 0;
  private readonly partial: string;

  private constructor(
    readonly sidecarFile: string,
    readonly pageSize: number,
    private readonly jobId: number,
  ) {
    checkJobId(jobId, 'jobId');
    this.partial = `${sidecarFile}.partial`;
  }

  /**
   * Starts a sidecar for a dump of `pageSize`-byte pages (512 … 65536, a power of two).
   * @throws DatabaseError `PAGE_HASHES_WRITE_FAILED` when the partial file cannot be created.
   */
  static async create(sidecarFile: string, pageSize: number, jobId: number): Promise<PageHashesWriter> {
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new RangeError(`impossible page size ${pageSize}`);
    const writer = new PageHashesWriter(sidecarFile, pageSize, jobId);
    try {
      writer.out = await open(writer.partial, 'w+');
    } catch (error) {
      throw new DatabaseError('PAGE_HASHES_WRITE_FAILED', `cannot create ${basename(writer.partial)}: ${(error as Error).message}`, { cause: error });
    }
    return writer;
  }

  /**
   * The entries ({@link pageEntry}, 40 bytes each: XXH64 then SHA-256) of the next pages of the dump, in order, and the
   * dump bytes they came from (`bytes` beyond the whole pages — a dump that is not whole pages — make {@link finish}
   * refuse it).
   * @throws RangeError when `digests` is not a whole number of 40-byte entries.
   */
  async addDigests(digests: Buffer, bytes: number): Promise<void> {
    if (digests.length % PAGE_ENTRY_BYTES !== 0) throw new RangeError(`${digests.length} bytes of page entries: not whole ${PAGE_ENTRY_BYTES}-byte entries`);
    await writeFully(this.out!, digests, 0, digests.length, this.outPos);
    this.outPos += digests.length;
    this.pages += digests.length / PAGE_ENTRY_BYTES;
    this.bytes += bytes;
  }

  /**
   * Completes the sidecar: header (with `dumpSha256`, the SHA-256 of the whole dump, which the caller computed in
   * the same pass), trailer, fsync, rename to the final name.
   * @returns as {@link writePageHashes}.
   * @throws DatabaseError `DUMP_INVALID` when the bytes were not a whole number of pages, `PAGE_HASHES_WRITE_FAILED`
   *   when writing fails (the partial file is removed in both cases).
   */
  async finish(dumpSha256: string): Promise<PageHashesResult> {
    try {
      if (this.bytes !== this.pages * this.pageSize) throw new DatabaseError('DUMP_INVALID', `the dump is ${this.bytes} bytes, not a whole number of ${this.pageSize}-byte pages`);
      const header = Buffer.alloc(PAGE_HASHES_HEADER_BYTES);
      header.write(PAGE_HASHES_MAGIC, 0, 'latin1');
      header.writeUInt16BE(PAGE_HASHES_VERSION, 8);
      header.writeUInt16BE(PAGE_HASHES_HEADER_BYTES, 10);
      header.writeUInt8(PAGE_ENTRY_ALGORITHM_XXH64_SHA256, 12);
      header.writeUInt8(PAGE_ENTRY_BYTES, 13);
      header.writeUInt32BE(this.pageSize, 16);
      header.writeUInt32BE(this.pages, 20);
      header.writeBigUInt64BE(BigInt(this.bytes), 24);
      header.writeBigUInt64BE(BigInt(this.jobId), 32);
      Buffer.from(dumpSha256, 'hex').copy(header, 40);
      await writeFully(this.out!, header, 0, header.length, 0);
      const trailer = await sha256OfRange(this.out!, this.outPos);
      await writeFully(this.out!, trailer, 0, trailer.length, this.outPos);
      await this.out!.sync();
      await this.out!.close();
      this.out = undefined;
      await rename(this.partial, this.sidecarFile);
      return { pageSize: this.pageSize, pageCount: this.pages, bytes: this.outPos + PAGE_HASHES_TRAILER_BYTES, dumpSha256 };
    } catch (error) {
      await this.abort();
      if (error instanceof DatabaseError) throw error;
      throw new DatabaseError('PAGE_HASHES_WRITE_FAILED', `cannot write the page hashes ${basename(this.sidecarFile)}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** Drops the partial sidecar (after a failed pass). Never throws. */
  async abort(): Promise<void> {
    await this.out?.close().catch(() => undefined);
    this.out = undefined;
    await removeQuietly(this.partial);
  }
}

function invalid(file: string, why: string, cause?: unknown): DatabaseError {
  return new DatabaseError('PAGE_HASHES_INVALID', `page-hash sidecar ${basename(file)} is invalid: ${why}`, { cause, context: { file: basename(file) } });
}

/**
 * Reads and validates a page-hash sidecar: magic, version (1 or 2), header length, algorithm, entry length,
 * page size, that the file length is exactly 128 + entry length × page count, and the trailer SHA-256 (one
 * sequential pass; the entries are not kept in memory) — unless `verifyTrailer: false`, for a caller that checks the
 * trailer itself in its own pass over the entries (`SidecarEntryReader`, before it relies on anything it read).
 *
 * @returns the header fields.
 * @throws DatabaseError `PAGE_HASHES_INVALID` with the reason (missing file, truncated, bad magic,
 *   unsupported version, length mismatch, trailer mismatch = corrupt).
 */
export async function readPageHashes(file: string, options: { verifyTrailer?: boolean } = {}): Promise<PageHashesHeader> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (error) {
    throw invalid(file, `cannot open it (${(error as Error).message})`, error);
  }
  try {
    const fileBytes = (await fh.stat()).size;
    const minimum = PAGE_HASHES_HEADER_BYTES + PAGE_HASHES_TRAILER_BYTES;
    if (fileBytes < minimum) throw invalid(file, `truncated (${fileBytes} bytes, at least ${minimum} expected)`);
    const header = Buffer.alloc(PAGE_HASHES_HEADER_BYTES);
    await readFully(fh, header, 0, header.length, 0);
    if (header.toString('latin1', 0, 8) !== PAGE_HASHES_MAGIC) throw invalid(file, `bad magic (not a ${PAGE_HASHES_MAGIC} file)`);
    const version = header.readUInt16BE(8);
    if (version !== PAGE_HASHES_VERSION && version !== PAGE_HASHES_VERSION_TRUNCATED) {
      throw invalid(file, `unsupported format version ${version} (this agent reads ${PAGE_HASHES_VERSION_TRUNCATED} and ${PAGE_HASHES_VERSION})`);
    }
    if (header.readUInt16BE(10) !== PAGE_HASHES_HEADER_BYTES) throw invalid(file, `unexpected header length ${header.readUInt16BE(10)}`);
    const algorithm = header.readUInt8(12);
    const digestBytes = header.readUInt8(13);
    const expectedLayout = version === PAGE_HASHES_VERSION ? [PAGE_ENTRY_ALGORITHM_XXH64_SHA256, PAGE_ENTRY_BYTES] : [PAGE_DIGEST_ALGORITHM_SHA256_128, PAGE_DIGEST_BYTES];
    if (algorithm !== expectedLayout[0] || digestBytes !== expectedLayout[1]) {
      throw invalid(file, `unsupported page-digest algorithm ${algorithm} / length ${digestBytes} for version ${version}`);
    }
    const pageSize = header.readUInt32BE(16);
    const pageCount = header.readUInt32BE(20);
    const dumpBytes = Number(header.readBigUInt64BE(24));
    const jobId = Number(header.readBigUInt64BE(32));
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw invalid(file, `impossible page size ${pageSize}`);
    if (dumpBytes !== pageSize * pageCount) throw invalid(file, `dump size ${dumpBytes} ≠ page size ${pageSize} × page count ${pageCount}`);
    const expected = PAGE_HASHES_HEADER_BYTES + pageCount * digestBytes + PAGE_HASHES_TRAILER_BYTES;
    if (fileBytes !== expected) {
      throw invalid(file, `${fileBytes < expected ? 'truncated' : 'too long'}: ${fileBytes} bytes, ${expected} expected for ${pageCount} pages`);
    }
    if (options.verifyTrailer !== false) {
      const body = expected - PAGE_HASHES_TRAILER_BYTES;
      const actual = await sha256OfRange(fh, body);
      const trailer = Buffer.alloc(PAGE_HASHES_TRAILER_BYTES);
      await readFully(fh, trailer, 0, trailer.length, body);
      if (!actual.equals(trailer)) throw invalid(file, 'trailer SHA-256 does not match its content (corrupt)');
    }
    return { version, algorithm, digestBytes, pageSize, pageCount, dumpBytes, jobId, dumpSha256: header.toString('hex', 40, 72), fileBytes };
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw invalid(file, (error as Error).message, error);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/**
 * Reads the 16-byte page digests (the first 16 bytes of the page's SHA-256) of 0-based pages `[first, first + count)`
 * from an open sidecar (already validated by {@link readPageHashes}, whose `header` says the layout) into
 * `into[0 … 16 × count)`. Version 2 entries are read whole and their SHA-256 cut to 16 bytes.
 * @throws Error when the sidecar ends early.
 */
export async function readPageDigests(sidecar: FileHandle, first: number, count: number, into: Buffer, header: Pick<PageHashesHeader, 'digestBytes'>): Promise<void> {
  const entry = header.digestBytes;
  const want = count * entry;
  const target = entry === PAGE_DIGEST_BYTES ? into : Buffer.allocUnsafe(want);
  const got = await readFully(sidecar, target, 0, want, PAGE_HASHES_HEADER_BYTES + first * entry);
  if (got !== want) throw new Error('page-hash sidecar ended early');
  if (target !== into) for (let i = 0; i < count; i++) target.copy(into, i * PAGE_DIGEST_BYTES, i * entry + PAGE_ENTRY_SHA256_AT, i * entry + PAGE_ENTRY_SHA256_AT + PAGE_DIGEST_BYTES);
}
