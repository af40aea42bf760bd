/**
 * Registry data model shared by the `.reg` reader/writer, the portable file-backed hive
 * and the Windows `reg.exe` store.
 *
 * A `.reg` file is a list of operations applied in file order (SPEC §7, issue 9).
 */

/** The header a `.reg` file starts with. `REGEDIT4` is ANSI; `REGEDIT5` is "Windows Registry Editor Version 5.00" (UTF-16LE with BOM). */
export type RegFormat = 'REGEDIT4' | 'REGEDIT5';

/**
 * A registry value with its decoded data.
 * - `REG_SZ`, `REG_EXPAND_SZ`: decoded string (without the terminating NUL);
 * - `REG_MULTI_SZ`: the list of strings;
 * - `REG_DWORD`: unsigned 32-bit number;
 * - `REG_QWORD`: unsigned 64-bit number as a decimal string (exceeds JS number precision);
 * - `REG_BINARY`, `REG_NONE`, `REG_DWORD_BIG_ENDIAN` and any other `hex(N)` type: raw bytes as lowercase hex.
 */
export type RegValue =
  | { name: string; type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { name: string; type: 'REG_MULTI_SZ'; data: string[] }
  | { name: string; type: 'REG_DWORD'; data: number }
  | { name: string; type: 'REG_QWORD'; data: string }
  | { name: string; type: 'REG_BINARY' | 'REG_NONE' | 'REG_DWORD_BIG_ENDIAN' | 'REG_LINK' | 'REG_RESOURCE_LIST'; data: string }
  | { name: string; type: `REG_HEX_${number}`; data: string };

/** A value deletion (`"Name"=-`); `name` is `""` for the default value `@=-`. */
export interface RegValueDeletion {
  name: string;
  op: 'deleteValue';
}

/** `[KEY]` followed by its value lines: creates the key if missing, then sets/deletes values in order. */
export interface RegSetKey {
  op: 'setKey';
  /** Full key path with its root, e.g. `HKEY_LOCAL_MACHINE\SOFTWARE\Vendor`. */
  key: string;
  values: Array<RegValue | RegValueDeletion>;
}

/** `[-KEY]`: deletes the key and all its subkeys. */
export interface RegDeleteKey {
  op: 'deleteKey';
  key: string;
}

export type RegOperation = RegSetKey | RegDeleteKey;

/** A parsed `.reg` file. */
export interface RegFile {
  format: RegFormat;
  operations: RegOperation[];
}

/** What an export wrote. */
export interface RegistryExportResult {
  /** Absolute path of the `.reg` file written. */
  file: string;
  /** Keys (as configured) that existed and were exported. */
  exportedKeys: string[];
  /** Keys (as configured) that did not exist; the caller decides whether that is an error. */
  missingKeys: string[];
  /** Size of the file written, in bytes. */
  bytes: number;
}

/**
 * Where the CommServe's registry lives: Windows (`reg.exe`) or a portable file-backed hive.
 */
export interface RegistryStore {
  /** A short name for logs and manifests, e.g. `windows` or `file-hive`. */
  readonly kind: string;
  /**
   * Exports the given keys (and all their subkeys) into one `.reg` file in REGEDIT5 format.
   * @throws RegistryError when the store cannot be read or the file cannot be written.
   */
  exportKeys(keys: string[], file: string): Promise<RegistryExportResult>;
  /**
   * Applies the operations of a `.reg` file to this store, in file order.
   * @throws RegistryFormatError when the file is malformed (nothing is applied), RegistryError otherwise.
   */
  importFile(file: string): Promise<{ operations: number }>;
}
