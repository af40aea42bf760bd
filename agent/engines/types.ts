/**
 * The database engine behind a CommServe (SPEC §7): SQL Server in production, SQLite embedded.
 * Phase 1 talks to the database only through this interface.
 */
import type { DatabaseIdentity, Integrity, Manifest } from '#core/manifest';

/** Result of writing a FULL dump. */
export interface DumpResult {
  /** Path of the dump file written. */
  file: string;
  /** Size of the dump in bytes. */
  bytes: number;
  /** Identity of the database as dumped (engine, name, page size/count or LSNs). */
  identity: DatabaseIdentity;
  /** Findings for the job record (warnings), e.g. another tool's backups or an LSN disagreement; absent when none. */
  warnings?: string[];
  /**
   * SQLite DIFFERENTIAL read in place: the file change counter (header bytes 24–27) of the database state the dump read,
   * under its read transaction; absent when a snapshot was read. Compared with {@link IntegrityResult.changeCounter}.
   */
  changeCounter?: number;
}

/** What an engine's integrity check found, and which state of the database it checked when that is known. */
export type IntegrityResult = Integrity & {
  /**
   * SQLite, check of the live rollback-journal database: the file change counter (header bytes 24–27) under the check's
   * read transaction. Equal to a dump's {@link DumpResult.changeCounter}: no commit came between, the check ran on
   * exactly the pages the dump read (every commit increments it; SQLite's own readers rely on that). Absent otherwise.
   */
  changeCounter?: number;
};

/** A file an engine writes next to a dump (e.g. the FULL's page hashes) and the manifest lists. */
export interface DumpSidecar {
  /** Plain file name inside the SET folder. */
  name: string;
}

/** The cycle's FULL a DIFFERENTIAL is taken against: its manifest and where its SET folder is. */
export interface DifferentialBase {
  manifest: Manifest;
  /** The FULL's SET folder in the phase-1 destination. */
  setDir: string;
}

/**
 * What {@link DatabaseEngine.beginCycle} returns: a sink for the page digests of the FULL dump (computed by phase 1's
 * pass over the dump) that writes the cycle's sidecars.
 */
export interface CycleWriter {
  /** Page size of the dump (bytes): the pass gives one digest per page, the first 16 bytes of its SHA-256. */
  readonly pageSize: number;
  /** The digests of the next pages, in order (16 bytes each), and the dump bytes they cover. */
  addPageDigests(digests: Buffer, bytes: number): Promise<void>;
  /**
   * All bytes given: writes the sidecars and returns what `prepareCycle` returns.
   * @param dumpSha256 SHA-256 (lowercase hex) of the whole dump, as computed by the caller's pass.
   * @throws DatabaseError when a sidecar cannot be written (nothing partial is left).
   */
  finish(dumpSha256: string): Promise<{ sidecars: DumpSidecar[]; details: DatabaseIdentity['details'] }>;
  /** Drops whatever was partly written (the pass failed). Never throws. */
  abort(): Promise<void>;
}

/** What a LOG point continues: the cycle's FULL and the previous point of the open cycle (the FULL itself, a DIFFERENTIAL or a LOG). */
export interface LogBase {
  full: DifferentialBase;
  previous: DifferentialBase;
}

/** Result of a LOG dump: the dump, the sidecars written next to it, and the moment the point captures. */
export interface LogDumpResult extends DumpResult {
  /** Files written next to the dump that the manifest lists (SQLite: the point's page overlay). */
  sidecars: DumpSidecar[];
  /** When the consistent snapshot (or the log backup) ended, ISO-8601 UTC. */
  pointTime: string;
}

/** An open connection to the CommServe database. Close it when done. */
export interface DatabaseEngine {
  /** `sqlite` or `sqlserver`. */
  readonly engine: DatabaseIdentity['engine'];
  /** Database name for logs and manifests (never a connection string). */
  readonly displayName: string;
  /**
   * Runs the engine's integrity check (SQLite `PRAGMA integrity_check`, SQL Server `DBCC CHECKDB`).
   * Damage is reported as `status: 'corrupt'`, never thrown.
   * @param dumpFile a FULL dump this engine wrote: SQLite checks that copy (exactly the bytes that are backed up, and
   *   no read transaction held on the live database for the minutes a check takes); SQL Server ignores it
   *   (CHECKDB runs on the database). Absent: the live database.
   */
  checkIntegrity(dumpFile?: string): Promise<IntegrityResult>;
  /**
   * Writes a consistent FULL dump of the database to `file` (created or replaced).
   * @throws DatabaseError when the dump cannot be taken or written.
   */
  dumpFull(file: string, onProgress?: (copiedBytes: number, totalBytes: number) => void): Promise<DumpResult>;
  /**
   * Writes what later DIFFERENTIALs of this cycle need next to a FULL dump (SQLite: the page-hash
   * sidecar), and returns it with identity details to record in the manifest's `database.details`.
   * @throws DatabaseError when the sidecar cannot be written (the FULL then fails: no cycle without it).
   */
  prepareCycle(dumpFile: string, setDir: string, jobId: number): Promise<{ sidecars: DumpSidecar[]; details: DatabaseIdentity['details'] }>;
  /**
   * Like {@link prepareCycle}, but fed by the caller's own single pass over the FULL dump (phase 1 reads the dump
   * once, for the checksums, the upload and this): the returned writer gets the dump's page digests in order, then
   * `finish` with the dump's SHA-256. Engines whose cycle needs no pass over the dump (SQL Server) leave it out and
   * phase 1 calls {@link prepareCycle}.
   * @throws DatabaseError when the sidecar cannot be started.
   */
  beginCycle?(dumpFile: string, setDir: string, jobId: number): Promise<CycleWriter>;
  /**
   * Why a DIFFERENTIAL cannot be taken against `base` (engine or database changed, the base's sidecar
   * missing…), or null when it can. The job then runs a FULL and says why (SPEC §4.2 step 3).
   */
  differentialBaseProblem(base: DifferentialBase): Promise<string | null>;
  /**
   * Writes a cumulative DIFFERENTIAL dump against the cycle's FULL.
   * @throws DatabaseError `DIFF_BASE_MISMATCH` when the base turns out unusable (the caller runs a FULL),
   *   other DatabaseErrors when the dump fails.
   */
  dumpDifferential(base: DifferentialBase, file: string, jobId: number, onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<DumpResult>;
  /**
   * Why a LOG point cannot continue `base` now (SPEC §4.5), or null when it can. Absent: no check beyond the dump.
   */
  logBaseProblem?(base: LogBase): Promise<string | null>;
  /**
   * Writes a LOG point: what changed since `base.previous` (SQLite: the changed pages; SQL Server: `BACKUP LOG`).
   * Absent: the engine takes no LOG points.
   * @throws DatabaseError `LOG_BASE_UNUSABLE` (take a FULL), other DatabaseErrors when the dump fails.
   */
  dumpLog?(base: LogBase, file: string, jobId: number, onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<LogDumpResult>;
  /**
   * Disables the CommServe's job activity through the database, when this engine is configured to
   * (SQL Server: `jobActivityDisableStatement`). Absent or returning false: the caller uses the registry switch.
   * @param reason operator-readable text recorded with the change.
   * @throws DatabaseError when the configured statement fails.
   */
  disableJobActivity?(reason: string): Promise<boolean>;
  /** Compacts the database before the dump (`--shrink`; SQLite `VACUUM`). */
  shrink(): Promise<void>;
  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
