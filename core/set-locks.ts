/**
 * Object Lock of hot-site SETs (issue 21 item 3; SPEC §4.3, §5): until when each kept SET's `sets/` objects are
 * locked. Pure: no I/O. PruneSets applies the plan (PutObjectRetention, only ever extending) after each FULL or
 * DIFFERENTIAL job; LOG points are locked with their cycle by the next such job, as they are archived.
 *
 * **Until their cycle can expire.** Retention expires a cycle only once `RetainCycles` newer cycles are complete,
 * i.e. once `RetainCycles + 1` later FULLs succeeded. With one FULL every `cycleDays` (SPEC §4.1: daily), the
 * earliest moment a SET of cycle *c* can be expired is therefore the later of
 * - the cycle's FULL time + (`RetainCycles` + 1) × `cycleDays` (the cycle's own count), and
 * - the SET's own time + `RetainCycles` × `cycleDays` (a SET belongs to a cycle that is still open when it is taken:
 *   a cycle stretched by failed FULLs closes after it, then needs `RetainCycles` more FULLs).
 * A SET's time is its manifest's end time (else its newest object's `LastModified`). In a regular daily schedule
 * every SET of a cycle gets the same date — the FULL's — and the lock ends about when the prune after the
 * `RetainCycles + 1`-th next FULL may expire the cycle; a FULL that ran longer than the later one can leave its cycle
 * locked at that prune, which skips it with the reason and removes it the next day.
 *
 * **Dependency rule** (the same as the archive's): a FULL's lock lasts at least as long as that of any DIFFERENTIAL
 * or LOG point of its cycle, and a LOG's predecessor (DIFFERENTIAL or LOG) at least as long as the LOG — a chain is
 * never left with an unlocked base.
 *
 * Only complete SETs whose job produced a usable SET (Completed, Completed With One or More Errors), not running,
 * in a cycle and kept by the plan are locked: an incomplete, failed or orphan SET is never restorable, and locking
 * it would only stop its cleanup.
 */
import { buildCycles, isSuccessfulSet, type Cycle, type SetSummary } from './cycles';
import { DAY_MS, toEpochMs, type RetentionPlan, type RetentionSetInput } from './retention';
import { BackupType } from './set-id';

/** S3 Object Lock modes. GOVERNANCE can be shortened or removed with `s3:BypassGovernanceRetention`; COMPLIANCE by nobody. */
export type SetLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** How hot-site SETs are locked. */
export interface SetLockPolicy {
  readonly mode: SetLockMode;
  /** Days between FULLs (default 1: the daily FULL of SPEC §4.1). */
  readonly cycleDays?: number;
}

/** Why a SET's lock ends when it does. */
export type SetLockBasis =
  /** Its cycle's FULL time + (RetainCycles + 1) cycles. */
  | 'cycle'
  /** Its own time + RetainCycles cycles (later than the cycle's date: a stretched cycle). */
  | 'own-time'
  /** Extended to the lock of a SET that depends on it (a DIFFERENTIAL or LOG of its cycle, or the next LOG). */
  | 'dependant';

/** The lock one SET's objects should have. */
export interface SetLockTarget {
  readonly jobId: number;
  readonly setName: string;
  readonly backupType: BackupType;
  readonly mode: SetLockMode;
  /** ISO-8601 UTC. */
  readonly retainUntil: string;
  readonly basis: SetLockBasis;
  /** One sentence for an operator. */
  readonly reason: string;
}

/** Input of {@link planSetLocks}. */
export interface SetLockInput {
  /** The SETs the retention plan was made from. */
  readonly sets: readonly RetentionSetInput[];
  /** The hot-site retention plan: only its kept SETs are locked. */
  readonly plan: RetentionPlan;
  readonly policy: SetLockPolicy;
  /** Planning time; locks that would already have ended are left out. */
  readonly now: Date | string | number;
}

/**
 * The lock of every kept, usable SET in a cycle (see the module comment), by job id. A SET whose time is unknown (no
 * end time, no `LastModified`) takes its dependants' date, or is left out when it has none; so is a lock that would
 * already have ended at `now`.
 * @throws RangeError when `cycleDays` is not a positive number; RetentionInputError for an invalid time.
 */
export function planSetLocks(input: SetLockInput): SetLockTarget[] {
  const cycleDays = input.policy.cycleDays ?? 1;
  if (!(Number.isFinite(cycleDays) && cycleDays > 0)) throw new RangeError(`cycleDays must be a positive number, got ${cycleDays}`);
  const nowMs = toEpochMs(input.now);
  const cycleMs = cycleDays * DAY_MS;
  const retain = input.plan.settings.RetainCycles;
  const kept = new Set(input.plan.keep);
  const byJob = new Map(input.sets.map((s) => [s.summary.jobId, s]));
  const report = buildCycles(input.sets.map((s) => s.summary));
  const cycleOf = new Map<number, Cycle>();
  for (const c of report.cycles) for (const s of [c.full, ...c.differentials, ...c.logs]) cycleOf.set(s.jobId, c);

  const lockable = (s: SetSummary): boolean => kept.has(s.jobId) && isSuccessfulSet(s) && cycleOf.has(s.jobId);
  const timeOf = (jobId: number): number | undefined => {
    const item = byJob.get(jobId);
    const text = item?.summary.endTime ?? item?.lastModified;
    return text === undefined ? undefined : toEpochMs(text, `${item!.summary.setName} time`);
  };

  const targets = new Map<number, { until: number; basis: SetLockBasis; reason: string }>();
  for (const item of input.sets) {
    const s = item.summary;
    if (!lockable(s)) continue;
    const cycle = cycleOf.get(s.jobId)!;
    const fullTime = timeOf(cycle.full.jobId);
    const ownTime = timeOf(s.jobId);
    const byCycle = fullTime === undefined ? undefined : fullTime + (retain + 1) * cycleMs;
    const byOwn = ownTime === undefined ? undefined : ownTime + retain * cycleMs;
    if (byCycle === undefined && byOwn === undefined) continue;
    if (byOwn !== undefined && (byCycle === undefined || byOwn > byCycle)) {
      targets.set(s.jobId, { until: byOwn, basis: 'own-time', reason: `its own time + RetainCycles ${retain} × ${cycleDays} day(s): its cycle ${cycle.full.setName} cannot expire before` });
    } else {
      targets.set(s.jobId, { until: byCycle!, basis: 'cycle', reason: `until its cycle ${cycle.full.setName} can expire: the FULL's time + (RetainCycles ${retain} + 1) × ${cycleDays} day(s)` });
    }
  }

  // Dependency rule, newest first so an extended predecessor passes its date on down the chain to the FULL.
  for (const jobId of [...targets.keys()].sort((a, b) => b - a)) {
    const s = byJob.get(jobId)!.summary;
    if (s.backupType === BackupType.Full) continue;
    const target = targets.get(jobId)!;
    const bases = [...(s.backupType === BackupType.Log && s.previousJobId !== undefined ? [s.previousJobId] : []), cycleOf.get(jobId)!.full.jobId];
    for (const baseId of bases) {
      const base = targets.get(baseId);
      const baseSummary = byJob.get(baseId)?.summary;
      if (base ? base.until < target.until : baseSummary !== undefined && lockable(baseSummary)) {
        targets.set(baseId, { until: target.until, basis: 'dependant', reason: `extended to the lock of ${s.backupType} ${s.setName}, which depends on it` });
      }
    }
  }

  return [...targets.entries()]
    .filter(([, t]) => t.until > nowMs)
    .sort(([a], [b]) => a - b)
    .map(([jobId, t]) => {
      const s = byJob.get(jobId)!.summary;
      return { jobId, setName: s.setName, backupType: s.backupType, mode: input.policy.mode, retainUntil: new Date(t.until).toISOString(), basis: t.basis, reason: t.reason };
    });
}
