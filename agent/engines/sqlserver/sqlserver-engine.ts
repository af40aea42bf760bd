/**
 * SQL Server engine (SPEC §7, issue 6): the production CommServe database, through `mssql`.
 *
 * - Integrity: `DBCC CHECKDB (N'<db>') WITH NO_INFOMSGS, ALL_ERRORMSGS`, messages classified by `classifyCheckDb`.
 * - FULL / DIFFERENTIAL: `BACKUP DATABASE … TO DISK … WITH CHECKSUM, INIT[, COMPRESSION][, DIFFERENTIAL]` into the
 *   backup directory (as the SQL Server service sees it), `RESTORE HEADERONLY` (+ exact LSNs from msdb) recorded in
 *   the manifest's `database.details`, then the file is streamed into the SET (the agent must be able to read that
 *   directory: same machine, or a share — `agentBackupDirectory`) and removed from the backup directory.
 * - Chain safety: a DIFFERENTIAL is taken only while the database's differential base (`sys.database_files`) is the
 *   cycle's FULL (its BackupSetGUID and CheckpointLSN); a full backup by another tool that was not `COPY_ONLY`
 *   changes the base and promotes the job to FULL, with who/when/where from msdb when readable.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, DatabaseError } from '#core/errors';
import type { DatabaseIdentity, Integrity } from '#core/manifest';
import type { DatabaseEngine, DifferentialBase, DumpResult, DumpSidecar, LogBase, LogDumpResult } from '../types';
import { backupLogStatement, logLinkProblem, recoveryModelProblem, recoveryModelQuery, type LogPredecessor } from './log-backup';
import { resolveSqlServerPassword, type PasswordSources, type SqlServerDatabaseSettings } from './credentials';
import {
  BACKUP_TYPE,
  classifyCheckDb,
  guidText,
  headerDetails,
  parseDifferentialBase,
  parseBackupSetRow,
  parseHeaderOnly,
  serverLocalDate,
  withExactLsns,
  type BackupHeader,
  type FileDifferentialBase,
} from './parse';
import { withDbRetry, type DbRetryOptions } from './retry';
import { readPrincipals } from './principals';
import { describeOtherBackup, type OtherBackup } from './other-backups';
export { describeOtherBackup, type OtherBackup } from './other-backups';
import { checkSqlServerRights, type RightVerdict } from './rights';
import { connectionError, connectMssql, SHORT_REQUEST_TIMEOUT_MS, SqlBatchError, targetLabel, type MssqlOptions, type SqlMessage, type SqlServerLogin, type SqlServerTarget, type SqlSession } from './session';
import {
  backupSetLsnQuery,
  backupSetOfFileQuery,
  otherBackupsQuery,
  backupSetOriginQuery,
  backupStatement,
  checkDbStatement,
  DEFAULT_BACKUP_PATH_QUERY,
  differentialBaseQuery,
  headerOnlyStatement,
  serverPath,
  jobActivityStatement,
  shrinkStatement,
} from './tsql';

/**
 * Copies the backup file SQL Server wrote (`source`, as the agent sees it) into the SET (`target`).
 * @returns the bytes copied.
 */
export type BackupFileCopier = (source: string, target: string, onProgress?: (copiedBytes: number, totalBytes: number) => void) => Promise<number>;

/** Streams `source` to `target` (bounded memory), reporting progress. The default {@link BackupFileCopier}. */
export const streamCopy: BackupFileCopier = async (source, target, onProgress) => {
  const total = (await stat(source)).size;
  let copied = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      copied += chunk.length;
      onProgress?.(copied, total);
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(source, { highWaterMark: 1024 * 1024 }), counter, createWriteStream(target));
  return copied;
};

/** How a {@link SqlServerEngine} is built: an open session and where backups go. */
export interface SqlServerEngineOptions {
  /** The connected session (see `connectMssql`; tests pass a fake). */
  session: SqlSession;
  /** Server, port and CommServe database name (for T-SQL and messages; no secret). */
  target: SqlServerTarget;
  /**
   * Directory where the SQL Server service writes backup files, as the *server* sees it (`D:\SQLBackup`,
   * `/var/opt/mssql/backup`). Default: `SERVERPROPERTY('InstanceDefaultBackupPath')` (SQL Server 2019+).
   */
  backupDirectory?: string;
  /** The same directory as the *agent* sees it (a share, a mount); default `backupDirectory` (same machine). */
  agentBackupDirectory?: string;
  /** `COMPRESSION` (true), `NO_COMPRESSION` (false) or the server's default (undefined, the default). */
  compression?: boolean;
  /** T-SQL that disables job activity on corruption; `{reason}` becomes an N'…' string (see the setting). */
  jobActivityDisableStatement?: string;
  /** Copies the backup file into the SET (default {@link streamCopy}). */
  copyBackupFile?: BackupFileCopier;
  /** Removes the backup file from the backup directory once copied or rejected (default `fs.rm`, best effort). */
  removeBackupFile?: (agentPath: string) => Promise<void>;
}

/**
 * Driver codes of a batch that mean the connection was lost (the server stopped answering): tedious fails the running
 * request with `ECLOSE` ("Connection closed before request completed"), mssql with `ECONNCLOSED`/`ENOTOPEN`.
 */
export const CONNECTION_LOST = new Set(['ECLOSE', 'ESOCKET', 'ECONNCLOSED', 'ECONNRESET', 'ENOTOPEN']);

/**
 * Whether SQL Server's errors mean "no space", by number (language-independent): 3202 write on the backup device failed
 * with operating-system error 112 (ERROR_DISK_FULL), 1101/1105 filegroup full, 9002 log full. English texts as a
 * fallback.
 */
export function isDiskFull(errors: readonly SqlMessage[]): boolean {
  return errors.some((m) => (m.number === 3202 && /\b112\(/.test(m.message)) || [1101, 1105, 9002].includes(m.number) || /not enough space|disk is full|no space left/i.test(m.message));
}

/** A file name SQL Server and every file system accept: `[A-Za-z0-9_.-]` only. */
function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * Why a DIFFERENTIAL may not be taken against `base` given the database's current differential base, or null.
 * Pure: the decision the engine makes with what it read from `sys.database_files` and (best effort) msdb.
 * @param recorded the FULL's manifest `database` (engine, name, details with BackupSetGUID / CheckpointLSN).
 * @param database the CommServe database name now configured.
 * @param current the database's per-file differential base.
 * @param origin the msdb `backupset` row of the backup that is the current base, when readable.
 */
export function differentialBaseDecision(
  setName: string,
  recorded: DatabaseIdentity,
  database: string,
  current: readonly FileDifferentialBase[],
  origin?: Record<string, unknown>,
): string | null {
  if (recorded.engine !== 'sqlserver') return `the cycle's FULL ${setName} is of the ${recorded.engine} engine`;
  if (recorded.name.toLowerCase() !== database.toLowerCase()) return `the cycle's FULL ${setName} is of database ${recorded.name}, this is ${database}`;
  const d = recorded.details;
  const fullGuid = guidText(d.BackupSetGUID);
  if (!fullGuid) return `the cycle's FULL ${setName} records no BackupSetGUID`;
  if (Number(d.BackupType) !== BACKUP_TYPE.Database) return `the cycle's FULL ${setName} is not a database backup (BackupType ${String(d.BackupType)})`;
  if (d.IsCopyOnly === true) return `the cycle's FULL ${setName} is COPY_ONLY and cannot be a differential base`;
  if (current.length === 0) return `no data file of ${database} is visible in sys.database_files`;
  const guids = [...new Set(current.map((f) => f.guid))];
  if (guids.includes(null)) return `${database} has no differential base (no full backup since it was created, attached or restored)`;
  if (guids.length > 1) return `the data files of ${database} have different differential bases (${guids.join(', ')}): a file or partial backup was taken`;
  const now = guids[0]!;
  if (now !== fullGuid) {
    let by = '(not in this server\'s msdb backup history: the database was restored or attached, or the history was purged)';
    if (origin) {
      const when = origin.backup_finish_date instanceof Date ? origin.backup_finish_date.toISOString() : String(origin.backup_finish_date ?? '?');
      by = `(finished ${when} by ${String(origin.user_name ?? '?')} to ${String(origin.physical_device_name ?? '?')})`;
    }
    return `a full backup not taken by commserve-dr, not COPY_ONLY, is now the differential base of ${database} (BackupSetGUID ${now}) ${by} instead of the cycle's FULL ${setName} (${fullGuid}); other tools must take full backups WITH COPY_ONLY`;
  }
  return null;
}

/**
 * A warning (never a refusal: the backup-set GUID decides the base, and SQL Server itself refuses a wrong base with
 * error 3136) when a DIFFERENTIAL's DifferentialBaseLSN is neither the FULL's FirstLSN (what RESTORE HEADERONLY
 * documents) nor its CheckpointLSN (what Ola Hallengren's scripts and dbatools compare), naming both values; null when
 * it matches or a value is unknown.
 */
export function differentialLsnWarning(setName: string, full: DatabaseIdentity['details'], baseLsn: string | null): string | null {
  const first = typeof full.FirstLSN === 'string' ? full.FirstLSN : null;
  const checkpoint = typeof full.CheckpointLSN === 'string' ? full.CheckpointLSN : null;
  if (!baseLsn || (!first && !checkpoint) || baseLsn === first || baseLsn === checkpoint) return null;
  return `the DIFFERENTIAL's DifferentialBaseLSN ${baseLsn} is neither the FirstLSN (${first ?? '?'}) nor the CheckpointLSN (${checkpoint ?? '?'}) of the cycle's FULL ${setName}; the backup-set GUID matches, so the chain stands (SQL Server refuses a wrong base with error 3136)`;
}

/**
 * Classifies msdb rows of {@link otherBackupsQuery}: a FULL is the start of the other tool's own chain (and, not being
 * COPY_ONLY, moves the differential base away from ours); a DIFFERENTIAL belongs to commserve-dr's chain when its base
 * is one of `ourFullGuids`, else to the other tool's.
 */
export function classifyOtherBackups(rows: ReadonlyArray<Record<string, unknown>>, ourFullGuids: ReadonlySet<string>): OtherBackup[] {
  return rows.flatMap((r) => {
    const guid = guidText(r.backup_set_uuid);
    const t = String(r.type ?? '').trim().toUpperCase();
    if (!guid || (t !== 'D' && t !== 'I') || ourFullGuids.has(guid)) return [];
    const baseGuid = t === 'I' ? guidText(r.differential_base_guid) : null;
    return [{
      type: t === 'D' ? ('FULL' as const) : ('DIFFERENTIAL' as const),
      backupSetGuid: guid,
      finished: serverLocalDate(r.backup_finish_date, r.time_zone),
      userName: r.user_name === null || r.user_name === undefined ? null : String(r.user_name),
      device: r.physical_device_name === null || r.physical_device_name === undefined ? null : String(r.physical_device_name),
      chain: baseGuid !== null && ourFullGuids.has(baseGuid) ? ('commserve-dr' as const) : ('other' as const),
      baseGuid,
    }];
  });
}

/** A DatabaseEngine over one SQL Server database. Create with {@link openSqlServerEngine} (or directly, for tests). */
export class SqlServerEngine implements DatabaseEngine {
  readonly engine = 'sqlserver' as const;
  readonly displayName: string;
  private readonly session: SqlSession;
  private readonly target: SqlServerTarget;
  private readonly options: SqlServerEngineOptions;
  private backupDir?: string;
  private lastFull?: { file: string; header: BackupHeader };
  private closed = false;

  constructor(options: SqlServerEngineOptions) {
    this.options = options;
    this.session = options.session;
    this.target = options.target;
    this.displayName = options.target.database;
    this.backupDir = options.backupDirectory;
  }

  /** The CommServe database name. */
  get database(): string {
    return this.target.database;
  }

  private failure(code: string, what: string, error: unknown): DatabaseError {
    if (error instanceof DatabaseError) return error;
    const where = `SQL Server ${targetLabel(this.target)} (database ${this.database})`;
    if (error instanceof SqlBatchError) {
      if (CONNECTION_LOST.has(error.driverCode)) return new DatabaseError('DB_UNREACHABLE', `${where} stopped answering during ${what}`, { context: { driverCode: error.driverCode } });
      if (error.driverCode === 'ETIMEOUT') return new DatabaseError('DB_QUERY_TIMEOUT', `${what} on ${where} timed out`, { context: { driverCode: error.driverCode } });
      const diskFull = isDiskFull(error.errors);
      if (!diskFull && error.errors.some((m) => m.number === 229 || m.number === 262 || m.number === 2571)) {
        return new DatabaseError('DB_PERMISSION_DENIED', `${what} on ${where} failed: ${error.message} — the login lacks a right docs/SQLSERVER.md lists (run \`commserve-dr doctor\` to see which)`, { context: { sqlErrors: error.errors.map((m) => m.number) } });
      }
      return new DatabaseError(diskFull ? 'DUMP_DISK_FULL' : code, `${what} on ${where} failed: ${error.message}`, { context: { sqlErrors: error.errors.map((m) => m.number) } });
    }
    return new DatabaseError(code, `${what} on ${where} failed: ${(error as Error)?.message ?? String(error)}`);
  }

  /** Runs a batch; `short` statements (metadata, ALTER) get {@link SHORT_REQUEST_TIMEOUT_MS}, long ones the session's. */
  private async run(code: string, what: string, batch: string, length: 'short' | 'long' = 'long') {
    try {
      return await this.session.execute(batch, length === 'short' ? { timeoutMs: SHORT_REQUEST_TIMEOUT_MS } : undefined);
    } catch (error) {
      throw this.failure(code, what, error);
    }
  }

  async checkIntegrity(): Promise<Integrity> {
    const started = performance.now();
    let messages: SqlMessage[];
    let failed = false;
    try {
      messages = (await this.session.execute(checkDbStatement(this.database))).messages;
    } catch (error) {
      // A lost connection says nothing about the database: "database unreachable" (retried by the DB rule), not a verdict.
      if (error instanceof SqlBatchError && CONNECTION_LOST.has(error.driverCode)) throw this.failure('DB_UNREACHABLE', 'DBCC CHECKDB', error);
      failed = true;
      messages = error instanceof SqlBatchError ? [...error.messages, ...error.errors] : [{ number: 0, severity: 16, state: 0, message: (error as Error)?.message ?? String(error) }];
    }
    return classifyCheckDb(messages, failed, performance.now() - started);
  }

  /** The login's rights on this server ({@link checkSqlServerRights}): for preflight and `doctor`. */
  async checkRights(scope?: RightVerdict['scope']): Promise<RightVerdict[]> {
    return checkSqlServerRights(this.session, this.database, scope);
  }

  /**
   * The header of the backup just written to `serverFile`, from msdb's history (SELECT on msdb.dbo.backupset and
   * backupmediafamily; RESTORE HEADERONLY would need CREATE DATABASE).
   * @throws DatabaseError `DB_PERMISSION_DENIED` (msdb not readable), `DUMP_HEADER_INVALID` (no history row).
   */
  async readBackupSetOfFile(serverFile: string): Promise<BackupHeader> {
    const result = await this.run('DUMP_HEADER_INVALID', `reading the msdb history row of ${serverFile}`, backupSetOfFileQuery(this.database, serverFile), 'short');
    return parseBackupSetRow(result.recordsets[0]?.[0], serverFile);
  }

  private async serverBackupDirectory(): Promise<string> {
    if (this.backupDir) return this.backupDir;
    const result = await this.run('DUMP_FAILED', 'reading the default backup directory', DEFAULT_BACKUP_PATH_QUERY);
    const path = result.recordsets[0]?.[0]?.path;
    if (typeof path !== 'string' || path.length === 0) {
      throw new ConfigError('Database.backupDirectory is not set and the server reports no default backup directory: set it to a directory the SQL Server service can write and the agent can read');
    }
    this.backupDir = path;
    return path;
  }

  /** `RESTORE HEADERONLY` of a backup file on the server, with exact LSNs from msdb when readable. */
  async readBackupHeader(serverFile: string): Promise<BackupHeader> {
    const result = await this.run('DUMP_HEADER_INVALID', `RESTORE HEADERONLY of ${serverFile}`, headerOnlyStatement(serverFile));
    const header = parseHeaderOnly(result.recordsets[0] ?? [], serverFile);
    try {
      const lsns = await this.session.execute(backupSetLsnQuery(header.BackupSetGUID));
      return withExactLsns(header, lsns.recordsets[0]?.[0]);
    } catch {
      return header; // msdb not readable: LSNs from HEADERONLY (exact below 2^53, else null)
    }
  }

  /** Other tools' backups (best effort: msdb not readable → nothing), recorded on the dump and as job warnings. */
  private lastOtherBackups: OtherBackup[] = [];

  private async otherBackupsWarnings(base: DifferentialBase | undefined): Promise<string[]> {
    const ours = new Set<string>();
    const baseGuid = base ? guidText(base.manifest.database.details.BackupSetGUID) : null;
    if (baseGuid) ours.add(baseGuid);
    if (this.lastFull) ours.add(this.lastFull.header.BackupSetGUID);
    try {
      const rows = (await this.session.execute(otherBackupsQuery(this.database), { timeoutMs: SHORT_REQUEST_TIMEOUT_MS })).recordsets[0] ?? [];
      this.lastOtherBackups = classifyOtherBackups(rows, ours);
    } catch {
      this.lastOtherBackups = [];
    }
    return this.lastOtherBackups.map(describeOtherBackup);
  }

  private async dump(
    file: string,
    kind: 'FULL' | 'DIFFERENTIAL' | 'LOG',
    base: DifferentialBase | undefined,
    onProgress?: (done: number, total: number) => void,
    logPredecessor?: LogPredecessor,
  ): Promise<DumpResult> {
    const differential = kind === 'DIFFERENTIAL';
    const directory = await this.serverBackupDirectory();
    const name = safeFileName(`commserve-dr_${basename(dirname(file))}_${basename(file)}`);
    const serverFile = serverPath(directory, name);
    const agentFile = join(this.options.agentBackupDirectory ?? directory, name);
    const remove = this.options.removeBackupFile ?? ((p: string) => rm(p, { force: true }));
    const statement =
      kind === 'LOG'
        ? backupLogStatement({ database: this.database, file: serverFile, compression: this.options.compression })
        : backupStatement({ database: this.database, file: serverFile, differential, compression: this.options.compression });
    await this.run('DUMP_FAILED', `${kind} backup`, statement);
    try {
      const header = await this.readBackupSetOfFile(serverFile);
      const expectedType = kind === 'LOG' ? BACKUP_TYPE.Log : differential ? BACKUP_TYPE.DatabaseDifferential : BACKUP_TYPE.Database;
      if (header.BackupType !== expectedType || header.DatabaseName.toLowerCase() !== this.database.toLowerCase()) {
        throw new DatabaseError('DUMP_HEADER_INVALID', `${serverFile} holds a backup of type ${header.BackupType} of ${header.DatabaseName}, expected type ${expectedType} of ${this.database}`);
      }
      const warnings: string[] = [];
      if (base) {
        const d = base.manifest.database.details;
        const fullGuid = guidText(d.BackupSetGUID);
        if (header.DifferentialBaseGUID !== fullGuid) {
          throw new DatabaseError(
            'DIFF_BASE_MISMATCH',
            `the DIFFERENTIAL just taken is based on backup set ${header.DifferentialBaseGUID ?? '(none)'}, not on the cycle's FULL ${base.manifest.setName} (${fullGuid}): another full backup ran meanwhile`,
          );
        }
        const lsnWarning = differentialLsnWarning(base.manifest.setName, d, header.DifferentialBaseLSN);
        if (lsnWarning) warnings.push(lsnWarning);
      }
      if (logPredecessor) {
        const link = logLinkProblem(logPredecessor, header);
        if (link?.gap) throw new DatabaseError('LOG_BASE_UNUSABLE', `LOG point refused: ${link.message}`);
        if (link) warnings.push(link.message);
      }
      if (kind !== 'LOG') warnings.push(...(await this.otherBackupsWarnings(base)));
      let bytes: number;
      try {
        bytes = await (this.options.copyBackupFile ?? streamCopy)(agentFile, file, onProgress);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') {
          throw new DatabaseError('DUMP_NOT_READABLE', `the agent cannot read ${agentFile} (${code}), the ${kind} backup SQL Server wrote to ${serverFile}: run the agent where that directory is local, or set the agent's path to it (a share)`, { cause: error });
        }
        throw new DatabaseError(code === 'ENOSPC' ? 'DUMP_DISK_FULL' : 'DUMP_FAILED', `copying the ${kind} backup into ${file} failed (${code ?? 'error'})`, { cause: error });
      }
      if (kind === 'FULL') this.lastFull = { file, header };
      const principals = kind === 'FULL' ? await readPrincipals(this.session, this.database) : null;
      const details = { ...headerDetails(header), OtherBackupsNotCopyOnly: this.lastOtherBackups.length, ...(principals?.details ?? {}) };
      const identity: DatabaseIdentity = { engine: 'sqlserver', name: this.database, details };
      if (this.lastOtherBackups.length) identity.otherBackups = this.lastOtherBackups;
      if (principals) identity.databaseUsers = principals.databaseUsers;
      return { file, bytes, identity, ...(warnings.length ? { warnings } : {}) };
    } finally {
      await remove(agentFile).catch(() => undefined);
    }
  }

  async dumpFull(file: string, onProgress?: (copiedBytes: number, totalBytes: number) => void): Promise<DumpResult> {
    return this.dump(file, 'FULL', undefined, onProgress);
  }

  /**
   * No sidecar: what later DIFFERENTIALs need (the FULL's BackupSetGUID and CheckpointLSN) is in the FULL's
   * `database.details` already. Records whether the database's differential base is now this FULL.
   */
  async prepareCycle(dumpFile: string, _setDir: string, _jobId: number): Promise<{ sidecars: DumpSidecar[]; details: DatabaseIdentity['details'] }> {
    const details: DatabaseIdentity['details'] = { differentialBaseOf: 'BackupSetGUID+CheckpointLSN' };
    const full = this.lastFull?.file === dumpFile ? this.lastFull.header : undefined;
    try {
      const current = parseDifferentialBase((await this.session.execute(differentialBaseQuery(this.database))).recordsets[0] ?? []);
      const guids = [...new Set(current.map((f) => f.guid))];
      details.differentialBaseAfterFull = guids.length === 1 ? guids[0]! : null;
      if (full) details.differentialBaseIsThisFull = guids.length === 1 && guids[0] === full.BackupSetGUID;
    } catch {
      details.differentialBaseAfterFull = null; // not readable now: checked again before every DIFFERENTIAL
    }
    return { sidecars: [], details };
  }

  async differentialBaseProblem(base: DifferentialBase): Promise<string | null> {
    const setName = base.manifest.setName;
    // The checks that need only the recorded FULL (engine, name, GUID, type, COPY_ONLY): a stand-in file whose base is
    // the FULL itself passes the server-side part, so only a recorded-FULL problem can come back here.
    const early = differentialBaseDecision(setName, base.manifest.database, this.database, [{ fileId: 1, name: '', guid: guidText(base.manifest.database.details.BackupSetGUID), lsn: null }]);
    if (early) return early;
    let current: FileDifferentialBase[];
    try {
      current = parseDifferentialBase((await this.session.execute(differentialBaseQuery(this.database))).recordsets[0] ?? []);
    } catch (error) {
      const e = this.failure('DB_QUERY_FAILED', 'reading the differential base', error);
      if (e.code === 'DB_UNREACHABLE') throw e;
      return `cannot read the differential base of ${this.database} (${e.message})`;
    }
    let origin: Record<string, unknown> | undefined;
    const now = current.length > 0 && current.every((f) => f.guid === current[0]!.guid) ? current[0]!.guid : null;
    if (now && now !== guidText(base.manifest.database.details.BackupSetGUID)) {
      try {
        origin = (await this.session.execute(backupSetOriginQuery(this.database, now))).recordsets[0]?.[0];
      } catch {
        origin = undefined; // msdb not readable: the reason says so
      }
    }
    return differentialBaseDecision(setName, base.manifest.database, this.database, current, origin);
  }

  async dumpDifferential(base: DifferentialBase, file: string, _jobId: number, onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<DumpResult> {
    const problem = await this.differentialBaseProblem(base);
    if (problem) throw new DatabaseError('DIFF_BASE_MISMATCH', problem);
    return this.dump(file, 'DIFFERENTIAL', base, onProgress);
  }

  /**
   * LOG points need the FULL recovery model (log-backup.ts); the base must be a SQL Server point of this database.
   * @throws DatabaseError `DB_UNREACHABLE` when the server stops answering.
   */
  async logBaseProblem(base: LogBase): Promise<string | null> {
    const full = base.full.manifest.database;
    if (full.engine !== 'sqlserver' || full.name.toLowerCase() !== this.database.toLowerCase()) {
      return `the cycle's FULL ${base.full.manifest.setName} is a ${full.engine} backup of ${full.name}, not of SQL Server database ${this.database}: run a FULL`;
    }
    let model: string | undefined;
    try {
      const row = (await this.session.execute(recoveryModelQuery(this.database), { timeoutMs: SHORT_REQUEST_TIMEOUT_MS })).recordsets[0]?.[0];
      model = typeof row?.recovery_model_desc === 'string' ? row.recovery_model_desc.toUpperCase() : undefined;
    } catch (error) {
      const e = this.failure('DB_QUERY_FAILED', 'reading the recovery model', error);
      if (e.code === 'DB_UNREACHABLE') throw e;
      return `cannot read the recovery model of ${this.database} (${e.message})`;
    }
    return recoveryModelProblem(this.database, model);
  }

  /**
   * `BACKUP LOG … WITH CHECKSUM` continuing `base.previous` (its recorded LastLSN); the point's moment is the log
   * backup's end (msdb `backup_finish_date` with the server's offset; the agent's clock when the offset is unknown).
   * @throws DatabaseError `LOG_BASE_UNUSABLE` (recovery model, or a gap in the log chain: run a FULL), other
   *   DatabaseErrors as for FULL/DIFFERENTIAL.
   */
  async dumpLog(base: LogBase, file: string, _jobId: number, onProgress?: (doneBytes: number, totalBytes: number) => void): Promise<LogDumpResult> {
    const problem = await this.logBaseProblem(base);
    if (problem) throw new DatabaseError('LOG_BASE_UNUSABLE', problem);
    const d = base.previous.manifest.database.details;
    const predecessor: LogPredecessor = { setName: base.previous.manifest.setName, backupType: Number(d.BackupType), lastLsn: typeof d.LastLSN === 'string' ? d.LastLSN : null };
    const result = await this.dump(file, 'LOG', undefined, onProgress, predecessor);
    const finished = result.identity.details.BackupFinishDate;
    const exact = typeof finished === 'string' && /[+-]\d{2}:\d{2}$|Z$/.test(finished);
    return { ...result, sidecars: [], pointTime: exact ? new Date(finished).toISOString() : new Date().toISOString() };
  }

  async disableJobActivity(reason: string): Promise<boolean> {
    const statement = this.options.jobActivityDisableStatement;
    if (!statement) return false;
    await this.run('JOB_ACTIVITY_FAILED', 'the job-activity statement', jobActivityStatement(statement, reason));
    return true;
  }

  async shrink(): Promise<void> {
    await this.run('SHRINK_FAILED', 'DBCC SHRINKDATABASE', shrinkStatement(this.database));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.close();
  }
}

/** Opens a session: `(target, login) → SqlSession` (default `connectMssql`). */
export type SqlConnector = (target: SqlServerTarget, login: SqlServerLogin) => Promise<SqlSession>;

/** What {@link openSqlServerEngine} may be given besides the settings. */
export interface OpenSqlServerDeps extends PasswordSources {
  /** Connects (default `connectMssql` with `mssql` options). */
  connect?: SqlConnector;
  /** Driver options of the default connector. */
  mssql?: MssqlOptions;
  /** Retry connecting while the server is unreachable (`DbRetryCount` × `DbRetryIntervalMinutes`); default one attempt. */
  retry?: DbRetryOptions;
  /** Engine options beyond the settings (file copier and remover, for tests); override the settings' values. */
  engine?: Partial<Omit<SqlServerEngineOptions, 'session' | 'target'>>;
}

/** Driver options of the default connector: the setting's `trustServerCertificate` (default false), pinning, `tlsServerName`, NTLM, then `deps.mssql`. */
export function mssqlOptionsFor(db: SqlServerDatabaseSettings, deps: Pick<OpenSqlServerDeps, 'mssql'> = {}): MssqlOptions {
  const security: NonNullable<MssqlOptions['security']> = {};
  if (db.tlsCaFile) security.tlsCaFile = db.tlsCaFile;
  if (db.tlsCertificateThumbprint) security.tlsCertificateThumbprint = db.tlsCertificateThumbprint;
  if (db.tlsServerName) security.tlsServerName = db.tlsServerName;
  if (db.authentication === 'ntlm') security.authentication = 'ntlm';
  if (db.domain) security.domain = db.domain;
  return { trustServerCertificate: db.trustServerCertificate ?? false, ...(Object.keys(security).length ? { security } : {}), ...deps.mssql };
}

/**
 * Opens a session to `database` (default the CommServe database; recovery passes `master`) on the server of the
 * `Database` setting: reads the password (environment or SSM SecureString), connects with TLS (the setting's
 * `trustServerCertificate` unless `deps.mssql` says otherwise), retrying `DB_UNREACHABLE` when `deps.retry` is given.
 * @throws ConfigError (no user / no password source); DatabaseError `DB_SECRET_UNAVAILABLE`, `DB_LOGIN_FAILED`,
 *   `DB_UNREACHABLE`, `DB_TLS_FAILED`, `DB_CONNECT_FAILED` — messages name `server:port` and the database only.
 */
export async function openSqlServerSession(db: SqlServerDatabaseSettings, deps: OpenSqlServerDeps = {}, database: string = db.database): Promise<{ session: SqlSession; target: SqlServerTarget }> {
  const target: SqlServerTarget = { server: db.server, port: db.port, database };
  const login = await resolveSqlServerPassword(db, deps);
  const connect: SqlConnector = deps.connect ?? ((t, l) => connectMssql(t, l, mssqlOptionsFor(db, deps)));
  const attempt = async () => {
    try {
      return await connect(target, { user: login.user, password: login.password });
    } catch (error) {
      throw connectionError(error, target, [login.password]);
    }
  };
  const session = deps.retry ? await withDbRetry(attempt, deps.retry) : await attempt();
  return { session, target };
}

/**
 * Opens the SQL Server engine from the `Database` setting ({@link openSqlServerSession} to the CommServe database),
 * with the setting's `backupDirectory`, `agentBackupDirectory` and `compression` (`deps.engine` overrides them).
 * @throws as {@link openSqlServerSession}.
 */
export async function openSqlServerEngine(db: SqlServerDatabaseSettings, deps: OpenSqlServerDeps = {}): Promise<SqlServerEngine> {
  const { session, target } = await openSqlServerSession(db, deps);
  const fromSettings: Partial<SqlServerEngineOptions> = {};
  if (db.backupDirectory !== undefined) fromSettings.backupDirectory = db.backupDirectory;
  if (db.agentBackupDirectory !== undefined) fromSettings.agentBackupDirectory = db.agentBackupDirectory;
  if (db.jobActivityDisableStatement !== undefined) fromSettings.jobActivityDisableStatement = db.jobActivityDisableStatement;
  if (db.compression !== undefined) fromSettings.compression = db.compression;
  return new SqlServerEngine({ ...fromSettings, ...deps.engine, session, target });
}
