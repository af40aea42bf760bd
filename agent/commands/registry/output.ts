/**
 * Output helpers of `registry parse`, which prints a document of any size while reading it: JSON written piece
 * by piece exactly as `JSON.stringify(document, null, 2)` would write it whole, and a writer that gathers small
 * pieces into larger ones (one write per {@link OUTPUT_CHUNK_CHARS} characters instead of one per key).
 */

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
