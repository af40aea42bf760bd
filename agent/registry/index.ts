/**
 * The registry area: the `.reg` format, the two {@link RegistryStore} implementations, the factory that
 * picks one for this machine, and the detection of machine-bound (DPAPI) secrets.
 */
import * as path from 'node:path';
import { FileHiveStore } from './file-hive';
import type { RegistryStore } from './types';
import { type RegExec, WindowsRegistryStore } from './windows-store';

export * from './types';
export * from './reg-format';
export * from './file-hive';
export * from './windows-store';
export * from './secrets';

/** Hive file of the file-backed store when none is configured (relative to the working directory; the local default of `Registry.hiveFile`). */
export const DEFAULT_HIVE_FILE = path.join('.commserve-dr', 'sample', 'registry', 'commserv_hive.reg');

/**
 * What {@link createRegistryStore} needs; every field is optional. The `Registry` settings object
 * (`store`, `hiveFile`, …) can be passed as it is.
 */
export interface RegistryStoreConfig {
  /** Force a store instead of choosing by platform (the `Registry.store` setting). */
  store?: 'windows' | 'file-hive';
  /** The platform to choose for; defaults to `process.platform` (`win32` → Windows). */
  platform?: NodeJS.Platform;
  /** Hive file of the file-backed store; defaults to {@link DEFAULT_HIVE_FILE}. */
  hiveFile?: string;
  /** How the Windows store runs `reg.exe` (tests). */
  exec?: RegExec;
  /** ANSI code page of REGEDIT4 files the file-backed hive imports (the `AnsiCodePage` setting); default 1252. */
  ansiCodePage?: number;
}

/**
 * The registry store for this machine: {@link WindowsRegistryStore} (`reg.exe`) on Windows, otherwise the
 * portable {@link FileHiveStore}. `config.store` overrides the choice.
 */
export function createRegistryStore(config: RegistryStoreConfig = {}): RegistryStore {
  const kind = config.store ?? ((config.platform ?? process.platform) === 'win32' ? 'windows' : 'file-hive');
  if (kind === 'windows') return new WindowsRegistryStore({ exec: config.exec });
  return new FileHiveStore({ hiveFile: config.hiveFile ?? DEFAULT_HIVE_FILE, ansiCodePage: config.ansiCodePage });
}
