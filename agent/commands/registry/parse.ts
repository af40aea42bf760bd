/**
 * `commserve-dr registry parse FILE`: what a `.reg` file (for instance a SET's `commserv_hive.reg`) will import,
 * operation by operation in file order, with decoded data; the values regedit would not import (warnings with
 * line and column); and the values that are machine-bound secrets (DPAPI) and must be re-entered after recovery.
 *
 * The file is read as a stream and each operation is printed as soon as it is read, so a file of any size is
 * shown in time linear in its size with bounded memory. Rendering one operation is a pure function (a table
 * for people, JSON for scripts).
 */
import { RegistryError, RegistryFormatError } from '#core/errors';
import { readRegFile, REGEDIT4_HEADER, REGEDIT5_HEADER, type RegEncoding } from '#agent/registry/reg-format';
import { findMachineBoundSecrets, type MachineBoundSecret } from '#agent/registry/secrets';
import type { RegFormat, RegOperation, RegValue, RegValueDeletion, RegWarning } from '#agent/registry/types';
import { ChunkedOutput, indentedJson, jsonString, operationJson } from './output';

/** What `registry parse` read, besides the operations it printed. */
export interface RegistryParseSummary {
  /** The file as the operator named it (used in messages). */
  file: string;
  format: RegFormat;
  encoding: RegEncoding;
  /** Operations by kind. */
  counts: OperationCounts;
  /** Values that must be re-entered after recovery (see `findMachineBoundSecrets`). */
  secrets: MachineBoundSecret[];
  /** What regedit would not import (up to 1000; `warningCount` counts all). */
  warnings: RegWarning[];
  warningCount: number;
}

/** Operations of a file by kind. */
export interface OperationCounts {
  setKeys: number;
  deleteKeys: number;
  values: number;
  deletions: number;
}

/** Heading of the warning section listing {@link RegistryParseSummary.secrets}. */
export const SECRETS_HEADING = 'values that must be re-entered after recovery (DPAPI, machine-bound)';

/** Longest DATA cell of the table, in characters; longer data is cut (the JSON output is always complete). */
const MAX_DATA_WIDTH = 64;
/** Bytes of a binary value shown in the table before it is cut. */
const MAX_TABLE_BYTES = 16;

/** How {@link printRegistryExport} prints. */
export interface RegistryParseOutput {
  /**
   * `{ format, encoding, operations }` (complete data) instead of the table; with `warnings` (line, column,
   * message) and `warningCount` after `operations` when values were left out.
   */
  json: boolean;
  /** Receives the output piece by piece, in order (pieces of about 64 Ki characters: see `ChunkedOutput`). */
  write: (text: string) => void;
  /** ANSI code page of a REGEDIT4 file (setting `AnsiCodePage`); default 1252. */
  ansiCodePage?: number;
}

/**
 * Reads a `.reg` file as a stream and prints it while reading: the table ({@link formatOperationRows} per
 * operation, then the counts and the secrets section) or the `--json` document (the shape of
 * `test/fixtures/reg/commserv_hive.expected.json`, plus `warnings` and `warningCount` when values were left out;
 * identical to `JSON.stringify(…, null, 2)`).
 * @param path where to read it (absolute, or relative to the process's working directory).
 * @param displayName how to name the file in messages.
 * @returns format, encoding, counts, secrets and warnings (the caller prints the warnings).
 * @throws RegistryError (code `REG_IO`) when the file cannot be read: `cannot read <file>: <system message>`.
 * @throws RegistryFormatError (code `REG_FORMAT`) when it is not a `.reg` file: `<file>: line L, column C: <problem>`,
 *   `context` holding `line`, `column` and `file` (= `path`). Nothing has been printed then.
 */
export async function printRegistryExport(path: string, displayName: string, output: RegistryParseOutput): Promise<RegistryParseSummary> {
  const counts: OperationCounts = { setKeys: 0, deleteKeys: 0, values: 0, deletions: 0 };
  const secrets: MachineBoundSecret[] = [];
  const { json } = output;
  const out = new ChunkedOutput(output.write);
  const write = (text: string) => out.add(text);
  let index = 0;
  const onHeader = (format: RegFormat, encoding: string | undefined) => {
    if (json) write(`{\n  "format": ${JSON.stringify(format)},\n  "encoding": ${JSON.stringify(encoding)},\n  "operations": [`);
    else write(`${displayName}: ${format} ("${format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER}"), ${encoding}\n\n`);
  };
  const onOperation = (operation: RegOperation) => {
    count(counts, operation);
    secrets.push(...findMachineBoundSecrets([operation]));
    if (json) write(`${index === 0 ? '\n    ' : ',\n    '}${operationJson(operation)}`);
    else write(`${formatOperationText(operation)}\n`);
    index++;
  };
  let summary;
  try {
    summary = await readRegFile(path, onOperation, { ansiCodePage: output.ansiCodePage, onHeader });
  } catch (error) {
    out.flush();
    if (error instanceof RegistryFormatError) {
      throw new RegistryFormatError(`${displayName}: ${error.message}`, { cause: error, context: { ...error.context, file: path } });
    }
    if (error instanceof RegistryError && error.code === 'REG_IO') {
      const reason = error.message.replace(/^cannot read [^:]*: /, '');
      throw new RegistryError('REG_IO', `cannot read ${displayName}: ${reason}`, { cause: error.cause, context: { file: path } });
    }
    throw error;
  }
  const { format, encoding, warnings, warningCount } = summary;
  if (json) write(`${index === 0 ? ']' : '\n  ]'}${jsonWarnings(warnings, warningCount)}\n}\n`);
  else {
    write(`\n${summarize(counts, summary.operationCount)}\n`);
    if (secrets.length > 0) write(`\n${formatSecretsWarning(secrets).join('\n')}\n`);
  }
  out.flush();
  return { file: displayName, format, encoding, counts, secrets, warnings, warningCount };
}

/**
 * The end of the `--json` document's `operations` list when values were left out: `"warnings"` (line, column,
 * message of each, as on stderr; at most the first 1000) and `"warningCount"` (all of them). Nothing for a file
 * without warnings, whose document stays exactly `{ format, encoding, operations }`.
 */
function jsonWarnings(warnings: readonly RegWarning[], warningCount: number): string {
  if (warningCount === 0) return '';
  const listed = warnings.map(({ line, column, message }) => ({ line, column, message }));
  return `,\n  "warnings": ${indentedJson(listed, '  ')},\n  "warningCount": ${warningCount}`;
}

/**
 * One operation as table lines: `set key` with a NAME / TYPE / DATA row per value or value deletion, or
 * `delete key`. Strings are shown quoted with JSON escapes, REG_MULTI_SZ as a list, DWORD in decimal and hex,
 * QWORD in decimal, raw bytes as hex; data longer than 64 characters (or 16 bytes) is cut, with its full size
 * given. Linear in the size of the operation.
 */
export function formatOperationRows(operation: RegOperation): string[] {
  return formatOperationText(operation).split('\n');
}

/**
 * {@link formatOperationRows} as one text, lines joined by `\n` (no line break after the last): what
 * `registry parse` prints for each operation, built in one pass without an array per row.
 */
export function formatOperationText(operation: RegOperation): string {
  if (operation.op === 'deleteKey') return `delete key  ${printable(operation.key)}  (with all its subkeys)`;
  const head = `set key     ${printable(operation.key)}`;
  const { values } = operation;
  if (values.length === 0) return `${head}\n    (no values)`;
  // Cells of every row first (the column widths depend on all of them), in arrays reused from call to call.
  const names = ROW_NAMES;
  const types = ROW_TYPES;
  const data = ROW_DATA;
  const trim = ROW_TRIM;
  let nameWidth = 4;
  let typeWidth = 4;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    names[i] = valueName(value.name);
    if ('op' in value) {
      types[i] = 'delete value';
      data[i] = '';
      trim[i] = true;
    } else {
      types[i] = value.type;
      data[i] = describeData(value);
      trim[i] = mayEndBlank(value);
    }
    if (names[i].length > nameWidth) nameWidth = names[i].length;
    if (types[i].length > typeWidth) typeWidth = types[i].length;
  }
  nameWidth = Math.min(32, nameWidth);
  let text = `${head}\n${tableLine('NAME', nameWidth, 'TYPE', typeWidth, 'DATA', false)}`;
  for (let i = 0; i < values.length; i++) text += `\n${tableLine(names[i], nameWidth, types[i], typeWidth, data[i], trim[i])}`;
  names.length = types.length = data.length = trim.length = 0; // keep no strings past the call
  return text;
}

const ROW_NAMES: string[] = [];
const ROW_TYPES: string[] = [];
const ROW_DATA: string[] = [];
const ROW_TRIM: boolean[] = [];

/**
 * One table row: the name and type cells padded to their columns, then the data, without trailing blanks. Only
 * a row whose data may end in a blank needs the trim (`trim`; see {@link mayEndBlank}): every other data cell
 * ends in a quote, bracket, digit or parenthesis.
 */
function tableLine(name: string, nameWidth: number, type: string, typeWidth: number, data: string, trim: boolean): string {
  const line = `    ${name.padEnd(nameWidth)}  ${type.padEnd(typeWidth)}  ${data}`;
  return trim ? line.trimEnd() : line;
}

/**
 * Whether the DATA cell of `value` ({@link describeData}) may end in a blank: only a REG_QWORD's, which is its
 * data as given (a decimal string from the reader) and is checked; strings are quoted, lists bracketed, DWORDs
 * and bytes end in `)`.
 */
function mayEndBlank(value: RegValue): boolean {
  if (value.type !== 'REG_QWORD') return false;
  const data = value.data as string;
  const last = data.length === 0 ? 0x20 : data.charCodeAt(data.length - 1);
  return last <= 0x20 || last >= 0x7f;
}

/** Warning lines for stderr: `<file>: line L, column C: <message>` each, and how many more were not kept. */
export function formatParseWarnings(summary: Pick<RegistryParseSummary, 'file' | 'warnings' | 'warningCount'>): string[] {
  const lines = summary.warnings.map((w) => `${summary.file}: line ${w.line}, column ${w.column}: ${w.message}`);
  const more = summary.warningCount - summary.warnings.length;
  if (more > 0) lines.push(`${summary.file}: … and ${more} more warning${more === 1 ? '' : 's'}`);
  return lines;
}

/**
 * The warning section about machine-bound secrets, as lines (no trailing newline); empty when there are none.
 * The first line is {@link SECRETS_HEADING} followed by `:`, then one indented line per value:
 * `<key>  <"name" or (default)>  <type>: <reason>`.
 */
export function formatSecretsWarning(secrets: readonly MachineBoundSecret[]): string[] {
  if (secrets.length === 0) return [];
  return [
    `${SECRETS_HEADING}:`,
    ...secrets.map((s) => `    ${printable(s.key)}  ${valueName(s.name)}  ${s.type}: ${s.reason}`),
  ];
}

function count(counts: OperationCounts, operation: RegOperation): void {
  if (operation.op === 'deleteKey') {
    counts.deleteKeys++;
    return;
  }
  counts.setKeys++;
  for (const value of operation.values) {
    if ('op' in value) counts.deletions++;
    else counts.values++;
  }
}

function summarize(counts: OperationCounts, operations: number): string {
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${plural(operations, 'operation')}: ${plural(counts.setKeys, 'key set')} (${plural(counts.values, 'value')} set, ${plural(counts.deletions, 'value deletion')}), ${plural(counts.deleteKeys, 'key deletion')}`;
}

/** `[name, type, data]` cells of one table row. */
function valueRow(value: RegValue | RegValueDeletion): [string, string, string] {
  const name = valueName(value.name);
  if ('op' in value) return [name, 'delete value', ''];
  return [name, value.type, describeData(value)];
}

/** A value name quoted with JSON escapes, or `(default)` for the default value `@`. */
function valueName(name: string): string {
  if (name === '') return '(default)';
  // The same few names come back in key after key (the reader hands over one string for each): quoted once.
  let quotedName = QUOTED_NAMES.get(name);
  if (quotedName === undefined) {
    if (QUOTED_NAMES.size >= MAX_QUOTED_NAMES) QUOTED_NAMES.clear();
    quotedName = jsonString(name);
    QUOTED_NAMES.set(name, quotedName);
  }
  return quotedName;
}

/** Value names already quoted (cleared when {@link MAX_QUOTED_NAMES} are held: memory stays bounded). */
const QUOTED_NAMES = new Map<string, string>();
const MAX_QUOTED_NAMES = 4096;

function describeData(value: RegValue): string {
  switch (value.type) {
    case 'REG_SZ':
    case 'REG_EXPAND_SZ':
      return quoted(value.data);
    case 'REG_MULTI_SZ':
      return list(value.data);
    case 'REG_DWORD':
      return `${value.data} (0x${value.data.toString(16).padStart(8, '0')})`;
    case 'REG_QWORD':
      return value.data;
    default:
      return hexBytes(value.data);
  }
}

/** `"text"` with JSON escapes; cut after the first characters when too long. Linear in the text. */
function quoted(text: string): string {
  if (text.length <= MAX_DATA_WIDTH) {
    const full = jsonString(text);
    if (full.length <= MAX_DATA_WIDTH) return full;
  }
  // Keep whole characters while the quoted head stays within the width left for the size note.
  let head = '"';
  for (const ch of text) {
    const piece = JSON.stringify(ch).slice(1, -1);
    if (head.length + piece.length + 1 > MAX_DATA_WIDTH - 20) break;
    head += piece;
  }
  return `${head}"… (${countCharacters(text)} characters)`;
}

/** Characters (code points) of `text`, a surrogate pair counting once. */
function countCharacters(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** `["a", "b"]`; when too long, the strings that fit and the count. Looks only at the strings that can be shown. */
function list(strings: readonly string[]): string {
  const items: string[] = [];
  let length = 2;
  for (const s of strings) {
    // A string longer than the cell cannot be shown whole; only its head matters.
    const item = jsonString(s.length > MAX_DATA_WIDTH ? s.slice(0, MAX_DATA_WIDTH + 1) : s);
    length += item.length + (items.length > 0 ? 2 : 0);
    items.push(item);
    if (length > MAX_DATA_WIDTH) break;
  }
  if (items.length === strings.length && length <= MAX_DATA_WIDTH) return `[${items.join(', ')}]`;
  const suffix = `, …] (${strings.length} strings)`;
  let shown = '';
  for (const item of items) {
    const next = shown === '' ? item : `${shown}, ${item}`;
    if (next.length + 1 + suffix.length > MAX_DATA_WIDTH) break;
    shown = next;
  }
  if (shown === '') return `[${quoted(strings[0])}${suffix}`;
  return `[${shown}${suffix}`;
}

/** Lowercase hex data as spaced bytes, the first 16 only, with the size. */
function hexBytes(hex: string): string {
  const count = hex.length / 2;
  if (count === 0) return '(empty)';
  const shown = 2 * Math.min(count, MAX_TABLE_BYTES);
  let bytes = hex.slice(0, 2);
  for (let i = 2; i < shown; i += 2) bytes += ` ${hex.slice(i, i + 2)}`;
  return `${bytes}${count > MAX_TABLE_BYTES ? ' …' : ''} (${count} byte${count === 1 ? '' : 's'})`;
}

/** A key path with control characters shown as `\xNN`, so each row stays one line. */
function printable(text: string): string {
  if (!CONTROL_CHARACTER.test(text)) return text;
  return text.replace(CONTROL_CHARACTERS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const CONTROL_CHARACTER = /[\x00-\x1f\x7f]/;
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/g;
