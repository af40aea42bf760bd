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
import { PruneError } from './errors';
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
  hotSite: RetentionPlan & { foreignKeys: number; foreignSample: string[]; problems: Record<string, string[]> };
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
  counter?: RequestCounter;
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

  let hotPlan: RetentionPlan;
  try {
    hotPlan = planRetention({ sets: [...inputs.values()], settings, now });
  } catch (error) {
    throw new PruneError('PLAN_FAILED', `cannot plan hot-site retention: ${describeError(error)}`, { cause: error });
  }
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
    try {
      const plan = planArchiveRetention({
        sets: archived.map((g) => ({
          ...g.input,
          objects: g.listed.objects.map((o) => ({ key: o.key, lastModified: o.lastModified, storageClass: o.storageClass })),
        })),
        archiveRetainCycles: settings.ArchiveRetainCycles,
        setLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR,
        now,
        allowEarlyArchiveDeletion: settings.allowEarlyArchiveDeletion,
      });
      archive = { ...plan, foreignKeys: listed.foreign.length, foreignSample: listed.foreign.slice(0, FOREIGN_SAMPLE) };
    } catch (error) {
      throw new PruneError('PLAN_FAILED', `cannot plan archive retention: ${describeError(error)}`, { cause: error });
    }
  }

  const keptEntries = gathered.filter((g) => hotPlan.keep.includes(g.entry.jobId)).map((g) => g.entry);
  const document: PrunePlanDocument = {
    kind: 'commserve-dr-prune-plan',
    formatVersion: 1,
    jobId: options.jobId,
    createdAt: now.toISOString(),
    bucket,
    dryRun: options.dryRun,
    settings,
    hotSite: { ...hotPlan, foreignKeys: hot.foreign.length, foreignSample: hot.foreign.slice(0, FOREIGN_SAMPLE), problems },
    archive,
    index: keptEntries,
  };
  return { document, hotSets: hot.sets, archiveSets };
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
