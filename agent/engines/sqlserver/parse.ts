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

/** 89xx messages that are not damage by themselves (see {@link isConsistencyError}). */
const NOT_CONSISTENCY_89XX = [8921, 8954, 8957, 8958, 8967, 8985, 8989, 8990];

/**
 * Whether a `DBCC CHECKDB` error number means the database is damaged (→ `corrupt`). Any other error means the check
 * itself did not complete (→ `check-failed`): permissions (2571, 262), the internal snapshot could not be created
 * (1823, 7928, 5030, 5128), lock timeouts (1222), tempdb full (1101, 1105, 9002), the database not found (2520, 911).
 *
 * - 605, 823, 824: a page that fails its checksum / torn-page / logical consistency check or cannot be read.
 * - 211: possible schema corruption.
 * - 2511, 2512, 2533, 2534, 2537, 2570, 2575, 2576: index keys out of order or duplicated, a page or row that
 *   fails its checks, data purity (column values out of range), IAM chain damage.
 * - 7965, 7985–7988, 7995: LOB/text chain and system-catalog damage.
 * - 8900–8999 (the DBCC allocation and consistency range: 8928 page could not be processed, 8939 page test failed,
 *   8976 page not seen in scan, 8978/8979 broken page links …) EXCEPT 8921 (terminated while collecting facts:
 *   tempdb out of space OR a damaged system table — ambiguous, so `check-failed` unless a consistency error
 *   accompanies it), 8957/8958 (informational), 8967 (internal DBCC error), 8985 (file not found) and the summaries
 *   8954/8989/8990 ("CHECKDB found N allocation errors and M consistency errors …"), which count as corruption
 *   only when N + M > 0.
 */
export function isConsistencyError(number: number): boolean {
  if ([605, 823, 824, 211, 2511, 2512, 2533, 2534, 2537, 2570, 2575, 2576, 7965, 7985, 7986, 7987, 7988, 7995].includes(number)) return true;
  return number >= 8900 && number <= 8999 && !NOT_CONSISTENCY_89XX.includes(number);
}

/** `CHECKDB found 0 allocation errors and 2 consistency errors …` (8989, 8990, 8954): the total, or null. */
function summaryCount(m: SqlMessage): number | null {
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
 * Classifies the outcome of `DBCC CHECKDB … WITH NO_INFOMSGS, ALL_ERRORMSGS`: `corrupt` when any message is a
 * consistency error ({@link isConsistencyError}) or a summary counts errors; otherwise `check-failed` when the batch
 * failed or any message has severity ≥ 11; otherwise `ok`. Every error is kept (capped at 1000) in `messages`.
 */
export function classifyCheckDb(messages: readonly SqlMessage[], failed: boolean, durationMs: number): Integrity {
  const counted = (m: SqlMessage) => (summaryCount(m) ?? 0) > 0;
  const corrupt = messages.some((m) => isConsistencyError(m.number) || counted(m));
  const errors = messages.filter((m) => m.severity >= 11 || isConsistencyError(m.number) || counted(m));
  const status: Integrity['status'] = corrupt ? 'corrupt' : failed || errors.length > 0 ? 'check-failed' : 'ok';
  const shown = (status === 'ok' ? [] : errors.length ? errors : messages).map(describeCheckDbMessage);
  const capped = shown.length > MAX_MESSAGES ? [...shown.slice(0, MAX_MESSAGES - 1), `… ${shown.length - MAX_MESSAGES + 1} more messages`] : shown;
  return { status, messages: status !== 'ok' && capped.length === 0 ? ['DBCC CHECKDB failed without a message'] : capped, durationMs };
}

export { formatSqlMessage };
