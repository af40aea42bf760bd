/**
 * `commserve-dr sets` as one call: the inventory (statuses, cycles), every copy inspected (per SET and per copy:
 * what exists, last checked, damaged — `copy-states.ts`), the last verifications and the manifest hash chain per copy.
 *
 * Each copy is listed once per run (one ListObjectsV2 pass over `sets/`, one over `archive/`, one read of the folder).
 *
 * Exit code (SPEC §11): 0; 3 ("completed with one or more errors") when a copy could not be listed (its SETs are then
 * not shown: the inventory is partial) or a copy was found damaged. With `from`, only that folder is read and nothing
 * is sent anywhere; a `from` folder that cannot be listed is an error (exit 1), not a partial inventory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RUNNING } from '#core/cycles';
import { ExitCode } from '#core/errors';
import { parseScrubState, type ScrubState } from '#core/scrub';
import type { Settings } from '#core/settings';
import { COPY_ORDER, listCopy, listedSet, selectCopies, type Copies, type CopyKind, type CopyListing } from '#agent/copies/index';
import { SCRUB_STATE_FILE } from '#agent/hotsite/scrub';
import { chainSummary, checkCopiesChain } from '#agent/hotsite/manifest-chain';
import { readVerifications } from '#agent/commands/recover/verify';
import { inspectCopies } from './copy-states';
import { takeInventory } from './inventory';
import { setsDocument, type SetsDocument } from './sets';

/** What `sets` reads. */
export interface SetsOptions {
  settings: Settings;
  /** The hot-site client; null to read only the phase-1 destination (`--local-only`) or with `from`. */
  s3: S3Client | null;
  /** A folder of `SET_<n>/` folders read instead of every other copy (`--from DIR`; no cloud contacted). */
  from?: string;
  /** Check the content of every file of every copy now (`--check`: SHA-256 on disk, HeadObject checksums in S3). */
  check?: boolean;
  now?: Date;
}

/**
 * Runs `sets` (see the module comment): each copy is listed once, and that one listing serves the inventory, the
 * per-copy states and the manifest chain.
 * @throws CommserveDrError `COPY_UNREADABLE` when the `from` folder cannot be listed.
 */
export async function runSets(options: SetsOptions): Promise<{ document: SetsDocument; exitCode: ExitCode }> {
  const { settings, from } = options;
  const s3 = from === undefined ? options.s3 : null;
  const copies = selectCopies({ from, phase1Destination: settings.Phase1Destination, s3, bucket: settings.HotSite.bucket });
  const listings = await listEachCopyOnce(copies, from !== undefined);
  const hotSiteListing = listings.get('hot-site');
  const inventory = await takeInventory(settings, s3, { from, ...(hotSiteListing ? { hotSiteListing } : {}) });
  const hotSiteReached = hotSiteListing !== undefined && 'sets' in hotSiteListing;
  const inspection = await inspectCopies(copies, {
    manifests: new Map(inventory.entries.map((e) => [e.summary.jobId, e.manifest ?? null])),
    scrub: hotSiteReached && !options.check ? scrubState(settings) : null,
    check: options.check,
    refused: new Map(inventory.entries.flatMap((e) => (e.summary.manifestRefused ? [[e.summary.jobId, e.summary.manifestRefused] as const] : []))),
    running: new Set(inventory.entries.filter((e) => e.summary.status === RUNNING).map((e) => e.summary.jobId)),
    listings,
    now: options.now,
  });
  const verifications = from === undefined ? readVerifications(settings) : new Map();
  const { document } = setsDocument(inventory, verifications, options.now, inspection);
  const chain = await checkCopiesChain({
    folder: { dir: from ?? settings.Phase1Destination, label: from === undefined ? 'phase-1 destination' : `folder ${from}` },
    hotSite: s3 && hotSiteReached ? { s3, bucket: settings.HotSite.bucket, sets: [...hotSiteListing.sets].map(([jobId, files]) => listedSet(jobId, files)) } : null,
  });
  document.manifestChain = chainSummary(chain);
  const partial = (document.copiesUnreachable?.length ?? 0) > 0 || (document.damagedCopies?.length ?? 0) > 0;
  return { document, exitCode: partial ? ExitCode.CompletedWithErrors : ExitCode.Success };
}

/**
 * One listing per copy, in {@link COPY_ORDER}. The archive lives in the hot-site's bucket: when the hot-site cannot be
 * listed, the archive is not asked (same reason), so an unreachable endpoint costs one wait, not two.
 * @param strict `--from`: the folder must be listed (a typo in `--from` is an error, not an empty inventory).
 * @throws CommserveDrError `COPY_UNREADABLE` when `strict` and the folder cannot be listed.
 */
async function listEachCopyOnce(copies: Copies, strict: boolean): Promise<Map<CopyKind, CopyListing>> {
  const listings = new Map<CopyKind, CopyListing>();
  for (const kind of COPY_ORDER) {
    const copy = copies.get(kind);
    if (!copy) continue;
    const hotSite = listings.get('hot-site');
    if (strict && kind === 'local') listings.set(kind, { sets: await copy.listSets() });
    else listings.set(kind, await listCopy(copy, kind === 'archive' && hotSite && 'reason' in hotSite ? archiveNotAsked(hotSite.reason) : undefined));
  }
  return listings;
}

/**
 * Why the archive was not listed when `sets/` of the same bucket failed: it names `archive/` and says it was not
 * asked, then gives the hot-site's reason as it was (which names `sets/`, the prefix actually tried).
 */
export function archiveNotAsked(hotSiteReason: string): string {
  return `archive/ not listed: listing sets/ in the same bucket failed first (${hotSiteReason})`;
}

/**
 * The scrub state every job keeps in the state directory (the same state it writes to the hot-site's `state/`), or null
 * when this machine has none. Read locally only: `sets` runs with the recovery role too, which reads `sets/`,
 * `archive/` and `jobs/` and nothing else (least privilege), so on another machine the hot-site shows no check on record.
 */
function scrubState(settings: Settings): ScrubState | null {
  const path = join(settings.StateDirectory, SCRUB_STATE_FILE);
  return existsSync(path) ? parseScrubState(readFileSync(path, 'utf8')) : null;
}
