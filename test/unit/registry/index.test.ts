import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRegistryStore, FileHiveStore, WindowsRegistryStore } from '#agent/registry/index';

describe('createRegistryStore', () => {
  it('chooses the Windows store on win32', () => {
    const store = createRegistryStore({ platform: 'win32' });
    expect(store).toBeInstanceOf(WindowsRegistryStore);
    expect(store.kind).toBe('windows');
  });

  it('chooses the file-backed hive elsewhere, at the local default hive file', () => {
    const store = createRegistryStore({ platform: 'linux' });
    expect(store).toBeInstanceOf(FileHiveStore);
    expect(store.kind).toBe('file-hive');
    expect((store as FileHiveStore).hiveFile).toBe(path.resolve('.commserve-dr', 'sample', 'registry', 'commserv_hive.reg'));
  });

  it('takes the Registry settings as they are: the hive file, and an explicit store', () => {
    expect((createRegistryStore({ platform: 'darwin', hiveFile: '/x/hive.reg' }) as FileHiveStore).hiveFile).toBe(path.resolve('/x/hive.reg'));
    expect(createRegistryStore({ platform: 'win32', store: 'file-hive' })).toBeInstanceOf(FileHiveStore);
    expect(createRegistryStore({ platform: 'linux', store: 'windows' })).toBeInstanceOf(WindowsRegistryStore);
  });

  it('passes the AnsiCodePage setting to the file-backed hive: a REGEDIT4 import in code page 1251 reads 0xC0 as А', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'registry-store-'));
    try {
      const file = path.join(dir, 'import.reg');
      writeFileSync(file, Buffer.concat([Buffer.from('REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\T]\r\n"n"="', 'latin1'), Buffer.of(0xc0), Buffer.from('"\r\n', 'latin1')]));
      const store = createRegistryStore({ platform: 'linux', hiveFile: path.join(dir, 'hive.reg'), ansiCodePage: 1251 }) as FileHiveStore;
      await store.importFile(file);
      const hive = await store.load();
      expect(hive.toRegFile().operations).toEqual([{ op: 'setKey', key: 'HKEY_LOCAL_MACHINE\\SOFTWARE', values: [] }, { op: 'setKey', key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\T', values: [{ name: 'n', type: 'REG_SZ', data: 'А' }] }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
