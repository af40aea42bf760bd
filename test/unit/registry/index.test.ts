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
});
