/**
 * `commserve-dr registry parse`: the CLI run in-process with `exec` on real `.reg` files on disk (the shared
 * case file and files written by the test). Nothing is mocked.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { writeRegFile } from '#agent/registry/reg-format';
import { capture } from '../../support/cli';
import { useTempDirs } from '../../support/tmp';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'reg');
const CASE_FILE = join(fixtures, 'commserv_hive.reg');
const HEADER5 = 'Windows Registry Editor Version 5.00';
const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor\\CommServe\\Base';

/** Writes a REGEDIT5 file as regedit does (UTF-16LE with BOM, CRLF). */
function writeReg5(file: string, ...lines: string[]): void {
  writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf16le')]));
}

describe('registry parse (CLI in-process, real .reg files)', () => {
  const tempDir = useTempDirs();

  it('--json on the commserv_hive.reg case prints exactly the expected { format, encoding, operations }, exit 0', async () => {
    const io = capture(fixtures);
    const code = await exec(['registry', 'parse', CASE_FILE, '--json'], io);
    expect(code).toBe(0);
    expect(JSON.parse(io.out())).toEqual(JSON.parse(readFileSync(join(fixtures, 'commserv_hive.expected.json'), 'utf8')));
    expect(io.err()).toBe('');
  });

  it('--json is also accepted before the command (global flag)', async () => {
    const io = capture(fixtures);
    expect(await exec(['--json', 'registry', 'parse', 'commserv_hive.reg'], io)).toBe(0);
    expect(Object.keys(JSON.parse(io.out()))).toEqual(['format', 'encoding', 'operations']);
  });

  it('the table shows format, encoding, keys in file order, value types and decoded data, and deletions', async () => {
    const io = capture(fixtures);
    expect(await exec(['registry', 'parse', 'commserv_hive.reg'], io)).toBe(0);
    const out = io.out();
    expect(out).toContain('commserv_hive.reg: REGEDIT5 ("Windows Registry Editor Version 5.00"), UTF-16LE with BOM');
    expect(out).toContain('3 operations: 2 key sets (11 values set, 1 value deletion), 1 key deletion');
    const base = out.indexOf(`set key     ${KEY}\n`);
    const firewall = out.indexOf(`set key     ${KEY}\\Firewall\n`);
    const deleted = out.indexOf(`delete key  ${KEY}\\OldModule`);
    expect(base).toBeGreaterThan(-1);
    expect(firewall).toBeGreaterThan(base);
    expect(deleted).toBeGreaterThan(firewall);
    const row = (name: string) => out.split('\n').find((l) => l.trimStart().startsWith(name))?.trim().replace(/ {2,}/g, ' | ');
    expect(row('"dGALAXYHOME"')).toBe('"dGALAXYHOME" | REG_SZ | "C:\\\\Program Files\\\\ExampleVendor\\\\Base"');
    expect(row('"sCSCLIENTNAME"')).toBe('"sCSCLIENTNAME" | REG_SZ | "cs01 \\"primary\\""');
    expect(row('(default)')).toBe('(default) | REG_SZ | "default value"');
    expect(row('"nDRRetainCount"')).toBe('"nDRRetainCount" | REG_DWORD | 5 (0x00000005)');
    expect(row('"qwLastJob"')).toBe('"qwLastJob" | REG_QWORD | 1000');
    expect(row('"sLogDir"')).toBe('"sLogDir" | REG_EXPAND_SZ | "%ProgramFiles%\\\\CommServe\\\\Log Files"');
    expect(row('"mInstances"')).toBe('"mInstances" | REG_MULTI_SZ | ["SQLINSTANCE01", "C:\\\\DR\\\\Sets", "with \\"quotes\\""]');
    expect(row('"bBlob"')).toBe('"bBlob" | REG_BINARY | 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f … (48 bytes)');
    expect(row('"nPort"')).toBe('"nPort" | REG_DWORD | 8192 (0x00002000)');
    expect(row('"Obsolete"')).toBe('"Obsolete" | delete value');
    expect(out).not.toContain('re-entered after recovery');
    expect(io.err()).toBe('');
  });

  it('cuts long strings and lists in the table but prints them complete with --json', async () => {
    const cwd = tempDir();
    const long = 'x'.repeat(300);
    writeReg5(join(cwd, 'long.reg'), HEADER5, '', `[${KEY}]`, `"sLong"="${long}"`, `"mMany"=hex(7):${Buffer.from(`${'abc\0'.repeat(40)}\0`, 'utf16le').toString('hex').replace(/(..)(?!$)/g, '$1,')}`);
    const table = capture(cwd);
    expect(await exec(['registry', 'parse', 'long.reg'], table)).toBe(0);
    expect(table.out()).toContain('… (300 characters)');
    expect(table.out()).toContain('(40 strings)');
    expect(table.out()).not.toContain(long);
    const json = capture(cwd);
    expect(await exec(['registry', 'parse', 'long.reg', '--json'], json)).toBe(0);
    const [operation] = JSON.parse(json.out()).operations;
    expect(operation.values).toEqual([
      { name: 'sLong', type: 'REG_SZ', data: long },
      { name: 'mMany', type: 'REG_MULTI_SZ', data: Array(40).fill('abc') },
    ]);
  });

  describe('DPAPI blobs (machine-bound secrets)', () => {
    const blob = '01,00,00,00,d0,8c,9d,df,01,15,d1,11,8c,7a,00,c0,4f,c2,97,eb,01,00,00,00';

    it('lists a binary value that starts with the DPAPI header in a warning section, and not one that contains it later', async () => {
      const cwd = tempDir();
      writeReg5(join(cwd, 'secrets.reg'), HEADER5, '', `[${KEY}\\Credentials]`, `"sDbPassword"=hex:${blob}`, `"bLater"=hex:00,${blob}`, '"sUser"="backupadmin"');
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'secrets.reg'], io)).toBe(0);
      const out = io.out();
      const section = out.indexOf('values that must be re-entered after recovery (DPAPI, machine-bound):');
      expect(section).toBeGreaterThan(out.indexOf('"sUser"'));
      const warning = out.slice(section).split('\n').filter((l) => l.startsWith('    '));
      expect(warning).toHaveLength(1);
      expect(warning[0]).toContain(`${KEY}\\Credentials  "sDbPassword"  REG_BINARY: DPAPI blob`);
      expect(out.slice(section)).not.toContain('bLater');
    });

    it('--json keeps stdout to { format, encoding, operations } and warns on stderr', async () => {
      const cwd = tempDir();
      writeReg5(join(cwd, 'secrets.reg'), HEADER5, '', `[${KEY}]`, `@=hex(0):${blob}`);
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'secrets.reg', '--json'], io)).toBe(0);
      expect(Object.keys(JSON.parse(io.out()))).toEqual(['format', 'encoding', 'operations']);
      expect(io.err()).toMatch(/^warning: values that must be re-entered after recovery \(DPAPI, machine-bound\):\nwarning: .*\(default\) {2}REG_NONE: DPAPI blob/);
    });
  });

  describe('values regedit would not import: left out, each listed on stderr with line and column, exit 3 (completed with errors)', () => {
    it.each<[string, string[], string]>([
      ['an unterminated string', [HEADER5, '', `[${KEY}]`, '"a"="b"', '"name"="open'], 'bad.reg: line 5, column 8: value "name" skipped: unterminated string'],
      ['a bad hex byte', [HEADER5, '', `[${KEY}]`, '"a"="b"', '"h"=hex:01,zz,03'], 'bad.reg: line 5, column 12: value "h" skipped: invalid hex byte "zz,03"'],
      ['a missing "="', [HEADER5, '', `[${KEY}]`, '"a"="b"', '"x" "b"'], 'bad.reg: line 5, column 5: value "x" skipped: expected "=" after the value name'],
    ])('%s', async (_what, lines, message) => {
      const cwd = tempDir();
      writeReg5(join(cwd, 'bad.reg'), ...lines);
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'bad.reg'], io)).toBe(3);
      expect(io.err()).toBe(`warning: ${message}\n`);
      expect(io.out()).toMatch(/"a" +REG_SZ +"b"/);
      expect(io.out()).toContain('1 operation: 1 key set (1 value set, 0 value deletions), 0 key deletions');
    });

    it('the same with --json: stdout is the document without the dropped value and with its warnings (line, column, message), warnings also on stderr', async () => {
      const cwd = tempDir();
      writeFileSync(join(cwd, 'bad.reg'), `REGEDIT4\n\n[${KEY}]\n"a"="b\n"c"=dword:00000001\n"d"=dword:123456789\n`, 'latin1');
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'bad.reg', '--json'], io)).toBe(3);
      expect(io.err()).toBe(
        'warning: bad.reg: line 4, column 5: value "a" skipped: unterminated string\n' +
          'warning: bad.reg: line 6, column 19: value "d" skipped: invalid dword "123456789": expected 1 to 8 hex digits, then only blanks or a ; comment\n',
      );
      const document = JSON.parse(io.out());
      expect(document).toEqual({
        format: 'REGEDIT4',
        encoding: 'ANSI (code page 1252)',
        operations: [{ op: 'setKey', key: KEY, values: [{ name: 'c', type: 'REG_DWORD', data: 1 }] }],
        warnings: [
          { line: 4, column: 5, message: 'value "a" skipped: unterminated string' },
          { line: 6, column: 19, message: 'value "d" skipped: invalid dword "123456789": expected 1 to 8 hex digits, then only blanks or a ; comment' },
        ],
        warningCount: 2,
      });
      // Written as JSON.stringify(…, null, 2) writes the whole document.
      expect(io.out()).toBe(`${JSON.stringify(document, null, 2)}\n`);
    });

    it('--json on a file whose only key is dropped: an empty operations list, then the warnings', async () => {
      const cwd = tempDir();
      writeFileSync(join(cwd, 'bad.reg'), 'REGEDIT4\n\n[HKLM\\SOFTWARE\\X]\n"a"="b"\n', 'latin1');
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'bad.reg', '--json'], io)).toBe(3);
      const document = JSON.parse(io.out());
      expect(document.operations).toEqual([]);
      expect(document.warnings).toEqual([{ line: 3, column: 2, message: expect.stringContaining('key skipped with its values') }]);
      expect(io.out()).toBe(`${JSON.stringify(document, null, 2)}\n`);
    });
  });

  describe('a file that is not a .reg file: exit 1, one line "<file>: line L, column C: <problem>", nothing on stdout', () => {
    it.each<[string, Buffer, string]>([
      [
        'an unknown header',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`Windows Registry Editor Version 6.00\r\n\r\n[${KEY}]\r\n`, 'utf16le')]),
        'bad.reg: line 1, column 1: not a .reg file: unknown header "Windows Registry Editor Version 6.00": expected "Windows Registry Editor Version 5.00" or "REGEDIT4"',
      ],
      ['binary garbage', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x0a]), 'bad.reg: line 1, column 1: not a .reg file: unknown header "\\x7fELF\\x02\\x01\\x01\\x00": expected "Windows Registry Editor Version 5.00" or "REGEDIT4"'],
    ])('%s', async (_what, bytes, message) => {
      const cwd = tempDir();
      writeFileSync(join(cwd, 'bad.reg'), bytes);
      const io = capture(cwd);
      expect(await exec(['registry', 'parse', 'bad.reg'], io)).toBe(1);
      expect(io.err()).toBe(`commserve-dr: ${message}\n`);
      expect(io.out()).toBe('');
      const json = capture(cwd);
      expect(await exec(['registry', 'parse', 'bad.reg', '--json'], json)).toBe(1);
      expect(json.err()).toBe(`commserve-dr: ${message}\n`);
      expect(JSON.parse(json.out())).toEqual({ error: { code: 'REG_FORMAT', message }, exitCode: 1 });
    });
  });

  it('a file that does not exist: exit 1, one line naming it', async () => {
    const io = capture(tempDir());
    expect(await exec(['registry', 'parse', 'absent.reg'], io)).toBe(1);
    expect(io.err()).toBe('commserve-dr: cannot read absent.reg: not found (ENOENT)\n');
  });

  it('no file argument is a usage error: exit 2', async () => {
    const io = capture(tempDir());
    expect(await exec(['registry', 'parse'], io)).toBe(2);
    expect(io.err()).toContain("missing required argument 'file'");
  });

  it('--help shows examples', async () => {
    const io = capture(tempDir());
    expect(await exec(['registry', 'parse', '--help'], io)).toBe(0);
    expect(io.out()).toContain('Examples:\n  $ commserve-dr registry parse commserv_hive.reg\n  $ commserve-dr registry parse dr/SET_12/commserv_hive_12.reg --json');
  });
});

describe('registry parse interrupted (real process, SIGTERM)', () => {
  const tempDir = useTempDirs();

  it('a large file read as a stream answers SIGTERM: exit 143 and a line about the parse, not the job message about SETs', async () => {
    const cwd = tempDir();
    const file = join(cwd, 'big.reg');
    // ~40 MB of keys: far more than is parsed before the first output is seen and the signal sent.
    const operations = function* () {
      for (let i = 0; i < 60_000; i++) {
        yield { op: 'setKey' as const, key: `${KEY}\\K${i}`, values: [{ name: 'b', type: 'REG_BINARY' as const, data: 'ab'.repeat(200) }] };
      }
    };
    await writeRegFile(file, 'REGEDIT5', operations());
    const child = spawn(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'commserve-dr.js'), 'registry', 'parse', 'big.reg'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.once('data', () => child.kill('SIGTERM'));
    child.stdout.resume();
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: 143, signal: null });
    expect(err).toBe('commserve-dr: interrupted (SIGTERM): registry parse stopped; it changes nothing\n');
  }, 120_000);
});
