/**
 * Upload request bodies read straight from a byte range of a file (issue 20: no part buffers in the agent). Phase 1
 * hashes each part as it reads the SET file, then sends the part as a range of that same file — just written and just
 * read, so in the page cache — instead of keeping the part's bytes in memory until S3 has them. The part's SHA-256
 * (from the hashing pass) goes with it as `ChecksumSHA256`, so S3 refuses a part whose bytes differ from the ones
 * hashed.
 *
 * The request is signed with the range's SHA-256 from the hashing pass (`x-amz-content-sha256`: SigV4 takes the header
 * instead of hashing the body on the main thread — ~1 s of CPU per GiB otherwise), and must carry it as its
 * `ChecksumSHA256` too: the SDK cannot compute either from a body it does not see until it sends it.
 *
 * The body is opened for each attempt, below the SDK's retry middleware: the SDK's own retries (`maxAttempts`) send
 * the range again from its start, as they would a Buffer (the SDK does not retry a request whose body is a stream it
 * was given, since it cannot rewind it). A read that fails, or ends short of the range (the file shrank), aborts the
 * request with an error naming the file — never a request left waiting for bytes that will not come.
 */
import type { PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { open, type FileHandle } from 'node:fs/promises';
import { OutgoingMessage } from 'node:http';
import { Readable, type Writable } from 'node:stream';

/** `length` bytes of the file at `path` from byte `start`. */
export interface FileRange {
  path: string;
  start: number;
  length: number;
}

/** Read size of a range body (bytes): a request in flight holds two of them (4 in flight: 2 MiB). */
const BODY_READ_BYTES = 256 * 1024;

/**
 * A file range as a readable body. Piped into an HTTP request (what the SDK's Node HTTP handler does with a stream
 * body), it sends the range through two buffers it reuses — each read into again only once the request's `write`
 * callback says its bytes are written to the socket — instead of a new buffer per read: the garbage a read stream leaves (the whole
 * range, freed only when V8 next collects, which external memory triggers after ~64 MiB) stays out of the agent's RSS.
 * Read any other way (piped into anything but an HTTP request — a pass-through may still hold a buffer after its write
 * callback), it is an ordinary stream (a new buffer per read). It fails with an Error whose message says
 * why (the file system's, or that the file ends before the range does).
 */
export class FileRangeBody extends Readable {
  private handle: Promise<FileHandle> | undefined;
  private position: number;
  private remaining: number;

  constructor(private readonly range: FileRange) {
    super({ highWaterMark: BODY_READ_BYTES });
    this.position = range.start;
    this.remaining = range.length;
  }

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.range.path, 'r');
    return this.handle;
  }

  /** Reads the next piece of the range into `buffer`; @returns its length, 0 at the end of the range. @throws when the file ends early. */
  private async next(buffer: Buffer): Promise<number> {
    if (this.remaining === 0) return 0;
    const want = Math.min(buffer.length, this.remaining);
    const { bytesRead } = await (await this.file()).read(buffer, 0, want, this.position);
    if (bytesRead === 0) {
      throw new Error(`the file ends after ${this.range.length - this.remaining} of the range's ${this.range.length} bytes (it changed since it was hashed)`);
    }
    this.position += bytesRead;
    this.remaining -= bytesRead;
    return bytesRead;
  }

  override _read(): void {
    const buffer = Buffer.allocUnsafe(Math.min(BODY_READ_BYTES, Math.max(1, this.remaining)));
    this.next(buffer).then(
      (length) => this.push(length === 0 ? null : buffer.subarray(0, length)),
      (error: Error) => this.destroy(error),
    );
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (!(destination instanceof OutgoingMessage) || options?.end === false) return super.pipe(destination, options);
    void this.pump(destination as unknown as Writable).catch((error: Error) => this.destroy(error));
    return destination;
  }

  /** Sends the range to `destination` through two reused buffers, then ends it; stops when this body is destroyed. */
  private async pump(destination: Writable): Promise<void> {
    const closed = new Promise<void>((resolve) => this.once('close', resolve));
    const buffers = [Buffer.allocUnsafe(BODY_READ_BYTES), Buffer.allocUnsafe(BODY_READ_BYTES)];
    const written: Array<Promise<void>> = [Promise.resolve(), Promise.resolve()];
    for (let i = 0; !this.destroyed; i = 1 - i) {
      await Promise.race([written[i], closed]); // buffer i is free again
      if (this.destroyed) return;
      const length = await this.next(buffers[i]);
      if (length === 0) break;
      written[i] = new Promise((resolve, reject) => destination.write(buffers[i].subarray(0, length), (error) => (error ? reject(error) : resolve())));
      written[i].catch(() => undefined); // a failed write fails the request, which the SDK reports
    }
    if (this.destroyed) return;
    await Promise.race([Promise.allSettled(written), closed]);
    if (!this.destroyed) destination.end();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (!handle) return callback(error);
    handle.then((h) => h.close()).then(
      () => callback(error),
      () => callback(error),
    );
  }
}

type Handler = (args: { request: unknown }) => Promise<unknown>;
type Stack = { add(middleware: (next: Handler) => Handler, options: { step: 'build' | 'deserialize'; priority?: 'low'; name: string }): void };

/**
 * Makes `command` send `range` as its body, read from the file at each attempt, signed with `sha256` (the range's
 * SHA-256). The command's input has no `Body`, `ContentLength: range.length` and `ChecksumSHA256` = `sha256` in base64.
 * @returns the signal to give to `s3.send(command, { abortSignal })`: it aborts the request when the file cannot be
 *   read or ends before the range does; the send then rejects with an Error naming the file and the reason.
 * @throws RangeError when the input carries a `Body`, another `ContentLength` or another `ChecksumSHA256`.
 */
export function attachFileRangeBody(command: PutObjectCommand | UploadPartCommand, range: FileRange, sha256: Buffer): AbortSignal {
  const { input } = command;
  if (input.Body !== undefined || input.ContentLength !== range.length || input.ChecksumSHA256 !== sha256.toString('base64')) {
    throw new RangeError('a file-range body needs a command without Body, with ContentLength = the range length and ChecksumSHA256 = the range SHA-256');
  }
  const stack = command.middlewareStack as unknown as Stack;
  const payloadHash = sha256.toString('hex');
  stack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = payloadHash;
      return next(args);
    },
    { step: 'build', name: 'commserveDrPayloadSha256' },
  );
  const abort = new AbortController();
  stack.add(
    (next) => async (args) => {
      if (range.length === 0) return next(args);
      let failure: Error | undefined;
      const stop = (reason: string) => {
        failure ??= new Error(`reading ${range.path} (bytes ${range.start}–${range.start + range.length - 1}) to upload it failed: ${reason}`);
        abort.abort(failure);
      };
      const body = new FileRangeBody(range);
      body.on('error', (error) => stop(error.message));
      // A copy of the signed request with this attempt's body: the SDK's retry middleware keeps seeing no stream.
      const request = args.request as object;
      const attempt = Object.assign(Object.create(Object.getPrototypeOf(request) as object) as object, request, { body });
      try {
        return await next({ ...args, request: attempt });
      } catch (error) {
        throw failure ?? error;
      } finally {
        body.destroy();
      }
    },
    { step: 'deserialize', priority: 'low', name: 'commserveDrFileRangeBody' },
  );
  return abort.signal;
}
