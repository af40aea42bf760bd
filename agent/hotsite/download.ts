/**
 * Reading the hot-site for recovery (SPEC §6): list every SET object under `sets/` and `archive/` with its
 * storage class, restore archive objects (RestoreObject, then poll HeadObject until the `Restore` header says
 * `ongoing-request="false"`), and stream objects to disk while hashing them (and decompressing a brotli-compressed
 * dump) — never a whole file in memory, never a file under its final name before its size and SHA-256 matched.
 *
 * One GET per object: parallel ranged GETs (16 MiB, 4 at a time) were measured 3–4× slower than one GET against
 * moto server (it reads the object again for every range), so they are not used.
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
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { Transform, Writable, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, type BrotliDecompress } from 'node:zlib';
import { CommserveDrError, HotSiteError } from '#core/errors';
import { ARCHIVE_PREFIX, parseSetObjectKey, SETS_PREFIX, type SetArea } from '#core/hotsite-layout';
import { MANIFEST_MAX_BYTES, type ManifestFile } from '#core/manifest';
import { effectiveTier, needsRestore, parseRestoreHeader, type RetrievalTier } from '#core/recovery';
import { hotSiteError } from './hot-site';
import { fsFailure } from '#agent/fs-errors';

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

/**
 * Opens an object for reading (one GET).
 * @throws HotSiteError `OBJECT_ARCHIVED` (archive class, not restored), or another HotSiteError naming the bucket.
 */
export async function getObjectBody(s3: S3Client, bucket: string, key: string): Promise<Readable> {
  return getBody(s3, bucket, key);
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
  /** Bytes of the content (what a restore gets: the decompressed bytes of a compressed object). */
  bytes: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
  /** The object's bytes as stored (equal to the content when the object is not compressed). */
  stored: { bytes: number; sha256: string };
  /** What the file at `dest` holds: the content (default) or the stored bytes (`keep: 'stored'`). */
  kept: 'content' | 'stored';
  /**
   * Present when the observer verified the bytes ({@link ContentObserver.verifiedThrough}): `sha256` is then the
   * manifest's (the object's own SHA-256 was not computed) and this says how the bytes were proven.
   */
  verifiedThrough?: string;
}

/** What {@link downloadObject} checks an object against: the manifest entry's size, SHA-256 and compression. */
export interface DownloadExpectation {
  /** Size of the stored object, bytes. */
  size: number;
  /** SHA-256 of the stored object, lowercase hex. */
  sha256: string;
  /** Present when the object is stored brotli-compressed: the content is checked against `contentSize` / `contentSha256`. */
  compression?: ManifestFile['compression'];
}

/**
 * Sees the content bytes of a download, in order, as they are written (e.g. to hash the database a DIFFERENTIAL
 * makes of a FULL on the way). A rejected promise or a throw fails the download.
 */
export interface ContentObserver {
  /** The next content bytes (a throw or rejection fails the download). */
  update(chunk: Buffer): void | Promise<void>;
  /** Called once every byte was seen and the download verified (sizes and SHA-256s matched), before the rename. */
  finish?(): void | Promise<void>;
  /** Called when the download failed (release what the observer holds). */
  abort?(): void | Promise<void>;
  /**
   * Set when the observer's own digest verifies the bytes instead of the object's SHA-256 (uncompressed objects only;
   * issue 15: one hash per byte on the recovery path): the object's SHA-256 is then not computed, and {@link finish}
   * must throw a HotSiteError `CHECKSUM_MISMATCH` naming the object when its digest does not match (the copy is then
   * treated as damaged). The phrase says what was verified, for the report, e.g. `FULL + DIFF SHA-256 = SET_3's recorded one`.
   */
  verifiedThrough?: string;
}

/** Options of {@link downloadObject}. */
export interface DownloadOptions {
  /**
   * What `dest` holds for a compressed object: `content` (default: decompressed while downloading) or `stored` (the
   * object as it is, e.g. a SET fetched to disk that stays consistent with its manifest; its content is still
   * decompressed and verified on the way, then discarded). Ignored for an uncompressed object.
   */
  keep?: 'content' | 'stored';
  /** Sees every content byte in order (see {@link ContentObserver}). */
  observer?: ContentObserver;
  /**
   * Durability of the file before it gets its final name: `end` (default) fsyncs it then; `during` also flushes it
   * every {@link SYNC_STEP_BYTES} while it downloads (the disk writes overlap the download instead of all waiting for
   * the final fsync); `none` leaves it to the caller (e.g. a file it rebuilds and fsyncs itself).
   */
  sync?: 'end' | 'during' | 'none';
}

/** Bytes between two flushes of a download with `sync: 'during'`. */
export const SYNC_STEP_BYTES = 32 * 1024 * 1024;

/**
 * Output chunk of the brotli decompression, bytes: 1 MiB instead of zlib's 16 KiB default made a 256 MB dump's
 * download + decompression ~1.7× faster here (fewer round trips to the thread pool, fewer chunks downstream).
 */
const DECOMPRESS_CHUNK_BYTES = 1024 * 1024;

/** Write buffer of the file stream of a download, bytes (fewer, larger writes than the HTTP chunks). */
const DOWNLOAD_WRITE_BUFFER = 4 * 1024 * 1024;

/**
 * Counts, bounds and hashes the decompressed content of a compressed download and calls the observer, if any, with
 * every chunk.
 */
class ContentMeter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly observer?: ContentObserver,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(new ContentTooLong());
      return;
    }
    this.hash.update(chunk);
    let pending: void | Promise<void>;
    try {
      pending = this.observer?.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (pending) pending.then(() => callback(null, chunk), (error: unknown) => callback(error as Error));
    else callback(null, chunk);
  }
}

/** Resolves when `stream` can take more (`drain`), or has ended one way or another (`close`, `error`). */
function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** An error of the content chain that says the content is over its announced size. */
class ContentTooLong extends Error {}

/** Resolves when `stream` has finished and closed its file; rejects with its error. */
function closed(stream: Writable): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (stream.closed) {
      if (stream.errored) reject(stream.errored);
      else resolve();
      return;
    }
    stream.once('close', () => (stream.errored ? reject(stream.errored) : resolve()));
  });
}

/**
 * Streams an object into `<dest>.partial` while hashing it, checks its size and SHA-256 against the manifest's,
 * then renames it to `dest`. A compressed object (`expected.compression`, brotli) is decompressed while it
 * downloads (streaming, `node:zlib`): the stored bytes are checked against `size`/`sha256` and the content against
 * `contentSize`/`contentSha256`, and `dest` holds the content (unless `keep: 'stored'`). One GET, the bytes written
 * through a 4 MiB file stream buffer, hashed on the way (SHA-256 inline: with SHA-NI it costs less than handing the
 * bytes to a worker thread, measured). Memory stays bounded (a few MiB) whatever the object's size. On any mismatch
 * or failure the partial file is removed.
 * @returns the content's size and SHA-256 (and the stored bytes' when compressed).
 * @throws HotSiteError `OBJECT_ARCHIVED` (not restored), `SIZE_MISMATCH` / `CHECKSUM_MISMATCH` (the stored object
 *   was changed or damaged), `CONTENT_CORRUPT` (the stored object is the one the manifest describes but does not
 *   decompress), `CONTENT_MISMATCH` (the decompressed content's size or SHA-256 differs from the manifest's), other
 *   HotSiteErrors for S3 or disk failures; whatever the observer throws (once the stored bytes matched).
 */
export async function downloadObject(
  s3: S3Client,
  bucket: string,
  key: string,
  dest: string,
  expected: DownloadExpectation,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const body = await getBody(s3, bucket, key);
  return copyVerified(body, key, dest, expected, options, (error) => hotSiteError(`download ${key}`, bucket, error));
}

/**
 * {@link downloadObject} for any source of the stored bytes (a file of a SET folder on disk, an S3 object): streams
 * `body` into `<dest>.partial`, checks size and SHA-256 (and a compressed object's content) against `expected`, then
 * renames it to `dest`; on any mismatch or failure the partial file is removed and `body` destroyed.
 * @param label names the source in messages (an S3 key, a file path).
 * @param wrapError turns an I/O failure that is not a CommserveDrError into the caller's error type.
 * @throws as {@link downloadObject} (`SIZE_MISMATCH`, `CHECKSUM_MISMATCH`, `CONTENT_CORRUPT`, `CONTENT_MISMATCH` are
 *   HotSiteErrors whatever the source), or what `wrapError` returns.
 */
export async function copyVerified(
  body: Readable,
  label: string,
  dest: string,
  expected: DownloadExpectation,
  options: DownloadOptions,
  wrapError: (error: unknown) => Error,
): Promise<DownloadResult> {
  const key = label;
  const partial = `${dest}.partial`;
  const compression = expected.compression;
  const keep = compression ? (options.keep ?? 'content') : 'content';
  const observer = options.observer;
  // The observer's digest verifies an uncompressed object's bytes instead of their own SHA-256 (see ContentObserver).
  const observerVerifies = !compression && observer?.verifiedThrough !== undefined;
  // The stored bytes' SHA-256 (= the content's for an uncompressed object).
  const storedHash = createHash('sha256');
  let storedBytes = 0;
  const syncMode = options.sync ?? 'end';
  // fsyncs go through a handle of their own: the write stream closes its descriptor when it finishes.
  let syncFh: FileHandle | undefined;
  let file: WriteStream | undefined;
  // The content of a compressed object: brotli decompression → meter (size, SHA-256, observer) → the file (or nowhere
  // when the stored bytes are kept). An uncompressed object is written and observed in the read loop itself.
  let decompress: BrotliDecompress | undefined;
  let meter: ContentMeter | undefined;
  let contentDone: Promise<void> | undefined;
  // The first error of the content (decompression, observer, content too long) is kept: the stored bytes are still
  // read and hashed to the end, so a damaged object is reported as such (CHECKSUM_MISMATCH) rather than as whatever
  // the decompressor or the observer made of it.
  let contentError: unknown;
  let flushing: Promise<void> | undefined;
  // A failure to write the destination (disk full, read-only, gone) is the destination's, never the copy's: it is
  // reported as TARGET_WRITE_FAILED naming the file, so nobody blames (or skips) the copy being read.
  let targetFailure: unknown;
  const onTarget = async <T>(step: Promise<T>): Promise<T> => {
    try {
      return await step;
    } catch (error) {
      targetFailure ??= error;
      throw error;
    }
  };
  let ok = false;
  try {
    syncFh = syncMode === 'none' ? undefined : await onTarget(open(partial, 'w'));
    file = createWriteStream(partial, { flags: syncFh ? 'r+' : 'w', highWaterMark: DOWNLOAD_WRITE_BUFFER });
    file.on('error', (error) => {
      targetFailure ??= error; // also reported by closed()/drained() below
    });
    const out = file;
    if (compression) {
      const d = createBrotliDecompress({ chunkSize: DECOMPRESS_CHUNK_BYTES });
      decompress = d;
      meter = new ContentMeter(compression.contentSize, observer);
      const sink = keep === 'content' ? out : new Writable({ write: (_chunk, _encoding, callback) => callback() });
      contentDone = pipeline(d, meter, sink).catch((error: unknown) => {
        contentError ??= error;
      });
    }
    let nextFlushAt = SYNC_STEP_BYTES;
    /** `during`: one fdatasync at a time, each once another SYNC_STEP_BYTES reached the file (errors: the final fsync reports). */
    const flushAsWeGo = () => {
      if (syncMode !== 'during' || flushing || out.bytesWritten < nextFlushAt) return;
      nextFlushAt = out.bytesWritten + SYNC_STEP_BYTES;
      flushing = syncFh!
        .datasync()
        .catch(() => undefined)
        .then(() => {
          flushing = undefined;
        });
    };
    const writesStored = !compression || keep === 'stored';
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      storedBytes += buf.length;
      if (storedBytes > expected.size) break; // longer than the manifest says: stop reading
      if (!observerVerifies) storedHash.update(buf);
      if (!compression && observer && contentError === undefined) {
        try {
          await observer.update(buf);
        } catch (error) {
          contentError = error;
        }
      }
      const waitFile = writesStored && contentError === undefined && !out.write(buf);
      const waitHead = decompress !== undefined && contentError === undefined && !decompress.destroyed && !decompress.write(buf);
      if (writesStored && out.errored) throw out.errored; // a disk error (a compressed content's comes as contentError)
      flushAsWeGo();
      if (waitFile && waitHead) await Promise.all([drained(out), drained(decompress!)]);
      else if (waitFile) await drained(out);
      else if (waitHead) await drained(decompress!);
    }
    if (decompress && contentError === undefined && !decompress.destroyed) decompress.end();
    await contentDone;
    if (writesStored || contentError !== undefined) out.end();
    // A compressed object's file is the end of the content pipeline: an error there is the content's.
    await closed(out).catch((error: unknown) => {
      if (!decompress) throw error;
      contentError ??= error;
    });
    if (storedBytes !== expected.size) {
      throw new HotSiteError('SIZE_MISMATCH', `${key}: ${storedBytes > expected.size ? `more than ${expected.size}` : storedBytes} bytes read, the manifest says ${expected.size}: the object was changed or damaged`, {
        context: { key, expected: expected.size, actual: storedBytes },
      });
    }
    const storedSha = observerVerifies ? expected.sha256 : storedHash.digest('hex');
    if (storedSha !== expected.sha256) {
      throw new HotSiteError('CHECKSUM_MISMATCH', `${key}: SHA-256 ${storedSha.slice(0, 16)}… differs from the manifest's ${expected.sha256.slice(0, 16)}…: the object was changed or damaged`, {
        context: { key, expected: expected.sha256, actual: storedSha },
      });
    }
    if (contentError !== undefined) {
      if (contentError instanceof ContentTooLong) {
        throw new HotSiteError('CONTENT_MISMATCH', `${key}: the decompressed content is over the ${compression!.contentSize} bytes the manifest says: the SET was written damaged`, { context: { key } });
      }
      const code = String((contentError as { code?: unknown }).code ?? '');
      if (decompress && /^(Z_|ERR_BROTLI|ERR__ERROR_FORMAT)/.test(code)) {
        throw new HotSiteError('CONTENT_CORRUPT', `${key}: the stored object matches its manifest but does not decompress (${compression!.algorithm}: ${(contentError as Error).message}): the SET was written damaged`, {
          cause: contentError,
          context: { key },
        });
      }
      throw contentError;
    }
    let bytes = storedBytes;
    let sha256 = storedSha;
    if (compression && meter) {
      bytes = meter.bytes;
      sha256 = meter.hash.digest('hex');
      if (bytes !== compression.contentSize || sha256 !== compression.contentSha256) {
        const what = bytes !== compression.contentSize ? `${bytes} bytes, the manifest says ${compression.contentSize}` : `SHA-256 ${sha256.slice(0, 16)}… differs from the manifest's contentSha256 ${compression.contentSha256.slice(0, 16)}…`;
        throw new HotSiteError('CONTENT_MISMATCH', `${key}: decompressed content: ${what}: the SET was written damaged or its manifest does not describe it`, {
          context: { key, expected: { size: compression.contentSize, sha256: compression.contentSha256 }, actual: { size: bytes, sha256 } },
        });
      }
    }
    await observer?.finish?.();
    await flushing;
    if (syncFh) {
      await onTarget(syncFh.sync());
      await onTarget(syncFh.close());
      syncFh = undefined;
    }
    await onTarget(rename(partial, dest));
    ok = true;
    return { bytes, sha256, stored: { bytes: storedBytes, sha256: storedSha }, kept: keep, ...(observerVerifies ? { verifiedThrough: observer!.verifiedThrough } : {}) };
  } catch (error) {
    if (error instanceof CommserveDrError) throw error;
    // `errored` is set as the write fails, its 'error' event comes a tick later: either identifies the destination's error.
    if (error !== undefined && (error === targetFailure || error === file?.errored)) throw targetWriteError(dest, error);
    throw wrapError(error);
  } finally {
    if (!ok) {
      body.destroy?.();
      decompress?.destroy();
      file?.destroy();
      await contentDone;
      if (file) await closed(file).catch(() => undefined);
      await Promise.resolve(observer?.abort?.()).catch(() => undefined);
      await flushing;
      await syncFh?.close().catch(() => undefined);
      await rm(partial, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * The error for a destination that cannot be written while a verified copy is made (disk full, read-only, removed):
 * `cannot write <dest>: no space left on device (ENOSPC)`, code `TARGET_WRITE_FAILED`, `context.path` the file and
 * `context.fsCode` the errno code. It is about the destination only: the copy being read is not damaged and is not
 * skipped for it.
 */
export function targetWriteError(dest: string, error: unknown): CommserveDrError {
  return new CommserveDrError('TARGET_WRITE_FAILED', fsFailure('cannot write', dest, error), {
    cause: error,
    context: { path: dest, fsCode: (error as NodeJS.ErrnoException | undefined)?.code ?? null },
  });
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
 * @returns the stored object's size (bytes) and SHA-256 (hex) — of the stored bytes, also for a compressed object.
 * @throws HotSiteError as {@link downloadObject}'s reads.
 */
export async function hashObject(s3: S3Client, bucket: string, key: string): Promise<{ bytes: number; sha256: string }> {
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
