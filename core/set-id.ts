/**
 * SET names: `SET_<jobId>`, the job id zero-padded to at least 3 digits (SPEC §2), sorted numerically.
 */

/** Regular expression of a SET folder name; group 1 is the job id digits. */
export const SET_NAME_PATTERN = /^SET_(\d{3,})$/;

/** Largest job id accepted (fits a JS safe integer with margin). */
export const MAX_JOB_ID = 2 ** 48;

/**
 * `SET_<jobId>` for a job id.
 * @param jobId positive integer.
 * @throws RangeError when `jobId` is not a positive safe integer ≤ MAX_JOB_ID.
 */
export function setName(jobId: number): string {
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) {
    throw new RangeError(`invalid job id ${jobId}: must be an integer between 1 and ${MAX_JOB_ID}`);
  }
  return `SET_${String(jobId).padStart(3, '0')}`;
}

/**
 * The job id of a SET name, or `undefined` when `name` is not a SET name of this product.
 * `SET_001` → 1; `SET_12` (fewer than 3 digits), `SET_0010` (padded beyond 3 digits), `set_001` → undefined.
 */
export function parseSetName(name: string): number | undefined {
  const match = SET_NAME_PATTERN.exec(name);
  if (!match) return undefined;
  const jobId = Number(match[1]);
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) return undefined;
  // Only the canonical spelling counts, so one job id has exactly one SET name.
  return setName(jobId) === name ? jobId : undefined;
}

/** How an operator may write a SET on the command line (the text of the usage error). */
export const SET_ARGUMENT_FORM = 'a SET name SET_<job id>, with any zero-padding (SET_7, SET_007)';

/**
 * The canonical SET name for a SET as typed by an operator: `SET_` (any case) and the job id with any
 * zero-padding — `SET_7`, `SET_007`, `set_0007` → the name {@link setName} builds for job 7.
 * @returns undefined when `text` is not of that form or the job id is out of range (see {@link SET_ARGUMENT_FORM}).
 */
export function canonicalSetName(text: string): string | undefined {
  const match = /^SET_(\d{1,20})$/i.exec(text.trim());
  if (!match) return undefined;
  const jobId = Number(match[1]);
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) return undefined;
  return setName(jobId);
}

/** Orders SET names by job id (numerically: SET_999 before SET_1000). Non-SET names sort last, by name. */
export function compareSetNames(a: string, b: string): number {
  const ja = parseSetName(a);
  const jb = parseSetName(b);
  if (ja !== undefined && jb !== undefined) return ja - jb;
  if (ja !== undefined) return -1;
  if (jb !== undefined) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** DR backup types (SPEC §2; LOG: §4.5, the pages or log records changed since the previous point of the open cycle). */
export const BackupType = { Full: 'FULL', Differential: 'DIFFERENTIAL', Log: 'LOG' } as const;
export type BackupType = (typeof BackupType)[keyof typeof BackupType];

/** Every backup type, in the order an operator reads them. */
export const ALL_BACKUP_TYPES: readonly BackupType[] = [BackupType.Full, BackupType.Differential, BackupType.Log];

/**
 * Parses a backup type as typed by an operator (`full`, `FULL`, `differential`, `diff`, `log`).
 * @returns undefined when not recognised.
 */
export function parseBackupType(text: string): BackupType | undefined {
  const t = text.trim().toUpperCase();
  if (t === 'FULL') return BackupType.Full;
  if (t === 'DIFFERENTIAL' || t === 'DIFF') return BackupType.Differential;
  if (t === 'LOG') return BackupType.Log;
  return undefined;
}
