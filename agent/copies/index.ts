/**
 * The copy interface and its drivers (see `types.ts`), and the copies a command reads by default.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { setName } from '#core/set-id';
import { FolderCopy } from './folder';
import { ArchiveCopy, HotSiteCopy } from './s3-copies';
import type { Copies, Copy, CopyKind, CopyListing, CopySetFiles } from './types';

export * from './types';
export { FolderCopy } from './folder';
export { ArchiveCopy, HotSiteCopy } from './s3-copies';

/**
 * The copies to read, in {@link COPY_ORDER}: with `from`, only that folder (no cloud at all); else the phase-1
 * destination (when it exists), the hot-site's `sets/` and its `archive/` (when an S3 client is given).
 */
export function selectCopies(options: { from?: string; phase1Destination?: string; s3?: S3Client | null; bucket?: string }): Copies {
  const out = new Map<CopyKind, Copy>();
  if (options.from !== undefined) {
    out.set('local', new FolderCopy(options.from));
    return out;
  }
  if (options.phase1Destination && existsSync(options.phase1Destination)) out.set('local', new FolderCopy(options.phase1Destination));
  if (options.s3 && options.bucket) {
    out.set('hot-site', new HotSiteCopy(options.s3, options.bucket));
    out.set('archive', new ArchiveCopy(options.s3, options.bucket));
  }
  return out;
}

/**
 * Lists a copy once ({@link Copy.listSets}), never throwing: a copy that cannot be listed gives the reason in words
 * (naming the place). `knownReason`: the copy is already known to be unreachable — it is not asked again.
 */
export async function listCopy(copy: Copy, knownReason?: string): Promise<CopyListing> {
  if (knownReason !== undefined) return { reason: knownReason };
  try {
    return { sets: await copy.listSets() };
  } catch (error) {
    return { reason: describeError(error) };
  }
}

/** A SET of a listing in the shape of `listHotSiteSets` (name as listed, complete when its manifest is there, objects, bytes). */
export function listedSet(jobId: number, files: CopySetFiles): { jobId: number; setName: string; complete: boolean; objects: number; bytes: number } {
  const objects = [...files.values()];
  return { jobId, setName: objects[0]?.setName ?? setName(jobId), complete: files.has(MANIFEST_FILE), objects: objects.length, bytes: objects.reduce((s, o) => s + o.size, 0) };
}
