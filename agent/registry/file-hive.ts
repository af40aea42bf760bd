/**
 * The portable, file-backed registry used where there is no Windows registry (SPEC §7).
 *
 * The hive is one REGEDIT5 `.reg` file holding the state of a registry tree: every key as a `[KEY]` block
 * with all its values, in regedit's order (parent before children, siblings case-insensitively sorted).
 * Key and value names match case-insensitively, as on Windows; a name keeps the spelling it was created with.
 * Values keep their creation order (as `RegEnumValue` returns them).
 *
 * Hives are small: they are read whole, changed in memory and written back atomically (temporary file in the
 * same directory, then rename), so a crash leaves either the old or the new hive, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RegistryError, RegistryFormatError } from '#core/errors';
import { compareKeyPaths, foldRegistryName, normalizeKeyPath, parseRegDetailed, splitKeyPath, writeReg } from './reg-format';
import type { RegReadOptions } from './reg-reader';
import type { RegFile, RegistryExportResult, RegistryStore, RegOperation, RegSetKey, RegValue, RegWarning } from './types';

interface HiveNode {
  /** The key's own name, as first created. */
  name: string;
  /** Folded value name → value (insertion order = creation order). */
  values: Map<string, RegValue>;
  /** Folded subkey name → subkey. */
  children: Map<string, HiveNode>;
}

/** One key of a {@link RegHive} with its values. */
export interface RegHiveKey {
  /** Full path with the root spelled out, in the spelling the key was created with. */
  key: string;
  values: RegValue[];
}

/**
 * An in-memory registry tree: the state a hive file holds. Root keys (`HKEY_LOCAL_MACHINE` …) always exist.
 */
export class RegHive {
  private readonly roots = new Map<string, HiveNode>();

  /**
   * A hive with the operations applied in order.
   * @throws RegistryError (code `REG_BAD_KEY`) as {@link RegHive.apply}.
   */
  static fromOperations(operations: readonly RegOperation[]): RegHive {
    const hive = new RegHive();
    hive.applyAll(operations);
    return hive;
  }

  /**
   * Applies one operation as regedit imports it: `setKey` creates the key and any missing parent, then sets
   * and deletes its values in order (setting an existing value keeps its name's spelling and position);
   * `deleteKey` removes the key with all its subkeys (nothing happens when it does not exist).
   * @throws RegistryError (code `REG_BAD_KEY`) for a key whose root is not a predefined key, or when asked to
   *   delete a root key.
   */
  apply(operation: RegOperation): void {
    const parts = splitKeyPath(operation.key);
    if (operation.op === 'deleteKey') {
      if (parts.length === 1) {
        throw new RegistryError('REG_BAD_KEY', `cannot delete the root key ${parts[0]}`, { context: { key: operation.key } });
      }
      const parent = this.find(parts.slice(0, -1));
      parent?.children.delete(foldRegistryName(parts[parts.length - 1]));
      return;
    }
    const node = this.ensure(parts);
    for (const value of operation.values) {
      const folded = foldRegistryName(value.name);
      if ('op' in value) {
        node.values.delete(folded);
        continue;
      }
      const existing = node.values.get(folded);
      node.values.set(folded, { ...value, name: existing?.name ?? value.name } as RegValue);
    }
  }

  /** Applies operations in order. @throws RegistryError as {@link RegHive.apply}. */
  applyAll(operations: readonly RegOperation[]): void {
    for (const operation of operations) this.apply(operation);
  }

  /**
   * The key at `key` (case-insensitive, root abbreviations accepted), or `undefined` when it does not exist.
   * A root key always exists.
   * @throws RegistryError (code `REG_BAD_KEY`) when `key` does not start with a root key.
   */
  getKey(key: string): RegHiveKey | undefined {
    const parts = splitKeyPath(key);
    const node = this.find(parts);
    if (node) return { key: this.spelling(parts), values: [...node.values.values()] };
    return parts.length === 1 ? { key: parts[0], values: [] } : undefined;
  }

  /**
   * The key and all its subkeys as `setKey` operations in regedit's export order, or `[]` when it does not
   * exist. @throws RegistryError (code `REG_BAD_KEY`) when `key` does not start with a root key.
   */
  exportKey(key: string): RegSetKey[] {
    const parts = splitKeyPath(key);
    const node = this.find(parts) ?? (parts.length === 1 ? { name: parts[0], values: new Map(), children: new Map() } : undefined);
    if (!node) return [];
    const out: RegSetKey[] = [];
    this.walk(node, this.spelling(parts), out, true);
    return out;
  }

  /**
   * Every key as a `setKey` operation with all its values, in regedit's order: the content of a hive file.
   * Root keys appear only when they hold values.
   */
  toOperations(): RegSetKey[] {
    const out: RegSetKey[] = [];
    for (const root of sortedNodes(this.roots)) this.walk(root, root.name, out, root.values.size > 0);
    return out;
  }

  /** The hive as a REGEDIT5 file ({@link RegHive.toOperations}). */
  toRegFile(): RegFile {
    return { format: 'REGEDIT5', operations: this.toOperations() };
  }

  private walk(node: HiveNode, keyPath: string, out: RegSetKey[], includeSelf: boolean): void {
    if (includeSelf) out.push({ op: 'setKey', key: keyPath, values: [...node.values.values()] });
    for (const child of sortedNodes(node.children)) this.walk(child, `${keyPath}\\${child.name}`, out, true);
  }

  private find(parts: string[]): HiveNode | undefined {
    let node = this.roots.get(parts[0]);
    for (let i = 1; node && i < parts.length; i++) node = node.children.get(foldRegistryName(parts[i]));
    return node;
  }

  private ensure(parts: string[]): HiveNode {
    let level = this.roots;
    let node: HiveNode | undefined;
    for (const [i, part] of parts.entries()) {
      const folded = i === 0 ? part : foldRegistryName(part);
      node = level.get(folded);
      if (!node) {
        node = { name: part, values: new Map(), children: new Map() };
        level.set(folded, node);
      }
      level = node.children;
    }
    return node as HiveNode;
  }

  /** The stored spelling of an existing path (the given spelling for parts that do not exist). */
  private spelling(parts: string[]): string {
    const names = [parts[0]];
    let node = this.roots.get(parts[0]);
    for (let i = 1; i < parts.length; i++) {
      node = node?.children.get(foldRegistryName(parts[i]));
      names.push(node?.name ?? parts[i]);
    }
    return names.join('\\');
  }
}

function sortedNodes(nodes: Map<string, HiveNode>): HiveNode[] {
  return [...nodes.values()].sort((a, b) => compareKeyPaths(a.name, b.name));
}

/** Options of a {@link FileHiveStore}. */
export interface FileHiveStoreOptions {
  /** Path of the hive `.reg` file. A missing file is an empty registry; importing creates it. */
  hiveFile: string;
  /** ANSI code page of imported REGEDIT4 files (setting `AnsiCodePage`); default 1252. */
  ansiCodePage?: number;
}

/**
 * {@link RegistryStore} over a hive file (see the module comment). Operations of one instance are serialized;
 * the hive is not meant to be shared by concurrent processes (the DR job lock prevents that).
 */
export class FileHiveStore implements RegistryStore {
  /** Always `file-hive`. */
  readonly kind = 'file-hive';
  /** Absolute path of the hive file. */
  readonly hiveFile: string;
  /**
   * ANSI code page of imported REGEDIT4 files (setting `AnsiCodePage`; `undefined`: the default, 1252). A store
   * made in its place (a staged hive during a recovery) takes the same one.
   */
  readonly ansiCodePage: number | undefined;
  private readonly readOptions: RegReadOptions;
  private queue: Promise<unknown> = Promise.resolve();

  /** @param options the hive file, or its path. */
  constructor(options: FileHiveStoreOptions | string) {
    this.hiveFile = path.resolve(typeof options === 'string' ? options : options.hiveFile);
    this.ansiCodePage = typeof options === 'string' ? undefined : options.ansiCodePage;
    this.readOptions = { ansiCodePage: this.ansiCodePage };
  }

  /**
   * Reads the hive file into memory (an empty hive when the file does not exist).
   * @throws RegistryFormatError when the hive file is malformed (`context.file`, `context.line`, `context.column`);
   *   RegistryError (code `REG_IO`) when it cannot be read.
   */
  async load(): Promise<RegHive> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.hiveFile);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new RegHive();
      throw ioError('read the registry hive', this.hiveFile, error);
    }
    return RegHive.fromOperations(parseRegFile(bytes, this.hiveFile, this.readOptions).operations);
  }

  /**
   * Writes one REGEDIT5 export of `keys` and all their subkeys to `file` (atomically). Keys match
   * case-insensitively and may use root abbreviations (`HKLM\…`); a key listed twice, or inside another listed
   * key, is written once. Keys are in regedit's order (parent before children, siblings sorted
   * case-insensitively), each with all its values. Keys that do not exist are reported in `missingKeys`, not
   * thrown; when none exists the file holds only the header.
   * @param keys key paths as configured.
   * @param file path of the `.reg` file to write (its directory must exist).
   * @returns the absolute file path, the configured keys found / not found (in the order given) and the file
   *   size in bytes.
   * @throws RegistryError (code `REG_BAD_KEY`) for a key without a valid root, (`REG_IO`) when the hive cannot
   *   be read or the file written; RegistryFormatError when the hive file is malformed.
   */
  exportKeys(keys: string[], file: string): Promise<RegistryExportResult> {
    return this.serialize(async () => {
      for (const key of keys) normalizeKeyPath(key); // validate before doing any I/O
      const hive = await this.load();
      const exportedKeys: string[] = [];
      const missingKeys: string[] = [];
      const byKey = new Map<string, RegSetKey>();
      for (const key of keys) {
        const operations = hive.exportKey(key);
        if (operations.length === 0) {
          missingKeys.push(key);
          continue;
        }
        exportedKeys.push(key);
        for (const operation of operations) byKey.set(foldRegistryName(operation.key), operation);
      }
      const operations = [...byKey.values()].sort((a, b) => compareKeyPaths(a.key, b.key));
      const target = path.resolve(file);
      const bytes = writeReg({ format: 'REGEDIT5', operations });
      await writeFileAtomic(target, bytes);
      return { file: target, exportedKeys, missingKeys, bytes: bytes.length };
    });
  }

  /**
   * Applies a `.reg` file (either format) to the hive as regedit imports it: its `setKey`, `deleteKey` and value
   * deletions in file order, then writes the hive back atomically. What regedit would not import (a bad value,
   * a key block with an invalid root) is left out and returned as warnings; nothing changes when the file is not
   * a `.reg` file at all (the whole file is read and applied in memory first).
   * @returns the number of operations (key blocks) applied and the warnings.
   * @throws RegistryFormatError when the file (or the hive) is not a `.reg` file (`context.file`, `context.line`,
   *   `context.column`); RegistryError (`REG_IO`) when a file cannot be read or written.
   */
  importFile(file: string): Promise<{ operations: number; warnings: RegWarning[] }> {
    return this.serialize(async () => {
      let bytes: Buffer;
      try {
        bytes = await fs.readFile(file);
      } catch (error) {
        throw ioError('read the .reg file', file, error);
      }
      const { operations, warnings } = parseRegFile(bytes, file, this.readOptions);
      const hive = await this.load();
      hive.applyAll(operations);
      await writeFileAtomic(this.hiveFile, writeReg(hive.toRegFile()));
      return { operations: operations.length, warnings };
    });
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

/**
 * Creates (or replaces) a hive file holding the state the operations produce from an empty registry; used by
 * the sample CommServe generator and tests. The file is written atomically; its directory is created.
 * @returns the absolute path, the number of keys written and the file size in bytes.
 * @throws RegistryError (code `REG_BAD_KEY`) for an invalid key, (`REG_UNWRITABLE`) for a value that cannot be
 *   written, (`REG_IO`) when the file cannot be written.
 */
export async function createHiveFile(
  file: string,
  operations: readonly RegOperation[],
): Promise<{ file: string; keys: number; bytes: number }> {
  const hive = RegHive.fromOperations(operations);
  const regFile = hive.toRegFile();
  const bytes = writeReg(regFile);
  const target = path.resolve(file);
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
  } catch (error) {
    throw ioError('create the directory of', target, error);
  }
  await writeFileAtomic(target, bytes);
  return { file: target, keys: regFile.operations.length, bytes: bytes.length };
}

/**
 * Writes `data` to `file` atomically: a temporary file in the same directory, flushed to disk, then renamed over
 * `file`. The temporary file is removed when anything fails.
 * @throws RegistryError (code `REG_IO`) when the file cannot be written.
 */
export async function writeFileAtomic(file: string, data: Buffer): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw ioError('write', file, error);
  }
}

/**
 * Parses the bytes of a `.reg` file read from `file` (`parseRegDetailed`): operations, and warnings for what
 * regedit would not import.
 * @throws RegistryFormatError when it is not a `.reg` file, its message prefixed with the file's name
 *   (`bad.reg: line 1, column 1: not a .reg file: …`) and `context` holding `line`, `column` and `file`.
 */
export function parseRegFile(bytes: Buffer, file: string, options: RegReadOptions = {}): RegFile & { warnings: RegWarning[] } {
  try {
    const { format, operations, warnings } = parseRegDetailed(bytes, options);
    return { format, operations, warnings };
  } catch (error) {
    if (error instanceof RegistryFormatError) {
      throw new RegistryFormatError(`${path.basename(file)}: ${error.message}`, {
        cause: error,
        context: { ...error.context, file },
      });
    }
    throw error;
  }
}

function ioError(action: string, file: string, cause: unknown): RegistryError {
  const reason = (cause as NodeJS.ErrnoException)?.code ?? (cause instanceof Error ? cause.message : String(cause));
  return new RegistryError('REG_IO', `cannot ${action} ${file} (${reason})`, { cause, context: { file } });
}
