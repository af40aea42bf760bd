/**
 * The Windows registry through `reg.exe` (SPEC §7): `reg export <key> <file> /y` per key, merged into one
 * REGEDIT5 file, and `reg import <file>`.
 *
 * `reg.exe` runs through an injectable {@link RegExec}, so the store is tested on any platform with a fake.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RegistryError, RegistryFormatError } from '#core/errors';
import { writeFileAtomic, parseRegFile } from './file-hive';
import { compareKeyPaths, decodeRegText, foldRegistryName, isKeyWithin, normalizeKeyPath, REGEDIT5_HEADER, writeReg } from './reg-format';
import type { RegFormat, RegistryExportResult, RegistryStore, RegWarning } from './types';
import { fsFailure } from '#agent/fs-errors';

/** What one `reg.exe` run gave back. */
export interface RegExecResult {
  /** Process exit code (`reg.exe` exits 0 on success, 1 on failure). */
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `reg.exe` with the given arguments and resolves with its exit code and output; it must not reject
 * because of a non-zero exit code (only when the program cannot be started).
 */
export type RegExec = (args: readonly string[]) => Promise<RegExecResult>;

/** The real `reg.exe` (Windows only), without a console window, output up to 16 MiB. */
export const runRegExe: RegExec = (args) =>
  new Promise((resolve, reject) => {
    execFile('reg.exe', [...args], { windowsHide: true, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = (error as (NodeJS.ErrnoException & { code?: unknown }) | null)?.code;
      if (error && typeof code !== 'number') {
        reject(error);
        return;
      }
      resolve({ exitCode: typeof code === 'number' ? code : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });

/** `reg.exe`'s message for a key that does not exist ("ERROR: The system was unable to find the specified registry key or value."). */
const MISSING_KEY_MESSAGE = /unable to find the specified registry key/i;

/** Options of a {@link WindowsRegistryStore}. */
export interface WindowsRegistryStoreOptions {
  /** How to run `reg.exe`; defaults to {@link runRegExe}. */
  exec?: RegExec;
}

/** {@link RegistryStore} over the Windows registry, through `reg.exe`. */
export class WindowsRegistryStore implements RegistryStore {
  /** Always `windows`. */
  readonly kind = 'windows';
  private readonly exec: RegExec;

  /** @param options how to run `reg.exe` (the real one by default). */
  constructor(options: WindowsRegistryStoreOptions = {}) {
    this.exec = options.exec ?? runRegExe;
  }

  /**
   * Exports `keys` and all their subkeys into one REGEDIT5 file (UTF-16LE with BOM, one header), written
   * atomically. Each key is exported with `reg export <key> <temp file> /y` (temporary files next to `file`,
   * always removed); the exports are merged in regedit's key order, byte for byte as `reg.exe` wrote them. A key
   * listed twice or inside another listed key is exported once (and reported exported when the outer export
   * contains it). A key `reg.exe` reports missing goes into `missingKeys`.
   * @param keys key paths as configured (`HKEY_LOCAL_MACHINE\…` or `HKLM\…`).
   * @param file path of the `.reg` file to write (its directory must exist).
   * @throws RegistryError (code `REG_BAD_KEY`) for a key without a valid root, (`REG_EXPORT_FAILED`) when
   *   `reg.exe` fails for another reason than a missing key, (`REG_IO`) when a file cannot be read or written;
   *   RegistryFormatError when `reg.exe` wrote something that is not a REGEDIT5 file.
   */
  async exportKeys(keys: string[], file: string): Promise<RegistryExportResult> {
    const target = path.resolve(file);
    const normalized = keys.map((key) => ({ key, path: normalizeKeyPath(key) }));
    // Outermost keys only, in regedit order: each export then holds a whole subtree, and the merge is ordered.
    const outer: string[] = [];
    for (const candidate of [...normalized].sort((a, b) => compareKeyPaths(a.path, b.path))) {
      if (!outer.some((key) => isKeyWithin(candidate.path, key))) outer.push(candidate.path);
    }

    const bodies: string[] = [];
    const exportedPaths = new Set<string>();
    const stamp = `${process.pid}.${randomBytes(4).toString('hex')}`;
    const temps: string[] = [];
    try {
      for (const [i, key] of outer.entries()) {
        const temp = path.join(path.dirname(target), `.${path.basename(target)}.${stamp}.${i}.tmp`);
        temps.push(temp);
        const result = await this.run(['export', key, temp, '/y'], 'REG_EXPORT_FAILED', `export ${key}`);
        if (result === 'missing') continue;
        let bytes: Buffer;
        try {
          bytes = await fs.readFile(temp);
        } catch (error) {
          throw new RegistryError('REG_IO', `reg.exe export of ${key} wrote no readable file ${temp}`, {
            cause: error,
            context: { key, file: temp },
          });
        }
        const parsed = parseRegFile(bytes, temp);
        if (parsed.format !== 'REGEDIT5') {
          throw new RegistryFormatError(`reg.exe export of ${key} is not a REGEDIT5 file`, { context: { key, line: 1 } });
        }
        for (const operation of parsed.operations) {
          if (operation.op === 'setKey') exportedPaths.add(foldRegistryName(normalizeKeyPath(operation.key)));
        }
        bodies.push(exportBody(decodeRegText(bytes).text));
      }
    } finally {
      await Promise.all(temps.map((temp) => fs.rm(temp, { force: true }).catch(() => undefined)));
    }

    const exportedKeys: string[] = [];
    const missingKeys: string[] = [];
    for (const { key, path: keyPath } of normalized) {
      (exportedPaths.has(foldRegistryName(keyPath)) ? exportedKeys : missingKeys).push(key);
    }
    const text = `${REGEDIT5_HEADER}\r\n\r\n${bodies.join('')}`;
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    await writeFileAtomic(target, bytes);
    return { file: target, exportedKeys, missingKeys, bytes: bytes.length };
  }

  /**
   * Imports a `.reg` file with `reg import <file>`, after checking that it is a `.reg` file (anything else is
   * refused before reg.exe runs). Values regedit cannot read are dropped by reg.exe itself; they are returned as
   * warnings. A file reg.exe would misread (UTF-8 with non-ASCII text, UTF-16 without BOM or
   * big-endian) is imported through a temporary UTF-16LE copy next to it, always removed.
   * @returns the number of operations (key blocks) in the file, and the warnings.
   * @throws RegistryFormatError when the file is not a `.reg` file (`context.file`, `context.line`, `context.column`); RegistryError
   *   (code `REG_IO`) when it cannot be read, (`REG_IMPORT_FAILED`) when `reg.exe` fails.
   */
  async importFile(file: string): Promise<{ operations: number; warnings: RegWarning[] }> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      throw new RegistryError('REG_IO', fsFailure('cannot read the .reg file', file, error), {
        cause: error,
        context: { file },
      });
    }
    const parsed = parseRegFile(bytes, file);
    const source = path.resolve(file);
    if (readsAsIs(bytes, parsed.format)) {
      await this.run(['import', source], 'REG_IMPORT_FAILED', `import ${file}`, false);
      return { operations: parsed.operations.length, warnings: parsed.warnings };
    }
    // reg.exe reads UTF-16LE with BOM or ANSI; anything else (UTF-8, UTF-16BE, no BOM) goes through a
    // UTF-16LE copy, which holds the same operations.
    const copy = path.join(path.dirname(source), `.${path.basename(source)}.${process.pid}.${randomBytes(4).toString('hex')}.utf16.reg`);
    try {
      await writeFileAtomic(copy, writeReg({ format: 'REGEDIT5', operations: parsed.operations }));
      await this.run(['import', copy], 'REG_IMPORT_FAILED', `import ${file}`, false);
    } finally {
      await fs.rm(copy, { force: true }).catch(() => undefined);
    }
    return { operations: parsed.operations.length, warnings: parsed.warnings };
  }

  /** Runs reg.exe; `'missing'` when it reports a missing key (and that is allowed). */
  private async run(args: string[], code: string, action: string, allowMissing = true): Promise<'ok' | 'missing'> {
    let result: RegExecResult;
    try {
      result = await this.exec(args);
    } catch (error) {
      throw new RegistryError(code, `cannot run reg.exe to ${action}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
        context: { args },
      });
    }
    if (result.exitCode === 0) return 'ok';
    const output = `${result.stderr}\n${result.stdout}`.trim();
    if (allowMissing && MISSING_KEY_MESSAGE.test(output)) return 'missing';
    throw new RegistryError(code, `reg.exe failed to ${action} (exit code ${result.exitCode}): ${oneLine(output) || 'no message'}`, {
      context: { args, exitCode: result.exitCode },
    });
  }
}

/**
 * The key blocks of one export, without the header: CRLF line endings, starting at the first non-blank line and
 * ending with exactly one blank line.
 */
function exportBody(text: string): string {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let start = 1;
  while (start < lines.length && lines[start].trim() === '') start++;
  let end = lines.length;
  while (end > start && lines[end - 1].trim() === '') end--;
  if (end === start) return '';
  return `${lines.slice(start, end).join('\r\n')}\r\n\r\n`;
}

/** Whether reg.exe reads the file as it is: UTF-16LE with BOM, or a REGEDIT4 file in ASCII/ANSI (the code page is assumed to be the machine's). */
function readsAsIs(bytes: Buffer, format: RegFormat): boolean {
  const { text, encoding } = decodeRegText(bytes);
  if (encoding === 'UTF-16LE with BOM') return true;
  return format === 'REGEDIT4' && (encoding.startsWith('ANSI') || (encoding === 'UTF-8' && /^[\x00-\x7f]*$/.test(text)));
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
