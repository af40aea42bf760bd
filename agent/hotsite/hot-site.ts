/**
 * The agent's access to the hot-site bucket: upload a SET (manifest last), list SETs, make sure the
 * bucket exists for the local stand-in.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CommserveDrError, HotSiteError } from '#core/errors';
import { MANIFEST_FILE, parseSetObjectKey, SETS_PREFIX, setObjectKey } from '#core/hotsite-layout';
import type { Manifest } from '#core/manifest';
import { parseManifest } from '#core/manifest';
import type { Settings } from '#core/settings';
import { choosePartSize, partCount, S3_MAX_OBJECT_BYTES, S3_MAX_PART_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES, TransferLimitError } from '#core/transfer-plan';
import { faultPoint } from '#agent/faults';

/** Concurrent part uploads per file. Memory used by an upload ≈ partSize × UPLOAD_QUEUE_SIZE (8 MiB × 4 by default). */
export const UPLOAD_QUEUE_SIZE = 4;

/**
 * Retries of one upload request (a part, or a single PUT) by the uploader itself, on top of the SDK's own
 * `maxAttempts`: a part whose SDK attempts all failed with a transient error (5xx, throttling, a cut or refused
 * connection) is sent again after `baseDelayMs`, doubled each time, instead of aborting the whole multipart
 * upload. Worst case per request: `attempts` × the client's `maxAttempts` tries.
 */
export const UPLOAD_REQUEST_RETRY = { attempts: 3, baseDelayMs: 500 } as const;

/**
 * An S3 client for the hot-site. With `endpoint` (moto or another S3-compatible stand-in) it uses
 * path-style addressing; without credentials in the environment it uses dummy ones for a local endpoint only.
 * `maxAttempts` bounds the SDK's own retries (default 3).
 */
export function createHotSiteClient(hotSite: Settings['HotSite'], options: { maxAttempts?: number } = {}): S3Client {
  const config: S3ClientConfig = { region: hotSite.region, maxAttempts: options.maxAttempts ?? 3 };
  if (hotSite.endpoint) {
    config.endpoint = hotSite.endpoint;
    config.forcePathStyle = true;
    if (!process.env.AWS_ACCESS_KEY_ID && isLoopback(hotSite.endpoint)) {
      config.credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    }
  }
  return new S3Client(config);
}

function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** Wraps an SDK error as a HotSiteError with an operator-readable message (no credentials). */
export function hotSiteError(action: string, bucket: string, error: unknown): HotSiteError {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const network = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'];
  const code = e.code ?? (e as { errno?: string }).errno ?? e.name ?? 'Error';
  if (network.includes(String(code)) || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|socket hang up/.test(e.message ?? '')) {
    return new HotSiteError('HOTSITE_UNREACHABLE', `hot-site unreachable while trying to ${action} (bucket ${bucket}): ${code}`, { cause: error });
  }
  if (e.name === 'CredentialsProviderError') {
    return new HotSiteError(
      'HOTSITE_NO_CREDENTIALS',
      `no AWS credentials to ${action} (bucket ${bucket}): configure AWS credentials, or set HotSite.endpoint to a local stand-in such as moto_server`,
      { cause: error },
    );
  }
  if (e.name === 'NoSuchBucket') {
    return new HotSiteError('HOTSITE_NO_BUCKET', `hot-site bucket ${bucket} does not exist (while trying to ${action})`, { cause: error });
  }
  const status = e.$metadata?.httpStatusCode;
  return new HotSiteError('HOTSITE_ERROR', `hot-site refused to ${action} (bucket ${bucket}): ${e.name ?? 'error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`, {
    cause: error,
  });
}

/** Creates the bucket if it does not exist (local stand-in only; in AWS the stack owns the bucket). */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return;
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw hotSiteError('check the bucket', bucket, error);
  }
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    throw hotSiteError('create the bucket', bucket, error);
  }
}

/** Progress of a SET upload: bytes sent so far of the SET's total. */
export type UploadProgress = (sentBytes: number, totalBytes: number, file: string) => void;

/** Options of {@link uploadSet}. */
export interface UploadSetOptions {
  /** Concurrent part uploads per file (default {@link UPLOAD_QUEUE_SIZE}). */
  queueSize?: number;
  /** The uploader's own retries of a part or single PUT (default {@link UPLOAD_REQUEST_RETRY}; `attempts: 1` turns them off). */
  requestRetry?: { attempts: number; baseDelayMs: number };
}

/** The uploader's own retries of one request: attempts in all, and the first wait (ms, doubled each time). */
export type RequestRetry = NonNullable<UploadSetOptions['requestRetry']>;

/** Whether an upload request that failed (after the SDK's own attempts) is worth sending again. */
export function isTransientUploadError(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 500) return true;
  if (status === 429 || e.$retryable) return true;
  if (['SlowDown', 'InternalError', 'ServiceUnavailable', 'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'ThrottlingException'].includes(e.name ?? '')) return true;
  const network = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up/i;
  return network.test(String(e.code ?? '')) || network.test(String((e as { errno?: unknown }).errno ?? '')) || network.test(e.message ?? '');
}

/**
 * Sends an idempotent upload request, retrying transient failures ({@link isTransientUploadError}) `retry.attempts`
 * times in all with doubling waits from `retry.baseDelayMs` (ms).
 * @throws the last error, or the first non-transient one.
 */
export async function sendWithRetry<T>(send: () => Promise<T>, retry: RequestRetry): Promise<T> {
  const attempts = Math.max(1, Math.floor(retry.attempts));
  let delay = Math.max(0, retry.baseDelayMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (attempt >= attempts || !isTransientUploadError(error)) throw error;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
}

/** A file of the SET with its transfer plan, checked before anything is sent. */
interface PlannedFile {
  name: string;
  path: string;
  key: string;
  size: number;
  sha256: string;
  partSize: number;
  parts: number;
}

/**
 * The transfer plan of every file of the SET, checked against S3's limits before any byte is sent: an object
 * over 5 TiB, a part under 5 MiB (but the last) or over 10,000 parts is refused here, so nothing is uploaded.
 */
function planSetUpload(bucket: string, setDir: string, manifest: Manifest): PlannedFile[] {
  return manifest.files.map((file) => {
    let partSize: number;
    try {
      partSize = file.s3?.partSize ?? choosePartSize(file.size);
      if (file.size > S3_MAX_OBJECT_BYTES) throw new TransferLimitError(`object of ${file.size} bytes exceeds the 5 TiB S3 object limit`);
      const parts = partCount(file.size, partSize);
      if (parts > 1 && partSize < S3_MIN_PART_BYTES) throw new TransferLimitError(`part size ${partSize} is under the 5 MiB S3 minimum`);
      if (parts > S3_MAX_PARTS) throw new TransferLimitError(`${parts} parts exceed the 10,000-part S3 limit`);
      if (partSize > S3_MAX_PART_BYTES) throw new TransferLimitError(`part size ${partSize} exceeds the 5 GiB S3 maximum`);
      return {
        name: file.name,
        path: join(setDir, file.name),
        key: setObjectKey('sets', manifest.jobId, file.name),
        size: file.size,
        sha256: file.sha256,
        partSize,
        parts,
      };
    } catch (error) {
      throw new HotSiteError('HOTSITE_ERROR', `refusing to upload ${manifest.setName}/${file.name} to bucket ${bucket}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/** Reads exactly `length` bytes at `position` into a new buffer (the part's memory, released once it is sent). */
async function readPart(handle: FileHandle, position: number, length: number, file: string): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new Error(`${file} is shorter than the manifest says (${position + filled} bytes)`);
    filled += bytesRead;
  }
  return buffer;
}

/** Base64 SHA-256 of `data`: the form of S3's `ChecksumSHA256`. */
export const sha256Base64 = (data: Uint8Array): string => createHash('sha256').update(data).digest('base64');

/**
 * Uploads one file: a single PutObject up to its part size, else a multipart upload whose parts are read one
 * after the other and sent `queueSize` at a time (memory ≈ partSize × queueSize), each with its SHA-256.
 * Any failure aborts the multipart upload (after the parts in flight settle), so no orphan parts remain.
 */
async function uploadFile(s3: S3Client, bucket: string, file: PlannedFile, queueSize: number, retry: RequestRetry, onLoaded: (loaded: number) => void): Promise<void> {
  const handle = await open(file.path, 'r');
  try {
    const { size } = await handle.stat();
    if (size !== file.size) throw new Error(`${file.name} has ${size} bytes, the manifest says ${file.size}`);
    const whole = createHash('sha256');
    /** The file must still be what its manifest says: a damaged local copy is never made the hot-site copy. */
    const checkWhole = () => {
      const sha256 = whole.digest('hex');
      if (sha256 !== file.sha256) {
        throw new CommserveDrError('SET_FILE_MISMATCH', `${file.name} has SHA-256 ${sha256.slice(0, 16)}…, its manifest says ${file.sha256.slice(0, 16)}…: the local copy is damaged and was not uploaded`);
      }
    };
    if (file.parts === 1) {
      const body = await readPart(handle, 0, file.size, file.name);
      whole.update(body);
      checkWhole();
      const checksum = sha256Base64(body);
      await sendWithRetry(
        () => s3.send(new PutObjectCommand({ Bucket: bucket, Key: file.key, Body: body, ContentLength: body.length, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum })),
        retry,
      );
      onLoaded(file.size);
      return;
    }
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: file.key, ChecksumAlgorithm: 'SHA256' }));
    const uploadId = created.UploadId!;
    const done: CompletedPart[] = [];
    let failure: unknown;
    let loaded = 0;
    const inFlight = new Set<Promise<void>>();
    try {
      for (let n = 1; n <= file.parts && failure === undefined; n++) {
        while (inFlight.size >= queueSize) await Promise.race(inFlight);
        if (failure !== undefined) break;
        const start = (n - 1) * file.partSize;
        const length = Math.min(file.partSize, file.size - start);
        const body = await readPart(handle, start, length, file.name);
        whole.update(body); // parts are read in order
        const checksum = sha256Base64(body);
        const sending: Promise<void> = sendWithRetry(
          () =>
            s3.send(new UploadPartCommand({ Bucket: bucket, Key: file.key, UploadId: uploadId, PartNumber: n, Body: body, ContentLength: length, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum })),
          retry,
        )
          .then(
            (r) => {
              done.push({ PartNumber: n, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? checksum });
              loaded += length;
              onLoaded(loaded);
            },
            (error: unknown) => {
              failure ??= error;
            },
          )
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure;
      checkWhole();
      done.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: file.key, UploadId: uploadId, MultipartUpload: { Parts: done } }));
    } catch (error) {
      await Promise.allSettled(inFlight);
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: file.key, UploadId: uploadId })).catch(() => undefined);
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Uploads a complete (committed) SET folder to `sets/SET_<n>/` — the re-fill path; phase 1 itself uploads in its
 * single pass (`streamSetFile`) — every file the manifest lists, then `manifest.json` last,
 * so the hot-site copy is complete only when everything else is there. Each file is read once for the upload
 * and sent as a single PUT up to its part size (the manifest's `s3.partSize`), else as a multipart upload of
 * parts of that size, `queueSize` in parallel; every request carries its SHA-256 (`ChecksumSHA256`), which S3
 * verifies. Every file's plan is checked against S3's limits first (nothing is sent for a SET with a file over
 * 5 TiB). A part or single PUT that still fails after the SDK's own attempts with a transient error (5xx,
 * throttling, a cut connection) is sent again by the uploader ({@link UPLOAD_REQUEST_RETRY}), so the multipart
 * upload resumes at that part instead of starting over. An interrupted multipart upload is aborted, never left
 * as orphan parts.
 * Every file is checked against the manifest's SHA-256 as it is read: a damaged local file is not made the hot-site
 * copy (its upload is aborted before completion, and the manifest is not sent).
 * @returns bytes uploaded (files + manifest).
 * @throws HotSiteError when the hot-site cannot be reached or refuses an upload, or a file is refused;
 *   CommserveDrError `SET_FILE_MISMATCH` when a file no longer matches its manifest.
 */
export async function uploadSet(
  s3: S3Client,
  bucket: string,
  setDir: string,
  manifest: Manifest,
  onProgress?: UploadProgress,
  options: UploadSetOptions = {},
): Promise<number> {
  const plan = planSetUpload(bucket, setDir, manifest);
  const queueSize = Math.max(1, options.queueSize ?? UPLOAD_QUEUE_SIZE);
  const retry = options.requestRetry ?? UPLOAD_REQUEST_RETRY;
  const total = plan.reduce((sum, f) => sum + f.size, 0);
  let sent = 0;
  for (const file of plan) {
    let fileSent = 0;
    const progress = (loaded: number) => {
      if (loaded > 0 && loaded < file.size) faultPoint('upload');
      sent += loaded - fileSent;
      fileSent = loaded;
      onProgress?.(sent, total, file.name);
    };
    try {
      await uploadFile(s3, bucket, file, queueSize, retry, progress);
    } catch (error) {
      if (error instanceof CommserveDrError) throw error;
      throw hotSiteError(`upload ${manifest.setName}/${file.name}`, bucket, error);
    }
    sent += file.size - fileSent;
  }
  await uploadManifest(s3, bucket, setDir, manifest, retry);
  return sent;
}

/**
 * Uploads `<setDir>/manifest.json` to `sets/SET_<n>/manifest.json` with its SHA-256 (a single PUT): the hot-site
 * commit point of a SET, sent only after every other file of the SET is there.
 * @throws HotSiteError when the hot-site cannot be reached or refuses it.
 */
export async function uploadManifest(s3: S3Client, bucket: string, setDir: string, manifest: Manifest, retry: RequestRetry = UPLOAD_REQUEST_RETRY): Promise<void> {
  const manifestPath = join(setDir, MANIFEST_FILE);
  try {
    const body = await readFile(manifestPath);
    await sendWithRetry(
      () =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: setObjectKey('sets', manifest.jobId, MANIFEST_FILE),
            Body: body,
            ContentLength: body.length,
            ChecksumAlgorithm: 'SHA256',
            ChecksumSHA256: sha256Base64(body),
            ContentType: 'application/json',
          }),
        ),
      retry,
    );
  } catch (error) {
    throw hotSiteError(`upload ${manifest.setName}/${MANIFEST_FILE}`, bucket, error);
  }
}

/**
 * Aborts every multipart upload in progress under `sets/` (ListMultipartUploads, paginated). Call only
 * while holding the phase-1 lock: then any such upload was left by an interrupted job (a killed agent),
 * and its parts would otherwise be billed until the bucket's lifecycle rule removes them.
 * @returns the keys whose uploads were aborted.
 * @throws HotSiteError when the uploads cannot be listed or aborted.
 */
export async function abortStaleUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const aborted: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  try {
    do {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: SETS_PREFIX, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key || !upload.UploadId) continue;
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
        aborted.push(upload.Key);
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  } catch (error) {
    throw hotSiteError('abort interrupted uploads', bucket, error);
  }
  return aborted;
}

/** A SET as seen at the hot-site under `sets/`. */
export interface HotSiteSet {
  jobId: number;
  setName: string;
  /** Whether `manifest.json` is present (the SET is complete). */
  complete: boolean;
  objects: number;
  /** Bytes of all objects, manifest included. */
  bytes: number;
}

/**
 * Lists the SETs under `sets/` (ListObjectsV2, paginated), ignoring any key that is not a SET object.
 * @throws HotSiteError when the hot-site cannot be listed.
 */
export async function listHotSiteSets(s3: S3Client, bucket: string): Promise<HotSiteSet[]> {
  const sets = new Map<number, HotSiteSet>();
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: SETS_PREFIX, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const parsed = object.Key ? parseSetObjectKey(object.Key) : undefined;
        if (!parsed) continue;
        const entry = sets.get(parsed.jobId) ?? { jobId: parsed.jobId, setName: parsed.setName, complete: false, objects: 0, bytes: 0 };
        entry.objects += 1;
        entry.bytes += object.Size ?? 0;
        if (parsed.file === MANIFEST_FILE) entry.complete = true;
        sets.set(parsed.jobId, entry);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw hotSiteError('list SETs', bucket, error);
  }
  return [...sets.values()].sort((a, b) => a.jobId - b.jobId);
}

/**
 * Reads and validates the manifest of a SET at the hot-site.
 * @throws HotSiteError when it cannot be read; ManifestError when it is malformed.
 */
export async function readHotSiteManifest(s3: S3Client, bucket: string, jobId: number): Promise<Manifest> {
  const key = setObjectKey('sets', jobId, MANIFEST_FILE);
  let body: Uint8Array;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = await response.Body!.transformToByteArray();
  } catch (error) {
    throw hotSiteError(`read ${key}`, bucket, error);
  }
  return parseManifest(Buffer.from(body), `s3://${bucket}/${key}`);
}
