/**
 * The byte reader reads lines as code units (agent/registry/reg-units.ts) and takes a fast path for the value lines
 * regedit writes (agent/registry/reg-reader.ts, `RegLineParser.unitLine`). Both must read every file exactly as
 * the general, rule-by-rule path over decoded text does (`parseRegText`): same operations, same warnings with
 * the same line and column — whatever the encoding and however the bytes are cut into chunks.
 */
import fc from 'fast-check';
import { ansiCodePage, parseRegText, RegByteReader, type RegReadSummary } from '#agent/registry/reg-format';
import { UnitLineSplitter } from '#agent/registry/reg-units';
import { decodeTypedValue } from '#agent/registry/reg-reader';
import type { RegOperation, RegValue } from '#agent/registry/types';

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

describe('reg-units: value names taken from the text cache read exactly as decoding them', () => {
  it.each<[string, (text: string) => Buffer, string]>([
    ['UTF-16LE with BOM', (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), HEADER5],
    ['UTF-8', (text) => Buffer.from(text, 'utf8'), HEADER5],
    ['REGEDIT4 (ANSI, code page 1252)', (text) => Buffer.from(text, 'latin1'), 'REGEDIT4'],
  ])('%s: 3000 names (many sharing a cache slot), each read three times, non-ASCII and escaped ones among them', (_encoding, encode, header) => {
    const names = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? `Näme${i}` : i % 11 === 0 ? `Esc\\\\${i}` : `Name${i}`));
    const lines = [header, ''];
    for (let round = 0; round < 3; round++) {
      lines.push(`[HKEY_LOCAL_MACHINE\\R${round}]`);
      for (const name of names) lines.push(`"${name}"=dword:00000001`);
    }
    const source = `${lines.join('\r\n')}\r\n`;
    const { operations } = readInPieces(encode(source), [1000, 70000]);
    const expected = names.map((name) => ({ name: name.replace(/\\\\/g, '\\'), type: 'REG_DWORD', data: 1 }));
    expect(operations).toEqual([0, 1, 2].map((round) => ({ op: 'setKey', key: `HKEY_LOCAL_MACHINE\\R${round}`, values: expected })));
    expect(operations).toEqual(parseRegText(source).operations);
  });
});

describe('reg-reader: typed hex data decoded in one step reads as the NUL-appending rules say', () => {
  /** The rules of Wine20a–d/21a/b/22b written out plainly: append the missing NUL, then decode and strip it. */
  function reference(typeNumber: number, data: Buffer): RegValue {
    if (typeNumber === 11) return data.length === 8 ? { name: 'v', type: 'REG_QWORD', data: data.readBigUInt64LE(0).toString() } : { name: 'v', type: 'REG_HEX_11', data: data.toString('hex') };
    let bytes = data;
    if (bytes.length > 0 && bytes.length % 2 === 0 && !(bytes[bytes.length - 1] === 0 && bytes[bytes.length - 2] === 0)) bytes = Buffer.concat([bytes, Buffer.alloc(2)]);
    const text = bytes.length >= 2 && bytes.length % 2 === 0 ? bytes.toString('utf16le') : undefined;
    const body = text?.endsWith('\0') ? text.slice(0, -1) : undefined;
    if (typeNumber === 7) {
      if (body === '') return { name: 'v', type: 'REG_MULTI_SZ', data: [] };
      if (body === undefined || !body.endsWith('\0')) return { name: 'v', type: 'REG_HEX_7', data: bytes.toString('hex') };
      return { name: 'v', type: 'REG_MULTI_SZ', data: body.slice(0, -1).split('\0') };
    }
    const type = typeNumber === 1 ? 'REG_SZ' : 'REG_EXPAND_SZ';
    return body === undefined ? { name: 'v', type: `REG_HEX_${typeNumber}`, data: bytes.toString('hex') } : { name: 'v', type, data: body };
  }

  it('REGEDIT5 hex(1), hex(2), hex(7) and hex(b) of any bytes (NULs likely)', () => {
    const page = ansiCodePage();
    const bytes = fc.array(fc.constantFrom(0, 0, 0, 0x41, 0x20, 0xd8, 0xff), { maxLength: 14 }).map((b) => Buffer.from(b));
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 7, 11), fc.oneof(bytes, fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b))), (typeNumber, data) => {
        expect(decodeTypedValue('v', typeNumber, data, 'REGEDIT5', page)).toEqual(reference(typeNumber, data));
      }),
      { numRuns: 3000 },
    );
  });

  it('a REG_QWORD at and around 2^53 and 2^64 - 1 reads as its exact decimal', () => {
    const page = ansiCodePage();
    for (const n of [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]) {
      const data = Buffer.alloc(8);
      data.writeBigUInt64LE(n);
      expect(decodeTypedValue('v', 11, data, 'REGEDIT5', page)).toEqual({ name: 'v', type: 'REG_QWORD', data: n.toString() });
    }
  });
});
