/**
 * A LOG point due while another job holds the phase-1 lock (SPEC §4.1, §4.5; issue 17 item 1): it waits for the lock
 * for a bounded time — half the LOG interval for a scheduled LOG — sending heartbeats, and is then **skipped with a
 * record**, never failing or blocking the running job:
 *
 * - the skip is written as a note in the state directory (`<StateDirectory>/log-skips/<time>.json`: when the LOG was
 *   due, how long it waited, who held the lock);
 * - the next job that commits a SET (usually the FULL or DIFFERENTIAL that held the lock) takes the notes into its
 *   manifest and job record as `LOG_SKIPPED` warnings, and removes them;
 * - the scheduled execution ends in the state machine's `LogSkipped` state (no job record of its own, no JobFailed);
 *   the RPO alarm still fires if LOG points stop arriving.
 *
 * A LOG started by hand keeps the plain refusal (`JOB_LOCKED`): the operator is there to see it.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommserveDrError, JobLockedError } from '#core/errors';
import type { JobEvent } from '#core/manifest';

/** The LOG point was not taken because another job held the phase-1 lock for the whole wait. Code `LOG_SKIPPED`. */
export class LogSkippedError extends CommserveDrError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('LOG_SKIPPED', message, options);
  }
}

/** How long a LOG waits for the lock. */
export interface LogLockWait {
  /** Longest wait (ms) before the LOG is skipped. */
  waitMs: number;
  /** Between two attempts (ms). Default 5 s. */
  pollMs?: number;
  /** Called between attempts (SendTaskHeartbeat). */
  heartbeat?: () => Promise<void>;
}

/** The wait of a scheduled LOG: half of `LogBackupIntervalMinutes` (default 15 → 7.5 min), in ms. */
export function scheduledLogWaitMs(logBackupIntervalMinutes: number | null): number {
  return ((logBackupIntervalMinutes ?? 15) * 60_000) / 2;
}

/** Directory of the skip notes. */
const skipsDir = (stateDir: string) => join(stateDir, 'log-skips');

/** One skipped LOG point, as noted. */
interface SkipNote {
  /** When the LOG was due (its start), ISO-8601 UTC. */
  due: string;
  /** When it gave up, ISO-8601 UTC. */
  skipped: string;
  /** Why: the lock holder as the lock reported it. */
  reason: string;
}

/**
 * Takes the phase-1 lock for a LOG point, waiting up to `wait.waitMs`.
 * @param take the lock function (acquirePhase1Lock).
 * @returns the release function.
 * @throws LogSkippedError after noting the skip, when the lock stayed held; any other error of `take` as it is.
 */
export async function acquireLockForLog(
  stateDir: string,
  wait: LogLockWait,
  take: (stateDir: string) => Promise<() => Promise<void>>,
  now: () => number = Date.now,
): Promise<() => Promise<void>> {
  const due = now();
  const pollMs = wait.pollMs ?? 5_000;
  for (;;) {
    try {
      return await take(stateDir);
    } catch (error) {
      if (!(error instanceof JobLockedError)) throw error;
      if (now() - due >= wait.waitMs) {
        const note: SkipNote = { due: new Date(due).toISOString(), skipped: new Date(now()).toISOString(), reason: error.message };
        noteSkippedLog(stateDir, note);
        throw new LogSkippedError(`LOG point due at ${note.due} skipped after waiting ${Math.round((now() - due) / 1000)} s for the phase-1 lock: ${error.message}`, { cause: error });
      }
      await wait.heartbeat?.().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(1, wait.waitMs - (now() - due)))));
    }
  }
}

/** Writes a skip note (never throws: a note that cannot be written is lost, the skip itself is still reported). */
function noteSkippedLog(stateDir: string, note: SkipNote): void {
  try {
    mkdirSync(skipsDir(stateDir), { recursive: true });
    writeFileSync(join(skipsDir(stateDir), `${note.due.replace(/[:.]/g, '-')}.json`), `${JSON.stringify(note)}\n`);
  } catch {
    // The state directory is the agent's own; if it cannot be written the running job fails on it too.
  }
}

/**
 * The skipped LOG points noted since the last job committed, as `LOG_SKIPPED` warnings (oldest first); the notes are
 * removed. Unreadable notes are removed and reported as such.
 */
export function collectSkippedLogs(stateDir: string, now: string = new Date().toISOString()): JobEvent[] {
  let names: string[];
  try {
    names = readdirSync(skipsDir(stateDir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const events: JobEvent[] = [];
  for (const name of names) {
    const file = join(skipsDir(stateDir), name);
    try {
      const note = JSON.parse(readFileSync(file, 'utf8')) as SkipNote;
      events.push({ time: note.skipped ?? now, level: 'warning', code: 'LOG_SKIPPED', message: `LOG point due at ${note.due} skipped (another job held the phase-1 lock until after ${note.skipped}): ${note.reason}` });
    } catch (error) {
      events.push({ time: now, level: 'warning', code: 'LOG_SKIPPED', message: `a LOG point was skipped (its note ${file} is unreadable: ${(error as Error).message})` });
    }
    rmSync(file, { force: true });
  }
  return events;
}
