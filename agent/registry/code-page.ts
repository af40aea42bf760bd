/**
 * Windows ANSI code pages for REGEDIT4 `.reg` files. regedit reads and writes a REGEDIT4 file, and the bytes of
 * its `hex(1)`/`hex(2)`/`hex(7)` strings, in the system's ANSI code page (`CP_ACP`): Windows-1252 on Western
 * systems, where `0x80` is `€`, `0x92` `’` and `0x96` `–` (not the C1 controls ISO-8859-1 has there).
 *
 * Supported: the single-byte ANSI code pages 874 and 1250–1258 (setting `AnsiCodePage`). The double-byte ones
 * (932, 936, 949, 950) are refused: Node's decoders for them are not reliable enough to restore a registry.
 */
import { RegistryError } from '#core/errors';

/** The ANSI code pages a REGEDIT4 file may be read and written in (the `AnsiCodePage` setting). */
export const SUPPORTED_ANSI_CODE_PAGES = [874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258] as const;

/** The default ANSI code page (Western European Windows). */
export const DEFAULT_ANSI_CODE_PAGE = 1252;

/**
 * Windows-1252 at 0x80–0x9F (everything else is ISO-8859-1). The five bytes Windows-1252 leaves undefined
 * (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the C1 control of the same number, as `MultiByteToWideChar` maps them.
 * Source: the Unicode consortium's cp1252 mapping table (bestfit1252.txt).
 */
const CP1252_HIGH = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
  0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/** One ANSI code page: decoding and encoding of its bytes. */
export interface AnsiCodePage {
  /** The code page number, e.g. 1252. */
  readonly number: number;
  /** Decodes bytes of this code page (every byte decodes to one character). */
  decode(bytes: Uint8Array): string;
  /** Encodes text in this code page, or `undefined` when a character has no byte in it. */
  encode(text: string): Buffer | undefined;
}

const cache = new Map<number, AnsiCodePage>();

/**
 * The code page `number` (cached).
 * @throws RegistryError (code `REG_CODE_PAGE`) when it is not one of {@link SUPPORTED_ANSI_CODE_PAGES}.
 */
export function ansiCodePage(number: number = DEFAULT_ANSI_CODE_PAGE): AnsiCodePage {
  const cached = cache.get(number);
  if (cached) return cached;
  if (!(SUPPORTED_ANSI_CODE_PAGES as readonly number[]).includes(number)) {
    throw new RegistryError(
      'REG_CODE_PAGE',
      `ANSI code page ${number} is not supported for REGEDIT4 files (supported: ${SUPPORTED_ANSI_CODE_PAGES.join(', ')})`,
      { context: { codePage: number } },
    );
  }
  const page = number === 1252 ? cp1252() : fromTextDecoder(number);
  cache.set(number, page);
  return page;
}

function cp1252(): AnsiCodePage {
  const high = String.fromCharCode(...CP1252_HIGH);
  const table = Array.from({ length: 256 }, (_, i) => (i >= 0x80 && i < 0xa0 ? high[i - 0x80] : String.fromCharCode(i)));
  return {
    number: 1252,
    // latin1 is native and fast; only 0x80–0x9F differ.
    decode: (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1').replace(/[\x80-\x9f]/g, (c) => high[c.charCodeAt(0) - 0x80]),
    encode: encoderFor(table),
  };
}

function fromTextDecoder(number: number): AnsiCodePage {
  const decoder = new TextDecoder(`windows-${number}`);
  const table = Array.from({ length: 256 }, (_, i) => decoder.decode(Uint8Array.of(i)));
  return { number, decode: (bytes) => decoder.decode(bytes), encode: encoderFor(table) };
}

/** An encoder from the 256 decoded bytes (`\uFFFD` marks a byte without a character). */
function encoderFor(table: readonly string[]): (text: string) => Buffer | undefined {
  const reverse = new Map<number, number>();
  table.forEach((ch, byte) => {
    if (ch.length === 1 && ch !== '\ufffd' && !reverse.has(ch.charCodeAt(0))) reverse.set(ch.charCodeAt(0), byte);
  });
  return (text) => {
    if (/^[\x00-\x7f]*$/.test(text)) return Buffer.from(text, 'latin1');
    const out = Buffer.allocUnsafe(text.length);
    for (let i = 0; i < text.length; i++) {
      const byte = reverse.get(text.charCodeAt(i));
      if (byte === undefined) return undefined;
      out[i] = byte;
    }
    return out;
  };
}
