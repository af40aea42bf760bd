/**
 * SET names (SPEC §2): `SET_<jobId>`.
 *
 * **New SETs** are named `SET_` + the job id zero-padded to {@link SET_ID_DIGITS} (7) digits: `SET_0000001` …
 * `SET_9999999`. Names of equal length sort as plain text exactly as they sort by job id, so `aws s3 ls`, `ls` and
 * Explorer list SETs in job order for the first 9,999,999 jobs. Why 7: the product's own promise is "at least a
 * million jobs"; 7 digits gives ten times that (at one job every 15 minutes, 285 years; at one a minute, 19 years)
 * for 4 characters more than today's names, and stays short enough to type (`SET_7` is accepted too, see
 * {@link canonicalSetName}).
 *
 * **Beyond 9,999,999** the name simply has more digits (`SET_10000000`, never refused: a backup must not stop on its
 * name). Our code still parses and orders such names by job id ({@link compareSetNames}); only a plain-text listing
 * would put `SET_10000000` before `SET_9999999`.
 *
 * **Legacy SETs** (written before this change) are named with the job id padded to 3 digits (`SET_001`, `SET_999`,
 * `SET_1000`). They are still recognised everywhere ({@link parseSetName} accepts both spellings) and ordered among
 * new names by job id. A job id has exactly one SET, under whichever of its two spellings was written: code that
 * needs the SET of an existing job (base FULL of a DIFFERENTIAL, cycle membership, prune, records) must use the name
 * recorded in the manifest, job record or listing ({@link findSetName}), not rebuild it with {@link setName}, which
 * is only for naming a new SET. For job ids ≥ 1,000,000 both spellings are the same text.
 */

/** Digits a new SET name's job id is zero-padded to (see the module comment for why 7). */
export const SET_ID_DIGITS = 7;

/** Digits legacy SET names were zero-padded to (`SET_001`, before {@link SET_ID_DIGITS}). */
export const LEGACY_SET_ID_DIGITS = 3;

/**
 * Regular expression of a SET folder name; group 1 is the job id digits. Matches both spellings (new: 7 digits or
 * more, legacy: 3 or more); {@link parseSetName} also checks the padding is one of the two canonical ones.
 */
export const SET_NAME_PATTERN = /^SET_(\d{3,})$/;

/** Largest job id accepted (fits a JS safe integer with margin). */
export const MAX_JOB_ID = 2 ** 48;

function assertJobId(jobId: number): void {
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) {
    throw new RangeError(`invalid job id ${jobId}: must be an integer between 1 and ${MAX_JOB_ID}`);
  }
}

/**
 * The name of the SET a new job writes: `SET_` + the job id zero-padded to 7 digits (`SET_0000042`).
 * Only for naming a new SET; for an existing job use the recorded name ({@link findSetName}).
 * @param jobId positive integer.
 * @throws RangeError when `jobId` is not a positive safe integer ≤ MAX_JOB_ID.
 */
export function setName(jobId: number): string {
  assertJobId(jobId);
  return `SET_${String(jobId).padStart(SET_ID_DIGITS, '0')}`;
}

/**
 * The name a SET of job `jobId` had before 7-digit names (`SET_042`, `SET_1000`). For tests and for recognising
 * legacy SETs; never used to name a new SET.
 * @throws RangeError when `jobId` is not a positive safe integer ≤ MAX_JOB_ID.
 */
export function legacySetName(jobId: number): string {
  assertJobId(jobId);
  return `SET_${String(jobId).padStart(LEGACY_SET_ID_DIGITS, '0')}`;
}

/** The names a SET of job `jobId` may have: the new one first, then the legacy one when it differs. */
export function setNameSpellings(jobId: number): string[] {
  const current = setName(jobId);
  const legacy = legacySetName(jobId);
  return legacy === current ? [current] : [current, legacy];
}

/**
 * The job id of a SET name, or `undefined` when `name` is not a SET name of this product. Both spellings count:
 * `SET_0000001` and `SET_001` → 1, `SET_0001000` and `SET_1000` → 1000; `SET_12` (fewer than 3 digits), `SET_0010`
 * (neither padding), `set_001` → undefined.
 */
export function parseSetName(name: string): number | undefined {
  const match = SET_NAME_PATTERN.exec(name);
  if (!match) return undefined;
  const jobId = Number(match[1]);
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) return undefined;
  // Only the two canonical spellings count, so a folder name maps to one job id and back.
  return setName(jobId) === name || legacySetName(jobId) === name ? jobId : undefined;
}

/** Whether `name` is a SET name in the legacy (3-digit) spelling that differs from the new one (`SET_001`, `SET_1000`). */
export function isLegacySetName(name: string): boolean {
  const jobId = parseSetName(name);
  return jobId !== undefined && name !== setName(jobId);
}

/**
 * The name under which job `jobId`'s SET actually exists among `existing` (a listing, manifests, records), in
 * either spelling; `undefined` when none of them is that job's SET.
 */
export function findSetName(jobId: number, existing: Iterable<string>): string | undefined {
  for (const name of existing) if (parseSetName(name) === jobId) return name;
  return undefined;
}

/** How an operator may write a SET on the command line (the text of the usage error). */
export const SET_ARGUMENT_FORM = 'a SET name SET_<job id>, with any zero-padding (SET_7, SET_007)';

/**
 * The SET name for a SET as typed by an operator: `SET_` (any case) and the job id with any zero-padding —
 * `SET_7`, `SET_007`, `set_0000007` → the new-spelling name {@link setName} builds for job 7. Pure: it cannot know
 * whether job 7's SET is legacy (`SET_007`); commands match by job id ({@link parseSetName}) or resolve against the
 * listing with {@link resolveSetName}.
 * @returns undefined when `text` is not of that form or the job id is out of range (see {@link SET_ARGUMENT_FORM}).
 */
export function canonicalSetName(text: string): string | undefined {
  const match = /^SET_(\d{1,20})$/i.exec(text.trim());
  if (!match) return undefined;
  const jobId = Number(match[1]);
  if (!Number.isSafeInteger(jobId) || jobId < 1 || jobId > MAX_JOB_ID) return undefined;
  return setName(jobId);
}

/**
 * A SET as typed by an operator, resolved against the SETs that exist: the existing name of that job's SET
 * (legacy `SET_007` or new `SET_0000007`), or the new-spelling name when none exists.
 * @returns undefined when `text` is not a SET argument (see {@link canonicalSetName}).
 */
export function resolveSetName(text: string, existing: Iterable<string>): string | undefined {
  const canonical = canonicalSetName(text);
  if (canonical === undefined) return undefined;
  return findSetName(parseSetName(canonical)!, existing) ?? canonical;
}

/**
 * Orders SET names by job id, whatever their spelling (`SET_999` before `SET_0001000` before `SET_10000000`);
 * two spellings of one job id by text. Non-SET names sort last, by name.
 */
export function compareSetNames(a: string, b: string): number {
  const ja = parseSetName(a);
  const jb = parseSetName(b);
  if (ja !== undefined && jb !== undefined) return ja - jb || (a < b ? -1 : a > b ? 1 : 0);
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
