/**
 * `commserve-dr recover [--set SET_n] --to DIR [--firewall] [--force] [--wait] [--tier T] [--dry-run]` — hot-site
 * recovery (SPEC §6, issue 5).
 *
 * Order: preflight → list the hot-site and choose the point → plan → archive restores (or exit 3 with what is
 * pending) → download every needed file into `<to>/.commserve-dr-staging/` verifying size and SHA-256 → check the
 * DIFFERENTIAL belongs to the FULL → rebuild the database in the staging directory and check its integrity → only
 * then change the target: install the database by rename, import the registry export(s), copy the firewall files
 * (only with `firewall`) → write the report (`<to>/commserve-dr-recovery-report.{json,txt}`) → remove the staging
 * directory. Any failure before the install leaves the target as it was.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { RestorablePoint } from '#core/cycles';
import { CommserveDrError, describeError, ExitCode } from '#core/errors';
import type { Manifest } from '#core/manifest';
import { choosePoint } from '#core/recovery';
import type { Settings } from '#core/settings';
import { readSmallObject } from '#agent/hotsite/download';
import { FileHiveStore, findMachineBoundSecrets, parseRegFile, RegHive, type RegistryStore, type RegOperation } from '#agent/registry/index';
import { FIREWALL_FILES } from '#agent/commands/backup/set-files';
import { rebuildDatabase } from './database';
import { stagePoint, type ArchiveOptions, type CommandResult, type StagedFile } from './fetch';
import { assertNamedManifestUsable, discoverHotSite, sourceObject, type FileFilter, type HotSiteView } from './plan';
import { runPreflight, type PreflightConfig } from './preflight';
import { formatRecovery, registryDiff, writeRecoveryReport, type RecoveryDocument } from './report';

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
  /** Recovery directory: staging, default targets and the report go here. */
  to: string;
  /** Restore the firewall files too (SPEC §6: only when asked). */
  firewall?: boolean;
  /** Override preflight refusals (and install a database whose integrity check failed), with warnings. */
  force?: boolean;
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
}

/** Which files recovery reads: dumps and page hashes of every SET; registry (and, when asked, firewall) of the newest. */
function recoveryFilter(firewall: boolean): FileFilter {
  return (_manifest, file, isPointSet) => {
    if (file.role === 'database' || file.role === 'sidecar') return true;
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

async function installFile(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  try {
    await rename(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(source, `${target}.partial`);
    await rename(`${target}.partial`, target);
  }
}

function pointOf(point: RestorablePoint, view: HotSiteView): RecoveryDocument['point'] {
  return {
    sets: point.sets.map((s) => s.setName),
    full: point.full.setName,
    differential: point.differential?.setName ?? null,
    pointInTime: view.get(point.jobId)?.manifest?.endTime ?? null,
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
      bytes = await readSmallObject(options.s3, options.settings.HotSite.bucket, object.key, REG_DIFF_MAX_BYTES);
    } catch (error) {
      warnings.push(`registry diff not available: ${describeError(error)}`);
      return null;
    }
    if (bytes.length !== file.size || createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new CommserveDrError('CHECKSUM_MISMATCH', `${object.key}: size or SHA-256 differs from the manifest: the object was changed or damaged`);
    }
    operations.push(...parseRegFile(bytes, file.name).operations);
  }
  const before = existsSync(store.hiveFile) ? await store.load() : new RegHive();
  return registryDiff(before, operations);
}

/**
 * Runs a hot-site recovery (see the module comment).
 * @returns the report document, its text and the exit code: 0 recovered (or planned, dry run); 3 archive restores
 *   pending (`wait` not set); 2 unknown SET; 1 refused by the preflight or failed (bad checksum, malformed manifest,
 *   unsafe path, DIFFERENTIAL of another FULL, integrity check failed …) — in every failure case before the install
 *   the target is unchanged.
 */
export async function runRecover(options: RecoverOptions): Promise<CommandResult<RecoveryDocument>> {
  const started = performance.now();
  const to = resolve(options.to);
  const stagingDir = join(to, STAGING_DIR);
  const targetDb = resolve(options.targetDb ?? join(to, 'commserv.db'));
  const store = options.registryStore ?? new FileHiveStore(join(to, 'registry', 'commserv_hive.reg'));
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
  const doc: RecoveryDocument = {
    command: 'recover',
    status: 'failed',
    dryRun: options.dryRun ?? false,
    startedAt: new Date().toISOString(),
    endedAt: '',
    target: {
      directory: to,
      database: targetDb,
      registry: store instanceof FileHiveStore ? `file hive ${store.hiveFile}` : store.kind,
      firewallDirectory: options.firewall ? firewallDir : null,
    },
    point: null,
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
    durationsMs: durations,
    reportFiles: null,
  };
  let installed = false;
  const finish = async (exitCode: ExitCode): Promise<CommandResult<RecoveryDocument>> => {
    durations.total = Math.round(performance.now() - started);
    doc.endedAt = new Date().toISOString();
    if (installed || doc.status === 'recovered') {
      try {
        await writeRecoveryReport(doc, join(to, REPORT_JSON), join(to, REPORT_TEXT));
      } catch (error) {
        doc.warnings.push(`could not write the report into ${to}: ${describeError(error)}`);
      }
    }
    return { document: doc, text: formatRecovery(doc), exitCode };
  };

  try {
    doc.preflight = await timed('preflight', () => runPreflight(to, options.preflight, options.force ?? false));
    doc.warnings.push(...doc.preflight.warnings);
    if (!doc.preflight.passed && !doc.dryRun) {
      doc.status = 'refused';
      doc.error = { code: 'PREFLIGHT_REFUSED', message: `refusing to recover onto this machine: ${doc.preflight.findings.map((f) => f.detail).join('; ')} (use --force to override)` };
      return await finish(ExitCode.Failure);
    }

    const view = await timed('discover', () => discoverHotSite(options.s3, bucket));
    assertNamedManifestUsable(view, options.setName);
    const point = choosePoint([...view.values()].map((v) => v.summary), options.setName);
    doc.point = pointOf(point, view);
    for (const v of view.values()) {
      if (v.manifestState === 'invalid' && v.summary.jobId > point.jobId) doc.warnings.push(`${v.listed.setName} skipped: ${v.problems.join('; ')}`);
    }
    const filter = recoveryFilter(options.firewall ?? false);

    if (doc.dryRun) {
      const outcome = await timed('plan', () => stagePoint({ ...options, bucket, view, point, stagingDir, filter, checkChain: true, planOnly: true }));
      doc.plan = outcome.plan;
      doc.registryDiff = await timed('registryDiff', () => dryRunRegistryDiff(options, view, point, store, doc.warnings));
      if (!doc.preflight.passed) doc.warnings.push(`a real run would be refused: ${doc.preflight.findings.map((f) => f.detail).join('; ')}`);
      doc.status = 'planned';
      return await finish(ExitCode.Success);
    }

    const outcome = await timed('stage', () =>
      stagePoint({ ...options, bucket, view, point, stagingDir, filter, checkChain: true, logger: options.logger }),
    );
    doc.plan = outcome.plan;
    doc.point = pointOf(point, view);
    if (outcome.kind === 'pending') {
      doc.status = 'pending';
      doc.pending = outcome.pending;
      return await finish(ExitCode.CompletedWithErrors);
    }
    durations.archiveRestore = Math.round(outcome.durationsMs.archiveRestore);
    durations.download = Math.round(outcome.durationsMs.download);
    doc.checksums = outcome.files.map((f) => ({ set: f.setName, file: f.file, bytes: f.bytes, sha256: f.sha256, verified: true as const }));

    // Everything below the staging directory so far. Rebuild and check before touching the target.
    const work = join(stagingDir, 'restore', 'commserv.db');
    const rebuilt = await timed('database', () => rebuildDatabase(point, outcome.manifests, outcome.files, work));
    doc.database = {
      file: targetDb,
      bytes: rebuilt.bytes,
      sha256: rebuilt.sha256,
      appliedPages: rebuilt.appliedPages,
      integrity: rebuilt.integrity.status,
      integrityMessages: rebuilt.integrity.messages,
    };
    if (rebuilt.integrity.status !== 'ok') {
      const message = `the rebuilt database fails PRAGMA integrity_check: ${rebuilt.integrity.messages.slice(0, 3).join('; ')}`;
      if (!options.force) throw new CommserveDrError('RESTORE_INTEGRITY_FAILED', `${message} (the target was not changed; --force installs it anyway)`);
      doc.warnings.push(`--force: ${message}; installed anyway`);
    }
    const pointManifest = outcome.manifests.get(point.sets.at(-1)!.setName)!;
    const regFiles = registryFiles(pointManifest)
      .map((f) => outcome.files.find((s) => s.setName === pointManifest.setName && s.file === f.name))
      .filter((f): f is StagedFile => f !== undefined);
    // Parse every registry export before installing anything: a malformed one fails here, target untouched.
    const parsed = await Promise.all(regFiles.map(async (f) => ({ f, reg: parseRegFile(await readFile(f.path), f.file) })));

    // Install: database (rename), registry, firewall.
    await timed('install', async () => {
      for (const suffix of ['-wal', '-shm', '-journal']) await rm(targetDb + suffix, { force: true });
      await installFile(work, targetDb);
    });
    installed = true;
    await timed('registry', async () => {
      if (store instanceof FileHiveStore) await mkdir(dirname(store.hiveFile), { recursive: true });
      const imported: NonNullable<RecoveryDocument['registry']>['imported'] = [];
      for (const { f, reg } of parsed) {
        const result = await store.importFile(f.path);
        imported.push({ set: f.setName, file: f.file, operations: result.operations });
        doc.machineBoundSecrets.push(...findMachineBoundSecrets(reg.operations).map((s) => ({ ...s, file: f.file })));
      }
      doc.registry = { store: doc.target.registry, imported };
      if (regFiles.length === 0) doc.warnings.push(`${pointManifest.setName} holds no registry export: the registry was not restored`);
    });
    await timed('firewall', async () => {
      const available = pointManifest.files.filter((f) => f.role === 'firewall').map((f) => f.name);
      if (!options.firewall) {
        doc.firewall = { restored: false, copied: [], skipped: available, note: `not restored (not selected; ${available.length ? `${available.join(', ')} available with --firewall` : 'none in the SET'})` };
        return;
      }
      const copied: string[] = [];
      for (const f of outcome.files.filter((s) => s.role === 'firewall' && (FIREWALL_FILES as readonly string[]).includes(s.file))) {
        await mkdir(firewallDir, { recursive: true });
        await copyFile(f.path, join(firewallDir, `${f.file}.partial`));
        await rename(join(firewallDir, `${f.file}.partial`), join(firewallDir, f.file));
        copied.push(f.file);
      }
      doc.firewall = { restored: true, copied, skipped: [], note: copied.length ? `restored ${copied.join(', ')} into ${firewallDir}` : 'selected, but the SET holds no firewall file' };
    });
    if (doc.preflight.forced) doc.warnings.push('recovery ran with --force despite the preflight findings above');
    if (!options.keepStaging) await rm(stagingDir, { recursive: true, force: true });
    doc.status = 'recovered';
    return await finish(ExitCode.Success);
  } catch (error) {
    const e = error instanceof CommserveDrError ? error : undefined;
    doc.status = 'failed';
    doc.error = { code: e?.code ?? 'ERROR', message: describeError(error) };
    if (installed) doc.warnings.push('the database was installed before the failure; the registry or firewall step did not complete');
    options.logger?.error({ code: doc.error.code }, doc.error.message);
    if (!options.keepStaging) await rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
    return await finish(e?.exitCode ?? ExitCode.Failure);
  }
}
