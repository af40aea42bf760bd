/**
 * PruneSets — phase 2, step 3 (SPEC §4.3, §5): applies hot-site (and archive) retention after the
 * job's SET was validated and archived, before ReportJob.
 *
 * Plan → lock → record → delete: lists `sets/` (ListObjectsV2, paginated), reads new SETs' manifests and
 * `jobs/<id>.json` records (the previous plan record is the index of the rest), plans with
 * `core/retention.ts`, locks the kept SETs when hot-site Object Lock is on (`core/set-locks.ts`: until their cycle
 * can expire, a FULL at least as long as its DIFFERENTIALs and LOG points; `shared/prune-locks.ts`), writes the plan
 * to `prune/<jobId>.json`, then deletes with DeleteObjects in batches of ≤ 1,000 keys. Per-key `Errors` in a 200
 * response are retried, then reported. With Object Lock enabled on the bucket (hot-site or archive), a SET the rules
 * expire whose objects are still locked is kept (`object-locked`, with its date) instead of being hidden behind
 * delete markers.
 *
 * The job's own SET has no job record yet (ReportJob comes after): its status is taken from the
 * phase-1 result (Completed / Completed With One or More Errors, or the latter with phase 2 `failed`
 * when `archiveError` is present), so it counts.
 *
 * Input: the DR job state (`DrJobInput` with `phase1`; `archive`/`archiveError`/`error` read when
 * present). Output: {@link PruneSummary} — counts and the plan key, never the listing.
 * Environment: `HOT_SITE_BUCKET`, `RETAIN_CYCLES`, `SET_LIFESPAN_FOR_FAILED_DR_DAYS`,
 * `ARCHIVE_RETAIN_CYCLES`, `ALLOW_EARLY_ARCHIVE_DELETION`, `SETS_OBJECT_LOCK_MODE`, `OBJECT_LOCK_ENABLED`
 * (see `shared/prune-env.ts`); the retention
 * settings in Parameter Store (`SETTINGS_PREFIX`, read at cold start) override the first three.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { JobStatus } from '#core/job-status';
import { Phase1ResultSchema } from '#core/job';
import { hotSiteBucketFromEnv } from './shared/env';
import { InvalidInputError } from './shared/errors';
import { describeIssues } from './shared/input';
import { jsonLog, silentLog, type Log } from './shared/log';
import { loadPruneSettings, pruneLocksFromEnv, type PruneSettings } from './shared/prune-env';
import { pruneRecordKey, type ExpectedStatus, type RequestCounter } from './shared/prune-io';
import { applyPrune, lockKeptSets, planPrune, type PruneLockOptions } from './shared/prune-run';
import { s3ClientFromEnv } from './shared/s3';
import { lazyHandlerWithSettings } from './shared/settings';

/** Name of the state this handler serves. */
export const STATE_NAME = 'PruneSets';

/** Dependencies of the PruneSets handler. */
export interface PruneSetsDeps {
  s3: S3Client;
  bucket: string;
  settings: PruneSettings;
  /** Clock; default `() => new Date()`. */
  now?: () => Date;
  /** Attempts per key for DeleteObjects failures (default 3) and the first wait in ms (default 200). */
  deleteAttempts?: number;
  retryDelayMs?: number;
  /** Object Lock handling (look up locks before expiring; lock the kept `sets/` objects); default neither. */
  locks?: PruneLockOptions;
  /** The real time in ms for lock bookkeeping (`lockCheckedAt`); default `Date.now`. `now` is the planning time. */
  wallClock?: () => number;
  log?: Log;
}

/** What PruneSets returns (`$.prune`): small whatever the SET count. */
export interface PruneSummary {
  /** `pruned`, `pruned-with-errors` (some keys could not be deleted), or `skipped` (the job produced no SET to prune after). */
  outcome: 'pruned' | 'pruned-with-errors' | 'skipped';
  jobId: number | null;
  /** Key of the plan record, when one was written. */
  planKey: string | null;
  hotSite: { sets: number; kept: number; expired: number; setsDeleted: number; objectsDeleted: number; foreignKeys: number };
  archive: { sets: number; kept: number; expired: number; setsDeleted: number; objectsDeleted: number; earlyDeletionWarnings: number } | null;
  /**
   * Hot-site Object Lock, when on: SETs planned to be locked and locked, objects whose retention was extended,
   * objects that could not be locked (with a sample), and expired SETs kept because still locked.
   */
  locks?: { sets: number; setsLocked: number; objectsExtended: number; failedObjects: number; failureSample: string[]; keptWhileLocked: number };
  /** Keys not deleted after retries. */
  failedKeys: number;
  /** At most 5 failures, `key: code message`. */
  failureSample: string[];
  /** S3 requests by operation. */
  requests: RequestCounter;
  /** Why nothing was done, when `skipped`. */
  reason?: string;
}

/** The fields PruneSets reads from the DR job state; everything else passes through untouched. */
const PruneInputSchema = z
  .object({
    phase1: Phase1ResultSchema.pick({ jobId: true, setName: true, status: true, bucket: true }).optional(),
    archive: z.unknown().optional(),
    archiveError: z.unknown().optional(),
    error: z.unknown().optional(),
  })
  .loose();

/**
 * Builds the PruneSets handler.
 * @throws InvalidInputError when the event is not an object with a valid `phase1` (when present);
 *   PruneError (`LIST_FAILED`, `READ_FAILED`, `PLAN_FAILED`, `RECORD_WRITE_FAILED`) when the plan
 *   cannot be made or recorded — nothing is deleted then.
 */
export function makePruneSetsHandler(deps: PruneSetsDeps): (event: unknown) => Promise<PruneSummary> {
  const { s3, bucket, settings, now = () => new Date(), log = silentLog } = deps;
  return async (event) => {
    const parsed = PruneInputSchema.safeParse(event);
    if (!parsed.success) throw new InvalidInputError(`${STATE_NAME} input is invalid: ${describeIssues(parsed.error)}`);
    const input = parsed.data;
    const requests: RequestCounter = {};
    const skipped = (reason: string): PruneSummary => {
      log({ level: 'info', message: `prune skipped: ${reason}` });
      return {
        outcome: 'skipped',
        jobId: input.phase1?.jobId ?? null,
        planKey: null,
        hotSite: { sets: 0, kept: 0, expired: 0, setsDeleted: 0, objectsDeleted: 0, foreignKeys: 0 },
        archive: null,
        failedKeys: 0,
        failureSample: [],
        requests,
        reason,
      };
    };
    // SPEC §5: SETs are expired after each *successful* job.
    if (!input.phase1) return skipped('phase 1 reported no SET: retention is applied after a successful job only');
    if (input.error !== undefined) return skipped('the SET failed validation: retention is applied after a successful job only');
    const { jobId } = input.phase1;
    if (input.phase1.bucket !== bucket) {
      throw new InvalidInputError(`${STATE_NAME}: phase 1 uploaded to bucket ${input.phase1.bucket}, but this function serves ${bucket}`);
    }
    const archiveFailed = input.archiveError !== undefined;
    const expected: ExpectedStatus = {
      status: archiveFailed ? JobStatus.CompletedWithErrors : input.phase1.status,
      phase2: archiveFailed ? 'failed' : input.archive !== undefined ? 'archived' : 'unknown',
    };

    const prepared = await planPrune(s3, bucket, {
      settings,
      now: now(),
      jobId,
      dryRun: false,
      expected: new Map([[jobId, expected]]),
      locks: deps.locks,
      counter: requests,
    });
    const lockOutcome = await lockKeptSets(s3, bucket, prepared, requests, deps.wallClock);
    const planKey = pruneRecordKey(jobId);
    const outcome = await applyPrune(s3, bucket, prepared, planKey, {
      attempts: deps.deleteAttempts,
      retryDelayMs: deps.retryDelayMs,
      counter: requests,
    });
    const { hotSite, archive } = prepared.document;
    const keptWhileLocked = [...hotSite.decisions, ...(archive?.decisions ?? [])].filter((d) => d.code === 'object-locked').length;
    const summary: PruneSummary = {
      outcome: outcome.failedCount > 0 || (lockOutcome?.failedCount ?? 0) > 0 ? 'pruned-with-errors' : 'pruned',
      jobId,
      planKey,
      hotSite: {
        sets: hotSite.decisions.length,
        kept: hotSite.keep.length,
        expired: hotSite.expire.length,
        setsDeleted: outcome.hotSite.setsDeleted.length,
        objectsDeleted: outcome.hotSite.objectsDeleted,
        foreignKeys: hotSite.foreignKeys,
      },
      archive: archive
        ? {
            sets: archive.decisions.length,
            kept: archive.keep.length,
            expired: archive.expire.length,
            setsDeleted: outcome.archive?.setsDeleted.length ?? 0,
            objectsDeleted: outcome.archive?.objectsDeleted ?? 0,
            earlyDeletionWarnings: archive.warnings.length,
          }
        : null,
      ...(lockOutcome || keptWhileLocked > 0
        ? {
            locks: {
              sets: lockOutcome?.sets ?? 0,
              setsLocked: lockOutcome?.setsLocked ?? 0,
              objectsExtended: lockOutcome?.objectsExtended ?? 0,
              failedObjects: lockOutcome?.failedCount ?? 0,
              failureSample: (lockOutcome?.failures ?? []).slice(0, 5).map((f) => `${f.code} ${f.message}`),
              keptWhileLocked,
            },
          }
        : {}),
      failedKeys: outcome.failedCount,
      failureSample: outcome.failures.slice(0, 5).map((f) => `${f.key}: ${f.code} ${f.message}`),
      requests,
    };
    for (const warning of archive?.warnings ?? []) log({ level: 'warn', message: warning });
    for (const failure of outcome.failures) log({ level: 'error', message: `cannot delete ${failure.key}: ${failure.code} ${failure.message}` });
    for (const failure of lockOutcome?.failures ?? []) log({ level: 'error', message: failure.message, code: failure.code });
    for (const d of [...hotSite.decisions, ...(archive?.decisions ?? [])]) if (d.code === 'object-locked') log({ level: 'info', message: `${d.setName} not expired yet: ${d.reason}` });
    log({ level: outcome.failedCount > 0 ? 'error' : 'info', message: `prune after job ${jobId}: ${summary.outcome}`, ...summary });
    return summary;
  };
}

/**
 * The Lambda entry point: `makePruneSetsHandler` over an S3 client from the Lambda environment, built
 * (and validated) on the first invocation. Retention: the parameters `RetainCycles`,
 * `SetLifeSpanForFailedDR` and `ArchiveRetainCycles` under `SETTINGS_PREFIX` (read at cold start) where
 * present, else the environment's deploy-time values.
 * @throws EnvironmentError naming a missing or invalid variable; SettingsParameterError naming an
 *   invalid or unreadable parameter.
 */
export const handler = lazyHandlerWithSettings(async () => {
  const bucket = hotSiteBucketFromEnv();
  const { settings, sources } = await loadPruneSettings();
  const log = jsonLog(STATE_NAME);
  log({ level: 'info', message: 'retention settings', settings, sources });
  return makePruneSetsHandler({ s3: s3ClientFromEnv(), bucket, settings, locks: pruneLocksFromEnv(), log });
});
