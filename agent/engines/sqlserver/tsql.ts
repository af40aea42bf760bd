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

/**
 * Lock timeout of the short statements (ALTER DATABASE, metadata reads), in milliseconds: `SET LOCK_TIMEOUT 30000`
 * makes a statement that waits for a lock fail with error 1222 after 30 s instead of waiting for ever (SET LOCK_TIMEOUT,
 * Microsoft Learn). Long statements reset it to -1 (wait), as a session keeps the last value it set.
 */
export const SHORT_LOCK_TIMEOUT_MS = 30_000;

/** `SET LOCK_TIMEOUT 30000;` + the statement: a short statement (ALTER DATABASE, metadata) fails instead of blocking. */
export function shortBatch(statement: string): string {
  return `SET LOCK_TIMEOUT ${SHORT_LOCK_TIMEOUT_MS};\n${statement}`;
}

/** `SET LOCK_TIMEOUT -1;` + the statement: BACKUP, RESTORE and CHECKDB wait for locks as long as they need. */
export function longBatch(statement: string): string {
  return `SET LOCK_TIMEOUT -1;\n${statement}`;
}

/**
 * `SET LANGUAGE us_english; SET LOCK_TIMEOUT -1; DBCC CHECKDB (N'<db>') WITH NO_INFOMSGS, ALL_ERRORMSGS;` — every
 * error, no informational chatter; the session language is fixed so the summaries (8989) read the same on every server
 * (classification itself goes by error number).
 */
export function checkDbStatement(database: string): string {
  return `SET LANGUAGE us_english;\n${longBatch(`DBCC CHECKDB (${quoteString(database)}) WITH NO_INFOMSGS, ALL_ERRORMSGS;`)}`;
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
 * `SET LOCK_TIMEOUT -1;` + `BACKUP DATABASE [db] TO DISK = N'<file>' WITH CHECKSUM, INIT[, COMPRESSION | NO_COMPRESSION][, DIFFERENTIAL];`
 *
 * Never `COPY_ONLY`: the FULL must become the database's differential base so that the cycle's DIFFERENTIALs are
 * taken against it (and, by design, it becomes the base for other tools' differentials too — see docs/SQLSERVER.md).
 */
export function backupStatement(options: BackupStatementOptions): string {
  const withOptions = ['CHECKSUM', 'INIT'];
  if (options.compression === true) withOptions.push('COMPRESSION');
  if (options.compression === false) withOptions.push('NO_COMPRESSION');
  if (options.differential) withOptions.push('DIFFERENTIAL');
  return longBatch(`BACKUP DATABASE ${quoteIdentifier(options.database)} TO DISK = ${quoteString(options.file)} WITH ${withOptions.join(', ')};`);
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
  return shortBatch([
    'SELECT TOP (1) CONVERT(varchar(36), b.backup_set_uuid) AS backup_set_uuid,',
    '  CONVERT(varchar(25), b.first_lsn) AS first_lsn, CONVERT(varchar(25), b.last_lsn) AS last_lsn,',
    '  CONVERT(varchar(25), b.checkpoint_lsn) AS checkpoint_lsn, CONVERT(varchar(25), b.database_backup_lsn) AS database_backup_lsn,',
    '  CONVERT(varchar(25), b.differential_base_lsn) AS differential_base_lsn, CONVERT(varchar(36), b.differential_base_guid) AS differential_base_guid',
    'FROM msdb.dbo.backupset AS b',
    `WHERE b.backup_set_uuid = ${guidLiteral(backupSetGuid)};`,
  ].join('\n'));
}

/**
 * The database's current differential base, per data file (`[db].sys.database_files`, rows and FILESTREAM files;
 * the log has none): what the next `BACKUP … WITH DIFFERENTIAL` would be based on. LSNs as text (see above).
 */
export function differentialBaseQuery(database: string): string {
  const db = quoteIdentifier(database);
  return shortBatch([
    'SELECT f.file_id, f.name, f.type_desc, CONVERT(varchar(25), f.differential_base_lsn) AS differential_base_lsn,',
    '  CONVERT(varchar(36), f.differential_base_guid) AS differential_base_guid, f.differential_base_time',
    `FROM ${db}.sys.database_files AS f`,
    'WHERE f.type IN (0, 2)',
    'ORDER BY f.file_id;',
  ].join('\n'));
}

/**
 * Who took the backup that is the database's current differential base (`msdb` history, best effort): lets a
 * promotion say "a full backup by <user> to <device> at <time>, not COPY_ONLY".
 */
export function backupSetOriginQuery(database: string, backupSetGuid: string): string {
  return shortBatch([
    'SELECT TOP (1) CONVERT(varchar(36), b.backup_set_uuid) AS backup_set_uuid, b.type, b.is_copy_only, CONVERT(varchar(23), b.backup_finish_date, 126) AS backup_finish_date, b.time_zone,',
    '  b.user_name, m.physical_device_name',
    'FROM msdb.dbo.backupset AS b',
    'LEFT JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = b.media_set_id AND m.family_sequence_number = 1',
    `WHERE b.database_name = ${quoteString(database)} AND b.backup_set_uuid = ${guidLiteral(backupSetGuid)}`,
    'ORDER BY b.backup_finish_date DESC;',
  ].join('\n'));
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
 * `DROP DATABASE` (which also removes a database left RESTORING and its files). SINGLE_USER rather than OFFLINE here:
 * "dropping a database that is OFFLINE does not delete the disk files" (DROP DATABASE, Microsoft Learn). Short lock timeout.
 * `SET LOCK_TIMEOUT 30000;` `IF DB_ID(N'<db>') IS NOT NULL AND … = N'ONLINE' ALTER DATABASE [db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`
 * `IF DB_ID(N'<db>') IS NOT NULL DROP DATABASE [db];`
 */
export function dropDatabaseStatement(database: string): string {
  return shortBatch(`${singleUserStatement(database)}\nIF DB_ID(${quoteString(database)}) IS NOT NULL DROP DATABASE ${quoteIdentifier(database)};`);
}

/** `IF DB_ID(N'<db>') IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(N'<db>', 'Status')) = N'<state>'` */
function whenState(database: string, state: 'ONLINE' | 'OFFLINE'): string {
  const name = quoteString(database);
  return `IF DB_ID(${name}) IS NOT NULL AND CONVERT(nvarchar(60), DATABASEPROPERTYEX(${name}, 'Status')) = N'${state}'`;
}

/**
 * Exclusive access before a restore that no other client can take: the database is taken OFFLINE, which closes every
 * connection (`WITH ROLLBACK IMMEDIATE` rolls their transactions back at once) and lets nobody in until RESTORE brings it
 * back (ALTER DATABASE SET options, "WITH <termination>"; RESTORE … REPLACE works on an offline database). With
 * SINGLE_USER the one slot could be taken by another client between the ALTER and the RESTORE (error 3101). Only when
 * the database exists and is online (a database left RESTORING by an earlier attempt refuses ALTER and needs none):
 * `SET LOCK_TIMEOUT 30000;` `IF … = N'ONLINE' ALTER DATABASE [db] SET OFFLINE WITH ROLLBACK IMMEDIATE;`
 */
export function offlineStatement(database: string): string {
  return shortBatch(`${whenState(database, 'ONLINE')} ALTER DATABASE ${quoteIdentifier(database)} SET OFFLINE WITH ROLLBACK IMMEDIATE;`);
}

/** Brings back a database a failed restore left OFFLINE (best effort): `IF … = N'OFFLINE' ALTER DATABASE [db] SET ONLINE;` */
export function onlineStatement(database: string): string {
  return shortBatch(`${whenState(database, 'OFFLINE')} ALTER DATABASE ${quoteIdentifier(database)} SET ONLINE;`);
}

/**
 * Exclusive access without taking the database offline (the scratch database's drop): only when it is online,
 * `… ALTER DATABASE [db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`
 */
export function singleUserStatement(database: string): string {
  return `${whenState(database, 'ONLINE')} ALTER DATABASE ${quoteIdentifier(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE;`;
}

/**
 * Gives the database back to everyone after a restore (a backup taken while it was SINGLE_USER restores SINGLE_USER),
 * never waiting on another session's open transaction: `SET LOCK_TIMEOUT 30000;`
 * `IF … = N'ONLINE' ALTER DATABASE [db] SET MULTI_USER WITH ROLLBACK IMMEDIATE;`
 */
export function multiUserStatement(database: string): string {
  return shortBatch(`${whenState(database, 'ONLINE')} ALTER DATABASE ${quoteIdentifier(database)} SET MULTI_USER WITH ROLLBACK IMMEDIATE;`);
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

/**
 * The rights of the connected login, in one row (run in the CommServe database, the session's database):
 * `IS_SRVROLEMEMBER` (sysadmin, dbcreator), `IS_ROLEMEMBER('db_owner')` (current database), and `HAS_PERMS_BY_NAME`
 * for BACKUP DATABASE on the database, SELECT on msdb's `backupset` / `backupmediafamily`, CREATE ANY DATABASE and
 * VIEW SERVER STATE on the server. Each is 1, 0 or NULL (unknown).
 */
export function rightsQuery(database: string): string {
  const db = quoteString(database);
  return shortBatch(
    [
      "SELECT IS_SRVROLEMEMBER(N'sysadmin') AS is_sysadmin, IS_SRVROLEMEMBER(N'dbcreator') AS is_dbcreator, IS_ROLEMEMBER(N'db_owner') AS is_db_owner,",
      `  HAS_PERMS_BY_NAME(${db}, N'DATABASE', N'BACKUP DATABASE') AS can_backup_database,`,
      "  HAS_PERMS_BY_NAME(N'msdb.dbo.backupset', N'OBJECT', N'SELECT') AS can_read_backupset,",
      "  HAS_PERMS_BY_NAME(N'msdb.dbo.backupmediafamily', N'OBJECT', N'SELECT') AS can_read_backupmediafamily,",
      "  HAS_PERMS_BY_NAME(NULL, NULL, N'CREATE ANY DATABASE') AS can_create_database,",
      "  HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE') AS can_view_server_state;",
    ].join('\n'),
  );
}

/**
 * `msdb.dbo.backupset` columns as text on the server: exact LSNs (`numeric(25,0)` → `varchar(25)`), GUIDs, and the
 * dates as the server's local time (`CONVERT(varchar(23), …, 126)`) with `time_zone` (15-minute steps from UTC, 127 =
 * unknown; backupset, Microsoft Learn) so no driver time-zone conversion (tedious `useUTC`) can shift them.
 */
const BACKUPSET_COLUMNS = [
  'CONVERT(varchar(36), b.backup_set_uuid) AS backup_set_uuid, b.type, b.is_copy_only, b.database_name, b.server_name, b.user_name,',
  '  b.software_major_version, b.software_minor_version, b.software_build_version, b.database_version, b.backup_size, b.compressed_backup_size, b.has_backup_checksums,',
  '  CONVERT(varchar(25), b.first_lsn) AS first_lsn, CONVERT(varchar(25), b.last_lsn) AS last_lsn, CONVERT(varchar(25), b.checkpoint_lsn) AS checkpoint_lsn,',
  '  CONVERT(varchar(25), b.database_backup_lsn) AS database_backup_lsn, CONVERT(varchar(25), b.differential_base_lsn) AS differential_base_lsn,',
  '  CONVERT(varchar(36), b.differential_base_guid) AS differential_base_guid,',
  '  CONVERT(varchar(23), b.backup_start_date, 126) AS backup_start_date, CONVERT(varchar(23), b.backup_finish_date, 126) AS backup_finish_date, b.time_zone,',
  '  m.physical_device_name',
].join('\n');

/**
 * The history row of the backup just written to `file` (phase 1 reads the header here instead of `RESTORE
 * HEADERONLY`, which "requires CREATE DATABASE permission"): the newest `backupset` of `database` whose first media
 * family is `file`. Needs only SELECT on msdb's `backupset` and `backupmediafamily`.
 */
export function backupSetOfFileQuery(database: string, file: string): string {
  return shortBatch(
    [
      `SELECT TOP (1) ${BACKUPSET_COLUMNS}`,
      'FROM msdb.dbo.backupset AS b',
      'JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = b.media_set_id AND m.family_sequence_number = 1',
      `WHERE b.database_name = ${quoteString(database)} AND m.physical_device_name = ${quoteString(file)}`,
      'ORDER BY b.backup_set_id DESC;',
    ].join('\n'),
  );
}

/** How far back {@link otherBackupsQuery} looks, in days, and how many rows it returns at most. */
export const OTHER_BACKUPS_WINDOW = { days: 35, rows: 50 } as const;

/**
 * Full (`D`) and differential (`I`) backups of `database` that are not COPY_ONLY, taken by anything but commserve-dr
 * (device names not containing `commserve-dr_`) in the last 35 days, newest first (at most 50): the other tools whose
 * backups move or use the differential base (coexistence, docs/SQLSERVER.md).
 */
export function otherBackupsQuery(database: string): string {
  return shortBatch(
    [
      `SELECT TOP (${OTHER_BACKUPS_WINDOW.rows}) ${BACKUPSET_COLUMNS}`,
      'FROM msdb.dbo.backupset AS b',
      'LEFT JOIN msdb.dbo.backupmediafamily AS m ON m.media_set_id = b.media_set_id AND m.family_sequence_number = 1',
      `WHERE b.database_name = ${quoteString(database)} AND b.type IN ('D', 'I') AND b.is_copy_only = 0`,
      `  AND b.backup_finish_date >= DATEADD(day, -${OTHER_BACKUPS_WINDOW.days}, GETDATE())`,
      "  AND (m.physical_device_name IS NULL OR m.physical_device_name NOT LIKE N'%commserve-dr[_]%')",
      'ORDER BY b.backup_finish_date DESC;',
    ].join('\n'),
  );
}

/**
 * What a restore must put back (recorded in the FULL's manifest): the database owner's login and SID and TRUSTWORTHY
 * (`sys.databases`), and every database user mapped to a server login (`[db].sys.database_principals`, types S SQL
 * user, U Windows user, G Windows group; `authentication_type` 1 INSTANCE or 3 WINDOWS; principal_id > 4 skips dbo,
 * guest, INFORMATION_SCHEMA and sys) with the login it maps to now. Two result sets.
 */
export function principalsQuery(database: string): string {
  const db = quoteIdentifier(database);
  return shortBatch(
    [
      "SELECT SUSER_SNAME(d.owner_sid) AS owner_login, CONVERT(varchar(200), d.owner_sid, 1) AS owner_sid, d.is_trustworthy_on",
      `FROM sys.databases AS d WHERE d.name = ${quoteString(database)};`,
      'SELECT dp.name AS user_name, dp.type AS user_type, CONVERT(varchar(200), dp.sid, 1) AS sid, sp.name AS login_name',
      `FROM ${db}.sys.database_principals AS dp`,
      'LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid',
      "WHERE dp.type IN ('S', 'U', 'G') AND dp.principal_id > 4 AND dp.authentication_type IN (1, 3)",
      'ORDER BY dp.name;',
    ].join('\n'),
  );
}

/**
 * The restored database's orphaned users (mapped to a login SID that does not exist on this server), each with the
 * login of the same name when there is one (the candidate for re-mapping) and its type.
 */
export function orphanedUsersQuery(database: string): string {
  const db = quoteIdentifier(database);
  return shortBatch(
    [
      'SELECT dp.name AS user_name, dp.type AS user_type, sn.name AS same_name_login, sn.type AS login_type',
      `FROM ${db}.sys.database_principals AS dp`,
      'LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid',
      'LEFT JOIN sys.server_principals AS sn ON sn.name = dp.name COLLATE DATABASE_DEFAULT',
      "WHERE dp.type IN ('S', 'U', 'G') AND dp.principal_id > 4 AND dp.authentication_type IN (1, 3) AND sp.sid IS NULL",
      'ORDER BY dp.name;',
    ].join('\n'),
  );
}

/** Which of `logins` exist on this server: one row per existing login (`name`). */
export function existingLoginsQuery(logins: readonly string[]): string {
  const list = logins.length ? logins.map(quoteString).join(', ') : 'NULL';
  return shortBatch(`SELECT sp.name FROM sys.server_principals AS sp WHERE sp.name IN (${list});`);
}

/** `USE [db]; ALTER USER [user] WITH LOGIN = [login];` — re-maps an orphaned user to the login of its name (ALTER USER). */
export function remapUserStatement(database: string, user: string, login: string): string {
  return shortBatch(`USE ${quoteIdentifier(database)};\nALTER USER ${quoteIdentifier(user)} WITH LOGIN = ${quoteIdentifier(login)};\nUSE [master];`);
}

/** `ALTER AUTHORIZATION ON DATABASE::[db] TO [login];` — the owner recorded at backup time. */
export function databaseOwnerStatement(database: string, login: string): string {
  return shortBatch(`ALTER AUTHORIZATION ON DATABASE::${quoteIdentifier(database)} TO ${quoteIdentifier(login)};`);
}

/** `ALTER DATABASE [db] SET TRUSTWORTHY ON|OFF;` — as recorded at backup time (a restore leaves it OFF). */
export function trustworthyStatement(database: string, on: boolean): string {
  return shortBatch(`ALTER DATABASE ${quoteIdentifier(database)} SET TRUSTWORTHY ${on ? 'ON' : 'OFF'};`);
}
