/**
 * The folder driver of the copy interface: a directory holding `SET_<n>/` folders — the phase-1 destination, a USB
 * disk, a mounted share (`--from DIR`). Read-only: nothing in the folder is ever written, renamed or removed.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { CommserveDrError, describeError } from '#core/errors';
import { isSafeFileName, MANIFEST_FILE } from '#core/hotsite-layout';
import { MANIFEST_MAX_BYTES, parseManifest, type ManifestFile } from '#core/manifest';
import { parseSetName } from '#core/set-id';
import type { Copy, CopyKind, CopyObject, CopySetFiles, FileCheck, ManifestRead, ObjectReadiness } from './types';

/** A folder of SETs on disk (see the module comment). */
export class FolderCopy implements Copy {
  readonly kind: CopyKind = 'local';
  readonly label: string;
  readonly dir: string;

  /** @param dir the folder holding `SET_<n>/` folders. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    this.label = `local ${this.dir}`;
  }

  keyOf(setName: string, file: string): string {
    return join(this.dir, setName, file);
  }

  /**
   * @throws CommserveDrError `COPY_UNREADABLE` when the folder does not exist or cannot be read.
   */
  async listSets(): Promise<Map<number, CopySetFiles>> {
    const out = new Map<number, CopySetFiles>();
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (error) {
      throw new CommserveDrError('COPY_UNREADABLE', `cannot list the SETs in ${this.dir}: ${describeError(error)}`, { cause: error });
    }
    for (const entry of entries) {
      const jobId = entry.isDirectory() ? parseSetName(entry.name) : undefined;
      if (jobId === undefined) continue;
      const files: CopySetFiles = new Map();
      const folder = join(this.dir, entry.name);
      for (const f of readdirSync(folder, { withFileTypes: true })) {
        if (!f.isFile() || !isSafeFileName(f.name)) continue;
        const path = join(folder, f.name);
        files.set(f.name, { copy: 'local', jobId, setName: entry.name, file: f.name, size: statSync(path).size, storageClass: 'LOCAL', key: path });
      }
      out.set(jobId, files);
    }
    return out;
  }

  async readManifest(setName: string, files: CopySetFiles): Promise<ManifestRead> {
    const object = files.get(MANIFEST_FILE);
    if (!object) return { manifest: null, manifestState: 'missing', problems: [] };
    if (object.size > MANIFEST_MAX_BYTES) return { manifest: null, manifestState: 'invalid', problems: [`${object.key} is over ${MANIFEST_MAX_BYTES} bytes`] };
    try {
      const manifest = parseManifest(await readFile(object.key), object.key);
      if (manifest.setName !== setName) return { manifest: null, manifestState: 'invalid', problems: [`${object.key} describes ${manifest.setName}, not ${setName}`] };
      return { manifest, manifestState: 'read', problems: [] };
    } catch (error) {
      return { manifest: null, manifestState: 'invalid', problems: [describeError(error)] };
    }
  }

  async readiness(): Promise<ObjectReadiness> {
    return 'readable';
  }

  async open(object: CopyObject): Promise<Readable> {
    if (!existsSync(object.key)) throw new CommserveDrError('COPY_FILE_MISSING', `${object.key} is gone`);
    return createReadStream(object.key, { highWaterMark: 1024 * 1024 });
  }

  /** Size from `stat`; with `deep`, the SHA-256 of every byte (the only proof a file on disk is intact). */
  async check(object: CopyObject | undefined, entry: ManifestFile, deep: boolean): Promise<FileCheck> {
    if (!object || !existsSync(object.key)) return { ok: false, method: 'size', detail: 'missing' };
    const size = statSync(object.key).size;
    if (size !== entry.size) return { ok: false, method: 'size', detail: `size ${size}, manifest ${entry.size}` };
    if (!deep) return { ok: true, method: 'size' };
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(object.key, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    return sha256 === entry.sha256 ? { ok: true, method: 'sha256' } : { ok: false, method: 'sha256', detail: `SHA-256 ${sha256.slice(0, 16)}… ≠ manifest ${entry.sha256.slice(0, 16)}…` };
  }
}
