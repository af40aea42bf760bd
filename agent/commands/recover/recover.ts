/**
 * `commserve-dr recover [--set SET_n] --to DIR [--firewall] [--force] [--wait] [--tier T] [--dry-run]` — hot-site
 * recovery (SPEC §6, issue 5).
 *
 * Order: preflight → list the hot-site and choose the point → plan → archive restores (or exit 3 with what is
 * pending) → download every needed file into `<to>/.commserve-dr-staging/` verifying size and SHA-256 (a
 * compressed dump decompressed on the way and its content verified too; the DIFFERENTIAL before the FULL, whose
 * download also hashes FULL + DIFF) → check the DIFFERENTIAL belongs to the FULL → rebuild the database in the staging
 * directory (the staged FULL renamed, the DIFF's pages written in place) and check its integrity (none when proven
 * bit-identical to the image the backup job's full check passed on, as its manifest records; else `PRAGMA
 * integrity_check`; `--integrity-check` forces one) → only
 * then change the target: install the database by rename, import the registry export(s), copy the firewall files
 * (only with `firewall`) → write the report (`<to>/commserve-dr-recovery-report.{json,txt}`) → remove the staging
 * directory. Any failure before the install leaves the target as it was.
 *
 * A SQL Server point (the FULL's manifest says engine `sqlserver`) goes to the SQL Server of the `Database` setting
 * instead of a file: the chain is checked from the manifests (no connection yet), every registry export is parsed,
 * then a session to `master` restores the point (`recoverSqlServerPoint`: dumps copied into the backup directory
 * for the service to read, `RESTORE … WITH NORECOVERY, REPLACE, MOVE …` into `restoreDataDirectory` /
 * `restoreLogDirectory`, the DIFFERENTIAL `WITH RECOVERY`, `DBCC CHECKDB`), then the registry and firewall steps as
 * for SQLite. The RESTORE replaces the target database in place: from then on a failure leaves the target changed
 * (the report says so).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { RestorablePoint } from '#core/cycles';
import { CommserveDrError, describeError, ExitCode, UsageError } from '#core/errors';
import type { Manifest } from '#core/manifest';
import { RecoveryError, type PlannedObject, type RecoveryPlan } from '#core/recovery';
import { checkCopiesChain, manifestChainFindings } from '#agent/hotsite/manifest-chain';
import type { Settings } from '#core/settings';
import type { SqlServerDatabaseSettings } from '#agent/engines/sqlserver/credentials';
import type { OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { targetLabel } from '#agent/engines/sqlserver/session';
import { FileHiveStore, findMachineBoundSecrets, parseRegFile, RegHive, type RegistryStore, type RegOperation } from '#agent/registry/index';
import { FIREWALL_FILES } from '#agent/commands/backup/set-files';
import { rebuildDatabase, recoverSqlServerPoint, sqlServerDeps, StreamedRebuild, type IntegrityCheckRequest, type RecoveredSqlServer } from './database';
import { stagePoint, type ArchiveOptions, type CommandResult, type StagedFile } from './fetch';
import { assertNamedManifestUsable, discoverForCommand, pointTimeOf, readCopyObject, sourceObject, unreachableWarnings, type FileFilter, type HotSiteView } from './plan';
import { choosePointFromCopies, withOlderPoints, type OlderPoint } from './choose';
import { readVerifications } from './verify';
import { runPreflight, type PreflightConfig } from './preflight';
import { choosePointAt, formatAt, type AtReport } from './at';
import { asideName, assertWritableFilePath, describeChange, describeUndone, existingTargetFiles, TargetGuard, undoInterruptedRecovery, type ExistingTargetFile } from './target';
import { faultPoint } from '#agent/faults';
import { onInterrupt, removeLeftover } from '#agent/shutdown';
import { formatRecovery, registryDiff, targetStateLine, writeRecoveryReport, type RecoveryDocument, type TargetChangesReport } from './report';

/** Staging directory name under `to`. */
export const STAGING_DIR = '.commserve-dr-staging';
/** Report file names under `to`. */
export const REPORT_JSON = 'commserve-dr-recovery-report.json';
export const REPORT_TEXT = 'commserve-dr-recovery-report.txt';
/** Registry exports read into memory for a dry run's diff are capped at this size. */
const REG_DIFF_MAX_BYTES = 64 * 1024 * 1024;

/** Options of {@link runRecover}. */
export interface RecoverOptions extends ArchiveOptions {
  settings: Settings;
  s3: S3Client;
  logger?: Logger;
  /** The SET to restore to (a DIFFERENTIAL brings its FULL); default the newest restorable point. */
  setName?: string;
  /**
   * Recover to this moment (ISO-8601 with a zone, `--at`): FULL + DIFFERENTIAL + the LOG chain up to the newest point
   * at or before it (see `at.ts`); the report states the moment reached and the gap. Not with `setName`.
   */
  at?: string;
  /** Recovery directory: staging, default targets and the report go here. */
  to: string;
  /**
   * Read the SETs from this folder only (a phase-1 destination, a USB disk, a mounted share): no cloud is contacted.
   * Default: every copy — the phase-1 destination, the hot-site's `sets/`, its `archive/` — file by file, cheapest
   * intact copy first.
   */
  from?: string;
  /** Restore the firewall files too (SPEC §6: only when asked). */
  firewall?: boolean;
  /**
   * Override preflight refusals (and install a database whose integrity check failed), with warnings; and replace
   * existing target files (database, file-backed registry hive, firewall files with `firewall`) — each moved aside to
   * `<name>.before-recovery-<UTC timestamp>`, never deleted. Without it, existing target files refuse the recovery.
   */
  force?: boolean;
  /**
   * SQLite integrity check of the rebuilt database (`--integrity-check`): `auto` (default) runs none when the rebuilt
   * file is proven bit-identical (SHA-256) to an image on which the backup job's full `PRAGMA integrity_check` passed —
   * the manifest records that image's SHA-256 (`integrity.checkedSha256`) — and the full `PRAGMA integrity_check`
   * otherwise; `quick` always runs `PRAGMA quick_check`; `full` always the full check (`chooseIntegrityCheck`).
   */
  integrityCheck?: IntegrityCheckRequest;
  /** Show the plan and the registry changes; change nothing (no restore requested, nothing downloaded). */
  dryRun?: boolean;
  /** Database file to create or replace (default `<to>/commserv.db`). */
  targetDb?: string;
  /** Registry store to import into (default a file hive at `<to>/registry/commserv_hive.reg`). */
  registryStore?: RegistryStore;
  /** Where firewall files go (default `<to>/firewall`). */
  firewallDir?: string;
  /** Preflight detection (default: see `preflight.ts`). */
  preflight?: PreflightConfig;
  /** Keep the staging directory after a successful recovery (default: removed). */
  keepStaging?: boolean;
  /**
   * How a SQL Server point reaches the target server of `settings.Database` (engine `sqlserver`): password sources
   * (default the process environment, and an SSM client in the hot-site's region when `passwordParameter` is set),
   * the connector (tests pass a fake session), retries (default one attempt).
   */
  sqlServer?: OpenSqlServerDeps;
}

/** What the report records of a SQL Server restore (the `sqlServer` member of the JSON document). */
export interface SqlServerRecoveryReport {
  server: string;
  database: string;
  /** The database name in the FULL's manifest (the source CommServe). */
  sourceDatabase: string;
  dataDirectory: string;
  logDirectory: string;
  directoriesFrom: 'settings' | 'server';
  /** `MOVE` of every logical file. */
  moves: Array<{ logicalName: string; physicalName: string }>;
  /** The dumps as the server read them (copies in the backup directory, removed afterwards). */
  dumps: Array<{ set: string; file: string; serverPath: string; bytes: number; sha256: string }>;
  /** Every statement sent, in order. */
  statements: string[];
  integrity: string;
  integrityMessages: string[];
  durationMs: number;
}

/** The recovery document with the SQL Server details (null for an SQLite point). */
export type RecoveryDocumentWithSqlServer = RecoveryDocument & { sqlServer?: SqlServerRecoveryReport | null; pointInTime?: AtReport | null };

/**
 * A recovery document with every key present, as a run starts (status `failed` until it ends otherwise; `exitCode` 1
 * until `finish` sets it): success and failure print the same shape.
 */
function recoveryDocument(init: Pick<RecoveryDocument, 'dryRun' | 'target' | 'durationsMs'>): RecoveryDocumentWithSqlServer {
  return {
    command: 'recover',
    exitCode: ExitCode.Failure,
    status: 'failed',
    dryRun: init.dryRun,
    startedAt: new Date().toISOString(),
    endedAt: '',
    target: init.target,
    point: null,
    pointInTime: null,
    passedOver: [],
    copies: null,
    plan: null,
    preflight: null,
    pending: [],
    database: null,
    registry: null,
    firewall: null,
    checksums: [],
    machineBoundSecrets: [],
    registryDiff: null,
    warnings: [],
    error: null,
    durationsMs: init.durationsMs,
    reportFiles: null,
    sqlServer: null,
    targetChanges: { movedAside: [], installed: [], undone: [], left: [], earlierInterruptedUndone: [] },
  };
}

/**
 * The `recover --json` document of a recover that stopped before it could start (a usage error such as an empty
 * `--to`, settings that do not load): the same keys as every other recover document, status `failed`, the error and
 * the exit code; nothing was read or changed.
 * @param to the `--to` directory as given (resolved), or null when there is none.
 */
export function failedRecoveryDocument(error: { code: string; message: string }, exitCode: number, to: string | null): RecoveryDocumentWithSqlServer {
  const now = new Date().toISOString();
  const doc = recoveryDocument({ dryRun: false, target: { directory: to ?? '', database: '', registry: '', firewallDirectory: null }, durationsMs: {} });
  return { ...doc, exitCode, endedAt: now, error: { ...error } };
}

/**
 * The `Database` setting as the target of a SQL Server recovery.
 * @throws RecoveryError `ENGINE_UNSUPPORTED` when the settings name no SQL Server.
 */
function sqlServerTarget(settings: Settings, setName: string): SqlServerDatabaseSettings {
  if (settings.Database.engine !== 'sqlserver') {
    throw new RecoveryError(
      'ENGINE_UNSUPPORTED',
      `${setName} is a SQL Server backup, but the settings' Database is ${settings.Database.engine}: set Database to the target SQL Server (engine "sqlserver", server, database, user, password source, restoreDataDirectory, restoreLogDirectory)`,
    );
  }
  return settings.Database;
}

/** `SQL Server cs01:1433, database [commserv]`. */
function sqlServerLabel(db: SqlServerDatabaseSettings): string {
  return `SQL Server ${targetLabel({ server: db.server, port: db.port, database: db.database })}, database [${db.database}]`;
}

function sqlServerReport(out: RecoveredSqlServer, sourceDatabase: string): SqlServerRecoveryReport {
  return {
    server: out.server,
    database: out.restored.database,
    sourceDatabase,
    dataDirectory: out.directories.dataDirectory,
    logDirectory: out.directories.logDirectory,
    directoriesFrom: out.directories.source,
    moves: out.restored.moves.map((m) => ({ ...m })),
    dumps: out.dumps,
    statements: out.restored.statements,
    integrity: out.restored.integrity.status,
    integrityMessages: out.restored.integrity.messages,
    durationMs: Math.round(out.restored.durationMs),
  };
}

/** Text lines of a SQL Server restore for the report. */
export function formatSqlServerRecovery(r: SqlServerRecoveryReport): string {
  const lines = [`SQL Server: ${r.server}, database [${r.database}] restored${r.sourceDatabase !== r.database ? ` (source database ${r.sourceDatabase})` : ''}; DBCC CHECKDB ${r.integrity}`];
  for (const m of r.moves) lines.push(`  MOVE ${m.logicalName} → ${m.physicalName}`);
  for (const d of r.dumps) lines.push(`  from ${d.set}/${d.file} (read by the server as ${d.serverPath})`);
  for (const m of r.integrityMessages.slice(0, 20)) lines.push(`  CHECKDB: ${m}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Which files recovery reads: the dumps of every SET; registry (and, when asked, firewall) of the newest. Not the
 * FULL's page hashes: they serve the next DIFFERENTIAL at the source, not a restore (the DIFF's own header and
 * trailer and the SHA-256s of the manifests prove the FULL + DIFF chain).
 */
function recoveryFilter(firewall: boolean): FileFilter {
  return (_manifest, file, isPointSet) => {
    if (file.role === 'database') return true;
    if (file.role === 'registry') return isPointSet;
    if (file.role === 'firewall') return isPointSet && firewall;
    return false;
  };
}

/** Registry files in import order: the CommServe hive export first, then module exports. */
function registryFiles(manifest: Manifest): Manifest['files'] {
  const reg = manifest.files.filter((f) => f.role === 'registry');
  return [...reg.filter((f) => f.name.startsWith('commserv_hive')), ...reg.filter((f) => !f.name.startsWith('commserv_hive'))];
}

function pointOf(point: RestorablePoint, view: HotSiteView): RecoveryDocument['point'] {
  return {
    sets: point.sets.map((s) => s.setName),
    full: point.full.setName,
    differential: point.differential?.setName ?? null,
    pointInTime: pointTimeOf(view, point),
  };
}

/**
 * Dry run: what importing the point SET's registry export(s) would change in the target hive. Only registry
 * objects readable now are read (into memory, verified against the manifest); null when that is not possible.
 */
async function dryRunRegistryDiff(options: RecoverOptions, view: HotSiteView, point: RestorablePoint, store: RegistryStore, warnings: string[]) {
  const entry = view.get(point.jobId)!;
  if (!entry.manifest) {
    warnings.push(`registry diff not available: the manifest of ${entry.listed.setName} is archived and not restored yet`);
    return null;
  }
  if (!(store instanceof FileHiveStore)) {
    warnings.push(`registry diff not available for the ${store.kind} store`);
    return null;
  }
  const operations: RegOperation[] = [];
  for (const file of registryFiles(entry.manifest)) {
    const object = sourceObject(entry.listed, file.name)!;
    let bytes: Buffer;
    try {
      bytes = await readCopyObject(view, object, REG_DIFF_MAX_BYTES);
    } catch (error) {
      warnings.push(`registry diff not available: ${describeError(error)}`);
      return null;
    }
    if (bytes.length !== file.size || createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new CommserveDrError('CHECKSUM_MISMATCH', `${object.key}: size or SHA-256 differs from the manifest: the object was changed or damaged`);
    }
    operations.push(...parseRegFile(bytes, file.name, { ansiCodePage: registryCodePage(store, options.settings) }).operations);
  }
  const before = existsSync(store.hiveFile) ? await store.load() : new RegHive();
  return registryDiff(before, operations);
}

/**
 * The ANSI code page REGEDIT4 registry exports are read in during a recovery: the file hive's own (when it was
 * given one), else the `AnsiCodePage` setting. The staged hive and the pre-install parse use the same one as the
 * target store, so what is installed is what a direct import would have given.
 */
function registryCodePage(store: RegistryStore, settings: Settings): number {
  return (store instanceof FileHiveStore ? store.ansiCodePage : undefined) ?? settings.AnsiCodePage;
}

/**
 * Runs a hot-site recovery (see the module comment).
 * @returns the report document, its text and the exit code: 0 recovered (or planned, dry run); 3 archive restores
 *   pending (`wait` not set); 2 unknown SET; 1 refused by the preflight or failed (bad checksum, malformed manifest,
 *   unsafe path, DIFFERENTIAL of another FULL, integrity check failed …) — in every failure case before the install
 *   the target is unchanged.
 */
export async function runRecover(options: RecoverOptions): Promise<CommandResult<RecoveryDocumentWithSqlServer>> {
  const started = performance.now();
  if (typeof options.to !== 'string' || options.to.trim() === '') {
    throw new UsageError('--to names no directory: give the recovery directory explicitly (it is never taken to be the current directory)');
  }
  const to = resolve(options.to);
  const toExisted = existsSync(to);
  const stagingDir = join(to, STAGING_DIR);
  const targetDb = resolve(options.targetDb ?? join(to, 'commserv.db'));
  const store = options.registryStore ?? new FileHiveStore({ hiveFile: join(to, 'registry', 'commserv_hive.reg'), ansiCodePage: options.settings.AnsiCodePage });
  const ansiCodePage = registryCodePage(store, options.settings);
  const firewallDir = resolve(options.firewallDir ?? join(to, 'firewall'));
  const bucket = options.settings.HotSite.bucket;
  const durations: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      durations[name] = Math.round(performance.now() - t);
    }
  };
  const doc = recoveryDocument({
    dryRun: options.dryRun ?? false,
    target: {
      directory: to,
      database: targetDb,
      registry: store instanceof FileHiveStore ? `file hive ${store.hiveFile}` : store.kind,
      firewallDirectory: options.firewall ? firewallDir : null,
    },
    durationsMs: durations,
  });
  const changes = doc.targetChanges as TargetChangesReport;
  const guard = new TargetGuard(to);
  let installed = false;
  /** The report text, with the SQL Server restore (if any) after the database line. */
  const text = () => {
    const base = doc.pointInTime ? formatRecovery(doc).replace(/^(Point: .*)$/m, `$1\n${formatAt(doc.pointInTime)}`) : formatRecovery(doc);
    if (!doc.sqlServer) return base;
    const lines = base.split('\n');
    const at = lines.findIndex((l) => l.startsWith('Database: '));
    lines.splice(at < 0 ? Math.max(lines.length - 2, 0) : at + 1, 0, formatSqlServerRecovery(doc.sqlServer).trimEnd());
    return lines.join('\n');
  };
  const finish = async (exitCode: ExitCode): Promise<CommandResult<RecoveryDocumentWithSqlServer>> => {
    durations.total = Math.round(performance.now() - started);
    doc.endedAt = new Date().toISOString();
    doc.exitCode = exitCode;
    if (doc.status === 'recovered' || changes.left.length > 0 || doc.sqlServer || (installed && doc.status === 'failed' && !changes.undone.length)) {
      try {
        await mkdir(to, { recursive: true });
        await keepEarlierReports();
        await writeRecoveryReport(doc, join(to, REPORT_JSON), join(to, REPORT_TEXT));
        if (doc.sqlServer) await writeFile(join(to, REPORT_TEXT), text());
      } catch (error) {
        doc.warnings.push(`could not write the report into ${to}: ${describeError(error)}`);
      }
    }
    return { document: doc, text: text(), exitCode };
  };

  /** Undoes every change made to the target (failure or interruption) and says what was done in the document. */
  const undo = async () => {
    const result = await guard.rollback();
    changes.undone.push(...result.undone.map(describeUndone));
    changes.left.push(...result.left.map((l) => `${describeChange(l)} (${l.reason})`));
    changes.movedAside = [];
    changes.installed = [];
    if (!options.keepStaging) await rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
    if (!toExisted) await removeIfEmpty(to);
  };
  const unregister = onInterrupt(async () => {
    const staged = existsSync(stagingDir);
    await undo();
    return `recovery into ${to} interrupted: ${targetStateLine(doc)}${staged ? await stagingAfterInterrupt(stagingDir, options.keepStaging ?? false) : ''}`;
  });

  try {
    const earlier = await undoInterruptedRecovery(to);
    if (earlier) {
      changes.earlierInterruptedUndone.push(...earlier.undone.map(describeUndone));
      for (const l of earlier.left) doc.warnings.push(`an earlier recovery into ${to} was killed; this could not be undone: ${describeChange(l)} (${l.reason})`);
    }
    if (!doc.dryRun && existsSync(stagingDir)) {
      await rm(stagingDir, { recursive: true, force: true });
      changes.staleStagingRemoved = stagingDir;
      doc.warnings.push(`removed ${stagingDir}: the staging folder (downloads only) an earlier interrupted recovery left`);
    }
    doc.preflight = await timed('preflight', () => runPreflight(to, options.preflight, options.force ?? false));
    doc.warnings.push(...doc.preflight.warnings);
    if (!doc.preflight.passed && !doc.dryRun) {
      doc.status = 'refused';
      doc.error = { code: 'PREFLIGHT_REFUSED', message: `refusing to recover onto this machine: ${doc.preflight.findings.map((f) => f.detail).join('; ')} (use --force to override)` };
      return await finish(ExitCode.Failure);
    }

    const view = await timed('discover', () => discoverForCommand(options));
    doc.copies = { read: [...view.copies.values()].filter((c) => !view.unreachable.some((u) => u.copy === c.kind)).map((c) => c.label), unreachable: view.unreachable.map((u) => `${u.label} (${u.reason})`) };
    doc.warnings.push(...unreachableWarnings(view));
    assertNamedManifestUsable(view, options.setName);
    if (options.at !== undefined && options.setName !== undefined) throw new UsageError('--at and --set name two different points: give one of them');
    const filter = recoveryFilter(options.firewall ?? false);
    const otherPointCommand = `commserve-dr recover --set {SET} --to ${to}${options.from ? ` --from ${resolve(options.from)}` : ''}`;
    let point: RestorablePoint;
    if (options.at !== undefined) {
      // Point in time: the newest LOG point at or before the moment asked (at.ts); no default-point choice.
      const chosenAt = choosePointAt(view, options.at);
      doc.pointInTime = chosenAt.at;
      point = chosenAt.point;
    } else {
      doc.pointInTime = null;
      const choice = await timed('choose', () => choosePointFromCopies(view, options.setName, filter, readVerifications(options.settings), otherPointCommand));
      point = choice.point;
      doc.passedOver = choice.passedOver;
      doc.warnings.push(...choice.warnings);
    }
    doc.point = pointOf(point, view);
    for (const v of view.values()) {
      if (v.manifestState === 'invalid' && v.summary.jobId > point.jobId) doc.warnings.push(`${v.listed.setName} skipped: ${v.problems.join('; ')}`);
    }
    // The manifest hash chain (issue 21): a point whose manifest was replaced after the fact is refused unless --force.
    // Checked where the hot-site was reached (never with --from: no cloud).
    const hotSiteReached = view.copies.has('hot-site') && !view.unreachable.some((u) => u.copy === 'hot-site');
    const chainRefusal = manifestChainFindings(await checkCopiesChain({ hotSite: hotSiteReached ? { s3: options.s3, bucket } : null }), point.sets.map((s) => s.setName));
    if (chainRefusal.length > 0) {
      if (!options.force) {
        doc.error = { code: 'MANIFEST_CHAIN_BROKEN', message: `refusing to recover ${point.sets.map((s) => s.setName).join(' + ')}: ${chainRefusal.join('; ')} (name an earlier point, or use --force to recover it anyway)` };
        return await finish(ExitCode.Failure);
      }
      doc.warnings.push(...chainRefusal.map((f) => `--force: ${f}`));
    }
    const knownFull = view.get(point.full.jobId)?.manifest;
    if (knownFull?.database.engine === 'sqlserver') {
      if (options.settings.Database.engine === 'sqlserver') doc.target.database = sqlServerLabel(options.settings.Database);
      else doc.warnings.push(`${point.full.setName} is a SQL Server backup: the settings' Database must name the target SQL Server to restore it`);
    }

    const existing = await checkTargetFiles({ targetDb: knownFull?.database.engine === 'sqlserver' ? undefined : targetDb, store, firewallDir: options.firewall ? firewallDir : undefined });
    if (existing.length > 0) {
      const list = existing.map((f) => f.path).join(', ');
      if (doc.dryRun) {
        doc.warnings.push(options.force ? `a real run would move aside (never delete): ${list}` : `a real run would be refused: the target holds ${list} (--force moves them aside)`);
      } else if (!options.force) {
        doc.status = 'refused';
        doc.error = {
          code: 'TARGET_EXISTS',
          message: `refusing to replace what is in the target: ${list}. Nothing was changed. Recover into an empty directory, or add --force to move these aside (renamed <name>.before-recovery-<UTC timestamp>, never deleted)`,
        };
        return await finish(ExitCode.Failure);
      }
    }

    if (doc.dryRun) {
      const outcome = await timed('plan', () => stagePoint({ ...options, view, point, stagingDir, filter, checkChain: true, planOnly: true, deepCheck: true }));
      doc.plan = outcome.plan;
      doc.warnings.push(...skippedCopyWarnings(outcome.plan));
      doc.registryDiff = await timed('registryDiff', () => dryRunRegistryDiff(options, view, point, store, doc.warnings));
      if (!doc.preflight.passed) doc.warnings.push(`a real run would be refused: ${doc.preflight.findings.map((f) => f.detail).join('; ')}`);
      doc.status = 'planned';
      return await finish(ExitCode.Success);
    }

    // The FULL's download also computes the SHA-256 of FULL + DIFF (SQLite), so the rebuild does not read it again;
    // that one SHA-256 also verifies the FULL's bytes (one hash per byte, issue 15; a mismatch = that copy damaged).
    const streamed = new StreamedRebuild(point, { verifyFullThroughImage: true });
    const outcome = await timed('stage', () =>
      stagePoint({ ...options, view, point, stagingDir, filter, checkChain: true, logger: options.logger, syncFiles: 'during', observe: streamed.observe }).catch(async (error: unknown) => {
        throw await withOlderPoints(error, view, point, filter, otherPointCommand);
      }),
    );
    doc.plan = outcome.plan;
    doc.warnings.push(...skippedCopyWarnings(outcome.plan));
    doc.point = pointOf(point, view);
    if (outcome.kind === 'pending') {
      doc.status = 'pending';
      doc.pending = outcome.pending;
      return await finish(ExitCode.CompletedWithErrors);
    }
    durations.archiveRestore = Math.round(outcome.durationsMs.archiveRestore);
    durations.download = Math.round(outcome.durationsMs.download);
    doc.checksums = outcome.files.map((f) => ({
      set: f.setName,
      file: f.file,
      bytes: f.bytes,
      sha256: f.sha256,
      verified: true as const,
      ...(f.compressed ? { stored: { algorithm: f.compressed.algorithm, bytes: f.compressed.bytes, sha256: f.compressed.sha256 } } : {}),
      ...(f.verifiedThrough ? { verifiedThrough: f.verifiedThrough } : {}),
    }));

    const pointManifest = outcome.manifests.get(point.sets.at(-1)!.setName)!;
    const regFiles = registryFiles(pointManifest)
      .map((f) => outcome.files.find((s) => s.setName === pointManifest.setName && s.file === f.name))
      .filter((f): f is StagedFile => f !== undefined);
    // Every registry export is parsed before the target changes: a malformed one fails here, target untouched.
    const parseRegistry = () => Promise.all(regFiles.map(async (f) => ({ f, reg: parseRegFile(await readFile(f.path), f.file, { ansiCodePage }) })));
    let parsed: Awaited<ReturnType<typeof parseRegistry>> = [];
    const fullManifest = outcome.manifests.get(point.full.setName)!;

    if (fullManifest.database.engine === 'sqlserver') {
      // SQL Server: chain check (manifests), registry parsed, then the RESTORE on the server replaces the target.
      const db = sqlServerTarget(options.settings, point.full.setName);
      doc.target.database = sqlServerLabel(db);
      let out: RecoveredSqlServer;
      try {
        out = await timed('database', () =>
          recoverSqlServerPoint(point, outcome.manifests, outcome.files, {
            db,
            deps: sqlServerDeps(options.settings, options.sqlServer),
            beforeConnect: async () => {
              parsed = await parseRegistry();
            },
            ...(doc.pointInTime?.stopAt ? { stopAt: doc.pointInTime.stopAt } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof CommserveDrError && error.code === 'RESTORE_FAILED') {
          installed = true;
          doc.warnings.push(`the RESTORE of [${db.database}] failed after it started: the database may be left RESTORING or SINGLE_USER on ${doc.target.database}; fix the cause and run the recovery again`);
        }
        throw error;
      }
      installed = true;
      doc.sqlServer = sqlServerReport(out, fullManifest.database.name);
      const newest = out.dumps.at(-1)!;
      doc.database = {
        file: `${doc.target.database} (from ${out.dumps.map((d) => `${d.set}/${d.file}`).join(' + ')})`,
        bytes: out.dumps.reduce((sum, d) => sum + d.bytes, 0),
        sha256: newest.sha256,
        appliedPages: 0,
        integrity: out.restored.integrity.status,
        integrityCheck: 'full',
        integrityCheckReason: 'DBCC CHECKDB on the server',
        integrityMessages: out.restored.integrity.messages,
      };
      doc.warnings.push(...out.leftovers, ...(out.restored.warnings ?? []));
      if (out.restored.integrity.status !== 'ok') {
        const message = `the restored database [${out.restored.database}] fails DBCC CHECKDB (${out.restored.integrity.status}): ${out.restored.integrity.messages.slice(0, 3).join('; ')}`;
        if (!options.force) throw new CommserveDrError('RESTORE_INTEGRITY_FAILED', `${message} (the database is restored on the server; the registry and firewall files were not restored: --force continues anyway)`);
        doc.warnings.push(`--force: ${message}; recovery continued`);
      }
    } else {
      // SQLite: everything below the staging directory so far. Rebuild and check before touching the target.
      const work = join(stagingDir, 'restore', 'commserv.db');
      const rebuilt = await timed('database', () => rebuildDatabase(point, outcome.manifests, outcome.files, work, { integrityCheck: options.integrityCheck ?? 'auto', streamed }));
      durations.rebuild = rebuilt.durationsMs.rebuild;
      durations.integrity = rebuilt.durationsMs.integrity;
      doc.database = {
        file: targetDb,
        bytes: rebuilt.bytes,
        sha256: rebuilt.sha256,
        appliedPages: rebuilt.appliedPages,
        ...(rebuilt.appliedLogPages ? { appliedLogPages: rebuilt.appliedLogPages } : {}),
        integrity: rebuilt.integrity.status,
        integrityCheck: rebuilt.integrityCheck.mode,
        integrityCheckReason: rebuilt.integrityCheck.reason,
        integrityMessages: rebuilt.integrity.messages,
      };
      if (rebuilt.integrity.status !== 'ok') {
        const message = `the rebuilt database fails PRAGMA ${rebuilt.integrityCheck.mode === 'quick' ? 'quick_check' : 'integrity_check'}: ${rebuilt.integrity.messages.slice(0, 3).join('; ')}`;
        if (!options.force) throw new CommserveDrError('RESTORE_INTEGRITY_FAILED', `${message} (the target was not changed; --force installs it anyway)`);
        doc.warnings.push(`--force: ${message}; installed anyway`);
      }
      parsed = await parseRegistry();
    }
    // A file hive is built in the staging directory first (installed below by rename, like the database).
    const stagedHive = store instanceof FileHiveStore && parsed.length > 0 ? new FileHiveStore({ hiveFile: join(stagingDir, 'registry', basename(store.hiveFile)), ansiCodePage }) : undefined;
    const importRegistry = async (into: RegistryStore) => {
      const imported: NonNullable<RecoveryDocument['registry']>['imported'] = [];
      for (const { f, reg } of parsed) {
        const result = await into.importFile(f.path);
        imported.push({ set: f.setName, file: f.file, operations: result.operations });
        doc.machineBoundSecrets.push(...findMachineBoundSecrets(reg.operations).map((s) => ({ ...s, file: f.file })));
      }
      doc.registry = { store: doc.target.registry, imported };
      if (regFiles.length === 0) doc.warnings.push(`${pointManifest.setName} holds no registry export: the registry was not restored`);
    };
    if (stagedHive) {
      await mkdir(dirname(stagedHive.hiveFile), { recursive: true });
      await timed('registry', () => importRegistry(stagedHive));
    }

    if (fullManifest.database.engine !== 'sqlserver') {
      // Install: every existing file moved aside first (never deleted), then the rebuilt database by rename.
      await timed('install', async () => {
        for (const suffix of ['', '-wal', '-shm', '-journal']) await recordAside(await guard.moveAside(targetDb + suffix), targetDb + suffix);
        await guard.install(join(stagingDir, 'restore', 'commserv.db'), targetDb);
        changes.installed.push(targetDb);
      });
      installed = true;
      faultPoint('install');
    }
    await timed('registry', async () => {
      if (stagedHive && store instanceof FileHiveStore) {
        await recordAside(await guard.moveAside(store.hiveFile), store.hiveFile);
        await guard.install(stagedHive.hiveFile, store.hiveFile);
        changes.installed.push(store.hiveFile);
      } else if (!stagedHive) {
        await importRegistry(store);
      }
    });
    await timed('firewall', async () => {
      const available = pointManifest.files.filter((f) => f.role === 'firewall').map((f) => f.name);
      if (!options.firewall) {
        doc.firewall = { restored: false, copied: [], skipped: available, note: `not restored (not selected; ${available.length ? `${available.join(', ')} available with --firewall` : 'none in the SET'})` };
        return;
      }
      const copied: string[] = [];
      for (const f of outcome.files.filter((s) => s.role === 'firewall' && (FIREWALL_FILES as readonly string[]).includes(s.file))) {
        const target = join(firewallDir, f.file);
        await recordAside(await guard.moveAside(target), target);
        await guard.install(f.path, target);
        changes.installed.push(target);
        copied.push(f.file);
      }
      doc.firewall = { restored: true, copied, skipped: [], note: copied.length ? `restored ${copied.join(', ')} into ${firewallDir}` : 'selected, but the SET holds no firewall file' };
    });
    if (doc.preflight.forced) doc.warnings.push('recovery ran with --force despite the preflight findings above');
    await guard.commit();
    if (!options.keepStaging) await rm(stagingDir, { recursive: true, force: true });
    doc.status = 'recovered';
    return await finish(ExitCode.Success);
  } catch (error) {
    const e = error instanceof CommserveDrError ? error : undefined;
    doc.status = 'failed';
    doc.error = { code: e?.code ?? 'ERROR', message: describeError(error), ...copyFindings(e) };
    options.logger?.error({ code: doc.error.code }, doc.error.message);
    const sqlServerChanged = installed && fullEngineIsSqlServer(doc);
    await undo();
    if (e?.code === 'TARGET_WRITE_FAILED') doc.error.message = targetWriteMessage(to, e, targetStateLine(doc));
    if (sqlServerChanged && e?.code !== 'RESTORE_FAILED') doc.warnings.push('the SQL Server database was RESTOREd before the failure; the registry or firewall step did not complete');
    if (!sqlServerChanged) installed = false;
    return await finish(e?.exitCode ?? ExitCode.Failure);
  } finally {
    unregister();
  }

  /**
   * An earlier recovery's report in the target is moved aside like the other files (`<name>.before-recovery-<UTC
   * timestamp>`, never overwritten or deleted) before this run's report is written, and named in it.
   */
  async function keepEarlierReports(): Promise<void> {
    for (const name of [REPORT_JSON, REPORT_TEXT]) {
      const path = join(to, name);
      if (!existsSync(path)) continue;
      const movedTo = asideName(path, guard.stamp);
      await rename(path, movedTo);
      changes.movedAside.push({ path, movedTo });
    }
  }

  /** Records a file moved aside in the document. */
  async function recordAside(movedTo: string | undefined, path: string): Promise<void> {
    if (movedTo) changes.movedAside.push({ path, movedTo });
  }
}

/**
 * The message of a recovery whose target cannot be written (disk full, read-only…): the target directory, the file
 * and the reason, that the copies were not at fault (none was skipped or blamed for it), what became of the target
 * (`state`, said after the roll-back), and what to do.
 */
function targetWriteMessage(to: string, error: CommserveDrError, state: string): string {
  const full = ['ENOSPC', 'EDQUOT'].includes(String(error.context.fsCode));
  const fix = full ? `free space in ${to}, or recover into a directory with more room` : `make ${to} writable, or recover into another directory`;
  return `the recovery target ${to} could not be written: ${error.message}. The copies read were not at fault (none was skipped for this). ${state} ${fix[0].toUpperCase()}${fix.slice(1)}.`;
}

/** The copies found damaged and the older points offered, when the error is about a point without an intact copy. */
function copyFindings(e: CommserveDrError | undefined): Pick<NonNullable<RecoveryDocument['error']>, 'skipped' | 'olderPoints'> {
  if (!e) return {};
  const { skipped, olderPoints } = e.context as { skipped?: PlannedObject['skipped']; olderPoints?: OlderPoint[] };
  return { ...(skipped ? { skipped } : {}), ...(olderPoints ? { olderPoints } : {}) };
}

/** One warning per copy passed over because it is damaged or missing, naming it (SPEC §6.1). */
function skippedCopyWarnings(plan: RecoveryPlan): string[] {
  return plan.objects.flatMap((o) => o.skipped.map((k) => `${k.copy} copy ${k.key} of ${o.setName}/${o.file} skipped (${k.detail}); served from the ${o.copy} copy ${o.key}`));
}

/** Whether the document is of a SQL Server restore (the RESTORE replaced the database in place). */
function fullEngineIsSqlServer(doc: RecoveryDocumentWithSqlServer): boolean {
  return doc.sqlServer !== null && doc.sqlServer !== undefined ? true : doc.target.database.startsWith('SQL Server');
}

/** Removes `dir` when it is empty (a target directory the failed recovery created). */
async function removeIfEmpty(dir: string): Promise<void> {
  try {
    if ((await readdir(dir)).length === 0) await rmdir(dir);
  } catch {
    // not there, or not empty: leave it
  }
}

/**
 * The target files a recovery would replace that exist now, after checking each target path can be written.
 * @param targetDb the SQLite database file (undefined for a SQL Server point).
 * @param firewallDir where firewall files go (undefined when not restored).
 * @throws CommserveDrError `TARGET_PATH_INVALID` (e.g. a directory where the hive file should be, a parent that is a file).
 */
async function checkTargetFiles(targets: { targetDb?: string; store: RegistryStore; firewallDir?: string }): Promise<ExistingTargetFile[]> {
  const candidates: ExistingTargetFile[] = [];
  if (targets.targetDb) {
    await assertWritableFilePath(targets.targetDb, 'the database file');
    for (const suffix of ['', '-wal', '-shm', '-journal']) candidates.push({ path: targets.targetDb + suffix, role: 'database' });
  }
  if (targets.store instanceof FileHiveStore) {
    await assertWritableFilePath(targets.store.hiveFile, 'the registry hive');
    candidates.push({ path: targets.store.hiveFile, role: 'registry' });
  }
  if (targets.firewallDir) {
    for (const name of FIREWALL_FILES) {
      await assertWritableFilePath(join(targets.firewallDir, name), 'the firewall file');
      candidates.push({ path: join(targets.firewallDir, name), role: 'firewall' });
    }
  }
  return existingTargetFiles(candidates);
}

/**
 * Removes the staging directory of an interrupted recovery and says what happened to it (see {@link removeLeftover}).
 * @returns the sentence for the interruption line (leading space), e.g. " Its staging directory … was removed."
 */
async function stagingAfterInterrupt(stagingDir: string, keepStaging: boolean): Promise<string> {
  if (keepStaging) return ` Its staging directory ${stagingDir} stays (--keep-staging).`;
  const left = await removeLeftover(stagingDir);
  return left === null
    ? ` Its staging directory ${stagingDir} was removed.`
    : ` Its staging directory ${stagingDir} could not be removed (${left}): remove it by hand (the next recovery into the same directory removes it too).`;
}
