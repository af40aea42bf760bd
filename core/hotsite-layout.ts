/**
 * Object keys at the hot-site bucket (SPEC §2, §3):
 * - `sets/SET_<n>/<file>`: phase-1 copy of each SET (manifest uploaded last);
 * - `archive/SET_<n>/<file>`: phase-2 copy in a Glacier storage class;
 * - `jobs/<jobId>.json`: job history records (mirror of the phase-1 destination's history).
 *
 * `SET_<n>` is the SET's name as written (`core/set-id.ts`: new SETs `SET_0000042`, legacy ones `SET_042`): give
 * these functions the recorded name of an existing SET, a job id only for a SET being created.
 * Job and prune record keys keep their 3-digit padding (`jobs/042.json`, `jobs/1000.json`) so that records written
 * before 7-digit SET names are still found by job id; our code lists and orders them by parsed job id.
 */
import { legacySetName, parseSetName, setName } from './set-id';

export const SETS_PREFIX = 'sets/';
export const ARCHIVE_PREFIX = 'archive/';
export const JOBS_PREFIX = 'jobs/';
export const MANIFEST_FILE = 'manifest.json';

/** Which copy of a SET a key belongs to. */
export type SetArea = 'sets' | 'archive';

/**
 * A SET's folder name: `set` itself when it is a SET name (either spelling, as recorded), else the new name of job `set`.
 * @throws Error when `set` is a string that is not a SET name; RangeError for an invalid job id.
 */
function setFolder(set: number | string): string {
  if (typeof set === 'number') return setName(set);
  if (parseSetName(set) === undefined) throw new Error(`not a SET name: ${JSON.stringify(set)}`);
  return set;
}

/**
 * `sets/SET_0000001/` or `archive/SET_001/`.
 * @param set the SET's recorded name (an existing SET, legacy or new), or the job id of a SET being created.
 */
export function setPrefix(area: SetArea, set: number | string): string {
  return `${area}/${setFolder(set)}/`;
}

/**
 * `sets/SET_0000001/commserv_FULL.dmp`. `file` must be a plain file name (see `assertSafeFileName`).
 * @param set as for {@link setPrefix}.
 */
export function setObjectKey(area: SetArea, set: number | string, file: string): string {
  assertSafeFileName(file);
  return `${setPrefix(area, set)}${file}`;
}

/** `jobs/001.json`-style key of a job history record (3-digit padding for every job: see the module comment). */
export function jobRecordKey(jobId: number): string {
  return `${JOBS_PREFIX}${legacySetName(jobId).slice('SET_'.length)}.json`;
}

/**
 * Splits a hot-site key into its area, job id and file name, or returns undefined for any key that is
 * not an object of a SET of this product (such keys are never touched: SPEC §5).
 */
export function parseSetObjectKey(key: string): { area: SetArea; jobId: number; setName: string; file: string } | undefined {
  const parts = key.split('/');
  if (parts.length !== 3) return undefined;
  const [area, set, file] = parts;
  if (area !== 'sets' && area !== 'archive') return undefined;
  const jobId = parseSetName(set);
  if (jobId === undefined || !isSafeFileName(file)) return undefined;
  return { area, jobId, setName: set, file };
}

/** Whether `name` is a plain file name: no separators, not `.`/`..`, no NUL, at most 255 bytes. */
export function isSafeFileName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name, 'utf8') <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\\0]/.test(name) &&
    !/^[a-zA-Z]:/.test(name)
  );
}

/**
 * Refuses any file name that could escape a SET folder or a staging directory (SPEC §10).
 * @throws Error naming the offending value.
 */
export function assertSafeFileName(name: string): void {
  if (!isSafeFileName(name)) throw new Error(`unsafe file name in a SET: ${JSON.stringify(name)}`);
}
