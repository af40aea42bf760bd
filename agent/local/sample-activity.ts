/**
 * The sample CommServe's activity between DR backups (`npm start`, SPEC §7). Each local run simulates a day of
 * activity (a share of the rows) before its job. A run that writes no SET (interrupted, killed, failed before its
 * commit) leaves its changes in the database all the same, so the next run adds its own to them: "rows changed
 * since the last DR backup" is the total since the newest committed SET, over every run since. The running total
 * is kept in `<StateDirectory>/sample-activity.json`, keyed by that SET; a newer SET starts a new count.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DestinationError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { parseSetName, setName } from '#core/set-id';
import { describeFsError, makeDirectories } from '#agent/fs-errors';
import { mutateSampleCommServe } from '#agent/local/sample-db/index';

/** File (in the state directory) holding the running total, see {@link SampleActivity}. */
export const SAMPLE_ACTIVITY_FILE = 'sample-activity.json';

/** Rows changed in the sample CommServe since its newest committed SET. */
export interface SampleActivity {
  /** Job id of the newest committed SET (manifest written) in the phase-1 destination when counted; 0 when none. */
  lastSetId: number;
  /** Rows changed since that SET, summed over every run since (inserted, updated and deleted rows). */
  rowsChanged: number;
  /** Runs that changed the sample since that SET, this one included (more than 1: earlier runs wrote no SET). */
  runs: number;
}

/** What one run's simulated activity did. */
export interface SimulatedActivity extends SampleActivity {
  /** Rows this run changed. */
  thisRun: number;
  /** Name of the newest committed SET (`null` when there is none yet). */
  lastSet: string | null;
}

/** Job id of the newest SET folder in `dir` that holds a manifest (committed); 0 when none or `dir` is missing. */
export function newestCommittedSetId(dir: string): number {
  if (!existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const id = entry.isDirectory() ? parseSetName(entry.name) : undefined;
    if (id !== undefined && id > newest && existsSync(join(dir, entry.name, MANIFEST_FILE))) newest = id;
  }
  return newest;
}

/**
 * The running total recorded for `lastSetId` (zero when none, recorded for another SET, or unreadable: a damaged
 * file only loses the count of earlier runs, never the job).
 */
export function readSampleActivity(stateDir: string, lastSetId: number): SampleActivity {
  const none: SampleActivity = { lastSetId, rowsChanged: 0, runs: 0 };
  try {
    const raw = JSON.parse(readFileSync(join(stateDir, SAMPLE_ACTIVITY_FILE), 'utf8')) as Partial<SampleActivity>;
    const valid = [raw.lastSetId, raw.rowsChanged, raw.runs].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
    return valid && raw.lastSetId === lastSetId ? { lastSetId, rowsChanged: raw.rowsChanged!, runs: raw.runs! } : none;
  } catch {
    return none;
  }
}

/** Forgets the running total (a new sample CommServe was created). */
export function forgetSampleActivity(stateDir: string): void {
  rmSync(join(stateDir, SAMPLE_ACTIVITY_FILE), { force: true });
}

/**
 * The mutation seed of a run: the first run after a SET keeps the seed it always had (next job id), a later run
 * without a SET between gets another, so it changes other rows rather than replaying the same choice.
 */
export function activitySeed(lastSetId: number, earlierRuns: number): number {
  return lastSetId + 1 + earlierRuns * 2 ** 32;
}

/**
 * Simulates a day of activity in the sample CommServe and records the running total at once (synchronously, right
 * after the change: an interruption from then on cannot lose it).
 * @param fraction share of the rows to change, in (0, 1].
 * @throws DatabaseError from the mutation; DestinationError `STATE_UNWRITABLE` naming the file and the reason when
 *   the total cannot be recorded (the job could not take its id there either).
 */
export function simulateSampleActivity(dbPath: string, stateDir: string, phase1Destination: string, fraction: number): SimulatedActivity {
  const lastSetId = newestCommittedSetId(phase1Destination);
  const earlier = readSampleActivity(stateDir, lastSetId);
  const thisRun = mutateSampleCommServe(dbPath, { fraction, seed: activitySeed(lastSetId, earlier.runs) });
  const activity: SampleActivity = { lastSetId, rowsChanged: earlier.rowsChanged + thisRun, runs: earlier.runs + 1 };
  const file = join(stateDir, SAMPLE_ACTIVITY_FILE);
  try {
    makeDirectories(stateDir);
    writeFileSync(`${file}.${process.pid}.tmp`, `${JSON.stringify(activity)}\n`);
    renameSync(`${file}.${process.pid}.tmp`, file);
  } catch (error) {
    throw new DestinationError('STATE_UNWRITABLE', `cannot record the sample CommServe's activity in ${file}: ${describeFsError(error)}`, { cause: error });
  }
  return { ...activity, thisRun, lastSet: lastSetId > 0 ? setName(lastSetId) : null };
}

/** The operator's line for a run's activity: this run's rows, and the total since the last DR backup when larger. */
export function describeSampleActivity(a: SimulatedActivity): string {
  const since = a.lastSet ? `the last DR backup (${a.lastSet})` : 'it was created (no DR backup yet)';
  if (a.runs <= 1) return `the sample CommServe changed ${a.thisRun} rows since ${since}`;
  return `the sample CommServe changed ${a.thisRun} rows; ${a.rowsChanged} since ${since}, as ${a.runs - 1} earlier run(s) wrote no SET`;
}
