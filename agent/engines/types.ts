/**
 * The database engine behind a CommServe (SPEC §7): SQL Server in production, SQLite embedded.
 * Phase 1 talks to the database only through this interface.
 */
import type { DatabaseIdentity, Integrity } from '#core/manifest';

/** Result of writing a FULL dump. */
export interface DumpResult {
  /** Path of the dump file written. */
  file: string;
  /** Size of the dump in bytes. */
  bytes: number;
  /** Identity of the database as dumped (engine, name, page size/count or LSNs). */
  identity: DatabaseIdentity;
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
   */
  checkIntegrity(): Promise<Integrity>;
  /**
   * Writes a consistent FULL dump of the database to `file` (created or replaced).
   * @throws DatabaseError when the dump cannot be taken or written.
   */
  dumpFull(file: string, onProgress?: (copiedBytes: number, totalBytes: number) => void): Promise<DumpResult>;
  /** Compacts the database before the dump (`--shrink`; SQLite `VACUUM`). */
  shrink(): Promise<void>;
  /** Releases the connection. Idempotent. */
  close(): Promise<void>;
}
