import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { RegistryError, RegistryFormatError } from '#core/errors';
import { createHiveFile, FileHiveStore, RegHive } from '#agent/registry/file-hive';
import { foldRegistryName, parseReg, writeReg } from '#agent/registry/reg-format';
import type { RegOperation, RegValue } from '#agent/registry/types';

const projectRoot = path.join(__dirname, '..', '..', '..');
const fixtures = path.join(projectRoot, 'test', 'fixtures', 'reg');
const BASE = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor\\CommServe';

let dir: string;
beforeEach(async () => {
  const root = path.join(projectRoot, '.cache', 'test-tmp');
  await fs.mkdir(root, { recursive: true });
  dir = await fs.mkdtemp(path.join(root, 'file-hive-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sz = (name: string, data: string): RegValue => ({ name, type: 'REG_SZ', data });
const dword = (name: string, data: number): RegValue => ({ name, type: 'REG_DWORD', data });

/** A small CommServe-like hive. */
const SAMPLE: RegOperation[] = [
  { op: 'setKey', key: `${BASE}\\Base`, values: [sz('dGALAXYHOME', 'C:\\Program Files\\ExampleVendor\\Base'), dword('nPort', 8400)] },
  { op: 'setKey', key: `${BASE}\\Base\\gamma`, values: [] },
  { op: 'setKey', key: `${BASE}\\Base\\Beta`, values: [sz('', 'default')] },
  { op: 'setKey', key: `${BASE}\\Base\\alpha\\Deep`, values: [{ name: 'q', type: 'REG_QWORD', data: '1000' }] },
  { op: 'setKey', key: `${BASE}\\Database`, values: [sz('sINSTANCE', 'SQLINSTANCE01')] },
  { op: 'setKey', key: 'HKEY_CURRENT_USER\\Software\\Other', values: [sz('x', 'y')] },
];

async function hiveWith(operations: RegOperation[] = SAMPLE): Promise<FileHiveStore> {
  const hiveFile = path.join(dir, 'hive.reg');
  await createHiveFile(hiveFile, operations);
  return new FileHiveStore({ hiveFile });
}

async function writeRegFile(name: string, operations: RegOperation[]): Promise<string> {
  const file = path.join(dir, name);
  await fs.writeFile(file, writeReg({ format: 'REGEDIT5', operations }));
  return file;
}

describe('FileHiveStore', () => {
  describe('createHiveFile', () => {
    it('writes every key (parents created) with all its values, in regedit order', async () => {
      const hiveFile = path.join(dir, 'sub', 'dir', 'hive.reg');
      const result = await createHiveFile(hiveFile, SAMPLE);
      const keys = parseReg(await fs.readFile(hiveFile)).operations.map((op) => op.key);
      expect(keys).toEqual([
        'HKEY_CURRENT_USER\\Software',
        'HKEY_CURRENT_USER\\Software\\Other',
        'HKEY_LOCAL_MACHINE\\SOFTWARE',
        'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor',
        BASE,
        `${BASE}\\Base`,
        `${BASE}\\Base\\alpha`,
        `${BASE}\\Base\\alpha\\Deep`,
        `${BASE}\\Base\\Beta`,
        `${BASE}\\Base\\gamma`,
        `${BASE}\\Database`,
      ]);
      expect(result).toEqual({ file: hiveFile, keys: 11, bytes: (await fs.stat(hiveFile)).size });
    });
  });

  describe('exportKeys', () => {
    it('exports the keys and all subkeys in one REGEDIT5 file, parent before children, siblings sorted case-insensitively', async () => {
      const store = await hiveWith();
      const file = path.join(dir, 'commserv_hive.reg');
      const result = await store.exportKeys([`${BASE}\\Base`], file);
      const bytes = await fs.readFile(file);
      expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
      expect(parseReg(bytes)).toEqual({
        format: 'REGEDIT5',
        operations: [
          { op: 'setKey', key: `${BASE}\\Base`, values: [sz('dGALAXYHOME', 'C:\\Program Files\\ExampleVendor\\Base'), dword('nPort', 8400)] },
          { op: 'setKey', key: `${BASE}\\Base\\alpha`, values: [] },
          { op: 'setKey', key: `${BASE}\\Base\\alpha\\Deep`, values: [{ name: 'q', type: 'REG_QWORD', data: '1000' }] },
          { op: 'setKey', key: `${BASE}\\Base\\Beta`, values: [sz('', 'default')] },
          { op: 'setKey', key: `${BASE}\\Base\\gamma`, values: [] },
        ],
      });
      expect(result).toEqual({ file, exportedKeys: [`${BASE}\\Base`], missingKeys: [], bytes: bytes.length });
    });

    it('matches keys case-insensitively and accepts root abbreviations, keeping the stored spelling', async () => {
      const store = await hiveWith();
      const file = path.join(dir, 'out.reg');
      const configured = 'hklm\\software\\examplevendor\\COMMSERVE\\database';
      const result = await store.exportKeys([configured], file);
      expect(result.exportedKeys).toEqual([configured]);
      expect(parseReg(await fs.readFile(file)).operations).toEqual([
        { op: 'setKey', key: `${BASE}\\Database`, values: [sz('sINSTANCE', 'SQLINSTANCE01')] },
      ]);
    });

    it('reports missing keys, writes overlapping keys once, and orders several keys as regedit would', async () => {
      const store = await hiveWith();
      const file = path.join(dir, 'out.reg');
      const keys = [`${BASE}\\Database`, `${BASE}\\Missing`, `${BASE}\\Base\\Beta`, `${BASE}\\Base`, `${BASE}\\base`];
      const result = await store.exportKeys(keys, file);
      expect(result.exportedKeys).toEqual([`${BASE}\\Database`, `${BASE}\\Base\\Beta`, `${BASE}\\Base`, `${BASE}\\base`]);
      expect(result.missingKeys).toEqual([`${BASE}\\Missing`]);
      expect(parseReg(await fs.readFile(file)).operations.map((op) => op.key)).toEqual([
        `${BASE}\\Base`,
        `${BASE}\\Base\\alpha`,
        `${BASE}\\Base\\alpha\\Deep`,
        `${BASE}\\Base\\Beta`,
        `${BASE}\\Base\\gamma`,
        `${BASE}\\Database`,
      ]);
    });

    it('writes only the header when no key exists, and treats a missing hive file as an empty registry', async () => {
      const store = new FileHiveStore(path.join(dir, 'absent.reg'));
      const file = path.join(dir, 'out.reg');
      const result = await store.exportKeys([`${BASE}\\Base`], file);
      expect(result).toEqual({ file, exportedKeys: [], missingKeys: [`${BASE}\\Base`], bytes: 2 + 2 * (36 + 4) });
      expect(parseReg(await fs.readFile(file))).toEqual({ format: 'REGEDIT5', operations: [] });
    });

    it('is stable: exporting twice, or re-importing the export into a new hive and exporting again, is byte-identical', async () => {
      const store = await hiveWith();
      const first = path.join(dir, 'first.reg');
      await store.exportKeys([BASE], first);
      const again = path.join(dir, 'again.reg');
      await store.exportKeys([BASE], again);
      const copy = new FileHiveStore(path.join(dir, 'copy-hive.reg'));
      await copy.importFile(first);
      const third = path.join(dir, 'third.reg');
      await copy.exportKeys([BASE], third);
      const bytes = await fs.readFile(first);
      expect((await fs.readFile(again)).equals(bytes)).toBe(true);
      expect((await fs.readFile(third)).equals(bytes)).toBe(true);
    });

    it('refuses a key without a valid root before writing anything', async () => {
      const store = await hiveWith();
      const file = path.join(dir, 'out.reg');
      await expect(store.exportKeys(['SOFTWARE\\X'], file)).rejects.toMatchObject({ code: 'REG_BAD_KEY' });
      await expect(fs.stat(file)).rejects.toThrow();
    });

    it('fails with REG_IO when the export cannot be written, leaving no temporary file', async () => {
      const store = await hiveWith();
      await expect(store.exportKeys([BASE], path.join(dir, 'no-such-dir', 'out.reg'))).rejects.toMatchObject({ code: 'REG_IO' });
      expect(await fs.readdir(dir)).toEqual(['hive.reg']);
    });
  });

  describe('importFile', () => {
    it('applies setKey, deleteKey and deleteValue in file order and writes the hive back', async () => {
      const store = await hiveWith();
      const file = await writeRegFile('change.reg', [
        { op: 'setKey', key: `${BASE}\\BASE`, values: [sz('DGALAXYHOME', 'D:\\New'), { name: 'nPort', op: 'deleteValue' }, dword('nNew', 1)] },
        { op: 'deleteKey', key: `${BASE}\\Base\\Alpha` },
        { op: 'setKey', key: `${BASE}\\Base\\New\\Child`, values: [] },
        { op: 'deleteKey', key: `${BASE}\\Never\\There` },
      ]);
      expect(await store.importFile(file)).toEqual({ operations: 4, warnings: [] });

      const hive = await store.load();
      // The stored spelling of the key and the value name wins, and an updated value keeps its position.
      expect(hive.getKey(`${BASE}\\base`)).toEqual({ key: `${BASE}\\Base`, values: [sz('dGALAXYHOME', 'D:\\New'), dword('nNew', 1)] });
      expect(hive.getKey(`${BASE}\\Base\\alpha`)).toBeUndefined();
      expect(hive.getKey(`${BASE}\\Base\\alpha\\Deep`)).toBeUndefined();
      expect(hive.getKey(`${BASE}\\Base\\New`)).toEqual({ key: `${BASE}\\Base\\New`, values: [] });
      expect(hive.getKey(`${BASE}\\Base\\New\\Child`)).toBeDefined();
      // The hive file itself is a REGEDIT5 file of setKey operations.
      const hiveFile = parseReg(await fs.readFile(store.hiveFile));
      expect(hiveFile.format).toBe('REGEDIT5');
      expect(hiveFile.operations.every((op) => op.op === 'setKey')).toBe(true);
    });

    it('applies the commserv_hive.reg case: its value and key deletions remove what the hive had', async () => {
      const key = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor\\CommServe\\Base';
      const store = await hiveWith([
        { op: 'setKey', key: `${key}\\Firewall`, values: [sz('Obsolete', 'x'), dword('nPort', 1)] },
        { op: 'setKey', key: `${key}\\OldModule\\Sub`, values: [sz('a', 'b')] },
      ]);
      expect(await store.importFile(path.join(fixtures, 'commserv_hive.reg'))).toEqual({ operations: 3, warnings: [] });
      const hive = await store.load();
      expect(hive.getKey(`${key}\\Firewall`)?.values).toEqual([dword('nPort', 8192)]);
      expect(hive.getKey(`${key}\\OldModule`)).toBeUndefined();
      expect(hive.getKey(key)?.values).toHaveLength(10);
    });

    it('creates the hive file on the first import', async () => {
      const store = new FileHiveStore(path.join(dir, 'new-hive.reg'));
      await store.importFile(await writeRegFile('in.reg', [{ op: 'setKey', key: `${BASE}\\Base`, values: [dword('n', 2)] }]));
      expect((await store.load()).getKey(`${BASE}\\Base`)?.values).toEqual([dword('n', 2)]);
    });

    it('imports a file with one unterminated string as regedit does: that value is dropped with a warning, the rest applied', async () => {
      const store = await hiveWith();
      const file = path.join(dir, 'bad.reg');
      await fs.writeFile(file, ['Windows Registry Editor Version 5.00', '', `[${BASE}\\Base]`, '"nPort"=-', '"x"="unterminated'].join('\r\n'));
      const result = await store.importFile(file);
      expect(result).toEqual({ operations: 1, warnings: [{ line: 5, column: 5, message: 'value "x" skipped: unterminated string' }] });
      const hive = await store.load();
      expect(hive.getKey(`${BASE}\\Base`)?.values.map((v) => v.name)).not.toContain('nPort');
      expect((await fs.readdir(dir)).sort()).toEqual(['bad.reg', 'hive.reg']);
    });

    it('skips, with warnings, a key block with an invalid root and a root-key deletion, and applies the rest', async () => {
      const store = await hiveWith();
      const file = await writeRegFile('bad-root.reg', [
        { op: 'setKey', key: `${BASE}\\Base`, values: [{ name: 'nPort', op: 'deleteValue' }] },
        { op: 'setKey', key: 'HKEY_NOWHERE\\X', values: [] },
        { op: 'deleteKey', key: 'HKEY_LOCAL_MACHINE' },
      ]);
      const result = await store.importFile(file);
      expect(result.operations).toBe(1);
      expect(result.warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/"HKEY_NOWHERE" is not a registry root/),
        expect.stringMatching(/cannot delete the root key HKEY_LOCAL_MACHINE/),
      ]);
      expect((await store.load()).getKey(`${BASE}\\Base`)?.values.map((v) => v.name)).not.toContain('nPort');
    });

    it('refuses a file that is not a .reg file before changing anything', async () => {
      const store = await hiveWith();
      const before = await fs.readFile(store.hiveFile);
      const file = path.join(dir, 'bad.reg');
      await fs.writeFile(file, Buffer.from([0x00, 0x01, 0x02, 0xff, 0x41, 0x42, 0x0a]));
      await expect(store.importFile(file)).rejects.toMatchObject({ code: 'REG_FORMAT', context: { file } });
      expect((await fs.readFile(store.hiveFile)).equals(before)).toBe(true);
    });

    it('reports a malformed hive file with its name', async () => {
      const hiveFile = path.join(dir, 'hive.reg');
      await fs.writeFile(hiveFile, 'not a reg file');
      await expect(new FileHiveStore(hiveFile).exportKeys([BASE], path.join(dir, 'out.reg'))).rejects.toThrow(
        'hive.reg: line 1, column 1: not a .reg file: unknown header "not a reg file"',
      );
    });

    it('fails with REG_IO when the file to import does not exist', async () => {
      const store = await hiveWith();
      await expect(store.importFile(path.join(dir, 'absent.reg'))).rejects.toMatchObject({ code: 'REG_IO' });
      await expect(store.importFile(path.join(dir, 'absent.reg'))).rejects.toBeInstanceOf(RegistryError);
    });

    it('serializes concurrent imports of one store (none is lost)', async () => {
      const store = await hiveWith([]);
      const files = await Promise.all(
        Array.from({ length: 5 }, (_, i) => writeRegFile(`in${i}.reg`, [{ op: 'setKey', key: `${BASE}\\K${i}`, values: [dword('i', i)] }])),
      );
      await Promise.all(files.map((file) => store.importFile(file)));
      const hive = await store.load();
      for (let i = 0; i < 5; i++) expect(hive.getKey(`${BASE}\\K${i}`)?.values).toEqual([dword('i', i)]);
    });
  });
});

describe('RegHive', () => {
  it('treats root keys as always existing and exports a root with its subtree', () => {
    const hive = RegHive.fromOperations([{ op: 'setKey', key: 'HKCU\\A', values: [] }]);
    expect(hive.getKey('HKEY_USERS')).toEqual({ key: 'HKEY_USERS', values: [] });
    expect(hive.exportKey('hkcu').map((op) => op.key)).toEqual(['HKEY_CURRENT_USER', 'HKEY_CURRENT_USER\\A']);
  });

  /** A reference model: a flat map of folded key paths; each key holds folded value names. */
  function model(operations: RegOperation[]): Map<string, Map<string, unknown>> {
    const keys = new Map<string, Map<string, unknown>>();
    for (const op of operations) {
      const key = foldRegistryName(op.key);
      if (op.op === 'deleteKey') {
        for (const k of [...keys.keys()]) if (k === key || k.startsWith(`${key}\\`)) keys.delete(k);
        continue;
      }
      const parts = key.split('\\');
      for (let i = 2; i <= parts.length; i++) {
        const k = parts.slice(0, i).join('\\');
        if (!keys.has(k)) keys.set(k, new Map());
      }
      const values = keys.get(key)!;
      for (const v of op.values) {
        if ('op' in v) values.delete(foldRegistryName(v.name));
        else values.set(foldRegistryName(v.name), v.data);
      }
    }
    return keys;
  }

  it('agrees with a reference model on random operations, and its hive file reads back to the same state', () => {
    const part = fc.constantFrom('a', 'A', 'b', 'B', 'ä', 'Ä');
    const key = fc.array(part, { minLength: 1, maxLength: 3 }).map((p) => ['HKEY_LOCAL_MACHINE', ...p].join('\\'));
    const value = fc.oneof(
      fc.record({ name: fc.constantFrom('', 'x', 'X', 'y'), type: fc.constant('REG_SZ' as const), data: fc.string({ maxLength: 3 }) }),
      fc.record({ name: fc.constantFrom('', 'x', 'X', 'y'), op: fc.constant('deleteValue' as const) }),
    );
    const operation: fc.Arbitrary<RegOperation> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ op: fc.constant('setKey' as const), key, values: fc.array(value, { maxLength: 4 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('deleteKey' as const), key }) },
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 12 }), (operations) => {
        const hive = RegHive.fromOperations(operations);
        const state = hive.toOperations().filter((op) => op.key !== 'HKEY_LOCAL_MACHINE');
        const expected = model(operations);
        expect(state.map((op) => foldRegistryName(op.key)).sort()).toEqual([...expected.keys()].sort());
        for (const op of state) {
          const values = new Map(op.values.map((v) => [foldRegistryName(v.name), 'data' in v ? v.data : undefined]));
          expect(values).toEqual(expected.get(foldRegistryName(op.key)));
        }
        const reread = RegHive.fromOperations(parseReg(writeReg(hive.toRegFile())).operations);
        expect(reread.toOperations()).toEqual(hive.toOperations());
      }),
      { numRuns: 300 },
    );
  });
});
