/**
 * The copy interface and its drivers (see `types.ts`), and the copies a command reads by default.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { FolderCopy } from './folder';
import { ArchiveCopy, HotSiteCopy } from './s3-copies';
import type { Copies, Copy, CopyKind } from './types';

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
