import * as path from 'node:path';
import { createRegistryStore, FileHiveStore, WindowsRegistryStore } from '#agent/registry/index';

describe('createRegistryStore', () => {
  it('chooses the Windows store on win32', () => {
    const store = createRegistryStore({ platform: 'win32' });
    expect(store).toBeInstanceOf(WindowsRegistryStore);
    expect(store.kind).toBe('windows');
  });

  it('chooses the file-backed hive elsewhere, under the local state directory by default', () => {
    const store = createRegistryStore({ platform: 'linux' });
    expect(store).toBeInstanceOf(FileHiveStore);
    expect(store.kind).toBe('file-hive');
    expect((store as FileHiveStore).hiveFile).toBe(path.resolve('.commserve-dr', 'registry', 'commserv_hive.reg'));
  });

  it('uses the configured hive file or state directory, and honours an explicit kind', () => {
    expect((createRegistryStore({ platform: 'darwin', hiveFile: '/x/hive.reg' }) as FileHiveStore).hiveFile).toBe(path.resolve('/x/hive.reg'));
    expect((createRegistryStore({ platform: 'linux', stateDir: '/state' }) as FileHiveStore).hiveFile).toBe(
      path.resolve('/state', 'registry', 'commserv_hive.reg'),
    );
    expect(createRegistryStore({ platform: 'win32', kind: 'file-hive' })).toBeInstanceOf(FileHiveStore);
    expect(createRegistryStore({ platform: 'linux', kind: 'windows' })).toBeInstanceOf(WindowsRegistryStore);
  });
});
