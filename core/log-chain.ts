/**
 * LOG chains and point-in-time recovery (SPEC §4.5, §6.1 `--at`): which moments of a cycle can be rebuilt, which
 * cannot (gaps), and the SETs to restore for a moment.
 *
 * A LOG point names its predecessor (`previousJobId`, from the manifest's `previousSet`): the cycle's FULL, a
 * DIFFERENTIAL or an earlier LOG of the same cycle — the newest successful point when the LOG was taken. Rebuilding a
 * LOG walks the predecessors back to the first FULL or DIFFERENTIAL: FULL (+ DIFFERENTIAL) + the LOGs after it, oldest
 * first. A DIFFERENTIAL is cumulative (it depends on the FULL only), so a damaged LOG before a DIFFERENTIAL does not
 * matter to the points after it.
 *
 * A point is **reachable** when every SET on its path succeeded (complete, usable status), is listed, and is not
 * reported damaged by the caller. A LOG that is not reachable because a link is missing or damaged sits behind a
 * **gap**: recovery to a moment past the gap is refused, naming the newest moment reachable before it.
 *
 * The moment of a point is its manifest's `pointTime` (the consistent snapshot's end); manifests written before LOG
 * points existed have none, and their `endTime` is used as an upper bound (`exact: false`).
 *
 * Pure: no I/O.
 */
import { isSuccessfulSet, type Cycle, type CycleReport, type RestorablePoint, type SetSummary } from './cycles';
import { CommserveDrError } from './errors';
import type { Manifest } from './manifest';
import { parseSetName } from './set-id';
import { BackupType } from './set-id';

/**
 * What a SET summary carries from its manifest for LOG chains: `previousJobId` (LOG only) and `pointTime`. Spread it
 * into the summary wherever one is built from a manifest.
 */
export function chainFields(manifest: Pick<Manifest, 'previousSet' | 'pointTime'>): { previousJobId?: number; pointTime?: string } {
  const previousJobId = manifest.previousSet === undefined ? undefined : parseSetName(manifest.previousSet);
  return { ...(previousJobId !== undefined ? { previousJobId } : {}), ...(manifest.pointTime ? { pointTime: manifest.pointTime } : {}) };
}

/** A moment the database can be rebuilt to, and how. */
export interface ChainPoint {
  /** The newest SET applied (the FULL, a DIFFERENTIAL or a LOG). */
  readonly target: SetSummary;
  /** The SETs to restore, in order: the FULL, the DIFFERENTIAL if any, then the LOGs oldest first. */
  readonly sets: readonly SetSummary[];
  /** The moment reached, ms since the epoch. */
  readonly timeMs: number;
  /** False when the moment is the SET's end time (no `pointTime` recorded): the state is at or before it. */
  readonly exact: boolean;
  /** The cycle (its FULL's job id). */
  readonly cycleId: number;
}

/** A break in a cycle's LOG chain: the LOGs after it cannot be rebuilt. */
export interface ChainGap {
  readonly cycleId: number;
  /** The first LOG that cannot be rebuilt (its own link is the broken one). */
  readonly firstUnreachable: SetSummary;
  /** Every LOG of the cycle that cannot be rebuilt because of this break (including `firstUnreachable`), oldest first. */
  readonly unreachable: readonly SetSummary[];
  /** The newest point of the cycle that is still reachable and older than the gap, when there is one. */
  readonly newestReachableBefore?: ChainPoint;
  /** One sentence for an operator: which link is missing or damaged. */
  readonly reason: string;
}

/** Reachability of one cycle's points. */
export interface CycleChain {
  readonly cycleId: number;
  /** Reachable points (FULL, successful DIFFERENTIALs, reachable LOGs), oldest moment first. */
  readonly points: readonly ChainPoint[];
  readonly gaps: readonly ChainGap[];
}

/** Options: SETs the caller found damaged or unavailable (job id → reason), e.g. from `verify` or a missing copy. */
export interface ChainOptions {
  readonly damaged?: ReadonlyMap<number, string>;
}

/** `recover --at` cannot be served. Codes: `AT_BEFORE_FIRST_POINT`, `AT_PAST_GAP`, `AT_INVALID`, `AT_NO_POINT`. */
export class PointInTimeError extends CommserveDrError {
  constructor(
    code: 'AT_BEFORE_FIRST_POINT' | 'AT_PAST_GAP' | 'AT_INVALID' | 'AT_NO_POINT',
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, options);
  }
}

/** The moment of a SET (ms) and whether it is exact; undefined when the SET records neither `pointTime` nor `endTime`. */
export function pointMoment(set: SetSummary): { timeMs: number; exact: boolean } | undefined {
  const exact = set.pointTime !== undefined;
  const ms = Date.parse(set.pointTime ?? set.endTime ?? '');
  return Number.isFinite(ms) ? { timeMs: ms, exact } : undefined;
}

type Reach = { ok: true; sets: SetSummary[] } | { ok: false; reason: string; root: boolean };

/**
 * Reachable points and gaps of one cycle.
 * @param cycle from `buildCycles`.
 */
export function resolveCycleChain(cycle: Cycle, options: ChainOptions = {}): CycleChain {
  const damaged = options.damaged ?? new Map<number, string>();
  const members = new Map<number, SetSummary>([cycle.full, ...cycle.differentials, ...cycle.logs].map((s) => [s.jobId, s]));
  const memo = new Map<number, Reach>();
  const unusable = (s: SetSummary): string | undefined => {
    if (damaged.has(s.jobId)) return `${s.setName} is damaged or unavailable (${damaged.get(s.jobId)})`;
    if (!isSuccessfulSet(s)) return `${s.setName} did not succeed or is incomplete`;
    return undefined;
  };
  const reach = (s: SetSummary, depth = 0): Reach => {
    const known = memo.get(s.jobId);
    if (known) return known;
    let result: Reach;
    const own = unusable(s);
    if (own) result = { ok: false, reason: own, root: true };
    else if (s.backupType === BackupType.Full) result = { ok: true, sets: [s] };
    else if (s.backupType === BackupType.Differential) {
      const full = reach(cycle.full, depth + 1);
      result = full.ok ? { ok: true, sets: [...full.sets, s] } : { ok: false, reason: full.reason, root: false };
    } else {
      const previous = s.previousJobId === undefined ? undefined : members.get(s.previousJobId);
      if (s.previousJobId === undefined) result = { ok: false, reason: `${s.setName} does not name its predecessor`, root: true };
      else if (!previous || previous.jobId >= s.jobId) result = { ok: false, reason: `its predecessor SET ${s.previousJobId} is missing from the cycle`, root: true };
      else {
        const before = depth > members.size ? undefined : reach(previous, depth + 1);
        result = before?.ok ? { ok: true, sets: [...before.sets, s] } : { ok: false, reason: before?.reason ?? 'the chain loops', root: false };
      }
    }
    memo.set(s.jobId, result);
    return result;
  };

  const points: ChainPoint[] = [];
  for (const s of [cycle.full, ...cycle.differentials, ...cycle.logs]) {
    const r = reach(s);
    const moment = pointMoment(s);
    if (r.ok && moment) points.push({ target: s, sets: r.sets, timeMs: moment.timeMs, exact: moment.exact, cycleId: cycle.cycleId });
  }
  points.sort((a, b) => a.timeMs - b.timeMs || a.target.jobId - b.target.jobId);

  // A gap starts at a LOG that succeeded itself but whose link is broken; every later LOG that reaches back to it shares it.
  const gaps: ChainGap[] = [];
  const gapOf = new Map<number, ChainGap & { unreachable: SetSummary[] }>();
  for (const s of cycle.logs) {
    if (unusable(s) && !damaged.has(s.jobId)) continue; // a failed LOG job is not a point: the next LOG links over it
    const r = reach(s);
    if (r.ok) continue;
    const previous = s.previousJobId === undefined ? undefined : gapOf.get(s.previousJobId);
    if (previous && !r.root) {
      previous.unreachable.push(s);
      gapOf.set(s.jobId, previous);
      continue;
    }
    const moment = pointMoment(s);
    const before = points.filter((p) => p.target.jobId < s.jobId && (moment === undefined || p.timeMs <= moment.timeMs)).at(-1);
    const gap = {
      cycleId: cycle.cycleId,
      firstUnreachable: s,
      unreachable: [s],
      ...(before ? { newestReachableBefore: before } : {}),
      reason: `LOG ${s.setName} cannot be rebuilt: ${r.reason}`,
    };
    gaps.push(gap);
    gapOf.set(s.jobId, gap);
  }
  return { cycleId: cycle.cycleId, points, gaps };
}

/** The outcome of {@link planPointInTime}. */
export interface PointInTimePlan {
  /** The point restored. */
  readonly point: ChainPoint;
  /** The moment asked for, ms since the epoch. */
  readonly requestedMs: number;
  /** `requested − reached`, ms (≥ 0): how much older the restored state is than the moment asked for. */
  readonly gapMs: number;
}

/**
 * The point to restore for `recover --at <moment>`: the newest reachable point at or before it, across cycles.
 * @throws PointInTimeError `AT_NO_POINT` (no reachable point at all), `AT_BEFORE_FIRST_POINT` (the moment is older
 *   than every reachable point; the oldest is named), `AT_PAST_GAP` (a LOG at or before the moment, newer than the best
 *   reachable point, cannot be rebuilt: the newest reachable moment and the broken link are named).
 */
export function planPointInTime(report: CycleReport, requestedMs: number, options: ChainOptions = {}): PointInTimePlan {
  if (!Number.isFinite(requestedMs)) throw new PointInTimeError('AT_INVALID', 'the moment to recover to is not a valid time');
  const chains = report.cycles.map((c) => resolveCycleChain(c, options));
  const points = chains.flatMap((c) => c.points).sort((a, b) => a.timeMs - b.timeMs || a.target.jobId - b.target.jobId);
  if (points.length === 0) throw new PointInTimeError('AT_NO_POINT', 'there is no restorable point: no FULL has succeeded');
  const best = points.filter((p) => p.timeMs <= requestedMs).at(-1);
  const asked = new Date(requestedMs).toISOString();
  if (!best) {
    throw new PointInTimeError('AT_BEFORE_FIRST_POINT', `no restorable point at or before ${asked}: the oldest is ${points[0].target.setName} at ${new Date(points[0].timeMs).toISOString()}`, {
      context: { oldest: points[0].target.setName },
    });
  }
  for (const gap of chains.flatMap((c) => c.gaps)) {
    const blocked = gap.unreachable.find((s) => {
      const m = pointMoment(s);
      return m !== undefined && m.timeMs <= requestedMs && m.timeMs > best.timeMs;
    });
    if (blocked) {
      throw new PointInTimeError(
        'AT_PAST_GAP',
        `cannot recover to ${asked}: ${gap.reason}; the newest reachable moment is ${new Date(best.timeMs).toISOString()} (${best.target.setName}${best.exact ? '' : ', at or before its end time'}) — recover --at that moment, or repair the chain`,
        { context: { newestReachable: new Date(best.timeMs).toISOString(), newestReachableSet: best.target.setName, gapAt: gap.firstUnreachable.setName } },
      );
    }
  }
  return { point: best, requestedMs, gapMs: requestedMs - best.timeMs };
}

/**
 * The newest reachable point at all (across cycles), or undefined when none: its age is the RPO (SPEC §2).
 */
export function newestReachablePoint(report: CycleReport, options: ChainOptions = {}): ChainPoint | undefined {
  return report.cycles
    .flatMap((c) => resolveCycleChain(c, options).points)
    .sort((a, b) => a.timeMs - b.timeMs || a.target.jobId - b.target.jobId)
    .at(-1);
}

/** Every gap of every cycle, oldest cycle first. */
export function chainGaps(report: CycleReport, options: ChainOptions = {}): ChainGap[] {
  return report.cycles.flatMap((c) => resolveCycleChain(c, options).gaps);
}

/**
 * The predecessor a new LOG point of the open cycle continues: the newest successful SET of the open cycle (FULL,
 * DIFFERENTIAL or LOG, by job id), or undefined when there is no open cycle (the caller refuses the LOG: a LOG needs
 * a FULL).
 */
export function logPredecessor(report: CycleReport): SetSummary | undefined {
  const open = report.openCycle;
  if (!open) return undefined;
  return [open.full, ...open.differentials, ...open.logs].filter(isSuccessfulSet).sort((a, b) => a.jobId - b.jobId).at(-1);
}

/**
 * A chain point as the restorable point recovery works with: the FULL, the DIFFERENTIAL the chain starts from (if
 * any), the LOGs oldest first (if any); `sets` in restore order and `jobId` the point's newest SET.
 */
export function restorablePointOf(point: ChainPoint): RestorablePoint {
  const [full, ...rest] = point.sets;
  const differential = rest.find((s) => s.backupType === BackupType.Differential);
  const logs = rest.filter((s) => s.backupType === BackupType.Log);
  return {
    cycleId: point.cycleId,
    full,
    ...(differential ? { differential } : {}),
    ...(logs.length > 0 ? { logs } : {}),
    jobId: point.target.jobId,
    sets: point.sets,
  };
}

/**
 * The chain point ending at one SET (a LOG named with `recover --set`), or why it cannot be rebuilt.
 * @returns the point, or `{ reason }` (the SET is in no cycle, or a link of its chain is missing, failed or damaged).
 */
export function chainPointOfSet(report: CycleReport, jobId: number, options: ChainOptions = {}): ChainPoint | { reason: string } {
  const cycle = report.cycles.find((c) => [c.full, ...c.differentials, ...c.logs].some((s) => s.jobId === jobId));
  if (!cycle) return { reason: 'it belongs to no cycle (its FULL is not listed or did not succeed)' };
  const chain = resolveCycleChain(cycle, options);
  const point = chain.points.find((p) => p.target.jobId === jobId);
  if (point) return point;
  const gap = chain.gaps.find((g) => g.unreachable.some((s) => s.jobId === jobId));
  if (gap) {
    const before = gap.newestReachableBefore;
    return { reason: `${gap.reason}${before ? `; the newest reachable point before it is ${before.target.setName} at ${new Date(before.timeMs).toISOString()}` : ''}` };
  }
  return { reason: 'its chain cannot be rebuilt (no moment recorded, or a link did not succeed)' };
}

/**
 * The newest restorable point counting LOG points (SPEC §2): the newest cycle's point (FULL + newest successful
 * DIFFERENTIAL), or a LOG point of that cycle newer than it whose chain is whole. Undefined when no FULL succeeded.
 * A LOG behind a gap is never chosen: the newest LOG before the gap (or the FULL/DIFFERENTIAL) is.
 */
export function newestPointWithLogs(report: CycleReport, options: ChainOptions = {}): RestorablePoint | undefined {
  const cyclePoint = report.newestRestorablePoint;
  if (!cyclePoint) return undefined;
  const cycle = report.cycles.find((c) => c.cycleId === cyclePoint.cycleId)!;
  const newest = resolveCycleChain(cycle, options).points.at(-1);
  return newest && newest.target.backupType === BackupType.Log && newest.target.jobId > cyclePoint.jobId ? restorablePointOf(newest) : cyclePoint;
}

/** The moment a restorable point's state was captured (its newest SET's `pointTime`, else its end time), or undefined. */
export function restorablePointMoment(point: RestorablePoint): { timeMs: number; exact: boolean } | undefined {
  return pointMoment(point.sets.at(-1)!);
}
