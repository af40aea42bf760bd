/**
 * SQLite DIFFERENTIAL dumps (SPEC §3, §7; issue 3): every page of the live database that differs from
 * the cycle's FULL — cumulative since that FULL, never relative to a previous DIFFERENTIAL — found by
 * comparing page digests with the FULL's page-hash sidecar (see `page-hashes.ts`), so the FULL dump is
 * never read back. Restore = FULL + one DIFFERENTIAL, verified against the recorded SHA-256.
 *
 * ## DIFF format `CSDRDF01`, version 1 (`commserv_DIFF_<jobId>.dmp`; all integers big-endian)
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic, ASCII `CSDRDF01` |
 * | 8 | 2 | format version, uint16 (= 1) |
 * | 10 | 2 | header length in bytes, uint16 (= 128) |
 * | 12 | 4 | page size in bytes, uint32 |
 * | 16 | 4 | base page count (pages of the FULL), uint32 |
 * | 20 | 4 | new page count (pages of the reconstructed database), uint32 |
 * | 24 | 8 | job id of the base FULL, uint64 |
 * | 32 | 8 | job id of this DIFFERENTIAL, uint64 |
 * | 40 | 32 | SHA-256 of the whole reconstructed database (= of the snapshot the DIFF was taken from) |
 * | 72 | 4 | number of page records, uint32 |
 * | 76 | 32 | SHA-256 of the base FULL dump (copied from its sidecar) |
 * | 108 | 20 | reserved, zero |
 * | 128 | (4 + page size) × records | page records in ascending page order: page number (1-based, uint32), then the page's bytes |
 * | 128 + (4 + page size) × records | 32 | trailer: SHA-256 of every byte before it |
 *
 * **Version 2** (LOG points only, `log-point.ts`; issue 17): the same layout, but bytes 40–71 hold the *page-digest
 * root* of the reconstructed database (`page-digester.ts`: SHA-256 over every page's SHA-256) instead of the SHA-256
 * of its bytes — the LOG dump computes every page's digest anyway, and a second pass over every byte made it
 * hash-bound. Readers of this version verify the root; a DIFFERENTIAL is always version 1, and the DIFF appliers
 * refuse version 2. An agent that only knows version 1 refuses version 2 ("unsupported format version").
 *
 * Every page numbered above the base page count is always present (new pages); a database that shrank
 * (e.g. after `VACUUM`) is expressed by a new page count below the base page count. Size:
 * 160 + records × (4 + page size) bytes — 0.1 % above the changed pages themselves at 4 KiB pages.
 *
 * ## Database identity
 * A DIFF is correct whatever happened to the database (it is a byte-level difference), but a replaced
 * database or a changed page size makes it as large as a FULL, or impossible: {@link databaseIdentity}
 * reads the header fields that identify a database so the caller can record them with the FULL and
 * promote a DIFFERENTIAL to a FULL when they change ({@link compareDatabaseIdentity}).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { open, rename, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { DatabaseError } from '#core/errors';
import {
  IO_CHUNK_BYTES,
  PAGE_DIGEST_BYTES,
  pageDigest,
  pagesPerChunk,
  readFully,
  readPageDigests,
  readPageHashes,
  removeQuietly,
  sha256OfRange,
  writeFully,
  type PageHashesHeader,
} from './page-hashes';
import { readSqliteHeader } from './sqlite-engine';
import { openConsistentImage, type ConsistentImage, type LiveDatabase } from './consistent-image';

/** Magic of a DIFF dump (bytes 0–7). */
export const DIFF_MAGIC = 'CSDRDF01';
/** DIFF format version (bytes 8–9) of DIFFERENTIALs, and of LOG points written before version 2. */
export const DIFF_VERSION = 1;
/** Format version of LOG points whose bytes 40–71 are the page-digest root of the reconstructed database. */
export const DIFF_VERSION_PAGE_ROOT = 2;
/** DIFF header length in bytes; page records start at this offset. */
export const DIFF_HEADER_BYTES = 128;
/** DIFF trailer length in bytes (SHA-256 of everything before it). */
export const DIFF_TRAILER_BYTES = 32;
/** Bytes of a page record before the page itself (the uint32 page number). */
export const DIFF_RECORD_PREFIX_BYTES = 4;

/** SQLite header fields that identify a database (beyond its content). */
export interface SqliteDatabaseIdentity {
  /** Page size in bytes (header offset 16, 2 bytes; 1 means 65536). */
  pageSize: number;
  /** In-header page count (offset 28, 4 bytes). */
  pageCount: number;
  /** Schema format number (offset 44): 1–4. */
  schemaFormat: number;
  /** Text encoding (offset 56): 1 UTF-8, 2 UTF-16le, 3 UTF-16be. */
  textEncoding: number;
  /** `PRAGMA user_version` (offset 60, signed 32-bit). */
  userVersion: number;
  /** `PRAGMA application_id` (offset 68, signed 32-bit); the sample CommServe uses 0x43534452. */
  applicationId: number;
}

/**
 * Reads the identity fields of an SQLite database file's 100-byte header (no SQLite connection).
 * Record them with the FULL (e.g. in the manifest's `database.details`) and compare at each
 * DIFFERENTIAL with {@link compareDatabaseIdentity}.
 * @throws DatabaseError `DB_NOT_SQLITE` when the file has no SQLite header.
 */
export function databaseIdentity(dbFile: string): SqliteDatabaseIdentity {
  const { pageSize, pageCount } = readSqliteHeader(dbFile);
  const header = Buffer.alloc(100);
  const fd = openSync(dbFile, 'r');
  try {
    readSync(fd, header, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return {
    pageSize,
    pageCount,
    schemaFormat: header.readUInt32BE(44),
    textEncoding: header.readUInt32BE(56),
    userVersion: header.readInt32BE(60),
    applicationId: header.readInt32BE(68),
  };
}

/** One field that differs between two identities. */
export interface IdentityChange {
  field: 'pageSize' | 'textEncoding' | 'applicationId' | 'userVersion';
  base: number;
  current: number;
  /** true for a change that means "another database" or makes a DIFF impossible (page size, encoding, application id). */
  replaced: boolean;
}

/**
 * Differences between the identity recorded with the FULL and the live database's. A change with
 * `replaced: true` (page size, text encoding, application_id) means the DIFFERENTIAL should be promoted
 * to a FULL; a `user_version` change is a schema upgrade of the same database — a DIFF stays correct,
 * the caller may still prefer a FULL. Page count and schema format are expected to change and ignored.
 */
export function compareDatabaseIdentity(base: SqliteDatabaseIdentity, current: SqliteDatabaseIdentity): IdentityChange[] {
  const changes: IdentityChange[] = [];
  for (const field of ['pageSize', 'textEncoding', 'applicationId', 'userVersion'] as const) {
    if (base[field] !== current[field]) changes.push({ field, base: base[field], current: current[field], replaced: field !== 'userVersion' });
  }
  return changes;
}

/** Options of {@link writeDifferential}. */
export interface WriteDifferentialOptions {
  /** Path of the live CommServe database (SQLite). */
  sourceDb: string;
  /**
   * Takes a consistent snapshot of the live database into `file` (e.g. `(f) => engine.dumpFull(f)`).
   * Default: a better-sqlite3 online backup of `sourceDb`. A WAL-mode snapshot is converted afterwards.
   */
  takeSnapshot?: (file: string) => Promise<unknown>;
  /** Page-hash sidecar of the cycle's FULL (written by `writePageHashes`). */
  baseHashesFile: string;
  /** Where to write the DIFF (`commserv_DIFF_<jobId>.dmp`); written as `<outFile>.partial`, then renamed. */
  outFile: string;
  /** Job id of the cycle's FULL. */
  baseJobId: number;
  /** Job id of this DIFFERENTIAL. */
  jobId: number;
  /**
   * The engine's live connection: the pages are read straight from the database file inside a read transaction
   * instead of a snapshot, unless the database is in WAL mode (see `consistent-image.ts`).
   */
  live?: LiveDatabase;
  /** Called after each 1 MiB of the snapshot compared: (bytes compared, snapshot size). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** What {@link writeDifferential} wrote. */
export interface DifferentialResult {
  /** Path of the DIFF written. */
  file: string;
  /** Size of the DIFF in bytes. */
  bytes: number;
  /** Page records written (pages changed since the FULL, plus every page beyond its page count). */
  changedPages: number;
  /** Page size in bytes. */
  pageSize: number;
  /** Page count of the reconstructed database. */
  pageCount: number;
  /** Page count of the base FULL. */
  basePageCount: number;
  /** SHA-256 of the reconstructed database (= of the snapshot), lowercase hex. */
  sha256: string;
  /** Wall time of the whole operation (snapshot, comparison, write), milliseconds. */
  durationMs: number;
  /** Of which the snapshot took, milliseconds. */
  snapshotMs: number;
  /** The file change counter of the state read, when read in place (see `ConsistentImage.changeCounter`). */
  changeCounter?: number;
}

function checkJobId(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${what} must be a positive integer, got ${String(value)}`);
}

export async function removeDatabaseFiles(file: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm', '-journal']) await removeQuietly(file + suffix);
}

/** Online backup of `sourceDb` into `file` (consistent even while the CommServe writes). */
export async function backupInto(sourceDb: string, file: string): Promise<void> {
  const db = new Database(sourceDb, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    await db.backup(file, { progress: () => 4096 });
  } finally {
    db.close();
  }
}

/** Makes a snapshot a self-contained rollback-journal file (a backup of a WAL database is WAL: header byte 18 = 2). */
export function convertOutOfWal(file: string): void {
  const header = Buffer.alloc(20);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header[18] !== 2 && header[19] !== 2) return;
  const db = new Database(file);
  try {
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

function baseMismatch(message: string, cause?: unknown): DatabaseError {
  return new DatabaseError('DIFF_BASE_MISMATCH', message, { cause });
}

/**
 * Writes a DIFFERENTIAL dump: opens a consistent image of the live database (`consistent-image.ts`: the file itself
 * under a read transaction with `live`, else a snapshot next to `outFile`), reads it once sequentially in 1 MiB chunks,
 * compares each page's digest with the base FULL's sidecar and writes the differing pages (and every page
 * beyond the FULL's page count) in the `CSDRDF01` format (see the module comment). Memory is bounded
 * (a few MiB) whatever the database size. The read lock ends (or the snapshot is deleted) as soon as every page is read, also on error; the DIFF is
 * written as `<outFile>.partial`, fsynced and renamed, and removed on error.
 *
 * @returns size, changed pages, page size/count and the SHA-256 of the reconstructed database.
 * @throws DatabaseError `DIFF_BASE_MISMATCH` when the base sidecar is missing/unreadable/corrupt, belongs
 *   to another FULL job id, or the page size changed — the caller should then run a FULL instead;
 *   `DIFF_SNAPSHOT_FAILED` when the snapshot cannot be taken; `DIFF_WRITE_FAILED` on I/O errors.
 */
export async function writeDifferential(options: WriteDifferentialOptions): Promise<DifferentialResult> {
  const started = performance.now();
  const { sourceDb, baseHashesFile, outFile, baseJobId, jobId, onProgress } = options;
  checkJobId(baseJobId, 'baseJobId');
  checkJobId(jobId, 'jobId');

  let base: PageHashesHeader;
  try {
    base = await readPageHashes(baseHashesFile);
  } catch (error) {
    throw baseMismatch(`cannot take a DIFFERENTIAL: the FULL's page hashes are unusable (${(error as Error).message})`, error);
  }
  if (base.jobId !== 0 && base.jobId !== baseJobId) {
    throw baseMismatch(`cannot take a DIFFERENTIAL: the page hashes belong to FULL job ${base.jobId}, not to job ${baseJobId}`);
  }

  const partial = `${outFile}.partial`;
  let image: ConsistentImage | undefined;
  let sidecar: FileHandle | undefined;
  let out: FileHandle | undefined;
  let snapshotMs = 0;
  try {
    image = await openConsistentImage({ sourceDb, live: options.live, takeSnapshot: options.takeSnapshot, outFile, purpose: 'a DIFFERENTIAL' });
    snapshotMs = image.preparedMs;
    const { pageSize, pageCount, handle: snap } = image;
    if (pageSize !== base.pageSize) {
      throw baseMismatch(`page size changed since the FULL (${base.pageSize} → ${pageSize} bytes): a DIFFERENTIAL is impossible, run a FULL`);
    }
    const snapBytes = pageCount * pageSize;
    sidecar = await open(baseHashesFile, 'r');
    out = await open(partial, 'w+');

    const chunkPages = pagesPerChunk(pageSize);
    const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
    const input = Buffer.allocUnsafe(chunkPages * pageSize);
    const baseDigests = Buffer.allocUnsafe(chunkPages * PAGE_DIGEST_BYTES);
    const output = Buffer.allocUnsafe(chunkPages * recordBytes);
    const whole = createHash('sha256');
    let outPos = DIFF_HEADER_BYTES;
    let records = 0;
    for (let first = 0; first < pageCount; first += chunkPages) {
      const n = Math.min(chunkPages, pageCount - first);
      const got = await readFully(snap, input, 0, n * pageSize, first * pageSize);
      if (got !== n * pageSize) throw new Error('snapshot ended early');
      whole.update(input.subarray(0, got));
      const compared = Math.max(0, Math.min(n, base.pageCount - first));
      if (compared > 0) await readPageDigests(sidecar, first, compared, baseDigests, base);
      let fill = 0;
      for (let i = 0; i < n; i++) {
        const page = input.subarray(i * pageSize, (i + 1) * pageSize);
        if (i < compared) {
          const at = i * PAGE_DIGEST_BYTES;
          if (pageDigest(page).equals(baseDigests.subarray(at, at + PAGE_DIGEST_BYTES))) continue;
        }
        output.writeUInt32BE(first + i + 1, fill);
        page.copy(output, fill + DIFF_RECORD_PREFIX_BYTES);
        fill += recordBytes;
        records++;
      }
      if (fill > 0) {
        await writeFully(out, output, 0, fill, outPos);
        outPos += fill;
      }
      onProgress?.((first + n) * pageSize, snapBytes);
    }
    const sha = whole.digest();
    await image.release(); // every page is read: writers may commit again while the DIFF is finished

    const header = Buffer.alloc(DIFF_HEADER_BYTES);
    header.write(DIFF_MAGIC, 0, 'latin1');
    header.writeUInt16BE(DIFF_VERSION, 8);
    header.writeUInt16BE(DIFF_HEADER_BYTES, 10);
    header.writeUInt32BE(pageSize, 12);
    header.writeUInt32BE(base.pageCount, 16);
    header.writeUInt32BE(pageCount, 20);
    header.writeBigUInt64BE(BigInt(baseJobId), 24);
    header.writeBigUInt64BE(BigInt(jobId), 32);
    sha.copy(header, 40);
    header.writeUInt32BE(records, 72);
    Buffer.from(base.dumpSha256, 'hex').copy(header, 76);
    await writeFully(out, header, 0, header.length, 0);
    // The trailer covers the header, known only now: hash the DIFF back (its size is proportional to the changes).
    const trailer = await sha256OfRange(out, outPos);
    await writeFully(out, trailer, 0, trailer.length, outPos);
    await out.sync();
    await out.close();
    out = undefined;
    await rename(partial, outFile);
    return {
      file: outFile,
      bytes: outPos + DIFF_TRAILER_BYTES,
      changedPages: records,
      pageSize,
      pageCount,
      basePageCount: base.pageCount,
      sha256: sha.toString('hex'),
      durationMs: performance.now() - started,
      snapshotMs,
      ...(image.changeCounter !== undefined ? { changeCounter: image.changeCounter } : {}),
    };
  } catch (error) {
    await out?.close().catch(() => undefined);
    out = undefined;
    await removeQuietly(partial);
    if (error instanceof DatabaseError) throw error;
    const code = (error as { code?: string }).code;
    throw new DatabaseError(
      code === 'ENOSPC' || code === 'SQLITE_FULL' ? 'DUMP_DISK_FULL' : 'DIFF_WRITE_FAILED',
      `DIFFERENTIAL dump of ${basename(sourceDb)} failed: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await out?.close().catch(() => undefined);
    await sidecar?.close().catch(() => undefined);
    await image?.release();
  }
}

/** Header of a DIFF dump, as returned by {@link readDifferentialHeader}. */
export interface DifferentialHeader {
  /** Format version ({@link DIFF_VERSION} or, LOG points only, {@link DIFF_VERSION_PAGE_ROOT}). */
  version: number;
  /**
   * What {@link sha256} is: `sha256`, the SHA-256 of the reconstructed database's bytes (version 1); `page-root`, its
   * page-digest root (version 2, `page-digester.ts`).
   */
  identity: 'sha256' | 'page-root';
  /** Page size, bytes. */
  pageSize: number;
  /** Page count of the base FULL. */
  basePageCount: number;
  /** Page count of the reconstructed database. */
  pageCount: number;
  /** Job id of the base FULL. */
  baseJobId: number;
  /** Job id of the DIFFERENTIAL. */
  jobId: number;
  /** Identity of the reconstructed database, lowercase hex: its SHA-256, or its page-digest root ({@link identity}). */
  sha256: string;
  /** Number of page records. */
  records: number;
  /** SHA-256 of the base FULL dump, lowercase hex. */
  baseSha256: string;
  /** Size of the DIFF file, bytes. */
  fileBytes: number;
}

function corrupt(file: string, why: string, cause?: unknown): DatabaseError {
  return new DatabaseError('DIFF_CORRUPT', `DIFFERENTIAL dump ${basename(file)} is unusable: ${why}`, { cause, context: { file: basename(file) } });
}

/**
 * Reads and fully validates a DIFF dump without applying it: magic, version, header fields, the file
 * length (= 160 + records × (4 + page size)), the trailer SHA-256 over everything before it (detects
 * truncation and bit flips), and the page records (strictly ascending, within 1 … new page count, every
 * page above the base page count present). One sequential pass, bounded memory.
 * @throws DatabaseError `DIFF_CORRUPT` with the reason.
 */
export async function readDifferentialHeader(diffFile: string): Promise<DifferentialHeader> {
  let fh: FileHandle;
  try {
    fh = await open(diffFile, 'r');
  } catch (error) {
    throw corrupt(diffFile, `cannot open it (${(error as Error).message})`, error);
  }
  try {
    const fileBytes = (await fh.stat()).size;
    if (fileBytes < DIFF_HEADER_BYTES + DIFF_TRAILER_BYTES) throw corrupt(diffFile, `truncated (${fileBytes} bytes)`);
    const header = Buffer.alloc(DIFF_HEADER_BYTES);
    await readFully(fh, header, 0, header.length, 0);
    if (header.toString('latin1', 0, 8) !== DIFF_MAGIC) throw corrupt(diffFile, `bad magic (not a ${DIFF_MAGIC} file)`);
    const version = header.readUInt16BE(8);
    if (version !== DIFF_VERSION && version !== DIFF_VERSION_PAGE_ROOT) throw corrupt(diffFile, `unsupported format version ${version} (this agent reads ${DIFF_VERSION} and ${DIFF_VERSION_PAGE_ROOT})`);
    if (header.readUInt16BE(10) !== DIFF_HEADER_BYTES) throw corrupt(diffFile, `unexpected header length ${header.readUInt16BE(10)}`);
    const pageSize = header.readUInt32BE(12);
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw corrupt(diffFile, `impossible page size ${pageSize}`);
    const records = header.readUInt32BE(72);
    const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
    const expected = DIFF_HEADER_BYTES + records * recordBytes + DIFF_TRAILER_BYTES;
    if (fileBytes !== expected) {
      throw corrupt(diffFile, `${fileBytes < expected ? 'truncated' : 'too long'}: ${fileBytes} bytes, ${expected} expected for ${records} page records`);
    }
    const parsed: DifferentialHeader = {
      version,
      identity: version === DIFF_VERSION_PAGE_ROOT ? 'page-root' : 'sha256',
      pageSize,
      basePageCount: header.readUInt32BE(16),
      pageCount: header.readUInt32BE(20),
      baseJobId: Number(header.readBigUInt64BE(24)),
      jobId: Number(header.readBigUInt64BE(32)),
      sha256: header.toString('hex', 40, 72),
      records,
      baseSha256: header.toString('hex', 76, 108),
      fileBytes,
    };

    // One pass: trailer hash and record page numbers.
    const body = expected - DIFF_TRAILER_BYTES;
    const hasher = createHash('sha256').update(header);
    const chunk = Buffer.allocUnsafe(Math.max(1, Math.floor((1024 * 1024) / recordBytes)) * recordBytes);
    let position = DIFF_HEADER_BYTES;
    let previous = 0;
    let problem: string | undefined;
    while (position < body) {
      const want = Math.min(chunk.length, body - position);
      const got = await readFully(fh, chunk, 0, want, position);
      if (got !== want) throw corrupt(diffFile, 'truncated while reading');
      hasher.update(chunk.subarray(0, got));
      for (let at = 0; at < got && problem === undefined; at += recordBytes) {
        const page = chunk.readUInt32BE(at);
        if (page <= previous || page > parsed.pageCount) problem = `page record ${page} out of order or beyond page ${parsed.pageCount}`;
        previous = page;
      }
      position += got;
    }
    const trailer = Buffer.alloc(DIFF_TRAILER_BYTES);
    await readFully(fh, trailer, 0, trailer.length, body);
    if (!hasher.digest().equals(trailer)) throw corrupt(diffFile, 'trailer SHA-256 does not match its content (damaged or truncated file)');
    // Only now trust the header fields (the trailer matched).
    if (parsed.pageCount < 1) throw corrupt(diffFile, 'new page count is 0');
    if (problem) throw corrupt(diffFile, problem);
    if (parsed.pageCount > parsed.basePageCount && parsed.records < parsed.pageCount - parsed.basePageCount) {
      throw corrupt(diffFile, `the pages beyond the base page count ${parsed.basePageCount} are not all present`);
    }
    return parsed;
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw corrupt(diffFile, (error as Error).message, error);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** A DIFFERENTIAL is always version 1: a version-2 file is a LOG point's dump, applied only as part of a LOG chain. */
function refuseLogDump(diffFile: string, header: DifferentialHeader): void {
  if (header.identity !== 'sha256') throw corrupt(diffFile, `format version ${header.version} is a LOG point's dump (page-digest root), not a DIFFERENTIAL`);
}

/** Options of {@link restoreFullPlusDifferential}. */
export interface RestoreDifferentialOptions {
  /** The cycle's FULL dump (`commserv_FULL.dmp`). Never modified. */
  fullDump: string;
  /** The DIFF to apply (`commserv_DIFF_<jobId>.dmp`). Never modified. */
  diffFile: string;
  /** The FULL's page-hash sidecar, when available: its job id, page size/count and SHA-256 are checked first. */
  baseHashesFile?: string;
  /** Job id of the FULL as known from its manifest, when available: checked against the DIFF's base job id. */
  fullJobId?: number;
  /** The database file to create (replaced atomically if it exists). Written as `<target>.partial`, then renamed. */
  target: string;
}

/** What {@link restoreFullPlusDifferential} produced. */
export interface RestoreDifferentialResult {
  /** Path of the restored database. */
  target: string;
  /** Its size, bytes. */
  bytes: number;
  /** Page size, bytes. */
  pageSize: number;
  /** Page count. */
  pageCount: number;
  /** Page records applied from the DIFF. */
  appliedPages: number;
  /** SHA-256 of the restored database, lowercase hex (equal to the DIFF's recorded hash). */
  sha256: string;
  /** Wall time, milliseconds. */
  durationMs: number;
}

/**
 * Restores FULL + one DIFFERENTIAL into `target`.
 *
 * Before anything is written: the DIFF is validated completely ({@link readDifferentialHeader}: trailer hash,
 * records), its page size must equal the FULL's (header bytes 16–17), the FULL's size must be exactly the
 * DIFF's base page count × page size, and when given, the sidecar (job id, page size/count, SHA-256) and
 * `fullJobId` must match the DIFF's base. Then one sequential pass merges the FULL (1 MiB reads) with the
 * DIFF's records (in page order) into `<target>.partial`, hashing both the FULL as read (must equal the
 * DIFF's recorded base SHA-256) and the result as written (must equal the DIFF's recorded database SHA-256);
 * the partial file is fsynced and renamed only when both match, and deleted on any failure, so the
 * target is never created from bad input. The source files are opened read-only. Memory is bounded.
 *
 * @throws DatabaseError `DIFF_CORRUPT` (truncated, bit-flipped or malformed DIFF), `DIFF_PAGE_SIZE_MISMATCH`
 *   (FULL and DIFF page sizes differ), `DIFF_WRONG_BASE` (the DIFF was taken against another FULL — other job id,
 *   page count or content — or the FULL is damaged), `FULL_CORRUPT` (the sidecar confirms the DIFF's base but
 *   the FULL's bytes differ from it), `RESTORE_VERIFY_FAILED` (the result's SHA-256 differs from the recorded one),
 *   `RESTORE_WRITE_FAILED` (I/O error, target path equal to a source), `DB_NOT_SQLITE` (the FULL is not SQLite).
 */
export async function restoreFullPlusDifferential(options: RestoreDifferentialOptions): Promise<RestoreDifferentialResult> {
  const started = performance.now();
  const { fullDump, diffFile, baseHashesFile, target, fullJobId } = options;
  if ([fullDump, diffFile, baseHashesFile].some((f) => f !== undefined && resolve(f) === resolve(target))) {
    throw new DatabaseError('RESTORE_WRITE_FAILED', `restore target ${basename(target)} is one of the source files`);
  }
  const diff = await readDifferentialHeader(diffFile);
  refuseLogDump(diffFile, diff);
  const full = readSqliteHeader(fullDump);
  const fullBytes = (await stat(fullDump)).size;
  const wrongBase = (why: string) =>
    new DatabaseError('DIFF_WRONG_BASE', `${basename(diffFile)} does not apply to ${basename(fullDump)}: ${why}`, {
      context: { diffBaseJobId: diff.baseJobId, diffJobId: diff.jobId },
    });
  if (full.pageSize !== diff.pageSize) {
    throw new DatabaseError(
      'DIFF_PAGE_SIZE_MISMATCH',
      `${basename(diffFile)} has ${diff.pageSize}-byte pages but the FULL ${basename(fullDump)} has ${full.pageSize}-byte pages`,
    );
  }
  let sidecar: PageHashesHeader | undefined;
  if (baseHashesFile !== undefined) {
    sidecar = await readPageHashes(baseHashesFile).catch((error: unknown) => {
      throw wrongBase(`the FULL's page hashes cannot be checked (${(error as Error).message})`);
    });
    if (sidecar.jobId !== 0 && sidecar.jobId !== diff.baseJobId) throw wrongBase(`it was taken against FULL job ${diff.baseJobId}, the FULL is job ${sidecar.jobId}`);
    if (sidecar.dumpSha256 !== diff.baseSha256) throw wrongBase(`it was taken against another FULL (base SHA-256 ${diff.baseSha256.slice(0, 12)}…, the FULL's is ${sidecar.dumpSha256.slice(0, 12)}…)`);
    if (sidecar.pageSize !== diff.pageSize) throw wrongBase(`the FULL's page hashes are for ${sidecar.pageSize}-byte pages`);
  }
  if (fullJobId !== undefined && fullJobId !== diff.baseJobId) throw wrongBase(`it was taken against FULL job ${diff.baseJobId}, the FULL is job ${fullJobId}`);
  if (fullBytes !== diff.basePageCount * diff.pageSize) {
    const why = `the FULL is ${fullBytes} bytes, the DIFF's base was ${diff.basePageCount} pages of ${diff.pageSize} bytes`;
    if (sidecar) throw new DatabaseError('FULL_CORRUPT', `FULL dump ${basename(fullDump)} is damaged or truncated: ${why}`);
    throw wrongBase(why);
  }

  const partial = `${target}.partial`;
  let fullFh: FileHandle | undefined;
  let diffFh: FileHandle | undefined;
  let out: FileHandle | undefined;
  try {
    await removeQuietly(partial);
    fullFh = await open(fullDump, 'r');
    diffFh = await open(diffFile, 'r');
    out = await open(partial, 'wx');
    const { pageSize, pageCount, basePageCount } = diff;
    const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
    const chunkPages = pagesPerChunk(pageSize);
    const buffer = Buffer.allocUnsafe(chunkPages * pageSize);
    const records = new RecordReader(diffFh, recordBytes, diff.records);
    const fullHash = createHash('sha256');
    const resultHash = createHash('sha256');
    const span = Math.max(pageCount, basePageCount);
    let applied = 0;
    for (let first = 0; first < span; first += chunkPages) {
      const n = Math.min(chunkPages, span - first);
      const fromFull = Math.max(0, Math.min(n, basePageCount - first));
      if (fromFull > 0) {
        const got = await readFully(fullFh, buffer, 0, fromFull * pageSize, first * pageSize);
        if (got !== fromFull * pageSize) throw wrongBase('the FULL ended early');
        fullHash.update(buffer.subarray(0, got));
      }
      const outPages = Math.max(0, Math.min(n, pageCount - first));
      for (let i = 0; i < outPages; i++) {
        const pageNo = first + i + 1;
        if (records.empty) await records.fill();
        if (records.peek() === pageNo) {
          records.takeInto(buffer, i * pageSize);
          applied++;
        } else if (pageNo > basePageCount) {
          throw corrupt(diffFile, `page ${pageNo} beyond the base is missing`);
        }
      }
      if (outPages > 0) {
        await writeFully(out, buffer, 0, outPages * pageSize, first * pageSize);
        resultHash.update(buffer.subarray(0, outPages * pageSize));
      }
    }
    if (applied !== diff.records) throw corrupt(diffFile, `${diff.records - applied} page records were not applied`);
    const fullSha = fullHash.digest('hex');
    if (fullSha !== diff.baseSha256) {
      if (sidecar) {
        throw new DatabaseError('FULL_CORRUPT', `FULL dump ${basename(fullDump)} is damaged: its SHA-256 differs from the one recorded in its page hashes and in the DIFF`);
      }
      throw wrongBase(`the FULL's SHA-256 ${fullSha.slice(0, 12)}… is not the DIFF's base ${diff.baseSha256.slice(0, 12)}… (another FULL, or a damaged one)`);
    }
    const sha256 = resultHash.digest('hex');
    if (sha256 !== diff.sha256) {
      throw new DatabaseError('RESTORE_VERIFY_FAILED', `restored database SHA-256 ${sha256.slice(0, 12)}… differs from the recorded ${diff.sha256.slice(0, 12)}…; nothing was written to ${basename(target)}`);
    }
    await out.sync();
    await out.close();
    out = undefined;
    await rename(partial, target);
    await syncDirectory(dirname(target));
    return { target, bytes: pageCount * pageSize, pageSize, pageCount, appliedPages: applied, sha256, durationMs: performance.now() - started };
  } catch (error) {
    await out?.close().catch(() => undefined);
    out = undefined;
    await removeQuietly(partial);
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError('RESTORE_WRITE_FAILED', `cannot restore ${basename(target)} from FULL + DIFFERENTIAL: ${(error as Error).message}`, { cause: error });
  } finally {
    await out?.close().catch(() => undefined);
    await fullFh?.close().catch(() => undefined);
    await diffFh?.close().catch(() => undefined);
  }
}

/** What {@link DifferentialImageHasher.finish} computed. */
export interface DifferentialImageHash {
  /** Bytes of the FULL seen. */
  fullBytes: number;
  /** SHA-256 of FULL + DIFF (the reconstructed database), lowercase hex. */
  sha256: string;
  /** Page records of the DIFF used. */
  appliedPages: number;
}

/**
 * Hashes the database a DIFFERENTIAL makes of its FULL without writing it: fed the FULL's bytes in order (any chunk
 * sizes, e.g. as they download), it hashes each page as FULL + DIFF has it — the DIFF's page where it has a record,
 * the FULL's otherwise, pages beyond the new page count dropped, pages beyond the base page count taken from the
 * DIFF at the end. The DIFF is read sequentially (1 MiB at a time); memory is bounded. The FULL's own SHA-256 is
 * not computed here (the caller hashes what it verifies, e.g. the download).
 *
 * The DIFF must have been validated with {@link readDifferentialHeader} (its header is passed in).
 */
export class DifferentialImageHasher {
  private readonly hash = createHash('sha256');
  private readonly carry: Buffer;
  private carryFill = 0;
  /** FULL pages consumed. */
  private page = 0;
  private applied = 0;
  private closed = false;

  private constructor(
    private readonly fh: FileHandle,
    private readonly records: RecordReader,
    private readonly header: DifferentialHeader,
    private readonly diffFile: string,
  ) {
    this.carry = Buffer.allocUnsafe(header.pageSize);
  }

  /**
   * Opens the DIFF for reading.
   * @throws DatabaseError `DIFF_CORRUPT` when it cannot be opened or is a LOG point's dump (version 2).
   */
  static async open(diffFile: string, header: DifferentialHeader): Promise<DifferentialImageHasher> {
    refuseLogDump(diffFile, header);
    let fh: FileHandle;
    try {
      fh = await open(diffFile, 'r');
    } catch (error) {
      throw corrupt(diffFile, `cannot open it (${(error as Error).message})`, error);
    }
    return new DifferentialImageHasher(fh, new RecordReader(fh, DIFF_RECORD_PREFIX_BYTES + header.pageSize, header.records), header, diffFile);
  }

  private tooLong(): DatabaseError {
    return new DatabaseError('DIFF_WRONG_BASE', `${basename(this.diffFile)} does not apply to this FULL: the FULL is longer than the DIFF's base of ${this.header.basePageCount} pages`);
  }

  /**
   * The next bytes of the FULL.
   * @throws DatabaseError `DIFF_WRONG_BASE` (the FULL is longer than the DIFF's base), `DIFF_CORRUPT` (DIFF unreadable).
   */
  async update(chunk: Buffer): Promise<void> {
    const pageSize = this.header.pageSize;
    let at = 0;
    if (this.carryFill > 0) {
      const n = Math.min(pageSize - this.carryFill, chunk.length);
      chunk.copy(this.carry, this.carryFill, 0, n);
      this.carryFill += n;
      at = n;
      if (this.carryFill < pageSize) return;
      this.carryFill = 0;
      await this.pages(this.carry, 0, 1);
    }
    const whole = Math.floor((chunk.length - at) / pageSize);
    if (whole > 0) await this.pages(chunk, at, whole);
    at += whole * pageSize;
    if (at < chunk.length) {
      chunk.copy(this.carry, 0, at);
      this.carryFill = chunk.length - at;
    }
  }

  /** Hashes FULL pages `page + 1 … page + n` held in `buf` from `offset`, with the DIFF's pages substituted. */
  private async pages(buf: Buffer, offset: number, n: number): Promise<void> {
    const { pageSize, pageCount, basePageCount } = this.header;
    if (this.page + n > basePageCount) throw this.tooLong();
    const last = Math.min(this.page + n, pageCount);
    let run = offset;
    for (;;) {
      if (this.records.empty) await this.fill();
      const record = this.records.peek();
      if (record === 0 || record > last) break;
      const at = offset + (record - 1 - this.page) * pageSize;
      if (at < run) throw corrupt(this.diffFile, `page record ${record} out of order`);
      if (at > run) this.hash.update(buf.subarray(run, at));
      this.hash.update(this.records.takeView());
      this.applied++;
      run = at + pageSize;
    }
    const end = offset + Math.max(0, last - this.page) * pageSize;
    if (end > run) this.hash.update(buf.subarray(run, end));
    this.page += n;
  }

  private async fill(): Promise<void> {
    try {
      await this.records.fill();
    } catch (error) {
      throw corrupt(this.diffFile, (error as Error).message, error);
    }
  }

  /**
   * Ends the FULL: appends the pages beyond the base page count and closes the DIFF.
   * @returns the SHA-256 of FULL + DIFF (compare it with the DIFF's recorded one).
   * @throws DatabaseError `DIFF_WRONG_BASE` (the FULL is shorter than the DIFF's base or not whole pages),
   *   `DIFF_CORRUPT` (records missing or left over).
   */
  async finish(): Promise<DifferentialImageHash> {
    try {
      const { pageSize, pageCount, basePageCount } = this.header;
      if (this.carryFill !== 0 || this.page !== basePageCount) {
        throw new DatabaseError(
          'DIFF_WRONG_BASE',
          `${basename(this.diffFile)} does not apply to this FULL: the FULL is ${this.page * pageSize + this.carryFill} bytes, the DIFF's base was ${basePageCount} pages of ${pageSize} bytes`,
        );
      }
      for (let pageNo = basePageCount + 1; pageNo <= pageCount; pageNo++) {
        if (this.records.empty) await this.fill();
        if (this.records.peek() !== pageNo) throw corrupt(this.diffFile, `page ${pageNo} beyond the base is missing`);
        this.hash.update(this.records.takeView());
        this.applied++;
      }
      if (this.applied !== this.header.records) throw corrupt(this.diffFile, `${this.header.records - this.applied} page records were not applied`);
      return { fullBytes: this.page * pageSize, sha256: this.hash.digest('hex'), appliedPages: this.applied };
    } finally {
      await this.close();
    }
  }

  /** Closes the DIFF (idempotent; {@link finish} does it too). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}

/** Options of {@link applyDifferentialInPlace}. */
export interface ApplyInPlaceOptions {
  /** A copy of the FULL dump to turn into FULL + DIFF (modified in place). */
  file: string;
  /** The DIFF to apply. Never modified. */
  diffFile: string;
  /** The DIFF's header from {@link readDifferentialHeader} (validated: trailer, records). */
  header: DifferentialHeader;
  /**
   * The SHA-256 of FULL + DIFF already computed from `file`'s bytes as they were verified (a
   * {@link DifferentialImageHasher} fed during the download whose SHA-256 equalled the DIFF's base): then `file` is
   * not read again. Without it, `file` is read once to check it is the DIFF's base and to compute it.
   */
  reconstructedSha256?: string;
}

/**
 * Applies a DIFFERENTIAL to a copy of its FULL in place: only the DIFF's pages are written (positional writes, runs of
 * adjacent pages coalesced), then the file is cut to the new page count when the database shrank. Everything is
 * verified before the first write: `file` is exactly the DIFF's base page count × page size, the SHA-256 of
 * FULL + DIFF (given, or computed in one read of `file` together with the FULL's own SHA-256, which must be the
 * DIFF's base) equals the DIFF's recorded SHA-256 of the reconstructed database. The file is not fsynced (the caller
 * does it before installing it); if the writes fail midway it is left half-patched, so work on a copy you can
 * discard. Memory is bounded (1 MiB buffers).
 *
 * @returns the result as {@link restoreFullPlusDifferential} describes it (`target` = `file`).
 * @throws DatabaseError `DIFF_WRONG_BASE` (size or content of `file` is not the DIFF's base), `RESTORE_VERIFY_FAILED`
 *   (the SHA-256 of FULL + DIFF differs from the recorded one), `DIFF_CORRUPT`, `RESTORE_WRITE_FAILED` (I/O error).
 */
export async function applyDifferentialInPlace(options: ApplyInPlaceOptions): Promise<RestoreDifferentialResult> {
  const started = performance.now();
  const { file, diffFile, header } = options;
  const { pageSize, pageCount, basePageCount } = header;
  refuseLogDump(diffFile, header);
  const wrongBase = (why: string) => new DatabaseError('DIFF_WRONG_BASE', `${basename(diffFile)} does not apply to ${basename(file)}: ${why}`, { context: { diffBaseJobId: header.baseJobId, diffJobId: header.jobId } });
  let fh: FileHandle | undefined;
  let diffFh: FileHandle | undefined;
  try {
    fh = await open(file, 'r+');
    const bytes = (await fh.stat()).size;
    if (bytes !== basePageCount * pageSize) throw wrongBase(`it is ${bytes} bytes, the DIFF's base was ${basePageCount} pages of ${pageSize} bytes`);
    let sha256 = options.reconstructedSha256;
    let appliedPages = header.records;
    if (sha256 === undefined) {
      const hasher = await DifferentialImageHasher.open(diffFile, header);
      try {
        const fullHash = createHash('sha256');
        const buffer = Buffer.allocUnsafe(pagesPerChunk(pageSize) * pageSize);
        for (let position = 0; position < bytes; ) {
          const got = await readFully(fh, buffer, 0, Math.min(buffer.length, bytes - position), position);
          if (got === 0) throw wrongBase('it ended early');
          const chunk = buffer.subarray(0, got);
          fullHash.update(chunk);
          await hasher.update(chunk);
          position += got;
        }
        const fullSha = fullHash.digest('hex');
        if (fullSha !== header.baseSha256) throw wrongBase(`its SHA-256 ${fullSha.slice(0, 12)}… is not the DIFF's base ${header.baseSha256.slice(0, 12)}… (another FULL, or a damaged one)`);
        const result = await hasher.finish();
        sha256 = result.sha256;
        appliedPages = result.appliedPages;
      } finally {
        await hasher.close();
      }
    }
    if (sha256 !== header.sha256) {
      throw new DatabaseError('RESTORE_VERIFY_FAILED', `FULL + ${basename(diffFile)} has SHA-256 ${sha256.slice(0, 12)}…, not the recorded ${header.sha256.slice(0, 12)}…; nothing was written to ${basename(file)}`);
    }

    // Verified: write the DIFF's pages. Positional writes, synchronous (tens of thousands of 4 KiB writes into the
    // page cache: a promise per write would cost more than the writes), adjacent pages in one write.
    diffFh = await open(diffFile, 'r');
    const recordBytes = DIFF_RECORD_PREFIX_BYTES + pageSize;
    const records = new RecordReader(diffFh, recordBytes, header.records);
    const run = Buffer.allocUnsafe(IO_CHUNK_BYTES - (IO_CHUNK_BYTES % pageSize) || pageSize);
    let runFirst = 0;
    let runPages = 0;
    const flush = () => {
      if (runPages === 0) return;
      writeAllSync(fh!.fd, run, runPages * pageSize, (runFirst - 1) * pageSize);
      runPages = 0;
    };
    let written = 0;
    for (;;) {
      if (records.empty) await records.fill();
      const pageNo = records.peek();
      if (pageNo === 0) break;
      if (runPages > 0 && (pageNo !== runFirst + runPages || (runPages + 1) * pageSize > run.length)) flush();
      if (runPages === 0) runFirst = pageNo;
      records.takeInto(run, runPages * pageSize);
      runPages++;
      written++;
    }
    flush();
    if (written !== header.records) throw corrupt(diffFile, `${header.records - written} page records were not applied`);
    if (pageCount < basePageCount) await fh.truncate(pageCount * pageSize);
    const size = (await fh.stat()).size;
    if (size !== pageCount * pageSize) throw new DatabaseError('RESTORE_WRITE_FAILED', `${basename(file)} is ${size} bytes after the DIFF, ${pageCount * pageSize} expected`);
    return { target: file, bytes: size, pageSize, pageCount, appliedPages, sha256, durationMs: performance.now() - started };
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError('RESTORE_WRITE_FAILED', `cannot apply ${basename(diffFile)} to ${basename(file)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await fh?.close().catch(() => undefined);
    await diffFh?.close().catch(() => undefined);
  }
}

/** `pwrite` of `length` bytes of `buffer` at `position`, looping over short writes. */
function writeAllSync(fd: number, buffer: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = writeSync(fd, buffer, done, length - done, position + done);
    if (n <= 0) throw new Error(`short write at byte ${position + done}`);
    done += n;
  }
}

/** fsync of a directory after a rename (best effort: not supported on every platform). */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close().catch(() => undefined);
}

/** Sequential, buffered reader of a DIFF's page records (1 MiB at a time). */
class RecordReader {
  private readonly buffer: Buffer;
  private readonly perChunk: number;
  private next = 0;
  private held = 0;
  private index = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly recordBytes: number,
    private readonly total: number,
  ) {
    this.perChunk = Math.max(1, Math.floor((1024 * 1024) / recordBytes));
    this.buffer = Buffer.allocUnsafe(this.perChunk * recordBytes);
  }

  /** true when no record is buffered (call {@link fill}). */
  get empty(): boolean {
    return this.index >= this.held;
  }

  /** Buffers the next records (up to 1 MiB) if none is buffered. */
  async fill(): Promise<void> {
    if (this.index < this.held || this.next >= this.total) return;
    const n = Math.min(this.perChunk, this.total - this.next);
    const got = await readFully(this.fh, this.buffer, 0, n * this.recordBytes, DIFF_HEADER_BYTES + this.next * this.recordBytes);
    if (got !== n * this.recordBytes) throw new Error('DIFF ended early');
    this.next += n;
    this.held = n;
    this.index = 0;
  }

  /** Page number of the next buffered record, or 0 when none is buffered. */
  peek(): number {
    return this.index < this.held ? this.buffer.readUInt32BE(this.index * this.recordBytes) : 0;
  }

  /** The next buffered record's page (a view, valid until the next {@link fill}) and moves on. */
  takeView(): Buffer {
    const at = this.index * this.recordBytes + DIFF_RECORD_PREFIX_BYTES;
    this.index++;
    return this.buffer.subarray(at, at + this.recordBytes - DIFF_RECORD_PREFIX_BYTES);
  }

  /** Copies the next buffered record's page into `into[offset…]` and moves on. */
  takeInto(into: Buffer, offset: number): void {
    const at = this.index * this.recordBytes + DIFF_RECORD_PREFIX_BYTES;
    this.buffer.copy(into, offset, at, at + this.recordBytes - DIFF_RECORD_PREFIX_BYTES);
    this.index++;
  }
}
