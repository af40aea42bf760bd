/**
 * Phase 1 of a DR backup job (SPEC §4.2): dump, registry, firewall files, then one pass per file that hashes,
 * (optionally) compresses and uploads it to the hot-site while the integrity check runs alongside; the manifest
 * last, locally (the local commit) and then at the hot-site. Runs under the phase-1 lock.
 *
 * Order matters for "bad input loses nothing": everything that can be checked before a SET folder
 * exists (database present and SQLite, hot-site reachable, destination writable) is checked first, so
 * an operator mistake leaves no folder behind; a failure after that removes the incomplete SET folder.
 * A SET without `manifest.json` never counts.
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { CommserveDrError, DatabaseError, describeError } from '#core/errors';
import { acquirePhase1Lock } from './lock';
import { MANIFEST_FILE, setPrefix, setObjectKey } from '#core/hotsite-layout';
import { JobStatus } from '#core/job-status';
import type { Phase1Result } from '#core/job';
import { predecessorForNewManifest } from '#agent/hotsite/manifest-chain';
import { serializeManifest, type Integrity, type JobEvent, type Manifest, type ManifestInput } from '#core/manifest';
import { BackupType, setName } from '#core/set-id';
import type { Settings } from '#core/settings';
import { openEngine } from '#agent/engines/index';
import { ssmClient } from '#agent/aws/clients';
import type { DatabaseEngine, DifferentialBase, DumpResult } from '#agent/engines/types';
import { createRegistryStore } from '#agent/registry/index';
import { SetUploadSession, streamSetFile } from '#agent/hotsite/stream-upload';
import { abortStaleUploads, hotSiteError, listHotSiteSets, uploadManifest } from '#agent/hotsite/hot-site';
import { NO_METRICS, type MetricsPublisher } from '#agent/metrics/metrics';
import { MetricName } from '#core/metrics';
import { prepareDestination, type DestinationRetry } from './destination';
import { handleIntegrityResult } from './corruption';
import { allocateJobId } from '#agent/state/job-ids';
import { AGENT_VERSION } from '#agent/version';
import { faultPoint } from '#agent/faults';
import { onInterrupt } from '#agent/shutdown';
import { copyFirewallFiles, dumpDifferential, dumpFull, exportRegistry, hiveFileName, UNCOMPRESSED_SUFFIX, type StepOutcome } from './set-files';
import { planDifferential } from './dump-plan';
import { baseFullProblem, runJobUpkeep } from '#agent/upkeep/job-upkeep';
import { writeRecoveryMd } from '#agent/upkeep/recovery-md';
import { DIFFERENTIAL_FORMAT } from '#core/recovery-md';
import { planLog } from './log-plan';
import { dumpLog } from './log-step';
import type { LogBase } from '#agent/engines/types';
import { fsFailure } from '#agent/fs-errors';

/** What a phase-1 run needs. */
export interface Phase1Options {
  settings: Settings;
  requestedType: BackupType;
  /** Compact the database before the dump (`--shrink`). */
  shrink?: boolean;
  s3: S3Client;
  logger: Logger;
  /** Called between steps and during long transfers (at most every few seconds) — e.g. SendTaskHeartbeat. */
  heartbeat?: () => Promise<void>;
  /** Progress of the dump and upload, in bytes. */
  onProgress?: (stage: 'dump' | 'upload', done: number, total: number) => void;
  /** Where `DatabaseCorruptionDetected` goes (default: none). */
  metrics?: MetricsPublisher;
  /** Retries of creating the phase-1 destination before skipping the local copy (default from the settings). */
  destinationRetry?: DestinationRetry;
}

export { acquirePhase1Lock, PHASE1_LOCK } from './lock';


function writeFileDurably(path: string, data: Buffer): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}



/**
 * Runs phase 1 and returns the SET summary the state machine continues with.
 * @throws CommserveDrError subclasses: DatabaseError (database missing/not SQLite/dump failed),
 *   DestinationError (phase-1 destination unwritable), HotSiteError (hot-site unreachable),
 *   JobLockedError (another job running). No complete-looking SET is left behind by a failure.
 */
export async function runPhase1(options: Phase1Options): Promise<Phase1Result> {
  const { settings, logger, s3 } = options;
  const beat = async () => {
    await options.heartbeat?.();
  };
  const bucket = settings.HotSite.bucket;
  const durationsMs: Record<string, number> = {};
  const timed = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      durationsMs[name] = Math.round(performance.now() - started);
      await beat();
    }
  };

  const release = await acquirePhase1Lock(settings.StateDirectory);
  let engine: DatabaseEngine | undefined;
  let setDir: string | undefined;
  /** The private staging directory when the local copy is skipped (removed at the end). */
  let staging: string | undefined;
  let committed = false;
  const cleanups: Array<() => void> = [];
  let session: SetUploadSession | undefined;
  try {
    // Preflight: nothing is created until these pass.
    engine = await timed('open', () =>
      openEngine(settings, {
        ...(settings.Database.engine === 'sqlserver' ? { ssm: ssmClient(settings.HotSite) } : {}),
        // SPEC §4.2 step 7: a database server that does not answer is retried DbRetryCount × DbRetryIntervalMinutes.
        retry: {
          count: settings.DbRetryCount,
          intervalMs: settings.DbRetryIntervalMinutes * 60_000,
          onRetry: ({ attempt, attempts, delayMs, error }) =>
            logger.warn(`database unreachable (attempt ${attempt} of ${attempts}): ${describeError(error)}; retrying in ${Math.round(delayMs / 1000)} s`),
        },
      }),
    );
    const destination = await timed('destination', () => prepareDestination(settings.Phase1Destination, options.destinationRetry ?? { attempts: settings.DestinationRetryCount, intervalMs: settings.DestinationRetryIntervalSeconds * 1000 }));
    const hotSiteIds = await timed('preflight', async () => {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch (error) {
        throw hotSiteError('reach the bucket', bucket, error);
      }
      // We hold the phase-1 lock: any multipart upload under sets/ was left by a killed agent.
      const aborted = await abortStaleUploads(s3, bucket);
      if (aborted.length > 0) logger.warn({ aborted }, `aborted ${aborted.length} multipart upload(s) left by an interrupted job`);
      return (await listHotSiteSets(s3, bucket)).map((s) => s.jobId);
    });

    const jobId = allocateJobId(settings.StateDirectory, destination.writable ? settings.Phase1Destination : null, hotSiteIds);
    const name = setName(jobId);
    const startTime = new Date().toISOString();
    const events: JobEvent[] = [];
    const note = (level: JobEvent['level'], code: string, message: string) => {
      events.push({ time: new Date().toISOString(), level, code, message });
      logger[level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'info']({ jobId, code }, message);
    };
    let backupType: BackupType = options.requestedType;
    let promotion: Manifest['promotion'] = null;
    let base: DifferentialBase | null = null;
    const promote = (reason: string) => {
      backupType = BackupType.Full;
      base = null;
      promotion = { requested: BackupType.Differential, reason };
      note('warning', 'PROMOTED_TO_FULL', `DIFFERENTIAL promoted to FULL: ${reason}`);
    };
    // Upkeep of the copies (issue 16): finish half-finished jobs, scrub and repair the kept SETs at the hot-site.
    const upkeepOptions = { s3, settings, logger, phase1DestinationUsable: destination.writable, now: () => new Date() };
    // LOG points (every few minutes) leave the upkeep to the daily FULL/DIFFERENTIAL jobs.
    const upkeep =
      options.requestedType === BackupType.Log
        ? { events: [], scrub: null, finished: [], unrepaired: 0 }
        : await timed('upkeep', () => runJobUpkeep({ ...upkeepOptions, jobSetName: name }));
    events.push(...upkeep.events);
    if (options.requestedType === BackupType.Differential) {
      const plan = await timed('plan', () =>
        planDifferential(settings, engine!, async (full) => {
          const checked = await baseFullProblem(upkeepOptions, full);
          events.push(...checked.events);
          if (checked.events.some((e) => e.level === 'error')) upkeep.unrepaired += 1;
          return checked.problem;
        }),
      );
      if ('promote' in plan) promote(plan.promote);
      else base = plan.base;
    }
    // A LOG point continues the open cycle's newest point; with none usable it is refused before any SET folder exists.
    let logBase: LogBase | null = null;
    if (options.requestedType === BackupType.Log) {
      const plan = await timed('plan', () => planLog(settings, engine!));
      if ('refuse' in plan) throw new CommserveDrError('LOG_NOT_POSSIBLE', `no LOG point taken: ${plan.refuse}`);
      logBase = plan.base;
    }
    logger.info({ jobId, setName: name, backupType }, 'DR backup job started');

    let local = destination.writable;
    if (local) {
      setDir = join(settings.Phase1Destination, name);
      try {
        mkdirSync(setDir);
      } catch (error) {
        local = false;
        note('error', 'DESTINATION_UNWRITABLE', `${fsFailure('cannot create', setDir, error)}: the local copy is skipped, the SET goes straight to the hot-site`);
      }
    } else if (!destination.writable) {
      note('error', 'DESTINATION_UNWRITABLE', `${destination.reason} after ${destination.attempts} attempt(s): the local copy is skipped, the SET goes straight to the hot-site`);
    }
    // Interrupted before the manifest (SIGINT/SIGTERM): remove the incomplete SET folder on the way out.
    const forgetIncomplete = onInterrupt(() => {
      if (!committed && setDir) rmSync(staging ?? setDir, { recursive: true, force: true });
    });
    cleanups.push(forgetIncomplete);
    if (!local) {
      // No local copy: stage the SET in a private temporary directory, upload it, then remove it.
      setDir = join(mkdtempSync(join(tmpdir(), 'commserve-dr-staging-')), name);
      mkdirSync(setDir);
      staging = dirname(setDir);
    }

    // 1. Integrity check: damage flags the SET but the backup proceeds (a copy of a damaged database is still wanted).
    //    A FULL checks its own dump once written (exactly the bytes backed up; no read transaction on the live
    //    database); a DIFFERENTIAL checks the live database from the start. Either way the check runs alongside the
    //    dump, hashing and upload: its verdict is needed only for the manifest. With --shrink it runs first, as
    //    VACUUM rewrites the database.
    const registryStore = createRegistryStore(settings.Registry);
    let integrityCheck: Promise<Integrity> | undefined;
    const startIntegrity = (dumpFile?: string) => {
      if (integrityCheck) return;
      integrityCheck = timed('integrity', () => engine!.checkIntegrity(dumpFile));
      integrityCheck.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection
    };
    const settleIntegrity = async () => {
      startIntegrity();
      const result = await integrityCheck!;
      if (result.status === 'corrupt') {
        note('error', 'DB_CORRUPTION_DETECTED', `integrity check found damage: ${result.messages.slice(0, 3).join('; ')}`);
      } else if (result.status === 'check-failed') {
        note('warning', 'INTEGRITY_CHECK_FAILED', `integrity check could not run: ${result.messages[0] ?? ''}`);
      }
      for (const e of await handleIntegrityResult({ integrity: result, settings, store: registryStore, metrics: options.metrics ?? NO_METRICS, jobId, engine })) note(e.level, e.code, e.message);
      return result;
    };
    let integritySettled: Promise<Integrity> | undefined;
    // 2. Optional shrink.
    if (logBase) {
      // A LOG point every few minutes does not run PRAGMA integrity_check / DBCC CHECKDB (minutes on a large database):
      // the daily FULL or DIFFERENTIAL checks, and a shrink would rewrite every page.
      integritySettled = Promise.resolve({ status: 'skipped', messages: ['LOG point: the integrity check runs with the FULL and DIFFERENTIAL jobs'], durationMs: 0 });
    } else if (options.shrink) {
      integritySettled = settleIntegrity();
      await integritySettled;
      await timed('shrink', () => engine!.shrink());
    } else if (base) {
      startIntegrity();
    }
    // 3. Database dump: a cumulative DIFFERENTIAL against the cycle's FULL, or a FULL that starts a cycle. With
    //    DumpCompression the engine writes `<name>.uncompressed`, and the pass below stores the compressed `<name>`.
    const compressionLevel = settings.DumpCompression === 'brotli' ? settings.DumpCompressionLevel : null;
    const rawName = (name: string) => (compressionLevel === null ? name : `${name}${UNCOMPRESSED_SUFFIX}`);
    const onDumpProgress = (done: number, total: number) => {
      if (done > 0 && done < total) faultPoint('dump');
      options.onProgress?.('dump', done, total);
    };
    let dump: StepOutcome<DumpResult> | undefined;
    let pointTime: string | undefined;
    if (logBase) {
      const logFrom: LogBase = logBase;
      const logged = await timed('dump', () => dumpLog(engine!, logFrom, setDir!, jobId, onDumpProgress, rawName));
      pointTime = logged.detail.pointTime;
      dump = logged;
    }
    if (base) {
      const diffBase: DifferentialBase = base;
      try {
        dump = await timed('dump', () => dumpDifferential(engine!, diffBase, setDir!, jobId, onDumpProgress, rawName));
      } catch (error) {
        if (!(error instanceof DatabaseError && error.code === 'DIFF_BASE_MISMATCH')) throw error;
        promote(error.message);
      }
    }
    if (!dump) {
      dump = await timed('dump', () => dumpFull(engine!, setDir!, onDumpProgress, rawName));
      startIntegrity(dump.detail.file);
    }
    for (const warning of dump.detail.warnings ?? []) note('warning', 'DATABASE_DUMP_WARNING', warning);
    // The moment the SET's database state was captured (`recover --at`): a LOG's snapshot end, else the dump's end.
    pointTime ??= new Date().toISOString();
    const dumpFile = dump.files[0]!;
    const rawDump = dump.detail.file;
    const cycleId = backupType === BackupType.Full ? jobId : ((base as DifferentialBase | null) ?? (logBase as LogBase | null)!.full).manifest.jobId;
    // 4. Registry (always a complete export).
    const registry = await timed('registry', () =>
      exportRegistry(
        registryStore,
        { commServeKeys: settings.Registry.commServeKeys, modules: settings.Registry.modules },
        setDir!,
        hiveFileName(backupType, jobId),
      ),
    );
    // 5. Firewall files.
    const firewall = await timed('firewall', () => copyFirewallFiles(settings.FirewallDirectory, setDir!));
    for (const e of [...registry.events, ...firewall.events]) note(e.level, e.code, e.message);

    // 6. One pass per file (issue 10): SHA-256 for the manifest, each part's SHA-256, the FULL's page hashes and the
    //    optional compression, while the parts go to the hot-site. An upload failure does not stop the pass: the SET
    //    is still completed locally (and re-filled by the next job), then the failure is reported.
    const upload = new SetUploadSession(s3, bucket);
    session = upload;
    const entries: ManifestInput['files'] = [];
    const sources = [
      { file: dumpFile, path: rawDump, dump: true },
      ...dump.files.slice(1).map((f) => ({ file: f, path: join(setDir!, f.name), dump: false })),
      ...[...registry.files, ...firewall.files].map((f) => ({ file: f, path: join(setDir!, f.name), dump: false })),
    ];
    const total = sources.reduce((sum, f) => sum + statSync(f.path).size, 0);
    let sent = 0;
    const cycleWriter = backupType === BackupType.Full && engine.beginCycle ? await engine.beginCycle(rawDump, setDir!, jobId) : undefined;
    cleanups.push(() => void cycleWriter?.abort());
    let dumpContentSha256 = '';
    await timed('stream', async () => {
      for (const source of sources) {
        const streamed = await streamSetFile(upload, {
          source: source.path,
          name: source.file.name,
          role: source.file.role,
          key: setObjectKey('sets', jobId, source.file.name),
          ...(source.dump && compressionLevel !== null ? { compression: { level: compressionLevel, storedPath: join(setDir!, source.file.name) } } : {}),
          ...(source.dump && cycleWriter ? { pageDigests: { pageSize: cycleWriter.pageSize, add: (digests: Buffer, bytes: number) => cycleWriter.addPageDigests(digests, bytes) } } : {}),
          onProgress: (read) => options.onProgress?.('upload', sent + read, total),
        });
        sent += streamed.entry.compression?.contentSize ?? streamed.entry.size;
        entries.push(streamed.entry);
        if (source.dump) dumpContentSha256 = streamed.contentSha256;
      }
    });
    if (backupType === BackupType.Full) {
      // What the cycle's DIFFERENTIALs need (SQLite: the page-hash sidecar, computed in the pass above).
      const cycle = await timed('cycle', () => (cycleWriter ? cycleWriter.finish(dumpContentSha256) : engine!.prepareCycle(rawDump, setDir!, jobId)));
      dump.detail.identity = { ...dump.detail.identity, details: { ...dump.detail.identity.details, ...cycle.details } };
      for (const sidecar of cycle.sidecars) {
        const streamed = await streamSetFile(upload, { source: join(setDir!, sidecar.name), name: sidecar.name, role: 'sidecar', key: setObjectKey('sets', jobId, sidecar.name) });
        entries.splice(1, 0, streamed.entry); // listed right after the dump, as ever
      }
    }
    // The integrity verdict goes into the manifest: wait for the check (it ran alongside the steps above).
    const integrity = await (integritySettled ?? settleIntegrity());
    if (rawDump !== join(setDir!, dumpFile.name)) rmSync(rawDump, { force: true });
    const files = entries;
    // check-failed: "check failed — not corruption": no job-activity change, but the job is not clean (alarm).
    const partial = registry.partial || firewall.partial || !local || integrity.status === 'corrupt' || integrity.status === 'check-failed' || upkeep.unrepaired > 0;
    // The manifest hash chain (issue 21): the SHA-256 of the previous committed SET's manifest.
    const chain = await predecessorForNewManifest(local ? settings.Phase1Destination : null, { s3, bucket }, jobId, (m) => note('warning', 'MANIFEST_CHAIN', m));
    const manifestInput: ManifestInput = {
      formatVersion: 1,
      product: 'commserve-dr',
      jobId,
      setName: name,
      backupType,
      cycleId,
      baseFullSet: backupType === BackupType.Full ? null : setName(cycleId),
      promotion,
      ...(logBase ? { previousSet: (logBase as LogBase).previous.manifest.setName } : {}),
      pointTime,
      startTime,
      endTime: new Date().toISOString(),
      agentVersion: AGENT_VERSION,
      hostname: hostname(),
      database: dump.detail.identity,
      integrity,
      registry: { store: registryStore.kind, exportedKeys: registry.detail.exportedKeys, missingKeys: registry.detail.missingKeys },
      firewall: firewall.detail,
      files,
      events,
      ...(settings.Database.engine === 'sqlite' ? { differentialFormat: { ...DIFFERENTIAL_FORMAT } } : {}),
      ...chain,
    };
    const manifestBytes = serializeManifest(manifestInput);
    faultPoint('before-manifest');
    writeFileDurably(join(setDir!, MANIFEST_FILE), manifestBytes);
    committed = true;
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
    logger.info({ jobId, files: manifest.files.length, bytes }, local ? 'SET written to the phase-1 destination' : 'SET staged (the phase-1 destination is unwritable)');

    // The hot-site copy is complete once its manifest is there, sent after every other file arrived.
    if (upload.failure) throw upload.failure;
    faultPoint('after-commit');
    await timed('manifestUpload', () => uploadManifest(s3, bucket, setDir!, manifest));
    logger.info({ jobId, bucket, prefix: setPrefix('sets', jobId) }, 'SET uploaded to the hot-site');
    // RPO (SPEC §4.5): the newest restorable point at the hot-site is now this SET's; its age is published by every job.
    await (options.metrics ?? NO_METRICS).publish(MetricName.RpoSeconds, Math.max(0, (Date.now() - Date.parse(pointTime)) / 1000), 'Seconds').catch((error: unknown) => logger.warn(`RPO metric not published: ${describeError(error)}`));
    // Break-glass (issue 16 item 7): RECOVERY.md names the newest restorable point, this SET included.
    await writeRecoveryMd(s3, settings, `job ${name}`).catch((error: unknown) => logger.warn(`RECOVERY.md not rewritten: ${describeError(error)}`));

    return {
      jobId,
      setName: name,
      backupType,
      requestedType: options.requestedType,
      cycleId,
      bucket,
      setPrefix: setPrefix('sets', jobId),
      manifestKey: setObjectKey('sets', jobId, MANIFEST_FILE),
      files: manifest.files.length,
      bytes,
      phase1Destination: local ? setDir! : null,
      integrity: integrity.status,
      status: partial ? JobStatus.CompletedWithErrors : JobStatus.Completed,
      startTime,
      endTime: new Date().toISOString(),
      durationsMs,
      events,
    };
  } catch (error) {
    if (setDir && !committed && !staging) {
      // An incomplete SET (no manifest) never counts; remove what was written so it cannot be mistaken for one.
      rmSync(setDir, { recursive: true, force: true });
    }
    if (error instanceof CommserveDrError) throw error;
    throw new CommserveDrError('PHASE1_FAILED', `phase 1 failed: ${(error as Error).message}`, { cause: error });
  } finally {
    for (const forget of cleanups) forget();
    await session?.close();
    if (staging) rmSync(staging, { recursive: true, force: true });
    await engine?.close();
    await release().catch(() => undefined);
  }
}
