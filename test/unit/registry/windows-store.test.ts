import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RegistryError, RegistryFormatError } from '#core/errors';
import { parseReg, writeReg } from '#agent/registry/reg-format';
import type { RegOperation } from '#agent/registry/types';
import { type RegExec, type RegExecResult, WindowsRegistryStore } from '#agent/registry/windows-store';

const projectRoot = path.join(__dirname, '..', '..', '..');
const BASE = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor\\CommServe';
const MISSING: RegExecResult = {
  exitCode: 1,
  stdout: '',
  stderr: 'ERROR: The system was unable to find the specified registry key or value.\r\n',
};

let dir: string;
beforeEach(async () => {
  const root = path.join(projectRoot, '.cache', 'test-tmp');
  await fs.mkdir(root, { recursive: true });
  dir = await fs.mkdtemp(path.join(root, 'windows-store-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** What `reg export <key>` writes for each existing key of the fake registry. */
const EXPORTS: Record<string, RegOperation[]> = {
  [`${BASE}\\Base`]: [
    { op: 'setKey', key: `${BASE}\\Base`, values: [{ name: 'sLogDir', type: 'REG_EXPAND_SZ', data: '%ProgramFiles%\\CommServe\\Log Files' }] },
    { op: 'setKey', key: `${BASE}\\Base\\Firewall`, values: [{ name: 'nPort', type: 'REG_DWORD', data: 8192 }] },
  ],
  [`${BASE}\\Database`]: [{ op: 'setKey', key: `${BASE}\\Database`, values: [{ name: 'sINSTANCE', type: 'REG_SZ', data: 'SQLINSTANCE01' }] }],
};

/** A fake reg.exe over {@link EXPORTS}; records its calls. */
function fakeRegExe(overrides: Partial<Record<string, (args: readonly string[]) => Promise<RegExecResult>>> = {}) {
  const calls: string[][] = [];
  const exec: RegExec = async (args) => {
    calls.push([...args]);
    const override = overrides[args[0]];
    if (override) return override(args);
    if (args[0] === 'export') {
      const [, key, file, flag] = args;
      expect(flag).toBe('/y');
      const operations = EXPORTS[key];
      if (!operations) return MISSING;
      await fs.writeFile(file, writeReg({ format: 'REGEDIT5', operations }));
      return { exitCode: 0, stdout: 'The operation completed successfully.\r\n', stderr: '' };
    }
    return { exitCode: 0, stdout: '', stderr: 'The operation completed successfully.\r\n' };
  };
  return { exec, calls };
}

describe('WindowsRegistryStore', () => {
  it('exports each key with reg export and merges them into one REGEDIT5 file with one header (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec, calls } = fakeRegExe();
    const store = new WindowsRegistryStore({ exec });
    const file = path.join(dir, 'commserv_hive.reg');
    const result = await store.exportKeys([`${BASE}\\Database`, `${BASE}\\Base`], file);

    expect(calls.map((c) => c.slice(0, 2))).toEqual([
      ['export', `${BASE}\\Base`],
      ['export', `${BASE}\\Database`],
    ]);
    const bytes = await fs.readFile(file);
    expect(result).toEqual({ file, exportedKeys: [`${BASE}\\Database`, `${BASE}\\Base`], missingKeys: [], bytes: bytes.length });
    expect(parseReg(bytes)).toEqual({ format: 'REGEDIT5', operations: [...EXPORTS[`${BASE}\\Base`], ...EXPORTS[`${BASE}\\Database`]] });
    // Byte for byte the two exports, one header: exactly what writing the merged operations gives.
    expect(bytes.equals(writeReg(parseReg(bytes)))).toBe(true);
    expect(bytes.subarray(2).toString('utf16le').match(/Windows Registry Editor/g)).toHaveLength(1);
    // Temporary export files were next to the target and are gone.
    expect(calls.every((c) => path.dirname(c[2]) === dir)).toBe(true);
    expect(await fs.readdir(dir)).toEqual(['commserv_hive.reg']);
  });

  it('puts keys reg.exe reports missing into missingKeys (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe();
    const file = path.join(dir, 'out.reg');
    const result = await new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Gone`, `${BASE}\\Database`], file);
    expect(result.exportedKeys).toEqual([`${BASE}\\Database`]);
    expect(result.missingKeys).toEqual([`${BASE}\\Gone`]);
    expect(parseReg(await fs.readFile(file)).operations).toEqual(EXPORTS[`${BASE}\\Database`]);
  });

  it('exports a key inside another listed key once, and accepts root abbreviations (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec, calls } = fakeRegExe();
    const file = path.join(dir, 'out.reg');
    const inner = 'hklm\\software\\examplevendor\\commserve\\base\\FIREWALL';
    const result = await new WindowsRegistryStore({ exec }).exportKeys([inner, 'HKLM\\SOFTWARE\\ExampleVendor\\CommServe\\Base', `${BASE}\\Base\\Nope`], file);
    expect(calls.map((c) => c[1])).toEqual([`${BASE}\\Base`]);
    expect(result.exportedKeys).toEqual([inner, 'HKLM\\SOFTWARE\\ExampleVendor\\CommServe\\Base']);
    expect(result.missingKeys).toEqual([`${BASE}\\Base\\Nope`]);
  });

  it('writes a header-only file when every key is missing (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe();
    const file = path.join(dir, 'out.reg');
    const result = await new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Gone`], file);
    expect(result.exportedKeys).toEqual([]);
    expect(await fs.readFile(file)).toEqual(writeReg({ format: 'REGEDIT5', operations: [] }));
  });

  it('normalizes an LF export from reg.exe to CRLF (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe({
      export: async (args) => {
        const text = ['Windows Registry Editor Version 5.00', '', `[${BASE}\\Lf]`, '"a"="b"', ''].join('\n');
        await fs.writeFile(args[2], Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    });
    const file = path.join(dir, 'out.reg');
    await new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Lf`], file);
    expect((await fs.readFile(file)).subarray(2).toString('utf16le')).toBe(
      ['Windows Registry Editor Version 5.00', '', `[${BASE}\\Lf]`, '"a"="b"', '', ''].join('\r\n'),
    );
  });

  it('fails with REG_EXPORT_FAILED on any other reg.exe error, writing nothing and removing temporary files (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe({
      export: async (args) => {
        await fs.writeFile(args[2], 'partial');
        return { exitCode: 1, stdout: '', stderr: 'ERROR: Access is denied.\r\n' };
      },
    });
    const file = path.join(dir, 'out.reg');
    const error = await new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Base`], file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect(error).toMatchObject({ code: 'REG_EXPORT_FAILED' });
    expect((error as Error).message).toMatch(/exit code 1\): ERROR: Access is denied\./);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('fails with a RegistryFormatError when reg.exe writes something that is not a .reg file (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe({
      export: async (args) => {
        await fs.writeFile(args[2], Buffer.from('\ufeffgarbage', 'utf16le'));
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    });
    await expect(new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Base`], path.join(dir, 'out.reg'))).rejects.toBeInstanceOf(
      RegistryFormatError,
    );
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('fails with a RegistryError when reg.exe cannot be started (reg.exe mocked: cannot run on Linux)', async () => {
    const exec: RegExec = async () => {
      throw Object.assign(new Error('spawn reg.exe ENOENT'), { code: 'ENOENT' });
    };
    await expect(new WindowsRegistryStore({ exec }).exportKeys([`${BASE}\\Base`], path.join(dir, 'out.reg'))).rejects.toThrow(
      /cannot run reg.exe to export .*: spawn reg.exe ENOENT/,
    );
  });

  it('imports with reg import after checking the file parses (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec, calls } = fakeRegExe();
    const file = path.join(dir, 'in.reg');
    await fs.writeFile(file, writeReg({ format: 'REGEDIT5', operations: [...EXPORTS[`${BASE}\\Base`], { op: 'deleteKey', key: `${BASE}\\Old` }] }));
    expect(await new WindowsRegistryStore({ exec }).importFile(file)).toEqual({ operations: 3, warnings: [] });
    expect(calls).toEqual([['import', file]]);
  });

  it('imports a file with one unreadable value, which reg.exe drops as regedit does, and reports it as a warning (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec, calls } = fakeRegExe();
    const file = path.join(dir, 'bad.reg');
    await fs.writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\X]\r\n"a"=dword:xyz\r\n"b"=dword:1\r\n', 'utf16le')]));
    const result = await new WindowsRegistryStore({ exec }).importFile(file);
    expect(result.operations).toBe(1);
    expect(result.warnings).toEqual([{ line: 4, column: 11, message: expect.stringMatching(/^value "a" skipped: invalid dword "xyz"/) }]);
    expect(calls.map((c) => c[0])).toEqual(['import']);
  });

  it('refuses a file that is not a .reg file without running reg import (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec, calls } = fakeRegExe();
    const file = path.join(dir, 'bad.reg');
    await fs.writeFile(file, 'not a reg file\r\n');
    await expect(new WindowsRegistryStore({ exec }).importFile(file)).rejects.toMatchObject({
      code: 'REG_FORMAT',
      message: 'bad.reg: line 1, column 1: not a .reg file: unknown header "not a reg file": expected "Windows Registry Editor Version 5.00" or "REGEDIT4"',
      context: { line: 1, column: 1, file },
    });
    expect(calls).toEqual([]);
  });

  it('imports a UTF-8 file through a temporary UTF-16LE copy, removed afterwards (reg.exe mocked: cannot run on Linux)', async () => {
    let imported: Buffer | undefined;
    const { exec, calls } = fakeRegExe({
      import: async (args) => {
        imported = await fs.readFile(args[1]);
        return { exitCode: 0, stdout: '', stderr: '' };
      },
    });
    const file = path.join(dir, 'utf8.reg');
    await fs.writeFile(file, ['Windows Registry Editor Version 5.00', '', `[${BASE}\\Ünïcode]`, '"naïve"="日本"', ''].join('\n'), 'utf8');
    expect(await new WindowsRegistryStore({ exec }).importFile(file)).toEqual({ operations: 1, warnings: [] });
    expect(calls[0][1]).not.toBe(file);
    expect([...imported!.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(parseReg(imported!)).toEqual(parseReg(await fs.readFile(file)));
    expect(await fs.readdir(dir)).toEqual(['utf8.reg']);
  });

  it('fails with REG_IMPORT_FAILED when reg import fails (reg.exe mocked: cannot run on Linux)', async () => {
    const { exec } = fakeRegExe({ import: async () => ({ exitCode: 1, stdout: '', stderr: 'ERROR: Error accessing the registry.' }) });
    const file = path.join(dir, 'in.reg');
    await fs.writeFile(file, writeReg({ format: 'REGEDIT5', operations: EXPORTS[`${BASE}\\Database`] }));
    await expect(new WindowsRegistryStore({ exec }).importFile(file)).rejects.toMatchObject({ code: 'REG_IMPORT_FAILED' });
  });
});
