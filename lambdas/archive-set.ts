/**
 * ArchiveSet — phase 2, step 2 (SPEC §4.3): copies the validated SET from `sets/SET_n/` to
 * `archive/SET_n/` in the configured Glacier class (GLACIER by default; DEEP_ARCHIVE, GLACIER_IR),
 * every file first and the manifest last, so an archive copy with a manifest is complete.
 *
 * Server-side copies only (no bytes pass through the function):
 * - objects up to 5 GiB: CopyObject (`MetadataDirective: 'COPY'`, SHA-256 checksum requested);
 * - larger objects (S3 caps a CopyObject source at 5 GiB): multipart copy — CreateMultipartUpload
 *   (storage class, the source's metadata), UploadPartCopy per `CopySourceRange` with bounded
 *   concurrency, CompleteMultipartUpload; the upload is aborted on any failure.
 *
 * Idempotent: an object already in the archive with the source's size, the target class and a
 * matching checksum is not copied again, so a retry after a partial run completes it without
 * re-copying (and without leaving extra noncurrent Glacier versions behind).
 *
 * Object Lock (SPEC §4.3, optional; `ARCHIVE_OBJECT_LOCK_MODE` + `ARCHIVE_OBJECT_LOCK_DAYS`): every copy
 * carries `ObjectLockMode` and `ObjectLockRetainUntilDate` = now + days (CopyObject, or
 * CreateMultipartUpload), and each archive object is then checked (HeadObject) to hold at least that
 * retention, which is set (PutObjectRetention) when it does not — an object archived by an earlier
 * attempt, or a multipart copy whose lock the store did not apply (moto). For a DIFFERENTIAL, the archive objects of its FULL (`archive/SET_<cycleId>/`) are then
 * extended (PutObjectRetention) when their retention ends before the DIFFERENTIAL's: the FULL stays
 * locked as long as any DIFFERENTIAL that needs it. Retention is only ever extended, never shortened,
 * and the mode of a locked object is kept (COMPLIANCE cannot be changed). A FULL without an archive
 * copy is logged (nothing to protect); a retention that cannot be set fails the state (`RETENTION_FAILED`).
 *
 * LOG points (SPEC §4.5, issue 17 item 2) are archived with their cycle, not by an archive job of their own: a LOG
 * execution goes from ValidateSet straight to ReportJob, and the next FULL or DIFFERENTIAL archived here also copies
 * every complete LOG SET at the hot-site older than itself that has no archive copy yet (`archiveLogPoints`): the
 * open cycle's LOGs with each DIFFERENTIAL, the closed cycle's last LOGs with the next FULL. Finding them costs one
 * ListObjectsV2 per 1,000 keys of `sets/` and of `archive/` (no per-SET requests for SETs already archived), then
 * the copies themselves. A LOG point that cannot be archived never fails this job: it is named in
 * `logPoints.failed` (the job record warns) and tried again by the next FULL or DIFFERENTIAL.
 *
 * Input: the state input (`DrJobInput` with `phase1`). Output: `ArchiveResult` (`$.archive`).
 * Failures throw `ArchiveCopyError` (the state retries, then records Completed With One or More Errors).
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectRetentionCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ArchiveResult } from '#core/job';
import { ARCHIVE_PREFIX, MANIFEST_FILE, parseSetObjectKey, setObjectKey, setPrefix, SETS_PREFIX } from '#core/hotsite-layout';
import { backupTypeFromFileNames } from '#core/dump-files';
import { describeError } from '#core/errors';
import { MANIFEST_MAX_BYTES, parseManifest, type Manifest } from '#core/manifest';
import { BackupType } from '#core/set-id';
import type { ArchiveStorageClass } from '#core/settings';
import { choosePartSize, GiB, MiB, partRanges, S3_MAX_COPY_OBJECT_BYTES } from '#core/transfer-plan';
import { mapWithConcurrency } from './shared/concurrency';
import { archiveObjectLockFromEnv, hotSiteBucketFromEnv, loadArchiveStorageClass, type ArchiveObjectLockConfig } from './shared/env';
import { ArchiveCopyError } from './shared/errors';
import { phase1FromInput } from './shared/input';
import { jsonLog, silentLog, type Log } from './shared/log';
import { copySource, describeS3Error, hexToBase64, isNotFound, s3ClientFromEnv, sameS3Checksum } from './shared/s3';
import { readStreamCapped } from './shared/hash';
import { loadSetManifest } from './shared/set-manifest';
import { lazyHandlerWithSettings } from './shared/settings';

/** Name of the state this handler serves. */
export const STATE_NAME = 'ArchiveSet';

/** Default part size of a multipart copy, in bytes (grown by `choosePartSize` to stay within 10,000 parts). */
export const DEFAULT_COPY_PART_BYTES = 512 * MiB;
/** Default number of UploadPartCopy requests in flight per object. */
export const DEFAULT_COPY_CONCURRENCY = 4;

/** Dependencies and tuning of the ArchiveSet handler. */
export interface ArchiveSetDeps {
  s3: S3Client;
  /** The hot-site bucket (source and destination). */
  bucket: string;
  /** Storage class of the archive copies. Default GLACIER. */
  storageClass?: ArchiveStorageClass;
  /**
   * Objects larger than this many bytes are copied with multipart copy. Default 5 GiB, the CopyObject
   * source limit (S3 user guide, "Copying objects"); tests lower it to exercise multipart copy.
   */
  multipartThresholdBytes?: number;
  /** Preferred part size in bytes for multipart copy (default 512 MiB; at least 5 MiB, at most 10,000 parts). */
  partSizeBytes?: number;
  /** UploadPartCopy requests in flight per object (default 4). */
  copyConcurrency?: number;
  /** Object Lock retention of the archive copies; default none. */
  objectLock?: ArchiveObjectLockConfig;
  /** Clock (the retention date is counted from it); default `() => new Date()`. */
  now?: () => Date;
  log?: Log;
}

/** Milliseconds in a day (Object Lock retention is whole days of 24 h from the copy). */
const DAY_MS = 86_400_000;

/** One object to archive. */
interface CopyItem {
  name: string;
  size: number;
  /** SHA-256 of the content (lowercase hex): from the manifest, or computed for the manifest itself as read. */
  sha256: string;
}

/**
 * Builds the ArchiveSet handler.
 * @returns `(event) => ArchiveResult`: storage class, archive prefix (`archive/SET_n/`), objects and
 *   bytes in the archive copy (files plus the manifest), and how many objects needed multipart copy.
 * @throws InvalidInputError when the event is not a `DrJobInput` with `phase1`;
 *   ArchiveCopyError naming the object and the failure.
 */
export function makeArchiveSetHandler(deps: ArchiveSetDeps): (event: unknown) => Promise<ArchiveResult> {
  const {
    s3,
    bucket,
    storageClass = 'GLACIER',
    multipartThresholdBytes = S3_MAX_COPY_OBJECT_BYTES,
    partSizeBytes = DEFAULT_COPY_PART_BYTES,
    copyConcurrency = DEFAULT_COPY_CONCURRENCY,
    objectLock,
    now = () => new Date(),
    log = silentLog,
  } = deps;
  if (!(multipartThresholdBytes > 0 && multipartThresholdBytes <= 5 * GiB)) {
    throw new RangeError(`multipartThresholdBytes must be between 1 and ${5 * GiB} (the CopyObject limit), got ${multipartThresholdBytes}`);
  }
  const fail = (code: string, message: string, cause?: unknown) => new ArchiveCopyError(code, message, { cause });

  const copyOptions: Omit<SetCopyOptions, 'sourcePrefix' | 'targetPrefix' | 'items'> = { s3, bucket, storageClass, multipartThresholdBytes, partSizeBytes, copyConcurrency, log };

  return async (event) => {
    const phase1 = phase1FromInput(event, STATE_NAME);
    const loaded = await loadSetManifest(s3, bucket, phase1, fail);
    const { manifest } = loaded;
    const lock = objectLock ? { mode: objectLock.mode, retainUntil: new Date(now().getTime() + objectLock.days * DAY_MS) } : undefined;
    const items = copyItems(manifest, loaded.bytes, loaded.sha256);
    const copy = await copySet({ ...copyOptions, lock, items, sourcePrefix: setPrefix('sets', manifest.setName), targetPrefix: setPrefix('archive', manifest.setName) });
    if (lock && manifest.backupType === BackupType.Differential && manifest.cycleId !== manifest.jobId) {
      await extendBaseFullRetention(s3, bucket, manifest.baseFullSet ?? manifest.cycleId, lock, log);
    }
    const logPoints = manifest.backupType === BackupType.Log ? undefined : await archiveLogPoints({ ...copyOptions, lock }, manifest.jobId);
    const result: ArchiveResult = {
      storageClass,
      prefix: setPrefix('archive', manifest.setName),
      objects: items.length,
      bytes: items.reduce((sum, i) => sum + i.size, 0),
      multipartCopies: copy.multipartCopies,
      ...(logPoints && (logPoints.archived.length > 0 || logPoints.failed.length > 0) ? { logPoints } : {}),
    };
    log({ level: 'info', message: `${manifest.setName} archived`, jobId: manifest.jobId, copied: copy.copied, skipped: items.length - copy.copied, ...result });
    return result;
  };
}

/** The objects of a SET's archive copy: every file of the manifest, then the manifest itself (last). */
function copyItems(manifest: Manifest, manifestBytes: number, manifestSha256: string): CopyItem[] {
  return [
    ...manifest.files.map((f) => ({ name: f.name, size: f.size, sha256: f.sha256 })),
    // The manifest last: its presence makes the archive copy complete.
    { name: MANIFEST_FILE, size: manifestBytes, sha256: manifestSha256 },
  ];
}

/** What copying one SET to the archive needs. */
interface SetCopyOptions {
  s3: S3Client;
  bucket: string;
  storageClass: ArchiveStorageClass;
  multipartThresholdBytes: number;
  partSizeBytes: number;
  copyConcurrency: number;
  lock?: ArchiveObjectArgs['lock'];
  log: Log;
  /** `sets/SET_n/` */
  sourcePrefix: string;
  /** `archive/SET_n/` */
  targetPrefix: string;
  items: CopyItem[];
}

/**
 * Copies a SET's objects to the archive in order (the manifest is the last item), each with the Object Lock retention
 * when one is configured. @returns how many objects were copied (the rest were already archived) and how many needed
 * multipart copy. @throws ArchiveCopyError naming the object.
 */
async function copySet(options: SetCopyOptions): Promise<{ copied: number; multipartCopies: number }> {
  const { s3, bucket, lock, log } = options;
  let copied = 0;
  let multipartCopies = 0;
  for (const item of options.items) {
    const source = `${options.sourcePrefix}${item.name}`;
    const target = `${options.targetPrefix}${item.name}`;
    const multipart = item.size > options.multipartThresholdBytes;
    if (multipart) multipartCopies++;
    const outcome = await archiveObject({ ...options, source, target, item, multipart });
    if (outcome === 'copied') copied++;
    // Checked after every copy: an object already archived (a retry) or a store that ignored the
    // lock of a multipart upload gets its retention here; a copy that carries it costs one HeadObject.
    if (lock) await extendRetention(s3, bucket, target, lock);
    log({ level: 'info', message: `${source} → ${target}: ${outcome}`, bytes: item.size, multipart, storageClass: options.storageClass, ...(lock ? { retainUntil: lock.retainUntil.toISOString() } : {}) });
  }
  return { copied, multipartCopies };
}

/** The base FULL stays locked as long as any DIFFERENTIAL or LOG that needs it (SPEC §4.3): its retention is extended. */
/** `baseFull`: the FULL's name as recorded (a legacy SET_042 stays SET_042: core/set-id.ts), or its job id. */
async function extendBaseFullRetention(s3: S3Client, bucket: string, baseFull: string | number, lock: NonNullable<ArchiveObjectArgs['lock']>, log: Log): Promise<void> {
  const fullPrefix = setPrefix('archive', baseFull);
  const keys = await listKeys(s3, bucket, fullPrefix);
  if (keys.length === 0) {
    log({ level: 'warn', message: `${fullPrefix} holds no archive copy of the base FULL: no retention to extend`, baseFull });
  }
  let extended = 0;
  for (const key of keys) if (await extendRetention(s3, bucket, key, lock)) extended++;
  log({ level: 'info', message: `base FULL ${fullPrefix}: retention extended on ${extended} of ${keys.length} object(s)`, retainUntil: lock.retainUntil.toISOString() });
}

/** At most this many SET names are listed in `logPoints.archived` (the count is always exact). */
export const MAX_LOG_NAMES_IN_RESULT = 20;

/**
 * LOG points archived with their cycle (see the module comment): every complete LOG SET at the hot-site older than
 * `beforeJobId` without an archive manifest is copied to `archive/` (files, then the manifest). A LOG that cannot be
 * read or copied is named in `failed` and left for the next job; it never fails this one.
 */
async function archiveLogPoints(
  options: Omit<SetCopyOptions, 'sourcePrefix' | 'targetPrefix' | 'items'>,
  beforeJobId: number,
): Promise<NonNullable<ArchiveResult['logPoints']>> {
  const { s3, bucket, log } = options;
  const archived: string[] = [];
  const failed: Array<{ set: string; reason: string }> = [];
  let candidates: Array<{ jobId: number; setName: string }>;
  try {
    const [hotSite, archive] = await Promise.all([listSetFiles(s3, bucket, SETS_PREFIX), listSetFiles(s3, bucket, ARCHIVE_PREFIX)]);
    candidates = [...hotSite.values()]
      // A LOG by its dump's name — or a SET whose dump is missing (its manifest says what it is; a damaged LOG is named).
      .filter((set) => set.jobId < beforeJobId && set.files.has(MANIFEST_FILE) && isLogOrUnknown(backupTypeFromFileNames(set.files, set.jobId)))
      .filter((set) => !archive.get(set.setName)?.files.has(MANIFEST_FILE))
      .sort((a, b) => a.jobId - b.jobId);
  } catch (error) {
    log({ level: 'warn', message: `LOG points not archived with their cycle this time: ${describeError(error)}` });
    return { archived: [], archivedCount: 0, failed: [{ set: '(listing)', reason: describeError(error) }] };
  }
  let count = 0;
  for (const set of candidates) {
    try {
      const sourcePrefix = `${SETS_PREFIX}${set.setName}/`;
      const loaded = await loadManifestAt(s3, bucket, `${sourcePrefix}${MANIFEST_FILE}`);
      if (loaded.manifest.backupType !== BackupType.Log) continue;
      await copySet({ ...options, sourcePrefix, targetPrefix: `${ARCHIVE_PREFIX}${set.setName}/`, items: copyItems(loaded.manifest, loaded.bytes, loaded.sha256) });
      if (options.lock) await extendBaseFullRetention(s3, bucket, loaded.manifest.cycleId, options.lock, log);
      count++;
      if (archived.length < MAX_LOG_NAMES_IN_RESULT) archived.push(set.setName);
    } catch (error) {
      failed.push({ set: set.setName, reason: describeError(error) });
      log({ level: 'warn', message: `LOG point ${set.setName} not archived (the next FULL or DIFFERENTIAL tries again): ${describeError(error)}` });
    }
  }
  return { archived, archivedCount: count, failed: failed.slice(0, MAX_LOG_NAMES_IN_RESULT) };
}

const isLogOrUnknown = (type: BackupType | undefined): boolean => type === undefined || type === BackupType.Log;

/** The SETs under `sets/` or `archive/` and the file names each holds (ListObjectsV2, paginated; other keys ignored). */
async function listSetFiles(s3: S3Client, bucket: string, prefix: string): Promise<Map<string, { jobId: number; setName: string; files: Set<string> }>> {
  const sets = new Map<string, { jobId: number; setName: string; files: Set<string> }>();
  let token: string | undefined;
  do {
    let page;
    try {
      page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    } catch (error) {
      throw new ArchiveCopyError('LIST_FAILED', `cannot list ${prefix} in bucket ${bucket}: ${describeS3Error(error)}`, { cause: error });
    }
    for (const o of page.Contents ?? []) {
      const parsed = o.Key ? parseSetObjectKey(o.Key) : undefined;
      if (!parsed) continue;
      const set = sets.get(parsed.setName) ?? { jobId: parsed.jobId, setName: parsed.setName, files: new Set<string>() };
      set.files.add(parsed.file);
      sets.set(parsed.setName, set);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return sets;
}

/** Reads and parses a manifest at `key`. @throws ArchiveCopyError `MANIFEST_INVALID` / `S3_ERROR`. */
async function loadManifestAt(s3: S3Client, bucket: string, key: string): Promise<{ manifest: Manifest; bytes: number; sha256: string }> {
  let body: Buffer;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = await readStreamCapped(response.Body, MANIFEST_MAX_BYTES);
  } catch (error) {
    throw new ArchiveCopyError('S3_ERROR', `cannot read ${key}: ${error instanceof RangeError ? `over the ${MANIFEST_MAX_BYTES}-byte manifest limit` : describeS3Error(error)}`, { cause: error });
  }
  try {
    return { manifest: parseManifest(body, key), bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  } catch (error) {
    throw new ArchiveCopyError('MANIFEST_INVALID', describeError(error), { cause: error });
  }
}

interface ArchiveObjectArgs {
  s3: S3Client;
  bucket: string;
  storageClass: ArchiveStorageClass;
  source: string;
  target: string;
  item: CopyItem;
  multipart: boolean;
  partSizeBytes: number;
  copyConcurrency: number;
  /** Object Lock retention to put on the copy. */
  lock?: { mode: ArchiveObjectLockConfig['mode']; retainUntil: Date };
}

/** Every key under a prefix (ListObjectsV2, paginated). */
async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw new ArchiveCopyError('RETENTION_FAILED', `cannot list ${prefix}: ${describeS3Error(error)}`, { cause: error });
  }
  return keys;
}

/**
 * Makes the retention of `key` last at least until `lock.retainUntil`: nothing when it already does,
 * else PutObjectRetention with the object's own mode (or the configured one when it has none).
 * @returns whether the retention was changed.
 * @throws ArchiveCopyError `RETENTION_FAILED`.
 */
async function extendRetention(s3: S3Client, bucket: string, key: string, lock: NonNullable<ArchiveObjectArgs['lock']>): Promise<boolean> {
  try {
    // HeadObject reports the retention (with s3:GetObjectRetention) and, unlike GetObjectRetention on
    // some S3 stand-ins, answers for objects in a Glacier class too.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    const current = { Mode: head.ObjectLockMode, RetainUntilDate: head.ObjectLockRetainUntilDate };
    if (current?.RetainUntilDate && new Date(current.RetainUntilDate).getTime() >= lock.retainUntil.getTime()) return false;
    const mode = current?.Mode === 'COMPLIANCE' || current?.Mode === 'GOVERNANCE' ? current.Mode : lock.mode;
    await s3.send(new PutObjectRetentionCommand({ Bucket: bucket, Key: key, Retention: { Mode: mode, RetainUntilDate: lock.retainUntil } }));
    return true;
  } catch (error) {
    throw new ArchiveCopyError('RETENTION_FAILED', `cannot extend the Object Lock retention of ${key} to ${lock.retainUntil.toISOString()}: ${describeS3Error(error)}`, {
      cause: error,
    });
  }
}

/** Copies one object unless the archive already holds it; says which. */
async function archiveObject(args: ArchiveObjectArgs): Promise<'copied' | 'already archived'> {
  const { s3, bucket, source, target, item } = args;
  let sourceHead: HeadObjectCommandOutput;
  try {
    sourceHead = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: source, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) throw new ArchiveCopyError('SOURCE_MISSING', `${source} is missing: cannot archive it`, { cause: error });
    throw new ArchiveCopyError('COPY_FAILED', `cannot read ${source}: ${describeS3Error(error)}`, { cause: error });
  }
  if (sourceHead.ContentLength !== item.size) {
    throw new ArchiveCopyError('SOURCE_CHANGED', `${source} is ${sourceHead.ContentLength} bytes, the manifest says ${item.size}: it changed after validation`);
  }
  const accepted = acceptedChecksums(item, sourceHead);
  if (await alreadyArchived(args, sourceHead, accepted)) return 'already archived';
  try {
    if (args.multipart) await multipartCopy(args, sourceHead);
    else await singleCopy(args, sourceHead, accepted);
  } catch (error) {
    if (error instanceof ArchiveCopyError) throw error;
    throw new ArchiveCopyError('COPY_FAILED', `copying ${source} to ${target} failed: ${describeS3Error(error)}`, { cause: error });
  }
  return 'copied';
}

/** Checksums (S3 `ChecksumSHA256` form) that identify the source's content. */
function acceptedChecksums(item: CopyItem, sourceHead: HeadObjectCommandOutput): string[] {
  const values: string[] = [];
  values.push(hexToBase64(item.sha256));
  if (sourceHead.ChecksumSHA256) values.push(sourceHead.ChecksumSHA256);
  return values;
}

/**
 * Whether the archive already holds this object: same size, the target storage class, and either a
 * SHA-256 checksum matching the source's, or — for a multipart copy, whose composite checksum depends
 * on the copy's own part size — last modified no earlier than the source.
 */
async function alreadyArchived(args: ArchiveObjectArgs, sourceHead: HeadObjectCommandOutput, accepted: string[]): Promise<boolean> {
  let head: HeadObjectCommandOutput;
  try {
    head = await args.s3.send(new HeadObjectCommand({ Bucket: args.bucket, Key: args.target, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    if (isNotFound(error)) return false;
    throw new ArchiveCopyError('COPY_FAILED', `cannot check ${args.target}: ${describeS3Error(error)}`, { cause: error });
  }
  if (head.ContentLength !== args.item.size || (head.StorageClass ?? 'STANDARD') !== args.storageClass) return false;
  if (head.ChecksumSHA256 && accepted.some((c) => sameS3Checksum(head.ChecksumSHA256!, c))) return true;
  if (args.multipart && head.LastModified && sourceHead.LastModified) return head.LastModified >= sourceHead.LastModified;
  return false;
}

/** The Object Lock parameters of a copy, when a lock is configured. */
function lockParameters(args: ArchiveObjectArgs): { ObjectLockMode?: ArchiveObjectLockConfig['mode']; ObjectLockRetainUntilDate?: Date } {
  return args.lock ? { ObjectLockMode: args.lock.mode, ObjectLockRetainUntilDate: args.lock.retainUntil } : {};
}

/** CopyObject (source ≤ 5 GiB), checking the checksum S3 computed for the copy when it reports one. */
async function singleCopy(args: ArchiveObjectArgs, sourceHead: HeadObjectCommandOutput, accepted: string[]): Promise<void> {
  const { s3, bucket, source, target, storageClass } = args;
  const response = await s3.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: target,
      CopySource: copySource(bucket, source),
      CopySourceIfMatch: sourceHead.ETag,
      StorageClass: storageClass,
      MetadataDirective: 'COPY',
      ChecksumAlgorithm: 'SHA256',
      ...lockParameters(args),
    }),
  );
  const checksum = response.CopyObjectResult?.ChecksumSHA256;
  if (checksum && !accepted.some((c) => sameS3Checksum(checksum, c))) {
    throw new ArchiveCopyError(
      'COPY_CHECKSUM_MISMATCH',
      `${target} was copied with SHA-256 checksum ${checksum}, expected ${accepted.join(' or ')} from ${source}`,
    );
  }
}

/**
 * Multipart copy of an object over the threshold. The destination gets the source's content headers
 * and user metadata (what `MetadataDirective: 'COPY'` does for CopyObject). Aborts the upload when
 * any step fails, so no orphan parts are left (the bucket's lifecycle rule is the backstop).
 */
async function multipartCopy(args: ArchiveObjectArgs, sourceHead: HeadObjectCommandOutput): Promise<void> {
  const { s3, bucket, source, target, storageClass, item } = args;
  const created = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: target,
      StorageClass: storageClass,
      ChecksumAlgorithm: 'SHA256',
      ContentType: sourceHead.ContentType,
      ContentEncoding: sourceHead.ContentEncoding,
      ContentDisposition: sourceHead.ContentDisposition,
      ContentLanguage: sourceHead.ContentLanguage,
      CacheControl: sourceHead.CacheControl,
      Metadata: sourceHead.Metadata,
      ...lockParameters(args),
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new ArchiveCopyError('COPY_FAILED', `S3 returned no upload id for ${target}`);
  try {
    const ranges = partRanges(item.size, choosePartSize(item.size, args.partSizeBytes));
    const parts = await mapWithConcurrency(ranges, args.copyConcurrency, async (range): Promise<CompletedPart> => {
      const response = await s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: target,
          UploadId: uploadId,
          PartNumber: range.partNumber,
          CopySource: copySource(bucket, source),
          CopySourceIfMatch: sourceHead.ETag,
          CopySourceRange: `bytes=${range.start}-${range.end}`,
        }),
      );
      const result = response.CopyPartResult;
      if (!result?.ETag) throw new ArchiveCopyError('COPY_FAILED', `S3 returned no ETag for part ${range.partNumber} of ${target}`);
      return { PartNumber: range.partNumber, ETag: result.ETag, ChecksumSHA256: result.ChecksumSHA256 };
    });
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (error) {
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId: uploadId }));
    } catch (abortError) {
      throw new ArchiveCopyError(
        'COPY_FAILED',
        `multipart copy of ${source} to ${target} failed (${describeS3Error(error)}) and aborting upload ${uploadId} failed too (${describeS3Error(abortError)}); the bucket's lifecycle rule removes its parts`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The Lambda entry point: `makeArchiveSetHandler` over an S3 client from the Lambda environment,
 * `HOT_SITE_BUCKET`, the storage class and the Object Lock variables, built on the first invocation.
 * The storage class is the `ArchiveStorageClass` parameter under `SETTINGS_PREFIX` (read at cold start)
 * when there is one, else `ARCHIVE_STORAGE_CLASS` (the deploy-time default).
 * @throws EnvironmentError when a variable is missing or invalid; SettingsParameterError naming an
 *   invalid or unreadable parameter.
 */
export const handler = lazyHandlerWithSettings(async () => {
  const bucket = hotSiteBucketFromEnv();
  const objectLock = archiveObjectLockFromEnv();
  const { storageClass, source } = await loadArchiveStorageClass();
  const log = jsonLog(STATE_NAME);
  log({ level: 'info', message: `settings: ArchiveStorageClass ${storageClass} (from ${source})` });
  return makeArchiveSetHandler({ s3: s3ClientFromEnv(), bucket, storageClass, objectLock, log });
});
