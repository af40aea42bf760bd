/**
 * The `.reg` format as regedit reads and writes it: reading bytes or a file (streaming) into operations and
 * warnings, and the entry points of the writer and the key-path helpers (re-exported).
 *
 * - Text: `reg-text.ts` (encoding detection, chunked decoding, lines).
 * - Reader rules (what regedit imports, drops and normalizes): `reg-reader.ts`.
 * - Writer: `reg-writer.ts`; to disk at any size: `reg-file-writer.ts`. Key paths: `key-path.ts`. ANSI code pages: `code-page.ts`.
 *
 * How the data is represented is documented on `RegValue` (types.ts).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { RegistryError } from '#core/errors';
import { ansiCodePage, type AnsiCodePage } from './code-page';
import { RegLineParser, type RegReadOptions } from './reg-reader';
import { chunkDecoder, detectRegEncoding, ENCODING_PROBE_BYTES, LineSplitter, type RegEncoding } from './reg-text';
import { UnitLineSplitter } from './reg-units';
import type { RegFile, RegFormat, RegOperation, RegWarning } from './types';
import { fsFailure } from '#agent/fs-errors';

export { REGEDIT4_HEADER, type RegEncoding } from './reg-text';
export { REGEDIT5_HEADER, REG_TYPE_NUMBERS, DEFAULT_MAX_WARNINGS, RegLineParser, type RegReadOptions } from './reg-reader';
export { writeReg, formatReg, RegEncoder, type RegByteTarget, type RegWriteOptions } from './reg-writer';
export { writeRegFile, RegFileWriter, RegOutputBuffer, REG_OUTPUT_BUFFER_BYTES } from './reg-file-writer';
export { REGISTRY_ROOTS, foldRegistryName, splitKeyPath, normalizeKeyPath, compareKeyPaths, isKeyWithin } from './key-path';
export { SUPPORTED_ANSI_CODE_PAGES, DEFAULT_ANSI_CODE_PAGE, ansiCodePage } from './code-page';

/** What reading a `.reg` file gave, besides the operations. */
export interface RegReadSummary {
  format: RegFormat;
  encoding: RegEncoding;
  /** What was not imported, in file order (at most `maxWarnings`; see `warningCount`). */
  warnings: RegWarning[];
  /** Every warning, including those beyond `maxWarnings`. */
  warningCount: number;
  /** Operations handed over. */
  operationCount: number;
}

/** A whole parsed `.reg` file with its encoding and warnings. */
export interface ParsedReg extends RegFile {
  encoding: RegEncoding;
  warnings: RegWarning[];
  warningCount: number;
}

/**
 * Reads a `.reg` file from bytes pushed in chunks (any sizes): detects the encoding from the first bytes, cuts the
 * bytes into lines of code units without decoding them ({@link UnitLineSplitter}) and parses them
 * ({@link RegLineParser.unitLine}: hex data is read from the units, only names and strings are decoded), handing
 * each operation to `onOperation` as soon as it is complete. Memory stays bounded by the chunk size, the longest
 * line and the largest key block.
 */
export class RegByteReader {
  private readonly parser: RegLineParser;
  private readonly page: AnsiCodePage;
  private head: Buffer[] = [];
  private headLength = 0;
  private lines: UnitLineSplitter | undefined;
  private encoding: RegEncoding | undefined;

  /**
   * @param onOperation receives each operation in file order.
   * @param options code page and warning limit.
   * @param utf8Valid for an 8-bit file without BOM that is not REGEDIT4: whether the whole file is valid UTF-8
   *   (UTF-8 then, else ANSI). Asked at most once, after the first bytes.
   * @throws RegistryError (code `REG_CODE_PAGE`) for an unsupported code page.
   */
  constructor(
    onOperation: (operation: RegOperation) => void,
    options: RegReadOptions = {},
    private readonly utf8Valid: () => boolean = () => true,
  ) {
    this.page = ansiCodePage(options.ansiCodePage);
    this.parser = new RegLineParser(onOperation, options);
  }

  /**
   * Adds bytes. The reader keeps no reference to `chunk` after it returns (the caller may reuse its buffer).
   * @throws RegistryFormatError when the file turns out not to be a `.reg` file (its header).
   */
  write(chunk: Buffer): void {
    if (this.lines) {
      this.lines.push(chunk);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength >= ENCODING_PROBE_BYTES) this.start();
    else this.head[this.head.length - 1] = Buffer.from(chunk); // kept past this call: the caller may reuse its buffer
  }

  /**
   * Ends the file.
   * @returns format, encoding and warnings.
   * @throws RegistryFormatError when there is no header (the file is empty or not a `.reg` file).
   */
  end(): RegReadSummary {
    if (!this.lines) this.start();
    const { truncatedUtf16 } = this.lines!.end();
    if (truncatedUtf16) this.parser.warnAtEnd('truncated UTF-16 text (odd number of bytes): the last byte is ignored');
    this.parser.end();
    const { format, warnings, warningCount, operationCount } = this.parser;
    return { format: format!, encoding: this.encoding!, warnings, warningCount, operationCount };
  }

  private start(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    const { encoding, bomBytes } = detectRegEncoding(head, this.utf8Valid, this.page);
    this.encoding = encoding;
    this.parser.encoding = encoding;
    this.lines = new UnitLineSplitter(encoding, this.page, (line) => this.parser.unitLine(line));
    this.lines.push(head.subarray(bomBytes));
  }
}

/**
 * Parses a whole `.reg` file held in memory.
 * @returns format, encoding, operations in file order, and warnings for what regedit would not import.
 * @throws RegistryFormatError when it is not a `.reg` file (missing or unknown header): message
 *   `line <n>, column <c>: <problem>`, `context.line`/`context.column` 1-based.
 * @throws RegistryError (code `REG_CODE_PAGE`) for an unsupported `options.ansiCodePage`.
 */
export function parseRegDetailed(bytes: Buffer, options: RegReadOptions = {}): ParsedReg {
  const operations: RegOperation[] = [];
  const reader = new RegByteReader((operation) => operations.push(operation), options, () => isUtf8(bytes));
  reader.write(bytes);
  const { format, encoding, warnings, warningCount } = reader.end();
  return { format, encoding, operations, warnings, warningCount };
}

/**
 * Parses a `.reg` file (bytes as read from disk) into its operations, in file order. What regedit would not
 * import is left out; use {@link parseRegDetailed} to get the warnings.
 * @throws RegistryFormatError as {@link parseRegDetailed}.
 */
export function parseReg(bytes: Buffer, options: RegReadOptions = {}): RegFile {
  const { format, operations } = parseRegDetailed(bytes, options);
  return { format, operations };
}

/** {@link parseReg} plus the detected encoding. @throws RegistryFormatError as {@link parseRegDetailed}. */
export function parseRegWithEncoding(bytes: Buffer, options: RegReadOptions = {}): RegFile & { encoding: RegEncoding } {
  const { format, encoding, operations } = parseRegDetailed(bytes, options);
  return { format, encoding, operations };
}

/**
 * Parses the decoded text of a `.reg` file (a leading BOM character is ignored).
 * @throws RegistryFormatError as {@link parseRegDetailed}.
 */
export function parseRegText(text: string, options: RegReadOptions = {}): RegFile & { warnings: RegWarning[] } {
  const operations: RegOperation[] = [];
  const parser = new RegLineParser((operation) => operations.push(operation), options);
  const lines = new LineSplitter((line) => parser.line(line));
  lines.push(text.replace(/^\uFEFF/, ''));
  lines.end();
  parser.end();
  return { format: parser.format!, operations, warnings: parser.warnings };
}

/**
 * Decodes the bytes of a whole `.reg` file into text (encoding detected as the reader does; see `reg-text.ts`).
 * The BOM is not part of the returned text; a lone last byte of UTF-16 text is dropped.
 */
export function decodeRegText(bytes: Buffer, options: RegReadOptions = {}): { text: string; encoding: RegEncoding } {
  const page = ansiCodePage(options.ansiCodePage);
  const { encoding, bomBytes } = detectRegEncoding(bytes.subarray(0, ENCODING_PROBE_BYTES), () => isUtf8(bytes), page);
  const decoder = chunkDecoder(encoding, page);
  return { text: decoder.decode(bytes.subarray(bomBytes)) + decoder.end().text, encoding };
}

/** Bytes read from disk per chunk by {@link readRegFile}. */
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Reads a `.reg` file from disk as a stream, handing each operation to `onOperation` (which may be slow: the next
 * chunk is read only after it returns). Memory is bounded by the chunk size, the longest line and the largest key
 * block, whatever the file size; the event loop turns between chunks (signals are answered).
 * @returns format, encoding and warnings.
 * @throws RegistryError (code `REG_IO`) when the file cannot be read (`cannot read <path>: <reason>`);
 *   RegistryFormatError when it is not a `.reg` file; (code `REG_CODE_PAGE`) for an unsupported code page.
 */
export async function readRegFile(path: string, onOperation: (operation: RegOperation) => void, options: RegReadOptions = {}): Promise<RegReadSummary> {
  try {
    const utf8 = await needsUtf8Scan(path, options) ? await isUtf8File(path) : true;
    const reader = new RegByteReader(onOperation, options, () => utf8);
    // One buffer read into again and again, instead of a fresh 1 MiB buffer per chunk as a read stream gives
    // (less allocation and garbage-collector work on a large file; the event loop still turns between reads).
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        reader.write(buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
    return reader.end();
  } catch (error) {
    if (error instanceof RegistryError) throw error;
    throw new RegistryError('REG_IO', fsFailure('cannot read', path, error), { cause: error, context: { file: path } });
  }
}

/** Whether the file is 8-bit text without BOM that is not REGEDIT4 (its encoding then depends on UTF-8 validity). */
async function needsUtf8Scan(path: string, options: RegReadOptions): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(ENCODING_PROBE_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    let asked = false;
    detectRegEncoding(head.subarray(0, bytesRead), () => ((asked = true), true), ansiCodePage(options.ansiCodePage));
    return asked;
  } finally {
    await handle.close();
  }
}

async function isUtf8File(path: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })) decoder.decode(chunk as Buffer, { stream: true });
    decoder.decode();
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

