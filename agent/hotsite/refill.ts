/**
 * Re-fills the hot-site from the phase-1 destination: every complete SET on disk (valid manifest) that the
 * hot-site lacks, or holds only incompletely, is uploaded again (manifest last); a SET committed at the hot-site
 * (manifest there) that misses a file, or holds one of another size, gets that file back (`repair.ts`). The phase-1 destination
 * is the source of truth for the local run, whose moto hot-site keeps nothing between runs (SPEC §7).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { CommserveDrError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { parseManifest } from '#core/manifest';
import { parseSetName } from '#core/set-id';
import { listSetObjects } from './scrub';
import { repairObject } from './repair';
import { uploadSet } from './stream-upload';

/** What a refill did. */
export interface RefillResult {
  /** SET names uploaded. */
  uploaded: string[];
  /** SET folders skipped, with the reason (no manifest, malformed manifest, a file that no longer matches it). */
  skipped: Array<{ setName: string; reason: string }>;
  /** Bytes uploaded. */
  bytes: number;
  /** Files of SETs committed at the hot-site that were missing there (or of the wrong size), put back. */
  repaired: Array<{ setName: string; file: string; from: 'version' | 'local' | 'archive' }>;
}

/**
 * A SET whose files no longer match its manifest (damaged on disk) is skipped with a warning, never uploaded.
 * @throws HotSiteError when the hot-site cannot be listed or an upload fails.
 */
export async function refillHotSite(s3: S3Client, bucket: string, phase1Destination: string, logger: Logger): Promise<RefillResult> {
  const result: RefillResult = { uploaded: [], skipped: [], bytes: 0, repaired: [] };
  if (!existsSync(phase1Destination)) return result;
  const listing = (await listSetObjects(s3, bucket)).sets;
  const folders = readdirSync(phase1Destination, { withFileTypes: true })
    .filter((e) => e.isDirectory() && parseSetName(e.name) !== undefined)
    .map((e) => e.name)
    .sort((a, b) => parseSetName(a)! - parseSetName(b)!);
  for (const name of folders) {
    const jobId = parseSetName(name)!;
    const dir = join(phase1Destination, name);
    const manifestPath = join(dir, MANIFEST_FILE);
    if (!existsSync(manifestPath)) {
      result.skipped.push({ setName: name, reason: 'incomplete (no manifest)' });
      continue;
    }
    let manifest;
    try {
      manifest = parseManifest(readFileSync(manifestPath), manifestPath);
    } catch (error) {
      result.skipped.push({ setName: name, reason: (error as Error).message });
      logger.warn({ setName: name }, `not re-uploading ${name}: ${(error as Error).message}`);
      continue;
    }
    const listed = listing.get(jobId);
    if (listed?.has(MANIFEST_FILE)) {
      // Committed at the hot-site: put back only what is missing there (or of another size than the manifest says).
      for (const file of manifest.files.filter((f) => listed.get(f.name) !== f.size)) {
        const outcome = await repairObject({ s3, bucket, phase1Destination }, manifest, { kind: 'file', file });
        if (outcome.repaired) result.repaired.push({ setName: name, file: file.name, from: outcome.from });
        else result.skipped.push({ setName: name, reason: `${file.name} is missing at the hot-site and could not be put back: ${outcome.reason}` });
      }
      continue;
    }
    const missingFile = manifest.files.find((f) => !existsSync(join(dir, f.name)));
    if (missingFile) {
      result.skipped.push({ setName: name, reason: `file ${missingFile.name} listed in the manifest is missing` });
      continue;
    }
    try {
      result.bytes += await uploadSet(s3, bucket, dir, manifest);
    } catch (error) {
      if (!(error instanceof CommserveDrError && error.code === 'SET_FILE_MISMATCH')) throw error;
      // A damaged local SET is not re-uploaded (nothing of it is complete at the hot-site); the others still are.
      result.skipped.push({ setName: name, reason: error.message });
      logger.warn({ setName: name }, `not re-uploading ${name}: ${error.message}`);
      continue;
    }
    result.uploaded.push(name);
    logger.info({ setName: name }, 're-uploaded a SET the hot-site lacked');
  }
  return result;
}
