/**
 * Writing a `.reg` file to disk at any size: key blocks are encoded ({@link RegEncoder.operationInto}) straight
 * into one reused output buffer ({@link RegOutputBuffer}, 1 MiB) and written out whenever the next block does not
 * fit. No buffer per key block and no gathering copy: on a 60 MB export those fresh allocations (page faults,
 * garbage collection of external memory) cost more than the encoding itself (issue 18, profiled on the registry
 * benchmark).
 *
 * The writes are synchronous, at most one buffer at a time, so a producer that is itself synchronous (the `.reg`
 * reader's `onOperation`) can write as it reads; the event loop turns between the reader's chunks.
 */
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import type { RegFormat, RegOperation } from './types';
import { RegEncoder, type RegByteTarget, type RegWriteOptions } from './reg-writer';

/** Capacity of the reused output buffer, bytes: large enough that a write call costs little per byte. */
export const REG_OUTPUT_BUFFER_BYTES = 1 << 20;

/**
 * A {@link RegByteTarget} over one reused buffer: bytes claimed are gathered until the next claim does not fit,
 * then the filled part is handed to `flush` (a view of the buffer, valid only until `flush` returns: write or copy
 * it there). A key block larger than the buffer gets a buffer of its own, handed over alone.
 */
export class RegOutputBuffer implements RegByteTarget {
  /** The buffer the last claim is in (see {@link RegByteTarget}). */
  buffer: Buffer;
  /** Bytes handed to `flush` so far. */
  flushedBytes = 0;
  private readonly main: Buffer;
  private used = 0;

  /**
   * @param flush receives each filled part in order (synchronously; it must not keep the view).
   * @param capacity bytes of the reused buffer ({@link REG_OUTPUT_BUFFER_BYTES}).
   */
  constructor(
    private readonly flush: (bytes: Buffer) => void,
    capacity = REG_OUTPUT_BUFFER_BYTES,
  ) {
    // Its own memory (not a slice of Node's shared pool), 2-byte aligned for UTF-16 views.
    this.main = Buffer.allocUnsafeSlow(capacity);
    this.buffer = this.main;
  }

  /** Reserves `size` bytes and returns their offset in {@link buffer} (flushing first when they do not fit). */
  claim(size: number): number {
    if (this.used + size > this.buffer.length) this.drain();
    if (size > this.main.length) this.buffer = Buffer.allocUnsafeSlow(size);
    const at = this.used;
    this.used += size;
    return at;
  }

  /** Hands what is gathered to `flush`. */
  drain(): void {
    if (this.used > 0) {
      const bytes = this.buffer.subarray(0, this.used);
      this.used = 0;
      this.buffer = this.main;
      this.flushedBytes += bytes.length;
      this.flush(bytes);
    }
  }
}

/**
 * A `.reg` file written to `path` as operations come ({@link RegFileWriter.operation}), memory bounded by the
 * output buffer and the largest key block. The file is created or replaced (not atomically: callers that need
 * atomicity write a temporary name and rename it); {@link close} writes the rest, {@link abort} removes it.
 */
export class RegFileWriter {
  private readonly encoder: RegEncoder;
  private readonly output: RegOutputBuffer;
  private fd: number | undefined;

  /**
   * Creates (or truncates) the file and writes the header.
   * @throws RegistryError (code `REG_CODE_PAGE`) for an unsupported code page; the file system's error when the
   *   file cannot be created or written.
   */
  constructor(
    readonly path: string,
    format: RegFormat,
    options: RegWriteOptions = {},
  ) {
    this.encoder = new RegEncoder(format, options);
    const fd = openSync(path, 'w');
    this.fd = fd;
    this.output = new RegOutputBuffer((bytes) => writeAll(fd, bytes));
    const header = this.encoder.header();
    const at = this.output.claim(header.length); // before reading the buffer: a claim may switch it
    header.copy(this.output.buffer, at);
  }

  /**
   * Adds one key block.
   * @throws RegistryError (`REG_UNWRITABLE`) as `writeReg` (nothing of the operation is written); the file
   *   system's error when a full buffer cannot be written.
   */
  operation(operation: RegOperation): void {
    if (this.fd === undefined) throw new Error(`${this.path}: the .reg file writer is closed`);
    this.encoder.operationInto(operation, this.output);
  }

  /**
   * Writes what is left, optionally flushes the file to disk, and closes it.
   * @returns the size of the file, bytes.
   * @throws the file system's error when the rest cannot be written (the file is then closed, left as it is).
   */
  close(options: { sync?: boolean } = {}): number {
    const fd = this.fd;
    if (fd === undefined) return this.output.flushedBytes;
    try {
      this.output.drain();
      if (options.sync) fsyncSync(fd);
    } finally {
      this.fd = undefined;
      closeSync(fd);
    }
    return this.output.flushedBytes;
  }

  /** Closes the file (if open) and removes it: what was written is not a complete `.reg` file. */
  abort(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** Writes all of `bytes` at the file's position (a file write may take fewer bytes than asked). */
function writeAll(fd: number, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
}

/**
 * Streams a `.reg` file to `path` (created or replaced, not atomically), one operation at a time
 * ({@link RegFileWriter}). A failure removes the partial file.
 * @returns the number of bytes written.
 * @throws RegistryError (`REG_UNWRITABLE`) as `writeReg`; the file system's error when it cannot be written.
 */
export async function writeRegFile(
  path: string,
  format: RegFormat,
  operations: AsyncIterable<RegOperation> | Iterable<RegOperation>,
  options: RegWriteOptions = {},
): Promise<number> {
  const writer = new RegFileWriter(path, format, options);
  try {
    for await (const operation of operations) writer.operation(operation);
    return writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
}
