/**
 * Registry data model shared by the `.reg` reader/writer, the portable file-backed hive
 * and the Windows `reg.exe` store.
 *
 * A `.reg` file is a list of operations applied in file order (SPEC §7, issue 9).
 */

/** The header a `.reg` file starts with. `REGEDIT4` is ANSI; `REGEDIT5` is "Windows Registry Editor Version 5.00" (UTF-16LE with BOM). */
export type RegFormat = 'REGEDIT4' | 'REGEDIT5';

/**
 * A registry value with its decoded data. `name` is `""` for the default value (`@`).
 * - `REG_SZ`, `REG_EXPAND_SZ`: decoded string (without the terminating NUL);
 * - `REG_MULTI_SZ`: the list of strings (none may contain a NUL);
 * - `REG_DWORD`: unsigned 32-bit number (0 … 4294967295);
 * - `REG_QWORD`: unsigned 64-bit number as a decimal string (exceeds JS number precision);
 * - `REG_BINARY`, `REG_NONE`, `REG_DWORD_BIG_ENDIAN`, `REG_LINK`, `REG_RESOURCE_LIST`,
 *   `REG_FULL_RESOURCE_DESCRIPTOR`, `REG_RESOURCE_REQUIREMENTS_LIST`: raw bytes as lowercase hex;
 * - `REG_HEX_<N>` (N = the registry type number **in decimal**, e.g. `hex(100):` → `REG_HEX_256`): raw bytes
 *   as lowercase hex, for a type number without a name above, **or** for a named type whose bytes are not a
 *   well-formed encoding of it (a `hex(4)` that is not 4 bytes, a `hex(b)` that is not 8, a `hex(1)`/`hex(2)`/
 *   `hex(7)` string that is not NUL-terminated). Nothing read from a `.reg` file is ever lost or altered.
 *
 * `hex(1)` (a REG_SZ written as hex) decodes to `REG_SZ`; the writer uses `hex(1)` again only for strings a
 * quoted `"…"` cannot carry (CR, LF or NUL inside). `hex(3)` decodes to `REG_BINARY` (written `hex:`),
 * `hex(4)` of 4 bytes to `REG_DWORD` (written `dword:`).
 */
export type RegValue =
  | { name: string; type: 'REG_SZ' | 'REG_EXPAND_SZ'; data: string }
  | { name: string; type: 'REG_MULTI_SZ'; data: string[] }
  | { name: string; type: 'REG_DWORD'; data: number }
  | { name: string; type: 'REG_QWORD'; data: string }
  | { name: string; type: RegRawType; data: string }
  | { name: string; type: `REG_HEX_${number}`; data: string };

/** Named registry types whose data this model keeps as raw bytes (lowercase hex). */
export type RegRawType =
  | 'REG_BINARY'
  | 'REG_NONE'
  | 'REG_DWORD_BIG_ENDIAN'
  | 'REG_LINK'
  | 'REG_RESOURCE_LIST'
  | 'REG_FULL_RESOURCE_DESCRIPTOR'
  | 'REG_RESOURCE_REQUIREMENTS_LIST';

/** Every value type of the model, e.g. `REG_SZ` or `REG_HEX_256`. */
export type RegValueType = RegValue['type'];

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

/**
 * Something of a `.reg` file that was not imported (as regedit would not import it), and why. Line and column
 * are 1-based (columns in characters).
 */
export interface RegWarning {
  line: number;
  column: number;
  /** e.g. `value "Port" skipped: invalid dword "12345678abc": expected 1 to 8 hex digits, …`. */
  message: string;
}

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
   * Applies the operations of a `.reg` file to this store, in file order. What regedit would not import (one bad
   * value, a key block with an invalid root) is left out and listed in `warnings`.
   * @throws RegistryFormatError when the file is not a `.reg` file (nothing is applied), RegistryError otherwise.
   */
  importFile(file: string): Promise<{ operations: number; warnings?: RegWarning[] }>;
}
