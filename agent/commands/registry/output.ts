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
 * booleans, null) the output is identical to what `JSON.stringify` of the whole document gives at that place
 * (`JSON.stringify` never writes a line break inside a string, so every line break starts a new line of the
 * layout). Native serialization, then one native pass adding the indent: linear in the size of the output.
 * @throws TypeError for a BigInt, as `JSON.stringify` does.
 */
export function indentedJson(value: unknown, indent: string): string {
  const text = JSON.stringify(value, null, 2) as string | undefined;
  if (text === undefined) return 'null';
  return indent === '' ? text : text.replace(LINE_BREAK, `\n${indent}`);
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
