/**
 * Writes `RECOVERY.md` (`core/recovery-md.ts`) at the hot-site root and in the phase-1 destination, after a job's SET is
 * committed (issue 16 item 7). The newest restorable point comes from the inventory of both copies (`buildCycles`);
 * each SET's manifest from the phase-1 destination, else the hot-site.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { buildCycles } from '#core/cycles';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { parseManifest, type Manifest } from '#core/manifest';
import { renderRecoveryMd } from '#core/recovery-md';
import type { Settings } from '#core/settings';
import { takeInventory } from '#agent/commands/sets/inventory';
import { hotSiteError, readHotSiteManifest } from '#agent/hotsite/hot-site';

/** Key and file name of the break-glass file. */
export const RECOVERY_MD = 'RECOVERY.md';

async function manifestOf(s3: S3Client, settings: Settings, jobId: number, setName: string): Promise<Manifest> {
  const local = join(settings.Phase1Destination, setName, MANIFEST_FILE);
  if (existsSync(local)) return parseManifest(readFileSync(local), local);
  return readHotSiteManifest(s3, settings.HotSite.bucket, setName);
}

/**
 * Renders and writes RECOVERY.md (locally when the phase-1 destination exists, and at the hot-site).
 * @returns the text written.
 * @throws HotSiteError when the hot-site refuses it; the file system error for the local copy.
 */
export async function writeRecoveryMd(s3: S3Client, settings: Settings, byJob: string, now: Date = new Date()): Promise<string> {
  const inventory = await takeInventory(settings, s3);
  const point = buildCycles(inventory.entries.map((e) => e.summary)).newestRestorablePoint;
  const text = renderRecoveryMd({
    bucket: settings.HotSite.bucket,
    generatedAt: now.toISOString(),
    byJob,
    point: point
      ? {
          full: await manifestOf(s3, settings, point.full.jobId, point.full.setName),
          differential: point.differential ? await manifestOf(s3, settings, point.differential.jobId, point.differential.setName) : null,
        }
      : null,
    sets: inventory.entries.filter((e) => e.locations.hotSite?.complete).map((e) => e.summary.setName),
  });
  if (existsSync(settings.Phase1Destination)) {
    const path = join(settings.Phase1Destination, RECOVERY_MD);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  try {
    await s3.send(new PutObjectCommand({ Bucket: settings.HotSite.bucket, Key: RECOVERY_MD, Body: text, ContentType: 'text/markdown; charset=utf-8', ChecksumAlgorithm: 'SHA256' }));
  } catch (error) {
    throw hotSiteError(`write ${RECOVERY_MD}`, settings.HotSite.bucket, error);
  }
  return text;
}
