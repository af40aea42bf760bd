/**
 * Leftover temporary files of unfinished SETs (newcomer review finding 5): a job killed outright (SIGKILL, power
 * loss) during a compressed FULL leaves `commserv_FULL.dmp.uncompressed` (the engine's raw dump, ~4× the stored
 * one) and `*.partial` files in its SET folder, which stayed until prune removes failed SETs after
 * `SetLifeSpanForFailedDR` days (90 by default). They are never part of a restorable point — a SET without a manifest
 * is never restored — so the next job (run under the phase-1 lock) removes them at once, and says what and how many
 * bytes. The rest of the unfinished folder stays for prune (its record and lifespan are unchanged).
 *
 * Never touched: anything of a SET folder holding `manifest.json` (committed), the running job's own SET, and any file
 * that is not such a temporary file.
 */
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { formatBytes } from '#core/format';
import { parseSetName } from '#core/set-id';

/** Suffixes of the temporary files phase 1 and repairs write beside a SET file (`set-files.ts` UNCOMPRESSED_SUFFIX; downloads' `.partial`). */
export const TEMP_SUFFIXES = ['.uncompressed', '.partial'] as const;

/** What was removed, and what could not be. */
export interface TempCleanup {
  removed: Array<{ path: string; bytes: number }>;
  failed: Array<{ path: string; reason: string }>;
}

/**
 * Removes the temporary files of every unfinished SET folder in `phase1Destination` (see the module comment).
 * Call only under the phase-1 lock (no other job is writing). Never throws: a file that cannot be removed is listed.
 * @param except the running job's own SET (job id), never touched.
 */
export function removeUnfinishedTemps(phase1Destination: string, except?: number): TempCleanup {
  const out: TempCleanup = { removed: [], failed: [] };
  let entries;
  try {
    entries = readdirSync(phase1Destination, { withFileTypes: true });
  } catch {
    return out; // no destination (yet): nothing left behind
  }
  for (const entry of entries) {
    const jobId = entry.isDirectory() ? parseSetName(entry.name) : undefined;
    if (jobId === undefined || jobId === except) continue;
    const folder = join(phase1Destination, entry.name);
    const names = readdirSync(folder);
    if (names.includes(MANIFEST_FILE)) continue; // committed: never touched
    for (const name of names.filter((n) => TEMP_SUFFIXES.some((s) => n.endsWith(s)))) removeOne(join(folder, name), out);
  }
  return out;
}

function removeOne(path: string, out: TempCleanup): void {
  try {
    const stat = lstatSync(path);
    if (!stat.isFile()) return;
    rmSync(path);
    out.removed.push({ path, bytes: stat.size });
  } catch (error) {
    out.failed.push({ path, reason: describeError(error) });
  }
}

/** One line each: what was removed (how many bytes), and what could not be. Empty when nothing was found. */
export function describeTempCleanup(cleanup: TempCleanup): Array<{ level: 'info' | 'warning'; message: string }> {
  const lines: Array<{ level: 'info' | 'warning'; message: string }> = [];
  if (cleanup.removed.length > 0) {
    const bytes = cleanup.removed.reduce((sum, r) => sum + r.bytes, 0);
    lines.push({
      level: 'info',
      message: `removed ${cleanup.removed.length} temporary file(s) of unfinished SETs (no manifest: never restorable), ${formatBytes(bytes)} (${bytes} bytes): ${cleanup.removed.map((r) => `${r.path} (${r.bytes} bytes)`).join(', ')}`,
    });
  }
  for (const f of cleanup.failed) lines.push({ level: 'warning', message: `could not remove ${f.path}, a temporary file of an unfinished SET: ${f.reason}` });
  return lines;
}

/**
 * The job's step: removes the leftovers (under the phase-1 lock, after the job got its id) and notes each line in the
 * job record (`UNFINISHED_TEMPS_REMOVED`, info; `UNFINISHED_TEMPS_LEFT`, warning).
 */
export function removeUnfinishedTempsStep(phase1Destination: string, jobId: number, note: (level: 'info' | 'warning', code: string, message: string) => void): void {
  for (const line of describeTempCleanup(removeUnfinishedTemps(phase1Destination, jobId))) {
    note(line.level, line.level === 'info' ? 'UNFINISHED_TEMPS_REMOVED' : 'UNFINISHED_TEMPS_LEFT', line.message);
  }
}
