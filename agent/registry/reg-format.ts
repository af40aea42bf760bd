/**
 * The `.reg` file format: a faithful reader ({@link parseReg}) and a writer that produces what regedit writes
 * ({@link writeReg}), plus the key-path helpers both registry stores share (case-insensitive matching and
 * regedit's key order).
 *
 * Reader:
 * - headers `Windows Registry Editor Version 5.00` (REGEDIT5) and `REGEDIT4`;
 * - text encoding detected from the first bytes: UTF-16LE/BE with or without BOM, UTF-8 with or without BOM
 *   (a REGEDIT4 file without BOM is ANSI, read as latin1);
 * - CRLF or LF line endings; blank lines anywhere; `;` comments on their own line or after a key or value
 *   (never inside a quoted string);
 * - `[KEY]` (set key), `[-KEY]` (delete key with subkeys), `"Name"=-` / `@=-` (delete value), `@` for the
 *   default value, quoted strings with `\\` and `\"` escapes (any other backslash is kept literally, as regedit
 *   does), `dword:`, `hex:`, `hex(N):` for every N, hex data continued over lines ending in `\`.
 * - Value lines after a `[-KEY]` line are ignored, as regedit ignores them.
 * - Malformed input throws {@link RegistryFormatError} whose message starts with `line <n>, column <c>: ` and
 *   whose `context.line` and `context.column` are those 1-based numbers; the column points at the offending
 *   character (the opening quote of an unterminated string, the bad hex byte, the header, the place where `=`
 *   was expected, …) and counts characters of the decoded line (a BOM is not counted).
 *
 * How the data is represented is documented on {@link RegValue}.
 */
import { RegistryError, RegistryFormatError } from '#core/errors';
import type { RegFile, RegFormat, RegOperation, RegRawType, RegSetKey, RegValue, RegValueDeletion } from './types';

/** The first line of a REGEDIT5 file. */
export const REGEDIT5_HEADER = 'Windows Registry Editor Version 5.00';
/** The first line of a REGEDIT4 file. */
export const REGEDIT4_HEADER = 'REGEDIT4';

/** How the text of a `.reg` file was encoded, as detected by {@link decodeRegText}. */
export type RegEncoding =
  | 'UTF-16LE with BOM'
  | 'UTF-16LE'
  | 'UTF-16BE with BOM'
  | 'UTF-16BE'
  | 'UTF-8 with BOM'
  | 'UTF-8'
  | 'latin1';

/** Registry type numbers (`hex(N)`) of the named types. */
export const REG_TYPE_NUMBERS = {
  REG_NONE: 0,
  REG_SZ: 1,
  REG_EXPAND_SZ: 2,
  REG_BINARY: 3,
  REG_DWORD: 4,
  REG_DWORD_BIG_ENDIAN: 5,
  REG_LINK: 6,
  REG_MULTI_SZ: 7,
  REG_RESOURCE_LIST: 8,
  REG_FULL_RESOURCE_DESCRIPTOR: 9,
  REG_RESOURCE_REQUIREMENTS_LIST: 10,
  REG_QWORD: 11,
} as const;

const RAW_TYPES_BY_NUMBER: Record<number, RegRawType> = {
  0: 'REG_NONE',
  3: 'REG_BINARY',
  5: 'REG_DWORD_BIG_ENDIAN',
  6: 'REG_LINK',
  8: 'REG_RESOURCE_LIST',
  9: 'REG_FULL_RESOURCE_DESCRIPTOR',
  10: 'REG_RESOURCE_REQUIREMENTS_LIST',
};

/** Largest registry type number (a DWORD). */
const MAX_TYPE_NUMBER = 0xffffffff;
/** regedit wraps a hex value once the line (with the comma just written) reaches this many characters. */
const HEX_WRAP_COLUMN = 77;
/** What regedit puts between two lines of a wrapped hex value. */
const HEX_CONTINUATION = '\\\r\n  ';

// ---------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------

/**
 * Decodes the bytes of a `.reg` file into text, detecting the encoding from the byte-order mark or, without
 * one, from the first bytes: a NUL in the second byte means UTF-16LE, in the first UTF-16BE; an 8-bit file
 * starting with `REGEDIT4` is ANSI, read as latin1 (as regedit reads it); any other 8-bit file is UTF-8 when
 * valid, else latin1. The BOM is not part of the returned text.
 * @throws RegistryFormatError when UTF-16 text has an odd number of bytes (a truncated file).
 */
export function decodeRegText(bytes: Buffer): { text: string; encoding: RegEncoding } {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if (b0 === 0xff && b1 === 0xfe) return { text: decodeUtf16(bytes.subarray(2), 'LE'), encoding: 'UTF-16LE with BOM' };
  if (b0 === 0xfe && b1 === 0xff) return { text: decodeUtf16(bytes.subarray(2), 'BE'), encoding: 'UTF-16BE with BOM' };
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) {
    return { text: bytes.subarray(3).toString('utf8'), encoding: 'UTF-8 with BOM' };
  }
  if (bytes.length >= 2 && b0 !== 0 && b1 === 0) return { text: decodeUtf16(bytes, 'LE'), encoding: 'UTF-16LE' };
  if (bytes.length >= 2 && b0 === 0 && b1 !== 0) return { text: decodeUtf16(bytes, 'BE'), encoding: 'UTF-16BE' };
  const latin1 = bytes.toString('latin1');
  // regedit reads a REGEDIT4 file as ANSI text; so do we (otherwise latin1 bytes that happen to form valid
  // UTF-8, like "Ã©", would be misread).
  if (latin1.trimStart().startsWith(REGEDIT4_HEADER)) return { text: latin1, encoding: 'latin1' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'UTF-8' };
  } catch {
    return { text: latin1, encoding: 'latin1' };
  }
}

function decodeUtf16(bytes: Buffer, order: 'LE' | 'BE'): string {
  if (bytes.length % 2 !== 0) {
    const partial = Buffer.from(bytes.subarray(0, bytes.length - 1));
    if (order === 'BE') partial.swap16();
    const lines = partial.toString('utf16le').replace(/^\uFEFF/, '').split('\n');
    const last = lines[lines.length - 1];
    throw formatError(lines.length, columnOf(last, last.length), 'truncated UTF-16 text (odd number of bytes)');
  }
  if (order === 'LE') return bytes.toString('utf16le');
  return Buffer.from(bytes).swap16().toString('utf16le');
}

/** 1-based column of `raw[index]`, counted in characters (a surrogate pair counts once). */
function columnOf(raw: string, index: number): number {
  return Array.from(raw.slice(0, index)).length + 1;
}

/** Index of the first non-blank character of `text` (its length when all blank). */
function firstNonBlank(text: string): number {
  return text.length - text.trimStart().length;
}

function formatError(line: number, column: number, message: string): RegistryFormatError {
  return new RegistryFormatError(`line ${line}, column ${column}: ${message}`, { context: { line, column } });
}

/** A format error pointing at `raw[index]` of line `lineNo` (1-based). */
function errorAt(lineNo: number, raw: string, index: number, message: string): RegistryFormatError {
  return formatError(lineNo, columnOf(raw, index), message);
}

// ---------------------------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------------------------

/**
 * Parses a `.reg` file (bytes as read from disk) into its operations, in file order.
 * @param bytes the whole file; encoding detected as in {@link decodeRegText}.
 * @returns the format named by the header and the operations.
 * @throws RegistryFormatError on any malformed line: message `line <n>, column <c>: <problem>`, `context.line`
 *   and `context.column` 1-based, the column pointing at the offending character. Nothing is returned for a
 *   malformed file, so callers never apply part of one.
 */
export function parseReg(bytes: Buffer): RegFile {
  return parseRegText(decodeRegText(bytes).text);
}

/**
 * {@link parseReg}, plus the text encoding that was detected (for `registry parse`).
 * @returns `{ format, encoding, operations }`.
 * @throws RegistryFormatError as {@link parseReg}.
 */
export function parseRegWithEncoding(bytes: Buffer): RegFile & { encoding: RegEncoding } {
  const { text, encoding } = decodeRegText(bytes);
  const { format, operations } = parseRegText(text);
  return { format, encoding, operations };
}

/**
 * Parses the decoded text of a `.reg` file (see {@link parseReg}). A leading BOM character is ignored (and not
 * counted in columns).
 * @throws RegistryFormatError on any malformed line, as {@link parseReg}.
 */
export function parseRegText(text: string): RegFile {
  // Old exporters pad the end of a file with NULs or a Ctrl-Z.
  const lines = text.replace(/^\uFEFF/, '').replace(/[\0\x1a]+$/, '').split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop(); // the final line break ends a line
  let index = 0;
  while (index < lines.length && lines[index].trim() === '') index++;
  if (index >= lines.length) {
    throw formatError(1, 1, `missing header: expected "${REGEDIT5_HEADER}" or "${REGEDIT4_HEADER}"`);
  }
  const headerRaw = lines[index];
  const headerLine = headerRaw.trim();
  let format: RegFormat;
  if (headerLine === REGEDIT5_HEADER) format = 'REGEDIT5';
  else if (headerLine === REGEDIT4_HEADER) format = 'REGEDIT4';
  else {
    throw errorAt(
      index + 1,
      headerRaw,
      firstNonBlank(headerRaw),
      `unknown header "${snippet(headerLine)}": expected "${REGEDIT5_HEADER}" or "${REGEDIT4_HEADER}"`,
    );
  }

  const operations: RegOperation[] = [];
  /** The key values go to; `'deleted'` after `[-KEY]` (values ignored), `undefined` before the first key. */
  let current: RegSetKey | 'deleted' | undefined;
  for (index++; index < lines.length; index++) {
    const lineNo = index + 1;
    const raw = lines[index];
    const start = firstNonBlank(raw);
    const line = raw.slice(start);
    if (line === '' || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const { key, deletion } = parseKeyLine(raw, start, lineNo);
      if (deletion) {
        operations.push({ op: 'deleteKey', key });
        current = 'deleted';
      } else {
        current = { op: 'setKey', key, values: [] };
        operations.push(current);
      }
      continue;
    }
    if (line.startsWith('"') || line.startsWith('@')) {
      if (current === undefined) throw errorAt(lineNo, raw, start, 'value outside of a key (no [KEY] line before it)');
      const parsed = parseValueLine(lines, index, start, format);
      index = parsed.lastIndex;
      if (current !== 'deleted') current.values.push(parsed.value);
      continue;
    }
    throw errorAt(lineNo, raw, start, `unexpected text "${snippet(line)}"`);
  }
  return { format, operations };
}

/** A comment or nothing until the end of the line. */
const REST_OF_LINE_EMPTY = /^\s*(;[\s\S]*)?$/;

/** Reads `[KEY]` or `[-KEY]` from `raw`, whose `[` is at `start`. */
function parseKeyLine(raw: string, start: number, lineNo: number): { key: string; deletion: boolean } {
  const line = raw.slice(start);
  // The key ends at the first `]` followed only by blanks or a comment, so keys may contain `]`.
  let end = line.indexOf(']');
  while (end !== -1 && !REST_OF_LINE_EMPTY.test(line.slice(end + 1))) end = line.indexOf(']', end + 1);
  if (end === -1) {
    if (line.includes(']')) {
      const after = line.lastIndexOf(']') + 1;
      throw errorAt(lineNo, raw, start + after + firstNonBlank(line.slice(after)), `unexpected text after "]" in "${snippet(line)}"`);
    }
    throw errorAt(lineNo, raw, start + line.trimEnd().length, 'unterminated key: missing "]"');
  }
  const deletion = line[1] === '-';
  const nameStart = deletion ? 2 : 1;
  const key = line.slice(nameStart, end);
  if (key.trim() === '') throw errorAt(lineNo, raw, start + nameStart, 'empty key name');
  return { key, deletion };
}

/** A position in one raw line of the file. */
interface Cursor {
  line: string;
  pos: number;
}

/**
 * Reads a quoted string starting at `cursor.pos` (which holds `"`); `\\` and `\"` are escapes, any other
 * backslash is kept with the character after it. Leaves the cursor after the closing quote. An unterminated
 * string is reported at its opening quote.
 */
function readQuoted(cursor: Cursor, lineNo: number): string {
  const { line } = cursor;
  let out = '';
  for (let i = cursor.pos + 1; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') {
      cursor.pos = i + 1;
      return out;
    }
    if (ch === '\\') {
      if (i + 1 >= line.length) break;
      const next = line[i + 1];
      out += next === '\\' || next === '"' ? next : ch + next;
      i++;
      continue;
    }
    out += ch;
  }
  throw errorAt(lineNo, line, cursor.pos, 'unterminated string');
}

function skipBlanks(cursor: Cursor): void {
  while (cursor.pos < cursor.line.length && /\s/.test(cursor.line[cursor.pos])) cursor.pos++;
}

function expectEndOfLine(cursor: Cursor, lineNo: number, what: string): void {
  const rest = cursor.line.slice(cursor.pos);
  if (!REST_OF_LINE_EMPTY.test(rest)) {
    throw errorAt(lineNo, cursor.line, cursor.pos + firstNonBlank(rest), `unexpected text after ${what}: "${snippet(rest)}"`);
  }
}

/** Reads the value line `lines[index]` (its name starts at `start`), and the lines it continues onto. */
function parseValueLine(
  lines: string[],
  index: number,
  start: number,
  format: RegFormat,
): { value: RegValue | RegValueDeletion; lastIndex: number } {
  const lineNo = index + 1;
  const line = lines[index];
  const cursor: Cursor = { line, pos: start };
  let name: string;
  if (line[start] === '@') {
    name = '';
    cursor.pos = start + 1;
  } else {
    name = readQuoted(cursor, lineNo);
  }
  skipBlanks(cursor);
  if (line[cursor.pos] !== '=') throw errorAt(lineNo, line, cursor.pos, `expected "=" after the value name`);
  cursor.pos++;
  skipBlanks(cursor);
  const rest = line.slice(cursor.pos);

  if (rest.startsWith('-')) {
    cursor.pos++;
    expectEndOfLine(cursor, lineNo, 'the value deletion');
    return { value: { name, op: 'deleteValue' }, lastIndex: index };
  }
  if (rest.startsWith('"')) {
    const data = readQuoted(cursor, lineNo);
    expectEndOfLine(cursor, lineNo, 'the string');
    return { value: { name, type: 'REG_SZ', data }, lastIndex: index };
  }
  const dword = /^dword:/i.exec(rest);
  if (dword) {
    cursor.pos += dword[0].length;
    const digits = /^[0-9a-fA-F]*/.exec(line.slice(cursor.pos))![0];
    if (digits.length === 0 || digits.length > 8) {
      // Point at the first character that is not one of 1 to 8 hex digits.
      throw errorAt(
        lineNo,
        line,
        cursor.pos + Math.min(digits.length, 8),
        `invalid dword "${snippet(line.slice(cursor.pos))}": expected 1 to 8 hex digits`,
      );
    }
    cursor.pos += digits.length;
    expectEndOfLine(cursor, lineNo, 'the dword');
    return { value: { name, type: 'REG_DWORD', data: parseInt(digits, 16) }, lastIndex: index };
  }
  const hex = /^hex(?:\(([0-9a-fA-F]{1,8})\))?:/i.exec(rest);
  if (hex) {
    const typeNumber = hex[1] === undefined ? REG_TYPE_NUMBERS.REG_BINARY : parseInt(hex[1], 16);
    const { bytes, lastIndex } = readHexData(lines, index, cursor.pos + hex[0].length);
    return { value: decodeTypedValue(name, typeNumber, bytes, format), lastIndex };
  }
  throw errorAt(lineNo, line, cursor.pos, `unknown value type in "${snippet(rest)}": expected "…", dword:, hex: or hex(N):`);
}

/** One comma-separated piece of hex data and where it is (for error columns). */
interface HexToken {
  text: string;
  lineNo: number;
  raw: string;
  /** Index in `raw` of the token's first non-blank character (of the position where a byte was expected, if empty). */
  at: number;
  /** First or last piece of its line. */
  boundary: boolean;
}

/**
 * Reads comma-separated hex bytes from `lines[index]` at `from`, following lines that end in `\`. Comments
 * after the data are allowed.
 */
function readHexData(lines: string[], index: number, from: number): { bytes: Buffer; lastIndex: number } {
  const tokens: HexToken[] = [];
  let raw = lines[index];
  for (;;) {
    const lineNo = index + 1;
    const comment = raw.indexOf(';', from);
    let end = comment === -1 ? raw.length : comment;
    while (end > from && /\s/.test(raw[end - 1])) end--;
    const backslash = end - 1;
    const continued = end > from && raw[backslash] === '\\';
    if (continued) end = backslash;
    const pieces: Array<{ at: number; text: string }> = [];
    for (let i = from, pieceStart = from; i <= end; i++) {
      if (i === end || raw[i] === ',') {
        pieces.push({ at: pieceStart, text: raw.slice(pieceStart, i) });
        pieceStart = i + 1;
      }
    }
    pieces.forEach((piece, i) =>
      tokens.push({
        text: piece.text.trim(),
        lineNo,
        raw,
        at: piece.at + Math.min(firstNonBlank(piece.text), piece.text.length),
        boundary: i === 0 || i === pieces.length - 1,
      }),
    );
    if (!continued) break;
    index++;
    if (index >= lines.length) throw errorAt(lineNo, raw, backslash, 'unexpected end of file after "\\" (continued hex data)');
    if (lines[index].trim() === '') throw errorAt(lineNo, raw, backslash, 'blank line after "\\" (continued hex data)');
    raw = lines[index];
    from = 0;
  }
  const bytes: number[] = [];
  for (const token of tokens) {
    if (token.text === '') {
      // Empty at a line boundary: a trailing comma before "\" or at the end, or an empty value.
      if (token.boundary) continue;
      throw errorAt(token.lineNo, token.raw, token.at, 'empty hex byte (",,")');
    }
    if (!/^[0-9a-fA-F]{1,2}$/.test(token.text)) throw errorAt(token.lineNo, token.raw, token.at, `invalid hex byte "${snippet(token.text)}"`);
    bytes.push(parseInt(token.text, 16));
  }
  return { bytes: Buffer.from(bytes), lastIndex: index };
}

function decodeTypedValue(name: string, typeNumber: number, bytes: Buffer, format: RegFormat): RegValue {
  const hex = bytes.toString('hex');
  const raw = (): RegValue => ({ name, type: `REG_HEX_${typeNumber}`, data: hex });
  const named = RAW_TYPES_BY_NUMBER[typeNumber];
  if (named !== undefined) return { name, type: named, data: hex };
  switch (typeNumber) {
    case REG_TYPE_NUMBERS.REG_SZ:
    case REG_TYPE_NUMBERS.REG_EXPAND_SZ: {
      const data = decodeTerminatedString(bytes, format);
      if (data === undefined) return raw();
      return { name, type: typeNumber === REG_TYPE_NUMBERS.REG_SZ ? 'REG_SZ' : 'REG_EXPAND_SZ', data };
    }
    case REG_TYPE_NUMBERS.REG_MULTI_SZ: {
      const data = decodeMultiString(bytes, format);
      return data === undefined ? raw() : { name, type: 'REG_MULTI_SZ', data };
    }
    case REG_TYPE_NUMBERS.REG_DWORD:
      return bytes.length === 4 ? { name, type: 'REG_DWORD', data: bytes.readUInt32LE(0) } : raw();
    case REG_TYPE_NUMBERS.REG_QWORD:
      return bytes.length === 8 ? { name, type: 'REG_QWORD', data: bytes.readBigUInt64LE(0).toString() } : raw();
    default:
      return raw();
  }
}

/** Width in bytes of one character of a `hex(1)`/`hex(2)`/`hex(7)` string: UTF-16LE in REGEDIT5, one byte in REGEDIT4. */
function charWidth(format: RegFormat): 1 | 2 {
  return format === 'REGEDIT5' ? 2 : 1;
}

function decodeChars(bytes: Buffer, format: RegFormat): string {
  return bytes.toString(format === 'REGEDIT5' ? 'utf16le' : 'latin1');
}

/** The string before the final NUL, or `undefined` when the bytes do not end with one NUL character. */
function decodeTerminatedString(bytes: Buffer, format: RegFormat): string | undefined {
  const width = charWidth(format);
  if (bytes.length < width || bytes.length % width !== 0) return undefined;
  const text = decodeChars(bytes, format);
  return text.endsWith('\0') ? text.slice(0, -1) : undefined;
}

/**
 * `a\0b\0\0` → `['a', 'b']`; `\0` → `[]`. Anything else (no final double NUL) is `undefined`, so that
 * {@link encodeMultiString} gives back exactly the bytes read.
 */
function decodeMultiString(bytes: Buffer, format: RegFormat): string[] | undefined {
  const body = decodeTerminatedString(bytes, format);
  if (body === undefined) return undefined;
  if (body === '') return [];
  if (!body.endsWith('\0')) return undefined;
  return body.slice(0, -1).split('\0');
}

// ---------------------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------------------

/**
 * Writes a `.reg` file as regedit does: REGEDIT5 as a UTF-16LE BOM plus UTF-16LE text, REGEDIT4 as latin1
 * text; CRLF line endings; the header line, a blank line, then each key block (`[KEY]` and its value lines, or
 * `[-KEY]`) followed by a blank line. Hex values wrap like regedit: a line is broken (`,\` then a new line
 * indented by two spaces) as soon as it reaches 77 characters including the comma just written, so a hex line is
 * at most 80 characters unless its `"name"=hex(N):` prefix alone is longer than 76 (strings are never wrapped,
 * as in regedit).
 *
 * Writing is the inverse of {@link parseReg}: `parseReg(writeReg(f))` deep-equals `f` for every `f` that
 * parseReg can return, and `writeReg(parseReg(writeReg(f)))` is byte-identical to `writeReg(f)`.
 * @throws RegistryError (code `REG_UNWRITABLE`) when something cannot be represented: a key, value name or
 *   string with a character REGEDIT4 (latin1) cannot hold, a CR, LF or NUL in a key or value name, a key that
 *   would read back differently (`[-…` or `] ;` inside), a REG_MULTI_SZ string containing NUL, a REG_DWORD
 *   outside 0…4294967295, a REG_QWORD that is not a decimal 0…2^64−1, hex data that is not whole bytes, a
 *   `REG_HEX_<N>` whose N is not a type number.
 */
export function writeReg(file: RegFile): Buffer {
  const text = formatReg(file);
  if (file.format === 'REGEDIT4') return Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

/**
 * The text {@link writeReg} encodes (no BOM, CRLF line endings).
 * @throws RegistryError (code `REG_UNWRITABLE`) as {@link writeReg}.
 */
export function formatReg(file: RegFile): string {
  const { format } = file;
  const out: string[] = [format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER, ''];
  for (const operation of file.operations) {
    if (operation.key.trim() === '') unwritable('empty key name', { key: operation.key });
    checkText(operation.key, format, { key: operation.key }, 'key');
    if (operation.op === 'deleteKey') {
      out.push(`[-${operation.key}]`, '');
      continue;
    }
    if (operation.key.startsWith('-')) unwritable('a key starting with "-" reads back as a key deletion', { key: operation.key });
    if (/\]\s*;/.test(operation.key)) unwritable('a key containing "] ;" reads back as a key and a comment', { key: operation.key });
    out.push(`[${operation.key}]`);
    for (const value of operation.values) out.push(formatValue(value, format, operation.key));
    out.push('');
  }
  return out.join('\r\n') + '\r\n';
}

function unwritable(message: string, context: Record<string, unknown>): never {
  const where = context.name !== undefined ? ` (value "${String(context.name)}" of ${String(context.key)})` : ` (${String(context.key)})`;
  throw new RegistryError('REG_UNWRITABLE', `cannot write .reg file: ${message}${where}`, { context });
}

/** Checks a key or value name: no CR/LF/NUL, and latin1 only in REGEDIT4. */
function checkText(text: string, format: RegFormat, context: Record<string, unknown>, what: string): void {
  if (/[\r\n\0]/.test(text)) unwritable(`${what} contains a CR, LF or NUL character`, context);
  if (format === 'REGEDIT4' && !isLatin1(text)) unwritable(`${what} has characters REGEDIT4 (latin1) cannot hold`, context);
}

function isLatin1(text: string): boolean {
  return !/[^\u0000-\u00ff]/.test(text);
}

function escapeQuoted(text: string): string {
  return text.replace(/[\\"]/g, (c) => `\\${c}`);
}

function formatValue(value: RegValue | RegValueDeletion, format: RegFormat, key: string): string {
  const context = { key, name: value.name };
  checkText(value.name, format, context, 'value name');
  const prefix = value.name === '' ? '@=' : `"${escapeQuoted(value.name)}"=`;
  if ('op' in value) return `${prefix}-`;
  const hexValue = (typeNumber: number, bytes: Buffer): string => prefix + formatHexData(prefix.length, typeNumber, bytes);
  switch (value.type) {
    case 'REG_SZ':
      if (/[\r\n\0]/.test(value.data)) return hexValue(REG_TYPE_NUMBERS.REG_SZ, encodeTerminatedString(value.data, format, context));
      if (format === 'REGEDIT4' && !isLatin1(value.data)) unwritable('string has characters REGEDIT4 (latin1) cannot hold', context);
      return `${prefix}"${escapeQuoted(value.data)}"`;
    case 'REG_EXPAND_SZ':
      return hexValue(REG_TYPE_NUMBERS.REG_EXPAND_SZ, encodeTerminatedString(value.data, format, context));
    case 'REG_MULTI_SZ':
      return hexValue(REG_TYPE_NUMBERS.REG_MULTI_SZ, encodeMultiString(value.data, format, context));
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
      if (typeof value.data !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(value.data)) {
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

function encodeTerminatedString(text: string, format: RegFormat, context: Record<string, unknown>): Buffer {
  if (format === 'REGEDIT4') {
    if (!isLatin1(text)) unwritable('string has characters REGEDIT4 (latin1) cannot hold', context);
    return Buffer.from(`${text}\0`, 'latin1');
  }
  return Buffer.from(`${text}\0`, 'utf16le');
}

function encodeMultiString(strings: string[], format: RegFormat, context: Record<string, unknown>): Buffer {
  if (strings.some((s) => s.includes('\0'))) unwritable('a REG_MULTI_SZ string contains a NUL character', context);
  const body = strings.length === 0 ? '' : `${strings.join('\0')}\0`;
  return encodeTerminatedString(body, format, context);
}

/**
 * `hex:`/`hex(N):` and the bytes, wrapped as regedit wraps them. `column` is the length of the line so far
 * (the `"name"=` prefix).
 */
function formatHexData(column: number, typeNumber: number, bytes: Buffer): string {
  const label = typeNumber === REG_TYPE_NUMBERS.REG_BINARY ? 'hex:' : `hex(${typeNumber.toString(16)}):`;
  let out = label;
  let col = column + label.length;
  for (let i = 0; i < bytes.length; i++) {
    out += bytes[i].toString(16).padStart(2, '0');
    if (i === bytes.length - 1) break;
    out += ',';
    col += 3;
    if (col >= HEX_WRAP_COLUMN) {
      out += HEX_CONTINUATION;
      col = 2;
    }
  }
  return out;
}

/** Up to 40 characters of `text` for a one-line message (control characters shown as `\xNN`). */
function snippet(text: string): string {
  const trimmed = text.trim().replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed;
}

// ---------------------------------------------------------------------------------------------------------
// Key paths
// ---------------------------------------------------------------------------------------------------------

/** The predefined root keys and their abbreviations (as `reg.exe` accepts them). */
export const REGISTRY_ROOTS: Readonly<Record<string, string>> = {
  HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
  HKCU: 'HKEY_CURRENT_USER',
  HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKEY_USERS: 'HKEY_USERS',
  HKU: 'HKEY_USERS',
  HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
  HKCC: 'HKEY_CURRENT_CONFIG',
};

/**
 * Folds a key or value name for case-insensitive comparison the way Windows does: each character upper-cased
 * on its own (characters whose upper case is longer, like `ß`, are kept).
 */
export function foldRegistryName(name: string): string {
  if (/^[\x00-\x7f]*$/.test(name)) return name.toUpperCase();
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/**
 * Splits a key path into its components with the root spelled out (`HKLM\Software\X` →
 * `['HKEY_LOCAL_MACHINE', 'Software', 'X']`). Empty components (doubled or trailing `\`) are dropped.
 * @throws RegistryError (code `REG_BAD_KEY`) when the path is empty or its root is not a predefined key.
 */
export function splitKeyPath(key: string): string[] {
  const parts = key.split('\\').filter((part) => part !== '');
  const root = parts.length > 0 ? REGISTRY_ROOTS[parts[0].toUpperCase()] : undefined;
  if (root === undefined) {
    throw new RegistryError(
      'REG_BAD_KEY',
      `invalid registry key "${key}": it must start with a root key such as HKEY_LOCAL_MACHINE or HKLM`,
      { context: { key } },
    );
  }
  parts[0] = root;
  return parts;
}

/** `HKLM\Software\\X\` → `HKEY_LOCAL_MACHINE\Software\X`. @throws RegistryError as {@link splitKeyPath}. */
export function normalizeKeyPath(key: string): string {
  return splitKeyPath(key).join('\\');
}

/**
 * Orders key paths as regedit exports them: component by component, case-insensitively, so a parent comes
 * right before its subtree (`A`, `A\B`, `A\B\C`, `A\b2`, `A-1`). Returns < 0, 0 or > 0.
 */
export function compareKeyPaths(a: string, b: string): number {
  const pa = a.split('\\');
  const pb = b.split('\\');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const fa = foldRegistryName(pa[i]);
    const fb = foldRegistryName(pb[i]);
    if (fa !== fb) return fa < fb ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * Whether `key` is `ancestor` or lies below it (case-insensitive; both normalized with {@link normalizeKeyPath}).
 * @throws RegistryError (code `REG_BAD_KEY`) when either does not start with a root key.
 */
export function isKeyWithin(key: string, ancestor: string): boolean {
  const k = foldRegistryName(normalizeKeyPath(key));
  const a = foldRegistryName(normalizeKeyPath(ancestor));
  return k === a || k.startsWith(`${a}\\`);
}
