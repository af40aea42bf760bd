/**
 * The registry area: the `.reg` format, the two {@link RegistryStore} implementations and the factory that
 * picks one for this machine.
 */
import * as path from 'node:path';
import { FileHiveStore } from './file-hive';
import type { RegistryStore } from './types';
import { type RegExec, WindowsRegistryStore } from './windows-store';

export * from './types';
export * from './reg-format';
export * from './file-hive';
export * from './windows-store';

/** Default hive file, relative to the local state directory. */
export const DEFAULT_HIVE_FILE = path.join('registry', 'commserv_hive.reg');

/** What {@link createRegistryStore} needs; every field is optional. */
export interface RegistryStoreConfig {
  /** Force a store instead of choosing by platform. */
  kind?: 'windows' | 'file-hive';
  /** The platform to choose for; defaults to `process.platform` (`win32` → Windows). */
  platform?: NodeJS.Platform;
  /** Hive file of the file-backed store; defaults to `<stateDir>/registry/commserv_hive.reg`. */
  hiveFile?: string;
  /** Local state directory (SPEC §11); defaults to `.commserve-dr` in the working directory. */
  stateDir?: string;
  /** How the Windows store runs `reg.exe` (tests). */
  exec?: RegExec;
}

/**
 * The registry store for this machine: {@link WindowsRegistryStore} (`reg.exe`) on Windows, otherwise the
 * portable {@link FileHiveStore}. `config.kind` overrides the choice.
 */
export function createRegistryStore(config: RegistryStoreConfig = {}): RegistryStore {
  const kind = config.kind ?? ((config.platform ?? process.platform) === 'win32' ? 'windows' : 'file-hive');
  if (kind === 'windows') return new WindowsRegistryStore({ exec: config.exec });
  const hiveFile = config.hiveFile ?? path.join(config.stateDir ?? '.commserve-dr', DEFAULT_HIVE_FILE);
  return new FileHiveStore({ hiveFile });
}
