/**
 * Other tools' backups of the CommServe database (issue 23 item 6, docs/SQLSERVER.md "Coexistence"): the shape recorded
 * in the manifest (`database.otherBackups`) and the words the job record and `sets` use for each. Pure, no driver:
 * `sets` reads it without loading the SQL Server engine.
 */

/** Another tool's non-COPY_ONLY FULL or DIFFERENTIAL found in msdb, and whose chain it belongs to. */
export interface OtherBackup {
  type: 'FULL' | 'DIFFERENTIAL';
  backupSetGuid: string;
  finished: string | null;
  userName: string | null;
  device: string | null;
  /** `commserve-dr` (a DIFFERENTIAL based on our FULL) or `other` (its own chain). */
  chain: 'commserve-dr' | 'other';
  /** The FULL it is based on (a DIFFERENTIAL), or null. */
  baseGuid: string | null;
}

/** One job-record line per other backup: what it is and whose chain it belongs to. */
export function describeOtherBackup(b: OtherBackup): string {
  const who = `by ${b.userName ?? '?'} to ${b.device ?? '?'} at ${b.finished ?? '?'} (BackupSetGUID ${b.backupSetGuid})`;
  if (b.type === 'FULL') return `another tool took a FULL backup that is not COPY_ONLY ${who}: it starts that tool's own chain and moves the differential base away from commserve-dr's FULL (docs/SQLSERVER.md, "Coexistence")`;
  return b.chain === 'commserve-dr'
    ? `another tool took a DIFFERENTIAL ${who} based on commserve-dr's FULL ${b.baseGuid}: it belongs to commserve-dr's chain and cannot be restored without that FULL`
    : `another tool took a DIFFERENTIAL ${who} based on ${b.baseGuid ?? '(no base)'}: it belongs to that tool's own chain`;
}
