/**
 * The SHA-256 of every page of a database image, on two threads (issue 17: a LOG point is bound by hashing, not by
 * reading). The main thread and one worker take blocks of pages from a shared counter until the chunk is done, so the
 * split follows whichever thread the machine lets run (on a busy machine the main thread simply does more of it).
 *
 * Memory is shared, never copied: the caller reads each chunk straight into one of two input buffers backed by a
 * `SharedArrayBuffer` ({@link PageDigester.input}; the next chunk is read into the other one meanwhile), and the
 * 32-byte digests land in a shared buffer ({@link PageDigester.digests}). Signalling is `Atomics` on a small shared
 * control array (no message per chunk). Without a worker (`threads: 1`, or the worker cannot start) the main thread
 * hashes every page — the same result, slower.
 *
 * ## Page-digest root (the identity of a LOG point, `CSDRDF01` version 2)
 * SHA-256 over `CSDRPR01` (8 ASCII bytes) ‖ page size (uint32 BE) ‖ page count (uint32 BE) ‖ SHA-256(page 1) ‖ … ‖
 * SHA-256(page n), each page digest in full (32 bytes). A hash list: two images with the same root have the same
 * page size, page count and (short of a SHA-256 collision) the same bytes in every page — as strong an identity as
 * the SHA-256 of the whole file, at the cost of the page digests change detection computes anyway instead of a
 * second pass over every byte. See {@link pageDigestRoot}.
 */
import { createHash, hash as oneShotHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/** Bytes of one full page digest (SHA-256). */
export const FULL_PAGE_DIGEST_BYTES = 32;
/** Domain tag that starts every page-digest root. */
export const PAGE_ROOT_TAG = 'CSDRPR01';
/** Pages a thread takes from the shared counter at a time (64 KiB at 4 KiB pages: small enough to balance). */
const BLOCK_PAGES = 16;
/** Longest wait for the worker to finish the block it holds before the digester gives up on it (ms). */
const WORKER_STALL_MS = 60_000;

/*
 * The protocol (why the main thread never waits for the worker to wake up, only for a block it is hashing):
 * - CLAIM (one Int32) = chunk sequence number << 20 | next page index. The main thread writes INPUT and COUNT, then
 *   publishes CLAIM = seq << 20 (index 0) and notifies. Both threads take blocks of pages from it; the main thread
 *   with Atomics.add, the worker with compareExchange (so a block is taken only from a chunk still open).
 * - When the main thread finds the chunk exhausted it *closes* it (index = CLOSED), then waits until INFLIGHT is 0: the
 *   worker increments INFLIGHT before looking at CLAIM and decrements it after its block, so once the chunk is closed
 *   and INFLIGHT is 0 the worker can no longer touch this chunk's buffers. A worker that was asleep (or not started
 *   yet) simply found nothing to do: the main thread did every page.
 * - The worker reads INPUT and COUNT after CLAIM showed the chunk open, and its compareExchange succeeds only while
 *   that chunk is still open; the main thread writes the next chunk's INPUT and COUNT only after closing this one and
 *   seeing INFLIGHT at 0 — so a block is always hashed with its own chunk's parameters.
 */
const CLAIM = 0;
const INFLIGHT = 1;
const INPUT = 2;
const COUNT = 3;
const PAGE_SIZE = 4;
const FAILED = 5; // 1 when the worker threw while hashing
const STOP = 6; // 1: the worker ends its loop
const CONTROL_SLOTS = 8;
const INDEX_BITS = 20;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
/** Index of a closed chunk (above any page count + block). */
const CLOSED = INDEX_MASK;
/** Most pages in one chunk (the index must stay below {@link CLOSED} after the last claims). */
const MAX_CHUNK_PAGES = CLOSED - 4 * BLOCK_PAGES;
/** Sequence numbers wrap within the 11 bits above the index (the claim word stays a positive Int32). */
const SEQ_LIMIT = 1 << (31 - INDEX_BITS);

/** `Atomics.waitAsync` (Node ≥ 16; typed from lib ES2024, newer than this project's ES2023). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number, timeoutMs: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync.bind(Atomics);

/** The worker (plain JavaScript: workers do not load TypeScript). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const ctrl = new Int32Array(workerData.control);
const inputs = workerData.inputs.map((s) => Buffer.from(s));
const digests = Buffer.from(workerData.digests);
for (;;) {
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  Atomics.add(ctrl, ${INFLIGHT}, 1);
  const v = Atomics.load(ctrl, ${CLAIM});
  const index = v & ${INDEX_MASK};
  let took = false;
  if (index !== ${CLOSED}) {
    const input = inputs[Atomics.load(ctrl, ${INPUT})];
    const count = Atomics.load(ctrl, ${COUNT});
    const size = Atomics.load(ctrl, ${PAGE_SIZE});
    if (index < count && Atomics.compareExchange(ctrl, ${CLAIM}, v, v + ${BLOCK_PAGES}) === v) {
      took = true;
      try {
        const end = Math.min(count, index + ${BLOCK_PAGES});
        for (let i = index; i < end; i++) hash('sha256', input.subarray(i * size, (i + 1) * size), 'buffer').copy(digests, i * 32);
      } catch {
        Atomics.store(ctrl, ${FAILED}, 1);
      }
    }
  }
  Atomics.sub(ctrl, ${INFLIGHT}, 1);
  Atomics.notify(ctrl, ${INFLIGHT});
  // Nothing to take (closed, exhausted, or another claim won): sleep until the claim word changes (a new chunk or stop).
  if (!took && Atomics.load(ctrl, ${CLAIM}) === v) Atomics.wait(ctrl, ${CLAIM}, v, 1000);
}
`;

/** Options of {@link PageDigester.create}. */
export interface PageDigesterOptions {
  /** Page size in bytes. */
  pageSize: number;
  /** Most pages per chunk (each input buffer holds this many pages). */
  chunkPages: number;
  /** 2 (default): the main thread and one worker; 1: the main thread only. */
  threads?: 1 | 2;
}

/**
 * Computes the full SHA-256 of every page of a chunk, on the main thread and (when available) one worker.
 * One chunk at a time: {@link digest} must be awaited before the next call. {@link close} when done (idempotent).
 */
export class PageDigester {
  /** The two input buffers (shared memory): read a chunk into one, then {@link digest} it by its index. */
  readonly inputs: [Buffer, Buffer];
  /** Digest of page i of the last chunk digested at `[32 i, 32 i + 32)`. */
  readonly digests: Buffer;
  private readonly control: Int32Array;
  private worker: Worker | undefined;
  private workerError: Error | undefined;
  private seq = 0;

  private constructor(readonly pageSize: number, readonly chunkPages: number, threads: 1 | 2) {
    const shared = (bytes: number) => new SharedArrayBuffer(bytes);
    const inputs = [shared(chunkPages * pageSize), shared(chunkPages * pageSize)];
    const digests = shared(chunkPages * FULL_PAGE_DIGEST_BYTES);
    const control = shared(CONTROL_SLOTS * 4);
    this.inputs = [Buffer.from(inputs[0]), Buffer.from(inputs[1])];
    this.digests = Buffer.from(digests);
    this.control = new Int32Array(control);
    if (threads === 2) {
      try {
        this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { inputs, digests, control } });
        this.worker.unref();
        const fail = (error: Error) => (this.workerError ??= error);
        this.worker.on('error', fail);
        this.worker.on('exit', (code) => fail(new Error(`the page-digest worker exited with code ${code}`)));
      } catch {
        this.worker = undefined; // no worker: the main thread hashes every page
      }
    }
  }

  /**
   * A digester for chunks of up to `chunkPages` pages of `pageSize` bytes (memory: two input buffers of
   * `chunkPages × pageSize` bytes plus 32 bytes per page, shared with the worker).
   */
  static create(options: PageDigesterOptions): PageDigester {
    if (!(options.chunkPages >= 1 && options.chunkPages <= MAX_CHUNK_PAGES)) throw new RangeError(`chunkPages must be 1 … ${MAX_CHUNK_PAGES}, got ${options.chunkPages}`);
    return new PageDigester(options.pageSize, options.chunkPages, options.threads ?? 2);
  }

  /** Whether a worker shares the hashing (false: the main thread alone). */
  get parallel(): boolean {
    return this.worker !== undefined && this.workerError === undefined;
  }

  /**
   * Digests pages `[0, count)` of input buffer `input` into {@link digests}. `alongside` runs on the main thread after
   * the worker can start on the chunk and before the main thread joins it (e.g. the SHA-256 of the whole chunk).
   * @throws Error when the worker failed or stalled (the chunk is then incomplete; the caller abandons the pass).
   */
  async digest(input: 0 | 1, count: number, alongside?: () => void): Promise<void> {
    if (count > this.chunkPages) throw new RangeError(`${count} pages exceed the chunk of ${this.chunkPages}`);
    const c = this.control;
    this.seq = (this.seq + 1) % SEQ_LIMIT;
    const open = this.seq << INDEX_BITS;
    Atomics.store(c, INPUT, input);
    Atomics.store(c, COUNT, count);
    Atomics.store(c, PAGE_SIZE, this.pageSize);
    Atomics.store(c, CLAIM, open);
    if (this.parallel) Atomics.notify(c, CLAIM);
    alongside?.();
    const data = this.inputs[input];
    const size = this.pageSize;
    for (let i; (i = Atomics.add(c, CLAIM, BLOCK_PAGES) - open) < count; ) {
      const end = Math.min(count, i + BLOCK_PAGES);
      for (; i < end; i++) oneShotHash('sha256', data.subarray(i * size, (i + 1) * size), 'buffer').copy(this.digests, i * FULL_PAGE_DIGEST_BYTES);
    }
    Atomics.store(c, CLAIM, open | CLOSED);
    if (this.worker) await this.workerOut();
  }

  /** Waits (without blocking the event loop) until the worker holds no block of the closed chunk. */
  private async workerOut(): Promise<void> {
    const c = this.control;
    if (Atomics.load(c, INFLIGHT) !== 0) {
      const deadline = Date.now() + WORKER_STALL_MS;
      // A pending Atomics.waitAsync does not keep the event loop alive: the (otherwise unref'd) worker does meanwhile.
      this.worker?.ref();
      try {
        for (let n; (n = Atomics.load(c, INFLIGHT)) !== 0; ) {
          if (this.workerError) throw this.workerError;
          if (Date.now() > deadline) throw new Error(`the page-digest worker held a block for more than ${WORKER_STALL_MS / 1000} s`);
          const waited = waitAsync(c, INFLIGHT, n, 100);
          if (waited.async) await waited.value;
        }
      } finally {
        this.worker?.unref();
      }
    }
    if (Atomics.load(c, FAILED) !== 0) throw new Error('the page-digest worker failed while hashing a chunk');
  }

  /** Stops the worker (it ends its loop and exits). Idempotent, never throws. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    worker.ref(); // until it has exited (an unref'd worker would let the process end while close() awaits)
    Atomics.store(this.control, STOP, 1);
    Atomics.store(this.control, CLAIM, (this.seq << INDEX_BITS) | CLOSED);
    Atomics.notify(this.control, CLAIM);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate().then(() => resolve(), () => resolve()), 5000);
      timer.unref();
      worker.once('exit', () => (clearTimeout(timer), resolve()));
    });
  }
}

/** Starts a page-digest root (see the module comment): feed it every page's 32-byte SHA-256 in page order, then digest. */
export function pageDigestRoot(pageSize: number, pageCount: number): Hash {
  const head = Buffer.alloc(16);
  head.write(PAGE_ROOT_TAG, 0, 'latin1');
  head.writeUInt32BE(pageSize, 8);
  head.writeUInt32BE(pageCount, 12);
  return createHash('sha256').update(head);
}

/** What {@link fileIdentities} computed. */
export interface FileIdentities {
  /** SHA-256 of the first `pageCount × pageSize` bytes (hex). */
  sha256: string;
  /** Page-digest root of the same bytes (hex). */
  pageRoot: string;
}

/**
 * Both identities of a database file in one read: the SHA-256 of its bytes and its page-digest root (the file read
 * in chunks of `chunkPages`, the next chunk read while this one is hashed; the page digests on two threads).
 * @throws Error when the file is shorter than `pageCount × pageSize` bytes, or a read or the worker fails.
 */
export async function fileIdentities(fh: FileHandle, pageSize: number, pageCount: number, options: { chunkPages?: number; threads?: 1 | 2 } = {}): Promise<FileIdentities> {
  const chunkPages = Math.max(1, options.chunkPages ?? Math.floor((1024 * 1024) / pageSize));
  const digester = PageDigester.create({ pageSize, chunkPages, threads: options.threads });
  const whole = createHash('sha256');
  const root = pageDigestRoot(pageSize, pageCount);
  try {
    const read = (first: number, input: 0 | 1) => {
      const n = Math.min(chunkPages, pageCount - first);
      const p = readAll(fh, digester.inputs[input], n * pageSize, first * pageSize).then((got) => {
        if (got !== n * pageSize) throw new Error(`the file ended at byte ${first * pageSize + got}, ${pageCount * pageSize} expected`);
        return n;
      });
      p.catch(() => undefined); // awaited below
      return p;
    };
    let pending = pageCount > 0 ? read(0, 0) : undefined;
    for (let first = 0, k = 0; first < pageCount; first += chunkPages, k++) {
      const input = (k % 2) as 0 | 1;
      const n = await pending!;
      pending = first + chunkPages < pageCount ? read(first + chunkPages, (1 - input) as 0 | 1) : undefined;
      await digester.digest(input, n, () => whole.update(digester.inputs[input].subarray(0, n * pageSize)));
      root.update(digester.digests.subarray(0, n * FULL_PAGE_DIGEST_BYTES));
    }
    return { sha256: whole.digest('hex'), pageRoot: root.digest('hex') };
  } finally {
    await digester.close();
  }
}

/** Reads up to `length` bytes at `position` into `buffer[0…]`, looping over short reads; the bytes read. */
async function readAll(fh: FileHandle, buffer: Buffer, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}
