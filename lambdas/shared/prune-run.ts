/**
 * Pruning, plan → record → delete (SPEC §5), shared by the PruneSets Lambda and `commserve-dr prune`:
 * {@link planPrune} lists the hot-site and plans (no change anywhere); {@link applyPrune} writes the
 * plan record, then deletes the expired hot-site SETs and, when asked, expired archive copies.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { JobRecord } from '#core/job';
import { ARCHIVE_PREFIX, SETS_PREFIX } from '#core/hotsite-layout';
import {
  planArchiveRetention,
  planRetention,
  type ArchiveRetentionPlan,
  type RetentionPlan,
  type RetentionSetInput,
} from '#core/retention';
import { describeError } from '#core/errors';
import { planSetLocks, type SetLockPolicy, type SetLockTarget } from '#core/set-locks';
import { PruneError } from './errors';
import { applySetLocks, findSetLocks, type LockOutcome } from './prune-locks';
import type { PruneSettings } from './prune-env';
import {
  deleteSets,
  gatherSets,
  groupBySet,
  listPrefix,
  listRecordKeys,
  readPreviousIndex,
  writePlanRecord,
  type DeleteFailure,
  type DeleteOptions,
  type ExpectedStatus,
  type IndexEntry,
  type ListedSet,
  type RequestCounter,
} from './prune-io';

/** At most this many foreign keys are named in a plan record (all are counted). */
const FOREIGN_SAMPLE = 50;

/** The plan record (`prune/<jobId>.json`), also the `--json` document of `prune`. */
export interface PrunePlanDocument {
  kind: 'commserve-dr-prune-plan';
  formatVersion: 1;
  /** The job that pruned, or null for an operator's prune. */
  jobId: number | null;
  createdAt: string;
  bucket: string;
  dryRun: boolean;
  settings: PruneSettings;
  hotSite: RetentionPlan & {
    foreignKeys: number;
    foreignSample: string[];
    problems: Record<string, string[]>;
    /** Object Lock planned for the kept SETs (when `sets/` objects are locked): until when, and why. */
    locks?: SetLockTarget[];
    /** What locking them did (written after it was done, before any delete). */
    lockOutcome?: LockOutcome;
  };
  /** Null when `ArchiveRetainCycles` is null and archive/ was not listed. */
  archive: (ArchiveRetentionPlan & { foreignKeys: number; foreignSample: string[] }) | null;
  /** What the next prune may reuse instead of reading manifests and records again. */
  index: IndexEntry[];
}

/** A plan and the listings it was made from. */
export interface PreparedPrune {
  document: PrunePlanDocument;
  hotSets: Map<number, ListedSet>;
  archiveSets: Map<number, ListedSet>;
}

/** Options of {@link planPrune}. */
export interface PlanPruneOptions {
  settings: PruneSettings;
  now: Date;
  jobId: number | null;
  dryRun: boolean;
  /** Statuses vouched for (the running job's own SET). */
  expected?: ReadonlyMap<number, ExpectedStatus>;
  /** Job records known already (local history). */
  records?: ReadonlyMap<number, JobRecord>;
  /**
   * SETs known elsewhere (the phase-1 destination), merged with the hot-site's by job id: a SET in
   * either place is planned once; the complete copy's summary wins and the newest write time counts.
   */
  localSets?: ReadonlyMap<number, RetentionSetInput>;
  /** Object Lock: look up locks before expiring, and lock the kept `sets/` objects. Default: neither. */
  locks?: PruneLockOptions;
  counter?: RequestCounter;
}

/** Object Lock handling of a prune (issue 21 item 3). */
export interface PruneLockOptions {
  /**
   * Look up the Object Lock of every object of each SET the plan would expire (HeadObject; needs
   * `s3:GetObjectRetention`, without which S3 leaves the lock out of the answer) and keep a SET still locked
   * (`object-locked`). On whenever the bucket has Object Lock enabled.
   */
  check: boolean;
  /** Lock the kept hot-site SETs until their cycle can expire (core/set-locks.ts), in this mode. */
  sets?: SetLockPolicy;
}

/** Merges two views of one SET: the complete one's summary, the newest write time. */
export function mergeSetInputs(a: RetentionSetInput | undefined, b: RetentionSetInput | undefined): RetentionSetInput {
  if (!a) return b!;
  if (!b) return a;
  const primary = a.summary.complete || !b.summary.complete ? a : b;
  const other = primary === a ? b : a;
  const lastModified = [a.lastModified, b.lastModified].filter((t): t is string => t !== undefined).sort().at(-1);
  const phase2 = primary.phase2 && primary.phase2 !== 'unknown' ? primary.phase2 : (other.phase2 ?? 'unknown');
  return { summary: primary.summary, phase2, ...(lastModified ? { lastModified } : {}) };
}

/**
 * Lists `sets/` (and `archive/` when `ArchiveRetainCycles` is set), reads what the plan needs and
 * plans both areas. Changes nothing.
 * @throws PruneError `LIST_FAILED`/`READ_FAILED` when the hot-site cannot be read, `PLAN_FAILED` when
 *   the SETs found are inconsistent (e.g. a manifest naming an impossible cycle).
 */
export async function planPrune(s3: S3Client, bucket: string, options: PlanPruneOptions): Promise<PreparedPrune> {
  const { settings, now, counter } = options;
  const index = await readPreviousIndex(s3, bucket, counter);
  const recordKeys = await listRecordKeys(s3, bucket, counter);
  const hot = groupBySet(await listPrefix(s3, bucket, SETS_PREFIX, counter), 'sets');
  const gathered = await gatherSets(s3, bucket, hot.sets.values(), {
    index,
    records: options.records,
    recordKeys,
    expected: options.expected,
    readManifests: true,
    counter,
  });
  const inputs = new Map(gathered.map((g) => [g.input.summary.jobId, g.input]));
  for (const [jobId, local] of options.localSets ?? []) inputs.set(jobId, mergeSetInputs(inputs.get(jobId), local));

  const hotPlan = await planWithLocks(s3, bucket, 'hot-site', inputs, hot.sets, options, (sets) => planRetention({ sets, settings, now }));
  const problems: Record<string, string[]> = {};
  for (const g of gathered) if (g.problems.length) problems[g.listed.setName] = g.problems;

  let archive: PrunePlanDocument['archive'] = null;
  let archiveSets = new Map<number, ListedSet>();
  if (settings.ArchiveRetainCycles !== null) {
    const listed = groupBySet(await listPrefix(s3, bucket, ARCHIVE_PREFIX, counter), 'archive');
    archiveSets = listed.sets;
    // What the hot-site copy told us about the same job is the best index for its archive copy.
    const archiveIndex = new Map(index);
    for (const g of gathered) if (g.entry.complete) archiveIndex.set(g.entry.jobId, g.entry);
    const archived = await gatherSets(s3, bucket, listed.sets.values(), {
      index: archiveIndex,
      records: options.records,
      recordKeys,
      readManifests: false,
      counter,
    });
    const archivedInputs = new Map(
      archived.map((g) => [
        g.input.summary.jobId,
        { ...g.input, objects: g.listed.objects.map((o) => ({ key: o.key, lastModified: o.lastModified, storageClass: o.storageClass })) },
      ]),
    );
    const plan = await planWithLocks(s3, bucket, 'archive', archivedInputs, listed.sets, options, (sets) =>
      planArchiveRetention({
        sets,
        archiveRetainCycles: settings.ArchiveRetainCycles,
        setLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR,
        now,
        allowEarlyArchiveDeletion: settings.allowEarlyArchiveDeletion,
      }),
    );
    archive = { ...plan, foreignKeys: listed.foreign.length, foreignSample: listed.foreign.slice(0, FOREIGN_SAMPLE) };
  }

  const keptEntries = gathered.filter((g) => hotPlan.keep.includes(g.entry.jobId)).map((g) => g.entry);
  const locks = options.locks?.sets ? planSetLocks({ sets: [...inputs.values()], plan: hotPlan, policy: options.locks.sets, now }) : undefined;
  const document: PrunePlanDocument = {
    kind: 'commserve-dr-prune-plan',
    formatVersion: 1,
    jobId: options.jobId,
    createdAt: now.toISOString(),
    bucket,
    dryRun: options.dryRun,
    settings,
    hotSite: { ...hotPlan, foreignKeys: hot.foreign.length, foreignSample: hot.foreign.slice(0, FOREIGN_SAMPLE), problems, ...(locks ? { locks } : {}) },
    archive,
    index: keptEntries,
  };
  return { document, hotSets: hot.sets, archiveSets };
}

/**
 * Plans one area; when locks are checked, looks up the Object Lock of the SETs that plan expires and plans again with
 * what it found, so a SET still locked (and what it depends on) is kept with its date (`object-locked`).
 * @throws PruneError `PLAN_FAILED` naming the area; `READ_FAILED` when a lock cannot be read.
 */
async function planWithLocks<I extends RetentionSetInput, P extends { expire: readonly number[] }>(
  s3: S3Client,
  bucket: string,
  area: 'hot-site' | 'archive',
  inputs: ReadonlyMap<number, I>,
  listed: ReadonlyMap<number, ListedSet>,
  options: PlanPruneOptions,
  plan: (sets: I[]) => P,
): Promise<P> {
  const attempt = (sets: I[]): P => {
    try {
      return plan(sets);
    } catch (error) {
      throw new PruneError('PLAN_FAILED', `cannot plan ${area} retention: ${describeError(error)}`, { cause: error });
    }
  };
  const first = attempt([...inputs.values()]);
  if (!options.locks?.check || first.expire.length === 0) return first;
  const expiring = first.expire.flatMap((id) => listed.get(id) ?? []);
  const found = await findSetLocks(s3, bucket, expiring, options.now, options.counter);
  if (found.size === 0) return first;
  return attempt([...inputs.values()].map((i) => (found.has(i.summary.jobId) ? { ...i, lock: found.get(i.summary.jobId) } : i)));
}

/**
 * Locks the kept hot-site SETs as the plan says (`document.hotSite.locks`), recording the outcome in the document
 * and the lock dates in its index; nothing when no lock is planned. Call between {@link planPrune} and
 * {@link applyPrune}, so the plan record written before any delete says what was locked.
 */
export async function lockKeptSets(
  s3: S3Client,
  bucket: string,
  prepared: PreparedPrune,
  counter?: RequestCounter,
  wallClock?: () => number,
): Promise<LockOutcome | undefined> {
  const { hotSite, index } = prepared.document;
  if (!hotSite.locks) return undefined;
  const outcome = await applySetLocks(s3, bucket, hotSite.locks, prepared.hotSets, new Map(index.map((e) => [e.jobId, e])), counter, wallClock);
  hotSite.lockOutcome = outcome;
  return outcome;
}

/** What {@link applyPrune} did. */
export interface PruneOutcome {
  /** Key of the plan record written before anything was deleted. */
  planKey: string;
  hotSite: { setsExpired: number; setsDeleted: number[]; objectsDeleted: number };
  archive: { setsExpired: number; setsDeleted: number[]; objectsDeleted: number } | null;
  /** Keys that could not be deleted after the retries (at most 100 named; `failedCount` counts all). */
  failures: DeleteFailure[];
  failedCount: number;
}

/**
 * Writes the plan record at `planKey`, then deletes the expired hot-site SETs and expired archive
 * copies (manifests first). Per-key failures are retried, then reported in the outcome.
 * @throws PruneError `RECORD_WRITE_FAILED` when the record cannot be written (nothing is deleted).
 */
export async function applyPrune(
  s3: S3Client,
  bucket: string,
  prepared: PreparedPrune,
  planKey: string,
  options: DeleteOptions = {},
): Promise<PruneOutcome> {
  const { document } = prepared;
  await writePlanRecord(s3, bucket, planKey, document, options.counter);
  const hotExpired = document.hotSite.expire.flatMap((id) => prepared.hotSets.get(id) ?? []);
  const hot = await deleteSets(s3, bucket, hotExpired, options);
  let archive: PruneOutcome['archive'] = null;
  const failures = [...hot.failed];
  if (document.archive) {
    const expired = document.archive.expire.flatMap((id) => prepared.archiveSets.get(id) ?? []);
    const result = await deleteSets(s3, bucket, expired, options);
    archive = { setsExpired: expired.length, setsDeleted: result.setsDeleted, objectsDeleted: result.deleted };
    failures.push(...result.failed);
  }
  return {
    planKey,
    hotSite: { setsExpired: document.hotSite.expire.length, setsDeleted: hot.setsDeleted, objectsDeleted: hot.deleted },
    archive,
    failures: failures.slice(0, 100),
    failedCount: failures.length,
  };
}
