/**
 * Restoring the database of a point from staged, verified dumps.
 *
 * - SQLite (SPEC §7): the verified staged FULL becomes the work file by rename (no copy); a DIFFERENTIAL's pages are
 *   written into it in place once the SHA-256 of FULL + DIFF matched the recorded one (computed while the FULL
 *   downloaded, {@link StreamedRebuild}). Then `PRAGMA quick_check` or `PRAGMA integrity_check`
 *   ({@link chooseIntegrityCheck}). The result is a work file in staging (never the target): installing it is the
 *   caller's atomic rename ({@link rebuildDatabase}).
 * - SQL Server (SPEC §6, issue 6): the chain is checked from the manifests (DifferentialBaseGUID/LSN of the
 *   DIFFERENTIAL = BackupSetGUID/CheckpointLSN of the FULL) before any statement, then `restoreSqlServerPoint`
 *   (RESTORE … WITH NORECOVERY, REPLACE, MOVE …; the DIFFERENTIAL WITH RECOVERY; DBCC CHECKDB)
 *   ({@link restoreSqlServerDatabase}). {@link restorePointDatabase} picks one by the FULL's engine.
 *   {@link recoverSqlServerPoint} is what `recover` and `verify` run: the chain check from the manifests (no
 *   connection yet), a session to `master` from the settings, the verified staged dumps copied into the backup
 *   directory (where the SQL Server service reads them), the restore with MOVE into the restore directories, CHECKDB,
 *   and the copies removed.
 */
import { faultPoint } from '#agent/faults';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { copyFile, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ssmClient } from '#agent/aws/clients';
import type { RestorablePoint } from '#core/cycles';
import { CommserveDrError, ConfigError, DatabaseError, describeError, HotSiteError } from '#core/errors';
import { fileContent, type Integrity, type Manifest } from '#core/manifest';
import { RecoveryError } from '#core/recovery';
import type { Settings } from '#core/settings';
import { applyDifferentialInPlace, DifferentialImageHasher, readDifferentialHeader, type DifferentialHeader } from '#agent/engines/sqlite/differential';
import type { ContentObserver } from '#agent/hotsite/download';
import type { SqlServerDatabaseSettings } from '#agent/engines/sqlserver/credentials';
import { serverLocalStopAt } from '#agent/engines/sqlserver/log-backup';
import { differentialChainProblem, restoreSqlServerPoint, type SqlServerRestoreResult, type SqlServerRestoreTarget } from '#agent/engines/sqlserver/restore';
import { SqlBatchError, targetLabel, type SqlSession } from '#agent/engines/sqlserver/session';
import { openSqlServerSession, type OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { DEFAULT_BACKUP_PATH_QUERY, DEFAULT_DATA_LOG_PATH_QUERY, dropDatabaseStatement, serverPath } from '#agent/engines/sqlserver/tsql';
import type { ObserveTarget, StagedFile } from './fetch';
import { applyStagedLogChain } from './log-chain-apply';

/**
 * Which SQLite integrity check a rebuild asks for (`recover --integrity-check`): `auto` (recover's default) re-runs no
 * check when the rebuilt image is one a backup-time check passed on, else the full check ({@link chooseIntegrityCheck});
 * `quick` always `PRAGMA quick_check`; `full` always `PRAGMA integrity_check`.
 */
export type IntegrityCheckRequest = 'auto' | 'quick' | 'full';

/** The SQLite check that ran on a rebuilt database: `PRAGMA quick_check`, `PRAGMA integrity_check`, or none (see {@link chooseIntegrityCheck}). */
export type IntegrityCheckMode = 'quick' | 'full' | 'none';

/** What {@link rebuildDatabase} produced. */
export interface RebuiltDatabase {
  /** The work file holding the rebuilt database. */
  file: string;
  bytes: number;
  sha256: string;
  /** Page records applied from the DIFFERENTIAL and the LOG chain together (0 for a FULL alone). */
  appliedPages: number;
  /** Of {@link appliedPages}, those applied from LOG points (0 without a LOG chain). */
  appliedLogPages: number;
  integrity: Integrity;
  /** The check that ran, and the pragma and why that one (see {@link chooseIntegrityCheck}). */
  integrityCheck: { mode: IntegrityCheckMode; reason: string };
  /** Wall time of the whole rebuild, milliseconds. */
  durationMs: number;
  /** Of which: the DIFFERENTIAL applied (and verified) in place, the integrity check (milliseconds). */
  durationsMs: { rebuild: number; integrity: number };
}

/**
 * Integrity check of a database file (read-only): `full` runs `PRAGMA integrity_check(100)` (every b-tree, index
 * and constraint), `quick` runs `PRAGMA quick_check(100)` (the same minus the index-content checks: O(N), about a
 * quarter of the time on the sample CommServe). A pragma that throws SQLITE_CORRUPT / SQLITE_NOTADB is `corrupt`, any
 * other failure `check-failed`.
 */
export function checkIntegrity(file: string, mode: 'quick' | 'full' = 'full'): Integrity {
  const started = performance.now();
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const messages = (db.prepare(mode === 'quick' ? 'PRAGMA quick_check(100)' : 'PRAGMA integrity_check(100)').pluck().all() as unknown[]).map(String);
    const ok = messages.length === 1 && messages[0] === 'ok';
    return { status: ok ? 'ok' : 'corrupt', messages: ok ? [] : messages, durationMs: performance.now() - started };
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    const corrupt = code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB';
    return { status: corrupt ? 'corrupt' : 'check-failed', messages: [`${code || 'error'}: ${(error as Error).message}`], durationMs: performance.now() - started };
  } finally {
    db?.close();
  }
}

/**
 * The check a rebuild runs (issue 15). `full` (recover `--integrity-check full`, and `verify`) always runs the full
 * `PRAGMA integrity_check`, `quick` always `PRAGMA quick_check`. `auto` (recover's default) runs none only when all hold:
 * - the rebuilt file is proven bit-identical to the image that was backed up: its SHA-256, computed from the bytes
 *   written, equals the one recorded at backup time (`identical`), and
 * - the backup job of that image recorded that its full `PRAGMA integrity_check` passed on exactly that image
 *   (`integrity.status` `ok` and `integrity.checkedSha256` = this SHA-256: a FULL's check runs on its own dump; a
 *   DIFFERENTIAL's on the live database, recorded only when it read the same state as the dump);
 * otherwise — a LOG point (no check at backup), an image no check covered, an older manifest — the full check runs.
 * @param sha256 SHA-256 of the rebuilt database (lowercase hex).
 */
export function chooseIntegrityCheck(requested: IntegrityCheckRequest, identical: boolean, backedUp: Manifest, sha256: string): { mode: IntegrityCheckMode; reason: string } {
  if (requested === 'full') return { mode: 'full', reason: 'PRAGMA integrity_check: full check requested' };
  if (requested === 'quick') return { mode: 'quick', reason: 'PRAGMA quick_check: requested (--integrity-check quick)' };
  const full = (why: string) => ({ mode: 'full' as const, reason: `PRAGMA integrity_check: ${why}` });
  if (!identical) return full('the rebuilt database is not proven identical to the backed-up image');
  if (backedUp.integrity.status !== 'ok') return full(`the backup-time integrity check of ${backedUp.setName} was ${backedUp.integrity.status}`);
  if (backedUp.integrity.checkedSha256 !== sha256) {
    return full(`no backup-time check covered this image (${backedUp.setName}, ${backedUp.backupType}: its check ${backedUp.integrity.checkedSha256 ? `ran on the image with SHA-256 ${backedUp.integrity.checkedSha256}` : 'recorded no image it ran on'})`);
  }
  return {
    mode: 'none',
    reason: `not re-run: the rebuilt database's SHA-256 ${sha256} is the image on which PRAGMA integrity_check passed in backup job ${backedUp.jobId} (${backedUp.setName}, ${backedUp.backupType}); --integrity-check full runs it again`,
  };
}

function staged(files: readonly StagedFile[], setName: string, name: string): StagedFile | undefined {
  return files.find((f) => f.setName === setName && f.file === name);
}

/**
 * `file`, when its path holds the dump's content (decompressed), which restores need.
 * @throws RecoveryError `DUMP_MISSING` for a compressed dump staged as stored (as `fetch` keeps them).
 */
function stagedAsContent(file: StagedFile): StagedFile {
  if (file.compressed && file.compressed.pathHolds !== 'content') {
    throw new RecoveryError('DUMP_MISSING', `${file.setName}/${file.file} was staged compressed, not decompressed: stage it again for a restore`);
  }
  return file;
}

function diffWrongBase(diffSet: string, diffFile: string, header: DifferentialHeader, full: Manifest, fullSha256: string): DatabaseError {
  return new DatabaseError(
    'DIFF_WRONG_BASE',
    `${diffSet}/${diffFile} was taken against FULL job ${header.baseJobId} (SHA-256 ${header.baseSha256.slice(0, 12)}…), not against ${full.setName} (SHA-256 ${fullSha256.slice(0, 12)}…): refusing to restore it`,
  );
}

/**
 * Checks, before anything is rebuilt, that the staged dumps of the point fit together: SQLite engine, a FULL dump,
 * and for a DIFFERENTIAL that its header names the FULL's job id and the FULL's content SHA-256 as its base (the
 * content: for a dump stored compressed, the SHA-256 of the decompressed bytes), and that the reconstructed SHA-256
 * its manifest records (when it does) is the DIFF's own. `known` skips reading a DIFF header already read and
 * validated for the same staged file.
 * @returns the FULL's manifest, its staged dump and content SHA-256, the DIFF (its manifest, staged file, validated header).
 * @throws RecoveryError `ENGINE_UNSUPPORTED`, `DUMP_MISSING`; DatabaseError `DIFF_WRONG_BASE`, `DIFF_CORRUPT`.
 */
export async function checkStagedDumps(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  known?: { diffPath: string; header: DifferentialHeader },
) {
  const full = manifests.get(point.full.setName)!;
  if (full.database.engine !== 'sqlite') {
    throw new RecoveryError('ENGINE_UNSUPPORTED', `${full.setName} is a ${full.database.engine} backup: restore it with SQL Server (RESTORE DATABASE … WITH NORECOVERY, then the DIFFERENTIAL WITH RECOVERY; restorePointDatabase with SQL Server options)`);
  }
  const fullDumpEntry = full.files.find((f) => f.role === 'database');
  const fullDump = fullDumpEntry && staged(files, full.setName, fullDumpEntry.name);
  if (!fullDumpEntry || !fullDump) throw new RecoveryError('DUMP_MISSING', `${full.setName}: the FULL dump was not staged`);
  const fullSha256 = fileContent(fullDumpEntry).sha256;
  if (!point.differential) return { full, fullDump, fullSha256, diff: undefined };
  const diffManifest = manifests.get(point.differential.setName)!;
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diff = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diff) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  const header = known && known.diffPath === diff.path ? known.header : await readDifferentialHeader(diff.path);
  if (header.baseJobId !== full.jobId || header.baseSha256 !== fullSha256) throw diffWrongBase(diffManifest.setName, diff.file, header, full, fullSha256);
  const recorded = diffManifest.database.details.reconstructedSha256;
  if (typeof recorded === 'string' && recorded !== header.sha256) {
    throw new DatabaseError('DIFF_CORRUPT', `${diffManifest.setName}/${diff.file} records the reconstructed SHA-256 ${header.sha256.slice(0, 12)}…, its manifest ${recorded.slice(0, 12)}…: refusing to restore it`);
  }
  return { full, fullDump, fullSha256, diff: { manifest: diffManifest, staged: diff, header } };
}

/**
 * Rebuild work done while the point is staged: when the point has a DIFFERENTIAL, its DIFF is staged first, and the
 * FULL's content bytes, as they download (and are verified), also go through a {@link DifferentialImageHasher}: the
 * SHA-256 of FULL + DIFF is known when the FULL is staged, so {@link rebuildDatabase} only writes the DIFF's pages into
 * the FULL (no second read of the FULL). Pass {@link observe} as `stagePoint`'s `observe`, then this to
 * `rebuildDatabase`. A DIFF of another FULL is refused before the FULL is downloaded.
 */
export class StreamedRebuild {
  /** Set once the FULL is staged: the files hashed, the DIFF's header, the SHA-256 of FULL + DIFF. */
  result?: { fullPath: string; diffPath: string; header: DifferentialHeader; sha256: string };

  /**
   * @param options.verifyFullThroughImage the FULL's bytes are verified by the SHA-256 of FULL + DIFF alone (one hash
   *   per byte instead of two, issue 15): it must equal the reconstructed SHA-256 the DIFFERENTIAL recorded, else the
   *   FULL copy is treated as damaged (HotSiteError `CHECKSUM_MISMATCH`, the next copy is read). That proves every
   *   byte of the FULL the rebuilt database holds; pages the DIFF replaces are not checked — they are not restored.
   *   `recover` sets it; `verify` (which reports on the copies themselves) does not.
   */
  constructor(
    private readonly point: RestorablePoint,
    private readonly options: { verifyFullThroughImage?: boolean } = {},
  ) {}

  /** `stagePoint`'s `observe`: a hasher for the point's FULL dump when the point has a SQLite DIFFERENTIAL. */
  readonly observe = async (target: ObserveTarget): Promise<ContentObserver | undefined> => {
    const { point } = this;
    if (!point.differential || target.setName !== point.full.setName || target.file.role !== 'database') return undefined;
    const full = target.manifests.get(point.full.setName);
    const diffManifest = target.manifests.get(point.differential.setName);
    if (full?.database.engine !== 'sqlite' || !diffManifest) return undefined;
    const diffEntry = diffManifest.files.find((f) => f.role === 'database');
    const diff = diffEntry && staged(target.staged, diffManifest.setName, diffEntry.name);
    if (!diff) return undefined;
    const header = await readDifferentialHeader(diff.path);
    const fullSha256 = fileContent(target.file).sha256;
    if (header.baseJobId !== full.jobId || header.baseSha256 !== fullSha256) throw diffWrongBase(diffManifest.setName, diff.file, header, full, fullSha256);
    const recorded = diffManifest.database.details.reconstructedSha256;
    if (typeof recorded === 'string' && recorded !== header.sha256) {
      throw new DatabaseError('DIFF_CORRUPT', `${diffManifest.setName}/${diff.file} records the reconstructed SHA-256 ${header.sha256.slice(0, 12)}…, its manifest ${recorded.slice(0, 12)}…: refusing to restore it`);
    }
    const hasher = await DifferentialImageHasher.open(diff.path, header);
    const fullPath = target.path;
    const throughImage = this.options.verifyFullThroughImage === true && !target.file.compression;
    return {
      update: (chunk) => hasher.update(chunk),
      finish: async () => {
        const { sha256 } = await hasher.finish();
        if (throughImage && sha256 !== header.sha256) {
          throw new HotSiteError(
            'CHECKSUM_MISMATCH',
            `${target.setName}/${target.file.name}: with the pages of ${diffManifest.setName}/${diff.file} (verified) it gives SHA-256 ${sha256.slice(0, 16)}…, not the ${header.sha256.slice(0, 16)}… the DIFFERENTIAL recorded: this copy of the FULL is damaged`,
            { context: { expected: header.sha256, actual: sha256 } },
          );
        }
        this.result = { fullPath, diffPath: diff.path, header, sha256 };
      },
      abort: () => hasher.close(),
      ...(throughImage ? { verifiedThrough: `its bytes with ${diffManifest.setName}'s pages give the SHA-256 of the database ${diffManifest.setName} recorded (${header.sha256})` } : {}),
    };
  };
}

/** Options of {@link rebuildDatabase}. */
export interface RebuildOptions {
  /** `auto` (default): no check when a backup-time check covered the image, else the full one; `quick`, `full` (see {@link chooseIntegrityCheck}). */
  integrityCheck?: IntegrityCheckRequest;
  /** The {@link StreamedRebuild} passed to `stagePoint` (its SHA-256 of FULL + DIFF spares reading the FULL again). */
  streamed?: StreamedRebuild;
  /** fsync the rebuilt file (default true: it is about to be installed; a trial restore's scratch copy needs none). */
  sync?: boolean;
}

/** Renames `source` to `target`; across file systems (EXDEV), copies it then removes the source. */
async function moveInto(source: string, target: string): Promise<void> {
  try {
    await rename(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(source, target);
    await rm(source, { force: true });
  }
}

/** fsync of a file (its data reaches the disk before it is installed by rename). */
async function syncFile(file: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Rebuilds the point's database into `workFile` (replaced) and checks its integrity, without a copy of the FULL: the
 * verified staged FULL dump *becomes* the work file by rename (both under the staging directory: the same file system;
 * across file systems it is copied; the staged FULL is consumed either way), then the DIFFERENTIAL's pages are written into it in place
 * (`applyDifferentialInPlace`) — after the SHA-256 of FULL + DIFF was checked against the one recorded in the DIFF
 * (computed while the FULL downloaded with `options.streamed`, else in one read of the file). The result is fsynced
 * (alongside the integrity check) so the caller can install it by rename. The check is `PRAGMA quick_check` or
 * `PRAGMA integrity_check` by {@link chooseIntegrityCheck}.
 * @throws as {@link checkStagedDumps} and `applyDifferentialInPlace` (nothing is left at `workFile` on failure).
 */
export async function rebuildDatabase(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  workFile: string,
  options: RebuildOptions = {},
): Promise<RebuiltDatabase> {
  const started = performance.now();
  const streamed = options.streamed?.result;
  const dumps = await checkStagedDumps(point, manifests, files, streamed);
  await mkdir(dirname(workFile), { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(workFile + suffix, { force: true });
  stagedAsContent(dumps.fullDump);
  if (dumps.diff) stagedAsContent(dumps.diff.staged);
  await moveInto(dumps.fullDump.path, workFile);
  faultPoint('rebuild');
  try {
    let sha256: string;
    let recordedSha256: string;
    let appliedPages = 0;
    let appliedLogPages = 0;
    if (dumps.diff) {
      const precomputed = streamed && streamed.fullPath === dumps.fullDump.path && streamed.diffPath === dumps.diff.staged.path ? streamed.sha256 : undefined;
      const result = await applyDifferentialInPlace({ file: workFile, diffFile: dumps.diff.staged.path, header: dumps.diff.header, reconstructedSha256: precomputed });
      sha256 = result.sha256;
      recordedSha256 = dumps.diff.header.sha256;
      appliedPages = result.appliedPages;
    } else {
      sha256 = dumps.fullDump.sha256;
      recordedSha256 = dumps.fullSha256;
    }
    let backedUp = dumps.diff?.manifest ?? dumps.full;
    if (point.logs?.length) {
      // SPEC §4.5: the LOG chain on top of the verified FULL (+ DIFFERENTIAL); its end SHA-256 is checked in the apply.
      const base = { jobId: backedUp.jobId, pageCount: dumps.diff ? dumps.diff.header.pageCount : Number(dumps.full.database.pageCount), sha256 };
      const chain = await applyStagedLogChain(point, manifests, files, workFile, base);
      sha256 = chain.sha256;
      recordedSha256 = chain.sha256;
      appliedPages += chain.appliedPages;
      appliedLogPages = chain.appliedPages;
      backedUp = chain.lastManifest;
    }
    const rebuildMs = performance.now() - started;
    const syncing = options.sync === false ? Promise.resolve() : syncFile(workFile);
    syncing.catch(() => undefined);
    const integrityCheck = chooseIntegrityCheck(options.integrityCheck ?? 'auto', sha256 === recordedSha256, backedUp, sha256);
    const integrity: Integrity = integrityCheck.mode === 'none' ? { status: 'ok', messages: [], durationMs: 0 } : checkIntegrity(workFile, integrityCheck.mode);
    await syncing;
    const { size } = statSync(workFile);
    return {
      file: workFile,
      bytes: size,
      sha256,
      appliedPages,
      appliedLogPages,
      integrity,
      integrityCheck,
      durationMs: performance.now() - started,
      durationsMs: { rebuild: Math.round(rebuildMs), integrity: Math.round(integrity.durationMs) },
    };
  } catch (error) {
    for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(workFile + suffix, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** How a SQL Server point is restored: the server session and directories, and how SQL Server reaches the staged files. */
export interface SqlServerRecoveryOptions extends SqlServerRestoreTarget {
  /**
   * The staged file's path as the SQL Server service sees it (default: the staged path itself — SQL Server runs on
   * this machine and its service account can read the staging directory).
   */
  serverPathOf?: (file: StagedFile) => string;
  /**
   * `recover --at` on SQL Server: the moment (ISO-8601 UTC) to stop the last LOG at (`RESTORE LOG … WITH STOPAT`),
   * converted to the server's local time with the offset that LOG's recorded end carries.
   */
  stopAt?: string;
}

/**
 * Checks, before anything is restored, that the staged SQL Server dumps of the point fit together: a FULL dump, and
 * for a DIFFERENTIAL that its manifest's DifferentialBaseGUID/LSN are the FULL's BackupSetGUID/CheckpointLSN.
 * @throws RecoveryError `ENGINE_UNSUPPORTED` (not SQL Server), `DUMP_MISSING`; DatabaseError `DIFF_WRONG_BASE`.
 */
export function checkSqlServerStagedDumps(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[]) {
  const full = manifests.get(point.full.setName)!;
  if (full.database.engine !== 'sqlserver') throw new RecoveryError('ENGINE_UNSUPPORTED', `${full.setName} is a ${full.database.engine} backup, not SQL Server`);
  const fullEntry = full.files.find((f) => f.role === 'database');
  const fullDump = fullEntry && staged(files, full.setName, fullEntry.name);
  if (!fullDump) throw new RecoveryError('DUMP_MISSING', `${full.setName}: the FULL dump was not staged`);
  // A LOG point (issue 17): every LOG dump of the chain, oldest first.
  const logs = (point.logs ?? []).map((log) => {
    const manifest = manifests.get(log.setName);
    const entry = manifest?.files.find((f) => f.role === 'database');
    const dump = entry && staged(files, log.setName, entry.name);
    if (!manifest || !dump) throw new RecoveryError('DUMP_MISSING', `${log.setName}: the LOG dump was not staged`);
    return { manifest, dump: stagedAsContent(dump) };
  });
  if (!point.differential) return { full, fullDump: stagedAsContent(fullDump), diff: undefined, logs };
  const diffManifest = manifests.get(point.differential.setName)!;
  const problem = differentialChainProblem(full, diffManifest);
  if (problem) throw new DatabaseError('DIFF_WRONG_BASE', `refusing to restore: ${problem}`);
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diffDump = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diffDump) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  for (const dump of [fullDump, diffDump]) stagedAsContent(dump);
  return { full, fullDump, diff: { manifest: diffManifest, dump: diffDump }, logs };
}

/**
 * Restores a SQL Server point into `options.database` (default the FULL's database name) on the server of
 * `options.session`: chain check first (nothing sent when it fails), then `restoreSqlServerPoint`.
 * @throws as {@link checkSqlServerStagedDumps} and `restoreSqlServerPoint`.
 */
export async function restoreSqlServerDatabase(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  options: SqlServerRecoveryOptions,
): Promise<SqlServerRestoreResult> {
  const dumps = checkSqlServerStagedDumps(point, manifests, files);
  const pathOf = options.serverPathOf ?? ((f: StagedFile) => f.path);
  return restoreSqlServerPoint(
    { manifest: dumps.full, serverPath: pathOf(dumps.fullDump) },
    dumps.diff ? { manifest: dumps.diff.manifest, serverPath: pathOf(dumps.diff.dump) } : undefined,
    options,
    dumps.logs.map((l) => ({ manifest: l.manifest, serverPath: pathOf(l.dump) })),
    options.stopAt === undefined ? undefined : stopAtLocal(options.stopAt, dumps.logs.at(-1)?.manifest),
  );
}

/**
 * The STOPAT moment in the server's local time, from the offset of the last LOG's recorded end (`BackupFinishDate`,
 * `…+01:00`). @throws RecoveryError `STOPAT_NOT_POSSIBLE` without a LOG or without a recorded offset (never a guess:
 * a wrong offset would restore past the moment asked for).
 */
function stopAtLocal(stopAt: string, lastLog: Manifest | undefined): string {
  const finished = lastLog?.database.details.BackupFinishDate;
  const offset = typeof finished === 'string' ? /([+-])(\d{2}):(\d{2})$/.exec(finished) : null;
  if (!lastLog || !offset) throw new RecoveryError('STOPAT_NOT_POSSIBLE', `cannot stop at ${stopAt}: ${lastLog ? `${lastLog.setName} records no time zone offset of its end` : 'the point has no LOG'}`);
  const minutes = (offset[1] === '-' ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]));
  return serverLocalStopAt(stopAt, minutes);
}

/** The database of a point, restored by its engine. */
export type RestoredDatabase = { engine: 'sqlite'; rebuilt: RebuiltDatabase } | { engine: 'sqlserver'; restored: SqlServerRestoreResult };

/**
 * Restores the point's database by the FULL's engine: SQLite into `workFile` ({@link rebuildDatabase}; the caller
 * installs it), SQL Server onto the server of `sqlServer` ({@link restoreSqlServerDatabase}).
 * @throws RecoveryError `ENGINE_UNSUPPORTED` for a SQL Server point without `sqlServer` options; as the two above.
 */
export async function restorePointDatabase(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  options: { workFile: string; sqlServer?: SqlServerRecoveryOptions },
): Promise<RestoredDatabase> {
  const engine = manifests.get(point.full.setName)!.database.engine;
  if (engine === 'sqlite') return { engine, rebuilt: await rebuildDatabase(point, manifests, files, options.workFile) };
  if (!options.sqlServer) {
    throw new RecoveryError('ENGINE_UNSUPPORTED', `${point.full.setName} is a SQL Server backup: a SQL Server connection and target directories are needed to restore it`);
  }
  return { engine, restored: await restoreSqlServerDatabase(point, manifests, files, options.sqlServer) };
}

/** Text of a failure for reports, from a SqlBatchError or anything else. */
function failureText(error: unknown): string {
  return error instanceof SqlBatchError ? error.message : describeError(error);
}

/** Server-side directories a restore writes to, and where they came from. */
export interface SqlServerRestoreDirectories {
  dataDirectory: string;
  logDirectory: string;
  /** `settings` (restoreDataDirectory / restoreLogDirectory) or `server` (InstanceDefaultDataPath / LogPath). */
  source: 'settings' | 'server';
}

/**
 * The data and log directories of a restore: the settings' `restoreDataDirectory` / `restoreLogDirectory`, else the
 * target server's default data / log paths.
 * @throws ConfigError when neither says where (the setting names are in the message); DatabaseError
 *   `DB_QUERY_FAILED` when the server cannot be asked.
 */
export async function sqlServerRestoreDirectories(session: SqlSession, db: SqlServerDatabaseSettings): Promise<SqlServerRestoreDirectories> {
  if (db.restoreDataDirectory && db.restoreLogDirectory) return { dataDirectory: db.restoreDataDirectory, logDirectory: db.restoreLogDirectory, source: 'settings' };
  let row: Record<string, unknown> | undefined;
  try {
    row = (await session.execute(DEFAULT_DATA_LOG_PATH_QUERY)).recordsets[0]?.[0];
  } catch (error) {
    throw new DatabaseError('DB_QUERY_FAILED', `reading the server's default data and log directories failed: ${failureText(error)}`);
  }
  const data = db.restoreDataDirectory ?? (typeof row?.data_path === 'string' && row.data_path.length > 0 ? row.data_path : undefined);
  const log = db.restoreLogDirectory ?? (typeof row?.log_path === 'string' && row.log_path.length > 0 ? row.log_path : undefined);
  if (!data || !log) {
    throw new ConfigError('Database.restoreDataDirectory and Database.restoreLogDirectory are not set and the server reports no default data/log directory: set them to directories the SQL Server service can write');
  }
  return { dataDirectory: data, logDirectory: log, source: db.restoreDataDirectory || db.restoreLogDirectory ? 'settings' : 'server' };
}

/** Staged dumps copied into the backup directory for the SQL Server service to read. */
export interface PlacedDumps {
  /** The backup directory as the server sees it, and as the agent sees it. */
  serverDirectory: string;
  agentDirectory: string;
  files: Array<{ staged: StagedFile; agentPath: string; serverPath: string }>;
  /** The copy of a staged file, as the server sees it (for `restoreSqlServerDatabase`'s `serverPathOf`). */
  serverPathOf(file: StagedFile): string;
  /** Removes the copies (best effort; returns what could not be removed). */
  remove(): Promise<string[]>;
}

/** `commserve-dr_restore_<SET>_<file>`: a name SQL Server and every file system accept. */
export function placedDumpName(file: StagedFile): string {
  return `commserve-dr_restore_${file.setName}_${file.file}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Copies `source` to `target` hashing the bytes; refuses a copy whose size or SHA-256 is not the staged file's. */
async function verifiedCopy(file: StagedFile, target: string): Promise<void> {
  const hash = createHash('sha256');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  await pipeline(createReadStream(file.path, { highWaterMark: 1024 * 1024 }), counter, createWriteStream(target));
  const sha256 = hash.digest('hex');
  if (bytes !== file.bytes || sha256 !== file.sha256) {
    throw new CommserveDrError('CHECKSUM_MISMATCH', `the copy of ${file.setName}/${file.file} in ${target} differs from the verified file (${bytes} bytes, SHA-256 ${sha256.slice(0, 16)}…)`);
  }
}

/**
 * Copies the verified staged dumps into the backup directory, where the SQL Server service can read them (it
 * writes its backups there in phase 1, so its service account has access; the agent reaches it directly or through
 * `agentBackupDirectory`). Each copy is re-hashed against the verified SHA-256. The staging directory itself is under
 * `--to`, which the service account usually cannot read.
 * Directory: `backupDirectory`, else the server's `InstanceDefaultBackupPath` (then assumed local to the agent).
 * @throws ConfigError (no backup directory), CommserveDrError `DUMP_NOT_WRITABLE`, `CHECKSUM_MISMATCH` (copies
 *   made so far are removed).
 */
export async function placeDumpsForServer(session: SqlSession, db: SqlServerDatabaseSettings, dumps: readonly StagedFile[]): Promise<PlacedDumps> {
  let serverDirectory = db.backupDirectory;
  if (!serverDirectory) {
    let path: unknown;
    try {
      path = (await session.execute(DEFAULT_BACKUP_PATH_QUERY)).recordsets[0]?.[0]?.path;
    } catch (error) {
      throw new DatabaseError('DB_QUERY_FAILED', `reading the server's default backup directory failed: ${failureText(error)}`);
    }
    if (typeof path !== 'string' || path.length === 0) {
      throw new ConfigError('Database.backupDirectory is not set and the server reports no default backup directory: set it to a directory the SQL Server service can read and the agent can write');
    }
    serverDirectory = path;
  }
  const agentDirectory = db.agentBackupDirectory ?? serverDirectory;
  const files: PlacedDumps['files'] = [];
  const remove = async () => {
    const left: string[] = [];
    for (const f of files) {
      await rm(f.agentPath, { force: true }).catch(() => left.push(f.agentPath));
    }
    return left;
  };
  try {
    for (const staged of dumps) {
      const name = placedDumpName(staged);
      const agentPath = join(agentDirectory, name);
      files.push({ staged, agentPath, serverPath: serverPath(serverDirectory, name) });
      try {
        await verifiedCopy(staged, agentPath);
      } catch (error) {
        if (error instanceof CommserveDrError) throw error;
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new CommserveDrError(
          'DUMP_NOT_WRITABLE',
          `cannot copy ${staged.setName}/${staged.file} into the backup directory ${agentDirectory} (${code}): the SQL Server service reads the dumps from there; set Database.backupDirectory (the server's path) and Database.agentBackupDirectory (the agent's path to it)`,
          { cause: error },
        );
      }
    }
  } catch (error) {
    await remove();
    throw error;
  }
  const byStaged = new Map(files.map((f) => [f.staged.path, f.serverPath]));
  return {
    serverDirectory,
    agentDirectory,
    files,
    serverPathOf: (f) => {
      const p = byStaged.get(f.path);
      if (!p) throw new RecoveryError('DUMP_MISSING', `${f.setName}/${f.file} was not copied for the SQL Server service`);
      return p;
    },
    remove,
  };
}

/** Suffix of the scratch database of a trial restore (`verify`): `<db>_commserve_dr_verify`. */
export const SCRATCH_DATABASE_SUFFIX = '_commserve_dr_verify';

/** Options of {@link recoverSqlServerPoint}. */
export interface RecoverSqlServerOptions {
  /** The target server (the `Database` setting, engine `sqlserver`). */
  db: SqlServerDatabaseSettings;
  /** Connection dependencies (password sources, connector — tests pass a fake session —, retries). */
  deps?: OpenSqlServerDeps;
  /** The database to create or replace (default: the setting's `database`). */
  database?: string;
  /** Drop `database` afterwards, whatever happened (the trial restore of `verify`). */
  dropAfterwards?: boolean;
  /** Called once the chain check passed, before connecting (e.g. to parse what else must be ready). */
  beforeConnect?: () => Promise<void>;
  /** `recover --at`: the moment to stop the last LOG at (see {@link SqlServerRecoveryOptions.stopAt}). */
  stopAt?: string;
}

/** What {@link recoverSqlServerPoint} did. */
export interface RecoveredSqlServer {
  /** `server:port` or `host\instance`. */
  server: string;
  restored: SqlServerRestoreResult;
  directories: SqlServerRestoreDirectories;
  /** The dumps as the server read them. */
  dumps: Array<{ set: string; file: string; serverPath: string; bytes: number; sha256: string }>;
  /** Copies or scratch database that could not be removed (warnings). */
  leftovers: string[];
}

/**
 * A SQL Server point restored from settings (see the module comment): the chain is checked from the manifests
 * before connecting, then a session to `master`, restore directories, the dumps placed in the backup directory,
 * {@link restoreSqlServerDatabase} with them, and (always) the copies removed and the session closed.
 * A CHECKDB finding is in `restored.integrity` (not thrown).
 * @throws as {@link checkSqlServerStagedDumps} (no connection made), `openSqlServerSession`,
 *   {@link sqlServerRestoreDirectories}, {@link placeDumpsForServer} and `restoreSqlServerPoint` (DatabaseError
 *   `RESTORE_FAILED` when a RESTORE DATABASE failed: the target database may be left RESTORING); RecoveryError
 *   `SCRATCH_NAME_INVALID` when `dropAfterwards` names a database that is not a `…_commserve_dr_verify` scratch.
 */
export async function recoverSqlServerPoint(
  point: RestorablePoint,
  manifests: ReadonlyMap<string, Manifest>,
  files: readonly StagedFile[],
  options: RecoverSqlServerOptions,
): Promise<RecoveredSqlServer> {
  const dumps = checkSqlServerStagedDumps(point, manifests, files);
  const database = options.database ?? options.db.database;
  if (options.dropAfterwards && (!database.toLowerCase().endsWith(SCRATCH_DATABASE_SUFFIX) || database.toLowerCase() === options.db.database.toLowerCase())) {
    throw new RecoveryError('SCRATCH_NAME_INVALID', `refusing to drop [${database}] after a trial restore: only a …${SCRATCH_DATABASE_SUFFIX} scratch database is dropped`);
  }
  await options.beforeConnect?.();
  const { session, target } = await openSqlServerSession(options.db, options.deps ?? {}, 'master');
  const leftovers: string[] = [];
  let placed: PlacedDumps | undefined;
  let restoreSent = false;
  try {
    const directories = await sqlServerRestoreDirectories(session, options.db);
    const staged = [dumps.fullDump, ...(dumps.diff ? [dumps.diff.dump] : []), ...dumps.logs.map((l) => l.dump)];
    placed = await placeDumpsForServer(session, options.db, staged);
    restoreSent = true;
    const restored = await restoreSqlServerDatabase(point, manifests, files, {
      session,
      database,
      dataDirectory: directories.dataDirectory,
      logDirectory: directories.logDirectory,
      serverPathOf: placed.serverPathOf,
      ...(options.stopAt ? { stopAt: options.stopAt } : {}),
    });
    return {
      server: targetLabel(target),
      restored,
      directories,
      dumps: placed.files.map((f) => ({ set: f.staged.setName, file: f.staged.file, serverPath: f.serverPath, bytes: f.staged.bytes, sha256: f.staged.sha256 })),
      leftovers,
    };
  } finally {
    if (options.dropAfterwards && restoreSent) {
      try {
        await session.execute(dropDatabaseStatement(database));
      } catch (error) {
        leftovers.push(`scratch database [${database}] on ${targetLabel(target)} could not be dropped: ${failureText(error)}`);
      }
    }
    if (placed) for (const left of await placed.remove()) leftovers.push(`could not remove the dump copy ${left}`);
    await session.close().catch(() => undefined);
  }
}

/**
 * Password sources and connector for a SQL Server recovery or trial restore: the given ones, plus an SSM client in
 * the hot-site's region when the setting names a `passwordParameter` and none was given.
 */
export function sqlServerDeps(settings: Settings, deps: OpenSqlServerDeps | undefined): OpenSqlServerDeps {
  const db = settings.Database;
  const ssm = deps?.ssm ?? (db.engine === 'sqlserver' && db.passwordParameter ? ssmClient(settings.HotSite) : undefined);
  return { ...deps, ...(ssm ? { ssm } : {}) };
}
