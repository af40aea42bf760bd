/**
 * Machine-bound secrets in a registry export: values Windows encrypted with DPAPI for this machine (or one of
 * its accounts). Their bytes are carried faithfully to the hot-site, but the new hardware cannot decrypt them,
 * so an operator must enter them again after recovery (issue 9, part 6). The recovery report and
 * `commserve-dr registry parse` list them.
 */
import type { RegOperation, RegValueType } from './types';

/**
 * How a DPAPI blob starts: `dwVersion` = 1 (`01 00 00 00`), then the first four bytes of the DPAPI provider
 * GUID df9d8cd0-1501-11d1-8c7a-00c04fc297eb in its little-endian layout (`d0 8c 9d df`). Lowercase hex.
 */
export const DPAPI_BLOB_HEADER = '01000000d08c9ddf';

/** The whole provider GUID after the version, for a more certain reason text. Lowercase hex. */
const DPAPI_BLOB_HEADER_WITH_PROVIDER = '01000000d08c9ddf0115d1118c7a00c04fc297eb';

/** A value that cannot be carried to new hardware and must be re-entered after recovery. */
export interface MachineBoundSecret {
  /** The key holding the value, as written in the `.reg` file. */
  key: string;
  /** The value name; `""` is the default value (`@`). */
  name: string;
  /** The value's type (`REG_BINARY`, `REG_NONE` or `REG_HEX_<N>`). */
  type: RegValueType;
  /** Why it is listed, for operators. */
  reason: string;
}

/**
 * Whether a value type holds raw bytes that may be a DPAPI blob: `REG_BINARY`, `REG_NONE`, or any
 * `REG_HEX_<N>` (a type number without a name, or a named type whose bytes were not a well-formed encoding).
 */
function mayHoldBlob(type: RegValueType): boolean {
  return type === 'REG_BINARY' || type === 'REG_NONE' || type.startsWith('REG_HEX_');
}

/**
 * Lists the values that are likely DPAPI blobs, in file order: values set by `setKey` operations whose type
 * is `REG_BINARY`, `REG_NONE` or `REG_HEX_<N>` and whose data **begins** with {@link DPAPI_BLOB_HEADER}
 * (`01 00 00 00 d0 8c 9d df`). The header appearing later in the data does not count, nor do strings, numbers,
 * deletions, or keys that are deleted.
 * @param operations the operations of a parsed `.reg` file (see `parseReg`).
 * @returns `{ key, name, type, reason }` per value, possibly empty. Never throws.
 */
export function findMachineBoundSecrets(operations: readonly RegOperation[]): MachineBoundSecret[] {
  const found: MachineBoundSecret[] = [];
  for (const operation of operations) {
    if (operation.op !== 'setKey') continue;
    for (const value of operation.values) {
      if ('op' in value || !mayHoldBlob(value.type) || typeof value.data !== 'string') continue;
      // Only the head matters: lower-casing a whole multi-megabyte blob would cost time linear in its size.
      const hex = value.data.slice(0, DPAPI_BLOB_HEADER_WITH_PROVIDER.length).toLowerCase();
      if (!hex.startsWith(DPAPI_BLOB_HEADER)) continue;
      const reason = hex.startsWith(DPAPI_BLOB_HEADER_WITH_PROVIDER)
        ? 'DPAPI blob (version 1, provider df9d8cd0-1501-11d1-8c7a-00c04fc297eb): encrypted for this machine, cannot be decrypted on new hardware'
        : 'starts with the DPAPI blob header (01 00 00 00 d0 8c 9d df): likely encrypted for this machine, cannot be decrypted on new hardware';
      found.push({ key: operation.key, name: value.name, type: value.type, reason });
    }
  }
  return found;
}
