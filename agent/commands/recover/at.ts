/**
 * `recover --at <ISO time>` (SPEC §4.5, §6.1): the point to restore for a moment — FULL + DIFFERENTIAL + the LOG chain
 * up to the newest LOG point at or before it (SQLite; SQL Server's STOPAT inside a LOG is not offered yet) — and what
 * the report says about it: the moment asked for, the exact moment reached, the gap between them.
 *
 * A LOG point whose dump is missing from every copy (phase-1 destination, hot-site `sets/`, `archive/`) or listed in
 * every copy with a size other than its manifest's is damaged: it breaks the chain, and a moment past it is refused
 * naming the newest reachable one (`planPointInTime`). What a listing cannot see (a wrong SHA-256) is found when the
 * point is staged, where the next copy serves the file.
 */
import type { RestorablePoint } from '#core/cycles';
import { buildCycles } from '#core/cycles';
import { UsageError } from '#core/errors';
import { planPointInTime, restorablePointOf } from '#core/log-chain';
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
}

/**
 * Parses the `--at` moment: ISO-8601 with a time and an explicit zone (`Z` or `±hh:mm`), so a moment never depends on
 * the recovery machine's time zone.
 * @throws UsageError for anything else (exit 2), with an example.
 */
export function parseAtMoment(text: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;
  const ms = Date.parse(text);
  if (!iso.test(text.trim()) || !Number.isFinite(ms)) {
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
  const plan = planPointInTime(report, requestedMs, { damaged: damagedDumps(view) });
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

/** The report line: `Point in time: asked 14:30:00Z, reached 14:27:12.345Z (SET_n), 2 min 47.655 s earlier`. */
export function formatAt(at: AtReport): string {
  const gap = at.gapMs === 0 ? 'exactly the moment asked for' : `${formatGap(at.gapMs)} before the moment asked for`;
  return `Point in time: asked ${at.requested}, reached ${at.reached}${at.exact ? '' : ' (at or before: the SET records only its end time)'} with ${at.set} — ${gap}`;
}

function formatGap(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(3)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${(s % 60).toFixed(3)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ${Math.round(s % 60)} s`;
}
