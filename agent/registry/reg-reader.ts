/**
 * The `.reg` reader: reads a file line by line as regedit reads it, and hands over each operation (`[KEY]` with
 * its values, `[-KEY]`) as soon as it is complete, so a file of any size is read with bounded memory.
 *
 * A file that is not a `.reg` file (no `Windows Registry Editor Version 5.00` / `REGEDIT4` header: an empty
 * file, binary data, another format) is refused whole ({@link RegistryFormatError}). Inside a `.reg` file, what
 * regedit cannot import is dropped as regedit drops it — one value, one key block, one line — and reported as a
 * {@link RegWarning} naming its line and column; everything else is imported.
 *
 * The rules below are regedit's as Wine's regedit conformance tests record them (programs/regedit/tests/regedit.c,
 * written to pass on Windows); the name of the Wine test case is given where one applies.
 *
 * Keys:
 * - `[KEY]` sets a key, `[-KEY]` deletes it with its subkeys; values after a `[-KEY]` line are ignored.
 * - The key ends at the first `]` followed only by blanks or a `;` comment, so keys may contain `]`.
 * - A blank right after `[` or `[-` (`[ HKEY_…]`, `[- HKEY_…]`): regedit does not open the key; the block is
 *   skipped (Subkey1a/1b, Subkey2a/2b).
 * - The root must be spelled out (`HKEY_LOCAL_MACHINE`, `HKEY_CURRENT_USER`, `HKEY_CLASSES_ROOT`, `HKEY_USERS`,
 *   `HKEY_CURRENT_CONFIG`), in any case (Subkey3a/3b). An abbreviation (`HKLM\…`) or another root is not a key
 *   regedit can open: the block is skipped (Subkey4b, `HKEY_CURRENT_USERS`).
 * - Trailing backslashes are dropped: `[…\Sub\]` and `[…\Sub\\]` are `…\Sub` (Subkey1e/1f/1g). Blanks before
 *   `]` belong to the name (Subkey1c/1d).
 * - A root key cannot be deleted: `[-HKEY_LOCAL_MACHINE]` is skipped.
 *
 * Values (`"name"=…` or `@=…`; blanks allowed around `=`):
 * - `"…"` strings: `\\` and `\"` are escapes, any other backslash is kept with the character after it; `\0`
 *   makes regedit drop the value (Wine33a–f). After the closing quote only blanks or a `;` comment (Wine3/4,
 *   Test15a/b, Wine26a–d).
 * - `dword:` in lower case, blanks, then 1 to 8 hex digits, then only blanks or a `;` comment (Wine9a/b,
 *   Test12a–e, Test13a/b, Test14a–c, Wine25a–d).
 * - `hex:` / `hex(N):` in lower case, N of 1 to 8 hex digits (Wine13a–l); upper-case `DWORD:`/`HEX:` are not
 *   types regedit knows: the value is dropped (regedit matches the prefixes case-sensitively).
 * - Hex bytes are 1–2 hex digits separated by commas; blanks may follow a comma (regedit skips them before a
 *   number: Wine14a, Wine4h) but not precede it (`01 ,02` drops the value); a trailing comma is fine (Wine15);
 *   a `;` comment may follow the data, a `#` may not (Wine27a–d).
 * - A `\` after a comma (or right after `hex…:`) continues the data on the next line, optionally followed by
 *   blanks and a `;` comment (Wine28a/c/e, Multi-Line1–4). A `\` right after a byte drops the value and does not
 *   continue (Wine24b, Wine28b, Test21c). In a continuation, blank lines and `;` comment lines are skipped
 *   (Wine10a/b, Wine29a/b, Multi-Line6); any other line is read as data, and must start with a hex byte, or the
 *   value is dropped and that line is consumed (Wine24a, Wine25a–h, Wine29c/d, Wine32a, Multi-Line1–4).
 * - A file ending inside continued data keeps the bytes read so far (Wine17a–e); we warn, since the file is
 *   probably truncated.
 * - `hex(1)`, `hex(2)`, `hex(7)` data not ending in a NUL character gets one appended (Wine20a–d, Wine21a/b);
 *   empty data stays empty (Wine22b). In REGEDIT4 the bytes are ANSI text, decoded with the code page.
 * - `hex(4)` that is not 4 bytes and `hex(b)` that is not 8 are imported as given (Wine3d: hex(4) of 8 bytes is a
 *   REG_DWORD of 8 bytes): kept as `REG_HEX_4` / `REG_HEX_11` raw bytes, restored with exactly those bytes.
 * - `"name"=-` deletes the value; only blanks or a `;` comment may follow (Wine46a–f).
 * - A value before any `[KEY]` line has no key to go to: dropped.
 * - Lines that are none of these (`#…`, stray text) are ignored, as regedit ignores them; we warn about stray
 *   text (not about `#` lines, which regedit users write as comments).
 */
import { RegistryFormatError } from '#core/errors';
import { ansiCodePage, type AnsiCodePage } from './code-page';
import { REGEDIT4_HEADER } from './reg-text';
import { TextCache, type CodeUnits, type UnitLine } from './reg-units';
import type { RegFormat, RegOperation, RegRawType, RegSetKey, RegValue, RegValueDeletion, RegWarning } from './types';

export type { RegWarning } from './types';

/** The first line of a REGEDIT5 file. */
export const REGEDIT5_HEADER = 'Windows Registry Editor Version 5.00';

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

/** The root keys regedit opens in a `.reg` file (upper case). Abbreviations such as HKLM are not among them. */
const FULL_ROOTS = new Set(['HKEY_LOCAL_MACHINE', 'HKEY_CURRENT_USER', 'HKEY_CLASSES_ROOT', 'HKEY_USERS', 'HKEY_CURRENT_CONFIG']);
const ABBREVIATED_ROOTS: Record<string, string> = {
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKCU: 'HKEY_CURRENT_USER',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKU: 'HKEY_USERS',
  HKCC: 'HKEY_CURRENT_CONFIG',
};

/** Warnings kept in full by default; more are only counted (memory stays bounded on a damaged file). */
export const DEFAULT_MAX_WARNINGS = 1000;


/** Options of the reader. */
export interface RegReadOptions {
  /** ANSI code page of REGEDIT4 files and their `hex(1)`/`hex(2)`/`hex(7)` bytes (setting `AnsiCodePage`); default 1252. */
  ansiCodePage?: number;
  /** Warnings kept in full ({@link DEFAULT_MAX_WARNINGS}); later ones are counted in `warningCount` only. */
  maxWarnings?: number;
  /** Called once the header has been read, before the first operation (with the encoding when reading bytes). */
  onHeader?: (format: RegFormat, encoding: string | undefined) => void;
}

/** Hex data read so far for a value continued over lines. */
interface PendingHex {
  name: string;
  typeNumber: number;
  bytes: ByteBuilder;
  /** Line and column where the value starts (for warnings). */
  line: number;
  column: number;
}

/** Result of reading one line's worth of hex data. */
type HexResult = { kind: 'done' } | { kind: 'continue' } | { kind: 'invalid'; index: number; message: string };

/**
 * Line-by-line parser of the text of a `.reg` file (module comment). Feed it lines with {@link line}, then call
 * {@link end}; completed operations go to `onOperation` in file order.
 */
export class RegLineParser {
  /** `REGEDIT5` or `REGEDIT4`, once the header has been read. */
  format: RegFormat | undefined;
  /** Warnings kept (up to the maximum). */
  readonly warnings: RegWarning[] = [];
  /** Every warning, including those not kept. */
  warningCount = 0;
  /** Operations handed over. */
  operationCount = 0;
  private lineNo = 0;
  private current: RegSetKey | 'deleted' | 'skipped' | undefined;
  private pending: PendingHex | undefined;
  private readonly page: AnsiCodePage;
  private readonly maxWarnings: number;
  /** Encoding to report to `onHeader` (set by the byte reader). */
  encoding: string | undefined;
  private readonly onHeader: RegReadOptions['onHeader'];
  /** The bytes of the hex value being read: one buffer reused for every value (decoded data never keeps it). */
  private readonly hexBytes = new ByteBuilder();
  /** Value names read before: a registry export repeats the same few names in key after key. */
  private readonly names = new TextCache();

  /** @throws RegistryError (code `REG_CODE_PAGE`) for an unsupported `options.ansiCodePage`. */
  constructor(
    private readonly onOperation: (operation: RegOperation) => void,
    options: RegReadOptions = {},
  ) {
    this.page = ansiCodePage(options.ansiCodePage);
    this.maxWarnings = options.maxWarnings ?? DEFAULT_MAX_WARNINGS;
    this.onHeader = options.onHeader;
  }

  /** The number of lines read so far. */
  get lines(): number {
    return this.lineNo;
  }

  /**
   * Reads the next line (without its line break).
   * @throws RegistryFormatError when the header is missing or unknown (the file is not a `.reg` file).
   */
  line(raw: string): void {
    this.lineNo++;
    if (this.format === undefined) {
      this.readHeader(raw);
      return;
    }
    if (this.pending) {
      this.continueHex(raw);
      return;
    }
    const start = firstNonBlank(raw, 0);
    if (start === raw.length) return;
    const c = raw.charCodeAt(start);
    if (c === 0x3b /* ; */ || c === 0x23 /* # */) return;
    if (c === 0x5b /* [ */) this.readKey(raw, start);
    else if (c === 0x22 /* " */ || c === 0x40 /* @ */) this.readValue(raw, start);
    else this.warn(raw, start, `line ignored (regedit ignores it): "${snippet(raw.slice(start))}"`);
  }

  /**
   * Reads the next line given as code units ({@link UnitLine}): the lines regedit writes for values (`"name"=`
   * a string, `dword:` or hex data, and hex continuation lines) are read straight from the units; any other line,
   * or anything unusual in one of these, is decoded and read by {@link line}, which applies every rule. Both
   * give the same result for every line (the fast path only takes lines it reads exactly as {@link line} would).
   * @throws RegistryFormatError as {@link line}.
   */
  unitLine(line: UnitLine): void {
    if (line.start === line.end) {
      this.lineNo++; // a blank line: nothing to read in any state
      return;
    }
    if (this.format !== undefined && (this.pending ? this.fastContinuation(line) : this.fastValue(line))) return;
    this.line(line.text(line.start, line.end));
  }

  /**
   * Ends the file: hands over the last key block.
   * @throws RegistryFormatError when no header was found (an empty or blank file).
   */
  end(): void {
    if (this.format === undefined) {
      throw formatError(1, 1, `missing header: expected "${REGEDIT5_HEADER}" or "${REGEDIT4_HEADER}"`);
    }
    if (this.pending) {
      const { name, bytes, line, column } = this.pending;
      this.addWarning(line, column, `${valueLabel(name)}: the file ends inside its continued hex data (a truncated file?); kept with the ${bytes.length} byte(s) read, as regedit keeps them`);
      this.finishHex();
    }
    this.flush();
  }

  /** Warns about something at the end of the text (e.g. a dangling UTF-16 byte). */
  warnAtEnd(message: string): void {
    this.addWarning(Math.max(this.lineNo, 1), 1, message);
  }

  private readHeader(raw: string): void {
    const text = (this.lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') return;
    if (text === REGEDIT5_HEADER) this.format = 'REGEDIT5';
    else if (text === REGEDIT4_HEADER) this.format = 'REGEDIT4';
    else {
      throw formatError(
        this.lineNo,
        columnOf(raw, raw.length - raw.trimStart().length),
        `not a .reg file: unknown header "${snippet(text)}": expected "${REGEDIT5_HEADER}" or "${REGEDIT4_HEADER}"`,
      );
    }
    this.onHeader?.(this.format, this.encoding);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Keys
  // ---------------------------------------------------------------------------------------------------------

  private readKey(raw: string, start: number): void {
    this.flush();
    this.current = 'skipped';
    const end = keyEnd(raw, start);
    if (end === -1) {
      this.warn(raw, raw.trimEnd().length, `key skipped with its values: missing "]" (or text after it) in "${snippet(raw.slice(start))}"`);
      return;
    }
    const deletion = raw.charCodeAt(start + 1) === 0x2d; /* - */
    const nameStart = start + (deletion ? 2 : 1);
    const written = raw.slice(nameStart, end);
    if (/^[ \t]/.test(written)) {
      this.warn(raw, nameStart, `key skipped with its values: regedit does not open a key name that starts with a blank ("${snippet(written)}")`);
      return;
    }
    // regedit opens `…\Sub\` (and `…\Sub\\`) as `…\Sub`.
    const key = written.replace(/\\+$/, '');
    const rootEnd = key.indexOf('\\');
    const root = (rootEnd === -1 ? key : key.slice(0, rootEnd)).toUpperCase();
    if (!FULL_ROOTS.has(root)) {
      const full = ABBREVIATED_ROOTS[root];
      const reason = full
        ? `regedit accepts only spelled-out roots in a .reg file ("${full}", not "${key.slice(0, root.length)}")`
        : `"${snippet(key.slice(0, rootEnd === -1 ? key.length : rootEnd))}" is not a registry root (HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, HKEY_CLASSES_ROOT, HKEY_USERS, HKEY_CURRENT_CONFIG)`;
      this.warn(raw, nameStart, `key skipped with its values: ${reason}`);
      return;
    }
    if (deletion) {
      if (rootEnd === -1) {
        this.warn(raw, nameStart, `key deletion skipped: regedit cannot delete the root key ${key}`);
        return;
      }
      this.emit({ op: 'deleteKey', key });
      this.current = 'deleted';
      return;
    }
    this.current = { op: 'setKey', key, values: [] };
  }

  private flush(): void {
    if (typeof this.current === 'object') this.emit(this.current);
    this.current = undefined;
  }

  private emit(operation: RegOperation): void {
    this.operationCount++;
    this.onOperation(operation);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Values
  // ---------------------------------------------------------------------------------------------------------

  private readValue(raw: string, start: number): void {
    let pos = start;
    let name: string;
    if (raw.charCodeAt(pos) === 0x40 /* @ */) {
      name = '';
      pos++;
    } else {
      const quoted = readQuoted(raw, pos);
      if ('error' in quoted) {
        this.warn(raw, quoted.index, `value skipped: ${quoted.error} in its name`);
        return;
      }
      name = quoted.text;
      pos = quoted.end;
    }
    pos = firstNonBlank(raw, pos);
    if (raw.charCodeAt(pos) !== 0x3d /* = */) {
      this.warn(raw, pos, `${valueLabel(name)} skipped: expected "=" after the value name`);
      return;
    }
    pos = firstNonBlank(raw, pos + 1);
    const c = raw.charCodeAt(pos);
    if (c === 0x2d /* - */) {
      const rest = restIsEmpty(raw, pos + 1);
      if (rest !== true) return this.skipValue(raw, rest, name, `unexpected text after "=-": "${snippet(raw.slice(rest))}"`);
      return this.addValue(raw, start, { name, op: 'deleteValue' });
    }
    if (c === 0x22 /* " */) {
      const quoted = readQuoted(raw, pos);
      if ('error' in quoted) return this.skipValue(raw, quoted.index, name, quoted.error);
      const rest = restIsEmpty(raw, quoted.end);
      if (rest !== true) return this.skipValue(raw, rest, name, `unexpected text after the string: "${snippet(raw.slice(rest))}"`);
      return this.addValue(raw, start, { name, type: 'REG_SZ', data: quoted.text });
    }
    if (raw.startsWith('dword:', pos)) return this.readDword(raw, start, pos + 6, name);
    if (raw.startsWith('hex', pos)) return this.readHexStart(raw, start, pos, name);
    if (/^(dword:|hex[:(])/i.test(raw.slice(pos, pos + 6))) {
      const prefix = raw.slice(pos, raw.indexOf(':', pos) + 1 || pos + 4);
      return this.skipValue(raw, pos, name, `regedit reads the type prefix in lower case only ("${prefix}" is not a type)`);
    }
    return this.skipValue(raw, pos, name, `unknown value type in "${snippet(raw.slice(pos))}": expected "…", dword:, hex: or hex(N):`);
  }

  /**
   * The fast path of {@link readValue} for a value line as regedit writes it: `"name"=` (no escapes in the name)
   * or `@=` at the start of the line, directly followed by a string without escapes ending the line, `dword:`
   * and 1 to 8 hex digits ending the line, or `hex:`/`hex(N):` data read by {@link scanHexUnits}. Returns false
   * (nothing changed) for anything else.
   */
  private fastValue(line: UnitLine): boolean {
    const key = this.current;
    if (typeof key !== 'object') return false;
    const { units, end } = line;
    let pos = line.start;
    let name = '';
    if (units[pos] === 0x22 /* " */) {
      const quoted = quotedUnits(line, pos + 1, this.names);
      if (quoted === undefined) return false;
      name = quoted;
      pos = quotedEnd;
    } else if (units[pos] === 0x40 /* @ */) pos++;
    else return false;
    if (units[pos] !== 0x3d /* = */) return false;
    pos++;
    const c = units[pos];
    if (c === 0x22 /* " */) {
      const quoted = quotedUnits(line, pos + 1);
      if (quoted === undefined || quotedEnd !== end) return false;
      this.lineNo++;
      key.values.push({ name, type: 'REG_SZ', data: quoted });
      return true;
    }
    if (c === 0x64 /* d */) {
      if (!startsWithAscii(units, pos, end, 'dword:')) return false;
      const dword = hexNumber(units, pos + 6, end);
      if (dword === undefined || dword.end !== end) return false;
      this.lineNo++;
      key.values.push({ name, type: 'REG_DWORD', data: dword.value });
      return true;
    }
    if (c !== 0x68 /* h */ || !startsWithAscii(units, pos, end, 'hex')) return false;
    pos += 3;
    let typeNumber: number = REG_TYPE_NUMBERS.REG_BINARY;
    if (units[pos] === 0x28 /* ( */) {
      const type = hexNumber(units, pos + 1, end);
      if (type === undefined || units[type.end] !== 0x29 /* ) */) return false;
      typeNumber = type.value;
      pos = type.end + 1;
    }
    if (units[pos] !== 0x3a /* : */) return false;
    const bytes = this.hexBytes;
    bytes.length = 0;
    const result = scanHexUnits(units, pos + 1, end, bytes);
    if (result === SCAN_OTHER) return false;
    this.lineNo++;
    this.pending = { name, typeNumber, bytes, line: this.lineNo, column: 1 };
    if (result === SCAN_DONE) this.finishHex();
    return true;
  }

  /** The fast path of {@link continueHex}: a continuation line of hex bytes (blanks first). False: nothing changed. */
  private fastContinuation(line: UnitLine): boolean {
    const { units, end } = line;
    const pos = firstNonBlankUnit(units, line.start, end);
    if (pos === end || HEX_DIGIT_VALUES[units[pos]] < 0) return false; // blank, comment or not data: the general path
    const { bytes } = this.pending!;
    const before = bytes.length;
    const result = scanHexUnits(units, pos, end, bytes);
    if (result === SCAN_OTHER) {
      bytes.length = before;
      return false;
    }
    this.lineNo++;
    if (result === SCAN_DONE) this.finishHex();
    return true;
  }

  /** Warns that the value `name` is dropped, at `raw[index]`. */
  private skipValue(raw: string, index: number, name: string, reason: string): void {
    this.warn(raw, index, `${valueLabel(name)} skipped: ${reason}`);
  }

  private readDword(raw: string, start: number, from: number, name: string): void {
    const digitsStart = firstNonBlank(raw, from);
    let end = digitsStart;
    while (end < raw.length && isHexDigit(raw.charCodeAt(end))) end++;
    const count = end - digitsStart;
    const rest = restIsEmpty(raw, end);
    if (count === 0 || count > 8 || rest !== true) {
      const at = count === 0 || count > 8 ? digitsStart + Math.min(count, 8) : (rest as number);
      this.warn(raw, at, `${valueLabel(name)} skipped: invalid dword "${snippet(raw.slice(digitsStart))}": expected 1 to 8 hex digits, then only blanks or a ; comment`);
      return;
    }
    this.addValue(raw, start, { name, type: 'REG_DWORD', data: parseInt(raw.slice(digitsStart, end), 16) });
  }

  private readHexStart(raw: string, start: number, pos: number, name: string): void {
    let typeNumber: number = REG_TYPE_NUMBERS.REG_BINARY;
    let dataStart = pos + 4;
    if (raw.charCodeAt(pos + 3) === 0x28 /* ( */) {
      let end = pos + 4;
      while (end < raw.length && isHexDigit(raw.charCodeAt(end))) end++;
      const digits = end - pos - 4;
      if (digits === 0 || digits > 8 || raw.charCodeAt(end) !== 0x29 /* ) */ || raw.charCodeAt(end + 1) !== 0x3a /* : */) {
        this.warn(raw, pos, `${valueLabel(name)} skipped: invalid type "${snippet(raw.slice(pos, pos + 16))}": expected hex(N): with N of 1 to 8 hex digits`);
        return;
      }
      typeNumber = parseInt(raw.slice(pos + 4, end), 16);
      dataStart = end + 2;
    } else if (raw.charCodeAt(pos + 3) !== 0x3a /* : */) {
      this.warn(raw, pos, `${valueLabel(name)} skipped: unknown value type in "${snippet(raw.slice(pos))}"`);
      return;
    }
    this.hexBytes.length = 0;
    this.pending = { name, typeNumber, bytes: this.hexBytes, line: this.lineNo, column: columnOf(raw, start) };
    this.applyHex(raw, readHexBytes(raw, dataStart, false, this.pending.bytes));
  }

  private continueHex(raw: string): void {
    const start = firstNonBlank(raw, 0);
    if (start === raw.length || raw.charCodeAt(start) === 0x3b /* ; */) return; // skipped inside a continuation
    this.applyHex(raw, readHexBytes(raw, start, true, this.pending!.bytes));
  }

  private applyHex(raw: string, result: HexResult): void {
    const pending = this.pending!;
    if (result.kind === 'continue') return;
    if (result.kind === 'done') {
      this.finishHex();
      return;
    }
    this.pending = undefined;
    const consumed = this.lineNo === pending.line ? '' : ` (continued from line ${pending.line}; this line was read as its data)`;
    this.warn(raw, result.index, `${valueLabel(pending.name)} skipped: ${result.message}${consumed}`);
  }

  private finishHex(): void {
    const { name, typeNumber, bytes, line, column } = this.pending!;
    this.pending = undefined;
    const value = decodeTypedValue(name, typeNumber, bytes.toBuffer(), this.format!, this.page);
    this.addValueAt(line, column, value);
  }

  private addValue(raw: string, start: number, value: RegValue | RegValueDeletion): void {
    this.addValueAt(this.lineNo, columnOf(raw, start), value);
  }

  private addValueAt(line: number, column: number, value: RegValue | RegValueDeletion): void {
    if (this.current === undefined) {
      this.addWarning(line, column, `${valueLabel(value.name)} skipped: it comes before any [KEY] line`);
      return;
    }
    if (typeof this.current === 'object') this.current.values.push(value);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Warnings
  // ---------------------------------------------------------------------------------------------------------

  private warn(raw: string, index: number, message: string): void {
    this.addWarning(this.lineNo, columnOf(raw, index), message);
  }

  private addWarning(line: number, column: number, message: string): void {
    this.warningCount++;
    if (this.warnings.length < this.maxWarnings) this.warnings.push({ line, column, message });
  }
}

/** `value "name"` or `default value (@)`. */
function valueLabel(name: string): string {
  return name === '' ? 'default value (@)' : `value ${JSON.stringify(name)}`;
}

/** Index just after the blanks (spaces, tabs) from `from`. */
function firstNonBlank(raw: string, from: number): number {
  let i = from;
  while (i < raw.length) {
    const c = raw.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) break;
    i++;
  }
  return i;
}

/** `true` when only blanks or a `;` comment remain from `from`; else the index of the first other character. */
function restIsEmpty(raw: string, from: number): true | number {
  const i = firstNonBlank(raw, from);
  return i === raw.length || raw.charCodeAt(i) === 0x3b ? true : i;
}

/** Index of the `]` ending a key line whose `[` is at `start`: the first one followed only by blanks or a comment. */
function keyEnd(raw: string, start: number): number {
  for (let end = raw.indexOf(']', start); end !== -1; end = raw.indexOf(']', end + 1)) {
    if (restIsEmpty(raw, end + 1) === true) return end;
  }
  return -1;
}

/** Value of each UTF-16 code unit as a hex digit, or -1 (one lookup instead of range tests in the hot loops). */
const HEX_DIGIT_VALUES = (() => {
  const table = new Int8Array(0x10000).fill(-1);
  for (let c = 0; c < 16; c++) {
    table['0123456789abcdef'.charCodeAt(c)] = c;
    table['0123456789ABCDEF'.charCodeAt(c)] = c;
  }
  return table;
})();

function isHexDigit(c: number): boolean {
  return HEX_DIGIT_VALUES[c] >= 0;
}

function hexValue(c: number): number {
  return HEX_DIGIT_VALUES[c];
}

/**
 * The fast path of {@link readHexBytes}: reads the run of `xx,` groups (two hex digits and a comma, the form
 * regedit writes) from `pos` into `bytes`, and returns the index after the last one. Everything else (one-digit
 * bytes, blanks after a comma, the end of the data, errors) is left to the general loop, which applies the rules.
 */
function readCommaBytes(raw: string, pos: number, bytes: ByteBuilder): number {
  const end = raw.length - 2;
  while (pos < end) {
    const high = HEX_DIGIT_VALUES[raw.charCodeAt(pos)];
    const low = HEX_DIGIT_VALUES[raw.charCodeAt(pos + 1)];
    if ((high | low) < 0 || raw.charCodeAt(pos + 2) !== 0x2c /* , */) break;
    bytes.push((high << 4) | low);
    pos += 3;
  }
  return pos;
}

/** {@link scanHexUnits}: the data ends on this line. */
const SCAN_DONE = 0;
/** {@link scanHexUnits}: the data continues on the next line (`\` after a comma). */
const SCAN_CONTINUE = 1;
/** {@link scanHexUnits}: something else; the general path reads the line. */
const SCAN_OTHER = 2;

/**
 * Hex data as regedit writes it, from `units[pos]` to the end of the line `end`: `xx,` groups, then the end of
 * the line, one last `xx`, or a `\` (continued). Bytes go to `bytes`. {@link SCAN_OTHER} for anything else
 * (one-digit bytes, blanks, comments, errors), which the general path ({@link readHexBytes}) reads by the rules;
 * `bytes` may then hold some of the line's bytes (the caller resets its length).
 */
function scanHexUnits(units: CodeUnits, pos: number, end: number, bytes: ByteBuilder): number {
  const data = bytes.reserve(Math.ceil((end - pos) / 3) + 1);
  let length = bytes.length;
  while (pos + 2 < end) {
    const high = HEX_DIGIT_VALUES[units[pos]];
    const low = HEX_DIGIT_VALUES[units[pos + 1]];
    if ((high | low) < 0 || units[pos + 2] !== 0x2c /* , */) break;
    data[length++] = (high << 4) | low;
    pos += 3;
  }
  let result = SCAN_OTHER;
  if (pos === end) result = SCAN_DONE;
  else if (units[pos] === 0x5c /* \ */ && pos + 1 === end) result = SCAN_CONTINUE;
  else if (pos + 2 === end) {
    const high = HEX_DIGIT_VALUES[units[pos]];
    const low = HEX_DIGIT_VALUES[units[pos + 1]];
    if ((high | low) >= 0) {
      data[length++] = (high << 4) | low;
      result = SCAN_DONE;
    }
  }
  bytes.length = length;
  return result;
}

/** Index after the blanks (spaces, tabs) of `units` from `from`. */
function firstNonBlankUnit(units: CodeUnits, from: number, end: number): number {
  let i = from;
  while (i < end && (units[i] === 0x20 || units[i] === 0x09)) i++;
  return i;
}

/** Index after the closing quote of the last string {@link quotedUnits} read (one slot instead of an object per call). */
let quotedEnd = 0;

/**
 * The fast path of {@link readQuoted}: the text of a quoted string whose first character is `units[from]`; the
 * index after its closing quote is left in {@link quotedEnd}. Only the escapes regedit writes (`\\`, `\"`) are
 * taken; `undefined` for any other backslash or a string without its closing quote (the general path reads those
 * by the rules). With `names`, a short text without escapes is taken from that cache when it was read before.
 */
function quotedUnits(line: UnitLine, from: number, names?: TextCache): string | undefined {
  const { units, end } = line;
  let escapes = false;
  let quoteEscapes = false;
  let hash = 0;
  for (let i = from; i < end; i++) {
    const c = units[i];
    if (c === 0x22 /* " */) {
      quotedEnd = i + 1;
      // Only `\\` pairs (paths): every backslash is one of a pair, which a native replace of the pairs takes.
      if (escapes) return quoteEscapes ? line.text(from, i).replace(ESCAPED_CHARACTER, '$1') : line.text(from, i).replaceAll('\\\\', '\\');
      return names !== undefined ? names.text(line, from, i, hash) : line.text(from, i);
    }
    hash = (Math.imul(hash, 31) + c) | 0;
    if (c !== 0x5c /* \ */) continue;
    const next = units[i + 1];
    if (i + 1 >= end || (next !== 0x5c && next !== 0x22)) return undefined;
    escapes = true;
    if (next === 0x22) quoteEscapes = true;
    i++;
  }
  return undefined;
}

/** `\\` or `\"` in a quoted string (the escaped character is kept). */
const ESCAPED_CHARACTER = /\\([\\"])/g;

/** Whether `units` at `pos` start with the ASCII text `ascii`. */
function startsWithAscii(units: CodeUnits, pos: number, end: number, ascii: string): boolean {
  if (pos + ascii.length > end) return false;
  for (let i = 0; i < ascii.length; i++) if (units[pos + i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** 1 to 8 hex digits from `pos`: their value and the index after them, or `undefined` (none, or more than 8). */
function hexNumber(units: CodeUnits, pos: number, end: number): { value: number; end: number } | undefined {
  let value = 0;
  let i = pos;
  while (i < end && HEX_DIGIT_VALUES[units[i]] >= 0) value = value * 16 + HEX_DIGIT_VALUES[units[i++]];
  return i === pos || i - pos > 8 ? undefined : { value, end: i };
}

/**
 * A quoted string starting at `raw[pos]` (`"`): its text and the index after the closing quote, or why it is not
 * one (an unterminated string, a `\0`) and where.
 */
function readQuoted(raw: string, pos: number): { text: string; end: number } | { error: string; index: number } {
  let out = '';
  let segment = pos + 1;
  for (let i = pos + 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x22 /* " */) return { text: out + raw.slice(segment, i), end: i + 1 };
    if (c !== 0x5c /* \ */) continue;
    if (i + 1 >= raw.length) break;
    const next = raw.charCodeAt(i + 1);
    if (next === 0x5c || next === 0x22) {
      out += raw.slice(segment, i);
      segment = i + 1; // keep the escaped character
    } else if (next === 0x30 /* 0 */) {
      return { error: 'regedit refuses the escape "\\0" in a string', index: i };
    }
    i++;
  }
  return { error: 'unterminated string', index: pos };
}

/**
 * Reads comma-separated hex bytes of one line from `from` into `bytes` (module comment for the rules).
 * `continuation`: the line continues data from the line before, so it must start with a byte.
 */
function readHexBytes(raw: string, from: number, continuation: boolean, bytes: ByteBuilder): HexResult {
  let pos = firstNonBlank(raw, from);
  if (continuation && !(pos < raw.length && isHexDigit(raw.charCodeAt(pos)))) {
    return { kind: 'invalid', index: pos, message: `continued hex data must start with a hex byte, found "${snippet(raw.slice(pos))}"` };
  }
  pos = readCommaBytes(raw, pos, bytes);
  for (;;) {
    pos = firstNonBlank(raw, pos);
    if (pos >= raw.length) return { kind: 'done' };
    const c = raw.charCodeAt(pos);
    if (isHexDigit(c)) {
      let end = pos + 1;
      while (end < raw.length && isHexDigit(raw.charCodeAt(end))) end++;
      if (end - pos > 2) return { kind: 'invalid', index: pos, message: `invalid hex byte "${snippet(raw.slice(pos, end))}"` };
      bytes.push(end - pos === 2 ? hexValue(c) * 16 + hexValue(raw.charCodeAt(pos + 1)) : hexValue(c));
      if (raw.charCodeAt(end) === 0x2c /* , */) {
        pos = end + 1;
        continue;
      }
      const rest = restIsEmpty(raw, end);
      if (rest === true) return { kind: 'done' };
      const found = raw.charCodeAt(rest) === 0x5c ? 'a "\\" right after a byte (it must follow a comma)' : `"${snippet(raw.slice(rest))}"`;
      return { kind: 'invalid', index: rest, message: `expected "," after a hex byte, found ${found}` };
    }
    if (c === 0x5c /* \ */) {
      const rest = restIsEmpty(raw, pos + 1);
      if (rest === true) return { kind: 'continue' };
      return { kind: 'invalid', index: rest, message: `unexpected text after "\\": "${snippet(raw.slice(rest))}"` };
    }
    if (c === 0x3b /* ; */) return { kind: 'done' };
    return { kind: 'invalid', index: pos, message: c === 0x2c ? 'empty hex byte (",")' : `invalid hex byte "${snippet(raw.slice(pos, pos + 8))}"` };
  }
}

/** A growable byte array. */
class ByteBuilder {
  private data = new Uint8Array(64);
  length = 0;

  push(byte: number): void {
    if (this.length === this.data.length) this.reserve(1);
    this.data[this.length++] = byte;
  }

  /** Makes room for `count` more bytes; returns the array to write them to (from index `length`). */
  reserve(count: number): Uint8Array {
    if (this.length + count > this.data.length) {
      const bigger = new Uint8Array(Math.max(this.data.length * 2, this.length + count));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    return this.data;
  }

  /** A view of the bytes (not a copy: valid until the builder is reused). */
  toBuffer(): Buffer {
    return Buffer.from(this.data.buffer, 0, this.length);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Typed data
// ---------------------------------------------------------------------------------------------------------

/** The value `hex(typeNumber):` bytes make, as regedit stores it (module comment). */
export function decodeTypedValue(name: string, typeNumber: number, data: Buffer, format: RegFormat, page: AnsiCodePage): RegValue {
  const named = RAW_TYPES_BY_NUMBER[typeNumber];
  if (named !== undefined) return { name, type: named, data: data.toString('hex') };
  switch (typeNumber) {
    case REG_TYPE_NUMBERS.REG_SZ:
    case REG_TYPE_NUMBERS.REG_EXPAND_SZ: {
      const type = typeNumber === REG_TYPE_NUMBERS.REG_SZ ? 'REG_SZ' : 'REG_EXPAND_SZ';
      const utf16 = utf16String(data);
      if (format === 'REGEDIT5' && utf16 !== undefined) return { name, type, data: utf16 };
      const bytes = withTerminator(data, format);
      const text = decodeTerminatedString(bytes, format, page);
      if (text === undefined) return { name, type: `REG_HEX_${typeNumber}`, data: bytes.toString('hex') };
      return { name, type, data: text };
    }
    case REG_TYPE_NUMBERS.REG_MULTI_SZ: {
      const utf16 = format === 'REGEDIT5' ? utf16MultiString(data) : undefined;
      if (utf16 !== undefined) return { name, type: 'REG_MULTI_SZ', data: utf16 };
      const bytes = withTerminator(data, format);
      const strings = decodeMultiString(bytes, format, page);
      return strings === undefined ? { name, type: 'REG_HEX_7', data: bytes.toString('hex') } : { name, type: 'REG_MULTI_SZ', data: strings };
    }
    case REG_TYPE_NUMBERS.REG_DWORD:
      return data.length === 4 ? { name, type: 'REG_DWORD', data: data.readUInt32LE(0) } : { name, type: 'REG_HEX_4', data: data.toString('hex') };
    case REG_TYPE_NUMBERS.REG_QWORD:
      return data.length === 8 ? { name, type: 'REG_QWORD', data: qwordString(data) } : { name, type: 'REG_HEX_11', data: data.toString('hex') };
    default:
      return { name, type: `REG_HEX_${typeNumber}`, data: data.toString('hex') };
  }
}

/**
 * REGEDIT5 `hex(1)`/`hex(2)` data of whole UTF-16 code units (at least one) as the string regedit stores: the
 * text before a final NUL character, or all of it when there is none (regedit appends one: Wine20a–d, Wine21a/b).
 * The same result as {@link withTerminator} then {@link decodeTerminatedString}, decoded once with no copies.
 * `undefined` for empty data or an odd number of bytes (the general path reads those).
 */
function utf16String(data: Buffer): string | undefined {
  const length = data.length;
  if (length < 2 || length % 2 !== 0) return undefined;
  const terminated = data[length - 1] === 0 && data[length - 2] === 0;
  return data.toString('utf16le', 0, terminated ? length - 2 : length);
}

/**
 * REGEDIT5 `hex(7)` data ending in two NUL characters once regedit has appended its one where missing (see
 * {@link utf16String}): the strings, as {@link decodeMultiString} reads them (`\0` alone is no strings), decoded
 * once. `undefined` for anything else (empty, odd, not ending so), which the general path reads.
 */
function utf16MultiString(data: Buffer): string[] | undefined {
  const length = data.length;
  if (length < 2 || length % 2 !== 0) return undefined;
  // The terminated bytes: `data`, or `data` and one NUL character.
  const terminated = data[length - 1] === 0 && data[length - 2] === 0;
  const full = terminated ? length : length + 2;
  if (full === 2) return [];
  // The character before the final NUL (within `data` in both cases) must be NUL too.
  if (data[full - 4] !== 0 || data[full - 3] !== 0) return undefined;
  return data.toString('utf16le', 0, full - 4).split('\0');
}

/**
 * A REG_QWORD's 8 little-endian bytes as a decimal string (as `readBigUInt64LE(0).toString()`), without a BigInt
 * when the value is below 2^53 (exact as a double, printed without exponent).
 */
function qwordString(data: Buffer): string {
  const high = data.readUInt32LE(4);
  if (high < 0x200000) return String(high * 0x100000000 + data.readUInt32LE(0));
  return data.readBigUInt64LE(0).toString();
}

/**
 * regedit appends a NUL character to `hex(1)`/`hex(2)`/`hex(7)` data that does not end with one (Wine20a–d,
 * Wine21a/b); empty data stays empty (Wine22b). UTF-16 data of an odd length is left as it is.
 */
function withTerminator(bytes: Buffer, format: RegFormat): Buffer {
  if (bytes.length === 0) return bytes;
  if (format === 'REGEDIT4') return bytes[bytes.length - 1] === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(1)]);
  if (bytes.length % 2 !== 0) return bytes;
  return bytes[bytes.length - 1] === 0 && bytes[bytes.length - 2] === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(2)]);
}

/** Width in bytes of one character of a string value: UTF-16LE in REGEDIT5, one ANSI byte in REGEDIT4. */
function charWidth(format: RegFormat): 1 | 2 {
  return format === 'REGEDIT5' ? 2 : 1;
}

/** The string before the final NUL, or `undefined` when the bytes do not end with one NUL character. */
function decodeTerminatedString(bytes: Buffer, format: RegFormat, page: AnsiCodePage): string | undefined {
  const width = charWidth(format);
  if (bytes.length < width || bytes.length % width !== 0) return undefined;
  const text = format === 'REGEDIT5' ? bytes.toString('utf16le') : page.decode(bytes);
  return text.endsWith('\0') ? text.slice(0, -1) : undefined;
}

/**
 * `a\0b\0\0` → `['a', 'b']`; `\0` → `[]`. Anything else (no final double NUL) is `undefined`, so that the
 * writer gives back exactly the bytes read.
 */
function decodeMultiString(bytes: Buffer, format: RegFormat, page: AnsiCodePage): string[] | undefined {
  const body = decodeTerminatedString(bytes, format, page);
  if (body === undefined) return undefined;
  if (body === '') return [];
  if (!body.endsWith('\0')) return undefined;
  return body.slice(0, -1).split('\0');
}

// ---------------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------------

/** 1-based column of `raw[index]`, counted in characters (a surrogate pair counts once). */
export function columnOf(raw: string, index: number): number {
  let column = 1;
  for (let i = 0; i < index && i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < index) {
      const d = raw.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    column++;
  }
  return column + Math.max(0, index - raw.length);
}

/** A RegistryFormatError `line <n>, column <c>: <message>` with `context.line` and `context.column`. */
export function formatError(line: number, column: number, message: string): RegistryFormatError {
  return new RegistryFormatError(`line ${line}, column ${column}: ${message}`, { context: { line, column } });
}

/** Up to 40 characters of `text` for a one-line message (control characters shown as `\xNN`). */
export function snippet(text: string): string {
  const cut = text.length > 60 ? text.slice(0, 60) : text;
  const trimmed = cut.trim().replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return trimmed.length > 40 || text.length > 60 ? `${trimmed.slice(0, 40)}…` : trimmed;
}
