/**
 * Cycles (SPEC §5): which SETs belong together, and the verdicts retention, the `sets` command
 * and recovery build on.
 *
 * - A **cycle** starts with a *successful* FULL and includes every DIFFERENTIAL up to the next FULL.
 * - It is **complete** only once the following FULL has succeeded.
 * - It is **successful** only if its last DIFFERENTIAL succeeded; a cycle with no DIFFERENTIAL is
 *   successful if its FULL succeeded (which it always did, or it would not start a cycle).
 *   Intermediate DIFFERENTIALs may have failed: the last one holds every change since the FULL.
 *
 * Decisions where §5 is silent (each one is covered by a scenario test):
 * - A SET is **successful** when it is complete (has a manifest) *and* its job status produced a
 *   usable SET (`Completed` or `Completed With One or More Errors`). A `Running` job's SET is not
 *   successful yet, even with a manifest: its status may still become `Failed`.
 * - A FULL that is not successful (Failed, Killed, incomplete, still running) starts no cycle, does not
 *   complete the cycle before it, and is listed as an orphan.
 * - A DIFFERENTIAL's manifest `cycleId` (the job id of its FULL) is authoritative: the DIFFERENTIAL
 *   belongs to that cycle wherever it sits in job order. When that FULL is missing or did not
 *   succeed, the DIFFERENTIAL is an orphan.
 * - A DIFFERENTIAL without a `cycleId` (no manifest, so usually a failed or running job) is placed by
 *   position: it belongs to the cycle of the nearest earlier FULL, if that FULL succeeded. After an
 *   unsuccessful FULL, or before any FULL, it is an orphan (nothing says which cycle it belongs to).
 *   Failed DIFFERENTIALs placed in a cycle are members of it: that is what lets a failed *last*
 *   DIFFERENTIAL make its cycle unsuccessful.
 * - Every input SET appears exactly once in the report: as a cycle's FULL, as one of a cycle's
 *   DIFFERENTIALs, or as an orphan with a reason.
 *
 * Pure: no I/O. Input order does not matter (SETs are sorted by job id).
 */
import { CommserveDrError } from './errors';
import { ALL_JOB_STATUSES, JobStatus, statusProducesUsableSet } from './job-status';
import { BackupType, legacySetName, parseSetName, setName as setNameOf } from './set-id';

/** Status of a job whose final status is not known yet (its upload or phase 2 may still be in progress). */
export const RUNNING = 'Running' as const;

/** A job's final status (SPEC §4.4), or {@link RUNNING} while the job has not finished. */
export type SetStatus = JobStatus | typeof RUNNING;

/**
 * What cycles need to know about one SET: from the SET listing, its manifest (when present) and its
 * job record.
 */
export interface SetSummary {
  /** Job id of the job that produced the SET (positive integer, unique). */
  readonly jobId: number;
  /** `SET_<jobId>` (SPEC §2); must match `jobId`. */
  readonly setName: string;
  /** The type the job actually ran (a promoted DIFFERENTIAL is a FULL). */
  readonly backupType: BackupType;
  /** The job's status, or `Running` when the job has not finished (its upload may still be in progress). */
  readonly status: SetStatus;
  /** Whether the SET has its manifest (SPEC §3: the manifest, written last, makes a SET complete). */
  readonly complete: boolean;
  /**
   * From the manifest: the job id of the cycle's FULL (equals `jobId` for a FULL). Absent for an
   * incomplete SET. When present it decides which cycle a DIFFERENTIAL belongs to.
   */
  readonly cycleId?: number;
  /** End time of the job (ISO-8601 UTC), when known. Passed through, not interpreted. */
  readonly endTime?: string;
  /** Size of the SET in bytes, when known. Passed through, not interpreted. */
  readonly bytes?: number;
  /** LOG only, from the manifest: the job id of the point this LOG continues (`previousSet`). Read by `log-chain.ts`. */
  readonly previousJobId?: number;
  /** From the manifest: the moment the SET's database state was captured (ISO-8601 UTC). Read by `log-chain.ts`. */
  readonly pointTime?: string;
  /**
   * Why the SET's manifest was refused (not valid JSON, not a manifest, an unsafe file name such as a path that
   * escapes the SET folder), naming the manifest and the entry: the SET then counts as incomplete, but is never
   * described as having no manifest (newcomer review finding 3).
   */
  readonly manifestRefused?: string;
}

/**
 * A point the database can be restored to: a successful FULL alone, or that FULL plus one successful
 * DIFFERENTIAL of the same cycle (DIFFERENTIALs are cumulative, so one is enough).
 */
export interface RestorablePoint {
  /** Job id of the FULL, which is the cycle id. */
  readonly cycleId: number;
  /** The FULL to restore first. Always complete and successful. */
  readonly full: SetSummary;
  /** The DIFFERENTIAL to restore on top, if any. Always complete, successful and of this cycle. */
  readonly differential?: SetSummary;
  /**
   * The LOG points to apply on top, oldest first (SPEC §4.5), when the point is a LOG: its chain back to the FULL or
   * the DIFFERENTIAL it continues (see `log-chain.ts`). Absent for a FULL or DIFFERENTIAL point.
   */
  readonly logs?: readonly SetSummary[];
  /** Job id of the newest SET of the point (the last LOG's, else the DIFFERENTIAL's, else the FULL's): the state restored. */
  readonly jobId: number;
  /** The SETs to restore, in order: the FULL, then the DIFFERENTIAL if any, then the LOGs oldest first. */
  readonly sets: readonly SetSummary[];
}

/** Human-readable explanations of a cycle's verdicts, for `sets`, `prune --dry-run` and logs. */
export interface CycleReasons {
  /** Why the cycle is complete or still open. */
  readonly complete: string;
  /** Why the cycle is successful or not. */
  readonly successful: string;
  /** What the cycle can be restored to. */
  readonly restorablePoint: string;
  /** Remarks that do not change a verdict: failed intermediate DIFFERENTIALs, DIFFERENTIALs placed by position or by `cycleId` out of job order. */
  readonly notes: readonly string[];
}

/** One cycle (SPEC §5). */
export interface Cycle {
  /** Job id of the cycle's FULL. */
  readonly cycleId: number;
  /** The successful FULL that starts the cycle. */
  readonly full: SetSummary;
  /** The cycle's DIFFERENTIALs, oldest first, whatever their outcome (failed ones included). */
  readonly differentials: readonly SetSummary[];
  /**
   * The cycle's LOG points (SPEC §4.5), oldest first, whatever their outcome. They never change the cycle's verdicts
   * (complete, successful, restorable point): a LOG is a point between DIFFERENTIALs, chained by `previousJobId`
   * (see `log-chain.ts`), and expires with its cycle.
   */
  readonly logs: readonly SetSummary[];
  /** True once a later FULL has succeeded; only the newest cycle can be open. */
  readonly complete: boolean;
  /** The successful FULL that completed this cycle (the next cycle's FULL); absent while open. */
  readonly completedBy?: SetSummary;
  /** True when the last DIFFERENTIAL succeeded, or when there is no DIFFERENTIAL. Only complete successful cycles count towards retention. */
  readonly successful: boolean;
  /** The newest DIFFERENTIAL of the cycle (by job id), whatever its outcome; absent when there is none. */
  readonly lastDifferential?: SetSummary;
  /** The FULL plus the newest successful DIFFERENTIAL of the cycle, or the FULL alone. */
  readonly restorablePoint: RestorablePoint;
  readonly reasons: CycleReasons;
}

/** Why a SET belongs to no cycle. */
export type OrphanCode =
  /** A FULL that did not succeed (Failed, Killed, no manifest, or still running): it starts no cycle. */
  | 'unsuccessful-full'
  /** A DIFFERENTIAL or LOG with no `cycleId` and no FULL before it. */
  | 'before-first-full'
  /** A DIFFERENTIAL with no `cycleId` whose nearest earlier FULL did not succeed. */
  | 'after-unsuccessful-full'
  /** A DIFFERENTIAL whose `cycleId` names a SET that is not listed, or is not a FULL. */
  | 'base-full-missing'
  /** A DIFFERENTIAL whose `cycleId` names a FULL that did not succeed. */
  | 'base-full-unusable';

/** A SET that belongs to no cycle. */
export interface Orphan {
  readonly set: SetSummary;
  readonly code: OrphanCode;
  /** One sentence for an operator. */
  readonly reason: string;
}

/** The result of {@link buildCycles}. */
export interface CycleReport {
  /** Every cycle, oldest first (by cycle id). The open cycle, if any, is the last one. */
  readonly cycles: readonly Cycle[];
  /** The current open cycle: the newest cycle, which is never complete. Absent only when there is no cycle. Same object as the last of `cycles`. */
  readonly openCycle?: Cycle;
  /** SETs that belong to no cycle, by job id, each with a reason. */
  readonly orphans: readonly Orphan[];
  /**
   * The newest restorable point: of the cycles' restorable points, the one whose newest SET has the highest job id —
   * normally the newest cycle's (the open one: a cycle's FULL succeeded, so it is restorable even while open). It
   * differs only when DIFFERENTIALs were taken on an older FULL after a newer one, e.g. after a day whose FULL went
   * straight to the hot-site (unwritable phase-1 destination): the next DIFFERENTIALs are based on the newest FULL in
   * the phase-1 destination, and their point is newer than that FULL alone. Absent when no FULL has succeeded.
   */
  readonly newestRestorablePoint?: RestorablePoint;
}

/** The input of {@link buildCycles} is inconsistent (duplicate job ids, a bad job id or cycle id). */
export class CycleInputError extends CommserveDrError {
  constructor(code: 'DUPLICATE_JOB_ID' | 'INVALID_SET_SUMMARY', message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** Whether a SET is usable: complete (has a manifest) and its job finished Completed or Completed With One or More Errors. */
export function isSuccessfulSet(set: SetSummary): boolean {
  return set.complete && set.status !== RUNNING && statusProducesUsableSet(set.status);
}

/** Why a SET is incomplete, in words: `no manifest`, or `manifest refused: <reason>` (see {@link SetSummary.manifestRefused}). */
export function incompleteWhy(set: Pick<SetSummary, 'manifestRefused'>): string {
  return set.manifestRefused ? `manifest refused: ${set.manifestRefused}` : 'no manifest';
}

/** A SET's outcome as a verb phrase, e.g. `failed (Killed)`, `is incomplete (no manifest; job Failed)`, `succeeded (Completed)`. */
export function describeSetOutcome(set: SetSummary): string {
  if (set.status === RUNNING) return set.complete ? 'is still running (no final status yet)' : 'is still running (upload may be in progress)';
  if (!set.complete) return `is incomplete (${incompleteWhy(set)}; job ${set.status})`;
  if (!statusProducesUsableSet(set.status)) return `failed (${set.status})`;
  return `succeeded (${set.status})`;
}

/**
 * Groups SETs into cycles and gives each cycle its verdicts (SPEC §5); see the module comment for
 * the rules and the decisions taken where §5 is silent.
 * @param sets every SET known (hot-site listing joined with manifests and job records), in any order.
 * @returns cycles oldest first, the open cycle, orphans with reasons and the newest restorable point.
 * @throws CycleInputError `DUPLICATE_JOB_ID` when two SETs share a job id; `INVALID_SET_SUMMARY` when a
 *   job id is not a positive integer, a SET name does not match its job id, a status or type is
 *   unknown, or a `cycleId` contradicts the manifest rules (a FULL's is its own job id, a
 *   DIFFERENTIAL's is an earlier job id).
 */
export function buildCycles(sets: readonly SetSummary[]): CycleReport {
  const sorted = validateAndSort(sets);
  const byJobId = new Map(sorted.map((s) => [s.jobId, s]));
  const fulls = sorted.filter((s) => s.backupType === BackupType.Full);
  const starts = fulls.filter(isSuccessfulSet);
  const members = new Map<number, { set: SetSummary; note?: string }[]>(starts.map((f) => [f.jobId, []]));
  const orphans: Orphan[] = [];

  let nearestFull: SetSummary | undefined;
  for (const set of sorted) {
    if (set.backupType === BackupType.Full) {
      nearestFull = set;
      if (!members.has(set.jobId)) {
        orphans.push({ set, code: 'unsuccessful-full', reason: `FULL ${set.setName} ${describeSetOutcome(set)}: it starts no cycle` });
      }
      continue;
    }
    const placed = placeDifferential(set, nearestFull, byJobId, members);
    if ('orphan' in placed) orphans.push(placed.orphan);
    else members.get(placed.cycleId)!.push({ set, note: placed.note });
  }

  const cycles = starts.map((full, i) => {
    const placed = members.get(full.jobId)!;
    const cycle = makeCycle(full, starts[i + 1], placed.filter((p) => p.set.backupType !== BackupType.Log), fulls);
    return { ...cycle, logs: placed.filter((p) => p.set.backupType === BackupType.Log).map((p) => p.set) };
  });
  const newest = cycles.at(-1);
  return {
    cycles,
    openCycle: newest && !newest.complete ? newest : undefined,
    orphans,
    newestRestorablePoint: newestPoint(cycles),
  };
}

/** The cycles' restorable point whose newest SET has the highest job id (ties: the newer cycle), if any. */
function newestPoint(cycles: readonly Cycle[]): RestorablePoint | undefined {
  let best: RestorablePoint | undefined;
  for (const c of cycles) if (!best || c.restorablePoint.jobId >= best.jobId) best = c.restorablePoint;
  return best;
}

type Placement = { cycleId: number; note?: string } | { orphan: Orphan };

function placeDifferential(
  set: SetSummary,
  nearestFull: SetSummary | undefined,
  byJobId: ReadonlyMap<number, SetSummary>,
  members: ReadonlyMap<number, unknown>,
): Placement {
  const name = set.setName;
  const kind = set.backupType;
  if (set.cycleId !== undefined) {
    const base = byJobId.get(set.cycleId);
    const baseName = base?.setName ?? setNameOf(set.cycleId); // as listed; when not listed, the new spelling
    if (!base) {
      return { orphan: { set, code: 'base-full-missing', reason: `${kind} ${name} belongs to cycle ${set.cycleId} by its manifest, but its FULL ${baseName} is not listed` } };
    }
    if (base.backupType !== BackupType.Full) {
      return { orphan: { set, code: 'base-full-missing', reason: `${kind} ${name} names ${baseName} as its FULL, but ${baseName} is a ${base.backupType}` } };
    }
    if (!members.has(base.jobId)) {
      return { orphan: { set, code: 'base-full-unusable', reason: `${kind} ${name} is based on FULL ${baseName}, which ${describeSetOutcome(base)}: that FULL starts no cycle` } };
    }
    const note =
      nearestFull && nearestFull.jobId !== base.jobId
        ? `${kind} ${name} follows FULL ${nearestFull.setName} but belongs to this cycle by its manifest's cycle id`
        : undefined;
    return { cycleId: base.jobId, note };
  }
  if (!nearestFull) {
    return { orphan: { set, code: 'before-first-full', reason: `${kind} ${name} (${describeSetOutcome(set)}) has no cycle id and no FULL precedes it` } };
  }
  if (!members.has(nearestFull.jobId)) {
    return {
      orphan: {
        set,
        code: 'after-unsuccessful-full',
        reason: `${kind} ${name} (${describeSetOutcome(set)}) has no cycle id, and the FULL before it, ${nearestFull.setName}, ${describeSetOutcome(nearestFull)}`,
      },
    };
  }
  return { cycleId: nearestFull.jobId, note: `${kind} ${name} has no cycle id: placed in this cycle as it follows FULL ${nearestFull.setName}` };
}

function makeCycle(full: SetSummary, next: SetSummary | undefined, placed: readonly { set: SetSummary; note?: string }[], fulls: readonly SetSummary[]): Cycle {
  const differentials = placed.map((p) => p.set);
  const last = differentials.at(-1);
  const newestGood = differentials.findLast(isSuccessfulSet);
  const complete = next !== undefined;
  const successful = last === undefined || isSuccessfulSet(last);

  const notes: string[] = placed.flatMap((p) => (p.note ? [p.note] : []));
  for (const d of differentials) {
    if (d !== last && !isSuccessfulSet(d)) {
      notes.push(`intermediate DIFFERENTIAL ${d.setName} ${describeSetOutcome(d)}; this does not matter, the last DIFFERENTIAL holds every change since the FULL`);
    }
  }

  let completeReason: string;
  if (next) {
    completeReason = `complete: the following FULL ${next.setName} succeeded`;
  } else {
    const laterFailed = fulls.filter((f) => f.jobId > full.jobId);
    completeReason =
      laterFailed.length === 0
        ? 'open: no later FULL yet'
        : `open: no later FULL has succeeded (${laterFailed.map((f) => `${f.setName} ${describeSetOutcome(f)}`).join('; ')})`;
  }

  let successfulReason: string;
  if (!last) successfulReason = `successful: no DIFFERENTIAL, and its FULL ${full.setName} succeeded`;
  else if (successful) successfulReason = `successful: its last DIFFERENTIAL ${last.setName} succeeded`;
  else successfulReason = `not successful: its last DIFFERENTIAL ${last.setName} ${describeSetOutcome(last)}, so the cycle cannot be restored to its end point`;

  const restorablePoint: RestorablePoint = newestGood
    ? { cycleId: full.jobId, full, differential: newestGood, jobId: newestGood.jobId, sets: [full, newestGood] }
    : { cycleId: full.jobId, full, jobId: full.jobId, sets: [full] };
  const pointReason = newestGood
    ? `restorable to ${newestGood.setName}: FULL ${full.setName} + DIFFERENTIAL ${newestGood.setName}`
    : `restorable to ${full.setName}: the FULL alone${differentials.length ? ' (no DIFFERENTIAL of the cycle succeeded)' : ''}`;

  return {
    cycleId: full.jobId,
    full,
    differentials,
    logs: [],
    complete,
    ...(next ? { completedBy: next } : {}),
    successful,
    ...(last ? { lastDifferential: last } : {}),
    restorablePoint,
    reasons: { complete: completeReason, successful: successfulReason, restorablePoint: pointReason, notes },
  };
}

const STATUSES: readonly string[] = [...ALL_JOB_STATUSES, RUNNING];

function validateAndSort(sets: readonly SetSummary[]): SetSummary[] {
  if (!Array.isArray(sets)) throw new CycleInputError('INVALID_SET_SUMMARY', 'buildCycles expects an array of SET summaries');
  const seen = new Map<number, SetSummary>();
  const duplicates = new Set<number>();
  for (const set of sets) {
    validateOne(set);
    if (seen.has(set.jobId)) duplicates.add(set.jobId);
    seen.set(set.jobId, set);
  }
  if (duplicates.size > 0) {
    const ids = [...duplicates].sort((a, b) => a - b);
    throw new CycleInputError('DUPLICATE_JOB_ID', `duplicate job id${ids.length > 1 ? 's' : ''} ${ids.join(', ')}: each SET must be listed once (${[...new Set(sets.filter((s) => duplicates.has(s.jobId)).map((s) => s.setName))].join(', ')})`, {
      context: { jobIds: ids },
    });
  }
  return [...sets].sort((a, b) => a.jobId - b.jobId);
}

function validateOne(set: SetSummary): void {
  const invalid = (message: string): never => {
    throw new CycleInputError('INVALID_SET_SUMMARY', message, { context: { jobId: set?.jobId, setName: set?.setName } });
  };
  if (typeof set !== 'object' || set === null) invalid('a SET summary must be an object');
  let newName: string;
  try {
    newName = setNameOf(set.jobId);
  } catch (error) {
    throw new CycleInputError('INVALID_SET_SUMMARY', `invalid job id ${String(set.jobId)} for SET ${String(set.setName)}`, { cause: error });
  }
  // Either spelling of the job id (legacy SET_042 or new SET_0000042): the name as the SET was written.
  if (typeof set.setName !== 'string' || parseSetName(set.setName) !== set.jobId) {
    invalid(`SET name ${String(set.setName)} does not match job id ${set.jobId} (expected ${newName} or ${legacySetName(set.jobId)})`);
  }
  const expectedName = set.setName;
  if (set.backupType !== BackupType.Full && set.backupType !== BackupType.Differential && set.backupType !== BackupType.Log) invalid(`${expectedName}: unknown backup type ${String(set.backupType)}`);
  if (!STATUSES.includes(set.status)) invalid(`${expectedName}: unknown status ${String(set.status)}`);
  if (typeof set.complete !== 'boolean') invalid(`${expectedName}: complete must be true or false`);
  if (set.cycleId !== undefined) {
    if (!Number.isSafeInteger(set.cycleId) || set.cycleId < 1) invalid(`${expectedName}: invalid cycle id ${String(set.cycleId)}`);
    if (set.backupType === BackupType.Full && set.cycleId !== set.jobId) invalid(`${expectedName}: a FULL starts its own cycle, but its cycle id is ${set.cycleId}`);
    if (set.backupType !== BackupType.Full && set.cycleId >= set.jobId) invalid(`${expectedName}: a ${set.backupType} belongs to an earlier FULL, but its cycle id is ${set.cycleId}`);
  }
}
