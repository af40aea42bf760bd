/**
 * Reading the hot-site for recovery (SPEC §6): list every SET object under `sets/` and `archive/` with its
 * storage class, restore archive objects (RestoreObject, then poll HeadObject until the `Restore` header says
 * `ongoing-request="false"`), and stream objects to disk while hashing them — never a whole file in memory,
 * never a file under its final name before its size and SHA-256 matched.
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  RestoreObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { HotSiteError } from '#core/errors';
import { ARCHIVE_PREFIX, parseSetObjectKey, SETS_PREFIX, type SetArea } from '#core/hotsite-layout';
import { MANIFEST_MAX_BYTES } from '#core/manifest';
import { effectiveTier, needsRestore, parseRestoreHeader, type RetrievalTier } from '#core/recovery';
import { hotSiteError } from './hot-site';

/** One SET object as listed. */
export interface ListedObject {
  key: string;
  area: SetArea;
  jobId: number;
  setName: string;
  file: string;
  size: number;
  /** As listed; `STANDARD` when S3 says nothing. */
  storageClass: string;
}

/** Every object of one SET, by area and file name. */
export interface ListedSet {
  jobId: number;
  setName: string;
  sets: Map<string, ListedObject>;
  archive: Map<string, ListedObject>;
}

/**
 * Lists every SET object under `sets/` and `archive/` (paginated), ignoring keys that are not SET objects.
 * @returns SETs by job id.
 * @throws HotSiteError when the bucket cannot be listed.
 */
export async function listSetObjects(s3: S3Client, bucket: string): Promise<Map<number, ListedSet>> {
  const out = new Map<number, ListedSet>();
  for (const prefix of [SETS_PREFIX, ARCHIVE_PREFIX]) {
    let token: string | undefined;
    try {
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const object of page.Contents ?? []) {
          const parsed = object.Key ? parseSetObjectKey(object.Key) : undefined;
          if (!parsed) continue;
          const entry = out.get(parsed.jobId) ?? { jobId: parsed.jobId, setName: parsed.setName, sets: new Map(), archive: new Map() };
          entry[parsed.area].set(parsed.file, {
            key: object.Key!,
            area: parsed.area,
            jobId: parsed.jobId,
            setName: parsed.setName,
            file: parsed.file,
            size: object.Size ?? 0,
            storageClass: object.StorageClass ?? 'STANDARD',
          });
          out.set(parsed.jobId, entry);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw hotSiteError(`list ${prefix}`, bucket, error);
    }
  }
  return out;
}

/** Whether an object can be read now, and if not, where its restore stands. */
export type ReadableState = 'readable' | 'restored' | 'restore-needed' | 'restoring';

/**
 * The state of one object: `readable` (not an archive class, e.g. STANDARD or GLACIER_IR), `restored`,
 * `restoring` or `restore-needed`, from HeadObject's storage class and `Restore` header.
 * @throws HotSiteError when HeadObject fails.
 */
export async function objectState(s3: S3Client, bucket: string, key: string): Promise<ReadableState> {
  let head: HeadObjectCommandOutput;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw hotSiteError(`look at ${key}`, bucket, error);
  }
  if (!needsRestore(head.StorageClass)) return 'readable';
  const restore = parseRestoreHeader(head.Restore);
  if (!restore) return 'restore-needed';
  return restore.ongoing ? 'restoring' : 'restored';
}

/**
 * Asks S3 to restore an archived object for `days` days with `tier` (DEEP_ARCHIVE: Expedited becomes Standard).
 * A restore already in progress (`RestoreAlreadyInProgress`, HTTP 409) is not an error.
 * @returns `restoring` (a restore runs) or `restored` (S3 answered 200: the object was already restored).
 * @throws HotSiteError when S3 refuses (e.g. `GlacierExpeditedRetrievalNotAvailable`).
 */
export async function requestRestore(
  s3: S3Client,
  bucket: string,
  key: string,
  storageClass: 'GLACIER' | 'DEEP_ARCHIVE',
  tier: RetrievalTier,
  days: number,
): Promise<'restoring' | 'restored'> {
  try {
    const response = await s3.send(
      new RestoreObjectCommand({ Bucket: bucket, Key: key, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: effectiveTier(storageClass, tier) } } }),
    );
    return response.$metadata.httpStatusCode === 200 ? 'restored' : 'restoring';
  } catch (error) {
    const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'RestoreAlreadyInProgress' || e.Code === 'RestoreAlreadyInProgress' || e.$metadata?.httpStatusCode === 409) return 'restoring';
    throw hotSiteError(`restore ${key} from ${storageClass} (${tier})`, bucket, error);
  }
}

/** Options of {@link waitForRestores}. */
export interface WaitOptions {
  /** Time between HeadObject polls, ms (default 60 s; tests use a few ms). */
  pollIntervalMs?: number;
  /** Give up after this long, ms (default 72 h). */
  timeoutMs?: number;
  /** Called after each poll round with the keys still pending. */
  onPoll?: (pending: readonly string[]) => void;
  /** Injectable sleep (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls HeadObject for each key until every restore reports `ongoing-request="false"`.
 * @throws HotSiteError `RESTORE_TIMEOUT` when `timeoutMs` passes first; `RESTORE_LOST` when an object's restore
 *   disappeared (no Restore header any more); HotSiteError for S3 failures.
 */
export async function waitForRestores(s3: S3Client, bucket: string, keys: readonly string[], options: WaitOptions = {}): Promise<void> {
  const interval = options.pollIntervalMs ?? 60_000;
  const deadline = Date.now() + (options.timeoutMs ?? 72 * 3600_000);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let pending = [...keys];
  while (pending.length > 0) {
    const still: string[] = [];
    for (const key of pending) {
      const state = await objectState(s3, bucket, key);
      if (state === 'restoring') still.push(key);
      else if (state === 'restore-needed') {
        throw new HotSiteError('RESTORE_LOST', `the restore of ${key} is no longer listed by S3 (expired or never started): request it again`);
      }
    }
    pending = still;
    options.onPoll?.(pending);
    if (pending.length === 0) return;
    if (Date.now() + interval > deadline) {
      throw new HotSiteError('RESTORE_TIMEOUT', `archive restores still running after the time allowed: ${pending.join(', ')}`, { context: { pending } });
    }
    await sleep(interval);
  }
}

/** Error of a GetObject on an archived, unrestored object: reported as pending, never a crash. */
export function isInvalidObjectState(error: unknown): boolean {
  const e = error as { name?: string; Code?: string };
  return e?.name === 'InvalidObjectState' || e?.Code === 'InvalidObjectState';
}

async function getBody(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body as Readable;
  } catch (error) {
    if (isInvalidObjectState(error)) {
      throw new HotSiteError('OBJECT_ARCHIVED', `${key} is in an archive storage class and not restored yet: restore it first`, { cause: error, context: { key } });
    }
    throw hotSiteError(`read ${key}`, bucket, error);
  }
}

/** What {@link downloadObject} checked. */
export interface DownloadResult {
  bytes: number;
  sha256: string;
}

/**
 * Streams an object into `<dest>.partial` while hashing it, checks its size and SHA-256 against the expected
 * values, then renames it to `dest`. On any mismatch or failure the partial file is removed.
 * @throws HotSiteError `OBJECT_ARCHIVED` (not restored), `CHECKSUM_MISMATCH` / `SIZE_MISMATCH` (tampered or damaged),
 *   other HotSiteErrors for S3 or disk failures.
 */
export async function downloadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  dest: string,
  expected: { size: number; sha256: string },
): Promise<DownloadResult> {
  const partial = `${dest}.partial`;
  const body = await getBody(s3, bucket, key);
  const hash = createHash('sha256');
  let bytes = 0;
  const out = await open(partial, 'w');
  let ok = false;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      bytes += buf.length;
      if (bytes > expected.size) break; // longer than the manifest says: stop reading
      hash.update(buf);
      await out.write(buf);
    }
    if (bytes !== expected.size) {
      throw new HotSiteError('SIZE_MISMATCH', `${key}: ${bytes > expected.size ? `more than ${expected.size}` : bytes} bytes read, the manifest says ${expected.size}: the object was changed or damaged`, {
        context: { key, expected: expected.size, actual: bytes },
      });
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== expected.sha256) {
      throw new HotSiteError('CHECKSUM_MISMATCH', `${key}: SHA-256 ${sha256.slice(0, 16)}… differs from the manifest's ${expected.sha256.slice(0, 16)}…: the object was changed or damaged`, {
        context: { key, expected: expected.sha256, actual: sha256 },
      });
    }
    await out.sync();
    await out.close();
    await rename(partial, dest);
    ok = true;
    return { bytes, sha256 };
  } catch (error) {
    if (error instanceof HotSiteError) throw error;
    throw hotSiteError(`download ${key}`, bucket, error);
  } finally {
    if (!ok) {
      body.destroy?.();
      await out.close().catch(() => undefined);
      await rm(partial, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * Reads a small object (a manifest) into memory, refusing more than `maxBytes` (default the manifest limit).
 * @throws HotSiteError `OBJECT_ARCHIVED`, `OBJECT_TOO_LARGE`, or another HotSiteError.
 */
export async function readSmallObject(s3: S3Client, bucket: string, key: string, maxBytes = MANIFEST_MAX_BYTES): Promise<Buffer> {
  const body = await getBody(s3, bucket, key);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        body.destroy?.();
        throw new HotSiteError('OBJECT_TOO_LARGE', `${key} is over ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    if (error instanceof HotSiteError) throw error;
    throw hotSiteError(`read ${key}`, bucket, error);
  }
  return Buffer.concat(chunks);
}

/**
 * Streams an object through SHA-256 without writing it anywhere.
 * @throws HotSiteError as {@link downloadObject}'s reads.
 */
export async function hashObject(s3: S3Client, bucket: string, key: string): Promise<DownloadResult> {
  const body = await getBody(s3, bucket, key);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
  } catch (error) {
    throw hotSiteError(`read ${key}`, bucket, error);
  }
  return { bytes, sha256: hash.digest('hex') };
}
