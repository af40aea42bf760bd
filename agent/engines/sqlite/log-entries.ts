/**
 * The page state of a LOG point's predecessor, streamed in page order (issue 17: memory flat in database size): the
 * FULL's page-hash sidecar (version 2: XXH64 + SHA-256 per page, `page-hashes.ts`) and the predecessor's differences
 * from the FULL (a LOG overlay, or a DIFFERENTIAL's page records), merged page by page with the pages being read.
 * Nothing here holds a whole table: each source is read in blocks of about 1 MiB.
 *
 * Overlay entries (`CSDRPO01` version 2, see `log-point.ts`) are 44 bytes: page number (uint32 BE), the page's XXH64
 * (8 bytes, little-endian as in the sidecar), its SHA-256 (32 bytes).
 */
import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { DatabaseError } from '#core/errors';
import { XXH64_BYTES } from './page-xxh64';
import { PAGE_ENTRY_BYTES, PAGE_HASHES_HEADER_BYTES, PAGE_HASHES_TRAILER_BYTES, PageEntryHasher, readFully, type PageHashesHeader } from './page-hashes';

/**
 * Bytes of one version-2 overlay entry: page number (4) + XXH64 (8) + SHA-256 (32). From page-xxh64.ts, not
 * page-hashes.ts: page-hashes.ts and the LOG modules import each other through sqlite-engine.ts, so a constant of
 * page-hashes.ts may not be initialized yet when this module loads.
 */
export const OVERLAY_ENTRY_V2_BYTES = 4 + XXH64_BYTES + 32;
/** Bytes read from a sidecar or overlay at a time. */
const BLOCK_BYTES = 1024 * 1024;

function unusable(message: string, cause?: unknown): DatabaseError {
  return new DatabaseError('LOG_BASE_UNUSABLE', message, { cause });
}

/**
 * Reads the entries of a version-2 FULL sidecar in page order and checks its trailer SHA-256 over everything it read
 * ({@link verify}, which reads what the pass did not need): the sidecar is read once, not once to validate and once to
 * use. Entries are taken `takePages` at a time (the last take may be shorter); blocks of about 1 MiB are read ahead
 * (the next block is read while this one is used). A caller must {@link verify} before it publishes anything computed
 * from the entries.
 */
export class SidecarEntryReader {
  private readonly blocks: [Buffer, Buffer];
  private readonly blockPages: number;
  private readonly trailerHash: Hash = createHash('sha256');
  /** The block being taken from, its length in bytes, and the next byte to take. */
  private current = -1;
  private currentBytes = 0;
  private at = 0;
  /** The read of the next block (into the other buffer): its byte count. */
  private ahead: Promise<number> | undefined;
  /** Next entry (0-based page) to read from the file. */
  private nextPage = 0;

  /** @param header as `readPageHashes(file, { verifyTrailer: false })` returned it (version 2). */
  constructor(
    private readonly fh: FileHandle,
    private readonly header: PageHashesHeader,
    private readonly file: string,
    private readonly takePages: number,
  ) {
    this.blockPages = Math.max(1, Math.floor(BLOCK_BYTES / (takePages * PAGE_ENTRY_BYTES))) * takePages;
    this.blocks = [Buffer.allocUnsafe(this.blockPages * PAGE_ENTRY_BYTES), Buffer.allocUnsafe(this.blockPages * PAGE_ENTRY_BYTES)];
  }

  /** Hashes the header and starts reading the first block (call once, before the first {@link take}). */
  async begin(): Promise<void> {
    const head = Buffer.allocUnsafe(PAGE_HASHES_HEADER_BYTES);
    if ((await readFully(this.fh, head, 0, head.length, 0)) !== head.length) throw this.early();
    this.trailerHash.update(head);
    this.ahead = this.readBlock(0);
  }

  private early(): DatabaseError {
    return unusable(`the FULL's page hashes ${basename(this.file)} ended early`);
  }

  /** Starts reading the next block into buffer `index`; resolves to its byte count (0 at the end). */
  private readBlock(index: number): Promise<number> {
    const pages = Math.min(this.header.pageCount - this.nextPage, this.blockPages);
    const position = PAGE_HASHES_HEADER_BYTES + this.nextPage * PAGE_ENTRY_BYTES;
    this.nextPage += pages;
    const bytes = pages * PAGE_ENTRY_BYTES;
    const read = bytes === 0 ? Promise.resolve(0) : readFully(this.fh, this.blocks[index], 0, bytes, position).then((got) => {
      if (got !== bytes) throw this.early();
      return bytes;
    });
    read.catch(() => undefined); // awaited by the next take or verify
    return read;
  }

  /**
   * The next `count` entries (40 bytes each; `count` = `takePages`, or fewer at the sidecar's end), valid until the
   * next call.
   * @throws DatabaseError `LOG_BASE_UNUSABLE` when the sidecar ends early.
   */
  async take(count: number): Promise<Buffer> {
    const want = count * PAGE_ENTRY_BYTES;
    if (this.at >= this.currentBytes) {
      const bytes = this.ahead ? await this.ahead : 0;
      if (bytes === 0) throw unusable(`the FULL's page hashes ${basename(this.file)} hold fewer entries than asked for`);
      this.current = this.current === 0 ? 1 : 0;
      this.currentBytes = bytes;
      this.at = 0;
      this.trailerHash.update(this.blocks[this.current].subarray(0, bytes));
      this.ahead = this.readBlock(this.current === 0 ? 1 : 0);
    }
    if (this.currentBytes - this.at < want) throw unusable(`the FULL's page hashes ${basename(this.file)} were taken out of step`);
    const out = this.blocks[this.current].subarray(this.at, this.at + want);
    this.at += want;
    return out;
  }

  /**
   * Reads the entries the pass did not take and the trailer, and compares.
   * @throws DatabaseError `LOG_BASE_UNUSABLE` when the trailer does not match (the sidecar is damaged).
   */
  async verify(): Promise<void> {
    for (;;) {
      const bytes = this.ahead ? await this.ahead : 0;
      if (bytes === 0) break;
      this.current = this.current === 0 ? 1 : 0;
      this.trailerHash.update(this.blocks[this.current].subarray(0, bytes));
      this.ahead = this.readBlock(this.current === 0 ? 1 : 0);
    }
    this.at = this.currentBytes = 0;
    const trailer = Buffer.allocUnsafe(PAGE_HASHES_TRAILER_BYTES);
    const at = PAGE_HASHES_HEADER_BYTES + this.header.pageCount * PAGE_ENTRY_BYTES;
    if ((await readFully(this.fh, trailer, 0, trailer.length, at)) !== trailer.length || !this.trailerHash.digest().equals(trailer)) {
      throw unusable(`cannot take a LOG point: the FULL's page hashes ${basename(this.file)} are damaged (trailer SHA-256 mismatch); take a FULL`);
    }
  }
}

/** A source of the predecessor's overlay entries (44 bytes each), ascending by page number, in batches. */
export interface OverlayEntrySource {
  /** The next batch (a whole number of entries; reused by the next call), or null at the end. */
  next(): Promise<Buffer | null>;
}

/** No entries: the predecessor is the FULL itself. */
export const NO_ENTRIES: OverlayEntrySource = { next: async () => null };

/** The entries of a version-2 overlay file whose header and trailer the caller validated (`body` = entries' bytes). */
export function overlayFileEntries(fh: FileHandle, headerBytes: number, entries: number): OverlayEntrySource {
  const block = Buffer.allocUnsafe(Math.floor(BLOCK_BYTES / OVERLAY_ENTRY_V2_BYTES) * OVERLAY_ENTRY_V2_BYTES);
  let done = 0;
  return {
    async next() {
      if (done >= entries) return null;
      const n = Math.min(entries - done, block.length / OVERLAY_ENTRY_V2_BYTES);
      const bytes = n * OVERLAY_ENTRY_V2_BYTES;
      if ((await readFully(fh, block, 0, bytes, headerBytes + done * OVERLAY_ENTRY_V2_BYTES)) !== bytes) throw unusable('the previous LOG point\'s overlay ended early');
      done += n;
      return block.subarray(0, bytes);
    },
  };
}

/**
 * The entries of a DIFFERENTIAL's page records (every one differs from the FULL), computed from the pages as they are
 * read: the overlay of a DIFFERENTIAL point.
 * @param records page records `(page number uint32 BE, page)` of `pageSize` bytes from `firstRecordAt`.
 */
export function differentialEntries(fh: FileHandle, firstRecordAt: number, records: number, pageSize: number): OverlayEntrySource {
  const recordBytes = 4 + pageSize;
  const perBlock = Math.max(1, Math.floor(BLOCK_BYTES / recordBytes));
  const input = Buffer.allocUnsafe(perBlock * recordBytes);
  const pages = Buffer.allocUnsafe(perBlock * pageSize);
  const out = Buffer.allocUnsafe(perBlock * OVERLAY_ENTRY_V2_BYTES);
  const hasher = new PageEntryHasher(pageSize, perBlock);
  let done = 0;
  return {
    async next() {
      if (done >= records) return null;
      const n = Math.min(perBlock, records - done);
      if ((await readFully(fh, input, 0, n * recordBytes, firstRecordAt + done * recordBytes)) !== n * recordBytes) throw unusable('the DIFFERENTIAL the LOG continues ended early');
      for (let r = 0; r < n; r++) input.copy(pages, r * pageSize, r * recordBytes + 4, (r + 1) * recordBytes);
      const entries = hasher.entries(pages, n);
      for (let r = 0; r < n; r++) {
        out.writeUInt32BE(input.readUInt32BE(r * recordBytes), r * OVERLAY_ENTRY_V2_BYTES);
        entries.copy(out, r * OVERLAY_ENTRY_V2_BYTES + 4, r * PAGE_ENTRY_BYTES, (r + 1) * PAGE_ENTRY_BYTES);
      }
      done += n;
      return out.subarray(0, n * OVERLAY_ENTRY_V2_BYTES);
    },
  };
}

/**
 * Merges an {@link OverlayEntrySource} with the pages in chunk order: {@link collect} gathers the entries of one chunk's
 * pages, {@link slotOf} says where page i's entry is. Refuses entries out of order (a damaged source).
 */
export class OverlayCursor {
  private batch: Buffer = Buffer.alloc(0);
  private at = 0;
  private ended = false;
  private lastPage = 0;
  /** The chunk's entries, copied (a batch may end inside a chunk). */
  readonly entries: Buffer;
  private readonly slots: Int32Array;

  constructor(
    private readonly source: OverlayEntrySource,
    chunkPages: number,
    private readonly what: string,
  ) {
    this.entries = Buffer.allocUnsafe(chunkPages * OVERLAY_ENTRY_V2_BYTES);
    this.slots = new Int32Array(chunkPages);
  }

  /**
   * Gathers the entries of pages `first + 1 … first + n` (1-based page numbers).
   * @throws DatabaseError `LOG_BASE_UNUSABLE` when entries are not strictly ascending.
   */
  async collect(first: number, n: number): Promise<void> {
    this.slots.fill(-1, 0, n);
    let fill = 0;
    for (;;) {
      if (this.at >= this.batch.length) {
        if (this.ended) return;
        const next = await this.source.next();
        if (!next) {
          this.ended = true;
          return;
        }
        this.batch = next;
        this.at = 0;
      }
      const page = this.batch.readUInt32BE(this.at);
      if (page <= this.lastPage) throw unusable(`${this.what} is damaged: page ${page} after page ${this.lastPage} (entries must ascend)`);
      if (page > first + n) return;
      if (page <= first) throw unusable(`${this.what} is damaged: page ${page} out of order`);
      this.batch.copy(this.entries, fill, this.at, this.at + OVERLAY_ENTRY_V2_BYTES);
      this.slots[page - first - 1] = fill;
      fill += OVERLAY_ENTRY_V2_BYTES;
      this.lastPage = page;
      this.at += OVERLAY_ENTRY_V2_BYTES;
    }
  }

  /** Offset in {@link entries} of the entry of the chunk's page `i` (0-based), or −1 when it has none. */
  slotOf(i: number): number {
    return this.slots[i];
  }
}
