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
 * Runs `work` and reports its outcome through `callback`. Heartbeat failures are reported to `onHeartbeatError`
 * and do not stop the work. Returns the result, or rethrows the work's error after reporting it.
 */
export async function runWithCallback(
  callback: TaskCallback,
  work: (heartbeat: () => Promise<void>) => Promise<Phase1Result>,
  onHeartbeatError: (error: unknown) => void = () => undefined,
): Promise<Phase1Result> {
  const heartbeat = async () => {
    try {
      await callback.heartbeat();
    } catch (error) {
      onHeartbeatError(error);
    }
  };
  const timer = setInterval(() => void heartbeat(), HEARTBEAT_MIN_INTERVAL_MS);
  timer.unref();
  try {
    const result = await work(heartbeat);
    await callback.success(result);
    return result;
  } catch (error) {
    const code = error instanceof CommserveDrError ? error.code : 'PHASE1_FAILED';
    // Once the job had an id, the Cause carries it (JSON) so the Failed record keeps the id, SET name and events.
    await callback.failure(code, encodePhase1FailureCause(describeError(error), failedJobOf(error)));
    throw error;
  } finally {
    clearInterval(timer);
  }
}
