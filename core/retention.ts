/**
 * Retention planner (SPEC §5): which SETs to keep and which to expire, with a reason for each.
 * Pure: no I/O. The prune Lambda and `commserve-dr prune` gather the input, record the plan, then
 * delete (plan → record → delete, as pgBackRest's expire does).
 *
 * Rules, in the order they decide (the first that applies gives the verdict, then the protections
 * below override any `expire`):
 * 1. Cycles come from {@link buildCycles}. A cycle **counts** towards `RetainCycles` only when it is
 *    complete and successful (a failed last DIFFERENTIAL means it cannot be restored to its end point).
 *    The newest `RetainCycles` counting cycles are kept; the FULL of the oldest of them is the
 *    **boundary**. When fewer counting cycles exist than `RetainCycles`, there is no boundary and no
 *    SET is expired for its age in cycles (only rule 3 can expire then).
 * 2. The current open cycle (its FULL and every DIFFERENTIAL of it) is always kept.
 * 3. An incomplete SET (no manifest) is kept while its upload may still be running (status `Running`)
 *    and for `SetLifeSpanForFailedDR` days after its newest object was written; after that it is
 *    expired wherever it is (it is never restorable, so nothing depends on it) — except when it is the
 *    last DIFFERENTIAL of a kept cycle: it is what records that the cycle cannot be restored to its
 *    end point, and removing it would make that cycle count (and the next plan expire more).
 * 4. A SET at or after the boundary (job id ≥ the boundary's) is kept: within retention.
 * 5. A SET before the boundary whose phase-2 copy failed (or whose job ended Completed With One or More Errors with
 *    its phase-2 result unknown) is kept for `SetLifeSpanForFailedDR` days
 *    after its job ended, and expired at the first plan after that.
 * 6. Any other SET before the boundary is expired.
 *
 * Protections (override `expire`, never `keep`):
 * - a SET whose objects are still under S3 Object Lock (`lock.retainUntil` after `now`) is not expired yet
 *   (`object-locked`); the dependency protections below then keep what it needs (its FULL, its LOG chain);
 * - the newest restorable point (its FULL and DIFFERENTIAL) is never expired;
 * - a SET whose job is still running (`Running`) is never expired (its upload may be in progress);
 * - the FULL of a kept DIFFERENTIAL (named by its manifest's cycle id, or the cycle it was placed in)
 *   is never expired.
 *
 * Keys that are not SETs of this product never reach the planner: the caller filters them with
 * `parseSetObjectKey` and reports them as untouched.
 *
 * Idempotent: planning again over the kept SETs with the same `now` expires nothing more (the
 * counting cycles at or after the boundary are untouched, so the boundary does not move).
 */
import { buildCycles, incompleteWhy, RUNNING, type Cycle, type SetStatus, type SetSummary } from './cycles';
import { CommserveDrError } from './errors';
import { ARCHIVE_MINIMUM_DAYS, type ArchiveStorageClass } from './settings';
import { BackupType } from './set-id';
import { JobStatus } from './job-status';

/** Milliseconds in a day (retention durations are whole days of 24 h, not calendar days). */
export const DAY_MS = 86_400_000;

/** Defaults of the retention settings (SPEC §9). */
export const RETENTION_DEFAULTS = { RetainCycles: 5, SetLifeSpanForFailedDR: 90 } as const;

/** The phase-2 (archive copy) outcome of a SET's job, from its job record; `unknown` without a record. */
export type Phase2Outcome = 'archived' | 'failed' | 'not-run' | 'unknown';

/** One SET as the planner sees it. */
export interface RetentionSetInput {
  /** Type, status, completeness, cycle id and end time (from the manifest and the job record). */
  readonly summary: SetSummary;
  /** Phase-2 outcome from the job record; default `unknown`. */
  readonly phase2?: Phase2Outcome;
  /**
   * When the newest object of the SET was written (ISO-8601; S3 `LastModified` or file mtime). The age
   * of an incomplete SET, and of a complete one without an end time.
   */
  readonly lastModified?: string;
  /**
   * The S3 Object Lock found on the SET's current object versions (issue 21 item 3), when it was looked up: the
   * latest `RetainUntilDate` among them (ISO-8601) and its mode. A SET still locked at `now` is never expired (see
   * {@link planRetention}).
   */
  readonly lock?: SetObjectLock;
}

/** The Object Lock retention of a SET's objects: the latest retain-until date among them, and its mode. */
export interface SetObjectLock {
  /** ISO-8601: the latest `RetainUntilDate` of the SET's current object versions. */
  readonly retainUntil: string;
  /** `GOVERNANCE` or `COMPLIANCE` (S3 Object Lock modes). */
  readonly mode: string;
}

/** The retention settings the planner uses (SPEC §9). */
export interface RetentionSettings {
  /** Successful complete cycles kept (≥ 1). */
  readonly RetainCycles: number;
  /** Days an incomplete SET or a SET whose phase-2 copy failed is kept (≥ 1). */
  readonly SetLifeSpanForFailedDR: number;
}

/** Input of {@link planRetention}. */
export interface RetentionInput {
  /** Every SET of the area (hot-site `sets/`, or `archive/`), in any order. */
  readonly sets: readonly RetentionSetInput[];
  /** Missing values take {@link RETENTION_DEFAULTS}. */
  readonly settings?: Partial<RetentionSettings>;
  /** The planning time (a `Date`, ISO-8601 text, or ms since the epoch). */
  readonly now: Date | string | number;
}

/** The verdict on one SET. */
export type RetentionAction = 'keep' | 'expire';

/** Stable code of the rule that decided a verdict (the plan record and `--json` carry it). */
export type RetentionCode =
  | 'newest-restorable-point'
  | 'in-progress'
  | 'open-cycle'
  | 'within-retention'
  | 'fewer-cycles-than-retained'
  | 'full-of-kept-differential'
  | 'incomplete-within-lifespan'
  | 'incomplete-age-unknown'
  | 'incomplete-past-lifespan'
  | 'last-differential-of-kept-cycle'
  | 'phase2-failed-within-lifespan'
  | 'phase2-failed-past-lifespan'
  | 'older-than-retention'
  /**
   * An unsuccessful FULL followed by kept SETs that have no cycle id: it is what places them outside the cycle before
   * it; expiring it first would move them into that cycle and change the next plan (planning must be idempotent).
   */
  | 'places-kept-sets'
  /** A LOG point whose cycle's FULL is gone (an orphan): it can never be rebuilt, so it is not kept (SPEC §5). */
  | 'log-without-base'
  /** A SET a kept LOG point's chain runs through (its predecessor, recursively, down to the FULL). */
  | 'base-of-kept-log'
  /**
   * Expired by the rules, but its objects are still under S3 Object Lock: a delete (no version id) would only hide
   * them behind delete markers while the locked versions stay, billed, until the retention ends. The first plan after
   * that date expires it.
   */
  | 'object-locked'
  /** Archive only: expired by the count, but an object is younger than its class's minimum duration. */
  | 'early-deletion-skipped'
  /** Archive only: `ArchiveRetainCycles` is not set. */
  | 'archive-keeps-everything';

/** The verdict on one SET and why. */
export interface RetentionDecision {
  readonly jobId: number;
  readonly setName: string;
  readonly backupType: BackupType;
  readonly status: SetStatus;
  readonly complete: boolean;
  readonly phase2: Phase2Outcome;
  /** The cycle the SET belongs to (its FULL's job id), when it belongs to one. */
  readonly cycleId?: number;
  /** Age in days (fractional) used by the lifespan rules, when known. */
  readonly ageDays?: number;
  readonly action: RetentionAction;
  readonly code: RetentionCode;
  /** One sentence for an operator. */
  readonly reason: string;
}

/** The result of {@link planRetention}. */
export interface RetentionPlan {
  /** The planning time, ISO-8601 UTC. */
  readonly now: string;
  readonly settings: RetentionSettings;
  /** One decision per input SET, by job id. */
  readonly decisions: readonly RetentionDecision[];
  /** Job ids kept / expired, ascending. */
  readonly keep: readonly number[];
  readonly expire: readonly number[];
  /** Cycle ids of every complete successful cycle (those that count), oldest first. */
  readonly countingCycles: readonly number[];
  /** Cycle ids of the counting cycles retained (at most `RetainCycles`, the newest). */
  readonly retainedCycles: readonly number[];
  /** Job id of the FULL of the oldest retained cycle when there are `RetainCycles` of them; null otherwise. */
  readonly boundary: number | null;
  readonly openCycleId: number | null;
  /** The newest restorable point: the SET names to restore. */
  readonly newestRestorablePoint: { readonly jobId: number; readonly sets: readonly string[] } | null;
}

/** The planner's input is invalid (bad settings, time or date). Code `RETENTION_INPUT_INVALID`. */
export class RetentionInputError extends CommserveDrError {
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super('RETENTION_INPUT_INVALID', message, options);
  }
}

/** `now` as ms since the epoch. @throws RetentionInputError when it is not a valid time. */
export function toEpochMs(now: Date | string | number, what = 'now'): number {
  const ms = now instanceof Date ? now.getTime() : typeof now === 'number' ? now : Date.parse(now);
  if (!Number.isFinite(ms)) throw new RetentionInputError(`${what} is not a valid time: ${String(now)}`);
  return ms;
}

function resolveSettings(settings: Partial<RetentionSettings> | undefined): RetentionSettings {
  const resolved = { ...RETENTION_DEFAULTS, ...Object.fromEntries(Object.entries(settings ?? {}).filter(([, v]) => v !== undefined)) } as RetentionSettings;
  for (const name of ['RetainCycles', 'SetLifeSpanForFailedDR'] as const) {
    const value = resolved[name];
    if (!Number.isSafeInteger(value) || value < 1) throw new RetentionInputError(`${name} must be an integer ≥ 1, got ${String(value)}`);
  }
  return resolved;
}

const round1 = (days: number): number => Math.round(days * 10) / 10;
const fmtDays = (days: number): string => `${round1(days)} day${round1(days) === 1 ? '' : 's'}`;

/** The time a SET's age is counted from for the lifespan rules: the newest object for an incomplete SET, else the job's end. */
function ageOf(input: RetentionSetInput, nowMs: number): number | undefined {
  const { summary } = input;
  const candidates = summary.complete ? [summary.endTime, input.lastModified] : [input.lastModified, summary.endTime];
  for (const text of candidates) {
    if (text === undefined) continue;
    const ms = Date.parse(text);
    if (!Number.isFinite(ms)) throw new RetentionInputError(`${summary.setName}: invalid date ${JSON.stringify(text)}`);
    return Math.max(0, nowMs - ms) / DAY_MS;
  }
  return undefined;
}

/**
 * Plans hot-site retention (SPEC §5): for every SET, `keep` or `expire` with the rule's code and a
 * reason. See the module comment for the rules and their order.
 * @param input SETs (any order), settings (`RetainCycles` default 5, `SetLifeSpanForFailedDR` default
 *   90 days), and `now`.
 * @throws RetentionInputError for invalid settings, `now` or dates; CycleInputError (from
 *   `buildCycles`) for duplicate job ids or inconsistent SET summaries.
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  const settings = resolveSettings(input.settings);
  const nowMs = toEpochMs(input.now);
  const lifespan = settings.SetLifeSpanForFailedDR;
  const report = buildCycles(input.sets.map((s) => s.summary));
  const byJob = new Map(input.sets.map((s) => [s.summary.jobId, s]));

  const cycleOf = new Map<number, Cycle>();
  for (const c of report.cycles) for (const s of [c.full, ...c.differentials, ...c.logs]) cycleOf.set(s.jobId, c);

  const counting = report.cycles.filter((c) => c.complete && c.successful);
  const retained = counting.slice(-settings.RetainCycles);
  const boundary = counting.length >= settings.RetainCycles ? retained[0].cycleId : null;
  const open = report.openCycle;
  const retainedNames = retained.map((c) => c.full.setName).join(', ');

  type Draft = { action: RetentionAction; code: RetentionCode; reason: string; ageDays?: number };
  const drafts = new Map<number, Draft>();

  for (const item of [...input.sets].sort((a, b) => a.summary.jobId - b.summary.jobId)) {
    const s = item.summary;
    const cycle = cycleOf.get(s.jobId);
    const age = ageOf(item, nowMs);
    const withAge = (d: Draft): Draft => (age === undefined ? d : { ...d, ageDays: round1(age) });
    const phase2 = item.phase2 ?? 'unknown';

    if (s.status === RUNNING) {
      drafts.set(s.jobId, withAge({ action: 'keep', code: 'in-progress', reason: `its job is still running (${s.complete ? 'no final status yet' : 'its upload may be in progress'})` }));
      continue;
    }
    if (open && cycle === open) {
      drafts.set(s.jobId, withAge({ action: 'keep', code: 'open-cycle', reason: `in the current open cycle ${open.full.setName}: always kept` }));
      continue;
    }
    if (!s.complete) {
      if (age === undefined) {
        drafts.set(s.jobId, { action: 'keep', code: 'incomplete-age-unknown', reason: `incomplete (${incompleteWhy(s)}) and its age is unknown: kept` });
      } else if (age < lifespan) {
        drafts.set(s.jobId, withAge({
          action: 'keep',
          code: 'incomplete-within-lifespan',
          reason: `incomplete (${incompleteWhy(s)}; job ${s.status}), last written ${fmtDays(age)} ago: kept for ${lifespan} days (SetLifeSpanForFailedDR)`,
        }));
      } else {
        drafts.set(s.jobId, withAge({
          action: 'expire',
          code: 'incomplete-past-lifespan',
          reason: `incomplete (${incompleteWhy(s)}; job ${s.status}), last written ${fmtDays(age)} ago, past the ${lifespan}-day SetLifeSpanForFailedDR`,
        }));
      }
      continue;
    }
    if (s.backupType === BackupType.Log && !cycle) {
      drafts.set(s.jobId, withAge({
        action: 'expire',
        code: 'log-without-base',
        reason: `LOG point whose cycle's FULL ${s.cycleId === undefined ? '' : `SET ${s.cycleId} `}is gone or never succeeded: it can never be rebuilt`,
      }));
      continue;
    }
    if (boundary === null) {
      drafts.set(s.jobId, withAge({
        action: 'keep',
        code: 'fewer-cycles-than-retained',
        reason: `only ${counting.length} successful complete cycle${counting.length === 1 ? '' : 's'} exist${counting.length === 1 ? 's' : ''}, RetainCycles is ${settings.RetainCycles}: nothing is old enough to expire`,
      }));
      continue;
    }
    if (s.jobId >= boundary) {
      const where = cycle && retained.includes(cycle) ? `in retained cycle ${cycle.full.setName}` : `not older than the oldest retained cycle ${byJob.get(boundary)!.summary.setName}`;
      drafts.set(s.jobId, withAge({ action: 'keep', code: 'within-retention', reason: `${where} (RetainCycles ${settings.RetainCycles}: ${retainedNames})` }));
      continue;
    }
    const boundaryName = byJob.get(boundary)!.summary.setName;
    // SPEC §5: a job that ended Completed With One or More Errors is kept the lifespan even when its phase-2 result is unknown.
    const phase2Suspect = phase2 === 'failed' || (phase2 === 'unknown' && s.status === JobStatus.CompletedWithErrors);
    if (phase2Suspect) {
      const what = phase2 === 'failed' ? 'its phase-2 copy failed' : 'its job ended Completed With One or More Errors and its phase-2 result is unknown';
      if (age === undefined || age < lifespan) {
        drafts.set(s.jobId, withAge({
          action: 'keep',
          code: 'phase2-failed-within-lifespan',
          reason: `older than the oldest retained cycle ${boundaryName}, but ${what}: kept for ${lifespan} days (SetLifeSpanForFailedDR)${age === undefined ? ', age unknown' : `, now ${fmtDays(age)} old`}`,
        }));
      } else {
        drafts.set(s.jobId, withAge({
          action: 'expire',
          code: 'phase2-failed-past-lifespan',
          reason: `older than the oldest retained cycle ${boundaryName}; ${what} and it is ${fmtDays(age)} old, past the ${lifespan}-day SetLifeSpanForFailedDR`,
        }));
      }
      continue;
    }
    const what = cycle ? `of cycle ${cycle.full.setName}` : 'belongs to no cycle';
    drafts.set(s.jobId, withAge({
      action: 'expire',
      code: 'older-than-retention',
      reason: `${what}, older than the oldest retained cycle ${boundaryName} (RetainCycles ${settings.RetainCycles}: ${retainedNames})`,
    }));
  }

  // Protections: they only turn `expire` into `keep`.
  const protect = (jobId: number, code: RetentionCode, reason: string): void => {
    const d = drafts.get(jobId);
    if (d && d.action === 'expire') drafts.set(jobId, { ...d, action: 'keep', code, reason });
  };
  for (const item of input.sets) {
    if (item.summary.status === RUNNING) protect(item.summary.jobId, 'in-progress', 'its job is still running: its upload may be in progress');
  }
  for (const item of input.sets) {
    const lock = item.lock;
    if (!lock) continue;
    const until = toEpochMs(lock.retainUntil, `${item.summary.setName} Object Lock retain-until date`);
    if (until <= nowMs) continue;
    const d = drafts.get(item.summary.jobId);
    if (d?.action !== 'expire') continue;
    protect(
      item.summary.jobId,
      'object-locked',
      `${d.reason}; but its objects are under Object Lock (${lock.mode}) until ${new Date(until).toISOString()}: deleting them now would only hide them behind delete markers while the locked versions stay until then, so the first prune after that date removes it`,
    );
  }
  const point = report.newestRestorablePoint;
  if (point) {
    const names = point.sets.map((s) => s.setName).join(' + ');
    for (const s of point.sets) protect(s.jobId, 'newest-restorable-point', `part of the newest restorable point (${names})`);
  }
  // A failed or incomplete last DIFFERENTIAL of a kept cycle stays: it makes the cycle not count.
  for (const c of report.cycles) {
    const last = c.lastDifferential;
    if (last && drafts.get(c.full.jobId)?.action === 'keep' && drafts.get(last.jobId)?.code === 'incomplete-past-lifespan') {
      protect(last.jobId, 'last-differential-of-kept-cycle', `the last DIFFERENTIAL of kept cycle ${c.full.setName}: it records that the cycle cannot be restored to its end point`);
    }
  }
  // The FULL of every kept DIFFERENTIAL (in job order, so the reason names the oldest such DIFFERENTIAL whatever the input order).
  for (const item of [...input.sets].sort((a, b) => a.summary.jobId - b.summary.jobId)) {
    const s = item.summary;
    if (s.backupType !== BackupType.Differential || drafts.get(s.jobId)?.action !== 'keep') continue;
    const fullId = s.cycleId ?? cycleOf.get(s.jobId)?.cycleId;
    if (fullId !== undefined) protect(fullId, 'full-of-kept-differential', `the FULL of kept DIFFERENTIAL ${s.setName}, which depends on it`);
  }

  // The chain of every kept LOG point (newest first, so a protected predecessor protects its own chain in turn).
  for (const item of [...input.sets].sort((a, b) => b.summary.jobId - a.summary.jobId)) {
    const s = item.summary;
    if (s.backupType !== BackupType.Log || drafts.get(s.jobId)?.action !== 'keep') continue;
    const cycle = cycleOf.get(s.jobId);
    if (!cycle) continue;
    if (s.previousJobId !== undefined) protect(s.previousJobId, 'base-of-kept-log', `the predecessor of kept LOG ${s.setName}, whose chain runs through it`);
    protect(cycle.full.jobId, 'base-of-kept-log', `the FULL of kept LOG ${s.setName}, whose chain starts from it`);
  }
  // A DIFFERENTIAL kept for a LOG chain needs its FULL too.
  for (const item of input.sets) {
    const s = item.summary;
    if (s.backupType === BackupType.Differential && drafts.get(s.jobId)?.code === 'base-of-kept-log') {
      const fullId = s.cycleId ?? cycleOf.get(s.jobId)?.cycleId;
      if (fullId !== undefined) protect(fullId, 'full-of-kept-differential', `the FULL of kept DIFFERENTIAL ${s.setName}, which depends on it`);
    }
  }

  // An unsuccessful FULL stays while a kept SET with no cycle id follows it (an orphan `after-unsuccessful-full`): it
  // is what keeps that SET out of the cycle before it. Last, once every other protection has decided what is kept.
  for (const orphan of report.orphans) {
    if (orphan.code !== 'after-unsuccessful-full' || drafts.get(orphan.set.jobId)?.action !== 'keep') continue;
    const full = input.sets
      .map((i) => i.summary)
      .filter((f) => f.backupType === BackupType.Full && f.jobId < orphan.set.jobId)
      .reduce<SetSummary | undefined>((a, b) => (a === undefined || b.jobId > a.jobId ? b : a), undefined);
    if (full) protect(full.jobId, 'places-kept-sets', `the FULL before kept ${orphan.set.backupType} ${orphan.set.setName} (no cycle id): without it that SET would count in the cycle before`);
  }

  const decisions: RetentionDecision[] = [...input.sets]
    .sort((a, b) => a.summary.jobId - b.summary.jobId)
    .map((item) => {
      const s = item.summary;
      const d = drafts.get(s.jobId)!;
      const cycle = cycleOf.get(s.jobId);
      return {
        jobId: s.jobId,
        setName: s.setName,
        backupType: s.backupType,
        status: s.status,
        complete: s.complete,
        phase2: item.phase2 ?? 'unknown',
        ...(cycle ? { cycleId: cycle.cycleId } : {}),
        ...(d.ageDays !== undefined ? { ageDays: d.ageDays } : {}),
        action: d.action,
        code: d.code,
        reason: d.reason,
      };
    });

  return {
    now: new Date(nowMs).toISOString(),
    settings,
    decisions,
    keep: decisions.filter((d) => d.action === 'keep').map((d) => d.jobId),
    expire: decisions.filter((d) => d.action === 'expire').map((d) => d.jobId),
    countingCycles: counting.map((c) => c.cycleId),
    retainedCycles: retained.map((c) => c.cycleId),
    boundary,
    openCycleId: open?.cycleId ?? null,
    newestRestorablePoint: point ? { jobId: point.jobId, sets: point.sets.map((s) => s.setName) } : null,
  };
}

/** One object of an archive copy: what the early-deletion check needs. */
export interface ArchiveObjectInfo {
  readonly key: string;
  /** ISO-8601 `LastModified`; an object without one is taken as too young to delete cheaply. */
  readonly lastModified?: string;
  /** S3 storage class; classes without a minimum duration (STANDARD…) never warn. */
  readonly storageClass?: string;
}

/** An archive copy of a SET (`archive/SET_n/`) with its objects. */
export interface ArchiveSetInput extends RetentionSetInput {
  readonly objects: readonly ArchiveObjectInfo[];
}

/** Input of {@link planArchiveRetention}. */
export interface ArchiveRetentionInput {
  readonly sets: readonly ArchiveSetInput[];
  /** Cycles kept in the archive; null keeps everything (the default, SPEC §4.3). */
  readonly archiveRetainCycles: number | null;
  /** Days an incomplete archive copy is kept (default 90). */
  readonly setLifeSpanForFailedDR?: number;
  readonly now: Date | string | number;
  /** Delete archive objects younger than their class's minimum duration anyway (they are charged as if kept). */
  readonly allowEarlyArchiveDeletion?: boolean;
}

/** An archive decision, with the early-deletion warning when it applies. */
export interface ArchiveRetentionDecision extends RetentionDecision {
  /** Present when expiring this copy deletes objects younger than their class's minimum duration. */
  readonly earlyDeletion?: {
    readonly storageClass: string;
    /** Minimum storage duration of the class, in days. */
    readonly minimumDays: number;
    /** Age in days of the youngest object concerned. */
    readonly youngestAgeDays: number;
    /** Objects younger than their class's minimum. */
    readonly objects: number;
    /** The warning, for logs and the table. */
    readonly warning: string;
  };
}

/** The result of {@link planArchiveRetention}. */
export interface ArchiveRetentionPlan {
  readonly now: string;
  readonly archiveRetainCycles: number | null;
  readonly allowEarlyArchiveDeletion: boolean;
  readonly decisions: readonly ArchiveRetentionDecision[];
  readonly keep: readonly number[];
  readonly expire: readonly number[];
  /** Every early-deletion warning (expired anyway, or skipped). */
  readonly warnings: readonly string[];
}

/** Minimum storage duration in days of an S3 storage class (0 when it has none we track). */
export function minimumStorageDays(storageClass: string | undefined): number {
  return storageClass && storageClass in ARCHIVE_MINIMUM_DAYS ? ARCHIVE_MINIMUM_DAYS[storageClass as ArchiveStorageClass] : 0;
}

/**
 * Plans archive retention (SPEC §4.3, §5): with `archiveRetainCycles` null every copy is kept;
 * otherwise the hot-site rules apply with `RetainCycles = archiveRetainCycles`. Expiring a copy with
 * objects younger than their class's minimum duration (90 days GLACIER/GLACIER_IR, 180 DEEP_ARCHIVE)
 * carries the early-deletion warning, and is turned into `keep` (`early-deletion-skipped`) unless
 * `allowEarlyArchiveDeletion`; FULLs of DIFFERENTIALs kept that way are kept too.
 * @throws RetentionInputError, CycleInputError as {@link planRetention}.
 */
export function planArchiveRetention(input: ArchiveRetentionInput): ArchiveRetentionPlan {
  const nowMs = toEpochMs(input.now);
  const allow = input.allowEarlyArchiveDeletion ?? false;
  const base = {
    now: new Date(nowMs).toISOString(),
    archiveRetainCycles: input.archiveRetainCycles,
    allowEarlyArchiveDeletion: allow,
  };
  if (input.archiveRetainCycles === null) {
    buildCycles(input.sets.map((s) => s.summary)); // validates the input all the same
    const decisions = [...input.sets]
      .sort((a, b) => a.summary.jobId - b.summary.jobId)
      .map((s): ArchiveRetentionDecision => ({
        jobId: s.summary.jobId,
        setName: s.summary.setName,
        backupType: s.summary.backupType,
        status: s.summary.status,
        complete: s.summary.complete,
        phase2: s.phase2 ?? 'unknown',
        action: 'keep',
        code: 'archive-keeps-everything',
        reason: 'ArchiveRetainCycles is not set: the archive keeps every copy',
      }));
    return { ...base, decisions, keep: decisions.map((d) => d.jobId), expire: [], warnings: [] };
  }
  const plan = planRetention({
    sets: input.sets,
    settings: { RetainCycles: input.archiveRetainCycles, SetLifeSpanForFailedDR: input.setLifeSpanForFailedDR },
    now: nowMs,
  });
  const bySet = new Map(input.sets.map((s) => [s.summary.jobId, s]));
  const warnings: string[] = [];
  const decisions = new Map<number, ArchiveRetentionDecision>();
  for (const d of plan.decisions) {
    if (d.action !== 'expire') {
      decisions.set(d.jobId, d);
      continue;
    }
    const young = bySet.get(d.jobId)!.objects.flatMap((o) => {
      const minimumDays = minimumStorageDays(o.storageClass);
      if (minimumDays === 0) return [];
      const ms = o.lastModified === undefined ? NaN : Date.parse(o.lastModified);
      const ageDays = Number.isFinite(ms) ? Math.max(0, nowMs - ms) / DAY_MS : 0;
      return ageDays < minimumDays ? [{ storageClass: o.storageClass!, minimumDays, ageDays }] : [];
    });
    if (young.length === 0) {
      decisions.set(d.jobId, d);
      continue;
    }
    const youngest = young.reduce((a, b) => (b.ageDays < a.ageDays ? b : a));
    const warning =
      `${d.setName}: ${young.length} archive object${young.length === 1 ? ' is' : 's are'} younger than the ${youngest.minimumDays}-day minimum of ${youngest.storageClass} ` +
      `(youngest ${fmtDays(youngest.ageDays)}): deleting ${young.length === 1 ? 'it' : 'them'} now is charged as if kept ${youngest.minimumDays} days` +
      (allow ? ' (deleted: --allow-early-archive-deletion)' : '; skipped (use --allow-early-archive-deletion to delete anyway)');
    warnings.push(warning);
    const earlyDeletion = { storageClass: youngest.storageClass, minimumDays: youngest.minimumDays, youngestAgeDays: round1(youngest.ageDays), objects: young.length, warning };
    decisions.set(
      d.jobId,
      allow ? { ...d, earlyDeletion } : { ...d, action: 'keep', code: 'early-deletion-skipped', reason: `${d.reason}; but ${warning}`, earlyDeletion },
    );
  }
  // A LOG kept by the early-deletion rule keeps its chain (newest first, so a kept predecessor keeps its own in turn).
  for (const id of [...decisions.keys()].sort((a, b) => b - a)) {
    const d = decisions.get(id)!;
    if (d.backupType !== BackupType.Log || d.action !== 'keep') continue;
    const summary = bySet.get(d.jobId)!.summary;
    for (const baseId of [summary.previousJobId, summary.cycleId ?? d.cycleId]) {
      const base = baseId === undefined ? undefined : decisions.get(baseId);
      if (base && base.action === 'expire') {
        decisions.set(base.jobId, { ...base, action: 'keep', code: 'base-of-kept-log', reason: `on the chain of kept LOG ${d.setName}, which depends on it` });
      }
    }
  }
  // A DIFFERENTIAL kept by the early-deletion rule (or for a LOG chain) keeps its FULL (in job order: deterministic reasons).
  for (const d of [...decisions.values()].sort((a, b) => a.jobId - b.jobId)) {
    if (d.backupType !== BackupType.Differential || d.action !== 'keep') continue;
    const fullId = bySet.get(d.jobId)!.summary.cycleId ?? d.cycleId;
    const full = fullId === undefined ? undefined : decisions.get(fullId);
    if (full && full.action === 'expire') {
      decisions.set(full.jobId, { ...full, action: 'keep', code: 'full-of-kept-differential', reason: `the FULL of kept DIFFERENTIAL ${d.setName}, which depends on it` });
    }
  }
  const ordered = [...decisions.values()].sort((a, b) => a.jobId - b.jobId);
  return {
    ...base,
    decisions: ordered,
    keep: ordered.filter((d) => d.action === 'keep').map((d) => d.jobId),
    expire: ordered.filter((d) => d.action === 'expire').map((d) => d.jobId),
    warnings,
  };
}

/** `keep`/`expire` counts of a plan's decisions. */
export function countActions(decisions: readonly { action: RetentionAction }[]): { keep: number; expire: number } {
  let expire = 0;
  for (const d of decisions) if (d.action === 'expire') expire++;
  return { keep: decisions.length - expire, expire };
}
