/**
 * Which dump a job takes (SPEC §4.2 step 3): a requested DIFFERENTIAL runs against the current open
 * cycle's FULL — the newest FULL complete in at least one copy (the phase-1 destination, or the hot-site when it can
 * be reached: after a day with an unwritable destination the newest FULL may be there only, issue 15); with no valid
 * FULL (none yet, its SET incomplete or missing, its copies damaged, the database replaced or its page size changed,
 * the FULL's page hashes missing) it is promoted to FULL and the job says why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCycles } from '#core/cycles';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { parseManifest } from '#core/manifest';
import type { Settings } from '#core/settings';
import type { DatabaseEngine, DifferentialBase } from '#agent/engines/types';
import { takeInventory } from '#agent/commands/sets/inventory';
import { hotSiteDifferentialBase, type HotSiteBaseSource } from './diff-base';

/** The outcome of planning a DIFFERENTIAL: its base, or why it must run as a FULL. */
export type DifferentialPlan = { base: DifferentialBase } | { promote: string };

/** Where {@link planDifferential} may look besides the phase-1 destination: the hot-site, when it can be reached. */
export type DifferentialBaseSource = HotSiteBaseSource | null;

/**
 * Finds the base FULL for a DIFFERENTIAL: the open cycle's FULL among the SETs of every copy read (the phase-1
 * destination, and the hot-site when `hotSite` is given — a FULL staged only to the hot-site on a day the destination
 * could not be written counts as much as one on disk). Its base comes from the phase-1 destination when the FULL is
 * complete there, else from the hot-site ({@link hotSiteDifferentialBase}). Never throws for a missing or malformed
 * base: that is a reason to promote.
 */
export async function planDifferential(
  settings: Settings,
  engine: DatabaseEngine,
  /** Why the FULL (by SET name) has no intact copy, after any repair (issue 16: never a DIFFERENTIAL on a damaged FULL); null when it has one. */
  baseFullProblem?: (fullSetName: string) => Promise<string | null>,
  /** The hot-site (null or absent: unreachable, or not to be read — the phase-1 destination alone decides). */
  hotSite?: DifferentialBaseSource,
): Promise<DifferentialPlan> {
  const inventory = await takeInventory(settings, hotSite?.s3 ?? null);
  const open = buildCycles(inventory.entries.map((e) => e.summary)).openCycle;
  const where = hotSite && inventory.hotSiteUnavailable === null ? 'in the phase-1 destination or at the hot-site' : 'in the phase-1 destination';
  if (!open) return { promote: `there is no successful FULL ${where} to base it on (no open cycle)` };
  // Checked (and repaired at the hot-site) before anything is read from it.
  const damaged = baseFullProblem ? await baseFullProblem(open.full.setName) : null;
  if (damaged) return { promote: damaged };
  const found = await baseOf(settings, open.full.setName, inventory.hotSiteUnavailable === null ? hotSite : null);
  if ('promote' in found) return found;
  const problem = await engine.differentialBaseProblem(found.base);
  return problem ? { promote: problem } : found;
}

/** The FULL's base from the phase-1 destination when complete there, else from the hot-site (when it may be read). */
async function baseOf(settings: Settings, fullSetName: string, hotSite: DifferentialBaseSource | undefined): Promise<DifferentialPlan> {
  const setDir = join(settings.Phase1Destination, fullSetName);
  const manifestPath = join(setDir, MANIFEST_FILE);
  if (existsSync(manifestPath)) {
    try {
      return { base: { manifest: parseManifest(readFileSync(manifestPath), manifestPath), setDir } };
    } catch (error) {
      return { promote: `the manifest of the cycle's FULL ${fullSetName} is unusable: ${describeError(error)}` };
    }
  }
  if (!hotSite) return { promote: `the cycle's FULL ${fullSetName} is not complete in the phase-1 destination ${settings.Phase1Destination}` };
  try {
    return { base: await hotSiteDifferentialBase(hotSite, fullSetName) };
  } catch (error) {
    return { promote: `the cycle's FULL ${fullSetName} is only at the hot-site and its base could not be fetched: ${describeError(error)}` };
  }
}
