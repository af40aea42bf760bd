/**
 * The text layer of the `.reg` reader: which encoding a file is in, and its bytes turned into lines, chunk by
 * chunk (so a file of any size is read with memory bounded by its longest line).
 *
 * Encoding, from the first bytes: a UTF-16LE/BE or UTF-8 byte-order mark; without one, a NUL in the second byte
 * means UTF-16LE, in the first UTF-16BE. An 8-bit file whose header is `REGEDIT4` is ANSI (the `AnsiCodePage`
 * setting, Windows-1252 by default), as regedit reads it; any other 8-bit file is UTF-8 when it is valid UTF-8,
 * else ANSI. The byte-order mark is not part of the text.
 *
 * Lines end at CRLF, LF or a lone CR (regedit accepts all three). NULs and Ctrl-Z padding at the very end of a
 * file (old exporters) are dropped.
 */
import { StringDecoder } from 'node:string_decoder';
import { ansiCodePage, type AnsiCodePage } from './code-page';

/** How the text of a `.reg` file was encoded. */
export type RegEncoding =
  | 'UTF-16LE with BOM'
  | 'UTF-16LE'
  | 'UTF-16BE with BOM'
  | 'UTF-16BE'
  | 'UTF-8 with BOM'
  | 'UTF-8'
  | `ANSI (code page ${number})`;

/** The first line of a REGEDIT4 file. */
export const REGEDIT4_HEADER = 'REGEDIT4';

/** Bytes needed to tell the encoding (BOM or NUL pattern, then the `REGEDIT4` header after blanks). */
export const ENCODING_PROBE_BYTES = 256;

/**
 * The encoding of a file from its first bytes (`head`, at least {@link ENCODING_PROBE_BYTES} unless the file is
 * shorter). `utf8Valid` answers, for an 8-bit file that is not REGEDIT4, whether the whole file is valid UTF-8.
 */
export function detectRegEncoding(head: Buffer, utf8Valid: () => boolean, page: AnsiCodePage): { encoding: RegEncoding; bomBytes: number } {
  const [b0, b1, b2] = head;
  if (b0 === 0xff && b1 === 0xfe) return { encoding: 'UTF-16LE with BOM', bomBytes: 2 };
  if (b0 === 0xfe && b1 === 0xff) return { encoding: 'UTF-16BE with BOM', bomBytes: 2 };
  if (b0 === 0xef && b1 === 0xbb && b2 === 0xbf) return { encoding: 'UTF-8 with BOM', bomBytes: 3 };
  if (head.length >= 2 && b0 !== 0 && b1 === 0) return { encoding: 'UTF-16LE', bomBytes: 0 };
  if (head.length >= 2 && b0 === 0 && b1 !== 0) return { encoding: 'UTF-16BE', bomBytes: 0 };
  const ansi = `ANSI (code page ${page.number})` as const;
  // regedit reads a REGEDIT4 file as ANSI text; so do we (otherwise ANSI bytes that happen to form valid
  // UTF-8, like "Ã©", would be misread).
  if (head.toString('latin1').replace(/^[ \t\r\n]+/, '').startsWith(REGEDIT4_HEADER)) return { encoding: ansi, bomBytes: 0 };
  return { encoding: utf8Valid() ? 'UTF-8' : ansi, bomBytes: 0 };
}

/** Turns chunks of bytes in one encoding into text; `final` flushes. Reports a dangling UTF-16 byte. */
export interface ChunkDecoder {
  decode(chunk: Buffer): string;
  /** The rest of the text, and whether a lone last byte of UTF-16 text was dropped (a truncated file). */
  end(): { text: string; truncatedUtf16: boolean };
}

/** A {@link ChunkDecoder} for `encoding`. */
export function chunkDecoder(encoding: RegEncoding, page: AnsiCodePage): ChunkDecoder {
  if (encoding.startsWith('UTF-16')) return utf16Decoder(encoding.startsWith('UTF-16BE') ? 'BE' : 'LE');
  if (encoding.startsWith('UTF-8')) {
    const decoder = new StringDecoder('utf8');
    return { decode: (chunk) => decoder.write(chunk), end: () => ({ text: decoder.end(), truncatedUtf16: false }) };
  }
  return { decode: (chunk) => page.decode(chunk), end: () => ({ text: '', truncatedUtf16: false }) };
}

function utf16Decoder(order: 'LE' | 'BE'): ChunkDecoder {
  let carry: Buffer | undefined;
  return {
    decode(chunk) {
      let bytes = carry ? Buffer.concat([carry, chunk]) : chunk;
      carry = undefined;
      if (bytes.length % 2 !== 0) {
        carry = Buffer.from(bytes.subarray(bytes.length - 1));
        bytes = bytes.subarray(0, bytes.length - 1);
      }
      if (order === 'BE') bytes = Buffer.from(bytes).swap16();
      return bytes.toString('utf16le');
    },
    end: () => ({ text: '', truncatedUtf16: carry !== undefined }),
  };
}

/**
 * Splits text pushed in pieces into lines (CRLF, LF or CR). A line longer than one piece is kept as a list of
 * pieces until it ends, so long lines cost no repeated scanning.
 */
export class LineSplitter {
  private pieces: string[] = [];
  private pendingCr = false;

  /** @param onLine called with each complete line, without its line break. */
  constructor(private readonly onLine: (line: string) => void) {}

  /** Adds text; calls `onLine` for each line it completes. */
  push(text: string): void {
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text.charCodeAt(0) === 10) start = 1; // the LF of a CRLF split between pieces
    }
    // The next CR and the next LF, each searched again only once passed (two native scans per line, no regex).
    let cr = text.indexOf('\r', start);
    let lf = text.indexOf('\n', start);
    while (cr !== -1 || lf !== -1) {
      const lineStart = start;
      let end: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (lf === cr + 1) start = cr + 2; // CRLF
        else {
          start = cr + 1; // a lone CR, or a CR ending this piece (its LF may start the next one)
          if (start === text.length) this.pendingCr = true;
        }
      } else {
        end = lf;
        start = lf + 1;
      }
      this.emit(text.slice(lineStart, end));
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    }
    if (start < text.length) this.pieces.push(text.slice(start));
  }

  /** Ends the text: the last line (if any), without trailing NUL or Ctrl-Z padding. */
  end(): void {
    const last = this.pieces.join('').replace(/[\0\x1a]+$/, '');
    this.pieces = [];
    if (last !== '') this.onLine(last);
  }

  private emit(tail: string): void {
    if (this.pieces.length === 0) {
      this.onLine(tail);
      return;
    }
    this.pieces.push(tail);
    const line = this.pieces.join('');
    this.pieces = [];
    this.onLine(line);
  }
}

