/**
 * Runs the DR job state machine locally (SPEC §7): the definition the CDK app synthesizes, executed by
 * aws-local-stepfunctions, with every Task state overridden — the Lambda handlers in-process against
 * the hot-site client, and the RunPhase1 callback state served by the in-process agent.
 *
 * RunPhase1 behaves as the `.waitForTaskToken` state does in AWS: aws-local-stepfunctions 3.0.0 enforces a
 * Task's `TimeoutSeconds` but ignores `HeartbeatSeconds`, so the override enforces both itself (read from
 * the synthesized state): no heartbeat for `HeartbeatSeconds` fails the task with `States.HeartbeatTimeout`,
 * no result within `TimeoutSeconds` with `States.Timeout`; the state's Catch then sends the job to
 * ReportJob (Failed). Later calls from the agent are refused (`TaskTimedOut`), as SendTask* would be.
 */
import './promise-with-resolvers';
import { randomUUID } from 'node:crypto';
import { cloudWatchClient } from '#agent/aws/clients';
import type { S3Client } from '@aws-sdk/client-s3';
import type * as LocalStepFunctions from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import type { StateMachineDefinition } from 'aws-local-stepfunctions' with { 'resolution-mode': 'import' };
import { describeError, LocalRunError } from '#core/errors';
import { decideJobRecord, type DrJobInput, type JobRecord, type Phase1Result } from '#core/job';
import { METRIC_NAMESPACE } from '#core/metrics';
import type { Settings } from '#core/settings';
import { synthesizeDrJobDefinition } from '#infra/definition';
import { LogSkippedError } from '#agent/commands/backup/log-wait';
import { makeArchiveSetHandler } from '#lambdas/archive-set';
import { makePruneSetsHandler } from '#lambdas/prune-sets';
import { makeReportJobHandler, reportInput } from '#lambdas/report-job';
import { makeValidateSetHandler } from '#lambdas/validate-set';
import { inProcessTaskCallback, runWithCallback, TaskFailedError, type TaskCallback } from '#agent/commands/backup/callback';

// The package ships a CommonJS build (exports.require) but its types are declared as ESM only.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine, ExecutionError } = require('aws-local-stepfunctions') as typeof LocalStepFunctions;

/** The Task states of the DR job state machine, each overridden locally. */
export const TASK_STATES = ['RunPhase1', 'ValidateSet', 'ArchiveSet', 'PruneSets', 'ReportJob'] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** What a local execution produced. */
export interface LocalExecution {
  record: JobRecord;
  /** Wall time of each Task state that ran, in ms (a retried state counts all its attempts). */
  stateDurationsMs: Partial<Record<TaskState, number>>;
  /** States entered, in order (a retried state appears once per attempt). */
  statesEntered: string[];
  /** Heartbeats the agent sent during phase 1. */
  heartbeats: number;
  /** `$.validation`, `$.archive` and `$.prune` as the states produced them. */
  output: Record<string, unknown>;
}

/** Heartbeat and overall limits of the RunPhase1 callback, in ms. */
export interface CallbackLimitsMs {
  /** Longest gap between two heartbeats (and before the first); `HeartbeatSeconds`. */
  heartbeat?: number;
  /** Longest the callback may take; `TimeoutSeconds`. */
  timeout?: number;
}

let cachedDefinition: StateMachineDefinition | undefined;

/** The synthesized DR job definition (synthesized once per process; synthesis takes ~1–2 s). */
export function drJobDefinition(): StateMachineDefinition {
  cachedDefinition ??= synthesizeDrJobDefinition().definition as unknown as StateMachineDefinition;
  return cachedDefinition;
}

/**
 * `HeartbeatSeconds` and `TimeoutSeconds` of the RunPhase1 state, in ms (undefined when the state has none).
 * @throws LocalRunError when the definition has no RunPhase1 Task state.
 */
export function runPhase1LimitsMs(definition: StateMachineDefinition = drJobDefinition()): { heartbeat?: number; timeout?: number } {
  const state = (definition.States as Record<string, { Type?: string; HeartbeatSeconds?: unknown; TimeoutSeconds?: unknown }>).RunPhase1;
  if (state?.Type !== 'Task') throw new LocalRunError('NO_RUNPHASE1', 'the DR job definition has no RunPhase1 Task state');
  const ms = (value: unknown) => (typeof value === 'number' && value > 0 ? value * 1000 : undefined);
  return { heartbeat: ms(state.HeartbeatSeconds), timeout: ms(state.TimeoutSeconds) };
}

/** The error a timed-out task token gives to every later SendTask* call (as the Step Functions API does). */
function taskTimedOut(): Error {
  return Object.assign(new Error('Task Timed Out: the RunPhase1 callback is no longer waiting'), { name: 'TaskTimedOut' });
}

/**
 * Wraps an in-process callback with the callback state's clocks: each heartbeat restarts the heartbeat
 * timer; `expired` rejects with `States.HeartbeatTimeout` or `States.Timeout` when a limit passes, after
 * which the agent's calls are refused. `stop()` clears the timers.
 */
function watchCallback(callback: TaskCallback, limits: { heartbeat?: number; timeout?: number }, seconds: { heartbeat?: number; timeout?: number }) {
  let expired = false;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let expire!: (error: Error) => void;
  const expiry = new Promise<never>((_, reject) => {
    expire = (error) => {
      if (expired) return;
      expired = true;
      stop();
      reject(error);
    };
  });
  const describe = (ms: number, s: number | undefined, field: string) =>
    s !== undefined && s * 1000 !== ms ? `${ms / 1000} s (${field} ${s} s, scaled for this run)` : `${ms / 1000} s (${field})`;
  const armHeartbeat = () => {
    if (limits.heartbeat === undefined || expired) return;
    clearTimeout(heartbeatTimer);
    heartbeatTimer = setTimeout(
      () => expire(new TaskFailedError('States.HeartbeatTimeout', `RunPhase1: the agent sent no heartbeat for ${describe(limits.heartbeat!, seconds.heartbeat, 'HeartbeatSeconds')}`)),
      limits.heartbeat,
    );
  };
  function stop() {
    clearTimeout(heartbeatTimer);
    clearTimeout(timeoutTimer);
  }
  armHeartbeat();
  if (limits.timeout !== undefined) {
    timeoutTimer = setTimeout(
      () => expire(new TaskFailedError('States.Timeout', `RunPhase1: phase 1 did not report within ${describe(limits.timeout!, seconds.timeout, 'TimeoutSeconds')}`)),
      limits.timeout,
    );
  }
  const watched: TaskCallback = {
    async heartbeat() {
      if (expired) throw taskTimedOut();
      armHeartbeat();
      await callback.heartbeat();
    },
    async success(result) {
      if (expired) throw taskTimedOut();
      await callback.success(result);
    },
    async failure(error, cause) {
      if (expired) throw taskTimedOut();
      await callback.failure(error, cause);
    },
  };
  return { watched, expiry, stop };
}

/** The limits given, without undefined entries (so they do not hide the definition's). */
function definedLimits(limits: CallbackLimitsMs | undefined): CallbackLimitsMs {
  const out: CallbackLimitsMs = {};
  for (const key of ['heartbeat', 'timeout'] as const) {
    const value = limits?.[key];
    if (value === undefined) continue;
    if (!(value > 0)) throw new RangeError(`callbackLimitsMs.${key} must be a positive number of ms, got ${value}`);
    out[key] = value;
  }
  return out;
}

/**
 * Executes one DR job with the synthesized definition.
 * @param phase1 the agent's phase-1 work, called by the RunPhase1 override with a heartbeat function;
 *   omitted when `input.phase1` is given (hand-run job: the machine starts at ValidateSet).
 * @param archiveRetryIntervalMs wait between ArchiveSet retries (the definition says 30 min; locally shorter).
 * @param callbackLimitsMs RunPhase1's heartbeat and overall limits in ms; default the state's
 *   `HeartbeatSeconds` and `TimeoutSeconds` (tests shorten them).
 * @throws LocalRunError when the execution ends in a way the definition does not foresee; LogSkippedError when a LOG
 *   point ended in LogSkipped (another job held the phase-1 lock for the whole wait).
 */
export async function executeDrJobLocally(options: {
  input: DrJobInput;
  s3: S3Client;
  settings: Settings;
  phase1?: (heartbeat: () => Promise<void>) => Promise<Phase1Result>;
  archiveRetryIntervalMs?: number;
  callbackLimitsMs?: CallbackLimitsMs;
  archiveCopyOptions?: { multipartThresholdBytes?: number; partSizeBytes?: number };
  /** A client per phase-2 function (as each Lambda has its own role); default `s3` for all. */
  functionClients?: Partial<Record<Exclude<TaskState, 'RunPhase1'>, S3Client>>;
}): Promise<LocalExecution> {
  const { settings } = options;
  const clientOf = (state: Exclude<TaskState, 'RunPhase1'>) => options.functionClients?.[state] ?? options.s3;
  const bucket = settings.HotSite.bucket;
  const stateDurationsMs: Partial<Record<TaskState, number>> = {};
  const statesEntered: string[] = [];
  let heartbeats = 0;
  let record: JobRecord | undefined;
  const output: Record<string, unknown> = {};

  const timed =
    <I, O>(state: TaskState, fn: (input: I) => Promise<O>) =>
    async (input: I): Promise<O> => {
      statesEntered.push(state);
      const started = performance.now();
      try {
        return await fn(input);
      } finally {
        stateDurationsMs[state] = (stateDurationsMs[state] ?? 0) + Math.round(performance.now() - started);
      }
    };

  const validateSet = makeValidateSetHandler({ s3: clientOf('ValidateSet'), bucket });
  const archiveSet = makeArchiveSetHandler({ s3: clientOf('ArchiveSet'), bucket, storageClass: settings.ArchiveStorageClass, ...options.archiveCopyOptions });
  // Retention from the run's settings (the deployed function has them in its environment).
  const pruneSets = makePruneSetsHandler({
    s3: clientOf('PruneSets'),
    bucket,
    settings: {
      RetainCycles: settings.RetainCycles,
      SetLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR,
      ArchiveRetainCycles: settings.ArchiveRetainCycles,
      allowEarlyArchiveDeletion: false,
    },
  });
  // ReportJob's metrics go to the local stand-in (moto) when the run has one and metrics are on.
  const metricsEndpoint = settings.PublishMetrics ? settings.HotSite.endpoint : undefined;
  const reportJob = makeReportJobHandler({
    s3: clientOf('ReportJob'),
    bucket,
    ...(metricsEndpoint
      ? {
          metrics: {
            namespace: METRIC_NAMESPACE,
            cell: settings.Cell,
            cloudwatch: cloudWatchClient({ endpoint: metricsEndpoint, region: settings.HotSite.region }, { maxAttempts: 1 }),
          },
        }
      : {}),
  });

  const phase1Limits = runPhase1LimitsMs();
  const phase1Seconds = { heartbeat: phase1Limits.heartbeat && phase1Limits.heartbeat / 1000, timeout: phase1Limits.timeout && phase1Limits.timeout / 1000 };
  const handlers: Record<TaskState, (input: never) => Promise<unknown>> = {
    RunPhase1: timed('RunPhase1', async () => {
      if (!options.phase1) throw new LocalRunError('NO_PHASE1', 'the state machine asked for phase 1 but this run has none');
      // The callback state: the agent gets a task token, works, heart-beats, and calls back — within
      // HeartbeatSeconds of each heartbeat and TimeoutSeconds overall, or the task fails.
      const callback = inProcessTaskCallback();
      const watch = watchCallback(callback, { ...phase1Limits, ...definedLimits(options.callbackLimitsMs) }, phase1Seconds);
      runWithCallback(watch.watched, options.phase1).catch(() => undefined);
      try {
        return await Promise.race([callback.result, watch.expiry]);
      } finally {
        watch.stop();
        heartbeats = callback.heartbeats();
      }
    }),
    ValidateSet: timed('ValidateSet', async (input: never) => {
      const result = await validateSet(input);
      output.validation = result;
      return result;
    }),
    ArchiveSet: timed('ArchiveSet', async (input: never) => {
      const result = await archiveSet(input);
      output.archive = result;
      return result;
    }),
    PruneSets: timed('PruneSets', async (input: never) => {
      const result = await pruneSets(input);
      output.prune = result;
      return result;
    }),
    ReportJob: timed('ReportJob', async (input: never) => {
      try {
        record = (await reportJob(input)) as JobRecord;
      } catch (error) {
        // The hot-site refused the job record (e.g. it is down: often the very reason the job failed). The
        // local run still decides and keeps the record, so the operator sees the job's own error, not this one.
        record = decideJobRecord(reportInput(input), bucket, new Date().toISOString());
        record.events.push({
          time: new Date().toISOString(),
          level: 'warning',
          code: 'JOB_RECORD_NOT_MIRRORED',
          message: `the job record could not be written to the hot-site (jobs/): ${describeError(error)}`,
        });
      }
      return record;
    }),
  };

  const machine = new StateMachine(drJobDefinition(), { validationOptions: { checkArn: false, checkPaths: true } });
  const execution = machine.run(options.input as never, {
    overrides: {
      taskResourceLocalHandlers: handlers as never,
      retryIntervalOverrides: { ArchiveSet: options.archiveRetryIntervalMs ?? 1000 },
    },
    context: { Task: { Token: `local-${randomUUID()}` } },
  });
  let finalOutput: unknown;
  try {
    finalOutput = await execution.result;
  } catch (error) {
    // A Fail state after ReportJob is the expected end of a Failed job; anything else is unexpected.
    if (!(error instanceof ExecutionError) || !record) {
      throw new LocalRunError('LOCAL_EXECUTION_FAILED', `the local DR job execution failed: ${(error as Error).message}`, { cause: error });
    }
  }
  const skipped = (finalOutput as { skipped?: { Cause?: string } } | undefined)?.skipped;
  // A LOG point skipped while another job held the lock ends in LogSkipped: no record of its own (log-wait.ts).
  if (!record && skipped) throw new LogSkippedError(skipped.Cause ?? 'LOG point skipped: another job held the phase-1 lock');
  if (!record) throw new LocalRunError('NO_JOB_RECORD', 'the DR job ended without a job record (ReportJob did not run)');
  return { record, stateDurationsMs, statesEntered, heartbeats, output };
}
