/**
 * The LOG part of a SQLite rebuild (SPEC §4.5): the staged LOG dumps of a point, oldest first, applied in place on the
 * rebuilt FULL (+ DIFFERENTIAL) by `applyLogChainInPlace`, which checks every link (job id, page count, SHA-256 of the
 * state it continues) before the first write and the SHA-256 of the result after the last.
 */
import { statSync } from 'node:fs';
import type { RestorablePoint } from '#core/cycles';
import type { Manifest } from '#core/manifest';
import { RecoveryError } from '#core/recovery';
import { applyLogChainInPlace, type LogChainBase } from '#agent/engines/sqlite/log-point';
import { readDifferentialHeader } from '#agent/engines/sqlite/differential';
import type { StagedFile } from './fetch';

/** What {@link applyStagedLogChain} did. */
export interface AppliedLogChain {
  /** SHA-256 of the database after the last LOG (equal to the one that LOG recorded). */
  sha256: string;
  /** Page records written, over all LOGs. */
  appliedPages: number;
  /** The manifest of the last LOG applied: the point's own SET. */
  lastManifest: Manifest;
}

/**
 * Applies the point's LOGs (`point.logs`, oldest first) to `workFile`, which holds the verified state of `base` (the
 * FULL, or FULL + DIFFERENTIAL). `base.pageCount` may be NaN when the FULL's manifest does not record it: it is then
 * the work file's size over the first LOG's page size.
 * @throws RecoveryError `DUMP_MISSING` (a LOG dump was not staged, or was staged compressed); DatabaseError
 *   `LOG_CHAIN_BROKEN`, `DIFF_CORRUPT`, `RESTORE_VERIFY_FAILED`, `RESTORE_WRITE_FAILED` (from `applyLogChainInPlace`).
 */
export async function applyStagedLogChain(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  workFile: string,
  base: LogChainBase,
): Promise<AppliedLogChain> {
  const logs = point.logs ?? [];
  const paths = logs.map((log) => {
    const manifest = manifests.get(log.setName);
    const entry = manifest?.files.find((f) => f.role === 'database');
    const file = entry && files.find((f) => f.setName === log.setName && f.file === entry.name);
    if (!manifest || !file) throw new RecoveryError('DUMP_MISSING', `${log.setName}: the LOG dump was not staged`);
    if (file.compressed && file.compressed.pathHolds !== 'content') throw new RecoveryError('DUMP_MISSING', `${log.setName}/${file.file} was staged compressed, not decompressed: stage it again for a restore`);
    return file.path;
  });
  let pageCount = base.pageCount;
  if (!Number.isSafeInteger(pageCount) && paths.length > 0) pageCount = statSync(workFile).size / (await readDifferentialHeader(paths[0])).pageSize;
  const result = await applyLogChainInPlace(workFile, { ...base, pageCount }, paths);
  return { sha256: result.sha256, appliedPages: result.appliedPages, lastManifest: manifests.get(logs.at(-1)!.setName)! };
}
