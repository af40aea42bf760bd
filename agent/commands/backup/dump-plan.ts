/**
 * Which dump a job takes (SPEC §4.2 step 3): a requested DIFFERENTIAL runs against the current open
 * cycle's FULL, found in the phase-1 destination; with no valid FULL there (none yet, its SET incomplete
 * or missing, the database replaced or its page size changed, the FULL's page hashes missing) it is
 * promoted to FULL and the job says why.
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

/** The outcome of planning a DIFFERENTIAL: its base, or why it must run as a FULL. */
export type DifferentialPlan = { base: DifferentialBase } | { promote: string };

/**
 * Finds the base FULL for a DIFFERENTIAL in the phase-1 destination. Never throws for a missing or
 * malformed base: that is a reason to promote.
 */
export async function planDifferential(
  settings: Settings,
  engine: DatabaseEngine,
  /** Why the FULL (by SET name) has no intact copy, after any repair (issue 16: never a DIFFERENTIAL on a damaged FULL); null when it has one. */
  baseFullProblem?: (fullSetName: string) => Promise<string | null>,
): Promise<DifferentialPlan> {
  const inventory = await takeInventory(settings, null);
  const open = buildCycles(inventory.entries.map((e) => e.summary)).openCycle;
  if (!open) return { promote: 'there is no successful FULL in the phase-1 destination to base it on (no open cycle)' };
  const setDir = join(settings.Phase1Destination, open.full.setName);
  const manifestPath = join(setDir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    return { promote: `the cycle's FULL ${open.full.setName} is not complete in the phase-1 destination ${settings.Phase1Destination}` };
  }
  let base: DifferentialBase;
  try {
    base = { manifest: parseManifest(readFileSync(manifestPath), manifestPath), setDir };
  } catch (error) {
    return { promote: `the manifest of the cycle's FULL ${open.full.setName} is unusable: ${describeError(error)}` };
  }
  const damaged = baseFullProblem ? await baseFullProblem(open.full.setName) : null;
  if (damaged) return { promote: damaged };
  const problem = await engine.differentialBaseProblem(base);
  return problem ? { promote: problem } : { base };
}
