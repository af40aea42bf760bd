/**
 * The base of a DIFFERENTIAL whose cycle's FULL is only at the hot-site (issue 15: after a day with an unwritable
 * phase-1 destination, that day's FULL was staged straight to the hot-site and is the newest FULL). The DIFFERENTIAL
 * needs the FULL's manifest and its sidecars (`role: 'sidecar'`: SQLite's page hashes, 16 bytes a page — 8 MiB for a
 * 2 GiB database), never its dump: those are fetched into `<StateDirectory>/differential-base/<SET>/`, each checked
 * against the manifest (size and SHA-256) before use, and kept for the cycle's next DIFFERENTIALs (checked again
 * each time). Only one base is kept: the folders of other SETs there are removed when a new base is fetched.
 *
 * Nothing is written in the phase-1 destination (a folder there without its manifest would read as an incomplete SET).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CommserveDrError, describeError } from '#core/errors';
import { setObjectKey } from '#core/hotsite-layout';
import type { ManifestFile } from '#core/manifest';
import { getObjectBody } from '#agent/hotsite/download';
import { readHotSiteManifest } from '#agent/hotsite/hot-site';
import type { DifferentialBase } from '#agent/engines/types';

/** The folder of the state directory holding a hot-site-only FULL's base files. */
export const DIFFERENTIAL_BASE_DIR = 'differential-base';

/** The hot-site and where to keep what is fetched. */
export interface HotSiteBaseSource {
  s3: S3Client;
  bucket: string;
  /** The agent's state directory (absolute). */
  stateDirectory: string;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Whether a kept file is still the manifest's (size, then SHA-256). */
async function keptIntact(path: string, entry: ManifestFile): Promise<boolean> {
  return existsSync(path) && statSync(path).size === entry.size && (await sha256Of(path)) === entry.sha256;
}

/**
 * Downloads one sidecar to `<path>.partial` while hashing it, then renames it into place when size and SHA-256 match.
 * @throws CommserveDrError `DIFF_BASE_DAMAGED` naming the object when they do not; HotSiteError when it cannot be read.
 */
async function fetchChecked(source: HotSiteBaseSource, setName: string, entry: ManifestFile, path: string): Promise<void> {
  const key = setObjectKey('sets', setName, entry.name);
  const partial = `${path}.partial`;
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(await getObjectBody(source.s3, source.bucket, key), tap, createWriteStream(partial));
    const sha256 = hash.digest('hex');
    if (size !== entry.size || sha256 !== entry.sha256) {
      throw new CommserveDrError(
        'DIFF_BASE_DAMAGED',
        `s3://${source.bucket}/${key} does not match its manifest (size ${size}, manifest ${entry.size}; SHA-256 ${sha256.slice(0, 16)}…, manifest ${entry.sha256.slice(0, 16)}…)`,
      );
    }
    renameSync(partial, path);
  } finally {
    rmSync(partial, { force: true });
  }
}

/** Removes the base folders of SETs not in `keep` (only the bases the job at hand needs are kept). */
function forgetOtherBases(root: string, keep: readonly string[]): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) if (!keep.includes(name)) rmSync(join(root, name), { recursive: true, force: true });
}

/**
 * The DIFFERENTIAL base of the FULL `setName` from its hot-site copy (see the module comment): its manifest and
 * sidecars (the page hashes).
 * @throws HotSiteError when the manifest or a sidecar cannot be read; ManifestError for a malformed manifest;
 *   CommserveDrError `DIFF_BASE_DAMAGED` when a sidecar does not match the manifest, `DIFF_BASE_UNWRITABLE` when the
 *   state directory cannot take it. The caller promotes the job to FULL with the message.
 */
export async function hotSiteDifferentialBase(source: HotSiteBaseSource, setName: string): Promise<DifferentialBase> {
  return hotSiteBase(source, setName, (entry) => entry.role === 'sidecar');
}

/**
 * A point's manifest and the files `wanted` of its hot-site copy, into `<StateDirectory>/differential-base/<SET>/`
 * (each checked against the manifest, size and SHA-256; a kept one is reused when it still matches). Base folders of
 * SETs not in `keep` (default: this one) are removed. A LOG point continuing a point that is only at the hot-site uses
 * it for the FULL (page hashes) and the previous point (a DIFFERENTIAL's dump, a LOG's page overlay).
 * @throws as {@link hotSiteDifferentialBase}.
 */
export async function hotSiteBase(source: HotSiteBaseSource, setName: string, wanted: (entry: ManifestFile) => boolean, keep: readonly string[] = [setName]): Promise<DifferentialBase> {
  const manifest = await readHotSiteManifest(source.s3, source.bucket, setName);
  if (manifest.setName !== setName) throw new CommserveDrError('DIFF_BASE_DAMAGED', `the hot-site manifest of ${setName} describes ${manifest.setName}`);
  const root = join(source.stateDirectory, DIFFERENTIAL_BASE_DIR);
  const setDir = join(root, setName);
  try {
    forgetOtherBases(root, keep);
    mkdirSync(setDir, { recursive: true });
  } catch (error) {
    throw new CommserveDrError('DIFF_BASE_UNWRITABLE', `cannot keep the base of ${setName} in ${setDir}: ${describeError(error)}`, { cause: error });
  }
  for (const entry of manifest.files.filter(wanted)) {
    const path = join(setDir, entry.name);
    if (!(await keptIntact(path, entry))) await fetchChecked(source, setName, entry, path);
  }
  return { manifest, setDir };
}
