/**
 * The agent's access to the hot-site bucket: the client, error wording and request retries the uploads share, the
 * manifest upload (a SET's hot-site commit), listing SETs, aborting stale uploads, making sure the bucket exists for
 * the local stand-in. The uploads of SET files themselves are in stream-upload.ts.
 */
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  PutObjectCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Client } from '#agent/aws/clients';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HotSiteError } from '#core/errors';
import { MANIFEST_FILE, parseSetObjectKey, SETS_PREFIX, setObjectKey } from '#core/hotsite-layout';
import type { Manifest } from '#core/manifest';
import { parseManifest } from '#core/manifest';
import type { Settings } from '#core/settings';

/** Concurrent part uploads per file. Phase 1's parts are file ranges (no part in memory): each holds 256 KiB of its body. */
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
  // The agent's one client factory: region, stand-in endpoint, HTTPS_PROXY/NO_PROXY.
  return s3Client(hotSite, { maxAttempts: options.maxAttempts ?? 3 });
}

/** Wraps an SDK error as a HotSiteError with an operator-readable message (no credentials). */
export function hotSiteError(action: string, bucket: string, error: unknown): HotSiteError {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const network = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH'];
  const code = e.code ?? (e as { errno?: string }).errno ?? e.name ?? 'Error';
  const inMessage = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|ECONNRESET|socket hang up/.exec(e.message ?? '');
  if (network.includes(String(code)) || inMessage) {
    // The SDK may wrap the socket error ("AWS SDK error wrapper for Error: connect ECONNREFUSED …"): name the socket's code.
    const shown = network.includes(String(code)) ? code : inMessage![0];
    return new HotSiteError('HOTSITE_UNREACHABLE', `hot-site unreachable while trying to ${action} (bucket ${bucket}): ${shown}`, { cause: error });
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

/** The uploader's own retries of one request: attempts in all, and the first wait (ms, doubled each time). */
export interface RequestRetry {
  attempts: number;
  baseDelayMs: number;
}

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

/**
 * The conditional header of every agent write of committed data (issue 21): `If-None-Match: *` makes PutObject and
 * CompleteMultipartUpload create the key or fail with 412 PreconditionFailed — never replace an existing object. The
 * hot-site bucket policy refuses the agent's writes without it (infra/tamper-protection.ts, `agentCreateOnly`).
 */
export const CREATE_ONLY = { IfNoneMatch: '*' } as const;

/** Whether S3 refused a conditional write because the key exists (412 PreconditionFailed). */
export function isPreconditionFailed(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'PreconditionFailed' || e.Code === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412;
}

/**
 * After a create-only write was refused with 412: whether the object already at `key` is the one we meant to write
 * (the same size and S3 SHA-256 checksum — a retried upload after a crash, a re-fill of what is there). HeadObject
 * with `ChecksumMode`; an object without a SHA-256 checksum is never taken as ours.
 * @returns null when it is ours, else what differs (for the error message).
 * @throws the HeadObject error when the object cannot be read.
 */
export async function existingObjectProblem(s3: S3Client, bucket: string, key: string, size: number, checksumSHA256: string): Promise<string | null> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  if (head.ContentLength !== size) return `it is ${head.ContentLength ?? 'of unknown size'} bytes, not ${size}`;
  const strip = (c: string) => c.replace(/-\d+$/, '');
  if (!head.ChecksumSHA256) return 'it has no SHA-256 checksum to compare';
  if (strip(head.ChecksumSHA256) !== strip(checksumSHA256)) return `its SHA-256 checksum is ${head.ChecksumSHA256}, not ${checksumSHA256}`;
  return null;
}

/**
 * A create-only write refused because the key exists, with different content: the agent never replaces a committed
 * object (the scrub repairs a damaged one through the repair function).
 */
export function existingObjectError(bucket: string, key: string, problem: string): HotSiteError {
  return new HotSiteError(
    'HOTSITE_OBJECT_EXISTS',
    `s3://${bucket}/${key} already exists at the hot-site and differs from this copy (${problem}); it was not overwritten (the agent only creates objects). If the hot-site copy is damaged, the next job's scrub repairs it.`,
  );
}

/**
 * Sends a create-only write (`send` must carry {@link CREATE_ONLY}); a 412 on an object that is already the one meant
 * (same size and checksum) counts as written.
 * @returns 'created', or 'already-there' after a 412 on an intact object.
 * @throws the write's error; a HotSiteError `HOTSITE_OBJECT_EXISTS` when another object holds the key.
 */
export async function createOnlyWrite(
  send: () => Promise<unknown>,
  target: { s3: S3Client; bucket: string; key: string; size: number; checksumSHA256: string },
): Promise<'created' | 'already-there'> {
  try {
    await send();
    return 'created';
  } catch (error) {
    if (!isPreconditionFailed(error)) throw error;
    const problem = await existingObjectProblem(target.s3, target.bucket, target.key, target.size, target.checksumSHA256);
    if (problem !== null) throw existingObjectError(target.bucket, target.key, problem);
    return 'already-there';
  }
}

/** Base64 SHA-256 of `data`: the form of S3's `ChecksumSHA256`. */
export const sha256Base64 = (data: Uint8Array): string => createHash('sha256').update(data).digest('base64');

/**
 * Uploads `<setDir>/manifest.json` to `sets/SET_<n>/manifest.json` with its SHA-256 (a single create-only PUT,
 * `If-None-Match: *`): the hot-site commit point of a SET, sent only after every other file of the SET is there. The
 * same manifest already there (a retry after a crash) counts as uploaded.
 * @throws HotSiteError when the hot-site cannot be reached or refuses it; `HOTSITE_OBJECT_EXISTS` when another
 *   manifest holds the key.
 */
export async function uploadManifest(s3: S3Client, bucket: string, setDir: string, manifest: Manifest, retry: RequestRetry = UPLOAD_REQUEST_RETRY): Promise<void> {
  const manifestPath = join(setDir, MANIFEST_FILE);
  try {
    const body = await readFile(manifestPath);
    const key = setObjectKey('sets', manifest.setName, MANIFEST_FILE);
    const checksum = sha256Base64(body);
    await createOnlyWrite(
      () =>
        sendWithRetry(
          () =>
            s3.send(
              new PutObjectCommand({
                Bucket: bucket,
                Key: key,
                Body: body,
                ContentLength: body.length,
                ChecksumAlgorithm: 'SHA256',
                ChecksumSHA256: checksum,
                ContentType: 'application/json',
                ...CREATE_ONLY,
              }),
            ),
          retry,
        ),
      { s3, bucket, key, size: body.length, checksumSHA256: checksum },
    );
  } catch (error) {
    if (error instanceof HotSiteError) throw error;
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
 * Reads and validates the manifest of a SET at the hot-site. `set`: its recorded name (legacy or new), or the job id of a new-named SET.
 * @throws HotSiteError when it cannot be read; ManifestError when it is malformed.
 */
export async function readHotSiteManifest(s3: S3Client, bucket: string, set: string | number): Promise<Manifest> {
  const key = setObjectKey('sets', set, MANIFEST_FILE);
  let body: Uint8Array;
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    body = await response.Body!.transformToByteArray();
  } catch (error) {
    throw hotSiteError(`read ${key}`, bucket, error);
  }
  return parseManifest(Buffer.from(body), `s3://${bucket}/${key}`);
}
