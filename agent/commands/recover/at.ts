/**
 * `recover --at <ISO time>` (SPEC §4.5, §6.1): the point to restore for a moment — FULL + DIFFERENTIAL + the LOG chain
 * up to the newest LOG point at or before it — and what the report says about it: the moment asked for, the exact
 * moment reached, the gap between them. SQL Server goes to the moment itself: when a reachable LOG follows that point
 * and ends after the moment, it is added and restored `WITH STOPAT` the moment (`stopAt`; the LOG's msdb time zone
 * converts it to the server's local time) — only when that LOG records its end with an offset, else the newest LOG
 * point at or before the moment is the answer, as for SQLite.
 *
 * A LOG point whose dump is missing from every copy (phase-1 destination, hot-site `sets/`, `archive/`) or listed in
 * every copy with a size other than its manifest's is damaged: it breaks the chain, and a moment past it is refused
 * naming the newest reachable one (`planPointInTime`). What a listing cannot see (a wrong SHA-256) is found when the
 * point is staged, where the next copy serves the file.
 */
import type { RestorablePoint } from '#core/cycles';
import { buildCycles } from '#core/cycles';
import { isCalendarMoment } from '#core/cli-values';
import { UsageError } from '#core/errors';
import { planPointInTime, resolveCycleChain, restorablePointOf, type ChainPoint } from '#core/log-chain';
import { BackupType } from '#core/set-id';
import type { HotSiteView } from './plan';

/** What the report records of a point-in-time recovery. */
export interface AtReport {
  /** The moment asked for (ISO-8601 UTC, normalised). */
  requested: string;
  /** The moment the restored state was captured (the point's `pointTime`, else its end time). */
  reached: string;
  /** False when the point records no `pointTime` (its end time is used: the state is at or before it). */
  exact: boolean;
  /** `requested − reached`, ms (≥ 0). */
  gapMs: number;
  /** The point's newest SET. */
  set: string;
  /** SQL Server: the moment (ISO-8601 UTC) the last LOG is restored `WITH STOPAT` to; absent: to the LOG's end. */
  stopAt?: string;
}

/** Whether the fields of an ISO-8601 match name a real calendar moment (`Date.parse` rolls 2026-02-30 over). */
function isCalendarMatch(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  return isCalendarMoment(year!, month!, day!, hour!, minute!, m[7] === undefined ? 0 : Number(m[7]));
}

/**
 * Parses the `--at` moment: ISO-8601 with a time and an explicit zone (`Z` or `±hh:mm`), so a moment never depends on
 * the recovery machine's time zone.
 * @throws UsageError for anything else (exit 2), with an example.
 */
export function parseAtMoment(text: string): number {
  const iso = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
  const m = iso.exec(text.trim());
  const ms = Date.parse(text);
  if (!m || !Number.isFinite(ms) || !isCalendarMatch(m)) {
    throw new UsageError(`--at ${JSON.stringify(text)} is not an ISO-8601 moment with a time zone: e.g. 2026-12-05T14:30:00Z or 2026-12-05T15:30:00+01:00`);
  }
  return ms;
}

/**
 * SETs of the view whose database dump cannot be read from any copy (local, hot-site `sets/`, `archive/`): absent
 * from every copy, or listed in every copy with a size other than the manifest's (job id → reason). Only SETs with a
 * readable manifest are judged.
 */
export function damagedDumps(view: HotSiteView): Map<number, string> {
  const damaged = new Map<number, string>();
  for (const entry of view.values()) {
    for (const file of entry.manifest?.files.filter((f) => f.role === 'database') ?? []) {
      const copies = [...entry.listed.byCopy.entries()].flatMap(([kind, files]) => {
        const object = files.get(file.name);
        return object === undefined ? [] : [{ kind, size: object.size }];
      });
      if (copies.length === 0) damaged.set(entry.summary.jobId, `${file.name} is missing in every copy read`);
      else if (!copies.some((o) => o.size === file.size)) damaged.set(entry.summary.jobId, `${file.name} is ${copies[0].size} bytes in the ${copies[0].kind} copy, ${file.size} in its manifest`);
    }
  }
  return damaged;
}

/**
 * The point for `--at`, and the report's account of it.
 * @throws UsageError (bad moment); PointInTimeError `AT_NO_POINT`, `AT_BEFORE_FIRST_POINT`, `AT_PAST_GAP` (naming the
 *   newest reachable moment).
 */
export function choosePointAt(view: HotSiteView, at: string): { point: RestorablePoint; at: AtReport } {
  const requestedMs = parseAtMoment(at);
  const report = buildCycles([...view.values()].map((v) => v.summary));
  const damaged = damagedDumps(view);
  const plan = planPointInTime(report, requestedMs, { damaged });
  const stopAtLog = plan.gapMs > 0 ? sqlServerLogAfter(view, report, plan.point, requestedMs, damaged) : undefined;
  if (stopAtLog) {
    const requested = new Date(requestedMs).toISOString();
    return { point: restorablePointOf(stopAtLog), at: { requested, reached: requested, exact: true, gapMs: 0, set: stopAtLog.target.setName, stopAt: requested } };
  }
  return {
    point: restorablePointOf(plan.point),
    at: {
      requested: new Date(requestedMs).toISOString(),
      reached: new Date(plan.point.timeMs).toISOString(),
      exact: plan.point.exact,
      gapMs: plan.gapMs,
      set: plan.point.target.setName,
    },
  };
}

/**
 * SQL Server only: the reachable LOG that continues `point` and ends after the moment, when its recorded end carries
 * the server's offset (STOPAT is read in the server's local time); undefined otherwise.
 */
function sqlServerLogAfter(view: HotSiteView, report: ReturnType<typeof buildCycles>, point: ChainPoint, requestedMs: number, damaged: Map<number, string>): ChainPoint | undefined {
  if (view.get(point.sets[0]!.jobId)?.manifest?.database.engine !== 'sqlserver') return undefined;
  const cycle = report.cycles.find((c) => c.full.jobId === point.cycleId);
  if (!cycle) return undefined;
  const next = resolveCycleChain(cycle, { damaged }).points.find(
    (p) => p.target.backupType === BackupType.Log && p.target.previousJobId === point.target.jobId && p.exact && p.timeMs > requestedMs,
  );
  const finished = next && view.get(next.target.jobId)?.manifest?.database.details.BackupFinishDate;
  return typeof finished === 'string' && /[+-]\d{2}:\d{2}$/.test(finished) ? next : undefined;
}

/** The report line: `Point in time: asked 14:30:00Z, reached 14:27:12.345Z (SET_n), 2 min 47.655 s earlier`. */
export function formatAt(at: AtReport): string {
  const gap = at.gapMs === 0 ? 'exactly the moment asked for' : `${formatGap(at.gapMs)} before the moment asked for`;
  const stop = at.stopAt ? ` (SQL Server RESTORE LOG … WITH STOPAT inside ${at.set})` : '';
  return `Point in time: asked ${at.requested}, reached ${at.reached}${at.exact ? '' : ' (at or before: the SET records only its end time)'} with ${at.set}${stop} — ${gap}`;
}

function formatGap(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(3)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${(s % 60).toFixed(3)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ${Math.round(s % 60)} s`;
}
