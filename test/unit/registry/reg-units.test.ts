/**
 * The byte reader reads lines as code units (agent/registry/reg-units.ts) and takes a fast path for the value lines
 * regedit writes (agent/registry/reg-reader.ts, `RegLineParser.unitLine`). Both must read every file exactly as
 * the general, rule-by-rule path over decoded text does (`parseRegText`): same operations, same warnings with
 * the same line and column — whatever the encoding and however the bytes are cut into chunks.
 */
import fc from 'fast-check';
import { ansiCodePage, parseRegText, RegByteReader, type RegReadSummary } from '#agent/registry/reg-format';
import { UnitLineSplitter } from '#agent/registry/reg-units';
import type { RegOperation } from '#agent/registry/types';

const HEADER5 = 'Windows Registry Editor Version 5.00';

/** Reads `bytes` through the byte reader, pushed in pieces cut at `cuts` (byte offsets). */
function readInPieces(bytes: Buffer, cuts: number[]): { operations: RegOperation[]; summary: RegReadSummary } {
  const operations: RegOperation[] = [];
  const reader = new RegByteReader((operation) => operations.push(operation));
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    reader.write(bytes.subarray(at, Math.max(at, cut)));
    at = Math.max(at, cut);
  }
  reader.write(bytes.subarray(at));
  return { operations, summary: reader.end() };
}

/** Lines split by UnitLineSplitter from chunks, as decoded text. */
function splitLines(encoding: 'UTF-16LE' | 'UTF-16BE' | 'UTF-8', chunks: Buffer[]): { lines: string[]; truncatedUtf16: boolean } {
  const lines: string[] = [];
  const splitter = new UnitLineSplitter(encoding, ansiCodePage(), (line) => lines.push(line.text(line.start, line.end)));
  for (const chunk of chunks) splitter.push(chunk);
  return { lines, ...splitter.end() };
}

describe('reg-units: lines as code units', () => {
  it('ends lines at CRLF, LF and a lone CR, also when the CR and LF of a CRLF are in two chunks', () => {
    const bytes = Buffer.from('a\r\nb\nc\rd\r\ne', 'utf16le');
    const crAt = bytes.indexOf(Buffer.from('\r\ne', 'utf16le'));
    expect(splitLines('UTF-16LE', [bytes]).lines).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(splitLines('UTF-16LE', [bytes.subarray(0, crAt + 2), bytes.subarray(crAt + 2)]).lines).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('joins a line spread over many chunks, and a UTF-16 character cut between two chunks', () => {
    const bytes = Buffer.from('日本\u{1F600}x\r\nz', 'utf16le');
    const oneByteChunks = [...bytes].map((b) => Buffer.of(b));
    expect(splitLines('UTF-16LE', oneByteChunks)).toEqual({ lines: ['日本\u{1F600}x', 'z'], truncatedUtf16: false });
  });

  it('reads UTF-16BE as the same code units', () => {
    expect(splitLines('UTF-16BE', [Buffer.from('ab\r\nc', 'utf16le').swap16()]).lines).toEqual(['ab', 'c']);
  });

  it('finds line breaks only on whole UTF-16 code units (U+0A0D holds the bytes of CR and LF)', () => {
    const bytes = Buffer.from('a\u0a0d\u0d0ab\r\nc', 'utf16le');
    expect(splitLines('UTF-16LE', [bytes]).lines).toEqual(['a\u0a0d\u0d0ab', 'c']);
  });

  it('drops NUL and Ctrl-Z padding at the very end, and reports a lone last UTF-16 byte', () => {
    expect(splitLines('UTF-16LE', [Buffer.from('a\r\nb\0\x1a\0', 'utf16le')]).lines).toEqual(['a', 'b']);
    expect(splitLines('UTF-16LE', [Buffer.from('a\r\n', 'utf16le'), Buffer.from([0x41])])).toEqual({ lines: ['a'], truncatedUtf16: true });
  });

  it('decodes UTF-8 lines whole, whatever the chunks', () => {
    const bytes = Buffer.from('é☃\nü', 'utf8');
    expect(splitLines('UTF-8', [...bytes].map((b) => Buffer.of(b))).lines).toEqual(['é☃', 'ü']);
  });
});

/** Pieces of `.reg` lines, well-formed and not: what the fast path takes and everything next to it. */
const FRAGMENTS = [
  '"name"', '"a b"', '"q\\"x"', '"p\\\\q"', '"bad\\0"', '"k\\z"', '@', '=', ' = ', '"', '"str"', '"日本"', '-',
  'hex:', 'hex(2):', 'hex(7):', 'hex(b):', 'hex(0):', 'hex(100000000):', 'hex(', 'HEX:', 'hex', 'dword:', 'DWORD:',
  '0000002a', '123456789', 'ff', 'f', '01,', '02,', 'ab,', 'a,', '0g,', ',', ' ', '\t', '\\', ' \\', '\\ ;c', ';c', '#c',
  '[HKEY_LOCAL_MACHINE\\K]', '[HKEY_CURRENT_USER\\K\\]', '[-HKEY_LOCAL_MACHINE\\K]', '[HKLM\\K]', '[ HKEY_USERS\\K]', ']',
  '\\\\', '00,00,', '25,00,', '61,00,00,00', '\u00e9', '\u2603', '\ud83d', '\ud83d\ude00',
];
const BREAKS = ['\r\n', '\n', '\r'];

const join = (parts: readonly string[]) => parts.join('');
/** Hex bytes joined by commas (some malformed). */
const hexBytes = fc.array(fc.constantFrom('01', 'ab', 'FF', 'e9', '00', '0', 'f', '0g', '', ' 2'), { maxLength: 8 }).map((b) => b.join(','));
/** A value line: mostly as regedit writes it, often with one thing wrong. */
const valueLine = fc
  .tuple(
    fc.constantFrom('', '', '', ' '),
    fc.constantFrom('"name"', '"a b"', '"q\\"x"', '"p\\\\q"', '@', '"bad\\0"', '"k\\z"', '"日本"', '"', '""', '"\ud83d"'),
    fc.constantFrom('=', '=', '=', ' = ', ''),
    fc.oneof(
      fc.constantFrom('"str"', '"C:\\\\Dir\\\\x"', '"q\\"x"', '"a\\0"', '"open', '"x" ;c', '"x" y', '"x"\\', '-', '- ;c', '-x'),
      fc.constantFrom('dword:0000002a', 'dword:2a', 'dword: 2a', 'dword:123456789', 'DWORD:1', 'dword:1 ;c', 'dword:1x', 'dword:', 'dword:ffffffff'),
      fc
        .tuple(
          fc.constantFrom('hex:', 'hex(2):', 'hex(7):', 'hex(b):', 'hex(4):', 'hex(1):', 'hex(100000000):', 'hex(0):', 'HEX:', 'hex(:', 'hex(2)', 'hex():'),
          hexBytes,
          fc.constantFrom('', ',', ',\\', ',\\', ',\\ ', ', \\', '\\', ' ;c', ',\\ ;c', ' x', ',,', ' ', ',\\x'),
        )
        .map(join),
    ),
  )
  .map(join);
/** A continuation line of hex data (or something in its place). */
const continuationLine = fc
  .tuple(fc.constantFrom('  ', '  ', '', '\t'), hexBytes, fc.constantFrom('', ',', ',\\', ',\\', '\\', ' ;c', ',\\ ;c', ' ,', 'x', ',\\x'))
  .map(join);
const otherLine = fc.constantFrom('', '', ';c', '#c', '[HKEY_LOCAL_MACHINE\\K]', '[-HKEY_LOCAL_MACHINE\\K]', '[HKLM\\K]', ' ', 'junk', '[HKEY_CURRENT_USER\\K\\]', '[-HKEY_LOCAL_MACHINE]');
const garbageLine = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 7 }).map(join);
const anyLine = fc.oneof(
  { weight: 4, arbitrary: valueLine },
  { weight: 4, arbitrary: continuationLine },
  { weight: 2, arbitrary: otherLine },
  { weight: 1, arbitrary: garbageLine },
);

/** A text of the header and random lines. */
const regText = fc
  .array(fc.tuple(anyLine, fc.constantFrom(...BREAKS)), { maxLength: 16 })
  .map((lines) => `${HEADER5}\r\n[HKEY_LOCAL_MACHINE\\Start]\r\n${lines.map(([line, br]) => line + br).join('')}`);

const sameAsGeneralPath = (source: string, bytes: Buffer, cuts: number[]) => {
  const general = parseRegText(source);
  const { operations, summary } = readInPieces(bytes, cuts);
  expect(operations).toEqual(general.operations);
  expect(summary.warnings).toEqual(general.warnings);
};

describe('reg-units: the byte reader reads every file as the general path does', () => {
  it('UTF-16LE with BOM, in random chunks: same operations, same warnings (line, column, message)', () => {
    fc.assert(
      fc.property(regText, fc.array(fc.nat(2000), { maxLength: 6 }), (source, cuts) => {
        sameAsGeneralPath(source, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(source, 'utf16le')]), cuts);
      }),
      { numRuns: 600 },
    );
  });

  it('UTF-8, in random chunks: same operations, same warnings', () => {
    const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
    fc.assert(
      fc.property(regText.filter(wellFormed), fc.array(fc.nat(1000), { maxLength: 6 }), (source, cuts) => {
        sameAsGeneralPath(source, Buffer.from(source, 'utf8'), cuts);
      }),
      { numRuns: 300 },
    );
  });

  it('REGEDIT4 (ANSI, code page 1252), in random chunks: same operations, same warnings', () => {
    const ansi = regText.map((s) => s.replace(HEADER5, 'REGEDIT4').replace(/[^\x00-\xff]/g, 'x'));
    fc.assert(
      fc.property(ansi, fc.array(fc.nat(1000), { maxLength: 6 }), (source, cuts) => {
        sameAsGeneralPath(source, Buffer.from(source, 'latin1'), cuts);
      }),
      { numRuns: 300 },
    );
  });
});
