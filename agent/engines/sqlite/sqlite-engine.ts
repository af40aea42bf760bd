/**
 * SQLite engine (SPEC §7): the embedded default and the sample CommServe.
 * FULL = a byte copy of the live file under a read transaction (`copyInPlace`; an online backup for WAL databases);
 * integrity = `PRAGMA integrity_check`.
 */
import Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DatabaseError } from '#core/errors';
import type { CycleWriter, DatabaseEngine, DifferentialBase, DumpResult, DumpSidecar, IntegrityResult, LogBase, LogDumpResult } from '../types';
import { logOverlayFile, writeLogPoint, type LogPredecessor } from './log-point';
import { createBrotliDecompress } from 'node:zlib';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { open, type FileHandle } from 'node:fs/promises';
import { copyInPlace, type LiveDatabase } from './consistent-image';
import { compareDatabaseIdentity, databaseIdentity, writeDifferential, type SqliteDatabaseIdentity } from './differential';
import { PageHashesWriter, writePageHashes } from './page-hashes';

/** The FULL's page-hash sidecar in a SET: what DIFFERENTIALs of the cycle compare pages against. */
export const PAGE_HASHES_FILE = 'commserv_FULL.pagehashes';

/** The 16-byte header every SQLite 3 database file starts with. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** At most this many integrity messages are kept (PRAGMA integrity_check's own default limit is 100). */
const MAX_INTEGRITY_MESSAGES = 100;
/** Further runs of the integrity check when it fails with SQLITE_CORRUPT instead of listing findings (see `checkIntegrity`). */
const INTEGRITY_RETRIES_ON_CORRUPT = 2;

/**
 * Page cache of the integrity check's connection (KiB; SQLite's `cache_size` as a negative number). better-sqlite3 is
 * built with 16 MiB per connection, all of it filled by a check of any database over 16 MiB — resident for the whole
 * check, beside the FULL's upload buffers (issue 20: agent peak RSS ≤ 128 MiB). Measured on the 256 MB bench sample
 * (shared 2-core machine): 8 MiB checks as fast as 16 MiB (4.2–5.9 s vs 5.8–6.5 s), 2–4 MiB 40–50% slower (index
 * lookups miss the cache), the worker's peak RSS 74 → 67 MiB.
 */
export const INTEGRITY_CACHE_KIB = 8192;

/** The integrity check run in a worker thread (plain JavaScript: the worker does not load TypeScript). */
const INTEGRITY_WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// Normal CPU priority (issue 20 item 5): the FULL is not committed before the verdict, so a check at the lowest
// priority (nice 19, as it was) was starved by every other runnable thread on a busy host and became the FULL's long
// pole — measured on the shared 2-core bench machine, 256 MB, brotli FULL: 18.1 s at nice 19, 13.8 s at normal
// priority. It runs alongside the pass, which is mostly waiting on the network.
// Named (Linux: a thread may rename itself through /proc/thread-self/comm) so \`top -H\` / \`ps -L\` and the bench's CPU
// split (bench/full.ts) tell it from the agent's other threads, which Node 20 all names "node".
try {
  require('node:fs').writeFileSync('/proc/thread-self/comm', 'integrity-check');
} catch {
  // no /proc (Windows, macOS): unnamed
}
let db;
try {
  db = new Database(workerData.path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  db.pragma('cache_size = -' + workerData.cacheKiB);
  // Live database (workerData.fd: the engine's kept descriptor — never open and close one here, that drops the
  // process's locks): the check runs in one read transaction, and the file change counter is read under it.
  let changeCounter;
  const live = typeof workerData.fd === 'number' && String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal';
  if (live) {
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the SHARED lock: no commit until COMMIT
    const header = Buffer.alloc(4);
    if (require('node:fs').readSync(workerData.fd, header, 0, 4, 24) === 4) changeCounter = header.readUInt32BE(0);
  }
  const rows = db.prepare('PRAGMA integrity_check(' + workerData.max + ')').all().map((r) => r.integrity_check);
  if (live) db.exec('COMMIT');
  parentPort.postMessage({ rows, changeCounter });
} catch (error) {
  parentPort.postMessage({ error: { code: error && error.code, message: String(error && error.message) } });
} finally {
  if (db) db.close();
}
`;

/** What the integrity-check worker reports. */
type WorkerOutcome = { rows: string[]; changeCounter?: number } | { error: { code?: string; message: string } };

/**
 * Runs `PRAGMA integrity_check(max)` on `path` in a worker thread (added to `workers` while it runs); never rejects.
 * @param fd the engine's kept read descriptor of `path` when it is the live database: the check then runs in one read
 *   transaction and reports the file change counter read under it (rollback-journal databases).
 */
function runIntegrityWorker(path: string, max: number, workers: Set<Worker>, fd?: number): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    const worker = new Worker(INTEGRITY_WORKER_SOURCE, { eval: true, workerData: { path, max, fd, cacheKiB: INTEGRITY_CACHE_KIB, driver: require.resolve('better-sqlite3') } });
    workers.add(worker);
    worker.once('exit', () => workers.delete(worker));
    let settled = false;
    const settle = (value: WorkerOutcome) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
    worker.once('message', settle);
    worker.once('error', (error) => settle({ error: { code: (error as { code?: string }).code, message: error.message } }));
    worker.once('exit', (code) => settle({ error: { code: 'WORKER_EXIT', message: `the integrity-check worker exited with code ${code}` } }));
  });
}

/** Page size (bytes) and page count read from a SQLite database file header (bytes 16–17 and 28–31). */
export function readSqliteHeader(file: string): { pageSize: number; pageCount: number } {
  const header = Buffer.alloc(100);
  const fd = openSync(file, 'r');
  try {
    const read = readSync(fd, header, 0, 100, 0);
    if (read < 100 || !header.subarray(0, 16).equals(SQLITE_MAGIC)) {
      throw new DatabaseError('DB_NOT_SQLITE', `${basename(file)} is not an SQLite database (bad header)`);
    }
  } finally {
    closeSync(fd);
  }
  const raw = header.readUInt16BE(16);
  return { pageSize: raw === 1 ? 65536 : raw, pageCount: header.readUInt32BE(28) };
}

/**
 * Opens an SQLite CommServe database read-write (the online backup API needs a connection; nothing is written).
 * @throws DatabaseError `DB_NOT_FOUND` (no such file), `DB_NOT_SQLITE` (not an SQLite file), `DB_OPEN_FAILED`.
 */
export function openSqliteEngine(path: string): SqliteEngine {
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new DatabaseError('DB_NOT_FOUND', `CommServe database ${path} is not a file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError('DB_NOT_FOUND', `CommServe database not found: ${path}`, { cause: error });
  }
  if (size < 100) throw new DatabaseError('DB_NOT_SQLITE', `${path} is not an SQLite database (${size} bytes, no header)`);
  readSqliteHeader(path);
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
  } catch (error) {
    throw new DatabaseError('DB_OPEN_FAILED', `cannot open CommServe database ${path}: ${(error as Error).message}`, { cause: error });
  }
  return new SqliteEngine(path, db);
}

/** The sidecar and `database.details` a FULL records for its cycle. */
function cycleDetails(identity: SqliteDatabaseIdentity, dumpSha256: string): { sidecars: DumpSidecar[]; details: Record<string, number | string> } {
  return {
    sidecars: [{ name: PAGE_HASHES_FILE }],
    details: {
      textEncoding: identity.textEncoding,
      userVersion: identity.userVersion,
      applicationId: identity.applicationId,
      schemaFormat: identity.schemaFormat,
      pageHashesFile: PAGE_HASHES_FILE,
      dumpSha256,
    },
  };
}

/** A DatabaseEngine over one SQLite file. Create with `openSqliteEngine`. */
export class SqliteEngine implements DatabaseEngine {
  readonly engine = 'sqlite' as const;
  readonly displayName: string;
  private closed = false;
  /** Integrity checks still running (terminated by {@link close}, so a failed job does not wait for them). */
  private readonly workers = new Set<Worker>();
  /** Read descriptor on the database file for in-place reads; closed after the connection (see consistent-image.ts). */
  private liveHandle: Promise<FileHandle> | undefined;
  /** The connection as DIFFERENTIALs and LOG points read the database in place (consistent-image.ts). */
  private readonly live: LiveDatabase = {
    beginRead: () => {
      if (String(this.db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return false;
      this.db.exec('BEGIN');
      try {
        this.db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the SHARED lock (rolls back a hot journal first)
      } catch (error) {
        this.db.exec('ROLLBACK');
        throw error;
      }
      return true;
    },
    endRead: () => {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    },
    fileHandle: () => (this.liveHandle ??= open(this.path, 'r')),
  };

  constructor(
    readonly path: string,
    private readonly db: Database.Database,
  ) {
    this.displayName = basename(path);
  }

  /**
   * `PRAGMA integrity_check` on a read-only connection in a worker thread, so the check (minutes on a large
   * database, and synchronous in SQLite) can run while the hashing and the upload proceed. With `dumpFile` (a FULL
   * dump this engine wrote: a self-contained rollback-journal database) the copy is checked — exactly the bytes
   * backed up, and no read transaction on the live CommServe database for the length of the check.
   */
  async checkIntegrity(dumpFile?: string): Promise<IntegrityResult> {
    const started = performance.now();
    // The live database: through the kept descriptor, so the worker can read the change counter without opening one.
    const fd = dumpFile === undefined ? (await this.live.fileHandle()).fd : undefined;
    let outcome = await runIntegrityWorker(dumpFile ?? this.path, MAX_INTEGRITY_MESSAGES, this.workers, fd);
    // On some damage the pragma fails with SQLITE_CORRUPT in some runs and lists the findings (tables, pages) in others,
    // on the same bytes (measured: 3 of 10 runs failed on a page whose cell pointers were overwritten). The findings
    // are what an operator needs (SPEC §4.2 step 1): try again before settling for the bare error.
    for (let retry = 0; retry < INTEGRITY_RETRIES_ON_CORRUPT && 'error' in outcome && String(outcome.error.code).startsWith('SQLITE_CORRUPT'); retry++) {
      outcome = await runIntegrityWorker(dumpFile ?? this.path, MAX_INTEGRITY_MESSAGES, this.workers, fd);
    }
    const durationMs = performance.now() - started;
    if ('rows' in outcome) {
      const ok = outcome.rows.length === 1 && outcome.rows[0] === 'ok';
      return { status: ok ? 'ok' : 'corrupt', messages: ok ? [] : outcome.rows, durationMs, ...(outcome.changeCounter !== undefined ? { changeCounter: outcome.changeCounter } : {}) };
    }
    const code = outcome.error.code ?? '';
    // On heavy damage the pragma itself throws SQLITE_CORRUPT (or NOTADB): that is corruption, not a failed check.
    if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
      return { status: 'corrupt', messages: [`${code}: ${outcome.error.message}`], durationMs };
    }
    return { status: 'check-failed', messages: [`${code || 'error'}: ${outcome.error.message}`], durationMs };
  }

  /**
   * The FULL dump: a byte copy of the database file read in place under a read transaction (rollback-journal
   * databases; `copyInPlace`), or an online backup (WAL databases), made a self-contained rollback-journal file.
   * @throws DatabaseError `DUMP_DISK_FULL` (no space left), `DUMP_FAILED` (any other failure, named).
   */
  async dumpFull(file: string, onProgress?: (copiedBytes: number, totalBytes: number) => void): Promise<DumpResult> {
    try {
      const copied = await copyInPlace({ sourceDb: this.path, live: this.live, outFile: file, onProgress });
      if (!copied) {
        await this.db.backup(file, {
          progress: ({ totalPages, remainingPages }) => {
            const pageSize = this.db.pragma('page_size', { simple: true }) as number;
            onProgress?.((totalPages - remainingPages) * pageSize, totalPages * pageSize);
            return 1024; // pages per step: ~4 MiB at 4 KiB pages, yields to the event loop between steps
          },
        });
      }
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new DatabaseError(
        code === 'SQLITE_FULL' || code === 'ENOSPC' ? 'DUMP_DISK_FULL' : 'DUMP_FAILED',
        `FULL dump of ${this.displayName} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    // A backup of a WAL-mode database is itself WAL-mode: make the dump a self-contained rollback-journal file.
    const dump = new Database(file);
    try {
      if ((dump.pragma('journal_mode', { simple: true }) as string).toLowerCase() === 'wal') dump.pragma('journal_mode = DELETE');
    } finally {
      dump.close();
    }
    const { pageSize, pageCount } = readSqliteHeader(file);
    return {
      file,
      bytes: statSync(file).size,
      identity: { engine: 'sqlite', name: this.displayName, pageSize, pageCount, details: {} },
    };
  }

  async prepareCycle(dumpFile: string, setDir: string, jobId: number): Promise<{ sidecars: DumpSidecar[]; details: Record<string, number | string> }> {
    const hashes = await writePageHashes(dumpFile, join(setDir, PAGE_HASHES_FILE), { jobId });
    return cycleDetails(databaseIdentity(dumpFile), hashes.dumpSha256);
  }

  async beginCycle(dumpFile: string, setDir: string, jobId: number): Promise<CycleWriter> {
    const { pageSize } = readSqliteHeader(dumpFile);
    const identity = databaseIdentity(dumpFile);
    const writer = await PageHashesWriter.create(join(setDir, PAGE_HASHES_FILE), pageSize, jobId);
    return {
      pageSize,
      addPageDigests: (digests, bytes) => writer.addDigests(digests, bytes),
      abort: () => writer.abort(),
      finish: async (dumpSha256) => cycleDetails(identity, (await writer.finish(dumpSha256)).dumpSha256),
    };
  }

  async differentialBaseProblem(base: DifferentialBase): Promise<string | null> {
    const recorded = base.manifest.database;
    if (recorded.engine !== 'sqlite') return `the cycle's FULL ${base.manifest.setName} is of the ${recorded.engine} engine`;
    if (recorded.name !== this.displayName) return `the database was replaced: the cycle's FULL ${base.manifest.setName} is of ${recorded.name}, this is ${this.displayName}`;
    const sidecar = base.manifest.files.find((f) => f.name === PAGE_HASHES_FILE);
    if (!sidecar) return `the cycle's FULL ${base.manifest.setName} has no page hashes (${PAGE_HASHES_FILE})`;
    if (!existsSync(join(base.setDir, PAGE_HASHES_FILE))) return `the page hashes of the cycle's FULL are missing from ${base.setDir}`;
    const details = recorded.details;
    const baseIdentity: SqliteDatabaseIdentity = {
      pageSize: recorded.pageSize ?? 0,
      pageCount: recorded.pageCount ?? 0,
      schemaFormat: Number(details.schemaFormat ?? 0),
      textEncoding: Number(details.textEncoding ?? 0),
      userVersion: Number(details.userVersion ?? 0),
      applicationId: Number(details.applicationId ?? 0),
    };
    const replaced = compareDatabaseIdentity(baseIdentity, databaseIdentity(this.path)).filter((c) => c.replaced);
    if (replaced.length > 0) {
      return `the database changed since the cycle's FULL ${base.manifest.setName}: ${replaced.map((c) => `${c.field} ${c.base} → ${c.current}`).join(', ')}`;
    }
    return null;
  }

  async dumpDifferential(base: DifferentialBase, file: string, jobId: number, onProgress?: (done: number, total: number) => void): Promise<DumpResult> {
    const result = await writeDifferential({
      sourceDb: this.path,
      takeSnapshot: (snapshot) => this.db.backup(snapshot),
      live: this.live,
      baseHashesFile: join(base.setDir, PAGE_HASHES_FILE),
      outFile: file,
      baseJobId: base.manifest.jobId,
      jobId,
      onProgress,
    });
    return {
      file,
      bytes: result.bytes,
      identity: {
        engine: 'sqlite',
        name: this.displayName,
        pageSize: result.pageSize,
        pageCount: result.pageCount,
        details: {
          changedPages: result.changedPages,
          basePageCount: result.basePageCount,
          reconstructedSha256: result.sha256,
          snapshotMs: Math.round(result.snapshotMs),
        },
      },
      ...(result.changeCounter !== undefined ? { changeCounter: result.changeCounter } : {}),
    };
  }

  async logBaseProblem(base: LogBase): Promise<string | null> {
    const fullProblem = await this.differentialBaseProblem(base.full);
    if (fullProblem) return fullProblem;
    const m = base.previous.manifest;
    if (m.database.pageCount === undefined) return `the previous point ${m.setName} records no page count`;
    if (m.backupType !== 'FULL' && typeof m.database.details.reconstructedSha256 !== 'string') return `the previous point ${m.setName} records no reconstructed SHA-256`;
    return null;
  }

  /**
   * A LOG point against the previous point (see `log-point.ts`): the changed pages, and this point's overlay as a
   * sidecar. A compressed DIFFERENTIAL (DumpCompression) is decompressed next to `file` for the overlay, then removed.
   */
  async dumpLog(base: LogBase, file: string, jobId: number, onProgress?: (done: number, total: number) => void): Promise<LogDumpResult> {
    const previous = base.previous.manifest;
    const prevDir = base.previous.setDir;
    let unpacked: string | undefined;
    let overlay: LogPredecessor['overlay'] = { kind: 'full' };
    let sha256 = String(previous.database.details.dumpSha256 ?? '');
    if (previous.backupType === 'DIFFERENTIAL') {
      const entry = previous.files.find((f) => f.role === 'database')!;
      let diffFile = join(prevDir, entry.name);
      if (entry.compression) {
        unpacked = `${file}.base-diff`;
        await pipeline(createReadStream(diffFile), createBrotliDecompress(), createWriteStream(unpacked));
        diffFile = unpacked;
      }
      overlay = { kind: 'diff', file: diffFile };
      sha256 = String(previous.database.details.reconstructedSha256);
    } else if (previous.backupType === 'LOG') {
      overlay = { kind: 'log', file: join(prevDir, logOverlayFile(previous.jobId)) };
      sha256 = String(previous.database.details.reconstructedSha256);
    }
    const overlayName = logOverlayFile(jobId);
    try {
      const result = await writeLogPoint({
        sourceDb: this.path,
        takeSnapshot: (snapshot) => this.db.backup(snapshot),
        live: this.live,
        fullHashesFile: join(base.full.setDir, PAGE_HASHES_FILE),
        fullJobId: base.full.manifest.jobId,
        previous: { jobId: previous.jobId, pageCount: previous.database.pageCount ?? 0, sha256, overlay },
        outFile: file,
        overlayOutFile: join(dirname(file), overlayName),
        jobId,
        onProgress,
      });
      return {
        file,
        bytes: result.bytes,
        sidecars: [{ name: overlayName }],
        pointTime: result.pointTime,
        identity: {
          engine: 'sqlite',
          name: this.displayName,
          pageSize: result.pageSize,
          pageCount: result.pageCount,
          details: {
            changedPages: result.changedPages,
            overlayPages: result.overlayPages,
            previousPageCount: previous.database.pageCount ?? 0,
            // The identity the next LOG links to and recovery verifies: the page-digest root (log-point.ts), not the file's SHA-256.
            reconstructedSha256: result.sha256,
            reconstructedIdentity: 'page-digest-root',
            snapshotMs: Math.round(result.snapshotMs),
          },
        },
      };
    } finally {
      if (unpacked) rmSync(unpacked, { force: true });
    }
  }

  async shrink(): Promise<void> {
    this.db.exec('VACUUM');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.terminate()));
    this.db.close();
    const handle = this.liveHandle;
    this.liveHandle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close().catch(() => undefined);
  }
}
