/**
 * Streaming SHA-256: hashes an object body chunk by chunk, so memory stays bounded whatever the size.
 */
import { createHash } from 'node:crypto';

/** The SHA-256 (lowercase hex) and length in bytes of a stream. */
export interface StreamDigest {
  sha256: string;
  bytes: number;
}

/**
 * Hashes an async-iterable byte stream (a Node `Readable`, such as the `Body` of a GetObject
 * response in Node) without buffering it.
 * @throws TypeError when `body` is not async-iterable; rethrows stream errors.
 */
export async function sha256OfStream(body: unknown): Promise<StreamDigest> {
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new TypeError('object body is not a readable byte stream');
  }
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Reads a stream into memory, refusing more than `maxBytes` bytes (for small objects such as the
 * manifest only).
 * @throws RangeError when the stream holds more than `maxBytes` bytes.
 */
export async function readStreamCapped(body: unknown, maxBytes: number): Promise<Buffer> {
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') {
    throw new TypeError('object body is not a readable byte stream');
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
    total += buffer.length;
    if (total > maxBytes) throw new RangeError(`object is larger than ${maxBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}
