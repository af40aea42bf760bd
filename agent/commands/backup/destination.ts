/**
 * The phase-1 destination (SPEC §4.2 step 7): when it cannot be written, creating the directory
 * structure is retried; if it still fails, the job skips the local copy, uploads straight to the
 * hot-site from a staging directory, continues to phase 2, and ends Completed With One or More Errors.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseError } from '#core/errors';
import { describeFsError, FS_ERROR_WORDS, makeDirectories } from '#agent/fs-errors';

/** Retry policy for creating the destination: attempts (≥ 1) and the wait between them (ms). */
export interface DestinationRetry {
  attempts: number;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/** Default: 3 attempts, 5 s apart (a network share that blinks). */
export const DEFAULT_DESTINATION_RETRY: DestinationRetry = { attempts: 3, intervalMs: 5_000 };

/** The destination's state after preparing it. */
export type DestinationState = { writable: true } | { writable: false; reason: string; attempts: number };

/** errno codes (agent/fs-errors) and the SQLite/engine codes of a full disk, in the words an operator reads. */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  ...FS_ERROR_WORDS,
  SQLITE_FULL: 'no space left on device',
  DUMP_DISK_FULL: 'no space left on device',
};

/** `read-only file system (EROFS)`, `no space left on device (ENOSPC)`, … for an errno or SQLite code. */
export function errnoInWords(code: string): string {
  const words = ERRNO_WORDS[code];
  return words ? `${words} (${code})` : code;
}

/** The errno (or SQLite/engine) code of a local write failure, or undefined. */
export function localWriteCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in ERRNO_WORDS) return code;
    const text = (e as { message?: unknown }).message;
    const found = typeof text === 'string' ? /\b(ENOSPC|EROFS|EDQUOT|EACCES|SQLITE_FULL)\b/.exec(text) : null;
    if (found) return found[1];
  }
  return undefined;
}

/**
 * Whether an error writing the SET means the phase-1 destination cannot hold it (full, read-only, no permission) —
 * then the SET goes to the hot-site from a staging area instead — rather than a problem of the source.
 */
export function isDestinationWriteFailure(error: unknown): boolean {
  if (error instanceof DatabaseError && error.code === 'DUMP_DISK_FULL') return true;
  const code = localWriteCode(error);
  return code !== undefined && ['ENOSPC', 'SQLITE_FULL', 'DUMP_DISK_FULL', 'EDQUOT', 'EROFS', 'EACCES', 'EPERM'].includes(code);
}

function probe(dir: string): void {
  makeDirectories(dir);
  const file = join(dir, `.write-probe-${process.pid}`);
  writeFileSync(file, '');
  rmSync(file);
}

/**
 * Creates the destination directory structure and checks it can be written, retrying per `retry`.
 * Never throws: an unwritable destination is a state the job handles.
 */
export async function prepareDestination(dir: string, retry: DestinationRetry = DEFAULT_DESTINATION_RETRY): Promise<DestinationState> {
  const sleep = retry.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: unknown;
  for (let attempt = 1; attempt <= Math.max(1, retry.attempts); attempt++) {
    try {
      probe(dir);
      return { writable: true };
    } catch (error) {
      last = error;
      if (attempt < retry.attempts) await sleep(retry.intervalMs);
    }
  }
  return { writable: false, reason: `phase-1 destination ${dir} cannot be written: ${describeFsError(last)}`, attempts: Math.max(1, retry.attempts) };
}
