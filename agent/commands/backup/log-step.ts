/**
 * The LOG dump step of phase 1 (SPEC §4.5): `commserv_LOG_<jobId>.dmp` and the engine's sidecars (SQLite: the point's
 * page overlay `commserv_LOG_<jobId>.pagehashes`), listed after the dump.
 */
import { join } from 'node:path';
import type { DatabaseEngine, LogBase, LogDumpResult } from '#agent/engines/types';
import { DatabaseError } from '#core/errors';
import type { StepOutcome } from './set-files';
import { logDumpFile } from '#core/dump-files';


/**
 * Writes the LOG dump (as `fileName(name)` when given, as `dumpFull` does) and its sidecars into the SET folder.
 * @throws DatabaseError `LOG_NOT_SUPPORTED` when the engine takes no LOG points, or the engine's errors.
 */
export async function dumpLog(
  engine: DatabaseEngine,
  base: LogBase,
  setDir: string,
  jobId: number,
  onProgress?: (done: number, total: number) => void,
  fileName: (name: string) => string = (name) => name,
): Promise<StepOutcome<LogDumpResult>> {
  if (!engine.dumpLog) throw new DatabaseError('LOG_NOT_SUPPORTED', `the ${engine.engine} engine takes no LOG points`);
  const name = logDumpFile(jobId);
  const result = await engine.dumpLog(base, join(setDir, fileName(name)), jobId, onProgress);
  return {
    files: [{ name, role: 'database' }, ...result.sidecars.map((s) => ({ name: s.name, role: 'sidecar' as const }))],
    events: [],
    partial: false,
    detail: result,
  };
}
