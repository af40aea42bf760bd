/**
 * The `.reg` writer: produces what regedit writes. REGEDIT5 as a UTF-16LE BOM plus UTF-16LE text, REGEDIT4 as
 * ANSI text in the `AnsiCodePage` (Windows-1252 by default); CRLF line endings; the header line, a blank line,
 * then each key block (`[KEY]` and its value lines, or `[-KEY]`) followed by a blank line. Hex values wrap like
 * regedit: a line is broken (`,\` then a new line indented by two spaces) as soon as it reaches 77 characters
 * including the comma just written, so a hex line is at most 80 characters unless its `"name"=hex(N):` prefix
 * alone is longer than 76 (strings are never wrapped, as in regedit).
 *
 * Operations are encoded one at a time ({@link RegEncoder}), so a file of any size is written with memory
 * bounded by its largest key block (`writeRegFile` and `RegFileWriter` in reg-file-writer.ts stream to disk).
 *
 * Writing is the inverse of reading: `parseReg(writeReg(f))` deep-equals `f` for every `f` that parseReg can
 * return, and `writeReg(parseReg(writeReg(f)))` is byte-identical to `writeReg(f)`.
 */
import { RegistryError } from '#core/errors';
import { ansiCodePage, type AnsiCodePage } from './code-page';
import { REG_TYPE_NUMBERS, REGEDIT5_HEADER } from './reg-reader';
import { REGEDIT4_HEADER } from './reg-text';
import type { RegFile, RegFormat, RegOperation, RegValue, RegValueDeletion } from './types';

/** Largest registry type number (a DWORD). */
const MAX_TYPE_NUMBER = 0xffffffff;
/** regedit wraps a hex value once the line (with the comma just written) reaches this many characters. */
const HEX_WRAP_COLUMN = 77;
/** What regedit puts between two lines of a wrapped hex value. */
const HEX_CONTINUATION = '\\\r\n  ';

/** Options of the writer. */
export interface RegWriteOptions {
  /** ANSI code page of a REGEDIT4 file (setting `AnsiCodePage`); default 1252. */
  ansiCodePage?: number;
}

/**
 * Where {@link RegEncoder.operationInto} lays out a key block. `claim(size)` reserves `size` bytes and returns the
 * offset in {@link RegByteTarget.buffer} (read after the call: the target may switch buffers) where the encoder
 * writes exactly `size` bytes before claiming again.
 */
export interface RegByteTarget {
  buffer: Buffer;
  claim(size: number): number;
}

/**
 * Encodes a `.reg` file piece by piece: {@link RegEncoder.header} first, then {@link RegEncoder.operation} per
 * operation; concatenated, the pieces are the file.
 */
export class RegEncoder {
  private readonly page: AnsiCodePage;
  /** `"name"=` of the value names written so far (a registry export repeats the same few in key after key). */
  private readonly prefixes = new NamePrefixes();

  /** @throws RegistryError (code `REG_CODE_PAGE`) for an unsupported code page. */
  constructor(
    readonly format: RegFormat,
    options: RegWriteOptions = {},
  ) {
    this.page = ansiCodePage(options.ansiCodePage);
  }

  /** The byte-order mark (REGEDIT5), the header line and a blank line. */
  header(): Buffer {
    const text = `${this.format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER}\r\n\r\n`;
    return this.format === 'REGEDIT5' ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]) : Buffer.from(text, 'latin1');
  }

  /** One key block and the blank line after it. @throws RegistryError (code `REG_UNWRITABLE`) as {@link writeReg}. */
  operation(operation: RegOperation): Buffer {
    const pieces = this.pieces(operation);
    if (this.format !== 'REGEDIT5') return this.ansiBytes(pieces);
    const out = Buffer.allocUnsafe(utf16Size(pieces));
    layOutUtf16(pieces, out, 0);
    return out;
  }

  /**
   * One key block and the blank line after it, laid out straight into `target` (no buffer of its own: the bulk of
   * a large export is encoded in place in the target's reused buffer). Nothing is claimed when the operation
   * cannot be written.
   * @throws RegistryError (code `REG_UNWRITABLE`) as {@link writeReg}.
   */
  operationInto(operation: RegOperation, target: RegByteTarget): void {
    const pieces = this.pieces(operation);
    if (this.format !== 'REGEDIT5') {
      const bytes = this.ansiBytes(pieces);
      const at = target.claim(bytes.length);
      bytes.copy(target.buffer, at);
      return;
    }
    const at = target.claim(utf16Size(pieces));
    layOutUtf16(pieces, target.buffer, at); // the buffer read after the claim: the claim may switch it
  }

  private pieces(operation: RegOperation): Piece[] {
    const pieces: Piece[] = [];
    formatOperation(operation, this.format, this.page, pieces, this.prefixes);
    return pieces;
  }

  private ansiBytes(pieces: readonly Piece[]): Buffer {
    return Buffer.concat(pieces.map((piece) => (typeof piece === 'string' ? this.encode(piece) : hexBytes(piece, 1))));
  }

  /** Text of the file in its encoding (no BOM). @throws RegistryError (`REG_UNWRITABLE`) for text REGEDIT4 cannot hold. */
  encode(text: string): Buffer {
    if (this.format === 'REGEDIT5') return Buffer.from(text, 'utf16le');
    const bytes = this.page.encode(text);
    if (bytes === undefined) unwritable(`text has characters REGEDIT4 (code page ${this.page.number}) cannot hold`, { key: text.slice(0, 80) });
    return bytes;
  }
}

/**
 * Writes a whole `.reg` file into memory (see the module comment).
 * @throws RegistryError (code `REG_UNWRITABLE`) when something cannot be represented: a key, value name or
 *   string with a character the REGEDIT4 code page cannot hold, a CR, LF or NUL in a key or value name, a key
 *   that would read back differently (`[-…` or `] ;` inside), a REG_MULTI_SZ string containing NUL, a REG_DWORD
 *   outside 0…4294967295, a REG_QWORD that is not a decimal 0…2^64−1, hex data that is not whole bytes, a
 *   `REG_HEX_<N>` whose N is not a type number; (code `REG_CODE_PAGE`) for an unsupported code page.
 */
export function writeReg(file: RegFile, options: RegWriteOptions = {}): Buffer {
  const encoder = new RegEncoder(file.format, options);
  return Buffer.concat([encoder.header(), ...file.operations.map((operation) => encoder.operation(operation))]);
}

/**
 * The text {@link writeReg} encodes (no BOM, CRLF line endings).
 * @throws RegistryError (code `REG_UNWRITABLE`) as {@link writeReg}.
 */
export function formatReg(file: RegFile, options: RegWriteOptions = {}): string {
  const page = ansiCodePage(options.ansiCodePage);
  const header = `${file.format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER}\r\n\r\n`;
  const pieces: Piece[] = [];
  for (const operation of file.operations) formatOperation(operation, file.format, page, pieces);
  return header + pieces.map((piece) => (typeof piece === 'string' ? piece : hexBytes(piece, 1).toString('latin1'))).join('');
}

/**
 * A piece of the text of a key block: text, or hex data laid out later straight into bytes (the bulk of a
 * registry export is hex data; building it as a JavaScript string and encoding that would cost several passes).
 */
type Piece = string | HexData;

/**
 * `hex:`/`hex(N):` and its bytes, starting at `column` of its line (after the `"name"=` prefix). The bytes are
 * `bytes`, or for a REGEDIT5 string the UTF-16LE code units of `utf16` (laid out from the string, without encoding
 * it into a buffer first).
 */
interface HexData {
  column: number;
  typeNumber: number;
  bytes: Buffer | undefined;
  utf16: string | undefined;
}

/** Number of bytes of `data`. */
function byteCount(data: HexData): number {
  return data.bytes !== undefined ? data.bytes.length : 2 * data.utf16!.length;
}

/** The bytes of `data` as a buffer (encoding `utf16` when that is the source). */
function bytesOf(data: HexData): Buffer {
  return data.bytes ?? Buffer.from(data.utf16!, 'utf16le');
}

/** Appends one key block, with the blank line after it, to `pieces`. */
function formatOperation(operation: RegOperation, format: RegFormat, page: AnsiCodePage, pieces: Piece[], prefixes = new NamePrefixes()): void {
  if (operation.key.trim() === '') unwritable('empty key name', { key: operation.key });
  checkText(operation.key, format, page, { key: operation.key }, 'key');
  if (operation.op === 'deleteKey') {
    pieces.push(`[-${operation.key}]\r\n\r\n`);
    return;
  }
  if (operation.key.startsWith('-')) unwritable('a key starting with "-" reads back as a key deletion', { key: operation.key });
  if (/\]\s*;/.test(operation.key)) unwritable('a key containing "] ;" reads back as a key and a comment', { key: operation.key });
  let text = `[${operation.key}]\r\n`;
  for (const value of operation.values) {
    const line = formatValue(value, format, page, operation.key, prefixes);
    if (typeof line === 'string') text += `${line}\r\n`;
    else {
      pieces.push(text + line[0], line[1]);
      text = '\r\n';
    }
  }
  pieces.push(`${text}\r\n`);
}

function unwritable(message: string, context: Record<string, unknown>): never {
  const where = context.name !== undefined ? ` (value "${String(context.name)}" of ${String(context.key)})` : ` (${String(context.key)})`;
  throw new RegistryError('REG_UNWRITABLE', `cannot write .reg file: ${message}${where}`, { context });
}

/**
 * `"name"=` (or `@=`) of value names, checked ({@link checkText}) and escaped once per name: names that pass are
 * kept (up to 4096, then the cache starts again: memory stays bounded), so the check and the escaping are not
 * repeated for every key that has a value of that name. One cache per format and code page (an encoder's).
 */
class NamePrefixes {
  private readonly known = new Map<string, string>();

  /** @throws RegistryError (code `REG_UNWRITABLE`) as {@link checkText}, for a name it has not accepted before. */
  prefix(name: string, format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>): string {
    let prefix = this.known.get(name);
    if (prefix === undefined) {
      checkText(name, format, page, context, 'value name');
      prefix = name === '' ? '@=' : `"${escapeQuoted(name)}"=`;
      if (this.known.size >= 4096) this.known.clear();
      this.known.set(name, prefix);
    }
    return prefix;
  }
}

/** Checks a key or value name: no CR/LF/NUL, and only characters of the code page in REGEDIT4. */
function checkText(text: string, format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>, what: string): void {
  if (/[\r\n\0]/.test(text)) unwritable(`${what} contains a CR, LF or NUL character`, context);
  if (format === 'REGEDIT4' && page.encode(text) === undefined) unwritable(`${what} has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
}

/** `\` and `"` escaped with a backslash (native string searches: no regular expression per string). */
function escapeQuoted(text: string): string {
  const backslash = text.indexOf('\\') !== -1;
  if (!backslash && text.indexOf('"') === -1) return text;
  const escaped = backslash ? text.replaceAll('\\', '\\\\') : text;
  return escaped.indexOf('"') === -1 ? escaped : escaped.replaceAll('"', '\\"');
}

/** A value line's `"name"=` prefix and its hex data (`bytes`, or the UTF-16 code units of a string). */
function hexValue(prefix: string, typeNumber: number, bytes: Buffer | string): [string, HexData] {
  return typeof bytes === 'string'
    ? [prefix, { column: prefix.length, typeNumber, bytes: undefined, utf16: bytes }]
    : [prefix, { column: prefix.length, typeNumber, bytes, utf16: undefined }];
}

/** One value line without its line break: text, or the `"name"=` prefix and the hex data that follows it. */
function formatValue(value: RegValue | RegValueDeletion, format: RegFormat, page: AnsiCodePage, key: string, prefixes: NamePrefixes): string | [string, HexData] {
  const context = { key, name: value.name };
  const prefix = prefixes.prefix(value.name, format, page, context);
  if ('op' in value) return `${prefix}-`;
  switch (value.type) {
    case 'REG_SZ':
      if (/[\r\n\0]/.test(value.data)) return hexValue(prefix, REG_TYPE_NUMBERS.REG_SZ, encodeTerminatedString(value.data, format, page, context));
      if (format === 'REGEDIT4' && page.encode(value.data) === undefined) unwritable(`string has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
      return `${prefix}"${escapeQuoted(value.data)}"`;
    case 'REG_EXPAND_SZ':
      return hexValue(prefix, REG_TYPE_NUMBERS.REG_EXPAND_SZ, encodeTerminatedString(value.data, format, page, context));
    case 'REG_MULTI_SZ':
      return hexValue(prefix, REG_TYPE_NUMBERS.REG_MULTI_SZ, encodeMultiString(value.data, format, page, context));
    case 'REG_DWORD':
      if (!Number.isInteger(value.data) || value.data < 0 || value.data > 0xffffffff) {
        unwritable(`REG_DWORD ${String(value.data)} is not an integer 0…4294967295`, context);
      }
      return `${prefix}dword:${value.data.toString(16).padStart(8, '0')}`;
    case 'REG_QWORD': {
      const qword = /^\d+$/.test(value.data) ? BigInt(value.data) : -1n;
      if (qword < 0n || qword > 0xffffffffffffffffn) unwritable(`REG_QWORD "${value.data}" is not a decimal 0…2^64-1`, context);
      const bytes = Buffer.alloc(8);
      bytes.writeBigUInt64LE(qword);
      return hexValue(prefix, REG_TYPE_NUMBERS.REG_QWORD, bytes);
    }
    default: {
      const typeNumber = typeNumberOf(value.type, context);
      // Node's hex decoder stops at the first pair that is not two hex digits: whole bytes of hex decode entirely.
      const bytes = typeof value.data === 'string' ? Buffer.from(value.data, 'hex') : undefined;
      if (bytes === undefined || 2 * bytes.length !== value.data.length) unwritable(`${value.type} data is not whole bytes of hex`, context);
      return hexValue(prefix, typeNumber, bytes);
    }
  }
}

/** The registry type number of a raw type name (`REG_BINARY` → 3, `REG_HEX_256` → 256). */
function typeNumberOf(type: string, context: Record<string, unknown>): number {
  if (Object.hasOwn(REG_TYPE_NUMBERS, type)) return REG_TYPE_NUMBERS[type as keyof typeof REG_TYPE_NUMBERS];
  const match = /^REG_HEX_(0|[1-9]\d{0,9})$/.exec(type);
  const typeNumber = match ? Number(match[1]) : NaN;
  if (!(typeNumber <= MAX_TYPE_NUMBER)) unwritable(`unknown value type "${type}"`, context);
  return typeNumber;
}

/** The bytes of `text` and its NUL: REGEDIT5, the string itself (its UTF-16LE code units); REGEDIT4, ANSI bytes. */
function encodeTerminatedString(text: string, format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>): Buffer | string {
  if (format === 'REGEDIT5') return `${text}\0`;
  const bytes = page.encode(`${text}\0`);
  if (bytes === undefined) unwritable(`string has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
  return bytes;
}

function encodeMultiString(strings: string[], format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>): Buffer | string {
  if (strings.some((s) => s.includes('\0'))) unwritable('a REG_MULTI_SZ string contains a NUL character', context);
  const body = strings.length === 0 ? '' : `${strings.join('\0')}\0`;
  return encodeTerminatedString(body, format, page, context);
}

/** ASCII codes of the lowercase hex digits. */
const HEX_DIGIT_CODES = Buffer.from('0123456789abcdef', 'latin1');

/** Bytes of `pieces` as UTF-16LE (REGEDIT5). */
function utf16Size(pieces: readonly Piece[]): number {
  let size = 0;
  for (const piece of pieces) size += typeof piece === 'string' ? 2 * piece.length : 2 * hexLength(piece);
  return size;
}

/** Lays out `pieces` as UTF-16LE bytes (REGEDIT5) into `out` from byte `start` ({@link utf16Size} bytes). */
function layOutUtf16(pieces: readonly Piece[], out: Buffer, start: number): void {
  // Hex data is most of a registry export: laid out as UTF-16 code units, two bytes of data (six characters) per
  // three 32-bit stores where the position allows it.
  const aligned = (out.byteOffset + start) % 2 === 0;
  const view = aligned ? unitViews(out, start) : undefined;
  let at = start;
  for (const piece of pieces) {
    if (typeof piece === 'string') at += out.write(piece, at, 'utf16le');
    else at = view ? start + 2 * layOutHexUnits(piece, view, (at - start) / 2) : layOutHex(piece, out, at, 2);
  }
}

/**
 * `out` from byte `start` (even) as 16-bit code units, and as 32-bit words covering units `phase + 2k` and
 * `phase + 2k + 1` (word `k`), `phase` (0 or 1) being the first unit on a 4-byte boundary. No words on a
 * big-endian machine (a word's first unit would be its high half there): only 16-bit stores are used then.
 */
interface UnitViews {
  units: Uint16Array;
  words: Uint32Array | undefined;
  phase: number;
}

function unitViews(out: Buffer, start: number): UnitViews {
  const offset = out.byteOffset + start;
  const units = new Uint16Array(out.buffer, offset, (out.length - start) >> 1);
  const phase = (offset >> 1) & 1;
  const wordCount = (units.length - phase) >> 1;
  const words = LITTLE_ENDIAN && wordCount > 0 ? new Uint32Array(out.buffer, offset + 2 * phase, wordCount) : undefined;
  return { units, words, phase };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * {@link layOutHex} into UTF-16 code units from index `at`; returns the index after it. Line by line: the bytes
 * of a line as digit pairs and commas, then the continuation (no test per byte for the end of a line). Within a
 * line, two bytes (`h1 l1 , h2 l2 ,`) are three 32-bit stores once the position is on a 4-byte boundary (at most
 * one byte per line is laid out unit by unit to get there). A REGEDIT5 string is first encoded to its UTF-16LE
 * bytes in a scratch buffer (one native call).
 */
function layOutHexUnits(data: HexData, view: UnitViews, at: number): number {
  const { units, words, phase } = view;
  const label = hexLabel(data.typeNumber);
  for (let i = 0; i < label.length; i++) units[at++] = label.charCodeAt(i);
  const count = byteCount(data);
  if (count === 0) return at;
  const bytes = data.bytes ?? utf16Scratch(data.utf16!);
  let lineBytes = firstLineBytes(data.column, label);
  for (let i = 0; ; ) {
    const end = Math.min(count, i + lineBytes);
    if (words !== undefined) {
      if (((at - phase) & 1) !== 0 && i < end) {
        const byte = bytes[i++];
        units[at] = HEX_HIGH_DIGIT[byte];
        units[at + 1] = HEX_LOW_DIGIT[byte];
        units[at + 2] = 0x2c; // ,
        at += 3;
      }
      for (let w = (at - phase) >> 1; i + 1 < end; i += 2, w += 3, at += 6) {
        const second = bytes[i + 1];
        words[w] = HEX_PAIR_WORD[bytes[i]];
        words[w + 1] = HEX_COMMA_HIGH_WORD[second];
        words[w + 2] = HEX_LOW_COMMA_WORD[second];
      }
    }
    for (; i < end; i++, at += 3) {
      const byte = bytes[i];
      units[at] = HEX_HIGH_DIGIT[byte];
      units[at + 1] = HEX_LOW_DIGIT[byte];
      units[at + 2] = 0x2c; // ,
    }
    if (i === count) return at - 1; // no comma after the last byte
    for (let c = 0; c < HEX_CONTINUATION.length; c++) units[at++] = HEX_CONTINUATION.charCodeAt(c);
    lineBytes = HEX_BYTES_PER_CONTINUATION_LINE;
  }
}

/** A buffer reused for the UTF-16LE bytes of REGEDIT5 strings written as hex (up to {@link MAX_SCRATCH_BYTES}). */
let scratch = Buffer.allocUnsafeSlow(4096);
const MAX_SCRATCH_BYTES = 64 * 1024;

/** The UTF-16LE bytes of `text` (a view of the scratch buffer, valid until the next call, or a buffer of their own). */
function utf16Scratch(text: string): Buffer {
  const size = 2 * text.length;
  if (size > scratch.length) {
    if (size > MAX_SCRATCH_BYTES) return Buffer.from(text, 'utf16le');
    scratch = Buffer.allocUnsafeSlow(Math.min(MAX_SCRATCH_BYTES, Math.max(size, 2 * scratch.length)));
  }
  scratch.write(text, 0, 'utf16le');
  return scratch.subarray(0, size);
}

/** UTF-16 code (ASCII) of the high / low hex digit of each byte value. */
const HEX_HIGH_DIGIT = Uint16Array.from({ length: 256 }, (_, byte) => HEX_DIGIT_CODES[byte >> 4]);
const HEX_LOW_DIGIT = Uint16Array.from({ length: 256 }, (_, byte) => HEX_DIGIT_CODES[byte & 15]);
/** 32-bit words (little-endian: first unit in the low half) of two units: `high low`, `, high` and `low ,`. */
const HEX_PAIR_WORD = Uint32Array.from({ length: 256 }, (_, byte) => (HEX_HIGH_DIGIT[byte] | (HEX_LOW_DIGIT[byte] << 16)) >>> 0);
const HEX_COMMA_HIGH_WORD = Uint32Array.from({ length: 256 }, (_, byte) => (0x2c | (HEX_HIGH_DIGIT[byte] << 16)) >>> 0);
const HEX_LOW_COMMA_WORD = Uint32Array.from({ length: 256 }, (_, byte) => (HEX_LOW_DIGIT[byte] | (0x2c << 16)) >>> 0);

/** `hex:`/`hex(N):` of a type number (the labels of the standard types made once). */
function hexLabel(typeNumber: number): string {
  return typeNumber < HEX_LABELS.length ? HEX_LABELS[typeNumber] : `hex(${typeNumber.toString(16)}):`;
}

const HEX_LABELS = Array.from({ length: 12 }, (_, n) => (n === REG_TYPE_NUMBERS.REG_BINARY ? 'hex:' : `hex(${n.toString(16)}):`));

/** Bytes on each continuation line (indented by two): `ceil((77 - 2) / 3)`, 25. */
const HEX_BYTES_PER_CONTINUATION_LINE = Math.ceil((HEX_WRAP_COLUMN - 2) / 3);

/** Bytes on the first line of hex data whose label starts at `column`: `max(1, ceil((77 - column - label) / 3))`. */
function firstLineBytes(column: number, label: string): number {
  return Math.max(1, Math.ceil((HEX_WRAP_COLUMN - column - label.length) / 3));
}

/** Line breaks of wrapped hex data. */
function hexBreaks(data: HexData, label: string): number {
  const first = firstLineBytes(data.column, label);
  const count = byteCount(data);
  return count > first ? Math.ceil((count - first) / HEX_BYTES_PER_CONTINUATION_LINE) : 0;
}

/** Characters of the hex data's text: the label, two digits per byte, a comma between bytes, the line breaks. */
function hexLength(data: HexData): number {
  const label = hexLabel(data.typeNumber);
  const count = byteCount(data);
  return count === 0 ? label.length : label.length + 3 * count - 1 + HEX_CONTINUATION.length * hexBreaks(data, label);
}

/** The hex data's text as ASCII (`width` 1) or UTF-16LE (`width` 2) bytes. */
function hexBytes(data: HexData, width: 1 | 2): Buffer {
  const out = Buffer.alloc(width * hexLength(data));
  layOutHex(data, out, 0, width);
  return out;
}

/**
 * Writes `hex:`/`hex(N):` and the bytes, wrapped as regedit wraps them, into `out` at `at`, each character
 * `width` bytes (1: ASCII; 2: UTF-16LE, the high bytes being 0). Returns the index after it. A line is broken
 * after the comma that brings it to {@link HEX_WRAP_COLUMN} characters, so the first line holds
 * `max(1, ceil((77 - start) / 3))` bytes (`start`: the column after the label) and each continuation line
 * (indented by two) 25. Byte by byte into the buffer: linear with a small constant, no intermediate strings.
 */
function layOutHex(data: HexData, out: Buffer, at: number, width: 1 | 2): number {
  const label = hexLabel(data.typeNumber);
  // Each character: its high byte first (UTF-16LE: 0; ASCII: the same byte, overwritten next), then its code.
  const high = width - 1;
  for (let i = 0; i < label.length; i++, at += width) {
    out[at + high] = 0;
    out[at] = label.charCodeAt(i);
  }
  const bytes = bytesOf(data);
  const count = bytes.length;
  let left = firstLineBytes(data.column, label);
  for (let i = 0; i < count; i++) {
    const byte = bytes[i];
    out[at + high] = 0;
    out[at] = HEX_DIGIT_CODES[byte >> 4];
    out[at + width + high] = 0;
    out[at + width] = HEX_DIGIT_CODES[byte & 15];
    at += 2 * width;
    if (i === count - 1) break;
    out[at + high] = 0;
    out[at] = 0x2c; // ,
    at += width;
    if (--left === 0) {
      for (let c = 0; c < HEX_CONTINUATION.length; c++, at += width) {
        out[at + high] = 0;
        out[at] = HEX_CONTINUATION.charCodeAt(c);
      }
      left = HEX_BYTES_PER_CONTINUATION_LINE;
    }
  }
  return at;
}
