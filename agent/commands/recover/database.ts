/**
 * Restoring the database of a point from staged, verified dumps.
 *
 * - SQLite (SPEC §7): the FULL alone is copied; FULL + DIFFERENTIAL goes through `restoreFullPlusDifferential` with
 *   the FULL's page hashes. Then `PRAGMA integrity_check`. The result is written to a work file (never the target):
 *   installing it is the caller's atomic rename ({@link rebuildDatabase}).
 * - SQL Server (SPEC §6, issue 6): the chain is checked from the manifests (DifferentialBaseGUID/LSN of the
 *   DIFFERENTIAL = BackupSetGUID/CheckpointLSN of the FULL) before any statement, then `restoreSqlServerPoint`
 *   (RESTORE … WITH NORECOVERY, REPLACE, MOVE …; the DIFFERENTIAL WITH RECOVERY; DBCC CHECKDB)
 *   ({@link restoreSqlServerDatabase}). {@link restorePointDatabase} picks one by the FULL's engine.
 */
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RestorablePoint } from '#core/cycles';
import { DatabaseError } from '#core/errors';
import type { Integrity, Manifest } from '#core/manifest';
import { RecoveryError } from '#core/recovery';
import { readDifferentialHeader, restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { PAGE_HASHES_FILE } from '#agent/engines/sqlite/sqlite-engine';
import { differentialChainProblem, restoreSqlServerPoint, type SqlServerRestoreResult, type SqlServerRestoreTarget } from '#agent/engines/sqlserver/restore';
import type { StagedFile } from './fetch';

/** What {@link rebuildDatabase} produced. */
export interface RebuiltDatabase {
  /** The work file holding the rebuilt database. */
  file: string;
  bytes: number;
  sha256: string;
  /** Page records applied from the DIFFERENTIAL (0 for a FULL alone). */
  appliedPages: number;
  integrity: Integrity;
  durationMs: number;
}

/** `PRAGMA integrity_check` of a database file (read-only); a pragma that throws SQLITE_CORRUPT is `corrupt`. */
export function checkIntegrity(file: string): Integrity {
  const started = performance.now();
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const messages = (db.prepare('PRAGMA integrity_check(100)').all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    const ok = messages.length === 1 && messages[0] === 'ok';
    return { status: ok ? 'ok' : 'corrupt', messages: ok ? [] : messages, durationMs: performance.now() - started };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const corrupt = code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
    return { status: corrupt ? 'corrupt' : 'check-failed', messages: [`${code || 'error'}: ${(error as Error).message}`], durationMs: performance.now() - started };
  } finally {
    db?.close();
  }
}

function staged(files: readonly StagedFile[], setName: string, name: string): StagedFile | undefined {
  return files.find((f) => f.setName === setName && f.file === name);
}

/**
 * Checks, before anything is rebuilt, that the staged dumps of the point fit together: SQLite engine, a FULL dump,
 * and for a DIFFERENTIAL that its header names the FULL's job id and the FULL's SHA-256 as its base.
 * @returns the staged FULL dump, DIFF and page hashes.
 * @throws RecoveryError `ENGINE_UNSUPPORTED`, `DUMP_MISSING`; DatabaseError `DIFF_WRONG_BASE`, `DIFF_CORRUPT`.
 */
export async function checkStagedDumps(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[]) {
  const full = manifests.get(point.full.setName)!;
  if (full.database.engine !== 'sqlite') {
    throw new RecoveryError('ENGINE_UNSUPPORTED', `${full.setName} is a ${full.database.engine} backup: restore it with SQL Server (RESTORE DATABASE … WITH NORECOVERY, then the DIFFERENTIAL WITH RECOVERY; restorePointDatabase with SQL Server options)`);
  }
  const fullDumpEntry = full.files.find((f) => f.role === 'database');
  const fullDump = fullDumpEntry && staged(files, full.setName, fullDumpEntry.name);
  if (!fullDumpEntry || !fullDump) throw new RecoveryError('DUMP_MISSING', `${full.setName}: the FULL dump was not staged`);
  const hashes = staged(files, full.setName, PAGE_HASHES_FILE);
  if (!point.differential) return { fullDump, fullSha256: fullDumpEntry.sha256, diff: undefined, hashes };
  const diffManifest = manifests.get(point.differential.setName)!;
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diff = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diff) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  const header = await readDifferentialHeader(diff.path);
  if (header.baseJobId !== full.jobId || header.baseSha256 !== fullDumpEntry.sha256) {
    throw new DatabaseError(
      'DIFF_WRONG_BASE',
      `${diffManifest.setName}/${diff.file} was taken against FULL job ${header.baseJobId} (SHA-256 ${header.baseSha256.slice(0, 12)}…), not against ${full.setName} (SHA-256 ${fullDumpEntry.sha256.slice(0, 12)}…): refusing to restore it`,
    );
  }
  return { fullDump, fullSha256: fullDumpEntry.sha256, diff, hashes };
}

/**
 * Rebuilds the point's database into `workFile` (replaced) and checks its integrity.
 * @throws as {@link checkStagedDumps} and `restoreFullPlusDifferential` (nothing is left at `workFile` on failure).
 */
export async function rebuildDatabase(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[], workFile: string): Promise<RebuiltDatabase> {
  const started = performance.now();
  const dumps = await checkStagedDumps(point, manifests, files);
  await mkdir(dirname(workFile), { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(workFile + suffix, { force: true });
  let sha256: string;
  let appliedPages = 0;
  if (dumps.diff) {
    const result = await restoreFullPlusDifferential({
      fullDump: dumps.fullDump.path,
      diffFile: dumps.diff.path,
      baseHashesFile: dumps.hashes?.path,
      fullJobId: point.full.jobId,
      target: workFile,
    });
    sha256 = result.sha256;
    appliedPages = result.appliedPages;
  } else {
    await copyFile(dumps.fullDump.path, `${workFile}.partial`);
    await rename(`${workFile}.partial`, workFile);
    sha256 = dumps.fullSha256;
  }
  const integrity = checkIntegrity(workFile);
  const { size } = statSync(workFile);
  return { file: workFile, bytes: size, sha256, appliedPages, integrity, durationMs: performance.now() - started };
}

/** How a SQL Server point is restored: the server session and directories, and how SQL Server reaches the staged files. */
export interface SqlServerRecoveryOptions extends SqlServerRestoreTarget {
  /**
   * The staged file's path as the SQL Server service sees it (default: the staged path itself — SQL Server runs on
   * this machine and its service account can read the staging directory).
   */
  serverPathOf?: (file: StagedFile) => string;
}

/**
 * Checks, before anything is restored, that the staged SQL Server dumps of the point fit together: a FULL dump, and
 * for a DIFFERENTIAL that its manifest's DifferentialBaseGUID/LSN are the FULL's BackupSetGUID/CheckpointLSN.
 * @throws RecoveryError `ENGINE_UNSUPPORTED` (not SQL Server), `DUMP_MISSING`; DatabaseError `DIFF_WRONG_BASE`.
 */
export function checkSqlServerStagedDumps(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[]) {
  const full = manifests.get(point.full.setName)!;
  if (full.database.engine !== 'sqlserver') throw new RecoveryError('ENGINE_UNSUPPORTED', `${full.setName} is a ${full.database.engine} backup, not SQL Server`);
  const fullEntry = full.files.find((f) => f.role === 'database');
  const fullDump = fullEntry && staged(files, full.setName, fullEntry.name);
  if (!fullDump) throw new RecoveryError('DUMP_MISSING', `${full.setName}: the FULL dump was not staged`);
  if (!point.differential) return { full, fullDump, diff: undefined };
  const diffManifest = manifests.get(point.differential.setName)!;
  const problem = differentialChainProblem(full, diffManifest);
  if (problem) throw new DatabaseError('DIFF_WRONG_BASE', `refusing to restore: ${problem}`);
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diffDump = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diffDump) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  return { full, fullDump, diff: { manifest: diffManifest, dump: diffDump } };
}

/**
 * Restores a SQL Server point into `options.database` (default the FULL's database name) on the server of
 * `options.session`: chain check first (nothing sent when it fails), then `restoreSqlServerPoint`.
 * @throws as {@link checkSqlServerStagedDumps} and `restoreSqlServerPoint`.
 */
export async function restoreSqlServerDatabase(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  options: SqlServerRecoveryOptions,
): Promise<SqlServerRestoreResult> {
  const dumps = checkSqlServerStagedDumps(point, manifests, files);
  const pathOf = options.serverPathOf ?? ((f: StagedFile) => f.path);
  return restoreSqlServerPoint(
    { manifest: dumps.full, serverPath: pathOf(dumps.fullDump) },
    dumps.diff ? { manifest: dumps.diff.manifest, serverPath: pathOf(dumps.diff.dump) } : undefined,
    options,
  );
}

/** The database of a point, restored by its engine. */
export type RestoredDatabase = { engine: 'sqlite'; rebuilt: RebuiltDatabase } | { engine: 'sqlserver'; restored: SqlServerRestoreResult };

/**
 * Restores the point's database by the FULL's engine: SQLite into `workFile` ({@link rebuildDatabase}; the caller
 * installs it), SQL Server onto the server of `sqlServer` ({@link restoreSqlServerDatabase}).
 * @throws RecoveryError `ENGINE_UNSUPPORTED` for a SQL Server point without `sqlServer` options; as the two above.
 */
export async function restorePointDatabase(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  options: { workFile: string; sqlServer?: SqlServerRecoveryOptions },
): Promise<RestoredDatabase> {
  const engine = manifests.get(point.full.setName)!.database.engine;
  if (engine === 'sqlite') return { engine, rebuilt: await rebuildDatabase(point, manifests, files, options.workFile) };
  if (!options.sqlServer) {
    throw new RecoveryError('ENGINE_UNSUPPORTED', `${point.full.setName} is a SQL Server backup: a SQL Server connection and target directories are needed to restore it`);
  }
  return { engine, restored: await restoreSqlServerDatabase(point, manifests, files, options.sqlServer) };
}
