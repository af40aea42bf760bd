/**
 * Parsers of what SQL Server returns: `RESTORE HEADERONLY` and `RESTORE FILELISTONLY` rows, the msdb LSN row, the
 * differential-base rows, and the classification of `DBCC CHECKDB`'s messages into an Integrity result. Pure.
 *
 * LSNs are `numeric(25,0)`: they are kept as decimal strings. The `mssql` driver returns numeric columns as
 * JavaScript numbers, exact only up to 2^53; a number beyond that is marked inexact (`null`) rather than recorded
 * with wrong digits — exact values come from msdb, converted to text by the server (see `tsql.ts`).
 */
import { DatabaseError } from '#core/errors';
import type { Integrity } from '#core/manifest';
import { formatSqlMessage, type SqlMessage } from './session';

/** `RESTORE HEADERONLY` BackupType values used here. */
export const BACKUP_TYPE = { Database: 1, Log: 2, DatabaseDifferential: 5 } as const;

/** The backup metadata recorded in the manifest's `database.details` (issue 6). */
export interface BackupHeader {
  /** 1 = database (FULL), 5 = database differential. */
  BackupType: number;
  BackupTypeDescription: string | null;
  DatabaseName: string;
  FirstLSN: string | null;
  LastLSN: string | null;
  CheckpointLSN: string | null;
  DatabaseBackupLSN: string | null;
  DifferentialBaseLSN: string | null;
  DifferentialBaseGUID: string | null;
  IsCopyOnly: boolean;
  BackupSetGUID: string;
  HasBackupChecksums: boolean | null;
  Compressed: boolean | null;
  ServerName: string | null;
  /** `major.minor.build` of the SQL Server that wrote the backup. */
  SoftwareVersion: string | null;
  DatabaseVersion: number | null;
  BackupSize: number | null;
  BackupStartDate: string | null;
  BackupFinishDate: string | null;
  /** Where the LSNs come from: `msdb` (exact text) or `headeronly` (driver numbers, null when beyond 2^53). */
  lsnSource: 'msdb' | 'headeronly';
}

/** The LSN columns of {@link BackupHeader}. */
export const LSN_FIELDS = ['FirstLSN', 'LastLSN', 'CheckpointLSN', 'DatabaseBackupLSN', 'DifferentialBaseLSN'] as const;

/** A numeric(25,0) value as a decimal string: strings and bigints as they are; numbers only when exact. */
export function lsnText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') {
    const t = value.trim();
    return /^\d+$/.test(t) ? t.replace(/^0+(?=\d)/, '') : null;
  }
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? String(value) : null;
  return null;
}

/** A GUID column as upper-case text (SQL Server's own rendering), or null. */
export function guidText(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  return String(value).trim().toUpperCase();
}

function bool(value: unknown): boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'string') return value === '1' || value.toLowerCase() === 'true';
  return null;
}

function num(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function str(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function date(value: unknown): string | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  return str(value);
}

/**
 * Parses the rows of `RESTORE HEADERONLY` for a file holding one backup set (ours are written `WITH INIT`).
 * @throws DatabaseError `DUMP_HEADER_INVALID` when there is no row, more than one, or no BackupType/BackupSetGUID.
 */
export function parseHeaderOnly(rows: ReadonlyArray<Record<string, unknown>>, file: string): BackupHeader {
  if (rows.length !== 1) throw new DatabaseError('DUMP_HEADER_INVALID', `RESTORE HEADERONLY of ${file} returned ${rows.length} backup sets, expected exactly 1`);
  const r = rows[0]!;
  const type = num(r.BackupType);
  const guid = guidText(r.BackupSetGUID);
  if (type === null || !guid) throw new DatabaseError('DUMP_HEADER_INVALID', `RESTORE HEADERONLY of ${file} has no BackupType or BackupSetGUID`);
  const version = [r.SoftwareVersionMajor, r.SoftwareVersionMinor, r.SoftwareVersionBuild].every((v) => v !== null && v !== undefined)
    ? `${r.SoftwareVersionMajor}.${r.SoftwareVersionMinor}.${r.SoftwareVersionBuild}`
    : null;
  return {
    BackupType: type,
    BackupTypeDescription: str(r.BackupTypeDescription),
    DatabaseName: String(r.DatabaseName ?? ''),
    FirstLSN: lsnText(r.FirstLSN),
    LastLSN: lsnText(r.LastLSN),
    CheckpointLSN: lsnText(r.CheckpointLSN),
    DatabaseBackupLSN: lsnText(r.DatabaseBackupLSN),
    DifferentialBaseLSN: lsnText(r.DifferentialBaseLSN),
    DifferentialBaseGUID: guidText(r.DifferentialBaseGUID),
    IsCopyOnly: bool(r.IsCopyOnly) ?? false,
    BackupSetGUID: guid,
    HasBackupChecksums: bool(r.HasBackupChecksums),
    Compressed: bool(r.Compressed),
    ServerName: str(r.ServerName),
    SoftwareVersion: version,
    DatabaseVersion: num(r.DatabaseVersion),
    BackupSize: num(r.BackupSize),
    BackupStartDate: date(r.BackupStartDate),
    BackupFinishDate: date(r.BackupFinishDate),
    lsnSource: 'headeronly',
  };
}

/**
 * Replaces the header's LSNs with the exact text of the msdb `backupset` row ({@link backupSetLsnQuery}) when that
 * row is of the same backup set; returns the header unchanged otherwise.
 */
export function withExactLsns(header: BackupHeader, msdbRow: Record<string, unknown> | undefined): BackupHeader {
  if (!msdbRow || guidText(msdbRow.backup_set_uuid) !== header.BackupSetGUID) return header;
  return {
    ...header,
    FirstLSN: lsnText(msdbRow.first_lsn),
    LastLSN: lsnText(msdbRow.last_lsn),
    CheckpointLSN: lsnText(msdbRow.checkpoint_lsn),
    DatabaseBackupLSN: lsnText(msdbRow.database_backup_lsn),
    DifferentialBaseLSN: lsnText(msdbRow.differential_base_lsn),
    DifferentialBaseGUID: guidText(msdbRow.differential_base_guid) ?? header.DifferentialBaseGUID,
    lsnSource: 'msdb',
  };
}

/** msdb `backupset.type` → RESTORE HEADERONLY BackupType: D database (1), I differential (5), L log (2). */
const MSDB_TYPE: Record<string, { type: number; description: string }> = {
  D: { type: BACKUP_TYPE.Database, description: 'Database' },
  I: { type: BACKUP_TYPE.DatabaseDifferential, description: 'Database Differential' },
  L: { type: BACKUP_TYPE.Log, description: 'Transaction Log' },
};

/**
 * A date column converted on the server (`CONVERT(varchar(23), d, 126)`, the server's local time) with the row's
 * `time_zone` (15-minute steps from UTC; 127 unknown): ISO-8601 with the server's offset, e.g.
 * `2025-01-02T17:05:00.000+01:00`; without a known offset the local time as is (no `Z`: never labelled UTC).
 */
export function serverLocalDate(value: unknown, timeZone: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  const text = String(value).trim();
  const withMs = /\.\d+$/.test(text) ? text : `${text}.000`;
  const tz = num(timeZone);
  if (tz === null || tz === 127 || tz < -48 || tz > 48) return withMs;
  const minutes = tz * 15;
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${withMs}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/**
 * The header of a backup from its `msdb.dbo.backupset` row ({@link backupSetOfFileQuery}): what phase 1 records
 * instead of `RESTORE HEADERONLY` (which needs CREATE DATABASE permission). LSNs exact (text), dates with the
 * server's offset, `Compressed` = the compressed size is smaller than the backup size.
 * @throws DatabaseError `DUMP_HEADER_INVALID` without a row, a known type or a backup_set_uuid.
 */
export function parseBackupSetRow(row: Record<string, unknown> | undefined, file: string): BackupHeader {
  const type = row ? MSDB_TYPE[String(row.type ?? '').trim().toUpperCase()] : undefined;
  const guid = row ? guidText(row.backup_set_uuid) : null;
  if (!row || !type || !guid) {
    throw new DatabaseError('DUMP_HEADER_INVALID', `msdb.dbo.backupset has no history row of a database backup written to ${file} (the BACKUP reported success; msdb history may be disabled or purged)`);
  }
  const version = [row.software_major_version, row.software_minor_version, row.software_build_version].every((v) => v !== null && v !== undefined)
    ? `${row.software_major_version}.${row.software_minor_version}.${row.software_build_version}`
    : null;
  const size = num(row.backup_size);
  const compressedSize = num(row.compressed_backup_size);
  return {
    BackupType: type.type,
    BackupTypeDescription: type.description,
    DatabaseName: String(row.database_name ?? ''),
    FirstLSN: lsnText(row.first_lsn),
    LastLSN: lsnText(row.last_lsn),
    CheckpointLSN: lsnText(row.checkpoint_lsn),
    DatabaseBackupLSN: lsnText(row.database_backup_lsn),
    DifferentialBaseLSN: lsnText(row.differential_base_lsn),
    DifferentialBaseGUID: guidText(row.differential_base_guid),
    IsCopyOnly: bool(row.is_copy_only) ?? false,
    BackupSetGUID: guid,
    HasBackupChecksums: bool(row.has_backup_checksums),
    Compressed: size !== null && compressedSize !== null ? compressedSize < size : null,
    ServerName: str(row.server_name),
    SoftwareVersion: version,
    DatabaseVersion: num(row.database_version),
    BackupSize: size,
    BackupStartDate: serverLocalDate(row.backup_start_date, row.time_zone),
    BackupFinishDate: serverLocalDate(row.backup_finish_date, row.time_zone),
    lsnSource: 'msdb',
  };
}

/** The header as manifest `database.details` (string, number, boolean or null values). */
export function headerDetails(header: BackupHeader): Record<string, string | number | boolean | null> {
  return { ...header };
}

/** One database file of a backup (`RESTORE FILELISTONLY`). */
export interface BackupFile {
  logicalName: string;
  physicalName: string;
  /** `D` data, `L` log, `F` full-text catalog, `S` FILESTREAM / memory-optimized container. */
  type: string;
  fileId: number;
  fileGroupName: string | null;
}

/**
 * Parses `RESTORE FILELISTONLY` rows (FileId is `bigint`, returned by the driver as a string).
 * @throws DatabaseError `DUMP_HEADER_INVALID` when there is no file, or a row lacks LogicalName/PhysicalName/Type.
 */
export function parseFileList(rows: ReadonlyArray<Record<string, unknown>>, file: string): BackupFile[] {
  if (rows.length === 0) throw new DatabaseError('DUMP_HEADER_INVALID', `RESTORE FILELISTONLY of ${file} lists no database file`);
  return rows.map((r, i) => {
    const logicalName = str(r.LogicalName);
    const physicalName = str(r.PhysicalName);
    const type = str(r.Type)?.trim().toUpperCase();
    if (!logicalName || !physicalName || !type) throw new DatabaseError('DUMP_HEADER_INVALID', `RESTORE FILELISTONLY of ${file}: row ${i + 1} lacks LogicalName, PhysicalName or Type`);
    return { logicalName, physicalName, type, fileId: num(r.FileId) ?? i + 1, fileGroupName: str(r.FileGroupName) };
  });
}

/** The differential base of one data file (`[db].sys.database_files`). */
export interface FileDifferentialBase {
  fileId: number;
  name: string;
  lsn: string | null;
  guid: string | null;
}

/** Parses {@link differentialBaseQuery} rows. */
export function parseDifferentialBase(rows: ReadonlyArray<Record<string, unknown>>): FileDifferentialBase[] {
  return rows.map((r) => ({ fileId: num(r.file_id) ?? 0, name: String(r.name ?? ''), lsn: lsnText(r.differential_base_lsn), guid: guidText(r.differential_base_guid) }));
}

/** Where a damage error number is documented (Microsoft Learn, "Database engine events and errors"). */
export const ERROR_SOURCES = {
  e0: 'https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-0-to-999',
  e2000: 'https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-2000-to-2999',
  e7000: 'https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-7000-to-7999',
  e8000: 'https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-8000-to-8999',
} as const;

/**
 * The explicit list of error numbers that mean the database is damaged, each with the documented message it stands
 * for (abbreviated) and its source. Everything not listed — including the rest of the 8900–8999 DBCC range — is NOT
 * damage on its own: 8902 (memory allocation error during DBCC), 8907/8908 (indexed view rows: "does not necessarily
 * represent an integrity issue"), 8920 (inside a user transaction), 8921 (terminated: tempdb out of space OR a system
 * table inconsistent — ambiguous), 8932, 8966, 8967 (internal DBCC error), 8975 (cross-rowset check failed on an
 * internal query error), 8985 (file not found), 8986/8988/8955/8956 (detail lines), 8999 (tempdb allocation errors),
 * the repair/informational messages (8911, 8912, 8915–8918, 8922–8924, 8945, 8949, 8950, 8953, 8957, 8958, 8983)
 * and the summaries 8954/8989/8990 (damage only when they count errors, see {@link classifyCheckDb}).
 */
export const DAMAGE_ERRORS: ReadonlyMap<number, { text: string; source: string }> = new Map<number, { text: string; source: string }>([
  [211, { text: 'Possible schema corruption. Run DBCC CHECKCATALOG.', source: ERROR_SOURCES.e0 }],
  [605, { text: 'Attempt to fetch logical page … belongs to object …, not to object …', source: 'https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-605-database-engine-error' }],
  [823, { text: 'The operating system returned error … during a read/write at offset … (I/O error)', source: 'https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-823-database-engine-error' }],
  [824, { text: 'SQL Server detected a logical consistency-based I/O error (checksum / torn page / wrong page id)', source: 'https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-824-database-engine-error' }],
  ...([
    [2511, 'Keys out of order on page'], [2512, 'Duplicate keys on page'], [2531, 'B-tree level mismatch'],
    [2533, 'page allocated to object … was not seen'], [2534, 'page … is allocated by another object'],
    [2537, 'The record check failed'], [2570, 'Column value is out of range for data type (data purity)'],
    [2574, 'Page is empty … not permitted at level … of the B-tree'], [2575, 'IAM page pointed to by the next pointer … not detected in the scan'],
    [2576, 'IAM page pointed to by the previous pointer … not detected in the scan'], [2577, 'Chain sequence numbers are out of order in the IAM chain'],
    [2579, 'Extent … is beyond the range of this database'],
  ] as Array<[number, string]>).map(([n, text]) => [n, { text, source: ERROR_SOURCES.e2000 }] as [number, { text: string; source: string }]),
  ...([
    [7984, 'System table pre-checks: unexpected page type'], [7985, 'System table pre-checks: could not read and latch page'],
    [7986, 'System table pre-checks: cross-object chain linkage'], [7987, 'System table pre-checks: chain linkage mismatch'],
    [7988, 'System table pre-checks: … Check statement terminated due to unrepairable error'],
  ] as Array<[number, string]>).map(([n, text]) => [n, { text, source: ERROR_SOURCES.e7000 }] as [number, { text: string; source: string }]),
  ...([
    [8901, 'Object ID has inconsistent metadata'], [8903, 'Extent allocated in both GAM and SGAM'], [8904, 'Extent allocated by more than one allocation object'],
    [8905, 'Extent marked allocated in the GAM, but no SGAM or IAM has allocated it'], [8906, 'Page allocated in the SGAM and PFS, but not in any IAM'],
    [8909, 'incorrect page ID in its page header'], [8910, 'Page allocated to two objects'], [8913, 'Extent allocated to two objects'],
    [8914, 'Incorrect PFS free space information'], [8919, 'record count in the header does not match'], [8925, 'Cross object linkage'],
    [8926, 'Cross object linkage: parent page and next page'], [8927, 'ghosted record count does not match'], [8928, 'Page could not be processed'],
    [8929, 'Errors found in off-row data'], [8930, 'Database has inconsistent metadata'], [8931, 'B-tree level mismatch'],
    [8933, 'low key value not >= key value in the parent'], [8934, 'high key value not less than low key value of the next page'],
    [8935, 'previous link does not match'], [8936, 'B-tree chain linkage mismatch'], [8937, 'B-tree page has two parent nodes'],
    [8938, 'Unexpected page type'], [8939, 'Test failed (page)'], [8940, 'Address is not aligned'], [8941, 'Slot offset is invalid'],
    [8942, 'Slot offset overlaps with the prior row'], [8943, 'row extends into free space'], [8944, 'Test failed (row)'],
    [8946, 'Allocation page has invalid page header values'], [8947, 'Multiple IAM pages contain allocations for the same interval'],
    [8948, 'Page is marked with the wrong type in PFS'], [8951, 'Data row does not have a matching index row'],
    [8952, 'Index row does not match any data row'], [8959, 'IAM page linked in the IAM chain of another object'],
    [8960, 'not a valid complex column'], [8961, 'off-row data node does not match its reference'], [8962, 'off-row data node has incorrect node type'],
    [8963, 'off-row data node type cannot be placed on page'], [8964, 'off-row data node is not referenced'],
    [8965, 'off-row data node referenced but not seen in the scan'], [8968, 'page is out of the range of this database'],
    [8969, 'IAM chain linkage error'], [8970, 'column created NOT NULL is NULL in the row'], [8971, 'Forwarded row mismatch'],
    [8972, 'Forwarded row referenced by more than one row'], [8973, 'page/slot encountered twice'], [8974, 'off-row data node pointed to by two pages'],
    [8976, 'Page was not seen in the scan although its parent and previous refer to it'], [8977, 'Parent node for page was not encountered'],
    [8978, 'Page is missing a reference from previous page'], [8979, 'Page is missing references from parent and previous nodes'],
    [8980, 'Index node page refers to child pages not encountered'], [8981, 'next pointer refers to a page not encountered'],
    [8982, 'Cross object linkage: next page not in the same index'], [8984, 'row on the wrong partition'],
    [8992, 'Check Catalog Msg (system metadata inconsistency)'], [8993, 'forwarding row points to a forwarded row not encountered'],
    [8994, 'forwarded row not pointed to by its forwarding row'], [8995, 'System table in the wrong filegroup'],
    [8996, 'IAM page controls pages in the wrong filegroup'], [8998, 'Page errors on the GAM, SGAM, or PFS pages prevent allocation checks'],
  ] as Array<[number, string]>).map(([n, text]) => [n, { text, source: ERROR_SOURCES.e8000 }] as [number, { text: string; source: string }]),
]);

/**
 * Whether a `DBCC CHECKDB` error number means the database is damaged (→ `corrupt`): it is in {@link DAMAGE_ERRORS}.
 * Any other error means the check itself did not complete (→ `check-failed`, "check failed — not corruption"):
 * permissions (2571, 262), the internal snapshot could not be created (1823, 7928, 5030, 5128), lock timeouts (1222),
 * tempdb full (1101, 1105, 9002), memory (8902), the database not found (2520, 911), 8921, 8967, 8975, 8999 ….
 */
export function isConsistencyError(number: number): boolean {
  return DAMAGE_ERRORS.has(number);
}

/** The CHECKDB summaries (8954, 8989, 8990: "… found %d allocation errors and %d consistency errors …", severity 10). */
export const SUMMARY_ERRORS: readonly number[] = [8954, 8989, 8990];

/** What a `check-failed` verdict says first: the check did not complete, the database is not known to be damaged. */
export const CHECK_FAILED_PREFIX = 'check failed — not corruption: ';

/** `CHECKDB found 0 allocation errors and 2 consistency errors …` (8989, 8990, 8954): the total, or null. */
function summaryCount(m: SqlMessage): number | null {
  if (!SUMMARY_ERRORS.includes(m.number)) return null;
  const match = /found (\d+) allocation errors? and (\d+) consistency errors?/i.exec(m.message);
  return match ? Number(match[1]) + Number(match[2]) : null;
}

const MAX_MESSAGES = 1000;

/** A CHECKDB message for the manifest: number, severity, object/index/page ids when the text names them, the text. */
export function describeCheckDbMessage(m: SqlMessage): string {
  const ids: string[] = [];
  const object = /Object ID (-?\d+)/i.exec(m.message);
  const index = /index ID (\d+)/i.exec(m.message);
  const pages = [...m.message.matchAll(/page \((\d+):(\d+)\)/gi)].map((p) => `${p[1]}:${p[2]}`);
  if (object) ids.push(`object ${object[1]}`);
  if (index) ids.push(`index ${index[1]}`);
  if (pages.length) ids.push(`page ${[...new Set(pages)].join(',')}`);
  return `Msg ${m.number} (severity ${m.severity})${ids.length ? ` [${ids.join(', ')}]` : ''}: ${m.message}`;
}

/**
 * Informational (severity 10) messages that still mean the check did not complete: 8975 (cross-rowset check failed on
 * an internal query error), 8999 (tempdb allocation errors prevent further processing).
 */
const CHECK_INCOMPLETE: readonly number[] = [8975, 8999];

/** `Changed language setting to us_english.` — the informational answer to `SET LANGUAGE` (not a CHECKDB message). */
const LANGUAGE_CHANGED = 5703;

/**
 * Classifies the outcome of `SET LANGUAGE us_english; DBCC CHECKDB … WITH NO_INFOMSGS, ALL_ERRORMSGS` by error
 * numbers: `corrupt` when any message is a listed damage error ({@link DAMAGE_ERRORS}) or a summary (8954/8989/8990,
 * English because of `SET LANGUAGE`) counts errors; otherwise `check-failed` when the batch failed or any message has
 * severity ≥ 11 — its first message then starts with {@link CHECK_FAILED_PREFIX}; otherwise `ok`. Every error is kept
 * (capped at 1000) in `messages`.
 */
export function classifyCheckDb(messages: readonly SqlMessage[], failed: boolean, durationMs: number): Integrity {
  const own = messages.filter((m) => m.number !== LANGUAGE_CHANGED);
  const counted = (m: SqlMessage) => (summaryCount(m) ?? 0) > 0;
  const corrupt = own.some((m) => isConsistencyError(m.number) || counted(m));
  const errors = own.filter((m) => m.severity >= 11 || CHECK_INCOMPLETE.includes(m.number) || isConsistencyError(m.number) || counted(m));
  const status: Integrity['status'] = corrupt ? 'corrupt' : failed || errors.length > 0 ? 'check-failed' : 'ok';
  const shown = (status === 'ok' ? [] : errors.length ? errors : own).map(describeCheckDbMessage);
  const capped = shown.length > MAX_MESSAGES ? [...shown.slice(0, MAX_MESSAGES - 1), `… ${shown.length - MAX_MESSAGES + 1} more messages`] : shown;
  const out = status !== 'ok' && capped.length === 0 ? ['DBCC CHECKDB failed without a message'] : capped;
  if (status === 'check-failed') out[0] = `${CHECK_FAILED_PREFIX}${out[0]}`;
  return { status, messages: out, durationMs };
}

export { formatSqlMessage };
