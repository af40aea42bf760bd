/**
 * Job ids: monotonic integers that survive restarts (SPEC §2).
 *
 * The next id is one more than the largest of: the counter file in the state directory, every SET
 * folder in the phase-1 destination, and every SET at the hot-site the caller knows of. So losing the
 * counter file (or the state directory) never reuses an id. The counter is written atomically
 * (temp file + rename) before the job uses the id. Call under the phase-1 lock.
 */
import { readdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseSetName } from '#core/set-id';
import { DestinationError } from '#core/errors';
import { describeFsError, makeDirectories } from '#agent/fs-errors';

export const JOB_COUNTER_FILE = 'last-job-id';

/** Largest job id among the `SET_<n>` folders of a directory (0 when none or the directory is missing). */
export function maxSetIdIn(dir: string): number {
  if (!existsSync(dir)) return 0;
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const id = entry.isDirectory() ? parseSetName(entry.name) : undefined;
    if (id !== undefined && id > max) max = id;
  }
  return max;
}

function readCounter(file: string): number {
  if (!existsSync(file)) return 0;
  const text = readFileSync(file, 'utf8').trim();
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new DestinationError('JOB_COUNTER_CORRUPT', `job counter ${file} holds ${JSON.stringify(text.slice(0, 40))}, not a job id; fix or remove it`);
  }
  return value;
}

/**
 * Allocates the next job id and records it.
 * @param knownIds ids seen elsewhere (e.g. at the hot-site).
 * @throws DestinationError when the state directory cannot be written or the counter is corrupt.
 */
export function allocateJobId(stateDir: string, phase1Destination: string | null, knownIds: number[] = []): number {
  const counterFile = join(stateDir, JOB_COUNTER_FILE);
  const last = Math.max(readCounter(counterFile), phase1Destination ? maxSetIdIn(phase1Destination) : 0, 0, ...knownIds);
  const next = last + 1;
  try {
    makeDirectories(stateDir);
    const tmp = `${counterFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${next}\n`);
    renameSync(tmp, counterFile);
  } catch (error) {
    throw new DestinationError('STATE_UNWRITABLE', `cannot record the job id in ${stateDir}: ${describeFsError(error)}`, { cause: error });
  }
  return next;
}
