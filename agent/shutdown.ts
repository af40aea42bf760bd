/**
 * Clean-up on interruption (SIGINT, SIGTERM): what a command holds — the phase-1 lock, the moto server
 * of a local run, an incomplete SET folder — registers a clean-up here and unregisters it when done.
 * The process entry (`agent/main.ts`) runs them, says so in one line, and exits 130 (SIGINT) or 143
 * (SIGTERM). A SIGKILL cannot be caught: the lock's owner check and the next job's clean-ups cover it.
 */

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
 * process is going down). Idempotent. `signal` names the signal for the clean-ups ({@link interruptSignal}).
 */
export async function runInterruptCleanups(timeoutMs = 5_000, signal?: string): Promise<number> {
  interrupting = true;
  signalName ??= signal;
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of pending) {
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
  return pending.length;
}
