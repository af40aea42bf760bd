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
import { createReadStream } from 'node:fs';

/** `length` bytes of the file at `path` from byte `start`. */
export interface FileRange {
  path: string;
  start: number;
  length: number;
}

/** Read size of a range body (bytes): the most a request in flight holds of its file (4 in flight: 1 MiB). */
const BODY_READ_BYTES = 256 * 1024;

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
      const body = createReadStream(range.path, { start: range.start, end: range.start + range.length - 1, highWaterMark: BODY_READ_BYTES });
      body.on('error', (error) => stop(error.message));
      body.on('end', () => {
        if (body.bytesRead !== range.length) stop(`the file ends after ${body.bytesRead} of the range's ${range.length} bytes (it changed since it was hashed)`);
      });
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
