/**
 * Names of the database dumps in a SET (SPEC §3, §4.5) and the backup type they reveal when a SET has no manifest
 * (incomplete: killed, failed, still running). One place for the names, read by phase 1, `sets`, `recover`, prune
 * (agent and Lambda).
 */
import { BackupType } from './set-id';

/** The FULL database dump of a SET. */
export const FULL_DUMP_FILE = 'commserv_FULL.dmp';

/** The DIFFERENTIAL dump of job `jobId` (`commserv_DIFF_<jobId>.dmp`). */
export function differentialDumpFile(jobId: number): string {
  return `commserv_DIFF_${jobId}.dmp`;
}

/** The LOG dump of job `jobId` (`commserv_LOG_<jobId>.dmp`). */
export function logDumpFile(jobId: number): string {
  return `commserv_LOG_${jobId}.dmp`;
}

/**
 * The backup type of job `jobId`'s SET from the file names it holds (plain names, no prefix): a DIFFERENTIAL or LOG
 * dump of that job, else a FULL dump. A name may carry a suffix (`.partial` of a dump being written) — a SET killed
 * mid-dump still shows what it was.
 * @returns undefined when no dump is there.
 */
export function backupTypeFromFileNames(names: Iterable<string>, jobId: number): BackupType | undefined {
  const all = [...names];
  const has = (dump: string) => all.some((n) => n.startsWith(dump));
  if (has(differentialDumpFile(jobId))) return BackupType.Differential;
  if (has(logDumpFile(jobId))) return BackupType.Log;
  if (has(FULL_DUMP_FILE)) return BackupType.Full;
  return undefined;
}
