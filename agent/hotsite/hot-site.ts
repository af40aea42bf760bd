/**
 * The agent's access to the hot-site bucket: upload a SET (manifest last), list SETs, make sure the
 * bucket exists for the local stand-in.
 */
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { HotSiteError } from '#core/errors';
import { MANIFEST_FILE, parseSetObjectKey, SETS_PREFIX, setObjectKey } from '#core/hotsite-layout';
import type { Manifest } from '#core/manifest';
import { parseManifest } from '#core/manifest';
import type { Settings } from '#core/settings';
import { faultPoint } from '#agent/faults';

/** Concurrent part uploads per file. Memory used ≈ partSize × UPLOAD_QUEUE_SIZE. */
export const UPLOAD_QUEUE_SIZE = 4;

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
  if (network.includes(String(code)) || /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH/.test(e.message ?? '')) {
    return new HotSiteError('HOTSITE_UNREACHABLE', `hot-site unreachable while trying to ${action} (bucket ${bucket}): ${code}`, { cause: error });
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

/**
 * Uploads a complete SET folder to `sets/SET_<n>/`: every file the manifest lists (streamed, multipart
 * above the manifest's part size, with SHA-256 checksums S3 verifies per part), then `manifest.json` last,
 * so the hot-site copy is complete only when everything else is there. An interrupted multipart upload is
 * aborted (lib-storage `leavePartsOnError: false`), never left as orphan parts.
 * @returns bytes uploaded (files + manifest).
 * @throws HotSiteError when the hot-site cannot be reached or refuses an upload.
 */
export async function uploadSet(
  s3: S3Client,
  bucket: string,
  setDir: string,
  manifest: Manifest,
  onProgress?: UploadProgress,
): Promise<number> {
  const total = manifest.files.reduce((sum, f) => sum + f.size, 0);
  let sent = 0;
  for (const file of manifest.files) {
    const partSize = file.s3?.partSize ?? 16 * 1024 * 1024;
    let fileSent = 0;
    const upload = new Upload({
      client: s3,
      params: {
        Bucket: bucket,
        Key: setObjectKey('sets', manifest.jobId, file.name),
        Body: createReadStream(join(setDir, file.name), { highWaterMark: 1024 * 1024 }),
        ChecksumAlgorithm: 'SHA256',
        Metadata: { 'commserve-dr-sha256': file.sha256 },
      },
      partSize,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    upload.on('httpUploadProgress', (p) => {
      if (typeof p.loaded === 'number') {
        if (p.loaded > 0 && p.loaded < file.size) faultPoint('upload');
        sent += p.loaded - fileSent;
        fileSent = p.loaded;
        onProgress?.(sent, total, file.name);
      }
    });
    try {
      await upload.done();
    } catch (error) {
      throw hotSiteError(`upload ${manifest.setName}/${file.name}`, bucket, error);
    }
    sent += file.size - fileSent;
  }
  const manifestPath = join(setDir, MANIFEST_FILE);
  try {
    await new Upload({
      client: s3,
      params: {
        Bucket: bucket,
        Key: setObjectKey('sets', manifest.jobId, MANIFEST_FILE),
        Body: createReadStream(manifestPath),
        ChecksumAlgorithm: 'SHA256',
        ContentType: 'application/json',
      },
      leavePartsOnError: false,
    }).done();
  } catch (error) {
    throw hotSiteError(`upload ${manifest.setName}/${MANIFEST_FILE}`, bucket, error);
  }
  return sent;
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
