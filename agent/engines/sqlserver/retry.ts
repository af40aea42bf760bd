/**
 * Database retries (SPEC §4.2 step 7: "the database server does not answer: retry up to 10 times, 30 minutes
 * apart"; settings `DbRetryCount` × `DbRetryIntervalMinutes`). Only `DB_UNREACHABLE` is retried: a login failure,
 * a missing secret or a TLS refusal will not fix itself and fails at once.
 */
import { DatabaseError } from '#core/errors';

/** Options of {@link withDbRetry}. */
export interface DbRetryOptions {
  /** Retries after the first attempt (`DbRetryCount`; 0 = one attempt). */
  count: number;
  /** Wait between attempts in milliseconds (`DbRetryIntervalMinutes` × 60 000). */
  intervalMs: number;
  /** Waits `ms` (default a timer; tests pass a fake). */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait, e.g. to log "attempt 2 of 11 in 30 min: …" and send a heartbeat. */
  onRetry?: (info: { attempt: number; attempts: number; delayMs: number; error: DatabaseError }) => void | Promise<void>;
}

/** Whether {@link withDbRetry} retries this error: a DatabaseError `DB_UNREACHABLE`. */
export function isRetryableDbError(error: unknown): error is DatabaseError {
  return error instanceof DatabaseError && error.code === 'DB_UNREACHABLE';
}

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn`, retrying it `count` times `intervalMs` apart while it fails with `DB_UNREACHABLE`.
 * @returns `fn`'s result.
 * @throws the last `DB_UNREACHABLE` (its context gains `attempts`) once retries are exhausted, or at once any other error.
 */
export async function withDbRetry<T>(fn: (attempt: number) => Promise<T>, options: DbRetryOptions): Promise<T> {
  const attempts = Math.max(0, Math.floor(options.count)) + 1;
  const sleep = options.sleep ?? timer;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!isRetryableDbError(error)) throw error;
      if (attempt >= attempts) {
        Object.assign(error.context, { attempts });
        if (attempts > 1) error.message = `${error.message} (gave up after ${attempts} attempts)`;
        throw error;
      }
      await options.onRetry?.({ attempt, attempts, delayMs: options.intervalMs, error });
      await sleep(options.intervalMs);
    }
  }
}
