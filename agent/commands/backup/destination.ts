/**
 * The phase-1 destination (SPEC §4.2 step 7): when it cannot be written, creating the directory
 * structure is retried; if it still fails, the job skips the local copy, uploads straight to the
 * hot-site from a staging directory, continues to phase 2, and ends Completed With One or More Errors.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeFsError, makeDirectories } from '#agent/fs-errors';

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
