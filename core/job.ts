/**
 * The DR backup job as the state machine sees it: its input, the phase-1 result the agent reports
 * through the task-token callback, the phase-2 results, and the job record kept in history.
 *
 * Payloads between states hold keys and summaries, never listings, so they stay far below the
 * 256 KB Step Functions payload limit whatever the SET count.
 */
import { z } from 'zod';
import { JobEventSchema, type JobEvent } from './manifest';
import { BackupType } from './set-id';
import { JobStatus } from './job-status';

const backupType = z.enum([BackupType.Full, BackupType.Differential, BackupType.Log]);
const jobStatus = z.enum([JobStatus.Completed, JobStatus.CompletedWithErrors, JobStatus.Failed, JobStatus.Killed]);

/**
 * What phase 1 reports on success (SendTaskSuccess output, or the `phase1` field of a job started by hand).
 * `status` is Completed or Completed With One or More Errors (e.g. a missing required registry key).
 */
export const Phase1ResultSchema = z.object({
  jobId: z.number().int().positive(),
  setName: z.string(),
  /** The type actually run (a DIFFERENTIAL may have been promoted to FULL). */
  backupType,
  requestedType: backupType,
  cycleId: z.number().int().positive(),
  bucket: z.string(),
  /** `sets/SET_n/` */
  setPrefix: z.string(),
  /** `sets/SET_n/manifest.json` */
  manifestKey: z.string(),
  /** Files in the SET, excluding the manifest. */
  files: z.number().int().nonnegative(),
  /** Bytes in the SET, excluding the manifest. */
  bytes: z.number().int().nonnegative(),
  /** Where the local copy went; null when the phase-1 destination was skipped. */
  phase1Destination: z.string().nullable(),
  /**
   * Whether the SET reached the hot-site (its manifest uploaded). False when the hot-site was unreachable: the SET is
   * committed only in the phase-1 destination, the job ends Completed With One or More Errors and the next job
   * re-fills the hot-site (issue 16). Absent (older agents): true.
   */
  hotSiteUploaded: z.boolean().optional(),
  integrity: z.enum(['ok', 'corrupt', 'check-failed', 'skipped']),
  /** When corrupt: what the check reported, in one bounded line (core/integrity-findings.ts). */
  integrityFindings: z.string().optional(),
  /**
   * The moment the SET restores to (ISO-8601 UTC; the manifest's `pointTime`: the consistent snapshot's end). Absent
   * (older agents): the record then states no RPO.
   */
  pointTime: z.string().optional(),
  /** Phase 1 that reports success produced a usable SET: Failed/Killed are reported as task failures instead. */
  status: z.enum([JobStatus.Completed, JobStatus.CompletedWithErrors]),
  startTime: z.string(),
  endTime: z.string(),
  /** Durations of the phase-1 steps, in ms. */
  durationsMs: z.record(z.string(), z.number()).default({}),
  events: z.array(JobEventSchema).default([]),
});
export type Phase1Result = z.infer<typeof Phase1ResultSchema>;

/** Input of the DR job state machine (from the schedule, or from an operator's hand-run job). */
export const DrJobInputSchema = z.object({
  backupType: backupType.default(BackupType.Full),
  /** Present when phase 1 already ran (job started by hand from the agent): the machine starts at phase 2. */
  phase1: Phase1ResultSchema.optional(),
});
export type DrJobInput = z.infer<typeof DrJobInputSchema>;

/** What the ValidateSet state adds (`$.validation`). */
export const ValidationResultSchema = z.object({
  files: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** How each file was checked: S3's stored checksum (no download) or a streamed re-hash. */
  checkedBy: z.object({ s3Checksum: z.number().int(), streamedHash: z.number().int() }),
});
export type ValidationResult = z.infer<typeof ValidationResultSchema>;

/** What the ArchiveSet state adds (`$.archive`). */
export const ArchiveResultSchema = z.object({
  storageClass: z.string(),
  prefix: z.string(),
  objects: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** Objects copied with multipart copy (over the 5 GiB CopyObject limit). */
  multipartCopies: z.number().int().nonnegative(),
  /**
   * LOG points archived with their cycle by this FULL/DIFFERENTIAL's archive step (SPEC §4.5): the SETs copied (first
   * 20 names, `archivedCount` exact) and those that could not be (tried again by the next job). Absent: none pending.
   */
  logPoints: z
    .object({
      archived: z.array(z.string()),
      archivedCount: z.number().int().nonnegative(),
      failed: z.array(z.object({ set: z.string(), reason: z.string() })),
    })
    .optional(),
});
export type ArchiveResult = z.infer<typeof ArchiveResultSchema>;

/** A state's caught error as Step Functions passes it (`ResultPath` of a Catch). */
export const StateErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type StateError = z.infer<typeof StateErrorSchema>;

/**
 * What the PruneSets state adds (`$.prune`; `PruneSummary` in `lambdas/prune-sets.ts`), read loosely:
 * only the fields the job record summarises are checked, the rest passes through, so a later field
 * in the summary never makes a job record fail.
 */
export const PruneResultSchema = z
  .object({
    outcome: z.enum(['pruned', 'pruned-with-errors', 'skipped']),
    planKey: z.string().nullable().optional(),
    hotSite: z
      .object({ sets: z.number(), kept: z.number(), expired: z.number(), setsDeleted: z.number(), objectsDeleted: z.number() })
      .passthrough()
      .optional(),
    archive: z
      .object({ expired: z.number(), setsDeleted: z.number(), objectsDeleted: z.number(), earlyDeletionWarnings: z.number().optional() })
      .passthrough()
      .nullable()
      .optional(),
    failedKeys: z.number().optional(),
    failureSample: z.array(z.string()).optional(),
    /** Hot-site Object Lock (issue 21 item 3), when on. */
    locks: z
      .object({ sets: z.number(), setsLocked: z.number(), failedObjects: z.number(), failureSample: z.array(z.string()).optional(), keptWhileLocked: z.number() })
      .passthrough()
      .optional(),
    reason: z.string().optional(),
  })
  .passthrough();
export type PruneResult = z.infer<typeof PruneResultSchema>;

/** Input of the ReportJob state: everything the previous states added. */
export const ReportJobInputSchema = DrJobInputSchema.extend({
  validation: ValidationResultSchema.optional(),
  archive: ArchiveResultSchema.optional(),
  /** Set by the Catch of the phase-1 or validation state. */
  error: StateErrorSchema.optional(),
  /** Set by the Catch of the archive state (after its retries). */
  archiveError: StateErrorSchema.optional(),
  /** The PruneSets summary (after a successful archive copy). */
  prune: PruneResultSchema.optional(),
  /** Set by the Catch of the PruneSets state: pruning failed, the job does not. */
  pruneError: StateErrorSchema.optional(),
});
export type ReportJobInput = z.infer<typeof ReportJobInputSchema>;

/** The history record of one job (`jobs/<jobId>.json` at the hot-site, and in the phase-1 destination). */
export const JobRecordSchema = z.object({
  jobId: z.number().int().positive().nullable(),
  setName: z.string().nullable(),
  backupType: backupType,
  requestedType: backupType,
  status: jobStatus,
  startTime: z.string().nullable(),
  endTime: z.string(),
  bytes: z.number().int().nonnegative(),
  copies: z.object({
    phase1Destination: z.string().nullable(),
    hotSite: z.string().nullable(),
    archive: z.string().nullable(),
  }),
  /** Phase-2 outcome: retention keeps SETs whose archive copy failed (SPEC §5). */
  phase2: z.enum(['archived', 'failed', 'not-run']),
  integrity: z.enum(['ok', 'corrupt', 'check-failed', 'skipped']).nullable(),
  /** When corrupt: what the check reported — pages, b-trees, indexes, first lines — in one bounded line. */
  integrityFindings: z.string().optional(),
  /**
   * The RPO when the job ended (SPEC §2, §4.5; issue 17 item 4), present when this job's SET became the newest
   * restorable point at the hot-site: that point and its age in seconds at `endTime`. Absent when the job added no
   * restorable point there (failed, hot-site copy missing, corrupt database) — the RPO is then the previous point's
   * age (`commserve-dr sets`).
   */
  rpo: z.object({ setName: z.string(), pointTime: z.string(), seconds: z.number().nonnegative() }).optional(),
  /**
   * Present when the job's end is not known: a job killed without a chance to record itself (SIGKILL, power loss),
   * recorded Killed later by the next job. `endTime` is then `lastSeenAlive` — the last time its journal was written
   * (ISO-8601 UTC); the job ended at or after it — and `foundAt` is when the next job found it dead.
   */
  endUnknown: z.object({ lastSeenAlive: z.string(), foundAt: z.string() }).optional(),
  events: z.array(JobEventSchema),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/**
 * Decides the job record from the states' results (SPEC §4.4):
 * - no phase-1 result or a validation error → Failed (no usable SET);
 * - the archive copy failed after its retries → Completed With One or More Errors, phase 2 `failed`;
 * - otherwise phase 1's own status (Completed, or Completed With One or More Errors).
 *
 * Pruning never changes the status (it is not among what makes a job "with errors"): a prune summary
 * adds an info event (`PRUNED`: counts and the plan record's key), or a warning (`PRUNE_INCOMPLETE`)
 * when some keys could not be deleted; a failed prune (`pruneError`) adds a warning (`PRUNE_FAILED`).
 * @param now ISO-8601 UTC end time.
 */
export function decideJobRecord(input: ReportJobInput, bucket: string, now: string): JobRecord {
  const p1 = input.phase1;
  const events = [...(p1?.events ?? [])];
  const base = {
    jobId: p1?.jobId ?? null,
    setName: p1?.setName ?? null,
    backupType: p1?.backupType ?? input.backupType,
    requestedType: p1?.requestedType ?? input.backupType,
    startTime: p1?.startTime ?? null,
    endTime: now,
    bytes: p1?.bytes ?? 0,
    integrity: p1?.integrity ?? null,
    ...(p1?.integrityFindings !== undefined ? { integrityFindings: p1.integrityFindings } : {}),
  };
  if (p1 && p1.hotSiteUploaded === false) {
    // Only the local copy exists: phase 2 had nothing to validate or archive (its error, if any, says so too).
    events.push({
      time: now,
      level: 'error',
      code: 'HOTSITE_NOT_UPLOADED',
      message: `the SET is only in the phase-1 destination (${p1.phase1Destination ?? 'none'}): the hot-site copy and phase 2 did not run; the next job re-fills the hot-site from it`,
    });
    return {
      ...base,
      status: JobStatus.CompletedWithErrors,
      copies: { phase1Destination: p1.phase1Destination, hotSite: null, archive: null },
      phase2: 'not-run',
      events,
    };
  }
  if (!p1 || input.error) {
    const error = input.error;
    const failed = p1 ? null : parsePhase1FailureCause(error?.Cause);
    if (failed) {
      Object.assign(base, { jobId: failed.jobId, setName: failed.setName, backupType: failed.backupType, requestedType: failed.requestedType, startTime: failed.startTime });
      events.push(...failed.events);
    }
    events.push({
      time: now,
      level: 'error',
      code: error?.Error ?? 'PHASE1_MISSING',
      message: error ? `${p1 ? 'SET validation' : 'phase 1'} failed: ${summariseCause(error.Cause)}` : 'phase 1 reported no SET',
    });
    return {
      ...base,
      status: JobStatus.Failed,
      copies: { phase1Destination: p1?.phase1Destination ?? null, hotSite: null, archive: null },
      phase2: 'not-run',
      events,
    };
  }
  const hotSite = `s3://${bucket}/${p1.setPrefix}`;
  const pruneEvent = describePrune(input, now);
  if (pruneEvent) events.push(pruneEvent);
  if (p1.backupType === BackupType.Log && !input.archive && !input.archiveError) {
    // SPEC §4.5: a LOG point is archived with its cycle, not by a phase-2 copy of its own.
    events.push({ time: now, level: 'info', code: 'LOG_ARCHIVED_WITH_CYCLE', message: 'LOG point: no archive copy of its own; it is archived and pruned with its cycle' });
    const status = p1.status === JobStatus.Completed ? JobStatus.Completed : JobStatus.CompletedWithErrors;
    const rpo = rpoAfterJob(p1, status, now);
    return {
      ...base,
      status,
      copies: { phase1Destination: p1.phase1Destination, hotSite, archive: null },
      phase2: 'not-run',
      ...(rpo ? { rpo } : {}),
      events,
    };
  }
  if (input.archiveError || !input.archive) {
    events.push({
      time: now,
      level: 'error',
      code: input.archiveError?.Error ?? 'ARCHIVE_NOT_RUN',
      message: `phase 2 archive copy failed: ${summariseCause(input.archiveError?.Cause)}`,
    });
    const rpo = rpoAfterJob(p1, JobStatus.CompletedWithErrors, now);
    return {
      ...base,
      status: JobStatus.CompletedWithErrors,
      copies: { phase1Destination: p1.phase1Destination, hotSite, archive: null },
      phase2: 'failed',
      ...(rpo ? { rpo } : {}),
      events,
    };
  }
  const logPoints = describeLogPointsArchived(input.archive, now);
  if (logPoints) events.push(logPoints);
  const status = p1.status === JobStatus.Completed ? JobStatus.Completed : JobStatus.CompletedWithErrors;
  const rpo = rpoAfterJob(p1, status, now);
  return {
    ...base,
    status,
    copies: { phase1Destination: p1.phase1Destination, hotSite, archive: `s3://${bucket}/${input.archive.prefix}` },
    phase2: 'archived',
    ...(rpo ? { rpo } : {}),
    events,
  };
}

/**
 * The RPO a finished job leaves (see `JobRecord.rpo`): its SET's point and age at `now`, when the SET reached the
 * hot-site, the job did not fail and the database was not found corrupt (a corrupt point is passed over by recovery).
 */
export function rpoAfterJob(p1: Phase1Result, status: JobStatus, now: string): JobRecord['rpo'] {
  if (!p1.pointTime || p1.hotSiteUploaded === false || status === JobStatus.Failed || p1.integrity === 'corrupt') return undefined;
  const seconds = Math.max(0, (Date.parse(now) - Date.parse(p1.pointTime)) / 1000);
  return Number.isFinite(seconds) ? { setName: p1.setName, pointTime: p1.pointTime, seconds } : undefined;
}

/**
 * The event naming the LOG points archived with this job's cycle step (info), or those that could not be (warning:
 * they stay at the hot-site and the next FULL/DIFFERENTIAL tries again; the job's status is unchanged — its own SET is
 * archived). Null when there were none.
 */
export function describeLogPointsArchived(archive: ArchiveResult, now: string): JobEvent | null {
  const lp = archive.logPoints;
  if (!lp || (lp.archivedCount === 0 && lp.failed.length === 0)) return null;
  const names = lp.archived.length < lp.archivedCount ? `${lp.archived.join(', ')} …` : lp.archived.join(', ');
  const done = lp.archivedCount > 0 ? `${lp.archivedCount} LOG point(s) archived with their cycle (${names})` : 'no LOG point archived';
  if (lp.failed.length === 0) return { time: now, level: 'info', code: 'LOG_POINTS_ARCHIVED', message: done };
  const failed = lp.failed.map((f) => `${f.set}: ${f.reason}`).join('; ');
  return { time: now, level: 'warning', code: 'LOG_POINTS_NOT_ARCHIVED', message: `${done}; not archived, tried again by the next FULL or DIFFERENTIAL: ${failed}` };
}

/** The job event summarising PruneSets' result, or null when it did not run. */
export function describePrune(input: Pick<ReportJobInput, 'prune' | 'pruneError'>, now: string): JobEvent | null {
  if (input.pruneError) {
    return {
      time: now,
      level: 'warning',
      code: 'PRUNE_FAILED',
      message: `retention not applied (${input.pruneError.Error}): ${summariseCause(input.pruneError.Cause)}; nothing was deleted unless the plan record says so, and the next job prunes again`,
    };
  }
  const prune = input.prune;
  if (!prune) return null;
  if (prune.outcome === 'skipped') {
    return { time: now, level: 'info', code: 'PRUNE_SKIPPED', message: `retention not applied: ${prune.reason ?? 'no reason given'}` };
  }
  const hot = prune.hotSite;
  const parts = [
    hot ? `hot-site: ${hot.expired} of ${hot.sets} SET(s) expired, ${hot.setsDeleted} deleted (${hot.objectsDeleted} object(s)), ${hot.kept} kept` : 'hot-site: no summary',
    prune.archive
      ? `archive: ${prune.archive.expired} expired, ${prune.archive.setsDeleted} deleted (${prune.archive.objectsDeleted} object(s))${prune.archive.earlyDeletionWarnings ? `, ${prune.archive.earlyDeletionWarnings} early-deletion warning(s)` : ''}`
      : 'archive: kept in full',
    ...(prune.locks
      ? [`Object Lock: ${prune.locks.setsLocked} of ${prune.locks.sets} kept SET(s) locked${prune.locks.keptWhileLocked ? `, ${prune.locks.keptWhileLocked} expired SET(s) kept while still locked` : ''}`]
      : []),
  ];
  const plan = prune.planKey ? `; plan ${prune.planKey}` : '';
  if ((prune.locks?.failedObjects ?? 0) > 0 && !(prune.failedKeys ?? 0)) {
    const sample = prune.locks!.failureSample?.length ? ` (e.g. ${prune.locks!.failureSample.slice(0, 3).join('; ')})` : '';
    return {
      time: now,
      level: 'warning',
      code: 'PRUNE_INCOMPLETE',
      message: `retention applied, but ${prune.locks!.failedObjects} object(s) could not be locked${sample}: ${parts.join('; ')}${plan}`,
    };
  }
  if (prune.outcome === 'pruned-with-errors' || (prune.failedKeys ?? 0) > 0) {
    const sample = prune.failureSample?.length ? ` (e.g. ${prune.failureSample.slice(0, 3).join('; ')})` : '';
    return {
      time: now,
      level: 'warning',
      code: 'PRUNE_INCOMPLETE',
      message: `retention applied with ${prune.failedKeys ?? 'some'} key(s) not deleted${sample}: ${parts.join('; ')}${plan}`,
    };
  }
  return { time: now, level: 'info', code: 'PRUNED', message: `retention applied: ${parts.join('; ')}${plan}` };
}

/** The job a failed phase 1 had started (it had an id): carried in the failure's `Cause` so its record keeps the id. */
export const Phase1FailedJobSchema = z.object({
  jobId: z.number().int().positive(),
  setName: z.string(),
  backupType,
  requestedType: backupType,
  startTime: z.string(),
  events: z.array(JobEventSchema).default([]),
});
export type Phase1FailedJob = z.infer<typeof Phase1FailedJobSchema>;

/** Step Functions' limit on a task failure's `Cause` (characters). */
export const MAX_TASK_CAUSE_CHARS = 32_768;

/**
 * The `Cause` phase 1 reports with SendTaskFailure: the message alone, or — once the job had an id — a JSON document
 * `{ message, job }` that ReportJob reads back ({@link parsePhase1FailureCause}) so the Failed record keeps the job id,
 * SET name, start and events. Events are dropped (oldest first) to stay within {@link MAX_TASK_CAUSE_CHARS}.
 */
export function encodePhase1FailureCause(message: string, job: Phase1FailedJob | null): string {
  if (!job) return message;
  const events = [...job.events];
  for (;;) {
    const text = JSON.stringify({ message, job: { ...job, events } });
    if (text.length <= MAX_TASK_CAUSE_CHARS || events.length === 0) return text.length <= MAX_TASK_CAUSE_CHARS ? text : message.slice(0, MAX_TASK_CAUSE_CHARS);
    events.shift();
  }
}

/** The failed job carried by a phase-1 `Cause` ({@link encodePhase1FailureCause}), or null (a plain message). */
export function parsePhase1FailureCause(cause: string | undefined): Phase1FailedJob | null {
  if (!cause?.startsWith('{')) return null;
  try {
    const parsed = Phase1FailedJobSchema.safeParse((JSON.parse(cause) as { job?: unknown }).job);
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Step Functions puts a JSON `{errorMessage, errorType}` in `Cause` for Lambda errors: keep the message. */
function summariseCause(cause: string | undefined): string {
  if (!cause) return 'no detail';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown; message?: unknown };
    const message = parsed.errorMessage ?? parsed.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: use as is
  }
  return cause.length > 500 ? `${cause.slice(0, 500)}…` : cause;
}
