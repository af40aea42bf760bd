/**
 * The bytes of a `.reg` file cut into lines without decoding them: each line is handed over as a range of code
 * units ({@link UnitLine}) — UTF-16 code units for a UTF-16 file (normalized to little-endian), bytes for an
 * 8-bit file (UTF-8, ANSI). Every character the `.reg` syntax uses (`[`, `]`, `"`, `=`, `,`, `\`, `;`, blanks,
 * hex digits) is ASCII and is its own code unit in each of these encodings (UTF-8 never uses bytes below 0x80
 * inside a multi-byte character), so the reader can read that syntax — above all the hex data that is most of a
 * registry export — straight from the units, and decode only the ranges that are text (names, strings).
 *
 * Why: decoding the whole of a 60 MB UTF-16 file into JavaScript strings cost more than reading it (issue 18).
 *
 * Lines end at CRLF, LF or a lone CR (regedit accepts all three), also when the CR and LF of a CRLF fall in two
 * chunks. NULs and Ctrl-Z padding at the very end of a file (old exporters) are dropped. A lone last byte of
 * UTF-16 text (a truncated file) is dropped and reported by {@link UnitLineSplitter.end}.
 */
import type { AnsiCodePage } from './code-page';
import type { RegEncoding } from './reg-text';

/** Code units of a line: UTF-16 code units or bytes. */
export type CodeUnits = Uint16Array | Uint8Array;

const EMPTY = Buffer.alloc(0);

/**
 * One line without its line break: `units[start…end)`. {@link text} decodes a range of it. The object is reused
 * for every line and its units are valid only until the next line is handed over (callers copy what they keep:
 * decoded text is a copy).
 */
export class UnitLine {
  /** The code units (a view of {@link bytes}: unit `i` is bytes `i` (8-bit) or `2i…2i+1` (UTF-16LE)). */
  units: CodeUnits = EMPTY;
  /** The bytes under {@link units}. */
  bytes: Buffer = EMPTY;
  /** First unit of the line. */
  start = 0;
  /** Unit after the last one of the line. */
  end = 0;

  /**
   * @param width bytes per code unit (2: UTF-16LE; 1: 8-bit).
   * @param decode8 for 8-bit text: decodes bytes (UTF-8 or the ANSI code page).
   */
  constructor(
    readonly width: 1 | 2,
    private readonly decode8: (bytes: Buffer) => string,
  ) {}

  /** The text of units `from…to` of this line. */
  text(from: number, to: number): string {
    return this.width === 2 ? this.bytes.toString('utf16le', 2 * from, 2 * to) : this.decode8(this.bytes.subarray(from, to));
  }
}

/**
 * Short texts decoded before, found again from their code units (string interning): a registry export writes the
 * same value names in key after key (`"DisplayName"`, `"Version"`, …), and taking the string already made saves
 * a decoding call, a string allocation and the garbage collection of it for each value — and every value with
 * that name then shares one string. A direct-mapped table of {@link TEXT_CACHE_SLOTS} slots: a text whose slot
 * holds another text replaces it. Only texts of at most {@link TEXT_CACHE_MAX_UNITS} units are kept, and in an
 * 8-bit file only ASCII ones (whose bytes are their characters in UTF-8 and every ANSI code page); in a UTF-16 file
 * each code unit is one character code of the decoded string, so any text can be compared unit by unit.
 */
export class TextCache {
  private readonly texts: Array<string | undefined> = new Array<string | undefined>(TEXT_CACHE_SLOTS).fill(undefined);

  /**
   * The text of units `from…to` of `line`, from the cache when it holds it.
   * @param hash any 32-bit hash of those units that is the same for the same units (the caller computes it
   *   while scanning them anyway).
   */
  text(line: UnitLine, from: number, to: number, hash: number): string {
    const length = to - from;
    if (length > TEXT_CACHE_MAX_UNITS) return line.text(from, to);
    const slot = (hash ^ (hash >>> 15) ^ length) & (TEXT_CACHE_SLOTS - 1);
    const cached = this.texts[slot];
    const { units } = line;
    if (cached !== undefined && cached.length === length) {
      let same = true;
      for (let i = 0; i < length; i++) {
        if (cached.charCodeAt(i) !== units[from + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const text = line.text(from, to);
    if (line.width === 1) {
      for (let i = from; i < to; i++) if (units[i] >= 0x80) return text; // not ASCII: characters are not units
    }
    this.texts[slot] = text;
    return text;
  }
}

/** Slots of a {@link TextCache} (a power of two). */
const TEXT_CACHE_SLOTS = 1024;
/** Longest text a {@link TextCache} keeps, in code units. */
const TEXT_CACHE_MAX_UNITS = 64;

/**
 * Cuts bytes pushed in chunks (any sizes, no byte-order mark) into {@link UnitLine}s. A line spanning chunks is
 * kept as a list of pieces until it ends and joined once, so long lines cost no repeated copying. Line breaks are
 * found with the native `Buffer.indexOf` (UTF-16: a match must be a whole code unit).
 */
export class UnitLineSplitter {
  private readonly line: UnitLine;
  private readonly width: 1 | 2;
  private readonly bigEndian: boolean;
  /** Bytes of a line begun in an earlier chunk. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** The last chunk ended with a CR: an LF starting the next one belongs to it. */
  private pendingCr = false;
  /** UTF-16: the first byte of a code unit whose second byte is in the next chunk. */
  private oddByte: number | undefined;

  /**
   * @param encoding the file's encoding (as detected by `detectRegEncoding`).
   * @param page the ANSI code page (used when `encoding` is ANSI).
   * @param onLine called with each complete line.
   */
  constructor(
    encoding: RegEncoding,
    page: AnsiCodePage,
    private readonly onLine: (line: UnitLine) => void,
  ) {
    this.width = encoding.startsWith('UTF-16') ? 2 : 1;
    this.bigEndian = encoding.startsWith('UTF-16BE');
    const decode8 = encoding.startsWith('UTF-8') ? (bytes: Buffer) => bytes.toString('utf8') : (bytes: Buffer) => page.decode(bytes);
    this.line = new UnitLine(this.width, decode8);
  }

  /** Adds bytes; calls `onLine` for each line they complete. */
  push(chunk: Buffer): void {
    const bytes = this.width === 2 ? this.utf16Units(chunk) : chunk;
    const count = bytes.length / this.width;
    if (count === 0) return;
    const units = this.view(bytes);
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (units[0] === 10) start = 1; // the LF of a CRLF split between chunks
    }
    // The next CR and the next LF, each searched again only once passed (two native scans in all).
    let cr = this.find(bytes, 13, start);
    let lf = this.find(bytes, 10, start);
    while (cr !== -1 || lf !== -1) {
      const lineStart = start;
      let end: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (lf === cr + 1) start = cr + 2; // CRLF
        else {
          start = cr + 1; // a lone CR, or a CR ending this chunk (its LF may start the next one)
          if (start === count) this.pendingCr = true;
        }
      } else {
        end = lf;
        start = lf + 1;
      }
      this.emit(bytes, units, lineStart, end);
      if (cr !== -1 && cr < start) cr = this.find(bytes, 13, start);
      if (lf !== -1 && lf < start) lf = this.find(bytes, 10, start);
    }
    if (start < count) this.keep(bytes.subarray(start * this.width));
  }

  /**
   * Ends the text: hands over the last line (if any, without trailing NUL or Ctrl-Z padding).
   * @returns whether a lone last byte of UTF-16 text was dropped (a truncated file).
   */
  end(): { truncatedUtf16: boolean } {
    const truncatedUtf16 = this.oddByte !== undefined;
    this.oddByte = undefined;
    if (this.carryBytes > 0) {
      const bytes = this.aligned(this.takeCarry(EMPTY));
      const units = this.view(bytes);
      let end = units.length;
      while (end > 0 && (units[end - 1] === 0 || units[end - 1] === 0x1a)) end--;
      if (end > 0) this.hand(bytes, units, 0, end);
    }
    return { truncatedUtf16 };
  }

  /** UTF-16 bytes of `chunk` as whole little-endian code units, 2-byte aligned (copied only when needed). */
  private utf16Units(chunk: Buffer): Buffer {
    let bytes = chunk;
    if (this.oddByte !== undefined) {
      bytes = Buffer.concat([Buffer.of(this.oddByte), chunk]);
      this.oddByte = undefined;
    }
    if (bytes.length % 2 !== 0) {
      this.oddByte = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (this.bigEndian) return Buffer.from(bytes).swap16();
    return this.aligned(bytes);
  }

  /** `bytes`, or a copy of them starting at an even address (a Uint16Array view needs one). */
  private aligned(bytes: Buffer): Buffer {
    return this.width === 1 || bytes.byteOffset % 2 === 0 ? bytes : Buffer.from(bytes);
  }

  /** The code units of (aligned) `bytes`. */
  private view(bytes: Buffer): CodeUnits {
    return this.width === 1 ? bytes : new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
  }

  /** Index (in units) of the next unit `code` from unit `from`, or -1. */
  private find(bytes: Buffer, code: number, from: number): number {
    if (this.width === 1) return bytes.indexOf(code, from);
    let i = bytes.indexOf(code, 2 * from);
    while (i !== -1 && (i % 2 !== 0 || bytes[i + 1] !== 0)) i = bytes.indexOf(code, i + 1);
    return i === -1 ? -1 : i / 2;
  }

  private emit(bytes: Buffer, units: CodeUnits, start: number, end: number): void {
    if (this.carryBytes === 0) {
      this.hand(bytes, units, start, end);
      return;
    }
    const joined = this.aligned(this.takeCarry(bytes.subarray(start * this.width, end * this.width)));
    this.hand(joined, this.view(joined), 0, joined.length / this.width);
  }

  private hand(bytes: Buffer, units: CodeUnits, start: number, end: number): void {
    const { line } = this;
    line.bytes = bytes;
    line.units = units;
    line.start = start;
    line.end = end;
    this.onLine(line);
  }

  private keep(bytes: Buffer): void {
    // Copied: the chunk's memory may be reused by the stream once this push returns.
    this.carry.push(Buffer.from(bytes));
    this.carryBytes += bytes.length;
  }

  private takeCarry(tail: Buffer): Buffer {
    const joined = Buffer.concat([...this.carry, tail], this.carryBytes + tail.length);
    this.carry = [];
    this.carryBytes = 0;
    return joined;
  }
}
