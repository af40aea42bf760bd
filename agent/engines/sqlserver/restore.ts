/**
 * Restoring a SQL Server restorable point (SPEC §6, issue 6): FULL `WITH NORECOVERY, REPLACE` with a `MOVE` for every
 * logical file (`RESTORE FILELISTONLY`), then the DIFFERENTIAL `WITH RECOVERY` (a FULL alone `WITH RECOVERY`), after
 * taking exclusive access (`SET OFFLINE WITH ROLLBACK IMMEDIATE`, when the database exists and is online), then
 * `SET MULTI_USER WITH ROLLBACK IMMEDIATE`, the owner, TRUSTWORTHY and users as at backup time (`principals.ts`), then
 * `DBCC CHECKDB` of the result.
 *
 * Chain check first, before any statement that changes anything: the DIFFERENTIAL's DifferentialBaseGUID/LSN (manifest)
 * must be the FULL's BackupSetGUID/CheckpointLSN, and the staged files' own headers (`RESTORE HEADERONLY`, read-only)
 * must be the backup sets the manifests describe.
 */
import { DatabaseError } from '#core/errors';
import type { Integrity, Manifest } from '#core/manifest';
import { BACKUP_TYPE, classifyCheckDb, guidText, parseFileList, parseHeaderOnly, type BackupFile, type BackupHeader } from './parse';
import { restorePrincipals, type RestoredPrincipals } from './principals';
import { ALTER_REQUEST_TIMEOUT_MS, SHORT_REQUEST_TIMEOUT_MS, SqlBatchError, type SqlMessage, type SqlSession } from './session';
import { differentialLsnWarning } from './sqlserver-engine';
import {
  checkDbStatement,
  fileListOnlyStatement,
  headerOnlyStatement,
  longBatch,
  multiUserStatement,
  offlineStatement,
  onlineStatement,
  restoreDatabaseStatement,
  serverBaseName,
  serverPath,
  type FileMove,
} from './tsql';

import { restoreLogStatements } from './log-backup';

/** One dump of the point: its SET's manifest and the staged file's path as SQL Server sees it. */
export interface SqlServerDump {
  manifest: Manifest;
  /** Path of the staged dump readable by the SQL Server service. */
  serverPath: string;
}

/** Where and how to restore. */
export interface SqlServerRestoreTarget {
  /** A session with restore rights (sysadmin or dbcreator), connected to `master`. */
  session: SqlSession;
  /** Name of the database to create or replace (default: the name in the FULL's manifest). */
  database?: string;
  /** Server-side directory for data (and FILESTREAM / full-text) files. */
  dataDirectory: string;
  /** Server-side directory for log files. */
  logDirectory: string;
  /** Run `DBCC CHECKDB` on the restored database (default true). */
  checkIntegrity?: boolean;
}

/** What {@link restoreSqlServerPoint} did. */
export interface SqlServerRestoreResult {
  database: string;
  moves: FileMove[];
  /** Every statement sent, in order (for the report). */
  statements: string[];
  integrity: Integrity;
  /** Owner, TRUSTWORTHY and users put back after the restore (item 7); see {@link restorePrincipals}. */
  principals: RestoredPrincipals;
  /** Findings that did not stop the restore (an LSN disagreement, a login to create …). */
  warnings: string[];
  durationMs: number;
}

/**
 * Why the DIFFERENTIAL (manifest details) does not belong to the FULL (manifest details), or null when it does:
 * its DifferentialBaseGUID must equal the FULL's BackupSetGUID (the GUID decides; LSNs only warn, see
 * {@link differentialChainWarnings}).
 */
export function differentialChainProblem(full: Manifest, diff: Manifest): string | null {
  const f = full.database.details;
  const d = diff.database.details;
  if (full.database.engine !== 'sqlserver' || diff.database.engine !== 'sqlserver') return `${full.setName} and ${diff.setName} are not both SQL Server backups`;
  if (Number(f.BackupType) !== BACKUP_TYPE.Database) return `${full.setName} is not a full database backup (BackupType ${String(f.BackupType)})`;
  if (Number(d.BackupType) !== BACKUP_TYPE.DatabaseDifferential) return `${diff.setName} is not a differential database backup (BackupType ${String(d.BackupType)})`;
  const fullGuid = guidText(f.BackupSetGUID);
  const baseGuid = guidText(d.DifferentialBaseGUID);
  if (!fullGuid || !baseGuid || fullGuid !== baseGuid) {
    return `${diff.setName} is based on backup set ${baseGuid ?? '(none)'}, not on ${full.setName} (BackupSetGUID ${fullGuid ?? '(none)'})`;
  }
  return null;
}

/**
 * Warnings about a chain {@link differentialChainProblem} accepts: an LSN disagreement names both values and is never a
 * refusal on its own (the backup-set GUID decides; SQL Server refuses a wrong base with error 3136).
 */
export function differentialChainWarnings(full: Manifest, diff: Manifest): string[] {
  const baseLsn = typeof diff.database.details.DifferentialBaseLSN === 'string' ? diff.database.details.DifferentialBaseLSN : null;
  const warning = differentialLsnWarning(full.setName, full.database.details, baseLsn);
  return warning ? [`${diff.setName}: ${warning}`] : [];
}

/**
 * A `MOVE` for every logical file: logs (`L`) into `logDirectory`, everything else into `dataDirectory`, keeping the
 * original file name (prefixed with the target database name when restoring under another name); a name used twice
 * gets the file id appended.
 */
export function buildMoves(files: readonly BackupFile[], target: { dataDirectory: string; logDirectory: string; database: string; sourceDatabase: string }): FileMove[] {
  const used = new Set<string>();
  return files.map((f) => {
    let name = serverBaseName(f.physicalName);
    if (target.database.toLowerCase() !== target.sourceDatabase.toLowerCase()) name = `${target.database}_${name}`;
    const dir = f.type === 'L' ? target.logDirectory : target.dataDirectory;
    let path = serverPath(dir, name);
    if (used.has(path.toLowerCase())) {
      const dot = name.lastIndexOf('.');
      name = dot > 0 ? `${name.slice(0, dot)}_${f.fileId}${name.slice(dot)}` : `${name}_${f.fileId}`;
      path = serverPath(dir, name);
    }
    used.add(path.toLowerCase());
    return { logicalName: f.logicalName, physicalName: path };
  });
}

function sqlFailure(code: string, what: string, error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  return new DatabaseError(code, `${what} failed: ${(error as Error)?.message ?? String(error)}`, {
    context: error instanceof SqlBatchError ? { sqlErrors: error.errors.map((m) => m.number), driverCode: error.driverCode } : {},
  });
}

function checkHeader(header: BackupHeader, manifest: Manifest, file: string): void {
  const expected = guidText(manifest.database.details.BackupSetGUID);
  if (header.BackupSetGUID !== expected) {
    throw new DatabaseError('DIFF_WRONG_BASE', `${file} holds backup set ${header.BackupSetGUID}, but ${manifest.setName}'s manifest records ${expected ?? '(none)'}: refusing to restore`);
  }
}

/**
 * Restores the point into `target` (see the module comment). With `logs` (a LOG point, issue 17: the LOG SETs after the
 * FULL/DIFFERENTIAL, oldest first) the FULL and DIFFERENTIAL are restored `WITH NORECOVERY`, then every LOG
 * (`RESTORE LOG … WITH CHECKSUM, NORECOVERY`, the last `RECOVERY`: the state at that LOG's end, as for SQLite; with
 * `stopAtLocal`, the server-local moment, the last `WITH CHECKSUM, STOPAT = N'…', RECOVERY`).
 * @throws DatabaseError `DIFF_WRONG_BASE` (before any change: a staged file is not the backup set its manifest
 *   records), `RESTORE_FAILED` (a RESTORE failed; the database may be left RESTORING — rerun the recovery),
 *   `DUMP_HEADER_INVALID`.
 */
export async function restoreSqlServerPoint(
  full: SqlServerDump,
  differential: SqlServerDump | undefined,
  target: SqlServerRestoreTarget,
  logs: readonly SqlServerDump[] = [],
  stopAtLocal?: string,
): Promise<SqlServerRestoreResult> {
  const started = performance.now();
  if (differential) {
    const problem = differentialChainProblem(full.manifest, differential.manifest);
    if (problem) throw new DatabaseError('DIFF_WRONG_BASE', `refusing to restore: ${problem}`);
  }
  const database = target.database ?? full.manifest.database.name;
  const statements: string[] = [];
  const warnings = differential ? differentialChainWarnings(full.manifest, differential.manifest) : [];
  const run = async (code: string, what: string, batch: string, timeoutMs?: number) => {
    statements.push(batch);
    try {
      return await target.session.execute(batch, timeoutMs === undefined ? undefined : { timeoutMs });
    } catch (error) {
      throw sqlFailure(code, what, error);
    }
  };
  // Read-only checks of the staged files: their headers must be the backup sets the manifests describe.
  const headers: BackupHeader[] = [];
  for (const dump of [full, ...(differential ? [differential] : []), ...logs]) {
    const result = await run('DUMP_HEADER_INVALID', `RESTORE HEADERONLY of ${dump.serverPath}`, headerOnlyStatement(dump.serverPath), SHORT_REQUEST_TIMEOUT_MS);
    const header = parseHeaderOnly(result.recordsets[0] ?? [], dump.serverPath);
    checkHeader(header, dump.manifest, dump.serverPath);
    headers.push(header);
  }
  if (differential) {
    const fullGuid = headers[0]!.BackupSetGUID;
    if (headers[1]!.DifferentialBaseGUID !== fullGuid) {
      throw new DatabaseError('DIFF_WRONG_BASE', `${differential.serverPath} is based on ${headers[1]!.DifferentialBaseGUID ?? '(none)'}, not on ${full.manifest.setName} (${fullGuid}): refusing to restore`);
    }
  }
  const fileList = parseFileList((await run('DUMP_HEADER_INVALID', `RESTORE FILELISTONLY of ${full.serverPath}`, fileListOnlyStatement(full.serverPath), SHORT_REQUEST_TIMEOUT_MS)).recordsets[0] ?? [], full.serverPath);
  const moves = buildMoves(fileList, { ...target, database, sourceDatabase: full.manifest.database.name });

  // From here on the target changes. Exclusive access nobody can take over: OFFLINE closes every connection and lets
  // nobody in until RESTORE brings the database back (short lock and request timeouts for the ALTER).
  try {
    await run('RESTORE_FAILED', `taking ${database} offline (exclusive access)`, offlineStatement(database), ALTER_REQUEST_TIMEOUT_MS);
    await run('RESTORE_FAILED', `RESTORE DATABASE ${database} from ${full.serverPath}`, longBatch(restoreDatabaseStatement({ database, file: full.serverPath, recovery: !differential && logs.length === 0, replace: true, moves })));
    if (differential) {
      await run('RESTORE_FAILED', `RESTORE DATABASE ${database} from ${differential.serverPath}`, longBatch(restoreDatabaseStatement({ database, file: differential.serverPath, recovery: logs.length === 0, replace: false, moves: [] })));
    }
    if (logs.length > 0) {
      const statements = restoreLogStatements(database, logs.map((l) => l.serverPath), stopAtLocal);
      for (const [i, statement] of statements.entries()) await run('RESTORE_FAILED', `RESTORE LOG ${database} from ${logs[i]!.serverPath}`, longBatch(statement));
    }
    await run('RESTORE_FAILED', `giving ${database} back to every user`, multiUserStatement(database), ALTER_REQUEST_TIMEOUT_MS);
  } catch (error) {
    // Best effort: a database still OFFLINE (the RESTORE never started) comes back online and multi-user.
    await target.session.execute(onlineStatement(database), { timeoutMs: ALTER_REQUEST_TIMEOUT_MS }).catch(() => undefined);
    await target.session.execute(multiUserStatement(database), { timeoutMs: ALTER_REQUEST_TIMEOUT_MS }).catch(() => undefined);
    throw error;
  }
  const principals = await restorePrincipals(target.session, database, full.manifest, (batch) => statements.push(batch));
  warnings.push(...principals.notes);
  let integrity: Integrity = { status: 'skipped', messages: [], durationMs: 0 };
  if (target.checkIntegrity ?? true) {
    const t = performance.now();
    const batch = checkDbStatement(database);
    statements.push(batch);
    let messages: SqlMessage[];
    let failed = false;
    try {
      messages = (await target.session.execute(batch)).messages;
    } catch (error) {
      failed = true;
      messages = error instanceof SqlBatchError ? [...error.messages, ...error.errors] : [{ number: 0, severity: 16, state: 0, message: String(error) }];
    }
    integrity = classifyCheckDb(messages, failed, performance.now() - t);
  }
  return { database, moves, statements, integrity, principals, warnings, durationMs: performance.now() - started };
}
