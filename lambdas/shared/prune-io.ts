/**
 * Hot-site I/O of pruning (SPEC §5), shared by the PruneSets Lambda and `commserve-dr prune`:
 * list an area with ListObjectsV2 pagination, turn the listing into the planner's input (manifests,
 * job records, and the previous plan record as an index), write the plan record, and delete with
 * DeleteObjects in batches of at most 1,000 keys.
 *
 * Requests grow with objects/1000 plus the SETs that are new since the previous plan: a SET whose
 * manifest ETag matches the previous plan record's index entry, and whose status came from its job
 * record, is taken from the index without reading its manifest or record again.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { describeError } from '#core/errors';
import { jobRecordKey, JOBS_PREFIX, MANIFEST_FILE, parseSetObjectKey, type SetArea } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { isJobStatus, JobStatus } from '#core/job-status';
import { chainFields } from '#core/log-chain';
import { MANIFEST_MAX_BYTES, parseManifest } from '#core/manifest';
import type { Phase2Outcome, RetentionSetInput } from '#core/retention';
import { BackupType, legacySetName } from '#core/set-id';
import { mapWithConcurrency } from './concurrency';
import { PruneError } from './errors';
import { readStreamCapped } from './hash';
import { describeS3Error, isNotFound } from './s3';
import { backupTypeFromFileNames } from '#core/dump-files';

/** Prefix of the plan records: `prune/<jobId>.json` (or `prune/manual-<time>.json` for an operator's prune). */
export const PRUNE_PREFIX = 'prune/';
/** DeleteObjects accepts at most this many keys per request (S3 API reference). */
export const DELETE_BATCH_MAX = 1000;
/** GETs (manifests, job records) in flight at once. */
const READ_CONCURRENCY = 8;

/** `prune/001.json`-style key of the plan record of a job. */
export function pruneRecordKey(jobId: number): string {
  return `${PRUNE_PREFIX}${legacySetName(jobId).slice('SET_'.length)}.json`;
}

/** One listed object. */
export interface ListedObject {
  key: string;
  size: number;
  /** ISO-8601. */
  lastModified?: string;
  storageClass?: string;
  eTag?: string;
}

/** Counts S3 requests by operation (for logs and the measurement of the issue). */
export type RequestCounter = Record<string, number>;

const count = (counter: RequestCounter | undefined, op: string): void => {
  if (counter) counter[op] = (counter[op] ?? 0) + 1;
};

/**
 * Every object under `prefix` (ListObjectsV2, 1,000 keys a page, following continuation tokens).
 * @throws PruneError `LIST_FAILED` when a page cannot be listed.
 */
export async function listPrefix(s3: S3Client, bucket: string, prefix: string, counter?: RequestCounter): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  try {
    do {
      count(counter, 'ListObjectsV2');
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        objects.push({
          key: o.Key,
          size: o.Size ?? 0,
          ...(o.LastModified ? { lastModified: o.LastModified.toISOString() } : {}),
          ...(o.StorageClass ? { storageClass: o.StorageClass } : {}),
          ...(o.ETag ? { eTag: o.ETag } : {}),
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw new PruneError('LIST_FAILED', `cannot list s3://${bucket}/${prefix}: ${describeS3Error(error)}`, { cause: error });
  }
  return objects;
}

/** The objects of one SET in an area. */
export interface ListedSet {
  jobId: number;
  setName: string;
  objects: ListedObject[];
  manifest?: ListedObject;
  /** Newest `LastModified` of its objects (ISO-8601). */
  lastModified?: string;
}

/**
 * Groups a listing of `sets/` or `archive/` by SET. Keys that are not objects of a SET of this
 * product (another layout, a foreign file name, a non-canonical SET name) go to `foreign`: never touched.
 */
export function groupBySet(objects: readonly ListedObject[], area: SetArea): { sets: Map<number, ListedSet>; foreign: string[] } {
  const sets = new Map<number, ListedSet>();
  const foreign: string[] = [];
  for (const o of objects) {
    const parsed = parseSetObjectKey(o.key);
    if (!parsed || parsed.area !== area) {
      foreign.push(o.key);
      continue;
    }
    const entry = sets.get(parsed.jobId) ?? { jobId: parsed.jobId, setName: parsed.setName, objects: [] };
    entry.objects.push(o);
    if (parsed.file === MANIFEST_FILE) entry.manifest = o;
    if (o.lastModified && (!entry.lastModified || o.lastModified > entry.lastModified)) entry.lastModified = o.lastModified;
    sets.set(parsed.jobId, entry);
  }
  return { sets, foreign };
}

/** Where a SET's status came from. Only `record` is final (reused from the index). */
export type StatusSource = 'record' | 'expected' | 'manifest' | 'none';

/** What the plan record keeps of every SET, so the next prune need not read its manifest and record again. */
export const IndexEntrySchema = z.object({
  jobId: z.number().int().positive(),
  backupType: z.enum([BackupType.Full, BackupType.Differential, BackupType.Log]),
  status: z.string().refine((s) => s === RUNNING || isJobStatus(s)),
  statusFrom: z.enum(['record', 'expected', 'manifest', 'none']),
  complete: z.boolean(),
  cycleId: z.number().int().positive().optional(),
  endTime: z.string().optional(),
  /** LOG only: the job id of its predecessor (manifest `previousSet`), which retention keeps with a kept LOG. */
  previousJobId: z.number().int().positive().optional(),
  phase2: z.enum(['archived', 'failed', 'not-run', 'unknown']),
  manifestETag: z.string().optional(),
  /** Object Lock (issue 21 item 3): the retain-until date every object of the SET was seen to hold (ISO-8601)… */
  lockedUntil: z.string().optional(),
  /** …as of this time (objects modified later are checked again: `prune-locks.ts`). */
  lockCheckedAt: z.string().optional(),
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

/** A SET ready for the planner, with its index entry and listing. */
export interface GatheredSet {
  input: RetentionSetInput;
  entry: IndexEntry;
  listed: ListedSet;
  /** Problems met reading it (malformed manifest …): it is then planned as incomplete. */
  problems: string[];
}

/** The status a caller vouches for (the running job's own SET: phase 1 says it is complete). */
export interface ExpectedStatus {
  status: SetStatus;
  phase2: Phase2Outcome;
}

/** Options of {@link gatherSets}. */
export interface GatherOptions {
  /** Index entries from the previous plan record, by job id. */
  index?: ReadonlyMap<number, IndexEntry>;
  /** Job records known already (local history), by job id; they win over `jobs/<id>.json`. */
  records?: ReadonlyMap<number, JobRecord>;
  /** Keys under `jobs/` (from a listing), to avoid GETs of records that do not exist; undefined: try every GET. */
  recordKeys?: ReadonlySet<string>;
  /** Statuses vouched for by the caller, by job id. */
  expected?: ReadonlyMap<number, ExpectedStatus>;
  /** Read manifests (`sets/`); false for `archive/`, whose manifests may be in Glacier. */
  readManifests: boolean;
  counter?: RequestCounter;
}

/** The type of a SET without a manifest, from its object names (a DIFFERENTIAL or LOG dump of its job); FULL otherwise. */
export function typeFromFiles(listed: ListedSet): BackupType {
  return backupTypeFromFileNames(listed.objects.map((o) => o.key.slice(o.key.lastIndexOf('/') + 1)), listed.jobId) ?? BackupType.Full;
}

async function getBody(s3: S3Client, bucket: string, key: string, counter?: RequestCounter): Promise<Buffer> {
  count(counter, 'GetObject');
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return readStreamCapped(response.Body, MANIFEST_MAX_BYTES);
}

/**
 * Reads a job record; null when there is none or it is malformed (the SET is then judged from its manifest).
 * @throws PruneError `READ_FAILED` for any other S3 failure.
 */
export async function readJobRecord(s3: S3Client, bucket: string, jobId: number, counter?: RequestCounter): Promise<JobRecord | null> {
  const key = jobRecordKey(jobId);
  let body: Buffer;
  try {
    body = await getBody(s3, bucket, key, counter);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw new PruneError('READ_FAILED', `cannot read ${key}: ${describeS3Error(error)}`, { cause: error });
  }
  const parsed = JobRecordSchema.safeParse(safeJson(body));
  return parsed.success ? parsed.data : null;
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Turns listed SETs into the planner's input. Status: the expected one (the running job), else the
 * job record, else Completed (or With One or More Errors when the manifest holds error events) for a
 * complete SET, else Failed for an incomplete one. A malformed manifest makes the SET incomplete.
 * @throws PruneError `READ_FAILED` when a manifest or record cannot be read (other than "not found").
 */
export async function gatherSets(s3: S3Client, bucket: string, listed: Iterable<ListedSet>, options: GatherOptions): Promise<GatheredSet[]> {
  const { index, records, recordKeys, expected, readManifests, counter } = options;
  return mapWithConcurrency([...listed], READ_CONCURRENCY, async (set): Promise<GatheredSet> => {
    const problems: string[] = [];
    const vouched = expected?.get(set.jobId);
    const cached = index?.get(set.jobId);
    const manifestETag = set.manifest?.eTag;
    let entry: IndexEntry | undefined;
    if (!vouched && cached && cached.statusFrom === 'record' && set.manifest && cached.manifestETag && cached.manifestETag === manifestETag) {
      entry = cached;
    }
    if (!entry) {
      let manifestInfo: { backupType: BackupType; cycleId: number; endTime: string; errors: boolean; previousJobId?: number } | undefined;
      if (set.manifest && readManifests) {
        try {
          const m = parseManifest(await getBody(s3, bucket, set.manifest.key, counter), set.manifest.key);
          if (m.jobId !== set.jobId) throw new Error(`manifest names job ${m.jobId}`);
          manifestInfo = { backupType: m.backupType, cycleId: m.cycleId, endTime: m.endTime, errors: m.events.some((e) => e.level === 'error'), ...chainFields(m) };
        } catch (error) {
          if (!isNotFound(error) && (error as { $metadata?: unknown }).$metadata) {
            throw new PruneError('READ_FAILED', `cannot read ${set.manifest.key}: ${describeS3Error(error)}`, { cause: error });
          }
          problems.push(`manifest unusable, SET taken as incomplete: ${describeError(error)}`);
        }
      } else if (set.manifest && cached?.complete) {
        // archive copy: its manifest may be in Glacier; what the index learnt at the hot-site holds.
        manifestInfo = { backupType: cached.backupType, cycleId: cached.cycleId ?? set.jobId, endTime: cached.endTime ?? '', errors: false, ...(cached.previousJobId ? { previousJobId: cached.previousJobId } : {}) };
      }
      let record = records?.get(set.jobId) ?? null;
      if (!record && !vouched && (!recordKeys || recordKeys.has(jobRecordKey(set.jobId)))) record = await readJobRecord(s3, bucket, set.jobId, counter);
      const complete = manifestInfo !== undefined || (set.manifest !== undefined && !readManifests && problems.length === 0);
      let status: SetStatus;
      let statusFrom: StatusSource;
      if (vouched) [status, statusFrom] = [vouched.status, 'expected'];
      else if (record) [status, statusFrom] = [record.status, 'record'];
      else if (complete) [status, statusFrom] = [manifestInfo?.errors ? JobStatus.CompletedWithErrors : JobStatus.Completed, 'manifest'];
      else [status, statusFrom] = [JobStatus.Failed, 'none'];
      const backupType = manifestInfo?.backupType ?? record?.backupType ?? cached?.backupType ?? typeFromFiles(set);
      const cycleId = manifestInfo?.cycleId ?? (complete ? cached?.cycleId : undefined);
      entry = {
        jobId: set.jobId,
        backupType,
        status,
        statusFrom,
        complete,
        ...(cycleId !== undefined && (backupType === BackupType.Full ? cycleId === set.jobId : cycleId < set.jobId) ? { cycleId } : {}),
        ...(manifestInfo?.endTime ? { endTime: manifestInfo.endTime } : {}),
        ...(manifestInfo?.previousJobId ? { previousJobId: manifestInfo.previousJobId } : {}),
        phase2: vouched?.phase2 ?? record?.phase2 ?? 'unknown',
        ...(manifestETag ? { manifestETag } : {}),
        // What the last lock check saw stays true for every object not modified since (prune-locks.ts checks that).
        ...(cached?.lockedUntil && cached.lockCheckedAt ? { lockedUntil: cached.lockedUntil, lockCheckedAt: cached.lockCheckedAt } : {}),
      };
    }
    const summary: SetSummary = {
      jobId: set.jobId,
      setName: set.setName,
      backupType: entry.backupType,
      status: entry.status as SetStatus,
      complete: entry.complete,
      ...(entry.cycleId !== undefined ? { cycleId: entry.cycleId } : {}),
      ...(entry.endTime ? { endTime: entry.endTime } : {}),
      ...(entry.previousJobId ? { previousJobId: entry.previousJobId } : {}),
      bytes: set.objects.reduce((sum, o) => sum + o.size, 0),
    };
    return {
      input: { summary, phase2: entry.phase2, ...(set.lastModified ? { lastModified: set.lastModified } : {}) },
      entry,
      listed: set,
      problems,
    };
  });
}

/**
 * The index of the newest plan record under `prune/` (by LastModified), or an empty map when there
 * is none or it cannot be used (an index is an optimisation: a bad one costs requests, not safety).
 */
export async function readPreviousIndex(s3: S3Client, bucket: string, counter?: RequestCounter): Promise<Map<number, IndexEntry>> {
  const records = (await listPrefix(s3, bucket, PRUNE_PREFIX, counter)).filter((o) => o.key.endsWith('.json'));
  const newest = records.reduce<ListedObject | undefined>((a, b) => (!a || (b.lastModified ?? '') > (a.lastModified ?? '') ? b : a), undefined);
  const index = new Map<number, IndexEntry>();
  if (!newest) return index;
  try {
    const doc = safeJson(await getBody(s3, bucket, newest.key, counter)) as { index?: unknown[] } | undefined;
    for (const raw of doc?.index ?? []) {
      const parsed = IndexEntrySchema.safeParse(raw);
      if (parsed.success) index.set(parsed.data.jobId, parsed.data);
    }
  } catch {
    index.clear();
  }
  return index;
}

/**
 * Writes a plan record as JSON (before anything is deleted).
 * @throws PruneError `RECORD_WRITE_FAILED`: nothing may be deleted then.
 */
export async function writePlanRecord(s3: S3Client, bucket: string, key: string, document: unknown, counter?: RequestCounter): Promise<void> {
  try {
    count(counter, 'PutObject');
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: `${JSON.stringify(document)}\n`, ContentType: 'application/json', ChecksumAlgorithm: 'SHA256' }),
    );
  } catch (error) {
    throw new PruneError('RECORD_WRITE_FAILED', `cannot write the plan record ${key}: ${describeS3Error(error)}; nothing was deleted`, { cause: error });
  }
}

/** A key that could not be deleted. */
export interface DeleteFailure {
  key: string;
  code: string;
  message: string;
}

/** Result of {@link deleteKeys}. */
export interface DeleteResult {
  deleted: number;
  failed: DeleteFailure[];
}

/** Options of {@link deleteKeys}. */
export interface DeleteOptions {
  /** Attempts per key, first included (default 3). */
  attempts?: number;
  /** Wait between attempts, in ms (default 200, doubled each time). */
  retryDelayMs?: number;
  counter?: RequestCounter;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Deletes keys with DeleteObjects, at most 1,000 a request (`Quiet`: the response lists only
 * failures). Per-key `Errors` in a 200 response, and a failed request, are failures: those keys are
 * retried (`attempts` in all), then reported. Never throws for S3 failures.
 *
 * No version ids are sent: in the versioned bucket each delete adds a delete marker. S3 does not refuse that for an
 * object under Object Lock (only a delete naming the locked version is refused), so a locked object counts as deleted
 * here while its version stays until its date — callers look locks up first (`prune-locks.ts` `findSetLocks`) and keep
 * what is still locked rather than relying on a refusal.
 */
export async function deleteKeys(s3: S3Client, bucket: string, keys: readonly string[], options: DeleteOptions = {}): Promise<DeleteResult> {
  const attempts = Math.max(1, options.attempts ?? 3);
  let delay = options.retryDelayMs ?? 200;
  let pending = [...new Set(keys)];
  let failures = new Map<string, DeleteFailure>();
  for (let attempt = 1; attempt <= attempts && pending.length > 0; attempt++) {
    if (attempt > 1) {
      await sleep(delay);
      delay *= 2;
    }
    failures = new Map();
    for (let i = 0; i < pending.length; i += DELETE_BATCH_MAX) {
      const batch = pending.slice(i, i + DELETE_BATCH_MAX);
      try {
        count(options.counter, 'DeleteObjects');
        const response = await s3.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
        for (const e of response.Errors ?? []) {
          if (e.Key) failures.set(e.Key, { key: e.Key, code: e.Code ?? 'Error', message: e.Message ?? 'no message' });
        }
      } catch (error) {
        for (const key of batch) failures.set(key, { key, code: (error as Error).name ?? 'Error', message: describeS3Error(error) });
      }
    }
    pending = [...failures.keys()];
  }
  return { deleted: new Set(keys).size - failures.size, failed: [...failures.values()] };
}

/**
 * Deletes the objects of expired SETs: every manifest first (so a SET interrupted half-way is
 * incomplete, never a complete SET with missing files), then the other objects of the SETs whose
 * manifest is gone. A SET whose manifest could not be deleted keeps its other objects.
 */
export async function deleteSets(s3: S3Client, bucket: string, sets: readonly ListedSet[], options: DeleteOptions = {}): Promise<DeleteResult & { setsDeleted: number[] }> {
  const manifests = sets.flatMap((s) => (s.manifest ? [s.manifest.key] : []));
  const first = await deleteKeys(s3, bucket, manifests, options);
  const stuck = new Set(first.failed.map((f) => f.key));
  const go = sets.filter((s) => !s.manifest || !stuck.has(s.manifest.key));
  const rest = go.flatMap((s) => s.objects.filter((o) => o !== s.manifest).map((o) => o.key));
  const second = await deleteKeys(s3, bucket, rest, options);
  const failedKeys = new Set(second.failed.map((f) => f.key));
  const setsDeleted = go.filter((s) => s.objects.every((o) => o === s.manifest || !failedKeys.has(o.key))).map((s) => s.jobId);
  const skipped = sets
    .filter((s) => s.manifest && stuck.has(s.manifest.key))
    .flatMap((s) => s.objects.filter((o) => o !== s.manifest).map((o) => ({ key: o.key, code: 'Skipped', message: `not deleted: the manifest of ${s.setName} could not be deleted` })));
  return { deleted: first.deleted + second.deleted, failed: [...first.failed, ...second.failed, ...skipped], setsDeleted };
}

/** Keys under `jobs/` (one listing), to know which job records exist. */
export async function listRecordKeys(s3: S3Client, bucket: string, counter?: RequestCounter): Promise<Set<string>> {
  return new Set((await listPrefix(s3, bucket, JOBS_PREFIX, counter)).map((o) => o.key));
}
