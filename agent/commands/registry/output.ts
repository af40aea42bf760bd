/**
 * Output helpers of `registry parse`, which prints a document of any size while reading it: JSON written piece
 * by piece exactly as `JSON.stringify(document, null, 2)` would write it whole, and a writer that gathers small
 * pieces into larger ones (one write per {@link OUTPUT_CHUNK_CHARS} characters instead of one per key).
 */

/** Characters gathered before one write to the output (64 Ki: a few syscalls per MB, little memory). */
export const OUTPUT_CHUNK_CHARS = 64 * 1024;

/**
 * `JSON.stringify(value, null, 2)` with every line after the first indented by `indent`, so that the result can
 * be placed at that depth inside a larger document. For plain data (objects, arrays, strings, finite numbers,
 * booleans, null) the output is identical to what `JSON.stringify` of the whole document gives at that place:
 * properties in `Object.keys` order, `undefined`/function properties left out, `undefined` array items as
 * `null`. Linear in the size of the output (strings are escaped by the native `JSON.stringify`).
 * @throws TypeError for a BigInt, as `JSON.stringify` does.
 */
export function indentedJson(value: unknown, indent: string): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i === 0 ? '\n' : ',\n'}${inner}${indentedJson(value[i], inner)}`;
    return `${out}\n${indent}]`;
  }
  let out = '{';
  let empty = true;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    out += `${empty ? '\n' : ',\n'}${inner}${JSON.stringify(key)}: ${indentedJson(item, inner)}`;
    empty = false;
  }
  return empty ? '{}' : `${out}\n${indent}}`;
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
