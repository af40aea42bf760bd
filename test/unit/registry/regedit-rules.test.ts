/**
 * The reader follows regedit: each test is one rule, named after what regedit does, built from small inputs
 * written here. The cases mirror Wine's regedit conformance tests (programs/regedit/tests/regedit.c, written to
 * pass on Windows); the Wine case names are given in the test names.
 */
import { parseRegDetailed, writeReg, type ParsedReg } from '#agent/registry/reg-format';
import type { RegValue, RegValueDeletion } from '#agent/registry/types';

const HEADER5 = 'Windows Registry Editor Version 5.00';
const KEY = 'HKEY_CURRENT_USER\\Software\\Wine\\regedit_test';

function reg5(...lines: string[]): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(lines.join('\r\n') + '\r\n', 'utf16le')]);
}
function reg4(bytes: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`REGEDIT4\r\n\r\n[${KEY}]\r\n`, 'latin1'), typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes]);
}
/** The values of the single key block of a REGEDIT5 file made of `lines` after `[KEY]`. */
function parse5(...lines: string[]): ParsedReg {
  return parseRegDetailed(reg5(HEADER5, '', `[${KEY}]`, ...lines));
}
function values(parsed: ParsedReg): Array<RegValue | RegValueDeletion> {
  return parsed.operations.flatMap((op) => (op.op === 'setKey' ? op.values : []));
}
function names(parsed: ParsedReg): string[] {
  return values(parsed).map((v) => v.name);
}

describe('regedit rule: REGEDIT4 is ANSI text in the AnsiCodePage (default 1252)', () => {
  it('decodes bytes 0x80, 0x92, 0x96 of a REGEDIT4 file as €, ’, – (Windows-1252), not as C1 controls', () => {
    const parsed = parseRegDetailed(reg4(Buffer.from([0x22, 0x65, 0x22, 0x3d, 0x22, 0x80, 0x92, 0x96, 0x22, 0x0d, 0x0a])));
    expect(parsed.encoding).toBe('ANSI (code page 1252)');
    expect(values(parsed)).toEqual([{ name: 'e', type: 'REG_SZ', data: '€’–' }]);
  });

  it('decodes ANSI hex(2)/hex(7) bytes of a REGEDIT4 file with the code page (0x80 → €)', () => {
    const parsed = parseRegDetailed(reg4('"x"=hex(2):80,00\r\n"m"=hex(7):92,00,96,00,00\r\n'));
    expect(values(parsed)).toEqual([
      { name: 'x', type: 'REG_EXPAND_SZ', data: '€' },
      { name: 'm', type: 'REG_MULTI_SZ', data: ['’', '–'] },
    ]);
  });

  it('reads and writes REGEDIT4 in another configured code page (1251: 0xC0 is А)', () => {
    const parsed = parseRegDetailed(reg4(Buffer.from('"n"="\xc0"\r\n', 'latin1')), { ansiCodePage: 1251 });
    expect(values(parsed)).toEqual([{ name: 'n', type: 'REG_SZ', data: 'А' }]);
    expect(parsed.encoding).toBe('ANSI (code page 1251)');
    const written = writeReg({ format: 'REGEDIT4', operations: parsed.operations }, { ansiCodePage: 1251 });
    expect(written.includes(Buffer.from([0x22, 0xc0, 0x22]))).toBe(true);
  });

  it('writes REGEDIT4 in Windows-1252: € is the single byte 0x80', () => {
    const written = writeReg({ format: 'REGEDIT4', operations: [{ op: 'setKey', key: KEY, values: [{ name: 'e', type: 'REG_SZ', data: '€' }] }] });
    expect(written.includes(Buffer.from([0x22, 0x80, 0x22]))).toBe(true);
  });

  it('refuses an unsupported code page (double-byte 932) with REG_CODE_PAGE', () => {
    expect(() => parseRegDetailed(reg4('"a"="b"\r\n'), { ansiCodePage: 932 })).toThrow(expect.objectContaining({ code: 'REG_CODE_PAGE' }));
  });
});

describe('regedit rule: one value it cannot read is dropped, the rest is imported', () => {
  it.each([
    ['an over-long dword (Test12c/e)', '"bad"=dword:123456789'],
    ['text after the closing quote (Test15a, Wine3 "#comment")', '"bad"="foo"bar"'],
    ['a # comment after a string (Wine26c)', '"bad"="Value3"  #comment'],
    ['a # comment after a dword (Wine25d)', '"bad"=dword:1234 #5678'],
    ['an unknown hex(N) type: more than 8 digits (Wine13i)', '"bad"=hex(100000000):56,61'],
    ['an unknown hex(N) type: 0x prefix (Wine13j)', '"bad"=hex(0x2):56,61'],
    ['a dword with 0x prefix (Test14a)', '"bad"=dword:0x123'],
    ['the escape \\0 in a string (Wine33a)', '"bad"="\\0"'],
    ['text after =- (Wine46d)', '"bad"=-"Test"'],
  ])('drops %s with a warning, keeps the next value', (_what, line) => {
    const parsed = parse5(line, '"good"="ok"');
    expect(names(parsed)).toEqual(['good']);
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatchObject({ line: 4 });
    expect(parsed.warnings[0].message).toMatch(/^value "bad" skipped: /);
  });

  it('a comment line inside a continuation is skipped and the data goes on (Wine29a, Multi-Line6)', () => {
    const parsed = parse5('"m"=hex:01,\\', ';comment', '', '  02');
    expect(values(parsed)).toEqual([{ name: 'm', type: 'REG_BINARY', data: '0102' }]);
    expect(parsed.warnings).toEqual([]);
  });

  it('a continuation followed by a value line reads that line as data: both are dropped (Wine25a/b)', () => {
    const parsed = parse5('"a"=hex:01,\\', '"b"="Test value"', '"c"="kept"');
    expect(names(parsed)).toEqual(['c']);
    expect(parsed.warnings).toEqual([expect.objectContaining({ line: 5, column: 1, message: expect.stringMatching(/^value "a" skipped: continued hex data must start with a hex byte.*continued from line 4/) })]);
  });

  it('a blank line inside a continuation is skipped, so the value line after it is read as data (Wine25g/h)', () => {
    const parsed = parse5('"a"=hex:01,\\', '', '"b"="Test value"', '"c"="kept"');
    expect(names(parsed)).toEqual(['c']);
  });

  it('a # line inside a continuation is read as data: the value is dropped, the next line is read normally (Wine25e/f)', () => {
    const parsed = parse5('"a"=hex:01,\\', '#comment', '"b"="Test value"');
    expect(names(parsed)).toEqual(['b']);
    expect(parsed.warnings).toHaveLength(1);
  });

  it('a key line after a continuation is consumed as data: the key is not created (Wine24a)', () => {
    const parsed = parse5('"a"=hex:01,\\', `[${KEY}\\Subkey1]`);
    expect(parsed.operations.map((op) => op.key)).toEqual([KEY]);
  });

  it('a file ending in "\\" keeps the bytes read so far, as regedit does (Wine17a–c), with a warning about truncation', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER5}\r\n\r\n[${KEY}]\r\n"t"=hex:11,22,33,\\`, 'utf16le')]);
    const parsed = parseRegDetailed(bytes);
    expect(values(parsed)).toEqual([{ name: 't', type: 'REG_BINARY', data: '112233' }]);
    expect(parsed.warnings).toEqual([{ line: 4, column: 1, message: expect.stringMatching(/file ends inside its continued hex data/) }]);
  });

  it('a "\\" right after a byte ends the value as invalid and does not continue (Wine24b, Wine31)', () => {
    const parsed = parse5('"a"=hex:01,02\\', `[${KEY}\\Subkey2]`);
    expect(parsed.operations.map((op) => op.key)).toEqual([KEY, `${KEY}\\Subkey2`]);
    expect(names(parsed)).toEqual([]);
  });

  it('a stray line is ignored with a warning; # lines are ignored silently (regedit ignores both)', () => {
    const parsed = parse5('garbage', '#comment', '"a"="b"');
    expect(names(parsed)).toEqual(['a']);
    expect(parsed.warnings).toEqual([{ line: 4, column: 1, message: 'line ignored (regedit ignores it): "garbage"' }]);
  });
});

describe('regedit rule: forms regedit rejects or normalizes', () => {
  it('rejects an abbreviated root ([HKLM\\…]): the key block is skipped with its values, with a warning', () => {
    const parsed = parseRegDetailed(reg5(HEADER5, '', '[HKLM\\Software\\X]', '"a"="b"', `[${KEY}]`, '"c"="d"'));
    expect(parsed.operations).toEqual([{ op: 'setKey', key: KEY, values: [{ name: 'c', type: 'REG_SZ', data: 'd' }] }]);
    expect(parsed.warnings).toEqual([{ line: 3, column: 2, message: expect.stringMatching(/only spelled-out roots.*"HKEY_LOCAL_MACHINE", not "HKLM"/) }]);
  });

  it('rejects an unknown root ([HKEY_CURRENT_USERS\\…], Subkey4b) and a blank after "[" (Subkey1a, Subkey2a)', () => {
    const parsed = parseRegDetailed(reg5(HEADER5, '', '[HKEY_CURRENT_USERS\\X]', '"a"="b"', '[ HKEY_CURRENT_USER\\Y]', '[- HKEY_CURRENT_USER\\Z]'));
    expect(parsed.operations).toEqual([]);
    expect(parsed.warnings.map((w) => w.line)).toEqual([3, 5, 6]);
  });

  it('accepts a root in any case ([hkey_CURRENT_user\\…], Subkey3a)', () => {
    const parsed = parseRegDetailed(reg5(HEADER5, '', '[hkey_CURRENT_user\\Software\\X]'));
    expect(parsed.operations).toEqual([{ op: 'setKey', key: 'hkey_CURRENT_user\\Software\\X', values: [] }]);
  });

  it('drops trailing backslashes of a key path ([…\\Subkey1e\\] and […\\Subkey1f\\\\] open …\\Subkey1e / …\\Subkey1f)', () => {
    const parsed = parseRegDetailed(reg5(HEADER5, '', `[${KEY}\\Subkey1e\\]`, '"Wine"="Test value"', `[-${KEY}\\Subkey1f\\\\]`));
    expect(parsed.operations).toEqual([
      { op: 'setKey', key: `${KEY}\\Subkey1e`, values: [{ name: 'Wine', type: 'REG_SZ', data: 'Test value' }] },
      { op: 'deleteKey', key: `${KEY}\\Subkey1f` },
    ]);
    expect(parsed.warnings).toEqual([]);
  });

  it('keeps blanks before "]" in the key name (Subkey1c)', () => {
    expect(parseRegDetailed(reg5(HEADER5, '', `[${KEY}\\Subkey1c ]`)).operations).toEqual([{ op: 'setKey', key: `${KEY}\\Subkey1c `, values: [] }]);
  });

  it('refuses to delete a root key ([-HKEY_LOCAL_MACHINE])', () => {
    const parsed = parseRegDetailed(reg5(HEADER5, '', '[-HKEY_LOCAL_MACHINE]'));
    expect(parsed.operations).toEqual([]);
    expect(parsed.warnings[0].message).toMatch(/cannot delete the root key/);
  });

  it('reads type prefixes in lower case only: upper-case DWORD: and HEX: drop the value', () => {
    const parsed = parse5('"d"=DWORD:00000001', '"h"=HEX:01', '"x"=Hex(2):41,00', '"ok"=dword:00000001');
    expect(names(parsed)).toEqual(['ok']);
    expect(parsed.warnings.map((w) => w.message)).toEqual([
      'value "d" skipped: regedit reads the type prefix in lower case only ("DWORD:" is not a type)',
      'value "h" skipped: regedit reads the type prefix in lower case only ("HEX:" is not a type)',
      'value "x" skipped: regedit reads the type prefix in lower case only ("Hex(2):" is not a type)',
    ]);
  });

  it('accepts blanks after a comma between hex bytes and before "\\" (Wine14a, Wine4h), hex(N) digits in any case', () => {
    const parsed = parse5('"a"=hex:01,  02,\t03,  \\', '  04', '"b"=hex(A):ff');
    expect(values(parsed)).toEqual([
      { name: 'a', type: 'REG_BINARY', data: '01020304' },
      { name: 'b', type: 'REG_RESOURCE_REQUIREMENTS_LIST', data: 'ff' },
    ]);
  });

  it('rejects blanks between a hex byte and the comma after it ("01 ,02" drops the value)', () => {
    const parsed = parse5('"a"=hex:01 ,02');
    expect(names(parsed)).toEqual([]);
    expect(parsed.warnings[0]).toMatchObject({ line: 4, column: 12 });
  });

  it('appends the missing final NUL to hex(2) data (Wine21a: "%PATH%" without NUL is stored as "%PATH%\\0")', () => {
    const parsed = parse5('"e"=hex(2):25,00,50,00,41,00,54,00,48,00,25,00', '"s"=hex(1):41,00');
    expect(values(parsed)).toEqual([
      { name: 'e', type: 'REG_EXPAND_SZ', data: '%PATH%' },
      { name: 's', type: 'REG_SZ', data: 'A' },
    ]);
  });

  it('appends one missing NUL to hex(7) data (Wine20a: "Line" is stored as "Line\\0", still lacking the list terminator)', () => {
    const parsed = parse5('"m"=hex(7):4c,00,69,00,6e,00,65,00', '"n"=hex(7):4c,00,69,00,6e,00,65,00,00,00,00,00');
    expect(values(parsed)).toEqual([
      { name: 'm', type: 'REG_HEX_7', data: '4c0069006e0065000000' },
      { name: 'n', type: 'REG_MULTI_SZ', data: ['Line'] },
    ]);
  });

  it('keeps empty hex(2) data empty (Wine22b: no terminator is added)', () => {
    expect(values(parse5('"e"=hex(2):'))).toEqual([{ name: 'e', type: 'REG_HEX_2', data: '' }]);
  });

  it('imports a short hex(b) as a REG_QWORD holding exactly the bytes given (regedit neither pads nor refuses it, cf. Wine3d hex(4) of 8 bytes)', () => {
    const parsed = parse5('"q"=hex(b):01,02', '"d"=hex(4):80,70,60,50,40,30,20,10');
    expect(values(parsed)).toEqual([
      { name: 'q', type: 'REG_HEX_11', data: '0102' },
      { name: 'd', type: 'REG_HEX_4', data: '8070605040302010' },
    ]);
    expect(parsed.warnings).toEqual([]);
    expect(writeReg({ format: 'REGEDIT5', operations: parsed.operations }).subarray(2).toString('utf16le')).toContain('"q"=hex(b):01,02\r\n');
  });

  it('accepts CR-only line endings (TestValue4)', () => {
    const bytes = Buffer.from(`REGEDIT4\r\r[${KEY}]\r"TestValue4"="DValue"\r`, 'latin1');
    expect(values(parseRegDetailed(bytes))).toEqual([{ name: 'TestValue4', type: 'REG_SZ', data: 'DValue' }]);
  });

  it('accepts blanks after "dword:" and a ; comment right after the digits (Wine9a, Wine25a)', () => {
    expect(values(parse5('"a"=dword:  00000008', '"b"=dword:1234;5678'))).toEqual([
      { name: 'a', type: 'REG_DWORD', data: 8 },
      { name: 'b', type: 'REG_DWORD', data: 0x1234 },
    ]);
  });
});
