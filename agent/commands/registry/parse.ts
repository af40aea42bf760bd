/**
 * `commserve-dr registry parse FILE`: what a `.reg` file (for instance a SET's `commserv_hive.reg`) will import,
 * operation by operation in file order, with decoded data; plus the values that are machine-bound secrets
 * (DPAPI) and must be re-entered after recovery.
 *
 * Reading the file is here; printing is two pure functions (a table for people, JSON for scripts).
 */
import { readFile } from 'node:fs/promises';
import { RegistryError, RegistryFormatError } from '#core/errors';
import { parseRegWithEncoding, REGEDIT4_HEADER, REGEDIT5_HEADER, type RegEncoding } from '#agent/registry/reg-format';
import { findMachineBoundSecrets, type MachineBoundSecret } from '#agent/registry/secrets';
import type { RegFormat, RegOperation, RegValue, RegValueDeletion } from '#agent/registry/types';

/** A parsed `.reg` file as `registry parse` shows it. */
export interface RegistryParseReport {
  /** The file as the operator named it (used in messages). */
  file: string;
  format: RegFormat;
  encoding: RegEncoding;
  /** The operations in file order, as `parseReg` returns them. */
  operations: RegOperation[];
  /** Values that must be re-entered after recovery (see `findMachineBoundSecrets`). */
  secrets: MachineBoundSecret[];
}

/** Heading of the warning section listing {@link RegistryParseReport.secrets}. */
export const SECRETS_HEADING = 'values that must be re-entered after recovery (DPAPI, machine-bound)';

/** Longest DATA cell of the table, in characters; longer data is cut (the JSON output is always complete). */
const MAX_DATA_WIDTH = 64;
/** Bytes of a binary value shown in the table before it is cut. */
const MAX_TABLE_BYTES = 16;

/**
 * Reads and parses a `.reg` file.
 * @param path where to read it (absolute, or relative to the process's working directory).
 * @param displayName how to name the file in messages; defaults to `path`.
 * @returns format, detected encoding, operations in file order, and the machine-bound secrets found.
 * @throws RegistryError (code `REG_IO`) when the file cannot be read: `cannot read <file>: <system message>`.
 * @throws RegistryFormatError (code `REG_FORMAT`) when it is malformed: `<file>: line L, column C: <problem>`,
 *   `context` holding `line`, `column` and `file` (= `path`).
 */
export async function readRegistryExport(path: string, displayName: string = path): Promise<RegistryParseReport> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    // Not `instanceof Error`: errors from node:fs may come from another realm (e.g. under a test runner).
    const message = (error as { message?: unknown } | undefined)?.message;
    const reason = typeof message === 'string' ? message : String(error);
    throw new RegistryError('REG_IO', `cannot read ${displayName}: ${reason}`, { cause: error, context: { file: path } });
  }
  try {
    const { format, encoding, operations } = parseRegWithEncoding(bytes);
    return { file: displayName, format, encoding, operations, secrets: findMachineBoundSecrets(operations) };
  } catch (error) {
    if (error instanceof RegistryFormatError) {
      throw new RegistryFormatError(`${displayName}: ${error.message}`, { cause: error, context: { ...error.context, file: path } });
    }
    throw error;
  }
}

/**
 * The `--json` document: `{ format, encoding, operations }` with every value complete (the shape of
 * `test/fixtures/reg/commserv_hive.expected.json`), pretty-printed, ending in a newline.
 */
export function formatRegistryParseJson(report: RegistryParseReport): string {
  const { format, encoding, operations } = report;
  return `${JSON.stringify({ format, encoding, operations }, null, 2)}\n`;
}

/**
 * The table for people: a header (file, format, encoding, counts), then each operation in file order — `set key`
 * with a NAME / TYPE / DATA row per value or value deletion, `delete key` — and, when there are any, a warning
 * section headed {@link SECRETS_HEADING}. Strings are shown quoted with JSON escapes, REG_MULTI_SZ as a list,
 * DWORD in decimal and hex, QWORD in decimal, raw bytes as hex; data longer than 64 characters (or 16 bytes) is
 * cut, with its full size given.
 */
export function formatRegistryParse(report: RegistryParseReport): string {
  const out: string[] = [];
  const header = report.format === 'REGEDIT5' ? REGEDIT5_HEADER : REGEDIT4_HEADER;
  out.push(`${report.file}: ${report.format} ("${header}"), ${report.encoding}`);
  out.push(summarize(report.operations), '');
  for (const operation of report.operations) {
    if (operation.op === 'deleteKey') {
      out.push(`delete key  ${printable(operation.key)}  (with all its subkeys)`);
      continue;
    }
    out.push(`set key     ${printable(operation.key)}`);
    if (operation.values.length === 0) {
      out.push('    (no values)');
      continue;
    }
    const rows = operation.values.map((value) => valueRow(value));
    const nameWidth = Math.min(32, Math.max(4, ...rows.map((r) => r[0].length)));
    const typeWidth = Math.max(4, ...rows.map((r) => r[1].length));
    const line = (cells: string[]) => `    ${cells[0].padEnd(nameWidth)}  ${cells[1].padEnd(typeWidth)}  ${cells[2]}`.trimEnd();
    out.push(line(['NAME', 'TYPE', 'DATA']));
    for (const row of rows) out.push(line(row));
  }
  if (report.secrets.length > 0) out.push('', ...formatSecretsWarning(report.secrets));
  return `${out.join('\n')}\n`;
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

function summarize(operations: readonly RegOperation[]): string {
  let setKeys = 0;
  let deleteKeys = 0;
  let values = 0;
  let deletions = 0;
  for (const operation of operations) {
    if (operation.op === 'deleteKey') {
      deleteKeys++;
      continue;
    }
    setKeys++;
    for (const value of operation.values) {
      if ('op' in value) deletions++;
      else values++;
    }
  }
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `${plural(operations.length, 'operation')}: ${plural(setKeys, 'key set')} (${plural(values, 'value')} set, ${plural(deletions, 'value deletion')}), ${plural(deleteKeys, 'key deletion')}`;
}

/** `[name, type, data]` cells of one table row. */
function valueRow(value: RegValue | RegValueDeletion): [string, string, string] {
  const name = valueName(value.name);
  if ('op' in value) return [name, 'delete value', ''];
  return [name, value.type, describeData(value)];
}

/** A value name quoted with JSON escapes, or `(default)` for the default value `@`. */
function valueName(name: string): string {
  return name === '' ? '(default)' : JSON.stringify(name);
}

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

/** `"text"` with JSON escapes; cut after the first characters when too long. */
function quoted(text: string): string {
  const full = JSON.stringify(text);
  if (full.length <= MAX_DATA_WIDTH) return full;
  const chars = Array.from(text);
  let keep = chars.length;
  let head = full;
  while (keep > 0 && head.length > MAX_DATA_WIDTH - 20) head = JSON.stringify(chars.slice(0, --keep).join(''));
  return `${head}… (${chars.length} characters)`;
}

/** `["a", "b"]`; when too long, the strings that fit and the count. */
function list(strings: readonly string[]): string {
  const items = strings.map((s) => JSON.stringify(s));
  const full = `[${items.join(', ')}]`;
  if (full.length <= MAX_DATA_WIDTH) return full;
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
  const bytes: string[] = [];
  for (let i = 0; i < Math.min(count, MAX_TABLE_BYTES); i++) bytes.push(hex.slice(2 * i, 2 * i + 2));
  return `${bytes.join(' ')}${count > MAX_TABLE_BYTES ? ' …' : ''} (${count} byte${count === 1 ? '' : 's'})`;
}

/** A key path with control characters shown as `\xNN`, so each row stays one line. */
function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
