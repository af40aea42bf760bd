/**
 * Phase 1's single pass over a SET file (issue 10, SPEC §10): every file is read once, and in that pass its bytes
 * are hashed (the manifest's SHA-256 and each upload part's SHA-256) and page-digested for the FULL's page hashes — in
 * a hashing worker thread ({@link HashWorker}), so the main thread only reads and drives the sockets —, optionally
 * brotli-compressed (then the compressed bytes are what the phase-1 destination stores), and uploaded to the hot-site
 * in parts sent `queueSize` at a time, each with its `ChecksumSHA256` (S3 verifies every part). The object is created
 * with `If-None-Match: *` (PutObject or CompleteMultipartUpload): never replacing a committed object (issue 21).
 *
 * Memory: part buffers of the file's part size come from a pool of `queueSize + 1` buffers that every file of the SET
 * shares (part size × 5), plus the read chunks (1 MiB) and brotli's window: bounded whatever the database size.
 *
 * Failure handling: an upload that fails (after the SDK's and the uploader's retries) does not stop the pass — the
 * multipart upload is aborted, the session remembers the failure, and this file and the rest of the SET are still
 * hashed (and compressed and stored), so phase 1 can commit the local SET and re-fill the hot-site on the next job.
 * A read or local write failure throws.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  type CompletedPart,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createBrotliCompress } from 'node:zlib';
import { CommserveDrError, HotSiteError } from '#core/errors';
import type { Manifest, ManifestFile } from '#core/manifest';
import { setObjectKey } from '#core/hotsite-layout';
import { join } from 'node:path';
import { choosePartSize, MiB, partCount, S3_MAX_OBJECT_BYTES, S3_MAX_PART_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES, TransferLimitError } from '#core/transfer-plan';
import { faultPoint } from '#agent/faults';
import { HashWorker, ownedBuffer } from './hash-worker';
import { createOnlyWrite, CREATE_ONLY, hotSiteError, sendWithRetry, uploadManifest, UPLOAD_QUEUE_SIZE, UPLOAD_REQUEST_RETRY, type RequestRetry } from './hot-site';

/** Read size of the pass (bytes). */
const READ_CHUNK_BYTES = MiB;

/** Fixed-size buffers handed out up to `max` at a time; `take` waits for a `give` when all are out. */
class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(buffer: Buffer) => void> = [];
  private created = 0;

  constructor(
    readonly size: number,
    private readonly max: number,
  ) {}

  async take(): Promise<Buffer> {
    const buffer = this.free.pop();
    if (buffer) return buffer;
    if (this.created < this.max) {
      this.created += 1;
      return ownedBuffer(this.size);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}

/**
 * The hot-site side of one SET's pass: where objects go, the shared part-buffer pool, and the first upload failure.
 * Without an S3 client (`s3: null`) the pass only hashes and stores (no upload).
 */
export class SetUploadSession {
  /** The first upload failure (a HotSiteError); later files of the SET are then only hashed and stored. */
  failure: HotSiteError | undefined;
  private pool: BufferPool | undefined;
  readonly queueSize: number;
  readonly retry: RequestRetry;

  /**
   * @param s3 the hot-site client, or null to upload nothing.
   * @param options.queueSize parts in flight per file (default {@link UPLOAD_QUEUE_SIZE}); memory ≈ part size × (queueSize + 1).
   * @param options.requestRetry the uploader's own retries of one request (default {@link UPLOAD_REQUEST_RETRY}).
   */
  constructor(
    readonly s3: S3Client | null,
    readonly bucket: string,
    options: { queueSize?: number; requestRetry?: RequestRetry } = {},
  ) {
    this.queueSize = Math.max(1, options.queueSize ?? UPLOAD_QUEUE_SIZE);
    this.retry = options.requestRetry ?? UPLOAD_REQUEST_RETRY;
  }

  /** Whether parts are still being sent (there is a client and nothing has failed). */
  get uploading(): boolean {
    return this.s3 !== null && this.failure === undefined;
  }

  private worker: HashWorker | undefined;
  private streams = 0;

  /** The session's hashing worker (started on first use; stopped by {@link close}). */
  hashing(): HashWorker {
    this.worker ??= new HashWorker();
    return this.worker;
  }

  /** A name for a new hashed byte stream. */
  streamName(what: string): string {
    this.streams += 1;
    return `${this.streams}:${what}`;
  }

  /** Stops the hashing worker. Call when the SET is done (or failed). Idempotent. */
  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
  }

  /** The pool for parts of `partSize` bytes (kept while files share a part size, replaced otherwise). */
  buffers(partSize: number): BufferPool {
    if (!this.pool || this.pool.size !== partSize) this.pool = new BufferPool(partSize, this.queueSize + 1);
    return this.pool;
  }
}

/** Options of {@link streamSetFile}. */
export interface StreamSetFileOptions {
  /** The file to read (the dump, a registry export, …). */
  source: string;
  /** Name and role of the file in the SET (manifest entry). */
  name: string;
  role: ManifestFile['role'];
  /** Object key at the hot-site. */
  key: string;
  /**
   * Brotli-compress the bytes; the compressed bytes are written to `storedPath` (created or replaced) and are what
   * is uploaded. Absent: the source is stored as is.
   */
  compression?: { level: number; storedPath: string };
  /**
   * Page digests of the content (before compression), for the FULL's page hashes: `add` gets the 16-byte digest of
   * every `pageSize`-byte page in order, with the content bytes they cover.
   */
  pageDigests?: { pageSize: number; add: (digests: Buffer, bytes: number) => Promise<void> };
  /**
   * Part size in bytes (default `choosePartSize` of the file's size). The caller checked it against S3's limits (the
   * re-fill passes the manifest's, so the S3 checksum comes out as the manifest says).
   */
  partSize?: number;
  /**
   * The SHA-256 (hex) the stored bytes must have (the re-fill of a committed SET: its manifest's). Checked before the
   * object is completed: a file that differs is never made the hot-site copy.
   */
  expectedSha256?: string;
  /** Progress: content bytes read so far of the source's size. */
  onProgress?: (readBytes: number, totalBytes: number) => void;
  /**
   * What happens when `key` already exists. `create-only` (default, issue 21): the PUT or CompleteMultipartUpload
   * carries `If-None-Match: *`, so an existing object is never replaced; a 412 on an object with this file's size and
   * S3 checksum (a retry after a crash) counts as uploaded, one that differs fails with `HOTSITE_OBJECT_EXISTS`.
   * `overwrite`: no conditional header (only for keys outside what the bucket policy makes create-only, e.g. a
   * repair's staging key — never committed SET data).
   */
  existing?: 'create-only' | 'overwrite';
}

/** What {@link streamSetFile} produced: the manifest entry, and whether the object reached the hot-site. */
export interface StreamedSetFile {
  entry: ManifestFile;
  /** SHA-256 (hex) of the content (= `entry.sha256` when not compressed). */
  contentSha256: string;
  uploaded: boolean;
}

/** One file's multipart upload (created when a second part appears). */
interface MultipartState {
  uploadId: string;
  done: CompletedPart[];
  inFlight: Set<Promise<void>>;
}

/**
 * Gives a PutObject/UploadPart the SHA-256 of its body as `x-amz-content-sha256`, so SigV4 signs the payload with the
 * digest the hashing worker already computed instead of hashing the body again on the main thread (@smithy/signature-v4
 * `getPayloadHash` takes the header when present; measured: ~1 s of main-thread CPU per GiB otherwise).
 */
function withPayloadSha256<C extends PutObjectCommand | UploadPartCommand>(command: C, digest: Buffer): C {
  const hex = digest.toString('hex');
  type Handler = (args: { request: unknown }) => Promise<unknown>;
  const stack = command.middlewareStack as unknown as { add(middleware: (next: Handler) => Handler, options: { step: 'build'; name: string }): void };
  stack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'commserveDrPayloadSha256' },
  );
  return command;
}

/** Reads up to `length` bytes at `position` into `buffer[0…]`, looping over short reads; returns the bytes read. */
async function readInto(handle: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/**
 * Reads `options.source` once: hashes and page-digests it (in the session's hashing worker), optionally compresses and
 * stores it, and uploads it as `options.key` (a single PUT when the stored bytes fit in one part, else a multipart
 * upload). See the module comment.
 * @returns the manifest entry (size, SHA-256, S3 part size and checksum of the stored bytes; `compression` when
 *   compressed) and whether the upload succeeded (`session.failure` says why not).
 * @throws TransferLimitError (file over 5 TiB, before anything is read or sent); the file system error when the
 *   source cannot be read or the compressed file cannot be written; an Error when the source changed size while it
 *   was read; whatever `pageDigests.add` throws. The multipart upload in progress is aborted in every case.
 */
export async function streamSetFile(session: SetUploadSession, options: StreamSetFileOptions): Promise<StreamedSetFile> {
  const { size: sourceSize } = await stat(options.source);
  // Compressed output can exceed its input by a few bytes per block on incompressible data: plan parts for a margin.
  const planned = options.compression ? sourceSize + Math.ceil(sourceSize / 1024) + 1024 : sourceSize;
  const partSize = options.partSize ?? choosePartSize(planned); // choosePartSize refuses over 5 TiB either way
  if (options.partSize !== undefined) choosePartSize(planned);
  const pool = session.buffers(partSize);
  const hashing = session.hashing();
  const storedStream = session.streamName(`${options.key} stored`);
  const contentStream = options.compression ? session.streamName(`${options.key} content`) : storedStream;
  const pageSize = options.pageDigests?.pageSize;
  const partDigests: Buffer[] = [];
  let storedBytes = 0;
  let readBytes = 0;
  let source: FileHandle | undefined;
  let storedFile: FileHandle | undefined;
  let multipart: MultipartState | undefined;
  let uploaded = session.uploading;
  /** A single-part object's bytes, kept for the PUT at the end. */
  let single: Buffer | undefined;

  const conditional = (options.existing ?? 'create-only') === 'create-only' ? CREATE_ONLY : {};
  const fail = (error: unknown) => {
    if (!uploaded) return;
    uploaded = false;
    session.failure ??= error instanceof HotSiteError ? error : hotSiteError(`upload ${options.key.split('/').slice(-2).join('/')}`, session.bucket, error); // SET_<n>/<file>
  };

  /** Content bytes read: page digests (when the content is what is stored, they come with the part's hash) and progress. */
  const counted = async (length: number, digests?: Buffer) => {
    if (digests) await options.pageDigests!.add(digests, length);
    readBytes += length;
    options.onProgress?.(readBytes, sourceSize);
  };

  /** The next part of the stored bytes, hashed: store it (compressed), then send it, keep it (single PUT) or drop it. */
  const sealPart = async (buffer: Buffer, length: number, digest: Buffer, last: boolean): Promise<void> => {
    const body = buffer.subarray(0, length);
    partDigests.push(digest);
    if (storedFile) {
      let written = 0;
      while (written < length) written += (await storedFile.write(body, written, length - written, storedBytes + written)).bytesWritten;
    }
    storedBytes += length;
    const partNumber = partDigests.length;
    if (last && partNumber === 1 && uploaded) {
      single = buffer;
      return;
    }
    if (!uploaded) {
      pool.give(buffer); // upload off or failed: hashed and stored only
      return;
    }
    if (partNumber > S3_MAX_PARTS) throw new TransferLimitError(`${options.name} needs more than ${S3_MAX_PARTS} parts of ${partSize} bytes`);
    try {
      multipart ??= {
        uploadId: (await session.s3!.send(new CreateMultipartUploadCommand({ Bucket: session.bucket, Key: options.key, ChecksumAlgorithm: 'SHA256' }))).UploadId!,
        done: [],
        inFlight: new Set(),
      };
    } catch (error) {
      fail(error);
      pool.give(buffer);
      return;
    }
    const state = multipart;
    const checksum = digest.toString('base64');
    const sending: Promise<void> = sendWithRetry(
      () =>
        session.s3!.send(
          withPayloadSha256(
            new UploadPartCommand({ Bucket: session.bucket, Key: options.key, UploadId: state.uploadId, PartNumber: partNumber, Body: body, ContentLength: length, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum }),
            digest,
          ),
        ),
      session.retry,
    )
      .then(
        (r) => {
          state.done.push({ PartNumber: partNumber, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? checksum });
          if (!last) faultPoint('upload');
        },
        (error: unknown) => fail(error),
      )
      .finally(() => {
        state.inFlight.delete(sending);
        pool.give(buffer);
      });
    state.inFlight.add(sending);
    // Backpressure: at most queueSize parts in flight.
    while (state.inFlight.size >= session.queueSize) await Promise.race(state.inFlight);
  };

  try {
    source = await open(options.source, 'r');
    if (options.compression) {
      storedFile = await open(options.compression.storedPath, 'w');
      const brotli = createBrotliCompress({
        chunkSize: 256 * 1024,
        params: {
          [zlibConstants.BROTLI_PARAM_QUALITY]: options.compression.level,
          [zlibConstants.BROTLI_PARAM_SIZE_HINT]: sourceSize,
        },
      });
      const handle = source;
      // read → hash + page digests (worker) → compress (zlib's thread pool) → parts, with backpressure and errors
      // carried by the pipeline. Each read gets its own chunk: brotli may still hold the previous one.
      const readChunks = async function* (): AsyncGenerator<Buffer> {
        for (let position = 0; ; ) {
          const chunk = ownedBuffer(READ_CHUNK_BYTES);
          const length = await readInto(handle, chunk, READ_CHUNK_BYTES, position);
          if (length === 0) return;
          position += length;
          const hashed = await hashing.update(contentStream, chunk, length, pageSize ? { pageSize } : {});
          await counted(length, hashed.pageDigests);
          yield hashed.buffer.subarray(0, length);
        }
      };
      let current: Buffer | undefined;
      let fill = 0;
      const seal = async (last: boolean) => {
        const hashed = await hashing.update(storedStream, current!, fill, { piece: true });
        const length = fill;
        current = undefined;
        fill = 0;
        await sealPart(hashed.buffer, length, hashed.pieceDigest!, last);
      };
      await pipeline(readChunks(), brotli, async (compressed: AsyncIterable<Buffer>) => {
        for await (const out of compressed) {
          for (let offset = 0; offset < out.length; ) {
            if (current && fill === partSize) await seal(false);
            current ??= await pool.take();
            const take = Math.min(partSize - fill, out.length - offset);
            out.copy(current, fill, offset, offset + take);
            fill += take;
            offset += take;
          }
        }
        current ??= await pool.take(); // an empty file still makes one (empty) object
        await seal(true);
      });
    } else {
      // Parts are read straight into the pool's buffers; part n is hashed in the worker while part n+1 is read.
      let position = 0;
      let previous: Promise<void> = Promise.resolve();
      do {
        const buffer = await pool.take();
        const length = await readInto(source, buffer, partSize, position);
        position += length;
        const last = position >= sourceSize || length < partSize;
        await previous; // parts are hashed and sealed in order
        previous = (async () => {
          const hashed = await hashing.update(storedStream, buffer, length, { piece: true, ...(pageSize ? { pageSize } : {}) });
          await counted(length, hashed.pageDigests);
          await sealPart(hashed.buffer, length, hashed.pieceDigest!, last);
        })();
        previous.catch(() => undefined); // awaited at the next part or after the loop
        if (last) break;
      } while (true);
      await previous;
    }
    const { size: sizeNow } = await source.stat();
    if (readBytes !== sourceSize || sizeNow !== sourceSize) throw new Error(`${options.name} changed size while it was read (${sourceSize} → ${Math.max(readBytes, sizeNow)} bytes)`);
    if (storedFile) {
      await storedFile.sync();
      await storedFile.close();
      storedFile = undefined;
    }
    const storedDigest = await hashing.finish(storedStream);
    if (options.expectedSha256 !== undefined && storedDigest.toString('hex') !== options.expectedSha256) {
      throw new CommserveDrError(
        'SET_FILE_MISMATCH',
        `${options.name} has SHA-256 ${storedDigest.toString('hex').slice(0, 16)}…, its manifest says ${options.expectedSha256.slice(0, 16)}…: the local copy is damaged and was not uploaded`,
      );
    }
    const contentSha256 = options.compression ? (await hashing.finish(contentStream)).toString('hex') : storedDigest.toString('hex');
    const checksumSHA256 =
      partDigests.length === 1 ? storedDigest.toString('base64') : `${createHash('sha256').update(Buffer.concat(partDigests)).digest('base64')}-${partDigests.length}`;
    if (single) {
      const body = single.subarray(0, storedBytes);
      try {
        await createOnlyWrite(
          () =>
            sendWithRetry(
              () =>
                session.s3!.send(
                  withPayloadSha256(
                    new PutObjectCommand({ Bucket: session.bucket, Key: options.key, Body: body, ContentLength: storedBytes, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksumSHA256, ...conditional }),
                    storedDigest,
                  ),
                ),
              session.retry,
            ),
          { s3: session.s3!, bucket: session.bucket, key: options.key, size: storedBytes, checksumSHA256 },
        );
      } catch (error) {
        fail(error);
      }
    }
    if (multipart) {
      await Promise.all(multipart.inFlight);
      if (uploaded) {
        const state = multipart;
        try {
          state.done.sort((a, b) => a.PartNumber! - b.PartNumber!);
          const outcome = await createOnlyWrite(
            () =>
              session.s3!.send(
                new CompleteMultipartUploadCommand({ Bucket: session.bucket, Key: options.key, UploadId: state.uploadId, MultipartUpload: { Parts: state.done }, ...conditional }),
              ),
            { s3: session.s3!, bucket: session.bucket, key: options.key, size: storedBytes, checksumSHA256 },
          );
          // Created: the upload is done. Already there: S3 keeps the refused upload open — `finally` aborts it.
          if (outcome === 'created') multipart = undefined;
        } catch (error) {
          fail(error);
        }
      }
    }
    const entry: ManifestFile = {
      name: options.name,
      role: options.role,
      size: storedBytes,
      sha256: storedDigest.toString('hex'),
      s3: { partSize, checksumSHA256 },
      ...(options.compression ? { compression: { algorithm: 'brotli' as const, level: options.compression.level, contentSize: readBytes, contentSha256 } } : {}),
    };
    return { entry, contentSha256, uploaded };
  } finally {
    if (single) pool.give(single);
    await source?.close().catch(() => undefined);
    await storedFile?.close().catch(() => undefined);
    if (multipart) {
      await Promise.allSettled(multipart.inFlight);
      await session.s3!.send(new AbortMultipartUploadCommand({ Bucket: session.bucket, Key: options.key, UploadId: multipart.uploadId })).catch(() => undefined);
    }
  }
}

/** Progress of a SET upload: bytes sent so far of the SET's total. */
export type UploadProgress = (sentBytes: number, totalBytes: number, file: string) => void;

/** Options of {@link uploadSet}. */
export interface UploadSetOptions {
  /** Concurrent part uploads per file (default {@link UPLOAD_QUEUE_SIZE}). */
  queueSize?: number;
  /** The uploader's own retries of a part or single PUT (default {@link UPLOAD_REQUEST_RETRY}; `attempts: 1` turns them off). */
  requestRetry?: RequestRetry;
}

/** A file of the SET with its transfer plan, checked before anything is sent. */
interface PlannedFile {
  name: string;
  role: ManifestFile['role'];
  path: string;
  key: string;
  size: number;
  sha256: string;
  partSize: number;
}

/**
 * The transfer plan of every file of the SET, checked against S3's limits before any byte is sent: an object
 * over 5 TiB, a part under 5 MiB (but the last) or over 10,000 parts is refused here, so nothing is uploaded.
 */
function planSetUpload(bucket: string, setDir: string, manifest: Manifest): PlannedFile[] {
  return manifest.files.map((file) => {
    try {
      const partSize = file.s3?.partSize ?? choosePartSize(file.size);
      if (file.size > S3_MAX_OBJECT_BYTES) throw new TransferLimitError(`object of ${file.size} bytes exceeds the 5 TiB S3 object limit`);
      const parts = partCount(file.size, partSize);
      if (parts > 1 && partSize < S3_MIN_PART_BYTES) throw new TransferLimitError(`part size ${partSize} is under the 5 MiB S3 minimum`);
      if (parts > S3_MAX_PARTS) throw new TransferLimitError(`${parts} parts exceed the 10,000-part S3 limit`);
      if (partSize > S3_MAX_PART_BYTES) throw new TransferLimitError(`part size ${partSize} exceeds the 5 GiB S3 maximum`);
      return { name: file.name, role: file.role, path: join(setDir, file.name), key: setObjectKey('sets', manifest.setName, file.name), size: file.size, sha256: file.sha256, partSize };
    } catch (error) {
      throw new HotSiteError('HOTSITE_ERROR', `refusing to upload ${manifest.setName}/${file.name} to bucket ${bucket}: ${(error as Error).message}`, { cause: error });
    }
  });
}

/**
 * Uploads a complete (committed) SET folder to `sets/SET_<n>/` — the re-fill path; phase 1 uploads in its own pass —
 * through the same single pass as phase 1 ({@link streamSetFile}, with the manifest's part sizes): every file the
 * manifest lists, then `manifest.json` last, so the hot-site copy is complete only when everything else is there.
 * Every file's plan is checked against S3's limits first (nothing is sent for a SET with a file over 5 TiB), and every
 * file against the manifest's size and SHA-256 as it is read: a damaged local file is never made the hot-site copy
 * (its upload is aborted before completion, and the manifest is not sent). An interrupted multipart upload is
 * aborted, never left as orphan parts.
 * @returns bytes uploaded (files, not counting the manifest).
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
  const total = plan.reduce((sum, f) => sum + f.size, 0);
  const session = new SetUploadSession(s3, bucket, options);
  let sent = 0;
  try {
    for (const file of plan) {
      const { size } = await stat(file.path);
      if (size !== file.size) {
        throw new CommserveDrError('SET_FILE_MISMATCH', `${file.name} has ${size} bytes, the manifest says ${file.size}: the local copy is damaged and was not uploaded`);
      }
      await streamSetFile(session, {
        source: file.path,
        name: file.name,
        role: file.role,
        key: file.key,
        partSize: file.partSize,
        expectedSha256: file.sha256,
        onProgress: (read) => onProgress?.(sent + read, total, file.name),
      });
      if (session.failure) throw session.failure;
      sent += file.size;
    }
    await uploadManifest(s3, bucket, setDir, manifest, session.retry);
  } finally {
    await session.close();
  }
  return sent;
}
