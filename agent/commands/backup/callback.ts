/**
 * The task-token callback of the RunPhase1 state (SPEC §4.1): the state machine starts phase 1 on the
 * agent through SSM Run Command and waits; the agent sends heartbeats while it works and reports
 * success (with the SET summary) or failure. Two implementations share one protocol: the Step
 * Functions API (production), and an in-process one used by the local run.
 */
import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CommserveDrError, describeError } from '#core/errors';
import { encodePhase1FailureCause, type Phase1Result } from '#core/job';
import { failedJobOf } from './job-context';

/** How phase 1 reports back to the state machine. */
export interface TaskCallback {
  /** Tells the state machine the agent is alive (HeartbeatSeconds). Errors are logged by the caller, never fatal. */
  heartbeat(): Promise<void>;
  success(result: Phase1Result): Promise<void>;
  /**
   * @param error stable error code (becomes the state's `Error`, ≤ 256 characters in Step Functions).
   * @param cause operator-readable message (the state's `Cause`, ≤ 32,768 characters).
   */
  failure(error: string, cause: string): Promise<void>;
}

/** Minimum time between two heartbeats actually sent (ms); callers may call `heartbeat` as often as they like. */
export const HEARTBEAT_MIN_INTERVAL_MS = 30_000;

/** Step Functions limits for SendTaskFailure: `error` ≤ 256 characters, `cause` ≤ 32,768 characters. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

/** Callback through the Step Functions API with a task token. The token is never logged. */
export function sfnTaskCallback(sfn: SFNClient, taskToken: string, minIntervalMs = HEARTBEAT_MIN_INTERVAL_MS): TaskCallback {
  let lastBeat = 0;
  return {
    async heartbeat() {
      const now = Date.now();
      if (now - lastBeat < minIntervalMs) return;
      lastBeat = now;
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
    },
    async success(result) {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(result) }));
    },
    async failure(error, cause) {
      await sfn.send(new SendTaskFailureCommand({ taskToken, error: error.slice(0, MAX_ERROR_CHARS), cause: cause.slice(0, MAX_CAUSE_CHARS) }));
    },
  };
}

/** An error carrying a state's `Error` name and `Cause`, as a failed task surfaces in Step Functions. */
export class TaskFailedError extends Error {
  constructor(errorName: string, cause: string) {
    super(cause);
    this.name = errorName;
  }
}

/**
 * In-process callback for the local run: `result` settles when the agent calls `success` or `failure`,
 * exactly as the waiting `.waitForTaskToken` state would. Heartbeats are counted.
 */
export function inProcessTaskCallback(): TaskCallback & { result: Promise<Phase1Result>; heartbeats: () => number } {
  let beats = 0;
  let resolve!: (r: Phase1Result) => void;
  let reject!: (e: Error) => void;
  const result = new Promise<Phase1Result>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    result,
    heartbeats: () => beats,
    async heartbeat() {
      beats++;
    },
    async success(r) {
      resolve(r);
    },
    async failure(error, cause) {
      reject(new TaskFailedError(error, cause));
    },
  };
}

/**
 * Runs `work` and reports its outcome through `callback`. Heartbeat failures are reported to `onCallbackError`
 * and do not stop the work.
 *
 * A callback that itself fails never changes what is reported about the work:
 * - work failed, SendTaskFailure failed too: the work's own error is rethrown (the callback's error goes to
 *   `onCallbackError`); the execution then ends at its heartbeat timeout and its Catch writes the Failed record.
 * - work succeeded, SendTaskSuccess failed: no failure is sent (phase 1 did finish); a `CALLBACK_FAILED` error
 *   naming the job, its SET and the reason is thrown, so the command does not claim the state machine continues.
 *   The SET is committed; the next job finishes its phase 2 (half-finished jobs, SPEC §6.1).
 *
 * @returns the work's result once the state machine was told.
 * @throws the work's error, or `CALLBACK_FAILED` as above.
 */
export async function runWithCallback(
  callback: TaskCallback,
  work: (heartbeat: () => Promise<void>) => Promise<Phase1Result>,
  onCallbackError: (error: unknown) => void = () => undefined,
): Promise<Phase1Result> {
  const heartbeat = async () => {
    try {
      await callback.heartbeat();
    } catch (error) {
      onCallbackError(error);
    }
  };
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MIN_INTERVAL_MS);
  timer.unref();
  try {
    // `work` may throw before its first await (a refused setting): that, too, is reported through the callback.
    const result = await Promise.resolve()
      .then(() => work(heartbeat))
      .catch(async (error: unknown) => {
        await reportFailure(callback, error, onCallbackError);
        throw error;
      });
    await reportSuccess(callback, result);
    return result;
  } finally {
    clearInterval(timer);
  }
}

/** SendTaskFailure for a failed phase 1; a failing callback is passed to `onCallbackError`, never thrown. */
async function reportFailure(callback: TaskCallback, error: unknown, onCallbackError: (error: unknown) => void): Promise<void> {
  const code = error instanceof CommserveDrError ? error.code : 'PHASE1_FAILED';
  try {
    // Once the job had an id, the Cause carries it (JSON) so the Failed record keeps the id, SET name and events.
    await callback.failure(code, encodePhase1FailureCause(describeError(error), failedJobOf(error)));
  } catch (callbackError) {
    onCallbackError(callbackError);
  }
}

/** SendTaskSuccess for a finished phase 1. @throws CommserveDrError `CALLBACK_FAILED` when the state machine could not be told. */
async function reportSuccess(callback: TaskCallback, result: Phase1Result): Promise<void> {
  try {
    await callback.success(result);
  } catch (error) {
    throw new CommserveDrError(
      'CALLBACK_FAILED',
      `phase 1 of job ${result.jobId} finished (${result.setName}, ${result.status}), but the state machine could not be told (SendTaskSuccess: ${describeError(error)}); ` +
        'its execution ends at the heartbeat timeout. The SET is committed; the next job finishes its phase 2.',
      { cause: error, context: { jobId: result.jobId, setName: result.setName } },
    );
  }
}
