/**
 * `commserve-dr sets` as one call: the inventory (statuses, cycles), every copy inspected (per SET and per copy:
 * what exists, last checked, damaged — `copy-states.ts`), the last verifications and the manifest hash chain per copy.
 *
 * Exit code (SPEC §11): 0; 3 ("completed with one or more errors") when a copy could not be listed (its SETs are then
 * not shown: the inventory is partial) or a copy was found damaged. With `from`, only that folder is read and nothing
 * is sent anywhere; a `from` folder that cannot be listed is an error (exit 1), not a partial inventory.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode } from '#core/errors';
import { parseScrubState, type ScrubState } from '#core/scrub';
import type { Settings } from '#core/settings';
import { FolderCopy, selectCopies, type CopyKind } from '#agent/copies/index';
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
 * Runs `sets` (see the module comment).
 * @throws CommserveDrError `COPY_UNREADABLE` when the `from` folder cannot be listed.
 */
export async function runSets(options: SetsOptions): Promise<{ document: SetsDocument; exitCode: ExitCode }> {
  const { settings, from } = options;
  const s3 = from === undefined ? options.s3 : null;
  if (from !== undefined) await new FolderCopy(from).listSets(); // a typo in --from is an error, not an empty inventory
  const inventory = await takeInventory(settings, s3, { from });
  const unreachable = new Map<CopyKind, string>();
  if (s3 && inventory.hotSiteUnavailable) for (const kind of ['hot-site', 'archive'] as const) unreachable.set(kind, inventory.hotSiteUnavailable);
  const copies = selectCopies({ from, phase1Destination: settings.Phase1Destination, s3, bucket: settings.HotSite.bucket });
  const inspection = await inspectCopies(copies, {
    manifests: new Map(inventory.entries.map((e) => [e.summary.jobId, e.manifest ?? null])),
    scrub: s3 && !unreachable.has('hot-site') && !options.check ? scrubState(settings) : null,
    check: options.check,
    unreachable,
    now: options.now,
  });
  const verifications = from === undefined ? readVerifications(settings) : new Map();
  const { document } = setsDocument(inventory, verifications, options.now, inspection);
  const chain = await checkCopiesChain({
    folder: { dir: from ?? settings.Phase1Destination, label: from === undefined ? 'phase-1 destination' : `folder ${from}` },
    hotSite: s3 && !unreachable.has('hot-site') ? { s3, bucket: settings.HotSite.bucket } : null,
  });
  document.manifestChain = chainSummary(chain);
  const partial = (document.copiesUnreachable?.length ?? 0) > 0 || (document.damagedCopies?.length ?? 0) > 0;
  return { document, exitCode: partial ? ExitCode.CompletedWithErrors : ExitCode.Success };
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
