import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { RegistryError, RegistryFormatError } from '#core/errors';
import {
  ansiCodePage,
  compareKeyPaths,
  decodeRegText,
  foldRegistryName,
  formatReg,
  normalizeKeyPath,
  parseReg,
  parseRegDetailed,
  parseRegText,
  parseRegWithEncoding,
  writeReg,
} from '#agent/registry/reg-format';
import type { RegFile, RegOperation, RegValue, RegValueDeletion } from '#agent/registry/types';

const projectRoot = path.join(__dirname, '..', '..', '..');
const fixtures = path.join(projectRoot, 'test', 'fixtures', 'reg');
const sharedCases = path.join(projectRoot, '..', 'shared', 'cases', 'reg');

/** A REGEDIT5 file as Windows writes it: UTF-16LE with BOM, CRLF. */
function reg5(...lines: string[]): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.join('\r\n') + '\r\n', 'utf16le')]);
}
const HEADER5 = 'Windows Registry Editor Version 5.00';
const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor';

/** Parses one key block of value lines and returns the values. */
function values(...lines: string[]): Array<RegValue | RegValueDeletion> {
  const file = parseReg(reg5(HEADER5, '', `[${KEY}]`, ...lines, ''));
  const [operation] = file.operations;
  if (operation.op !== 'setKey') throw new Error('expected setKey');
  return operation.values;
}

function formatErrorOf(fn: () => unknown): RegistryFormatError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RegistryFormatError) return error;
    throw error;
  }
  throw new Error('expected a RegistryFormatError');
}

function text(bytes: Buffer): string {
  return decodeRegText(bytes).text;
}

describe('reg-format: the commserv_hive.reg case', () => {
  const bytes = readFileSync(path.join(fixtures, 'commserv_hive.reg'));
  const expected = JSON.parse(readFileSync(path.join(fixtures, 'commserv_hive.expected.json'), 'utf8'));

  it('parses to exactly the expected operations, format and encoding', () => {
    const file = parseReg(bytes);
    expect(file.format).toBe(expected.format);
    expect(decodeRegText(bytes).encoding).toBe(expected.encoding);
    expect(file.operations).toEqual(expected.operations);
  });

  it('parseRegWithEncoding returns { format, encoding, operations } equal to the expected JSON document', () => {
    expect(parseRegWithEncoding(bytes)).toEqual(expected);
  });

  it('round-trips: write → parse gives the same operations, and re-writing is byte-identical', () => {
    const file = parseReg(bytes);
    const written = writeReg(file);
    expect(parseReg(written)).toEqual(file);
    expect(writeReg(parseReg(written)).equals(written)).toBe(true);
  });

  it('re-writes the case file identically except for hex wrapping (regedit\'s) and the dropped comment', () => {
    const unwrap = (s: string) => s.replace(/\\\r\n {2}/g, '').replace(' ; trailing comment', '');
    expect(unwrap(text(writeReg(parseReg(bytes))))).toBe(unwrap(text(bytes)));
  });

  it('the fixture copy is the shared case, byte for byte (compared with ../shared/cases/reg when present, else with its recorded SHA-256)', () => {
    const recorded: Record<string, string> = {
      'commserv_hive.reg': '48c6dd48638edd37850a10283054c449e3190587bd8db1e001f3879d60a632d9',
      'commserv_hive.expected.json': 'f0fce31f9bb90e8bfceae06125403d45017257dac5ad40ef17ac015218ac3f10',
    };
    for (const [name, sha256] of Object.entries(recorded)) {
      const copy = readFileSync(path.join(fixtures, name));
      expect(createHash('sha256').update(copy).digest('hex')).toBe(sha256);
      if (existsSync(sharedCases)) expect(copy.equals(readFileSync(path.join(sharedCases, name)))).toBe(true);
    }
  });
});

describe('reg-format: writer layout (what regedit writes)', () => {
  it('writes REGEDIT5 as BOM + UTF-16LE, CRLF, header, blank line, each block followed by a blank line', () => {
    const file: RegFile = {
      format: 'REGEDIT5',
      operations: [
        { op: 'setKey', key: KEY, values: [{ name: '', type: 'REG_SZ', data: 'x' }, { name: 'Old', op: 'deleteValue' }] },
        { op: 'setKey', key: `${KEY}\\Empty`, values: [] },
        { op: 'deleteKey', key: `${KEY}\\Gone` },
      ],
    };
    const bytes = writeReg(file);
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(bytes.subarray(2).toString('utf16le')).toBe(
      [HEADER5, '', `[${KEY}]`, '@="x"', '"Old"=-', '', `[${KEY}\\Empty]`, '', `[-${KEY}\\Gone]`, '', ''].join('\r\n'),
    );
  });

  it('writes an empty file as the header and one blank line', () => {
    expect(text(writeReg({ format: 'REGEDIT5', operations: [] }))).toBe(`${HEADER5}\r\n\r\n`);
  });

  it('writes REGEDIT4 as latin1 with single-byte hex(2)/hex(7) strings', () => {
    const file: RegFile = {
      format: 'REGEDIT4',
      operations: [
        {
          op: 'setKey',
          key: `${KEY}\\Café`,
          values: [
            { name: 'é', type: 'REG_SZ', data: 'naïve' },
            { name: 'x', type: 'REG_EXPAND_SZ', data: '%A%' },
            { name: 'm', type: 'REG_MULTI_SZ', data: ['a', 'b'] },
          ],
        },
      ],
    };
    const bytes = writeReg(file);
    expect(bytes.toString('latin1')).toBe(
      ['REGEDIT4', '', `[${KEY}\\Café]`, '"é"="naïve"', '"x"=hex(2):25,41,25,00', '"m"=hex(7):61,00,62,00,00', '', ''].join(
        '\r\n',
      ),
    );
    expect(bytes.includes(Buffer.from([0xe9]))).toBe(true); // é as one latin1 byte
    expect(parseReg(bytes)).toEqual(file);
  });

  // Real regedit exports of Windows keys: the first line is broken once it reaches 77 characters with the
  // comma just written, continuation lines carry 25 bytes, and a last lone byte gets its own line.
  it.each([
    [
      'Path',
      '%SystemRoot%\\System32\\rasppp.dll',
      [
        '"Path"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,\\',
        '  00,25,00,5c,00,53,00,79,00,73,00,74,00,65,00,6d,00,33,00,32,00,5c,00,72,00,\\',
        '  61,00,73,00,70,00,70,00,70,00,2e,00,64,00,6c,00,6c,00,00,00',
      ],
    ],
    [
      '',
      '%ProgramFiles%\\Windows Media Player\\wmplayer.exe',
      [
        '@=hex(2):25,00,50,00,72,00,6f,00,67,00,72,00,61,00,6d,00,46,00,69,00,6c,00,65,\\',
        '  00,73,00,25,00,5c,00,57,00,69,00,6e,00,64,00,6f,00,77,00,73,00,20,00,4d,00,\\',
        '  65,00,64,00,69,00,61,00,20,00,50,00,6c,00,61,00,79,00,65,00,72,00,5c,00,77,\\',
        '  00,6d,00,70,00,6c,00,61,00,79,00,65,00,72,00,2e,00,65,00,78,00,65,00,00,00',
      ],
    ],
    [
      'Path',
      '%ProgramFiles%\\Windows Media Player',
      [
        '"Path"=hex(2):25,00,50,00,72,00,6f,00,67,00,72,00,61,00,6d,00,46,00,69,00,6c,\\',
        '  00,65,00,73,00,25,00,5c,00,57,00,69,00,6e,00,64,00,6f,00,77,00,73,00,20,00,\\',
        '  4d,00,65,00,64,00,69,00,61,00,20,00,50,00,6c,00,61,00,79,00,65,00,72,00,00,\\',
        '  00',
      ],
    ],
  ])('wraps hex data exactly as regedit (value %j = %j)', (name, data, lines) => {
    const file: RegFile = { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name, type: 'REG_EXPAND_SZ', data }] }] };
    expect(text(writeReg(file))).toBe([HEADER5, '', `[${KEY}]`, ...lines, '', ''].join('\r\n'));
  });

  it('wraps after the first byte when the value name alone is longer than the line', () => {
    const name = 'N'.repeat(80);
    const file: RegFile = {
      format: 'REGEDIT5',
      operations: [{ op: 'setKey', key: KEY, values: [{ name, type: 'REG_BINARY', data: '0102' }] }],
    };
    expect(text(writeReg(file))).toContain(`"${name}"=hex:01,\\\r\n  02\r\n`);
  });

  it('keeps hex lines within 80 characters whenever the "name"= prefix is shorter than 70', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 60 }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 0xfff }), (name, data, type) => {
        const file: RegFile = {
          format: 'REGEDIT5',
          operations: [{ op: 'setKey', key: KEY, values: [{ name: name.replace(/[\r\n\0"\\]/g, ''), type: `REG_HEX_${type}`, data: Buffer.from(data).toString('hex') }] }],
        };
        const lines = formatReg(file).split('\r\n');
        for (const line of lines.slice(3)) expect(line.length).toBeLessThanOrEqual(80);
      }),
      { numRuns: 150 },
    );
  });

  it('writes strings with CR, LF or NUL as hex(1), which reads back as REG_SZ', () => {
    const value: RegValue = { name: 'multi line', type: 'REG_SZ', data: 'a\r\nb\0c' };
    const bytes = writeReg({ format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [value] }] });
    expect(text(bytes)).toContain('"multi line"=hex(1):61,00,0d,00,0a,00,62,00,00,00,63,00,00,00\r\n');
    expect(parseReg(bytes).operations).toEqual([{ op: 'setKey', key: KEY, values: [value] }]);
  });

  it('escapes backslashes and quotes in names and strings', () => {
    const value: RegValue = { name: 'a"b\\c', type: 'REG_SZ', data: '\\\\server\\"share"' };
    const bytes = writeReg({ format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [value] }] });
    expect(text(bytes)).toContain('"a\\"b\\\\c"="\\\\\\\\server\\\\\\"share\\""\r\n');
    expect(parseReg(bytes).operations).toEqual([{ op: 'setKey', key: KEY, values: [value] }]);
  });

  it.each<[string, RegFile]>([
    ['a REGEDIT4 string beyond its code page (1252)', { format: 'REGEDIT4', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'x', type: 'REG_SZ', data: '中' }] }] }],
    ['a REGEDIT4 key beyond its code page (1252)', { format: 'REGEDIT4', operations: [{ op: 'deleteKey', key: `${KEY}\\中` }] }],
    ['a value name with a line feed', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'a\nb', op: 'deleteValue' }] }] }],
    ['a DWORD out of range', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'd', type: 'REG_DWORD', data: 2 ** 32 }] }] }],
    ['a fractional DWORD', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'd', type: 'REG_DWORD', data: 1.5 }] }] }],
    ['a QWORD out of range', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'q', type: 'REG_QWORD', data: '18446744073709551616' }] }] }],
    ['a QWORD that is not decimal', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'q', type: 'REG_QWORD', data: '0x10' }] }] }],
    ['hex data of half a byte', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'b', type: 'REG_BINARY', data: 'abc' }] }] }],
    ['hex data with a character that is not a hex digit (after valid bytes)', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'b', type: 'REG_BINARY', data: '00ffzz00' }] }] }],
    ['hex data with a blank', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'b', type: 'REG_NONE', data: '00 f' }] }] }],
    ['a REG_MULTI_SZ string with NUL', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'm', type: 'REG_MULTI_SZ', data: ['a\0b'] }] }] }],
    ['an unknown type name', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'm', type: 'REG_HEX_x' as 'REG_HEX_1', data: '' }] }] }],
    ['a set key starting with "-"', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: '-HKEY_LOCAL_MACHINE\\X', values: [] }] }],
    ['a key containing "] ;"', { format: 'REGEDIT5', operations: [{ op: 'setKey', key: `${KEY}\\a] ;b`, values: [] }] }],
    ['an empty key', { format: 'REGEDIT5', operations: [{ op: 'deleteKey', key: '' }] }],
  ])('refuses to write %s (RegistryError REG_UNWRITABLE)', (_what, file) => {
    expect(() => writeReg(file)).toThrow(RegistryError);
    try {
      writeReg(file);
    } catch (error) {
      expect((error as RegistryError).code).toBe('REG_UNWRITABLE');
    }
  });
});

describe('reg-format: reader', () => {
  it('reads every value type', () => {
    expect(
      values(
        '"none"=hex(0):01,02',
        '"sz1"=hex(1):41,00,42,00,00,00',
        '"exp"=hex(2):25,00,41,00,25,00,00,00',
        '"bin3"=hex(3):ff',
        '"bin"=hex:DE,ad',
        '"binEmpty"=hex:',
        '"dw"=dword:FFFFFFFF',
        '"dwShort"=dword:5',
        '"dw4"=hex(4):01,02,00,00',
        '"be"=hex(5):00,00,00,01',
        '"link"=hex(6):41,00',
        '"multi"=hex(7):61,00,00,00,00,00,62,00,00,00,00,00',
        '"multiEmpty"=hex(7):00,00',
        '"rl"=hex(8):01',
        '"frd"=hex(9):02',
        '"rrl"=hex(a):03',
        '"qw"=hex(b):ff,ff,ff,ff,ff,ff,ff,ff',
        '"other"=hex(100):01,02,03',
        '"big"=hex(ffffffff):',
      ),
    ).toEqual([
      { name: 'none', type: 'REG_NONE', data: '0102' },
      { name: 'sz1', type: 'REG_SZ', data: 'AB' },
      { name: 'exp', type: 'REG_EXPAND_SZ', data: '%A%' },
      { name: 'bin3', type: 'REG_BINARY', data: 'ff' },
      { name: 'bin', type: 'REG_BINARY', data: 'dead' },
      { name: 'binEmpty', type: 'REG_BINARY', data: '' },
      { name: 'dw', type: 'REG_DWORD', data: 4294967295 },
      { name: 'dwShort', type: 'REG_DWORD', data: 5 },
      { name: 'dw4', type: 'REG_DWORD', data: 513 },
      { name: 'be', type: 'REG_DWORD_BIG_ENDIAN', data: '00000001' },
      { name: 'link', type: 'REG_LINK', data: '4100' },
      { name: 'multi', type: 'REG_MULTI_SZ', data: ['a', '', 'b'] },
      { name: 'multiEmpty', type: 'REG_MULTI_SZ', data: [] },
      { name: 'rl', type: 'REG_RESOURCE_LIST', data: '01' },
      { name: 'frd', type: 'REG_FULL_RESOURCE_DESCRIPTOR', data: '02' },
      { name: 'rrl', type: 'REG_RESOURCE_REQUIREMENTS_LIST', data: '03' },
      { name: 'qw', type: 'REG_QWORD', data: '18446744073709551615' },
      { name: 'other', type: 'REG_HEX_256', data: '010203' },
      { name: 'big', type: 'REG_HEX_4294967295', data: '' },
    ]);
  });

  it('keeps malformed encodings of named types as REG_HEX_<N> raw bytes, and writes them back unchanged', () => {
    const lines = [
      '"szOdd"=hex(1):41,00,00',
      '"exp"=hex(2):',
      '"multiOneNul"=hex(7):61,00,00,00',
      '"dw"=hex(4):01,02,03',
      '"qw"=hex(b):01,00,00,00',
    ];
    expect(values(...lines)).toEqual([
      { name: 'szOdd', type: 'REG_HEX_1', data: '410000' },
      { name: 'exp', type: 'REG_HEX_2', data: '' },
      { name: 'multiOneNul', type: 'REG_HEX_7', data: '61000000' },
      { name: 'dw', type: 'REG_HEX_4', data: '010203' },
      { name: 'qw', type: 'REG_HEX_11', data: '01000000' },
    ]);
    const source = reg5(HEADER5, '', `[${KEY}]`, ...lines, '');
    expect(writeReg(parseReg(source)).equals(source)).toBe(true);
  });

  it('reads hex(2)/hex(7) of a REGEDIT4 file as single-byte ANSI (code page 1252) strings', () => {
    const file = parseReg(Buffer.from(['REGEDIT4', '', `[${KEY}]`, '"e"=hex(2):25,e9,25,00', '"m"=hex(7):61,00,e9,00,00', ''].join('\r\n'), 'latin1'));
    expect(file.format).toBe('REGEDIT4');
    expect(file.operations).toEqual([
      { op: 'setKey', key: KEY, values: [{ name: 'e', type: 'REG_EXPAND_SZ', data: '%é%' }, { name: 'm', type: 'REG_MULTI_SZ', data: ['a', 'é'] }] },
    ]);
  });

  describe('encodings', () => {
    const lines = [HEADER5, '', `[${KEY}\\Tëst]`, '"naïve"="日本 ☃"', ''];
    const expected: RegOperation[] = [{ op: 'setKey', key: `${KEY}\\Tëst`, values: [{ name: 'naïve', type: 'REG_SZ', data: '日本 ☃' }] }];
    const body = lines.join('\r\n');
    it.each<[string, Buffer]>([
      ['UTF-16LE with BOM', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')])],
      ['UTF-16LE', Buffer.from(body, 'utf16le')],
      ['UTF-16BE with BOM', Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(body, 'utf16le').swap16()])],
      ['UTF-16BE', Buffer.from(body, 'utf16le').swap16()],
      ['UTF-8 with BOM', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body, 'utf8')])],
      ['UTF-8', Buffer.from(body, 'utf8')],
    ])('detects %s', (encoding, bytes) => {
      expect(decodeRegText(bytes).encoding).toBe(encoding);
      expect(parseReg(bytes).operations).toEqual(expected);
    });

    it('reads a REGEDIT4 file without BOM as ANSI (code page 1252), even when its bytes happen to be valid UTF-8', () => {
      const bytes = Buffer.from(['REGEDIT4', '', `[${KEY}]`, '"é"="Ã©"', ''].join('\r\n'), 'latin1');
      expect(decodeRegText(bytes).encoding).toBe('ANSI (code page 1252)');
      expect(parseReg(bytes).operations).toEqual([{ op: 'setKey', key: KEY, values: [{ name: 'é', type: 'REG_SZ', data: 'Ã©' }] }]);
    });

    it('reads a REGEDIT5 file without BOM that is not valid UTF-8 as ANSI (code page 1252)', () => {
      const bytes = Buffer.from([HEADER5, '', `[${KEY}]`, '"é"="ü"', ''].join('\r\n'), 'latin1');
      expect(decodeRegText(bytes).encoding).toBe('ANSI (code page 1252)');
      expect(parseReg(bytes).operations).toEqual([{ op: 'setKey', key: KEY, values: [{ name: 'é', type: 'REG_SZ', data: 'ü' }] }]);
    });

    it('reads truncated UTF-16 (odd number of bytes) up to the last whole character, with a warning', () => {
      const bytes = Buffer.concat([reg5(HEADER5, '', `[${KEY}]`, '"a"="b"'), Buffer.from([0x41])]);
      const parsed = parseRegDetailed(bytes);
      expect(parsed.operations).toEqual([{ op: 'setKey', key: KEY, values: [{ name: 'a', type: 'REG_SZ', data: 'b' }] }]);
      expect(parsed.warnings).toEqual([{ line: 4, column: 1, message: expect.stringMatching(/^truncated UTF-16 text/) }]);
    });
  });

  it('accepts LF line endings, blank-line variations, leading blanks and trailing padding', () => {
    const source = ['', '  ', HEADER5, `[${KEY}]`, '"a"="1"', '', '', '"b"="2"   ', `[${KEY}\\Sub]`, '\t', `[-${KEY}\\Old]`].join('\n') + '\n\0\x1a';
    expect(parseRegText(source).operations).toEqual([
      { op: 'setKey', key: KEY, values: [{ name: 'a', type: 'REG_SZ', data: '1' }, { name: 'b', type: 'REG_SZ', data: '2' }] },
      { op: 'setKey', key: `${KEY}\\Sub`, values: [] },
      { op: 'deleteKey', key: `${KEY}\\Old` },
    ]);
  });

  it('reads comments on their own line and after keys and values, but not inside a quoted string', () => {
    const file = parseReg(
      reg5(
        HEADER5,
        '; exported by hand',
        '',
        `[${KEY}] ; the key ] with a bracket`,
        '   ; indented comment',
        '"s"="a ; not a comment" ; a comment',
        '"d"=dword:00000001;comment',
        '"h"=hex:01,02,\\ ; comment after a continuation',
        '  03 ; end',
        '"x"=- ; deleted',
        `[-${KEY}\\Old] ; gone`,
      ),
    );
    expect(file.operations).toEqual([
      {
        op: 'setKey',
        key: KEY,
        values: [
          { name: 's', type: 'REG_SZ', data: 'a ; not a comment' },
          { name: 'd', type: 'REG_DWORD', data: 1 },
          { name: 'h', type: 'REG_BINARY', data: '010203' },
          { name: 'x', op: 'deleteValue' },
        ],
      },
      { op: 'deleteKey', key: `${KEY}\\Old` },
    ]);
  });

  it('reads the default value (@), its deletion, and a value literally named "@"', () => {
    expect(values('@="d"', '"@"="named"', '@=-', '@=hex(2):41,00,00,00')).toEqual([
      { name: '', type: 'REG_SZ', data: 'd' },
      { name: '@', type: 'REG_SZ', data: 'named' },
      { name: '', op: 'deleteValue' },
      { name: '', type: 'REG_EXPAND_SZ', data: 'A' },
    ]);
  });

  it('keeps an unknown backslash escape literally, as regedit does', () => {
    expect(values('"p"="C:\\Temp\\\\x\\"q\\""')).toEqual([{ name: 'p', type: 'REG_SZ', data: 'C:\\Temp\\x"q"' }]);
  });

  it('reads keys containing "]", and tolerates blanks around "=" and a trailing comma', () => {
    const file = parseReg(reg5(HEADER5, '', `[${KEY}\\a]b]`, '"v" = dword:1', '"h"=hex:01,\\', '  02,\\', '  03,', ''));
    expect(file.operations).toEqual([
      {
        op: 'setKey',
        key: `${KEY}\\a]b`,
        values: [
          { name: 'v', type: 'REG_DWORD', data: 1 },
          { name: 'h', type: 'REG_BINARY', data: '010203' },
        ],
      },
    ]);
  });

  it('ignores value lines after a key deletion, as regedit does', () => {
    expect(parseReg(reg5(HEADER5, '', `[-${KEY}]`, '"ignored"="x"', `[${KEY}]`, '"kept"="y"')).operations).toEqual([
      { op: 'deleteKey', key: KEY },
      { op: 'setKey', key: KEY, values: [{ name: 'kept', type: 'REG_SZ', data: 'y' }] },
    ]);
  });

  it('keeps repeated keys and values as separate operations in file order', () => {
    expect(parseReg(reg5(HEADER5, '', `[${KEY}]`, '"a"="1"', `[-${KEY}]`, `[${KEY}]`, '"a"="2"', '"a"=-')).operations).toEqual([
      { op: 'setKey', key: KEY, values: [{ name: 'a', type: 'REG_SZ', data: '1' }] },
      { op: 'deleteKey', key: KEY },
      { op: 'setKey', key: KEY, values: [{ name: 'a', type: 'REG_SZ', data: '2' }, { name: 'a', op: 'deleteValue' }] },
    ]);
  });

  describe('a value regedit cannot read is dropped with a warning naming its line and column; the rest is imported', () => {
    it.each<[string, string[], number, number, RegExp]>([
      ['an unterminated string', [HEADER5, '', `[${KEY}]`, '"a"="b"', '"name"="open'], 5, 8, /unterminated string/],
      ['an unterminated value name', [HEADER5, '', `[${KEY}]`, '"name=1'], 4, 1, /unterminated string/],
      ['a string ending in a backslash', [HEADER5, '', `[${KEY}]`, '"p"="C:\\'], 4, 5, /unterminated string/],
      ['a value before any key', [HEADER5, '', '"a"="b"'], 3, 1, /before any \[KEY\]/],
      ['an unknown value type', [HEADER5, '', `[${KEY}]`, '"a"=qword:01'], 4, 5, /unknown value type/],
      ['a dword with 9 digits', [HEADER5, '', `[${KEY}]`, '"a"=dword:000000001'], 4, 19, /invalid dword/],
      ['a dword with no digits', [HEADER5, '', `[${KEY}]`, '"a"=dword:'], 4, 11, /invalid dword/],
      ['text after a dword', [HEADER5, '', `[${KEY}]`, '"a"=dword:00000001 x'], 4, 20, /invalid dword/],
      ['text after a string', [HEADER5, '', `[${KEY}]`, '"a"="b" c'], 4, 9, /unexpected text after the string/],
      ['text after a deletion', [HEADER5, '', `[${KEY}]`, '"a"=-x'], 4, 6, /unexpected text after "=-"/],
      ['a bad hex byte on a continuation line', [HEADER5, '', `[${KEY}]`, '"h"=hex:01,02,\\', '  03,zz'], 5, 6, /invalid hex byte "zz".*continued from line 4/],
      ['a three-digit hex byte', [HEADER5, '', `[${KEY}]`, '"h"=hex:010'], 4, 9, /invalid hex byte "010"/],
      ['two commas', [HEADER5, '', `[${KEY}]`, '"h"=hex:01,,02'], 4, 12, /empty hex byte/],
      ['a missing "="', [HEADER5, '', `[${KEY}]`, '"a" "b"'], 4, 5, /expected "="/],
      ['an indented line with a bad hex byte (column counts the indent)', [HEADER5, '', `[${KEY}]`, '   "h"=hex:01, g1'], 4, 16, /invalid hex byte "g1"/],
      ['a character outside the BMP before the error (counted once)', [HEADER5, '', `[${KEY}]`, '"😀"=dword:xyz'], 4, 11, /invalid dword "xyz"/],
      ['a bad hex byte in hex(7) data', [HEADER5, '', `[${KEY}]`, '"m"=hex(7):41,00,4g'], 4, 19, /expected "," after a hex byte, found "g"/],
    ])('%s', (_what, lines, line, column, message) => {
      const parsed = parseRegDetailed(reg5(...lines, '"kept"="yes"'));
      expect(parsed.warnings).toHaveLength(lines[2] === `[${KEY}]` ? 1 : 2); // without a key, "kept" has none either
      expect(parsed.warnings[0]).toMatchObject({ line, column });
      expect(parsed.warnings[0].message).toMatch(message);
      const kept = parsed.operations.flatMap((op) => (op.op === 'setKey' ? op.values : []));
      if (lines[2] === `[${KEY}]`) expect(kept).toContainEqual({ name: 'kept', type: 'REG_SZ', data: 'yes' });
    });

    it.each<[string, string[], number, number, RegExp]>([
      ['a missing "]"', [HEADER5, '', `[${KEY}`], 3, 36, /missing "\]"/],
      ['text after "]"', [HEADER5, '', `[${KEY}] x`], 3, 39, /missing "\]" \(or text after it\)/],
      ['an empty key', [HEADER5, '', '[]'], 3, 2, /is not a registry root/],
      ['a stray line', [HEADER5, '', `[${KEY}]`, '"a"="b"', 'garbage'], 5, 1, /line ignored \(regedit ignores it\): "garbage"/],
    ])('%s: warned, and the key block or line skipped', (_what, lines, line, column, message) => {
      const parsed = parseRegDetailed(reg5(...lines));
      expect(parsed.warnings).toEqual([{ line, column, message: expect.stringMatching(message) }]);
    });

    it('a file that is not a .reg file (unknown header) is refused whole', () => {
      const error = formatErrorOf(() => parseReg(reg5('Windows Registry Editor Version 6.00', '')));
      expect(error.code).toBe('REG_FORMAT');
      expect(error.context).toEqual({ line: 1, column: 1 });
      expect(error.message).toMatch(/^line 1, column 1: not a .reg file: unknown header/);
    });

    it('binary garbage is refused whole (no header)', () => {
      const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37 + 11) % 256));
      expect(() => parseReg(garbage)).toThrow(RegistryFormatError);
    });

    it('an indented unknown header is refused with the column of its first character', () => {
      const error = formatErrorOf(() => parseReg(reg5('  REGEDIT5', '')));
      expect(error.context).toEqual({ line: 1, column: 3 });
      expect(error.message).toMatch(/unknown header "REGEDIT5"/);
    });

    it('an empty file', () => {
      const error = formatErrorOf(() => parseReg(Buffer.alloc(0)));
      expect(error.message).toMatch(/^line 1, column 1: missing header/);
    });

    it('a control character in the offending text is shown escaped, so the message stays one line', () => {
      const { warnings } = parseRegDetailed(reg5(HEADER5, '', `[${KEY}]`, '"a"="b" \x01zz'));
      expect(warnings[0].message).toBe('value "a" skipped: unexpected text after the string: "\\x01zz"');
    });

    it('keeps at most maxWarnings warnings and counts the rest', () => {
      const lines = Array.from({ length: 30 }, (_, i) => `"v${i}"=dword:xyz`);
      const parsed = parseRegDetailed(reg5(HEADER5, '', `[${KEY}]`, ...lines), { maxWarnings: 5 });
      expect(parsed.warnings).toHaveLength(5);
      expect(parsed.warningCount).toBe(30);
    });
  });
});

describe('reg-format: key paths', () => {
  it('normalizes roots and abbreviations, and refuses keys without a root', () => {
    expect(normalizeKeyPath('hklm\\Software\\\\X\\')).toBe('HKEY_LOCAL_MACHINE\\Software\\X');
    expect(normalizeKeyPath('HKCU')).toBe('HKEY_CURRENT_USER');
    expect(() => normalizeKeyPath('SOFTWARE\\X')).toThrow(/must start with a root key/);
  });

  it('folds case like Windows and sorts parent before children, siblings case-insensitively', () => {
    expect(foldRegistryName('straße Ärger')).toBe('STRAßE ÄRGER');
    const keys = ['A\\b2', 'A-1', 'A\\B\\C', 'A', 'a\\B'];
    expect([...keys].sort(compareKeyPaths)).toEqual(['A', 'a\\B', 'A\\B\\C', 'A\\b2', 'A-1']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Property tests: random operations round-trip through the writer and the reader.
// ---------------------------------------------------------------------------------------------------------

const SPECIALS = ['\u2028', '\ufeff', '"', '\\', ';', '[', ']', '=', '@', '-', ',', ' ', '\t', ':', 'é', 'ß', '€', '中', '😀', '\r', '\n', '\0'];

function stringArb(latin1: boolean, maxLength = 10): fc.Arbitrary<string> {
  const char = latin1
    ? fc.oneof(
        fc.constantFrom(...SPECIALS.filter((c) => ansiCodePage(1252).encode(c) !== undefined)),
        fc.integer({ min: 0, max: 0xff }).map((c) => ansiCodePage(1252).decode(Uint8Array.of(c))),
      )
    : fc.oneof(fc.constantFrom(...SPECIALS), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
  return fc.array(char, { maxLength }).map((chars) => chars.join(''));
}

const noLineBreak = (s: string) => !/[\r\n\0]/.test(s);

function valueArb(latin1: boolean): fc.Arbitrary<RegValue | RegValueDeletion> {
  const name = stringArb(latin1).filter(noLineBreak);
  const hex = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('hex'));
  const str = stringArb(latin1, 30);
  return fc.oneof(
    fc.record({ name, type: fc.constantFrom('REG_SZ' as const, 'REG_EXPAND_SZ' as const), data: str }),
    fc.record({ name, type: fc.constant('REG_MULTI_SZ' as const), data: fc.array(str.map((s) => s.replace(/\0/g, '')), { maxLength: 4 }) }),
    fc.record({ name, type: fc.constant('REG_DWORD' as const), data: fc.integer({ min: 0, max: 0xffffffff }) }),
    fc.record({ name, type: fc.constant('REG_QWORD' as const), data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) }),
    fc.record({
      name,
      type: fc.constantFrom(
        'REG_BINARY' as const,
        'REG_NONE' as const,
        'REG_DWORD_BIG_ENDIAN' as const,
        'REG_LINK' as const,
        'REG_RESOURCE_LIST' as const,
        'REG_FULL_RESOURCE_DESCRIPTOR' as const,
        'REG_RESOURCE_REQUIREMENTS_LIST' as const,
      ),
      data: hex,
    }),
    fc.record({ name, type: fc.integer({ min: 12, max: 0xffffffff }).map((n) => `REG_HEX_${n}` as const), data: hex }),
    fc.record({ name, op: fc.constant('deleteValue' as const) }),
  );
}

function fileArb(format: 'REGEDIT4' | 'REGEDIT5'): fc.Arbitrary<RegFile> {
  const latin1 = format === 'REGEDIT4';
  const component = stringArb(latin1, 8).map((s) => s.replace(/\\/g, '')).filter((s) => s !== '' && noLineBreak(s));
  const key = fc
    .array(component, { minLength: 1, maxLength: 3 })
    .map((parts) => ['HKEY_LOCAL_MACHINE', ...parts].join('\\'))
    .filter((k) => !/\]\s*;/.test(k));
  const operation: fc.Arbitrary<RegOperation> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('setKey' as const), key, values: fc.array(valueArb(latin1), { maxLength: 6 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteKey' as const), key }) },
  );
  return fc.record({ format: fc.constant(format), operations: fc.array(operation, { maxLength: 5 }) });
}

describe('reg-format: round-trip properties', () => {
  it.each(['REGEDIT5', 'REGEDIT4'] as const)('%s: parse(write(x)) equals x, and write(parse(write(x))) is byte-identical', (format) => {
    fc.assert(
      fc.property(fileArb(format), (file) => {
        const written = writeReg(file);
        const parsed = parseReg(written);
        expect(parsed).toEqual(file);
        expect(writeReg(parsed).equals(written)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('REGEDIT5 re-encoded as UTF-8 with LF line endings parses to the same operations', () => {
    const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
    fc.assert(
      fc.property(fileArb('REGEDIT5'), (file) => {
        const source = text(writeReg(file));
        fc.pre(wellFormed(source));
        expect(parseReg(Buffer.from(source.replace(/\r\n/g, '\n'), 'utf8'))).toEqual(file);
      }),
      { numRuns: 150 },
    );
  });
});
