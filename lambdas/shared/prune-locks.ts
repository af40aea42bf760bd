/**
 * Object Lock I/O of pruning (issue 21 item 3), shared by PruneSets and `commserve-dr prune`:
 * - {@link findSetLocks}: the retention of the objects of the SETs a plan would expire (HeadObject each: it reports
 *   `ObjectLockMode` and `ObjectLockRetainUntilDate` to a caller with `s3:GetObjectRetention`), so the plan keeps
 *   what is still locked instead of hiding it behind delete markers (a delete without a version id succeeds on a
 *   locked object in a versioned bucket; the locked version stays, billed, until its date);
 * - {@link applySetLocks}: makes every object of each kept SET hold at least the retention planned by
 *   `core/set-locks.ts` — HeadObject, then PutObjectRetention only when the object's lock ends earlier, in the
 *   object's own mode when it has one (a COMPLIANCE lock cannot become GOVERNANCE). Retention is only ever extended:
 *   the prune role has no `s3:BypassGovernanceRetention`, so S3 itself refuses a shorter date.
 *
 * Requests: one HeadObject per object of each expired SET when checking; per kept SET, one HeadObject per object
 * (plus a PutObjectRetention where needed) unless the previous plan record's index says the SET was locked to at
 * least the planned date and none of its objects changed since (`lockedUntil`, `lockCheckedAt`) — so a steady
 * prune heads only the new SETs and the ones whose date moved. `lockCheckedAt` is the wall clock 5 minutes before
 * the check began ({@link LOCK_CHECK_MARGIN_MS}): a version written while it ran (a repair's CopyObject), or by a
 * clock a little ahead of ours, is newer than that and gets checked again.
 */
import { HeadObjectCommand, PutObjectRetentionCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SetObjectLock } from '#core/retention';
import type { SetLockTarget } from '#core/set-locks';
import { mapWithConcurrency } from './concurrency';
import { PruneError } from './errors';
import type { IndexEntry, ListedSet, RequestCounter } from './prune-io';
import { describeS3Error, isNotFound } from './s3';

/** Margin between the start of a lock check and the `lockCheckedAt` it records (S3 and Lambda clocks, 1-second `LastModified`). */
export const LOCK_CHECK_MARGIN_MS = 5 * 60_000;

/** HeadObject / PutObjectRetention requests in flight at once. */
const LOCK_CONCURRENCY = 8;

const count = (counter: RequestCounter | undefined, op: string): void => {
  if (counter) counter[op] = (counter[op] ?? 0) + 1;
};

/** The lock of one object, when it has one. */
async function headLock(s3: S3Client, bucket: string, key: string, counter?: RequestCounter): Promise<{ mode: string; until: number } | null | 'missing'> {
  count(counter, 'HeadObject');
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (!head.ObjectLockRetainUntilDate) return null;
    return { mode: head.ObjectLockMode ?? 'GOVERNANCE', until: new Date(head.ObjectLockRetainUntilDate).getTime() };
  } catch (error) {
    if (isNotFound(error)) return 'missing';
    throw error;
  }
}

/**
 * The Object Lock still in force at `now` on the objects of each SET (the latest date among them and its mode);
 * SETs with no object locked past `now` are absent. An object gone since the listing is ignored.
 * @throws PruneError `READ_FAILED` naming the key when a lock cannot be read (the plan then deletes nothing).
 */
export async function findSetLocks(s3: S3Client, bucket: string, sets: readonly ListedSet[], now: Date, counter?: RequestCounter): Promise<Map<number, SetObjectLock>> {
  const objects = sets.flatMap((set) => set.objects.map((o) => ({ jobId: set.jobId, key: o.key })));
  const found = await mapWithConcurrency(objects, LOCK_CONCURRENCY, async (o) => {
    try {
      return { ...o, lock: await headLock(s3, bucket, o.key, counter) };
    } catch (error) {
      throw new PruneError('READ_FAILED', `cannot read the Object Lock of ${o.key}: ${describeS3Error(error)}`, { cause: error });
    }
  });
  const locks = new Map<number, { mode: string; until: number }>();
  for (const { jobId, lock } of found) {
    if (lock === null || lock === 'missing' || lock.until <= now.getTime()) continue;
    const seen = locks.get(jobId);
    if (!seen || lock.until > seen.until) locks.set(jobId, lock);
  }
  return new Map([...locks].map(([jobId, l]) => [jobId, { retainUntil: new Date(l.until).toISOString(), mode: l.mode }]));
}

/** One object whose lock could not be set. */
export interface LockFailure {
  key: string;
  code: string;
  message: string;
}

/** What {@link applySetLocks} did. */
export interface LockOutcome {
  /** SETs planned to be locked. */
  sets: number;
  /** SETs whose every object holds at least the planned retention now. */
  setsLocked: number;
  /** SETs skipped: the index says they were locked to at least that date and nothing changed since. */
  setsUnchanged: number;
  /** Objects whose retention was set or extended (PutObjectRetention). */
  objectsExtended: number;
  /** Objects that already held at least the planned retention. */
  objectsAlreadyLocked: number;
  /** Objects whose retention could not be set (at most 100 named; `failedCount` counts all). */
  failures: LockFailure[];
  failedCount: number;
}

/** Whether the index entry proves the SET is locked to at least `until` and none of its objects changed since. */
function unchangedSince(entry: IndexEntry | undefined, set: ListedSet, until: string): boolean {
  if (!entry?.lockedUntil || !entry.lockCheckedAt || Date.parse(entry.lockedUntil) < Date.parse(until)) return false;
  const checked = Date.parse(entry.lockCheckedAt);
  return set.objects.every((o) => o.lastModified !== undefined && Date.parse(o.lastModified) < checked);
}

/**
 * Makes every object of each target SET hold at least its planned retention (see the module comment). A failure is
 * recorded per object and never stops the others; a SET with a failure is not recorded as locked in the index.
 * @param index entries of the kept SETs (the plan record's index): `lockedUntil`/`lockCheckedAt` are read and, for
 *   every SET fully locked, updated in place.
 * @param wallClock the real time in ms (default `Date.now`), for `lockCheckedAt` — not the planning time.
 */
export async function applySetLocks(
  s3: S3Client,
  bucket: string,
  targets: readonly SetLockTarget[],
  listed: ReadonlyMap<number, ListedSet>,
  index: ReadonlyMap<number, IndexEntry>,
  counter?: RequestCounter,
  wallClock: () => number = Date.now,
): Promise<LockOutcome> {
  const checkedAt = new Date(wallClock() - LOCK_CHECK_MARGIN_MS).toISOString();
  const outcome: LockOutcome = { sets: targets.length, setsLocked: 0, setsUnchanged: 0, objectsExtended: 0, objectsAlreadyLocked: 0, failures: [], failedCount: 0 };
  const work = targets.filter((t) => {
    const set = listed.get(t.jobId);
    if (!set) return false;
    if (!unchangedSince(index.get(t.jobId), set, t.retainUntil)) return true;
    outcome.setsUnchanged++;
    outcome.setsLocked++;
    return false;
  });
  const objects = work.flatMap((t) => listed.get(t.jobId)!.objects.map((o) => ({ target: t, key: o.key })));
  const results = await mapWithConcurrency(objects, LOCK_CONCURRENCY, async ({ target, key }) => {
    const until = new Date(target.retainUntil);
    try {
      const current = await headLock(s3, bucket, key, counter);
      if (current === 'missing') return { target, key, result: 'ok' as const };
      if (current && current.until >= until.getTime()) return { target, key, result: 'already' as const };
      const mode = current?.mode === 'COMPLIANCE' || current?.mode === 'GOVERNANCE' ? current.mode : target.mode;
      count(counter, 'PutObjectRetention');
      await s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, Retention: { Mode: mode, RetainUntilDate: until } }));
      return { target, key, result: 'extended' as const };
    } catch (error) {
      const code = (error as { name?: string }).name ?? 'Error';
      return { target, key, result: 'failed' as const, failure: { key, code, message: `cannot lock ${key} until ${target.retainUntil}: ${describeS3Error(error)}` } };
    }
  });
  const failedSets = new Set<number>();
  for (const r of results) {
    if (r.result === 'extended') outcome.objectsExtended++;
    else if (r.result === 'already') outcome.objectsAlreadyLocked++;
    else if (r.result === 'failed') {
      failedSets.add(r.target.jobId);
      outcome.failedCount++;
      if (outcome.failures.length < 100) outcome.failures.push(r.failure!);
    }
  }
  for (const t of work) {
    if (failedSets.has(t.jobId)) continue;
    outcome.setsLocked++;
    const entry = index.get(t.jobId);
    if (entry) Object.assign(entry, { lockedUntil: t.retainUntil, lockCheckedAt: checkedAt });
  }
  return outcome;
}
