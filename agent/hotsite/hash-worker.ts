/**
 * SHA-256 work of phase 1's single pass, off the main thread (issue 10): the main thread only reads the file and
 * drives the uploads' sockets, so hashing never delays a part in flight. Measured on the 2 GB sample against moto:
 * page digests and the SHA-256s on the main thread made the upload 46% slower than the bare SDK upload; here they
 * overlap with it.
 *
 * Buffers are transferred to the worker and back (no copy): each must own its whole ArrayBuffer
 * ({@link ownedBuffer}).
 */
import { Worker } from 'node:worker_threads';
import { PAGE_ENTRIES_WORKER_SOURCE } from '#agent/engines/sqlite/page-hashes';
import { xxh64PagesModule } from '#agent/engines/sqlite/page-xxh64';

/** The worker (plain JavaScript: the worker does not load TypeScript). Page entry = XXH64 + SHA-256 (page-hashes.ts). */
const HASH_WORKER_SOURCE = `${PAGE_ENTRIES_WORKER_SOURCE}
const { parentPort } = require('node:worker_threads');
const { createHash, hash } = require('node:crypto');
const streams = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'end') {
    const s = streams.get(m.stream);
    streams.delete(m.stream);
    const digest = (s || createHash('sha256')).digest();
    parentPort.postMessage({ id: m.id, digest: digest.buffer.slice(digest.byteOffset, digest.byteOffset + digest.length) });
    return;
  }
  let whole = streams.get(m.stream);
  if (!whole) { whole = createHash('sha256'); streams.set(m.stream, whole); }
  const view = Buffer.from(m.buffer, 0, m.length);
  whole.update(view);
  if (m.also) {
    let also = streams.get(m.also);
    if (!also) { also = createHash('sha256'); streams.set(m.also, also); }
    also.update(view);
  }
  const reply = { id: m.id, buffer: m.buffer };
  if (m.piece) {
    const d = hash('sha256', view, 'buffer');
    reply.pieceDigest = d.buffer.slice(d.byteOffset, d.byteOffset + d.length);
  }
  if (m.pageSize) {
    const pages = Math.floor(m.length / m.pageSize);
    const digests = pageEntries(view, m.pageSize, pages); // its own memory, transferred (never a pooled slice)
    reply.pageDigests = digests.buffer;
    reply.pageTail = m.length - pages * m.pageSize;
  }
  parentPort.postMessage(reply, reply.pageDigests ? [m.buffer, reply.pageDigests] : [m.buffer]);
});
`;

/** A Buffer that is the only view of its own ArrayBuffer, as transfers need (`Buffer.allocUnsafe` may share a pool). */
export function ownedBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/** What {@link HashWorker.update} gives back. */
export interface HashedPiece {
  /** The same bytes, handed back (the caller's Buffer object was detached by the transfer). */
  buffer: Buffer;
  /** SHA-256 of this piece (with `piece: true`). */
  pieceDigest?: Buffer;
  /** The 40-byte page entry (XXH64 + SHA-256, page-hashes.ts) of every whole page in the piece (with `pageSize`), in order. */
  pageDigests?: Buffer;
  /** Bytes after the last whole page (with `pageSize`; non-zero only at the end of a dump that is not whole pages). */
  pageTail?: number;
}

interface Reply {
  id: number;
  buffer?: ArrayBuffer;
  pieceDigest?: ArrayBuffer;
  pageDigests?: ArrayBuffer;
  pageTail?: number;
  digest?: ArrayBuffer;
}

/**
 * One worker thread hashing named byte streams: each {@link update} adds the next piece of a stream to its running
 * SHA-256 (and optionally returns the piece's own SHA-256 and its page digests); {@link finish} returns the stream's
 * SHA-256. Requests are answered in the order sent.
 */
export class HashWorker {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | undefined;

  constructor() {
    this.worker = new Worker(HASH_WORKER_SOURCE, { eval: true, workerData: { xxh64: xxh64PagesModule() } });
    this.worker.unref();
    this.worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      waiter?.resolve(reply);
    });
    const fail = (error: Error) => {
      this.failed = error;
      for (const w of this.waiting.values()) w.reject(error);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`the hashing worker exited with code ${code}`)));
  }

  private request(message: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<Reply> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /**
   * Adds `buffer[0, length)` to stream `stream` (and to stream `options.also`, e.g. the upload part the bytes belong
   * to). `buffer` must be an {@link ownedBuffer}; it is unusable until the returned promise hands it back.
   * @throws Error when the worker died (the buffer is then lost to the caller).
   */
  async update(stream: string, buffer: Buffer, length: number, options: { piece?: boolean; pageSize?: number; also?: string } = {}): Promise<HashedPiece> {
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) throw new RangeError('HashWorker.update needs a buffer that owns its ArrayBuffer (ownedBuffer)');
    const reply = await this.request({ op: 'update', stream, buffer: buffer.buffer, length, piece: options.piece ?? false, pageSize: options.pageSize ?? 0, also: options.also ?? '' }, [buffer.buffer as ArrayBuffer]);
    return {
      buffer: Buffer.from(reply.buffer!),
      ...(reply.pieceDigest ? { pieceDigest: Buffer.from(reply.pieceDigest) } : {}),
      ...(reply.pageDigests ? { pageDigests: Buffer.from(reply.pageDigests), pageTail: reply.pageTail ?? 0 } : {}),
    };
  }

  /** The SHA-256 of everything given to `stream` (of nothing, if nothing was); the stream is forgotten. */
  async finish(stream: string): Promise<Buffer> {
    return Buffer.from((await this.request({ op: 'end', stream })).digest!);
  }

  /** Stops the worker. Idempotent. */
  async close(): Promise<void> {
    this.failed ??= new Error('the hashing worker was closed');
    await this.worker.terminate();
  }
}
