/**
 * The `.reg` writer: produces what regedit writes. REGEDIT5 as a UTF-16LE BOM plus UTF-16LE text, REGEDIT4 as
 * ANSI text in the `AnsiCodePage` (Windows-1252 by default); CRLF line endings; the header line, a blank line,
 * then each key block (`[KEY]` and its value lines, or `[-KEY]`) followed by a blank line. Hex values wrap like
 * regedit: a line is broken (`,\` then a new line indented by two spaces) as soon as it reaches 77 characters
 * including the comma just written, so a hex line is at most 80 characters unless its `"name"=hex(N):` prefix
 * alone is longer than 76 (strings are never wrapped, as in regedit).
 *
 * Operations are encoded one at a time ({@link RegEncoder}), so a file of any size is written with memory
 * bounded by its largest key block ({@link writeRegFile} streams to disk).
 *
 * Writing is the inverse of reading: `parseReg(writeReg(f))` deep-equals `f` for every `f` that parseReg can
 * return, and `writeReg(parseReg(writeReg(f)))` is byte-identical to `writeReg(f)`.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
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
 * Encodes a `.reg` file piece by piece: {@link RegEncoder.header} first, then {@link RegEncoder.operation} per
 * operation; concatenated, the pieces are the file.
 */
export class RegEncoder {
  private readonly page: AnsiCodePage;

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
    return this.encode(formatOperation(operation, this.format, this.page));
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
 * Streams a `.reg` file to `path` (created or replaced, not atomically: callers that need atomicity write to a
 * temporary name and rename), one operation at a time, waiting for the disk when its buffer is full.
 * @returns the number of bytes written.
 * @throws RegistryError (`REG_UNWRITABLE`) as {@link writeReg}; the file system's error when it cannot be written.
 */
export async function writeRegFile(
  path: string,
  format: RegFormat,
  operations: AsyncIterable<RegOperation> | Iterable<RegOperation>,
  options: RegWriteOptions = {},
): Promise<number> {
  const encoder = new RegEncoder(format, options);
  const out = createWriteStream(path);
  const failed = once(out, 'error').then(([error]) => Promise.reject(error as Error));
  failed.catch(() => undefined);
  let bytes = 0;
  const write = async (chunk: Buffer) => {
    bytes += chunk.length;
    if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
  };
  try {
    await write(encoder.header());
    for await (const operation of operations) await write(encoder.operation(operation));
    out.end();
    await Promise.race([once(out, 'finish'), failed]);
  } catch (error) {
    out.destroy();
    throw error;
  }
  return bytes;
}

/**
 * The text {@link writeReg} encodes (no BOM, CRLF line endings).
 * @throws RegistryError (code `REG_UNWRITABLE`) as {@link writeReg}.
 */
export function formatReg(file: RegFile, options: RegWriteOptions = {}): string {
  const page = ansiCodePage(options.ansiCodePage);
  const header = `${file.format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER}\r\n\r\n`;
  return header + file.operations.map((operation) => formatOperation(operation, file.format, page)).join('');
}

/** One key block as text, with the blank line after it. */
function formatOperation(operation: RegOperation, format: RegFormat, page: AnsiCodePage): string {
  if (operation.key.trim() === '') unwritable('empty key name', { key: operation.key });
  checkText(operation.key, format, page, { key: operation.key }, 'key');
  if (operation.op === 'deleteKey') return `[-${operation.key}]\r\n\r\n`;
  if (operation.key.startsWith('-')) unwritable('a key starting with "-" reads back as a key deletion', { key: operation.key });
  if (/\]\s*;/.test(operation.key)) unwritable('a key containing "] ;" reads back as a key and a comment', { key: operation.key });
  let out = `[${operation.key}]\r\n`;
  for (const value of operation.values) out += `${formatValue(value, format, page, operation.key)}\r\n`;
  return `${out}\r\n`;
}

function unwritable(message: string, context: Record<string, unknown>): never {
  const where = context.name !== undefined ? ` (value "${String(context.name)}" of ${String(context.key)})` : ` (${String(context.key)})`;
  throw new RegistryError('REG_UNWRITABLE', `cannot write .reg file: ${message}${where}`, { context });
}

/** Checks a key or value name: no CR/LF/NUL, and only characters of the code page in REGEDIT4. */
function checkText(text: string, format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>, what: string): void {
  if (/[\r\n\0]/.test(text)) unwritable(`${what} contains a CR, LF or NUL character`, context);
  if (format === 'REGEDIT4' && page.encode(text) === undefined) unwritable(`${what} has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
}

function escapeQuoted(text: string): string {
  return text.replace(/[\\"]/g, (c) => `\\${c}`);
}

function formatValue(value: RegValue | RegValueDeletion, format: RegFormat, page: AnsiCodePage, key: string): string {
  const context = { key, name: value.name };
  checkText(value.name, format, page, context, 'value name');
  const prefix = value.name === '' ? '@=' : `"${escapeQuoted(value.name)}"=`;
  if ('op' in value) return `${prefix}-`;
  const hexValue = (typeNumber: number, bytes: Buffer): string => prefix + formatHexData(prefix.length, typeNumber, bytes);
  switch (value.type) {
    case 'REG_SZ':
      if (/[\r\n\0]/.test(value.data)) return hexValue(REG_TYPE_NUMBERS.REG_SZ, encodeTerminatedString(value.data, format, page, context));
      if (format === 'REGEDIT4' && page.encode(value.data) === undefined) unwritable(`string has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
      return `${prefix}"${escapeQuoted(value.data)}"`;
    case 'REG_EXPAND_SZ':
      return hexValue(REG_TYPE_NUMBERS.REG_EXPAND_SZ, encodeTerminatedString(value.data, format, page, context));
    case 'REG_MULTI_SZ':
      return hexValue(REG_TYPE_NUMBERS.REG_MULTI_SZ, encodeMultiString(value.data, format, page, context));
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
      return hexValue(REG_TYPE_NUMBERS.REG_QWORD, bytes);
    }
    default: {
      const typeNumber = typeNumberOf(value.type, context);
      if (typeof value.data !== 'string' || value.data.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(value.data)) {
        unwritable(`${value.type} data is not whole bytes of hex`, context);
      }
      return hexValue(typeNumber, Buffer.from(value.data, 'hex'));
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

function encodeTerminatedString(text: string, format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>): Buffer {
  if (format === 'REGEDIT5') return Buffer.from(`${text}\0`, 'utf16le');
  const bytes = page.encode(`${text}\0`);
  if (bytes === undefined) unwritable(`string has characters REGEDIT4 (code page ${page.number}) cannot hold`, context);
  return bytes;
}

function encodeMultiString(strings: string[], format: RegFormat, page: AnsiCodePage, context: Record<string, unknown>): Buffer {
  if (strings.some((s) => s.includes('\0'))) unwritable('a REG_MULTI_SZ string contains a NUL character', context);
  const body = strings.length === 0 ? '' : `${strings.join('\0')}\0`;
  return encodeTerminatedString(body, format, page, context);
}

/**
 * `hex:`/`hex(N):` and the bytes, wrapped as regedit wraps them. `column` is the length of the line so far
 * (the `"name"=` prefix). A line is broken after the comma that brings it to {@link HEX_WRAP_COLUMN} characters,
 * so the first line holds `max(1, ceil((77 - start) / 3))` bytes and each continuation line (indented by two) 25;
 * the lines are cut from the native hex string, so the cost is linear with a small constant.
 */
function formatHexData(column: number, typeNumber: number, bytes: Buffer): string {
  const label = typeNumber === REG_TYPE_NUMBERS.REG_BINARY ? 'hex:' : `hex(${typeNumber.toString(16)}):`;
  if (bytes.length === 0) return label;
  const hex = bytes.toString('hex');
  const first = Math.max(1, Math.ceil((HEX_WRAP_COLUMN - column - label.length) / 3));
  const perLine = Math.ceil((HEX_WRAP_COLUMN - 2) / 3);
  const lines: string[] = [];
  for (let start = 0, count = first; start < bytes.length; start += count, count = perLine) {
    lines.push(hex.slice(2 * start, 2 * Math.min(bytes.length, start + count)).replace(/(..)(?!$)/g, '$1,'));
  }
  return label + lines.join(`,${HEX_CONTINUATION}`);
}
