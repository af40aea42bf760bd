/**
 * Restoring the database of a point from staged, verified dumps.
 *
 * - SQLite (SPEC §7): the FULL alone is copied; FULL + DIFFERENTIAL goes through `restoreFullPlusDifferential` with
 *   the FULL's page hashes. Then `PRAGMA integrity_check`. The result is written to a work file (never the target):
 *   installing it is the caller's atomic rename ({@link rebuildDatabase}).
 * - SQL Server (SPEC §6, issue 6): the chain is checked from the manifests (DifferentialBaseGUID/LSN of the
 *   DIFFERENTIAL = BackupSetGUID/CheckpointLSN of the FULL) before any statement, then `restoreSqlServerPoint`
 *   (RESTORE … WITH NORECOVERY, REPLACE, MOVE …; the DIFFERENTIAL WITH RECOVERY; DBCC CHECKDB)
 *   ({@link restoreSqlServerDatabase}). {@link restorePointDatabase} picks one by the FULL's engine.
 *   {@link recoverSqlServerPoint} is what `recover` and `verify` run: the chain check from the manifests (no
 *   connection yet), a session to `master` from the settings, the verified staged dumps copied into the backup
 *   directory (where the SQL Server service reads them), the restore with MOVE into the restore directories, CHECKDB,
 *   and the copies removed.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { RestorablePoint } from '#core/cycles';
import { CommserveDrError, ConfigError, DatabaseError, describeError } from '#core/errors';
import type { Integrity, Manifest } from '#core/manifest';
import { RecoveryError } from '#core/recovery';
import type { Settings } from '#core/settings';
import { readDifferentialHeader, restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { PAGE_HASHES_FILE } from '#agent/engines/sqlite/sqlite-engine';
import type { SqlServerDatabaseSettings } from '#agent/engines/sqlserver/credentials';
import { differentialChainProblem, restoreSqlServerPoint, type SqlServerRestoreResult, type SqlServerRestoreTarget } from '#agent/engines/sqlserver/restore';
import { SqlBatchError, targetLabel, type SqlSession } from '#agent/engines/sqlserver/session';
import { openSqlServerSession, type OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { DEFAULT_BACKUP_PATH_QUERY, DEFAULT_DATA_LOG_PATH_QUERY, dropDatabaseStatement, serverPath } from '#agent/engines/sqlserver/tsql';
import type { StagedFile } from './fetch';

/** What {@link rebuildDatabase} produced. */
export interface RebuiltDatabase {
  /** The work file holding the rebuilt database. */
  file: string;
  bytes: number;
  sha256: string;
  /** Page records applied from the DIFFERENTIAL (0 for a FULL alone). */
  appliedPages: number;
  integrity: Integrity;
  durationMs: number;
}

/** `PRAGMA integrity_check` of a database file (read-only); a pragma that throws SQLITE_CORRUPT is `corrupt`. */
export function checkIntegrity(file: string): Integrity {
  const started = performance.now();
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const messages = (db.prepare('PRAGMA integrity_check(100)').all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
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

function staged(files: readonly StagedFile[], setName: string, name: string): StagedFile | undefined {
  return files.find((f) => f.setName === setName && f.file === name);
}

/**
 * Checks, before anything is rebuilt, that the staged dumps of the point fit together: SQLite engine, a FULL dump,
 * and for a DIFFERENTIAL that its header names the FULL's job id and the FULL's SHA-256 as its base.
 * @returns the staged FULL dump, DIFF and page hashes.
 * @throws RecoveryError `ENGINE_UNSUPPORTED`, `DUMP_MISSING`; DatabaseError `DIFF_WRONG_BASE`, `DIFF_CORRUPT`.
 */
export async function checkStagedDumps(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[]) {
  const full = manifests.get(point.full.setName)!;
  if (full.database.engine !== 'sqlite') {
    throw new RecoveryError('ENGINE_UNSUPPORTED', `${full.setName} is a ${full.database.engine} backup: restore it with SQL Server (RESTORE DATABASE … WITH NORECOVERY, then the DIFFERENTIAL WITH RECOVERY; restorePointDatabase with SQL Server options)`);
  }
  const fullDumpEntry = full.files.find((f) => f.role === 'database');
  const fullDump = fullDumpEntry && staged(files, full.setName, fullDumpEntry.name);
  if (!fullDumpEntry || !fullDump) throw new RecoveryError('DUMP_MISSING', `${full.setName}: the FULL dump was not staged`);
  const hashes = staged(files, full.setName, PAGE_HASHES_FILE);
  if (!point.differential) return { fullDump, fullSha256: fullDumpEntry.sha256, diff: undefined, hashes };
  const diffManifest = manifests.get(point.differential.setName)!;
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diff = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diff) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  const header = await readDifferentialHeader(diff.path);
  if (header.baseJobId !== full.jobId || header.baseSha256 !== fullDumpEntry.sha256) {
    throw new DatabaseError(
      'DIFF_WRONG_BASE',
      `${diffManifest.setName}/${diff.file} was taken against FULL job ${header.baseJobId} (SHA-256 ${header.baseSha256.slice(0, 12)}…), not against ${full.setName} (SHA-256 ${fullDumpEntry.sha256.slice(0, 12)}…): refusing to restore it`,
    );
  }
  return { fullDump, fullSha256: fullDumpEntry.sha256, diff, hashes };
}

/**
 * Rebuilds the point's database into `workFile` (replaced) and checks its integrity.
 * @throws as {@link checkStagedDumps} and `restoreFullPlusDifferential` (nothing is left at `workFile` on failure).
 */
export async function rebuildDatabase(point: RestorablePoint, manifests: ReadonlyMap<string, Manifest>, files: readonly StagedFile[], workFile: string): Promise<RebuiltDatabase> {
  const started = performance.now();
  const dumps = await checkStagedDumps(point, manifests, files);
  await mkdir(dirname(workFile), { recursive: true });
  for (const suffix of ['', '-wal', '-shm', '-journal']) await rm(workFile + suffix, { force: true });
  let sha256: string;
  let appliedPages = 0;
  if (dumps.diff) {
    const result = await restoreFullPlusDifferential({
      fullDump: dumps.fullDump.path,
      diffFile: dumps.diff.path,
      baseHashesFile: dumps.hashes?.path,
      fullJobId: point.full.jobId,
      target: workFile,
    });
    sha256 = result.sha256;
    appliedPages = result.appliedPages;
  } else {
    await copyFile(dumps.fullDump.path, `${workFile}.partial`);
    await rename(`${workFile}.partial`, workFile);
    sha256 = dumps.fullSha256;
  }
  const integrity = checkIntegrity(workFile);
  const { size } = statSync(workFile);
  return { file: workFile, bytes: size, sha256, appliedPages, integrity, durationMs: performance.now() - started };
}

/** How a SQL Server point is restored: the server session and directories, and how SQL Server reaches the staged files. */
export interface SqlServerRecoveryOptions extends SqlServerRestoreTarget {
  /**
   * The staged file's path as the SQL Server service sees it (default: the staged path itself — SQL Server runs on
   * this machine and its service account can read the staging directory).
   */
  serverPathOf?: (file: StagedFile) => string;
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
  if (!point.differential) return { full, fullDump, diff: undefined };
  const diffManifest = manifests.get(point.differential.setName)!;
  const problem = differentialChainProblem(full, diffManifest);
  if (problem) throw new DatabaseError('DIFF_WRONG_BASE', `refusing to restore: ${problem}`);
  const diffEntry = diffManifest.files.find((f) => f.role === 'database');
  const diffDump = diffEntry && staged(files, diffManifest.setName, diffEntry.name);
  if (!diffDump) throw new RecoveryError('DUMP_MISSING', `${diffManifest.setName}: the DIFFERENTIAL dump was not staged`);
  return { full, fullDump, diff: { manifest: diffManifest, dump: diffDump } };
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
  );
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
    const staged = [dumps.fullDump, ...(dumps.diff ? [dumps.diff.dump] : [])];
    placed = await placeDumpsForServer(session, options.db, staged);
    restoreSent = true;
    const restored = await restoreSqlServerDatabase(point, manifests, files, {
      session,
      database,
      dataDirectory: directories.dataDirectory,
      logDirectory: directories.logDirectory,
      serverPathOf: placed.serverPathOf,
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
  const ssm = deps?.ssm ?? (db.engine === 'sqlserver' && db.passwordParameter ? new SSMClient({ region: settings.HotSite.region }) : undefined);
  return { ...deps, ...(ssm ? { ssm } : {}) };
}
