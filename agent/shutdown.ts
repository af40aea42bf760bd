/**
 * Clean-up on interruption (SIGINT, SIGTERM): what a command holds — the phase-1 lock, the moto server
 * of a local run, an incomplete SET folder — registers a clean-up here and unregisters it when done.
 * The process entry (`agent/main.ts`) runs them, says so in one line, and exits 130 (SIGINT) or 143
 * (SIGTERM). A SIGKILL cannot be caught: the lock's owner check and the next job's clean-ups cover it.
 */

/** The command being run (`start`, `recover`, `registry parse`, …), for the interruption message. */
let command: string | undefined;

/** Records which command runs, so an interruption says what it stopped (set by the CLI before the action). */
export function setInterruptedCommand(name: string | undefined): void {
  command = name;
}

/** The command recorded by {@link setInterruptedCommand}. */
export function interruptedCommand(): string | undefined {
  return command;
}

/** Commands that run a DR job (take a job id, write a SET): their interruption line speaks of the job. */
const JOB_COMMANDS = new Set(['start', 'backup']);

/**
 * The one line printed after an interruption: what stopped and what is left, in the command's terms. The
 * clean-ups' own lines ({@link interruptNotes}: "the unfinished SET_… was removed from …", "job 7 is recorded as
 * Killed …", "its staging directory … was removed") say what actually happened; without any, the command's
 * generic line. Only `start` and `backup` run a DR job and write a SET: interrupted before phase 1 (nothing
 * registered a clean-up that had anything to say — no job id taken, no SET started) they say exactly that.
 * @param name the command (default the one recorded by {@link setInterruptedCommand}).
 * @param notes the clean-ups' lines (default those of this process).
 */
export function interruptMessage(name: string | undefined = command, notes: readonly string[] = interruptNotes()): string {
  if (name !== undefined && JOB_COMMANDS.has(name)) {
    const what = notes.length > 0 ? notes.join('; ') : 'it stopped before phase 1 (no job id taken, no SET of this job started; upkeep of earlier SETs that ran first, such as a hot-site re-fill, stays done)';
    return `the job did not complete: ${what}; the next job starts cleanly`;
  }
  if (notes.length > 0) return notes.join('; ');
  switch (name) {
    case undefined:
      return 'the command stopped before it started; nothing was changed';
    case 'recover':
      return 'the recovery stopped before it changed anything in the recovery directory; run it again';
    case 'fetch':
      return 'the fetch did not complete: nothing was fetched into --to and nothing at the hot-site was changed; fetch it again';
    case 'verify':
      return 'the verification did not complete (a result is recorded only when it does); nothing at the hot-site was changed';
    case 'prune':
      return 'prune stopped: SETs already deleted stay deleted, the others are kept; run prune again (or prune --dry-run to see the plan)';
    case 'sample-db':
      return 'the sample CommServe may be incomplete: run sample-db again with --force';
    case 'report':
      return 'the report was not written (or is incomplete): run report again';
    default:
      return `${name} stopped; it changes nothing`;
  }
}

/** A clean-up; it may return one line for the user saying what it did (printed instead of the generic line). */
type Cleanup = () => Promise<void | string> | void | string;
const cleanups = new Set<Cleanup>();
const notes: string[] = [];
let interrupting = false;
let signalName: string | undefined;

/** The lines the clean-ups returned (see {@link Cleanup}), in the order they ran. */
export function interruptNotes(): readonly string[] {
  return notes;
}

/** Whether an interruption is being handled: work must not take new resources (e.g. the lock) now. */
export function isInterrupting(): boolean {
  return interrupting;
}

/** The signal being handled (`SIGINT`, `SIGTERM`), when the process entry named it. */
export function interruptSignal(): string | undefined {
  return signalName;
}

/** Registers a clean-up; returns the function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/**
 * Runs every registered clean-up (newest first), each bounded by `timeoutMs`; errors are swallowed (the
 * process is going down). Work still under way may register a clean-up while these run (a child process it
 * had just spawned): those run too, until none is left. Idempotent. `signal` names the signal for the
 * clean-ups ({@link interruptSignal}). @returns how many clean-ups ran.
 */
export async function runInterruptCleanups(timeoutMs = 5_000, signal?: string): Promise<number> {
  interrupting = true;
  signalName ??= signal;
  let ran = 0;
  while (cleanups.size > 0) {
    const pending = [...cleanups].reverse();
    cleanups.clear();
    for (const cleanup of pending) {
      ran++;
      await Promise.race([
        Promise.resolve()
          .then(cleanup)
          .then((note) => {
            if (typeof note === 'string' && note) notes.push(note);
          })
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, timeoutMs).unref()),
      ]);
    }
  }
  return ran;
}

/**
 * Removes what an interrupted command was writing (a staging or partial-download directory). Writes still in flight
 * (parallel downloads) can re-create it while the process stops, so removal is retried (10 × 100 ms).
 * @returns null once `path` is gone, else why it is still there (a sentence fragment) — so a clean-up line claims
 *   "removed" only when it was.
 */
export async function removeLeftover(path: string): Promise<string | null> {
  const { existsSync } = require('node:fs') as typeof import('node:fs');
  const { rm } = require('node:fs/promises') as typeof import('node:fs/promises');
  let reason = 'it was re-created while being removed';
  for (let attempt = 0; attempt < 10 && existsSync(path); attempt++) {
    await rm(path, { recursive: true, force: true }).catch((error: unknown) => (reason = (error as Error).message));
    if (existsSync(path)) await new Promise((r) => setTimeout(r, 100));
  }
  return existsSync(path) ? reason : null;
}
