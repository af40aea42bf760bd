/**
 * A consistent image of the live SQLite database for a DIFFERENTIAL or a LOG point to read its pages from (issue 20
 * item 2: a DIFFERENTIAL/LOG at the speed of one read).
 *
 * - **Read in place** (rollback-journal databases: `journal_mode` DELETE, TRUNCATE, PERSIST): the engine's connection
 *   opens a read transaction, which holds SQLite's SHARED lock on the database file until it ends; no writer can
 *   commit meanwhile (a writer waits up to its busy timeout — the length of one sequential read of the file), so the
 *   file's bytes are exactly the database at that moment, and are read once, straight from the file. A hot journal
 *   left by a crashed writer is rolled back by SQLite when the transaction starts, before any page is read.
 * - **Snapshot** (WAL databases, whose committed pages may live in the `-wal` file; and callers without a live
 *   connection): an online backup into a temporary file next to the output, converted out of WAL mode, read, then
 *   deleted — a read and a write of the whole database more than reading in place.
 *
 * Locks: SQLite's locks are POSIX advisory locks, which Linux drops for the whole process when *any* descriptor of
 * the file is closed. The in-place reader therefore reads through a descriptor the engine keeps open until the engine
 * itself closes (after its SQLite connection), never one it opens and closes per read.
 */
import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DatabaseError } from '#core/errors';
import { readSqliteHeader } from './sqlite-engine';
import { backupInto, convertOutOfWal, removeDatabaseFiles } from './differential';

/** The engine's live connection, as the in-place reader needs it. */
export interface LiveDatabase {
  /**
   * Begins a read transaction that holds the database's SHARED lock and returns true; returns false (nothing begun)
   * when the database cannot be read in place (WAL mode).
   * @throws when the lock cannot be taken (e.g. SQLITE_BUSY after the busy timeout).
   */
  beginRead(): boolean;
  /** Ends the read transaction begun by {@link beginRead}. */
  endRead(): void;
  /** A read descriptor on the database file that stays open as long as the engine (see the module comment). */
  fileHandle(): Promise<FileHandle>;
}

/** Where the pages are read from, and how to let go of it. */
export interface ConsistentImage {
  /** `live`: the database file itself, under a read transaction; `snapshot`: a temporary online-backup copy. */
  kind: 'live' | 'snapshot';
  handle: FileHandle;
  pageSize: number;
  /** Pages of the database at that moment (pages beyond, in the file, are not part of it). */
  pageCount: number;
  /**
   * `live` only: SQLite's file change counter (header bytes 24–27) of the state read, taken under the read transaction.
   * In a rollback-journal database every commit increments it (SQLite's own readers detect a changed file by it), so
   * another reader that saw the same value under its own read transaction saw exactly these pages (issue 15: which
   * bytes a DIFFERENTIAL's integrity check covered).
   */
  changeCounter?: number;
  /** Milliseconds spent making the image readable (the snapshot; ~0 in place). */
  preparedMs: number;
  /** Moment the image is the database's (ISO-8601 UTC), set by {@link release}: the end of the read, or of the snapshot. */
  release(): Promise<string>;
}

/** Options of {@link openConsistentImage}. */
export interface ConsistentImageOptions {
  sourceDb: string;
  /** The engine's connection: read in place when the journal mode allows. */
  live?: LiveDatabase;
  /** Takes a snapshot into a file (default: an online backup of `sourceDb`). */
  takeSnapshot?: (file: string) => Promise<unknown>;
  /** The output file; a snapshot goes next to it. */
  outFile: string;
  /** What the image is for, in messages: "a DIFFERENTIAL", "a LOG point". */
  purpose: string;
}

/** Page count of a database file from its header: the in-header size when valid (bytes 92–95 = 24–27), else the file size. */
function pagesOf(header: Buffer, fileBytes: number, pageSize: number): number {
  const inHeader = header.readUInt32BE(28);
  const valid = inHeader > 0 && header.readUInt32BE(92) === header.readUInt32BE(24);
  return valid ? inHeader : Math.floor(fileBytes / pageSize);
}

/** Page size from a database header (bytes 16–17; 1 means 65536). @throws Error when it is not an SQLite header. */
function pageSizeOf(header: Buffer, file: string): number {
  if (header.toString('latin1', 0, 16) !== 'SQLite format 3\0') throw new Error(`${basename(file)} is not an SQLite database (bad header)`);
  const raw = header.readUInt16BE(16);
  return raw === 1 ? 65536 : raw;
}

async function openLive(options: ConsistentImageOptions, live: LiveDatabase, started: number): Promise<ConsistentImage | null> {
  let begun: boolean;
  try {
    begun = live.beginRead();
  } catch (error) {
    throw new DatabaseError('DIFF_SNAPSHOT_FAILED', `cannot read ${basename(options.sourceDb)} for ${options.purpose}: ${(error as Error).message}`, { cause: error });
  }
  if (!begun) return null;
  try {
    const handle = await live.fileHandle();
    const header = Buffer.alloc(100);
    await handle.read(header, 0, 100, 0);
    // From the header read through the kept descriptor: opening and closing another descriptor of the file here
    // (as readSqliteHeader does) would drop the process's POSIX locks on it — the read transaction's SHARED lock too.
    const pageSize = pageSizeOf(header, options.sourceDb);
    const fileBytes = (await handle.stat()).size;
    const pageCount = pagesOf(header, fileBytes, pageSize);
    if (pageCount * pageSize > fileBytes) throw new Error(`the header counts ${pageCount} pages, the file holds ${Math.floor(fileBytes / pageSize)}`);
    let released = false;
    return {
      kind: 'live',
      handle,
      pageSize,
      pageCount,
      changeCounter: header.readUInt32BE(24),
      preparedMs: performance.now() - started,
      release: async () => {
        if (!released) {
          released = true;
          live.endRead();
        }
        return new Date().toISOString();
      },
    };
  } catch (error) {
    live.endRead();
    throw new DatabaseError('DIFF_SNAPSHOT_FAILED', `cannot read ${basename(options.sourceDb)} for ${options.purpose}: ${(error as Error).message}`, { cause: error });
  }
}

async function openSnapshot(options: ConsistentImageOptions, started: number): Promise<ConsistentImage> {
  const snapshot = join(dirname(options.outFile), `.${basename(options.outFile)}.${process.pid}.${randomBytes(4).toString('hex')}.snapshot`);
  let handle: FileHandle | undefined;
  try {
    try {
      await removeDatabaseFiles(snapshot);
      if (options.takeSnapshot) await options.takeSnapshot(snapshot);
      else await backupInto(options.sourceDb, snapshot);
      convertOutOfWal(snapshot);
    } catch (error) {
      if (error instanceof DatabaseError) throw error;
      throw new DatabaseError('DIFF_SNAPSHOT_FAILED', `cannot snapshot ${basename(options.sourceDb)} for ${options.purpose}: ${(error as Error).message}`, { cause: error });
    }
    const pointTime = new Date().toISOString();
    const { pageSize } = readSqliteHeader(snapshot);
    handle = await open(snapshot, 'r');
    const bytes = (await handle.stat()).size;
    if (bytes % pageSize !== 0) throw new Error(`snapshot is ${bytes} bytes, not a whole number of ${pageSize}-byte pages`);
    const opened = handle;
    return {
      kind: 'snapshot',
      handle: opened,
      pageSize,
      pageCount: bytes / pageSize,
      preparedMs: performance.now() - started,
      release: async () => {
        await opened.close().catch(() => undefined);
        await removeDatabaseFiles(snapshot);
        return pointTime;
      },
    };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await removeDatabaseFiles(snapshot);
    throw error;
  }
}

/** Options of {@link copyInPlace}. */
export interface CopyInPlaceOptions {
  sourceDb: string;
  live: LiveDatabase;
  /** The copy to write (created or replaced; fsynced). */
  outFile: string;
  /** Called after each 1 MiB copied: (bytes copied, bytes to copy). */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

/** Bytes per read/write of {@link copyInPlace}. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/**
 * A FULL dump read in place: copies the database's pages from the live file, under the engine's read transaction,
 * into `outFile` (1 MiB at a time, then fsync) — a byte copy of the database at that moment, with no SQLite page
 * cache on either side (an online backup goes through two, up to 16 MiB each with better-sqlite3's build). Returns
 * false, having written nothing, when the database cannot be read in place (WAL mode): take an online backup then.
 * The copy is removed on error.
 * @throws DatabaseError `DIFF_SNAPSHOT_FAILED` when the read lock is not granted; the file system's error otherwise
 *   (ENOSPC, EACCES, …) for the caller to name.
 */
export async function copyInPlace(options: CopyInPlaceOptions): Promise<boolean> {
  const image = await openLive({ sourceDb: options.sourceDb, live: options.live, outFile: options.outFile, purpose: 'a FULL' }, options.live, performance.now());
  if (!image) return false;
  let out: FileHandle | undefined;
  try {
    out = await open(options.outFile, 'w');
    const total = image.pageCount * image.pageSize;
    const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    for (let at = 0; at < total; ) {
      const want = Math.min(buffer.length, total - at);
      const { bytesRead } = await image.handle.read(buffer, 0, want, at);
      if (bytesRead !== want) throw new Error(`${basename(options.sourceDb)} ended at byte ${at + bytesRead}, ${total} expected`);
      for (let written = 0; written < want; ) written += (await out.write(buffer, written, want - written, at + written)).bytesWritten;
      at += want;
      options.onProgress?.(at, total);
    }
    await image.release();
    await out.sync();
    await out.close();
    out = undefined;
    return true;
  } catch (error) {
    await out?.close().catch(() => undefined);
    await rm(options.outFile, { force: true }).catch(() => undefined);
    throw error;
  } finally {
    await image.release();
  }
}

/**
 * Opens a consistent image of the live database: in place when `live` is given and the database is not in WAL mode,
 * else a snapshot (see the module comment). The caller must {@link ConsistentImage.release} it (also on error).
 * @throws DatabaseError `DIFF_SNAPSHOT_FAILED` when neither can be had (lock not granted, snapshot failed).
 */
export async function openConsistentImage(options: ConsistentImageOptions): Promise<ConsistentImage> {
  const started = performance.now();
  if (options.live) {
    const image = await openLive(options, options.live, started);
    if (image) return image;
  }
  return openSnapshot(options, started);
}
