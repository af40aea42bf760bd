/**
 * Which point a LOG job continues (SPEC §4.5): the newest successful SET of the open cycle (FULL, DIFFERENTIAL or
 * LOG) in any copy read — the phase-1 destination, and the hot-site when it can be reached. After a day with an
 * unwritable phase-1 destination the newest FULL or DIFFERENTIAL is at the hot-site only (issue 15): the LOG continues
 * it, as the DIFFERENTIAL plan does (dump-plan.ts), not an older point on disk. A point complete in the phase-1
 * destination is read there; one only at the hot-site has its manifest and the files the LOG dump reads fetched into
 * the state directory, each checked against its manifest (`hotSiteBase`): the FULL's page hashes, a DIFFERENTIAL's
 * dump, a LOG's page overlay (sidecars). A LOG is never promoted to a FULL (that would turn a minutes-apart job into
 * a daily one): with no usable base it is refused, naming why, and the next FULL starts a cycle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCycles } from '#core/cycles';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { logPredecessor } from '#core/log-chain';
import { parseManifest, type Manifest, type ManifestFile } from '#core/manifest';
import type { Settings } from '#core/settings';
import type { DatabaseEngine, DifferentialBase, LogBase } from '#agent/engines/types';
import { takeInventory } from '#agent/commands/sets/inventory';
import { hotSiteBase, type HotSiteBaseSource } from './diff-base';

/** The outcome of planning a LOG: its base, or why no LOG can be taken now. */
export type LogPlan = { base: LogBase } | { refuse: string };

function readLocalManifest(settings: Settings, setName: string): { manifest: Manifest; setDir: string } | string {
  const setDir = join(settings.Phase1Destination, setName);
  const path = join(setDir, MANIFEST_FILE);
  if (!existsSync(path)) return `${setName} is not complete in the phase-1 destination ${settings.Phase1Destination}`;
  try {
    return { manifest: parseManifest(readFileSync(path), path), setDir };
  } catch (error) {
    return `the manifest of ${setName} is unusable: ${describeError(error)}`;
  }
}

/** The files of a point a LOG dump reads: a FULL's page hashes, a DIFFERENTIAL's dump, a LOG's page overlay. */
function filesTheLogReads(backupType: string): (entry: ManifestFile) => boolean {
  return backupType === 'DIFFERENTIAL' ? (entry) => entry.role === 'database' : (entry) => entry.role === 'sidecar';
}

/**
 * A point of the open cycle as a LOG base: from the phase-1 destination when complete there, else from the hot-site
 * (when it may be read). @returns the base, or why it cannot be used.
 */
async function pointBase(settings: Settings, setName: string, hotSite: HotSiteBaseSource | null, keep: readonly string[], wanted: (entry: ManifestFile) => boolean): Promise<DifferentialBase | string> {
  const local = readLocalManifest(settings, setName);
  if (typeof local !== 'string' || !hotSite) return local;
  try {
    return await hotSiteBase(hotSite, setName, wanted, keep);
  } catch (error) {
    return `${setName} is only at the hot-site and could not be fetched from it: ${describeError(error)}`;
  }
}

/**
 * Finds the FULL and the previous point of the open cycle among the SETs of every copy read (see the module comment).
 * Never throws for a missing base: that is a refusal.
 * @param hotSite the hot-site and the state directory to keep fetched base files in; null when it cannot be reached
 *   (the phase-1 destination alone decides).
 */
export async function planLog(settings: Settings, engine: DatabaseEngine, hotSite: HotSiteBaseSource | null = null): Promise<LogPlan> {
  if (!engine.dumpLog) return { refuse: `the ${engine.engine} engine takes no LOG points` };
  const inventory = await takeInventory(settings, hotSite?.s3 ?? null);
  const read = hotSite && inventory.hotSiteUnavailable === null ? hotSite : null;
  const report = buildCycles(inventory.entries.map((e) => e.summary));
  const open = report.openCycle;
  const previous = logPredecessor(report);
  const where = read ? 'in the phase-1 destination or at the hot-site' : 'in the phase-1 destination';
  if (!open || !previous) return { refuse: `there is no successful FULL ${where} to continue (no open cycle): run a FULL first` };
  const keep = [open.full.setName, previous.setName];
  // The FULL's page hashes only (never its dump); the previous point's dump or overlay.
  const full = await pointBase(settings, open.full.setName, read, keep, filesTheLogReads('FULL'));
  if (typeof full === 'string') return { refuse: `the cycle's FULL is unusable: ${full}` };
  const prev = previous.jobId === open.full.jobId ? full : await pointBase(settings, previous.setName, read, keep, filesTheLogReads(previous.backupType));
  if (typeof prev === 'string') return { refuse: `the previous point is unusable: ${prev}` };
  const base: LogBase = { full, previous: prev };
  const problem = await engine.logBaseProblem?.(base);
  return problem ? { refuse: problem } : { base };
}
