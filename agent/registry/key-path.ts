/**
 * Registry key paths shared by the stores and the .reg format: case-insensitive matching as Windows does it,
 * root keys and their abbreviations (as reg.exe and the settings accept them), and regedit's key order.
 */
import { RegistryError } from '#core/errors';

// ---------------------------------------------------------------------------------------------------------

/** The predefined root keys and their abbreviations (as `reg.exe` accepts them). */
export const REGISTRY_ROOTS: Readonly<Record<string, string>> = {
  HKEY_LOCAL_MACHINE: 'HKEY_LOCAL_MACHINE',
  HKLM: 'HKEY_LOCAL_MACHINE',
  HKEY_CURRENT_USER: 'HKEY_CURRENT_USER',
  HKCU: 'HKEY_CURRENT_USER',
  HKEY_CLASSES_ROOT: 'HKEY_CLASSES_ROOT',
  HKCR: 'HKEY_CLASSES_ROOT',
  HKEY_USERS: 'HKEY_USERS',
  HKU: 'HKEY_USERS',
  HKEY_CURRENT_CONFIG: 'HKEY_CURRENT_CONFIG',
  HKCC: 'HKEY_CURRENT_CONFIG',
};

/**
 * Folds a key or value name for case-insensitive comparison the way Windows does: each character upper-cased
 * on its own (characters whose upper case is longer, like `ß`, are kept).
 */
export function foldRegistryName(name: string): string {
  if (/^[\x00-\x7f]*$/.test(name)) return name.toUpperCase();
  let out = '';
  for (const ch of name) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/**
 * Splits a key path into its components with the root spelled out (`HKLM\Software\X` →
 * `['HKEY_LOCAL_MACHINE', 'Software', 'X']`). Empty components (doubled or trailing `\`) are dropped.
 * @throws RegistryError (code `REG_BAD_KEY`) when the path is empty or its root is not a predefined key.
 */
export function splitKeyPath(key: string): string[] {
  const parts = key.split('\\').filter((part) => part !== '');
  const root = parts.length > 0 ? REGISTRY_ROOTS[parts[0].toUpperCase()] : undefined;
  if (root === undefined) {
    throw new RegistryError(
      'REG_BAD_KEY',
      `invalid registry key "${key}": it must start with a root key such as HKEY_LOCAL_MACHINE or HKLM`,
      { context: { key } },
    );
  }
  parts[0] = root;
  return parts;
}

/** `HKLM\Software\\X\` → `HKEY_LOCAL_MACHINE\Software\X`. @throws RegistryError as {@link splitKeyPath}. */
export function normalizeKeyPath(key: string): string {
  return splitKeyPath(key).join('\\');
}

/**
 * Orders key paths as regedit exports them: component by component, case-insensitively, so a parent comes
 * right before its subtree (`A`, `A\B`, `A\B\C`, `A\b2`, `A-1`). Returns < 0, 0 or > 0.
 */
export function compareKeyPaths(a: string, b: string): number {
  const pa = a.split('\\');
  const pb = b.split('\\');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const fa = foldRegistryName(pa[i]);
    const fb = foldRegistryName(pb[i]);
    if (fa !== fb) return fa < fb ? -1 : 1;
  }
  return pa.length - pb.length;
}

/**
 * Whether `key` is `ancestor` or lies below it (case-insensitive; both normalized with {@link normalizeKeyPath}).
 * @throws RegistryError (code `REG_BAD_KEY`) when either does not start with a root key.
 */
export function isKeyWithin(key: string, ancestor: string): boolean {
  const k = foldRegistryName(normalizeKeyPath(key));
  const a = foldRegistryName(normalizeKeyPath(ancestor));
  return k === a || k.startsWith(`${a}\\`);
}
