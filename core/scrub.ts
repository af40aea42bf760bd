/**
 * Scrub planning (issue 16 item 3, SPEC §6.1 "jobs keep the copies honest"): which SETs at the hot-site a job
 * checks against their manifests, within a per-job request budget (`ScrubRequestsPerJob`), least recently checked
 * first, and the durable check state that makes "least recently" mean something across jobs. Pure: no I/O.
 *
 * A check costs one HeadObject (with `ChecksumMode`) per file the manifest lists, one for the manifest itself, and one
 * GetObject for the manifest when the phase-1 destination has no copy of it. Existence and size of every object come
 * free with the listing every job makes anyway, so a deleted or truncated object is found by the very next job
 * whatever the budget; the budget only paces the checksum comparison, which is what finds one changed byte.
 */
import { z } from 'zod';

/** Format version of the scrub state file. */
export const SCRUB_STATE_VERSION = 1;

/** The last check of one SET. */
export const ScrubEntrySchema = z.object({
  /** When it was last checked (ISO-8601 UTC). */
  lastChecked: z.string(),
  /** `intact`; `repaired` (damage found and repaired); `damaged` (damage found and not repaired). */
  verdict: z.enum(['intact', 'repaired', 'damaged']),
  /** What was found, one line per object (empty when intact). */
  findings: z.array(z.string()).default([]),
  /** File names left damaged (verdict `damaged`); absent in states written before it was recorded. */
  unrepaired: z.array(z.string()).optional(),
});
export type ScrubEntry = z.infer<typeof ScrubEntrySchema>;

/** The check state: per SET name, its last check. Kept in the state directory and at the hot-site. */
export const ScrubStateSchema = z.object({
  version: z.literal(SCRUB_STATE_VERSION),
  sets: z.record(z.string(), ScrubEntrySchema),
});
export type ScrubState = z.infer<typeof ScrubStateSchema>;

/** An empty state (nothing ever checked). */
export function emptyScrubState(): ScrubState {
  return { version: SCRUB_STATE_VERSION, sets: {} };
}

/**
 * Parses a state file's text; anything unreadable is an empty state (the scrub then starts over, which only costs
 * requests, never skips a check).
 */
export function parseScrubState(text: string | undefined): ScrubState {
  if (text === undefined) return emptyScrubState();
  try {
    const parsed = ScrubStateSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : emptyScrubState();
  } catch {
    return emptyScrubState();
  }
}

/** Merges two states (local and hot-site): per SET the newer check wins. */
export function mergeScrubStates(a: ScrubState, b: ScrubState): ScrubState {
  const sets: Record<string, ScrubEntry> = { ...a.sets };
  for (const [name, entry] of Object.entries(b.sets)) {
    const mine = sets[name];
    if (!mine || Date.parse(entry.lastChecked) > Date.parse(mine.lastChecked)) sets[name] = entry;
  }
  return { version: SCRUB_STATE_VERSION, sets };
}

/** Keeps only the SETs named (a pruned SET's entry is dropped so the state stays as small as what is kept). */
export function retainScrubState(state: ScrubState, setNames: Iterable<string>): ScrubState {
  const keep = new Set(setNames);
  return { version: SCRUB_STATE_VERSION, sets: Object.fromEntries(Object.entries(state.sets).filter(([name]) => keep.has(name))) };
}

/** A SET the scrub could check, with what checking it costs. */
export interface ScrubCandidate {
  setName: string;
  jobId: number;
  /** Requests a full check of it costs ({@link scrubRequestsForSet}). */
  requests: number;
}

/** Requests a check of one SET costs: a HeadObject per listed file and for the manifest, plus a GetObject of the manifest when no local copy of it is at hand. */
export function scrubRequestsForSet(files: number, manifestIsLocal: boolean): number {
  return files + 1 + (manifestIsLocal ? 0 : 1);
}

/** Which SETs this job checks. */
export interface ScrubPlan {
  /** SET names to check, in order. */
  check: string[];
  /** Requests they cost. */
  requests: number;
  /** SETs left for later jobs. */
  deferred: number;
}

/**
 * Picks the SETs to check:
 * 1. SETs found damaged at their last check, least recently checked first, within half of `budget` (strictly: a
 *    damaged SET costing more waits its turn in step 2) — every job tries them again (an archive copy may have been
 *    restored since, an operator may have put a local copy back, and the damage is counted afresh for the
 *    `UnrepairedDamage` alarm); half, so that damaged SETs never starve the rest;
 * 2. then the others, least recently checked first (never checked before any checked; ties: newest job first, the
 *    likeliest restore), while their cost fits `budget`. Damaged SETs left out by step 1 wait their turn here too.
 * The first SET is always taken, even over budget, so a SET larger than the budget is still checked (one per job)
 * rather than never.
 * @param budget requests per job (`ScrubRequestsPerJob`), ≥ 0; 0 turns the checksum scrub off.
 */
export function planScrub(candidates: readonly ScrubCandidate[], state: ScrubState, budget: number): ScrubPlan {
  if (budget <= 0) return { check: [], requests: 0, deferred: candidates.length };
  const last = (c: ScrubCandidate) => {
    const entry = state.sets[c.setName];
    const ms = entry ? Date.parse(entry.lastChecked) : Number.NaN;
    return Number.isFinite(ms) ? ms : -Infinity;
  };
  const ordered = [...candidates].sort((a, b) => last(a) - last(b) || b.jobId - a.jobId);
  const check: string[] = [];
  let requests = 0;
  const take = (c: ScrubCandidate, limit: number, firstAlways: boolean) => {
    if (check.includes(c.setName) || ((check.length > 0 || !firstAlways) && requests + c.requests > limit)) return;
    check.push(c.setName);
    requests += c.requests;
  };
  for (const c of ordered.filter((x) => state.sets[x.setName]?.verdict === 'damaged')) take(c, Math.floor(budget / 2), false);
  for (const c of ordered) take(c, budget, true);
  return { check, requests, deferred: candidates.length - check.length };
}

/**
 * The files a SET's last check left damaged: its entry's `unrepaired`, or, in a state written before that was
 * recorded, the file named at the start of each finding line that does not say it was repaired.
 */
export function unrepairedFiles(entry: ScrubEntry | undefined): string[] {
  if (!entry || entry.verdict !== 'damaged') return [];
  if (entry.unrepaired) return entry.unrepaired;
  return entry.findings.filter((line) => !/: repaired from /.test(line)).map((line) => line.split(' ')[0]!);
}

/**
 * Jobs needed to check every one of `sets` SETs once at `budget` requests per job, each SET costing `requestsPerSet`
 * (the closing numbers of issue 16: daily jobs make this the days of a full pass).
 */
export function jobsPerFullScrub(sets: number, requestsPerSet: number, budget: number): number {
  if (sets === 0) return 0;
  const perJob = Math.max(1, Math.floor(budget / requestsPerSet));
  return Math.ceil(sets / perJob);
}
