/**
 * Output helpers of `registry parse`, which prints a document of any size while reading it: JSON written piece
 * by piece exactly as `JSON.stringify(document, null, 2)` would write it whole, and a writer that gathers small
 * pieces into larger ones (one write per {@link OUTPUT_CHUNK_CHARS} characters instead of one per key).
 */
import type { RegOperation, RegValue, RegValueDeletion } from '#agent/registry/types';

/**
 * Characters gathered before one write to the output (16 Ki: a few dozen writes per MB; measured faster than
 * 64 Ki with the bench of issue 18, whose larger joined strings cost more to build than they saved).
 */
export const OUTPUT_CHUNK_CHARS = 16 * 1024;

/**
 * `JSON.stringify(value, null, 2)` with every line after the first indented by `indent`, so that the result can
 * be placed at that depth inside a larger document. For plain data (objects, arrays, strings, finite numbers,
 * booleans, null) the output is identical to what `JSON.stringify` of the whole document gives at that place:
 * for an indent of 2·d spaces the value is serialized natively inside d nested arrays, which lays it out at
 * exactly that depth, and the arrays' brackets are cut off (no second pass over the text). Any other indent
 * is added after each line break (`JSON.stringify` never writes a line break inside a string).
 * @throws TypeError for a BigInt, as `JSON.stringify` does.
 */
export function indentedJson(value: unknown, indent: string): string {
  const depth = indent.length / 2;
  if (depth >= 1 && Number.isInteger(depth) && /^ *$/.test(indent)) {
    let wrapped = value;
    for (let i = 0; i < depth; i++) wrapped = [wrapped];
    // d levels of `[\n` + 2k spaces before the value, `\n` + 2k spaces + `]` after it (k = 1…d and 0…d−1).
    return JSON.stringify(wrapped, null, 2).slice(2 * depth + depth * (depth + 1), -(2 * depth + depth * (depth - 1)));
  }
  const text = JSON.stringify(value, null, 2) as string | undefined;
  return text === undefined ? 'null' : text.replace(LINE_BREAK, `\n${indent}`);
}

const LINE_BREAK = /\n/g;

/** A character `JSON.stringify` writes escaped: `"`, `\\`, a control character, or a surrogate (a lone one is escaped). */
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `JSON.stringify(text)`: the text in quotes, placed as it is when nothing in it needs an escape (cheaper than the
 * serializer's set-up for the many short strings of a registry export).
 */
export function jsonString(text: string): string {
  return NEEDS_JSON_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

/**
 * One operation of the `--json` document's `operations` list, at its depth (4 spaces): the same text as
 * `indentedJson(operation, '    ')`, i.e. as `JSON.stringify(document, null, 2)` lays it out, for the operations
 * the `.reg` reader makes (`{ op, key, values }` with values `{ name, type, data }` or `{ name, op }`, properties
 * in that order, data a string, a finite number or a list of strings). Written from that known shape instead of by
 * the generic serializer: about half the time on the registry benchmark (issue 18). Strings go through
 * {@link jsonString}: the bulk of the text, hex data, has nothing to escape and is placed as it is.
 * Any other shape (an object built elsewhere, with other properties or another order) is handed to
 * {@link indentedJson}, so the text is identical in every case.
 */
export function operationJson(operation: RegOperation): string {
  if (!hasReaderShape(operation)) return indentedJson(operation, '    ');
  if (operation.op === 'deleteKey') return `{\n      "op": "deleteKey",\n      "key": ${jsonString(operation.key)}\n    }`;
  const { values } = operation;
  if (values.length === 0) return `{\n      "op": "setKey",\n      "key": ${jsonString(operation.key)},\n      "values": []\n    }`;
  let text = `{\n      "op": "setKey",\n      "key": ${jsonString(operation.key)},\n      "values": [`;
  for (let i = 0; i < values.length; i++) text += `${i === 0 ? '\n        ' : ',\n        '}${valueJson(values[i])}`;
  return `${text}\n      ]\n    }`;
}

/** A value or value deletion at depth 8 (see {@link operationJson}). */
function valueJson(value: RegValue | RegValueDeletion): string {
  const name = jsonString(value.name);
  if ('op' in value) return `{\n          "name": ${name},\n          "op": "deleteValue"\n        }`;
  return `{\n          "name": ${name},\n          "type": ${jsonString(value.type)},\n          "data": ${dataJson(value.data)}\n        }`;
}

/** Data of a value at depth 10: a string, a number or a list of strings, as `JSON.stringify` lays it out. */
function dataJson(data: string | number | readonly string[]): string {
  if (typeof data === 'string') return jsonString(data);
  if (typeof data === 'number') return JSON.stringify(data);
  if (data.length === 0) return '[]';
  let text = '[';
  for (let i = 0; i < data.length; i++) text += `${i === 0 ? '\n            ' : ',\n            '}${jsonString(data[i])}`;
  return `${text}\n          ]`;
}

/**
 * Whether `operation` has exactly the shape {@link operationJson} writes by hand: the properties the reader sets,
 * in its order, with data of the kinds it makes. Cheap (a few property checks per value).
 */
function hasReaderShape(operation: RegOperation): boolean {
  if (operation.op === 'deleteKey') return sameKeys(operation, DELETE_KEY_KEYS) && typeof operation.key === 'string';
  if (operation.op !== 'setKey' || !sameKeys(operation, SET_KEY_KEYS) || typeof operation.key !== 'string' || !Array.isArray(operation.values)) return false;
  for (const value of operation.values) {
    if (value === null || typeof value !== 'object' || typeof value.name !== 'string') return false;
    if ('op' in value) {
      if (value.op !== 'deleteValue' || !sameKeys(value, VALUE_DELETION_KEYS)) return false;
    } else if (!sameKeys(value, VALUE_KEYS) || typeof value.type !== 'string' || !isPlainData(value.data)) return false;
  }
  return true;
}

const SET_KEY_KEYS = ['op', 'key', 'values'];
const DELETE_KEY_KEYS = ['op', 'key'];
const VALUE_KEYS = ['name', 'type', 'data'];
const VALUE_DELETION_KEYS = ['name', 'op'];

/** Whether `object`'s own enumerable properties are exactly `keys`, in that order. */
function sameKeys(object: object, keys: readonly string[]): boolean {
  let i = 0;
  for (const key in object) {
    if (!Object.hasOwn(object, key)) return false;
    if (key !== keys[i++]) return false;
  }
  return i === keys.length;
}

/** A string, a finite number, or an array of strings (no holes): the data the reader makes. */
function isPlainData(data: unknown): boolean {
  if (typeof data === 'string') return true;
  if (typeof data === 'number') return Number.isFinite(data);
  if (!Array.isArray(data)) return false;
  for (let i = 0; i < data.length; i++) if (typeof data[i] !== 'string') return false;
  return true;
}

/**
 * Gathers text and hands it to `write` in pieces of at least {@link OUTPUT_CHUNK_CHARS} characters (a piece
 * larger than that goes out at once); {@link flush} sends the rest. Order is kept.
 */
export class ChunkedOutput {
  private pieces: string[] = [];
  private length = 0;

  /** @param write receives the gathered text. */
  constructor(private readonly write: (text: string) => void) {}

  /** Adds text; writes when enough has been gathered. */
  add(text: string): void {
    this.pieces.push(text);
    this.length += text.length;
    if (this.length >= OUTPUT_CHUNK_CHARS) this.flush();
  }

  /** Writes what has been gathered (nothing when empty). */
  flush(): void {
    if (this.length === 0) return;
    const text = this.pieces.length === 1 ? this.pieces[0] : this.pieces.join('');
    this.pieces = [];
    this.length = 0;
    this.write(text);
  }
}
