/**
 * T-SQL text of every statement the SQL Server engine and the SQL Server restore send (issue 6), built from
 * names and paths with safe quoting. Pure: no driver, no I/O — the unit tests assert this exact text.
 *
 * Quoting rules:
 * - identifiers (`[db]`): `]` doubled inside square brackets, 1–128 characters, no NUL;
 * - strings (`N'…'`): `'` doubled inside an N-prefixed (Unicode) literal, no NUL;
 * - GUIDs are embedded only after matching the canonical 8-4-4-4-12 hex form.
 */
import { DatabaseError } from '#core/errors';

/** SQL Server's limit on identifier length (sysname). */
const MAX_IDENTIFIER = 128;
const GUID = /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/;

/**
 * A delimited identifier: `commserv` → `[commserv]`, `a]b` → `[a]]b]`.
 * @throws DatabaseError `DB_NAME_INVALID` for an empty name, a NUL character or more than 128 characters.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.length > MAX_IDENTIFIER || name.includes('\0')) {
    throw new DatabaseError('DB_NAME_INVALID', `invalid SQL Server name ${JSON.stringify(name.slice(0, 140))}: 1–128 characters, no NUL`);
  }
  return `[${name.replace(/]/g, ']]')}]`;
}

/**
 * A Unicode string literal: `D:\O'Brien` → `N'D:\O''Brien'`.
 * @throws DatabaseError `DB_NAME_INVALID` when the text contains a NUL character.
 */
export function quoteString(text: string): string {
  if (text.includes('\0')) throw new DatabaseError('DB_NAME_INVALID', 'a SQL Server string may not contain a NUL character');
  return `N'${text.replace(/'/g, "''")}'`;
}

/**
 * A GUID literal for comparisons with `uniqueidentifier` columns.
 * @throws DatabaseError `DB_GUID_INVALID` unless `guid` is 8-4-4-4-12 hex digits.
 */
export function guidLiteral(guid: string): string {
  if (!GUID.test(guid)) throw new DatabaseError('DB_GUID_INVALID', `not a GUID: ${JSON.stringify(guid.slice(0, 60))}`);
  return `CONVERT(uniqueidentifier, N'${guid}')`;
}

/**
 * Joins a directory *as the SQL Server service sees it* and a file name with that server's separator:
 * `\` when the directory looks like a Windows path (drive letter, UNC or any backslash), `/` when it is a
 * POSIX path (SQL Server on Linux).
 */
export function serverPath(directory: string, file: string): string {
  const windows = directory.includes('\\') || /^[A-Za-z]:/.test(directory) || !directory.includes('/');
  const sep = windows ? '\\' : '/';
  return directory.endsWith(sep) ? `${directory}${file}` : `${directory}${sep}${file}`;
}

/** The last component of a server-side path, whichever separator it uses (`D:\Data\cs.mdf` → `cs.mdf`). */
export function serverBaseName(path: string): string {
  const parts = path.split(/[\\/]/).filter((p) => p.length > 0);
  return parts.at(-1) ?? path;
}

/** `DBCC CHECKDB (N'<db>') WITH NO_INFOMSGS, ALL_ERRORMSGS;` — every error, no informational chatter. */
export function checkDbStatement(database: string): string {
  return `DBCC CHECKDB (${quoteString(database)}) WITH NO_INFOMSGS, ALL_ERRORMSGS;`;
}

/** `DBCC SHRINKDATABASE (N'<db>') WITH NO_INFOMSGS;` — data and log files (`--shrink`). */
export function shrinkStatement(database: string): string {
  return `DBCC SHRINKDATABASE (${quoteString(database)}) WITH NO_INFOMSGS;`;
}

/** Options of {@link backupStatement}. */
export interface BackupStatementOptions {
  database: string;
  /** Backup file path as the SQL Server service sees it. */
  file: string;
  differential: boolean;
  /** true → `COMPRESSION`, false → `NO_COMPRESSION`, undefined → the server's `backup compression default`. */
  compression?: boolean;
}

/**
 * `BACKUP DATABASE [db] TO DISK = N'<file>' WITH CHECKSUM, INIT[, COMPRESSION | NO_COMPRESSION][, DIFFERENTIAL];`
 *
 * Never `COPY_ONLY`: the FULL must become the database's differential base so that the cycle's DIFFERENTIALs are
 * taken against it (and, by design, it becomes the base for other tools' differentials too — see docs/SQLSERVER.md).
 */
export function backupStatement(options: BackupStatementOptions): string {
  const withOptions = ['CHECKSUM', 'INIT'];
  if (options.compression === true) withOptions.push('COMPRESSION');
  if (options.compression === false) withOptions.push('NO_COMPRESSION');
  if (options.differential) withOptions.push('DIFFERENTIAL');
  return `BACKUP DATABASE ${quoteIdentifier(options.database)} TO DISK = ${quoteString(options.file)} WITH ${withOptions.join(', ')};`;
}

/** `RESTORE HEADERONLY FROM DISK = N'<file>';` — one row per backup set in the file. */
export function headerOnlyStatement(file: string): string {
  return `RESTORE HEADERONLY FROM DISK = ${quoteString(file)};`;
}

/** `RESTORE FILELISTONLY FROM DISK = N'<file>';` — one row per database file (logical name, physical name, type). */
export function fileListOnlyStatement(file: string): string {
  return `RESTORE FILELISTONLY FROM DISK = ${quoteString(file)};`;
}

/**
 * Exact LSNs of one backup set from `msdb.dbo.backupset` (the history row SQL Server writes with every BACKUP),
 * converted to text on the server: `numeric(25,0)` LSNs exceed JavaScript's exact integer range, and the driver
 * returns `RESTORE HEADERONLY`'s numeric columns as (rounded) JavaScript numbers.
 */
export function backupSetLsnQuery(backupSetGuid: string): string {
  return [
    'SELECT TOP (1) CONVERT(varchar(36), b.backup_set_uuid) AS backup_set_uuid,',
    '  CONVERT(varchar(25), b.first_lsn) AS first_lsn, CONVERT(varchar(25), b.last_lsn) AS last_lsn,',
    '  CONVERT(varchar(25), b.checkpoint_lsn) AS checkpoint_lsn, CONVERT(varchar(25), b.database_backup_lsn) AS database_backup_lsn,',
    '  CONVERT(varchar(25), b.differential_base_lsn) AS differential_base_lsn, CONVERT(varchar(36), b.differential_base_guid) AS differential_base_guid',
    'FROM msdb.dbo.backupset AS b',
    `WHERE b.backup_set_uuid = ${guidLiteral(backupSetGuid)};`,
  ].join('\n');
}

/**
 * The database's current differential base, per data file (`[db].sys.database_files`, rows and FILESTREAM files;
 * the log has none): what the next `BACKUP … WITH DIFFERENTIAL` would be based on. LSNs as text (see above).
 */
export function differentialBaseQuery(database: string): string {
  const db = quoteIdentifier(database);
  return [
    'SELECT f.file_id, f.name, f.type_desc, CONVERT(varchar(25), f.differential_base_lsn) AS differential_base_lsn,',
    '  CONVERT(varchar(36), f.differential_base_guid) AS differential_base_guid, f.differential_base_time',
    `FROM ${db}.sys.database_files AS f`,
    'WHERE f.type IN (0, 2)',
    'ORDER BY f.file_id;',
  ].join('\n');
}

/**
 * Who took the backup that is the database's current differential base (`msdb` history, best effort): lets a
 * promotion say "a full backup by <user> to <device> at <time>, not COPY_ONLY".
 */
export function backupSetOriginQuery(database: string, backupSetGuid: string): string {
  return [
    'SELECT TOP (1) CONVERT(varchar(36), b.backup_set_uuid) AS backup_set_uuid, b.type, b.is_copy_only, b.backup_finish_date,',
    '  b.user_name, m.physical_device_name',
    'FROM msdb.dbo.backupset AS b',
    'LEFT JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = b.media_set_id AND m.family_sequence_number = 1',
    `WHERE b.database_name = ${quoteString(database)} AND b.backup_set_uuid = ${guidLiteral(backupSetGuid)}`,
    'ORDER BY b.backup_finish_date DESC;',
  ].join('\n');
}

/** `CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultBackupPath'))`: the backup directory when none is configured. */
export const DEFAULT_BACKUP_PATH_QUERY = "SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultBackupPath')) AS path;";

/**
 * The server's default data and log directories (SQL Server 2012+): where a recovery puts the restored files when
 * `restoreDataDirectory` / `restoreLogDirectory` are not set.
 */
export const DEFAULT_DATA_LOG_PATH_QUERY =
  "SELECT CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultDataPath')) AS data_path, CONVERT(nvarchar(4000), SERVERPROPERTY('InstanceDefaultLogPath')) AS log_path;";

/**
 * Drops a (scratch) database when it exists, whatever its state: exclusive access first when it is online, then
 * `DROP DATABASE` (which also removes a database left RESTORING and its files):
 * `IF DB_ID(N'<db>') IS NOT NULL AND … = N'ONLINE' ALTER DATABASE [db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`
 * `IF DB_ID(N'<db>') IS NOT NULL DROP DATABASE [db];`
 */
export function dropDatabaseStatement(database: string): string {
  return `${singleUserStatement(database)}\nIF DB_ID(${quoteString(database)}) IS NOT NULL DROP DATABASE ${quoteIdentifier(database)};`;
}

/**
 * Exclusive access before a restore, only when the database exists and is online (a database left RESTORING by an
 * earlier attempt refuses ALTER DATABASE and needs none):
 * `IF DB_ID(N'<db>') IS NOT NULL AND … = N'ONLINE' ALTER DATABASE [db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`
 */
export function singleUserStatement(database: string): string {
  const name = quoteString(database);
  return `IF DB_ID(${name}) IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(${name}, 'Status')) = N'ONLINE' ALTER DATABASE ${quoteIdentifier(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`;
}

/** Gives a database left SINGLE_USER by a failed restore back to everyone (best effort, only when it is online). */
export function multiUserStatement(database: string): string {
  const name = quoteString(database);
  return `IF DB_ID(${name}) IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(${name}, 'Status')) = N'ONLINE' ALTER DATABASE ${quoteIdentifier(database)} SET MULTI_USER;`;
}

/** One `MOVE N'<logical>' TO N'<physical>'` of a restore. */
export interface FileMove {
  logicalName: string;
  /** Target path as the SQL Server service sees it. */
  physicalName: string;
}

/** Options of {@link restoreDatabaseStatement}. */
export interface RestoreStatementOptions {
  database: string;
  /** Backup file path as the SQL Server service sees it. */
  file: string;
  /** `NORECOVERY` (more to restore) or `RECOVERY` (bring the database online). */
  recovery: boolean;
  /** `REPLACE` (overwrite an existing database of that name): the FULL's restore. */
  replace: boolean;
  /** `MOVE` for every logical file (the FULL's restore). */
  moves: readonly FileMove[];
}

/** `RESTORE DATABASE [db] FROM DISK = N'<file>' WITH NORECOVERY|RECOVERY[, REPLACE][, MOVE N'…' TO N'…' …];` */
export function restoreDatabaseStatement(options: RestoreStatementOptions): string {
  const withOptions = [options.recovery ? 'RECOVERY' : 'NORECOVERY'];
  if (options.replace) withOptions.push('REPLACE');
  for (const m of options.moves) withOptions.push(`MOVE ${quoteString(m.logicalName)} TO ${quoteString(m.physicalName)}`);
  return `RESTORE DATABASE ${quoteIdentifier(options.database)} FROM DISK = ${quoteString(options.file)} WITH ${withOptions.join(', ')};`;
}

/**
 * The configured job-activity statement with `{reason}` replaced by an N'…' string literal (quotes doubled),
 * run in the CommServe database.
 */
export function jobActivityStatement(template: string, reason: string): string {
  return template.split('{reason}').join(quoteString(reason));
}
