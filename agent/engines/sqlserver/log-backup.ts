/**
 * SQL Server LOG points (SPEC §4.5, issue 17): the statements and the chain rules, pure (no session).
 *
 * - Preflight: a LOG point needs the FULL recovery model (`sys.databases.recovery_model_desc`); SIMPLE (no log
 *   backups at all) and BULK_LOGGED (no point-in-time inside a minimally logged stretch) are refused with the
 *   `ALTER DATABASE … SET RECOVERY FULL` to run and why a FULL must follow — FULL/DIFFERENTIAL keep working.
 * - Dump: `BACKUP LOG [db] TO DISK = N'…' WITH CHECKSUM, INIT` (never COPY_ONLY: the log chain must move on, so the
 *   next LOG starts where this one ended).
 * - Chain: each LOG must start exactly where the previous point's log ended — after a LOG, `FirstLSN` = its
 *   `LastLSN`; after the cycle's FULL or a DIFFERENTIAL, `FirstLSN` ≤ its `LastLSN` < this `LastLSN`. A log backup by
 *   another tool in between leaves a gap that only its file could fill: the LOG is refused (`LOG_BASE_UNUSABLE`: run a
 *   FULL), never recorded as a link it is not.
 * - Recovery to a moment: `RESTORE LOG … WITH NORECOVERY` for each LOG of the chain, the last `WITH STOPAT = N'<server
 *   local time>', RECOVERY` (STOPAT is read in the server's local time: the moment is converted with the offset msdb
 *   recorded, `backupset.time_zone`).
 */
import { quoteIdentifier, quoteString, shortBatch, longBatch } from './tsql';
import type { BackupHeader } from './parse';

/** `SELECT recovery_model_desc FROM sys.databases WHERE name = N'<db>';` */
export function recoveryModelQuery(database: string): string {
  return shortBatch(`SELECT d.recovery_model_desc FROM sys.databases AS d WHERE d.name = ${quoteString(database)};`);
}

/**
 * Why the database cannot take LOG points, from its recovery model, or null (FULL).
 * @param model `recovery_model_desc` (FULL, BULK_LOGGED, SIMPLE), or undefined when the row is missing.
 */
export function recoveryModelProblem(database: string, model: string | undefined): string | null {
  if (model === 'FULL') return null;
  if (model === undefined) return `database ${database} is not listed in sys.databases: no LOG point`;
  return (
    `database ${database} uses the ${model} recovery model: LOG points need FULL (${model === 'SIMPLE' ? 'SIMPLE keeps no log to back up' : 'BULK_LOGGED loses point-in-time inside minimally logged operations'}). ` +
    `Run ALTER DATABASE ${quoteIdentifier(database)} SET RECOVERY FULL; then a FULL DR backup (the log chain starts at a full backup). FULL and DIFFERENTIAL jobs are unaffected.`
  );
}

/** `BACKUP LOG [db] TO DISK = N'<file>' WITH CHECKSUM, INIT[, COMPRESSION | NO_COMPRESSION];` */
export function backupLogStatement(options: { database: string; file: string; compression?: boolean }): string {
  const withOptions = ['CHECKSUM', 'INIT'];
  if (options.compression === true) withOptions.push('COMPRESSION');
  if (options.compression === false) withOptions.push('NO_COMPRESSION');
  return longBatch(`BACKUP LOG ${quoteIdentifier(options.database)} TO DISK = ${quoteString(options.file)} WITH ${withOptions.join(', ')};`);
}

/** What a LOG continues, from the previous point's manifest `database.details`. */
export interface LogPredecessor {
  setName: string;
  /** 1 = FULL, 5 = DIFFERENTIAL, 2 = LOG (`BackupType` of the recorded header). */
  backupType: number;
  /** The recorded `LastLSN` (exact text), or null when it was not recorded exactly. */
  lastLsn: string | null;
}

/**
 * Whether the LOG just taken (`header`) continues `previous` without a gap (see the module comment).
 * @returns null when it does; a warning when the LSNs are not known exactly (the link cannot be checked); or a
 *   refusal (`gap: true`) naming both LSNs.
 */
export function logLinkProblem(previous: LogPredecessor, header: Pick<BackupHeader, 'FirstLSN' | 'LastLSN'>): { gap: boolean; message: string } | null {
  if (!previous.lastLsn || !header.FirstLSN || !header.LastLSN) {
    return { gap: false, message: `the log chain link to ${previous.setName} was not checked: its LastLSN or this log backup's LSNs are not known exactly` };
  }
  const prev = BigInt(previous.lastLsn);
  const first = BigInt(header.FirstLSN);
  const last = BigInt(header.LastLSN);
  const continues = previous.backupType === 2 ? first === prev : first <= prev && prev < last;
  if (continues) return null;
  return {
    gap: true,
    message:
      `the log backup starts at LSN ${header.FirstLSN} but ${previous.setName} ends at LSN ${previous.lastLsn}: ` +
      (first > prev ? 'another log backup ran in between (another tool, or by hand) and holds the missing log' : 'it does not follow that point') +
      ' — this LOG would not restore on top of it; run a FULL to start a new chain',
  };
}

/** A moment (ISO-8601 UTC) as the server's local time for STOPAT (`yyyy-mm-ddThh:mm:ss.fff`), `offsetMinutes` east of UTC. */
export function serverLocalStopAt(isoUtc: string, offsetMinutes: number): string {
  const ms = Date.parse(isoUtc);
  if (!Number.isFinite(ms)) throw new RangeError(`not a moment: ${isoUtc}`);
  return new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
}

/**
 * The RESTORE LOG statements of a chain, oldest first, after the FULL (and DIFFERENTIAL) were restored WITH
 * NORECOVERY: every LOG `WITH CHECKSUM, NORECOVERY`, the last `WITH CHECKSUM, STOPAT = N'<local time>', RECOVERY`
 * (or `RECOVERY` alone without a moment: the end of the last LOG).
 * @param files the LOG backup files as the SQL Server service sees them.
 * @param stopAtLocal the moment in the server's local time ({@link serverLocalStopAt}).
 */
export function restoreLogStatements(database: string, files: readonly string[], stopAtLocal?: string): string[] {
  if (files.length === 0) throw new RangeError('no LOG backup to restore');
  return files.map((file, i) => {
    const last = i === files.length - 1;
    const options = ['CHECKSUM', ...(last ? [...(stopAtLocal ? [`STOPAT = ${quoteString(stopAtLocal)}`] : []), 'RECOVERY'] : ['NORECOVERY'])];
    return `RESTORE LOG ${quoteIdentifier(database)} FROM DISK = ${quoteString(file)} WITH ${options.join(', ')};`;
  });
}
