/**
 * Phase 1's single pass over a SET file (issue 10, SPEC §10): every file is read once, and in that pass its bytes
 * are hashed (the manifest's SHA-256 and each upload part's SHA-256) and page-digested for the FULL's page hashes — in
 * a hashing worker thread ({@link HashWorker}), so the main thread only reads and drives the sockets —, optionally
 * brotli-compressed (then the compressed bytes are what the phase-1 destination stores), and uploaded to the hot-site
 * in parts sent `queueSize` at a time, each with its `ChecksumSHA256` (S3 verifies every part). The object is created
 * with `If-None-Match: *` (PutObject or CompleteMultipartUpload): never replacing a committed object (issue 21).
 *
 * Memory (issue 20: peak RSS ≤ 128 MiB, flat in the database size): the pass holds no part in memory. It reads and
 * hashes 1 MiB chunks (a pool of {@link CHUNKS}); once a part's last chunk is hashed,
 * the part is sent as a byte range of the stored file ({@link attachFileRangeBody}: the file was just written and
 * just read, so the range comes from the page cache) through two reused 256 KiB buffers per request. So the pass
 * holds 4 MiB of chunks (+ 3 MiB of compression input), 2 MiB of request bodies and brotli's window, whatever the part
 * size and the database size — it held part size × 5 (40 MiB) when parts were buffers — and leaves no per-read garbage
 * (freed only when V8 next collects: tens of MiB of RSS). The part's `ChecksumSHA256` is the SHA-256 of the bytes hashed: S3 refuses a part whose
 * bytes differ from them.
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
import { constants as zlibConstants, createBrotliCompress } from 'node:zlib';
import { CommserveDrError, HotSiteError } from '#core/errors';
import type { Manifest, ManifestFile } from '#core/manifest';
import { setObjectKey } from '#core/hotsite-layout';
import { join } from 'node:path';
import { choosePartSize, MiB, partCount, S3_MAX_OBJECT_BYTES, S3_MAX_PART_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES, TransferLimitError } from '#core/transfer-plan';
import { faultPoint } from '#agent/faults';
import { attachFileRangeBody } from './file-range-body';
import { HashWorker, ownedBuffer } from './hash-worker';
import { createOnlyWrite, CREATE_ONLY, hotSiteError, sendWithRetry, uploadManifest, UPLOAD_QUEUE_SIZE, UPLOAD_REQUEST_RETRY, type RequestRetry } from './hot-site';

/** Read size of the pass (bytes): the unit read, hashed and (compressed) written. A multiple of every SQLite page size. */
const CHUNK_BYTES = MiB;
/** Chunks of the pass at once (one being read while the others are hashed): 4 MiB. */
const CHUNKS = 4;

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
 * The hot-site side of one SET's pass: where objects go, the shared chunk pool and hashing worker, and the first
 * upload failure. Without an S3 client (`s3: null`) the pass only hashes and stores (no upload).
 */
export class SetUploadSession {
  /** The first upload failure (a HotSiteError); later files of the SET are then only hashed and stored. */
  failure: HotSiteError | undefined;
  readonly queueSize: number;
  readonly retry: RequestRetry;

  /**
   * @param s3 the hot-site client, or null to upload nothing.
   * @param options.queueSize parts in flight per file (default {@link UPLOAD_QUEUE_SIZE}); each holds 256 KiB of its body.
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

/** One file's multipart upload (created when a second part appears). */
interface MultipartState {
  uploadId: string;
  done: CompletedPart[];
  inFlight: Set<Promise<void>>;
}

/**
 * The hot-site side of one file: its parts as the pass seals them (each sent as a byte range of `bodyPath`), then the
 * single PUT or the CompleteMultipartUpload, or the abort. A failed request does not throw: it ends the file's upload
 * (`uploaded` false) and is kept as the session's failure.
 */
class FileUpload {
  /** SHA-256 of every part sealed so far, in order. */
  readonly partDigests: Buffer[] = [];
  /** Stored bytes sealed so far (the next part starts here). */
  storedBytes = 0;
  uploaded: boolean;
  private multipart: MultipartState | undefined;
  /** The file is one part: sent by a single PUT once its whole SHA-256 is known. */
  private single = false;
  private readonly conditional: typeof CREATE_ONLY | Record<string, never>;

  constructor(
    private readonly session: SetUploadSession,
    private readonly file: { key: string; name: string; bodyPath: string; partSize: number; existing: 'create-only' | 'overwrite' },
  ) {
    this.uploaded = session.uploading;
    this.conditional = file.existing === 'create-only' ? CREATE_ONLY : {};
  }

  /** Sends nothing more (the pass failed and throws its own error; the open multipart upload is aborted after). */
  cancel(): void {
    this.uploaded = false;
  }

  private fail(error: unknown): void {
    if (!this.uploaded) return;
    this.uploaded = false;
    const where = this.file.key.split('/').slice(-2).join('/'); // SET_<n>/<file>
    this.session.failure ??= error instanceof HotSiteError ? error : hotSiteError(`upload ${where}`, this.session.bucket, error);
  }

  /**
   * The next part (`length` stored bytes, already on disk, with their SHA-256): kept for the single PUT, or sent, with
   * at most `queueSize` parts in flight (waits for one to finish).
   * @throws TransferLimitError past 10,000 parts.
   */
  async seal(length: number, digest: Buffer, last: boolean): Promise<void> {
    const start = this.storedBytes;
    this.partDigests.push(digest);
    this.storedBytes += length;
    const partNumber = this.partDigests.length;
    if (!this.uploaded) return; // upload off or failed: hashed and stored only
    if (last && partNumber === 1) {
      this.single = true;
      return;
    }
    if (partNumber > S3_MAX_PARTS) throw new TransferLimitError(`${this.file.name} needs more than ${S3_MAX_PARTS} parts of ${this.file.partSize} bytes`);
    const s3 = this.session.s3!;
    const { bucket } = this.session;
    const { key, bodyPath } = this.file;
    try {
      this.multipart ??= {
        uploadId: (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'SHA256' }))).UploadId!,
        done: [],
        inFlight: new Set(),
      };
    } catch (error) {
      this.fail(error);
      return;
    }
    const state = this.multipart;
    const checksum = digest.toString('base64');
    const sending: Promise<void> = sendWithRetry(() => {
      const command = new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: state.uploadId, PartNumber: partNumber, ContentLength: length, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum });
      return s3.send(command, { abortSignal: attachFileRangeBody(command, { path: bodyPath, start, length }, digest) });
    }, this.session.retry)
      .then(
        (r) => {
          state.done.push({ PartNumber: partNumber, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? checksum });
          if (!last) faultPoint('upload');
        },
        (error: unknown) => this.fail(error),
      )
      .finally(() => state.inFlight.delete(sending));
    state.inFlight.add(sending);
    // Backpressure: at most queueSize parts in flight.
    while (state.inFlight.size >= this.session.queueSize) await Promise.race(state.inFlight);
  }

  /**
   * Makes the object: the single PUT, or (every part sent) the CompleteMultipartUpload — both create-only unless the
   * file says `overwrite`. A 412 on the same object counts as uploaded (see {@link createOnlyWrite}).
   */
  async complete(storedDigest: Buffer, checksumSHA256: string): Promise<void> {
    const s3 = this.session.s3!;
    const { bucket } = this.session;
    const { key, bodyPath } = this.file;
    const size = this.storedBytes;
    const target = { s3, bucket, key, size, checksumSHA256 };
    if (this.single && this.uploaded) {
      try {
        await createOnlyWrite(
          () =>
            sendWithRetry(() => {
              const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentLength: size, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksumSHA256, ...this.conditional });
              return s3.send(command, { abortSignal: attachFileRangeBody(command, { path: bodyPath, start: 0, length: size }, storedDigest) });
            }, this.session.retry),
          target,
        );
      } catch (error) {
        this.fail(error);
      }
    }
    if (!this.multipart) return;
    await Promise.all(this.multipart.inFlight);
    if (!this.uploaded) return;
    const state = this.multipart;
    try {
      state.done.sort((a, b) => a.PartNumber! - b.PartNumber!);
      const outcome = await createOnlyWrite(
        () => s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: state.uploadId, MultipartUpload: { Parts: state.done }, ...this.conditional })),
        target,
      );
      // Created: the upload is done. Already there: S3 keeps the refused upload open — `abortIfOpen` aborts it.
      if (outcome === 'created') this.multipart = undefined;
    } catch (error) {
      this.fail(error);
    }
  }

  /** Aborts the multipart upload if it was not completed (after its parts in flight settle). Never throws. */
  async abortIfOpen(): Promise<void> {
    if (!this.multipart) return;
    const { uploadId, inFlight } = this.multipart;
    this.multipart = undefined;
    await Promise.allSettled(inFlight);
    await this.session.s3!.send(new AbortMultipartUploadCommand({ Bucket: this.session.bucket, Key: this.file.key, UploadId: uploadId })).catch(() => undefined);
  }
}

/** What the two readers of the pass ({@link passPlain}, {@link passCompressed}) share. */
interface PassContext {
  session: SetUploadSession;
  options: StreamSetFileOptions;
  source: FileHandle;
  sourceSize: number;
  partSize: number;
  upload: FileUpload;
  storedStream: string;
  contentStream: string;
  /** The pass's read chunks ({@link CHUNKS} of {@link CHUNK_BYTES}; one pool per file, so a failed pass loses none for the next). */
  chunks: BufferPool;
  /** Content bytes read: page digests (in order) and progress. */
  counted: (length: number, digests?: Buffer) => Promise<void>;
}

/**
 * Runs `step`s one after another, in the order given, while the caller goes on (reading the next chunk). `failed`
 * rejects as soon as a step has failed, so a caller waiting for something the failed steps would have given back
 * (a chunk) stops waiting.
 */
class OrderedSteps {
  private tail: Promise<void> = Promise.resolve();
  private fault: ((error: unknown) => void) | undefined;
  readonly failed = new Promise<never>((_, reject) => (this.fault = reject));

  constructor() {
    this.failed.catch(() => undefined);
  }

  /** Queues `step` after the steps queued before; @returns its completion (a failure also ends every later step). */
  then(step: () => Promise<void>): Promise<void> {
    const run = this.tail.then(step);
    run.catch((error: unknown) => this.fault!(error));
    this.tail = run;
    return run;
  }

  /** `promise`, or the first failure of a step if that comes first. */
  async race<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.failed]);
  }

  /** Waits for every step; throws the first failure. */
  async done(): Promise<void> {
    await this.tail;
  }

  /** Waits for every step queued so far to end, failed or not. */
  async settled(): Promise<void> {
    await this.tail.catch(() => undefined);
  }
}

/**
 * The pass over a file stored as is: 1 MiB chunks read in order, each hashed in the worker into the file's SHA-256,
 * its part's SHA-256 and the page digests while the next is read; a part is sealed (sent from the file) once its last
 * chunk is hashed. The reader stays at most one part ahead of the part being sealed (which waits while `queueSize`
 * parts are in flight).
 */
async function passPlain(ctx: PassContext): Promise<void> {
  const { session, options, source, sourceSize, partSize, upload, storedStream, chunks } = ctx;
  const hashing = session.hashing();
  const pageSize = options.pageDigests?.pageSize;
  const steps = new OrderedSteps();
  let position = 0;
  let previousSeal: Promise<void> = Promise.resolve();
  try {
    for (let partNumber = 1; ; partNumber++) {
      const partStream = session.streamName(`${options.key} part ${partNumber}`);
      const partEnd = position + partSize;
      let partLength = 0;
      let ended = false;
      while (position < partEnd) {
        const chunk = await steps.race(chunks.take());
        const wanted = Math.min(chunk.length, partEnd - position);
        const length = await readInto(source, chunk, wanted, position);
        position += length;
        partLength += length;
        if (length > 0) {
          const hashed = hashing.update(storedStream, chunk, length, { also: partStream, ...(pageSize ? { pageSize } : {}) }).then((piece) => {
            chunks.give(piece.buffer);
            return piece;
          });
          hashed.catch(() => undefined); // awaited in its step
          void steps.then(async () => ctx.counted(length, (await hashed).pageDigests));
        } else chunks.give(chunk);
        if (length < wanted) {
          ended = true; // end of file
          break;
        }
      }
      const last = ended || position >= sourceSize;
      const digest = hashing.finish(partStream);
      digest.catch(() => undefined); // awaited in its step
      const length = partLength;
      const seal = steps.then(async () => upload.seal(length, await digest, last));
      if (last) break;
      await steps.race(previousSeal);
      previousSeal = seal;
    }
  } catch (error) {
    upload.cancel(); // steps still queued send nothing: the caller aborts the upload once this returns
    await steps.settled();
    throw error;
  }
  await steps.done();
}

/**
 * The pass over a file stored brotli-compressed: the content is read and hashed (its SHA-256 and page digests) in
 * 1 MiB chunks (3, reused once brotli has consumed them), compressed (zlib's thread pool), and the compressed bytes are written to `storedPath` 1 MiB at a
 * time, each hashed into the stored SHA-256 and its part's SHA-256; a part is sealed (sent from `storedPath`) when
 * the next one starts, or at the end.
 */
async function passCompressed(ctx: PassContext, compression: { level: number; storedPath: string }): Promise<void> {
  const { session, options, source, sourceSize, partSize, upload, storedStream, contentStream, chunks } = ctx;
  const hashing = session.hashing();
  const pageSize = options.pageDigests?.pageSize;
  const stored = await open(compression.storedPath, 'w');
  try {
    const brotli = createBrotliCompress({
      chunkSize: 256 * 1024,
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: compression.level, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: sourceSize },
    });
    let written = 0;
    let partNumber = 1;
    let partStream = session.streamName(`${options.key} part 1`);
    let partFill = 0;
    let current: Buffer | undefined;
    let fill = 0;
    /** Writes the chunk being filled to the stored file and hashes it into the stored and part streams. */
    const flush = async () => {
      if (!current) return;
      let done = 0;
      while (done < fill) done += (await stored.write(current, done, fill - done, written + done)).bytesWritten;
      written += fill;
      const hashed = await hashing.update(storedStream, current, fill, { also: partStream });
      chunks.give(hashed.buffer);
      partFill += fill;
      current = undefined;
      fill = 0;
    };
    /** Seals the part written so far (its bytes are in the stored file). */
    const seal = async (last: boolean) => {
      await flush();
      const digest = await hashing.finish(partStream);
      await upload.seal(partFill, digest, last);
      partNumber += 1;
      partStream = session.streamName(`${options.key} part ${partNumber}`);
      partFill = 0;
    };
    /** The compressed side: parts of `partSize` stored bytes, each written, hashed and sealed. */
    const storeCompressed = async () => {
      for await (const out of brotli as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < out.length; ) {
          if (partFill + fill === partSize) await seal(false);
          if (current && fill === current.length) await flush();
          current ??= await chunks.take();
          const take = Math.min(current.length - fill, partSize - partFill - fill, out.length - offset);
          out.copy(current, fill, offset, offset + take);
          fill += take;
          offset += take;
        }
      }
      await seal(true); // an empty file still makes one (empty) object
    };
    const compressing = storeCompressed();
    const compressingFailed = compressing.then(
      () => new Promise<never>(() => undefined),
      (error: unknown) => Promise.reject(error),
    );
    compressingFailed.catch(() => undefined);
    // The content side: read → hash + page digests (worker) → compress. Input chunks come from their own pool and go
    // back once brotli has consumed them (its write callback), so reading leaves no 1 MiB garbage per read.
    const inputs = new BufferPool(CHUNK_BYTES, CHUNKS - 1);
    try {
      for (let position = 0; ; ) {
        const chunk = await Promise.race([inputs.take(), compressingFailed]);
        const length = await readInto(source, chunk, CHUNK_BYTES, position);
        if (length === 0) {
          inputs.give(chunk);
          break;
        }
        position += length;
        const hashed = await hashing.update(contentStream, chunk, length, pageSize ? { pageSize } : {});
        await ctx.counted(length, hashed.pageDigests);
        const consumed = hashed.buffer;
        brotli.write(consumed.subarray(0, length), () => inputs.give(consumed));
      }
      brotli.end();
      await compressing;
    } catch (error) {
      brotli.destroy();
      await compressing.catch(() => undefined);
      throw error;
    }
    await stored.sync();
  } finally {
    await stored.close().catch(() => undefined);
  }
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
  const storedStream = session.streamName(`${options.key} stored`);
  const contentStream = options.compression ? session.streamName(`${options.key} content`) : storedStream;
  const upload = new FileUpload(session, {
    key: options.key,
    name: options.name,
    bodyPath: options.compression?.storedPath ?? options.source,
    partSize,
    existing: options.existing ?? 'create-only',
  });
  let readBytes = 0;
  let source: FileHandle | undefined;
  try {
    source = await open(options.source, 'r');
    const ctx: PassContext = {
      session,
      options,
      source,
      sourceSize,
      partSize,
      upload,
      storedStream,
      contentStream,
      chunks: new BufferPool(CHUNK_BYTES, CHUNKS),
      counted: async (length, digests) => {
        if (digests) await options.pageDigests!.add(digests, length);
        readBytes += length;
        options.onProgress?.(readBytes, sourceSize);
      },
    };
    if (options.compression) await passCompressed(ctx, options.compression);
    else await passPlain(ctx);
    const { size: sizeNow } = await source.stat();
    if (readBytes !== sourceSize || sizeNow !== sourceSize) throw new Error(`${options.name} changed size while it was read (${sourceSize} → ${Math.max(readBytes, sizeNow)} bytes)`);
    const hashing = session.hashing();
    const storedDigest = await hashing.finish(storedStream);
    if (options.expectedSha256 !== undefined && storedDigest.toString('hex') !== options.expectedSha256) {
      throw new CommserveDrError(
        'SET_FILE_MISMATCH',
        `${options.name} has SHA-256 ${storedDigest.toString('hex').slice(0, 16)}…, its manifest says ${options.expectedSha256.slice(0, 16)}…: the local copy is damaged and was not uploaded`,
      );
    }
    const contentSha256 = options.compression ? (await hashing.finish(contentStream)).toString('hex') : storedDigest.toString('hex');
    const { partDigests, storedBytes } = upload;
    const checksumSHA256 =
      partDigests.length === 1 ? storedDigest.toString('base64') : `${createHash('sha256').update(Buffer.concat(partDigests)).digest('base64')}-${partDigests.length}`;
    await upload.complete(storedDigest, checksumSHA256);
    const entry: ManifestFile = {
      name: options.name,
      role: options.role,
      size: storedBytes,
      sha256: storedDigest.toString('hex'),
      s3: { partSize, checksumSHA256 },
      ...(options.compression ? { compression: { algorithm: 'brotli' as const, level: options.compression.level, contentSize: readBytes, contentSha256 } } : {}),
    };
    return { entry, contentSha256, uploaded: upload.uploaded };
  } finally {
    await source?.close().catch(() => undefined);
    await upload.abortIfOpen();
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
