/**
 * Which point a LOG job continues (SPEC §4.5): the newest successful SET of the open cycle in the phase-1
 * destination (FULL, DIFFERENTIAL or LOG). A LOG is never promoted to a FULL (that would turn a minutes-apart job
 * into a daily one): with no usable base it is refused, naming why, and the next FULL starts a cycle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCycles } from '#core/cycles';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { logPredecessor } from '#core/log-chain';
import { parseManifest, type Manifest } from '#core/manifest';
import type { Settings } from '#core/settings';
import type { DatabaseEngine, LogBase } from '#agent/engines/types';
import { takeInventory } from '#agent/commands/sets/inventory';

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

/** Finds the FULL and the previous point of the open cycle. Never throws for a missing base: that is a refusal. */
export async function planLog(settings: Settings, engine: DatabaseEngine): Promise<LogPlan> {
  if (!engine.dumpLog) return { refuse: `the ${engine.engine} engine takes no LOG points` };
  const report = buildCycles((await takeInventory(settings, null)).entries.map((e) => e.summary));
  const open = report.openCycle;
  const previous = logPredecessor(report);
  if (!open || !previous) return { refuse: 'there is no successful FULL in the phase-1 destination to continue (no open cycle): run a FULL first' };
  const full = readLocalManifest(settings, open.full.setName);
  if (typeof full === 'string') return { refuse: `the cycle's FULL is unusable: ${full}` };
  const prev = previous.jobId === open.full.jobId ? full : readLocalManifest(settings, previous.setName);
  if (typeof prev === 'string') return { refuse: `the previous point is unusable: ${prev}` };
  const base: LogBase = { full, previous: prev };
  const problem = await engine.logBaseProblem?.(base);
  return problem ? { refuse: problem } : { base };
}
