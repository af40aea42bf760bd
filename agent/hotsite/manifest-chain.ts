/**
 * Reading the manifest hash chain (`core/manifest-chain.ts`) from a copy, and the link a new manifest records:
 * - {@link previousManifestLink}: the newest committed SET before a job, at the phase-1 destination or the hot-site
 *   (whichever is newer: a SET staged without a local copy is only at the hot-site), with the SHA-256 of its manifest;
 * - {@link localChainLinks} / {@link hotSiteChainLinks}: the links of every SET of a folder of SETs or of `sets/`;
 * - {@link checkCopiesChain}: the check over both copies, for `sets`, `verify` and `recover`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkManifestChain, describeChain, manifestSha256, type ChainLink, type ChainReport } from '#core/manifest-chain';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { parseManifest } from '#core/manifest';
import { parseSetName } from '#core/set-id';
import { hotSiteError, listHotSiteSets, type HotSiteSet } from './hot-site';

/** Manifest GETs in flight when reading the hot-site's chain. */
const CHAIN_READ_CONCURRENCY = 8;

/** The chain link of one manifest's bytes, or a problem when they are not a manifest of that SET. */
export function chainLinkOf(jobId: number, setName: string, bytes: Buffer, source: string): ChainLink | { problem: string } {
  try {
    const manifest = parseManifest(bytes, source);
    if (manifest.jobId !== jobId) return { problem: `${source} is the manifest of job ${manifest.jobId}` };
    return { jobId, setName, sha256: manifestSha256(bytes), ...(manifest.previousManifest ? { previous: manifest.previousManifest } : {}) };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/** Committed SETs (folders with a manifest) of a folder of SETs, by job id. */
function localSets(dir: string | null): Map<number, string> {
  const out = new Map<number, string>();
  if (!dir || !existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const jobId = parseSetName(name);
    if (jobId !== undefined && existsSync(join(dir, name, MANIFEST_FILE))) out.set(jobId, name);
  }
  return out;
}

/** `set`: the SET's name as listed (legacy `SET_042` or new `SET_0000042`: core/set-id.ts). */
async function readHotSiteManifestBytes(s3: S3Client, bucket: string, set: string): Promise<Buffer> {
  const key = setObjectKey('sets', set, MANIFEST_FILE);
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  } catch (error) {
    throw hotSiteError(`read ${key}`, bucket, error);
  }
}

/**
 * What the manifest of job `jobId` records as its predecessor: the newest committed SET before it at the phase-1
 * destination or the hot-site, and the SHA-256 of that manifest's bytes. Undefined for the first SET.
 * @param hotSite null when the hot-site is not used (then only the local copy counts).
 * @throws HotSiteError when the hot-site cannot be listed or the manifest read; the file system error locally.
 */
export async function previousManifestLink(
  phase1Destination: string | null,
  hotSite: { s3: S3Client; bucket: string } | null,
  jobId: number,
): Promise<{ setName: string; sha256: string } | undefined> {
  const local = [...localSets(phase1Destination).entries()].filter(([id]) => id < jobId).sort((a, b) => b[0] - a[0])[0];
  let remote: { jobId: number; setName: string } | undefined;
  if (hotSite) {
    const sets = await listHotSiteSets(hotSite.s3, hotSite.bucket);
    remote = sets.filter((s) => s.complete && s.jobId < jobId).sort((a, b) => b.jobId - a.jobId)[0];
  }
  if (local && (!remote || local[0] >= remote.jobId)) {
    return { setName: local[1], sha256: manifestSha256(readFileSync(join(phase1Destination!, local[1], MANIFEST_FILE))) };
  }
  if (remote && hotSite) return { setName: remote.setName, sha256: manifestSha256(await readHotSiteManifestBytes(hotSite.s3, hotSite.bucket, remote.setName)) };
  return undefined;
}

/** Links of a folder of SETs (the phase-1 destination, a `--from` folder), and the manifests that could not be read. */
export function localChainLinks(dir: string): { links: ChainLink[]; problems: string[] } {
  const links: ChainLink[] = [];
  const problems: string[] = [];
  for (const [jobId, name] of localSets(dir)) {
    const path = join(dir, name, MANIFEST_FILE);
    const link = chainLinkOf(jobId, name, readFileSync(path), path);
    if ('problem' in link) problems.push(link.problem);
    else links.push(link);
  }
  return { links, problems };
}

/**
 * Links of every complete SET under `sets/` (one GET per manifest, {@link CHAIN_READ_CONCURRENCY} at a time).
 * @param listed the SETs of `sets/` as the caller already listed them (not listed again); absent: listed here.
 * @throws HotSiteError when the hot-site cannot be listed or read.
 */
export async function hotSiteChainLinks(s3: S3Client, bucket: string, listed?: readonly HotSiteSet[]): Promise<{ links: ChainLink[]; problems: string[] }> {
  const sets = (listed ?? (await listHotSiteSets(s3, bucket))).filter((s) => s.complete);
  const links: ChainLink[] = [];
  const problems: string[] = [];
  for (let i = 0; i < sets.length; i += CHAIN_READ_CONCURRENCY) {
    const batch = sets.slice(i, i + CHAIN_READ_CONCURRENCY);
    const read = await Promise.all(batch.map(async (s) => chainLinkOf(s.jobId, s.setName, await readHotSiteManifestBytes(s3, bucket, s.setName), `s3://${bucket}/${setObjectKey('sets', s.setName, MANIFEST_FILE)}`)));
    for (const link of read) {
      if ('problem' in link) problems.push(link.problem);
      else links.push(link);
    }
  }
  return { links, problems };
}

/** The chain of each copy looked at. */
export interface CopiesChain {
  /** Per copy ("hot-site", "phase-1 destination", a folder): the report, or why it was not checked. */
  copies: Array<{ copy: string; report: ChainReport; unreadable: string[] } | { copy: string; unavailable: string }>;
  /** SET name → why its manifest is not trusted (a break at any copy). */
  untrusted: Map<string, string>;
}

/**
 * Checks the manifest chain at the hot-site and in a folder of SETs. Never throws: a copy that cannot be read is
 * reported as unavailable.
 */
export async function checkCopiesChain(options: {
  folder?: { dir: string; label: string } | null;
  /** `sets`: the SETs of `sets/` as already listed (not listed again). */
  hotSite?: { s3: S3Client; bucket: string; sets?: readonly HotSiteSet[] } | null;
}): Promise<CopiesChain> {
  const copies: CopiesChain['copies'] = [];
  const untrusted = new Map<string, string>();
  const add = (copy: string, read: { links: ChainLink[]; problems: string[] }) => {
    const report = checkManifestChain(read.links);
    copies.push({ copy, report, unreadable: read.problems });
    for (const b of report.breaks) if (!untrusted.has(b.setName)) untrusted.set(b.setName, `${b.message} (${copy})`);
  };
  if (options.folder && existsSync(options.folder.dir)) {
    try {
      add(options.folder.label, localChainLinks(options.folder.dir));
    } catch (error) {
      copies.push({ copy: options.folder.label, unavailable: (error as Error).message });
    }
  }
  if (options.hotSite) {
    try {
      add('hot-site', await hotSiteChainLinks(options.hotSite.s3, options.hotSite.bucket, options.hotSite.sets));
    } catch (error) {
      copies.push({ copy: 'hot-site', unavailable: (error as Error).message });
    }
  }
  return { copies, untrusted };
}

/**
 * {@link previousManifestLink} for a job's new manifest, never failing the job: when the hot-site cannot be read the
 * local copy alone decides, and `warn` is told why (the link may then skip a SET only the hot-site holds, which the
 * check reports as not in the chain).
 */
export async function predecessorForNewManifest(
  phase1Destination: string | null,
  hotSite: { s3: S3Client; bucket: string },
  jobId: number,
  warn: (message: string) => void,
): Promise<{ previousManifest?: { setName: string; sha256: string } }> {
  let link: { setName: string; sha256: string } | undefined;
  try {
    link = await previousManifestLink(phase1Destination, hotSite, jobId);
  } catch (error) {
    warn(`manifest chain: the hot-site's SETs could not be read (${(error as Error).message}); the predecessor is taken from the phase-1 destination only`);
    try {
      link = await previousManifestLink(phase1Destination, null, jobId);
    } catch (localError) {
      warn(`manifest chain: no predecessor recorded (${(localError as Error).message})`);
    }
  }
  return link ? { previousManifest: link } : {};
}

/**
 * The chain findings that concern the SETs of a point (`verify` fails the point, `recover` refuses it without
 * `--force`), plus a note per copy whose chain could not be read when nothing else was found: `manifest chain: …`.
 */
export function manifestChainFindings(chain: CopiesChain, setNames: readonly string[]): string[] {
  return setNames.filter((name) => chain.untrusted.has(name)).map((name) => `manifest chain: ${chain.untrusted.get(name)}`);
}

/** Per copy, one line for `sets` (intact / BROKEN / not checked), and the SETs it distrusts. */
export function chainSummary(chain: CopiesChain): Array<{ copy: string; status: 'intact' | 'broken' | 'not-checked'; line: string; breaks: string[] }> {
  return chain.copies.map((c) =>
    'unavailable' in c
      ? { copy: c.copy, status: 'not-checked' as const, line: `manifest chain at ${c.copy}: not checked (${c.unavailable})`, breaks: [] }
      : {
          copy: c.copy,
          status: c.report.breaks.length > 0 ? ('broken' as const) : ('intact' as const),
          line: `${describeChain(c.report, c.copy)}${c.unreadable.length ? ` (${c.unreadable.length} manifest(s) unreadable)` : ''}`,
          breaks: c.report.breaks.map((b) => b.message),
        },
  );
}
