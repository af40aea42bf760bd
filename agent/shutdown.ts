/**
 * Clean-up on interruption (SIGINT, SIGTERM): what a command holds — the phase-1 lock, the moto server
 * of a local run, an incomplete SET folder — registers a clean-up here and unregisters it when done.
 * The process entry (`agent/main.ts`) runs them, says so in one line, and exits 130 (SIGINT) or 143
 * (SIGTERM). A SIGKILL cannot be caught: the lock's owner check and the next job's clean-ups cover it.
 */

type Cleanup = () => Promise<void> | void;
const cleanups = new Set<Cleanup>();
let interrupting = false;

/** Whether an interruption is being handled: work must not take new resources (e.g. the lock) now. */
export function isInterrupting(): boolean {
  return interrupting;
}

/** Registers a clean-up; returns the function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/**
 * Runs every registered clean-up (newest first), each bounded by `timeoutMs`; errors are swallowed (the
 * process is going down). Idempotent.
 */
export async function runInterruptCleanups(timeoutMs = 5_000): Promise<number> {
  interrupting = true;
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of pending) {
    await Promise.race([Promise.resolve().then(cleanup).catch(() => undefined), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
  }
  return pending.length;
}

let interruptText: string | undefined;

/**
 * Sets what the interruption line says (after `interrupted (SIGTERM): `) while a command that is not a job
 * runs, instead of the job's message about SETs; returns the function that restores the default.
 */
export function setInterruptMessage(text: string): () => void {
  interruptText = text;
  return () => {
    if (interruptText === text) interruptText = undefined;
  };
}

/** The message set with {@link setInterruptMessage}, if any. */
export function interruptMessage(): string | undefined {
  return interruptText;
}
