/**
 * `npm start` / `commserve-dr start`: one DR backup job of the sample CommServe, end to end, with no AWS
 * account (SPEC §7). Starts moto server as the hot-site, creates the sample CommServe on first run,
 * re-fills the hot-site from the phase-1 destination (moto keeps nothing between runs), runs the
 * synthesized state machine locally, records the job, and stops moto.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { S3Client } from '@aws-sdk/client-s3';
import type { JobRecord } from '#core/job';
import { describeError, JobLockedError } from '#core/errors';
import { BackupType as BackupTypes } from '#core/set-id';
import type { BackupType } from '#core/set-id';
import { buildCycles } from '#core/cycles';
import { takeInventory } from '#agent/commands/sets/inventory';
import type { Settings } from '#core/settings';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { JobJournal, tryRecordJobAnywhere } from '#agent/history/job-journal';
import { createMetricsPublisher } from '#agent/metrics/metrics';
import { createHotSiteClient, ensureBucket } from '#agent/hotsite/hot-site';
import { refillHotSite, type RefillResult } from '#agent/hotsite/refill';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { describeSampleActivity, forgetSampleActivity, simulateSampleActivity, type SimulatedActivity } from './sample-activity';
import { executeDrJobLocally, type LocalExecution } from './local-state-machine';
import { startMotoServer, type MotoServer } from './moto-server';
import { onInterrupt } from '#agent/shutdown';
import { isPhase1Locked } from '#agent/commands/backup/lock';
import { DEFAULT_SAMPLE_BYTES } from './sample-size';

/** Default size of the generated sample CommServe database (bytes). */
export { DEFAULT_SAMPLE_BYTES };

/** Options of a local run. */
export interface LocalRunOptions {
  settings: Settings;
  /** The type to run; `auto` applies the local rule (see `chooseLocalBackupType`). */
  backupType: BackupType | 'auto';
  shrink?: boolean;
  logger: Logger;
  /** Size of the sample CommServe to generate when it does not exist yet (bytes). */
  sampleSizeBytes?: number;
  /** Use this S3 endpoint (an already running moto) instead of `HotSite.endpoint` or a moto of this run; it is not stopped. */
  s3Endpoint?: string;
  /** Progress lines for the operator (stderr). */
  onStatus?: (line: string) => void;
  onProgress?: (stage: 'sample' | 'dump' | 'upload', done: number, total: number) => void;
}

/** What a local run did. */
export interface LocalRunResult {
  record: JobRecord;
  execution: LocalExecution;
  sampleCreated: boolean;
  /**
   * Rows of the sample CommServe changed since its last DR backup (newest committed SET), this run's and those of
   * earlier runs that wrote no SET (0 on the first run or for another database).
   */
  sampleRowsChanged: number;
  /** The simulated activity in detail (`null` when the sample was created by this run or another database is used). */
  sampleActivity: SimulatedActivity | null;
  /** The type that was asked for (after the local rule for `auto`). */
  requestedType: BackupType;
  refill: RefillResult;
  endpoint: string;
  motoStarted: boolean;
  totalMs: number;
}

/** Share of the sample CommServe's rows changed between two local runs (a day of activity). */
export const SAMPLE_ACTIVITY_FRACTION = 0.01;

/**
 * The local run's rule for `npm start` without `--type`: a FULL when there is no open cycle in the
 * phase-1 destination or the open cycle already holds `LocalDifferentialsPerCycle` DIFFERENTIALs, else a
 * DIFFERENTIAL (which is itself promoted to FULL when its base turns out unusable).
 */
export async function chooseLocalBackupType(settings: Settings): Promise<BackupType> {
  const inventory = await takeInventory(settings, null);
  const open = buildCycles(inventory.entries.map((e) => e.summary)).openCycle;
  if (!open || open.differentials.length >= settings.LocalDifferentialsPerCycle) return BackupTypes.Full;
  return BackupTypes.Differential;
}

/** Whether the configured database is the embedded sample CommServe (created on demand). */
function usesSample(settings: Settings): settings is Settings & { Database: { engine: 'sqlite'; path: string } } {
  return settings.Database.engine === 'sqlite' && /[\\/]\.commserve-dr[\\/]sample[\\/]commserv\.db$/.test(settings.Database.path);
}

/**
 * Runs one local DR backup job.
 * @throws the phase-1 errors only through the job record (status Failed); throws LocalRunError when
 *   moto cannot start, HotSiteError when the endpoint given is unreachable.
 */
export async function runLocalJob(options: LocalRunOptions): Promise<LocalRunResult> {
  const started = performance.now();
  const status = options.onStatus ?? (() => undefined);
  let settings = options.settings;

  // Prerequisites first: nothing (not even the sample CommServe) changes unless the job can run.
  if (isPhase1Locked(settings.StateDirectory)) {
    throw new JobLockedError(`another DR backup job is in phase 1 (state directory ${settings.StateDirectory}); wait for it to finish`);
  }
  let moto: MotoServer | undefined;
  // The hot-site: --s3-endpoint, else the configured stand-in (HotSite.endpoint), else a moto server of this run.
  let endpoint = options.s3Endpoint ?? settings.HotSite.endpoint;
  if (!endpoint) {
    status('starting moto server (the local hot-site)');
    moto = await startMotoServer();
    endpoint = moto.endpoint;
  }
  const stopMotoOnInterrupt = moto ? onInterrupt(() => moto!.stop()) : () => undefined;
  try {
    settings = { ...settings, HotSite: { ...settings.HotSite, endpoint } };
    const s3: S3Client = createHotSiteClient(settings.HotSite);
    // An unreachable hot-site does not stop the job: phase 1 commits the SET locally and the next job re-fills it.
    await ensureBucket(s3, settings.HotSite.bucket).catch((error: unknown) => options.logger.warn(`hot-site not ready: ${describeError(error)}`));

    let sampleCreated = false;
    let sampleActivity: SimulatedActivity | null = null;
    if (usesSample(settings) && !existsSync(settings.Database.path)) {
      const size = options.sampleSizeBytes ?? DEFAULT_SAMPLE_BYTES;
      status(`creating the sample CommServe (${(size / 1024 / 1024).toFixed(0)} MB) in ${dirname(settings.Database.path)}`);
      forgetSampleActivity(settings.StateDirectory);
      await generateSampleCommServe({ dir: dirname(settings.Database.path), sizeBytes: size, onProgress: (b) => options.onProgress?.('sample', b, size) });
      sampleCreated = true;
    } else if (usesSample(settings)) {
      // The sample CommServe has been busy since the last DR backup: new jobs and events, jobs finishing, old events
      // purged — added to what earlier runs that wrote no SET (interrupted, failed) changed.
      sampleActivity = simulateSampleActivity(settings.Database.path, settings.StateDirectory, settings.Phase1Destination, SAMPLE_ACTIVITY_FRACTION);
      status(describeSampleActivity(sampleActivity));
    }
    const backupType = options.backupType === 'auto' ? await chooseLocalBackupType(settings) : options.backupType;
    const refill = await refillHotSite(s3, settings.HotSite.bucket, settings.Phase1Destination, options.logger).catch((error: unknown): RefillResult => {
      options.logger.warn(`the hot-site was not re-filled from the phase-1 destination: ${describeError(error)}`);
      return { uploaded: [], skipped: [], bytes: 0, repaired: [] };
    });
    if (refill.uploaded.length > 0) status(`re-filled the hot-site with ${refill.uploaded.length} SET(s) from the phase-1 destination`);
    status(`running the DR job state machine (${backupType})`);
    // The job's journal: a Killed record if the process is interrupted before the record below is written.
    const journal = JobJournal.open(settings, { s3, bucket: settings.HotSite.bucket }, (m) => options.logger.warn(m));
    const execution = await executeDrJobLocally({
      input: { backupType: backupType },
      s3,
      settings,
      phase1: (heartbeat) =>
        runPhase1({
          settings,
          requestedType: backupType,
          shrink: options.shrink,
          s3,
          logger: options.logger,
          heartbeat,
          onProgress: options.onProgress,
          metrics: createMetricsPublisher(settings, options.logger),
          journal,
        }).finally(() => journal.stage('phase 2')),
      archiveRetryIntervalMs: Math.min(settings.ArchiveRetryIntervalMinutes * 60_000, 2_000),
    });
    tryRecordJobAnywhere(settings, execution.record, (e) => options.logger.warn(`job record not written locally: ${describeError(e)}`));
    journal.finish();
    return {
      record: execution.record,
      execution,
      sampleCreated,
      sampleRowsChanged: sampleActivity?.rowsChanged ?? 0,
      sampleActivity,
      requestedType: backupType,
      refill,
      endpoint,
      motoStarted: moto !== undefined,
      totalMs: Math.round(performance.now() - started),
    };
  } finally {
    stopMotoOnInterrupt();
    await moto?.stop();
  }
}
