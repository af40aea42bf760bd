/**
 * Phase 1 of a DR backup job (SPEC §4.2), a pipeline of named steps under the phase-1 lock:
 *
 *   open the database → prepare the destination → check the hot-site → record abandoned (killed) jobs → start the job
 *   (id, journal) → upkeep (half-finished jobs, scrub and repair) → re-fill the hot-site → plan the backup type (a
 *   DIFFERENTIAL's FULL intact, a LOG point's base) → [shrink] → write the SET (local, else staged) → commit the
 *   manifest (with the manifest chain link) → upload the manifest → RPO metric and RECOVERY.md → the result.
 *
 * Phase 1 always leaves a DR copy when the database can be read (issue 16): a hot-site that cannot be reached leaves
 * the SET committed in the phase-1 destination (Completed With One or More Errors; the next job re-fills the hot-site);
 * a destination that cannot be written (unwritable after retries, or full, or read-only mid-SET) sends the SET from a
 * staging folder straight to the hot-site (Completed With One or More Errors). Only when neither can be written does
 * the job fail, naming both and why.
 *
 * Order matters for "bad input loses nothing": what can be checked before a SET folder exists is checked first; a
 * failure after that removes the incomplete SET folder. A SET without `manifest.json` never counts.
 */
import { closeSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { CommserveDrError, DestinationError, describeError } from '#core/errors';
import { MANIFEST_FILE, setPrefix, setObjectKey } from '#core/hotsite-layout';
import { MetricName } from '#core/metrics';
import { DIFFERENTIAL_FORMAT } from '#core/recovery-md';
import { JobStatus } from '#core/job-status';
import type { Phase1Result } from '#core/job';
import { predecessorForNewManifest, previousManifestLink } from '#agent/hotsite/manifest-chain';
import { serializeManifest, type Integrity, type Manifest, type ManifestInput } from '#core/manifest';
import { BackupType, setName } from '#core/set-id';
import type { Settings } from '#core/settings';
import type { DatabaseEngine } from '#agent/engines/types';
import { createRegistryStore } from '#agent/registry/index';
import { SetUploadSession } from '#agent/hotsite/stream-upload';
import { uploadManifest } from '#agent/hotsite/hot-site';
import { refillHotSite } from '#agent/hotsite/refill';
import { NO_METRICS, type MetricsPublisher } from '#agent/metrics/metrics';
import { JobJournal, recordAbandonedJobs } from '#agent/history/job-journal';
import { baseFullProblem, runJobUpkeep, type UpkeepOptions } from '#agent/upkeep/job-upkeep';
import { writeRecoveryMd } from '#agent/upkeep/recovery-md';
import { removeUnfinishedTempsStep } from '#agent/upkeep/unfinished-temps';
import { allocateJobId } from '#agent/state/job-ids';
import { AGENT_VERSION } from '#agent/version';
import { faultPoint } from '#agent/faults';
import { onInterrupt } from '#agent/shutdown';
import { acquirePhase1Lock } from './lock';
import { acquireLockForLog, collectSkippedLogs, type LogLockWait } from './log-wait';
import { errnoInWords, isDestinationWriteFailure, localWriteCode, prepareDestination, type DestinationRetry, type DestinationState } from './destination';
import { planDifferential } from './dump-plan';
import { planLog } from './log-plan';
import { JobLog } from './agent-logs';
import { buildSet, IntegrityCheck, LOG_POINT_INTEGRITY, type BuildSetOptions, type BuiltSet } from './build-set';
import { Phase1Job, withFailedJob } from './job-context';
import { checkHotSite, openDatabase, type HotSiteState } from './preflight';
import { describeIntegrityFindings } from '#core/integrity-findings';

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
  /** Where `DatabaseCorruptionDetected` and `RpoSeconds` go (default: none). */
  metrics?: MetricsPublisher;
  /** Retries of creating the phase-1 destination before skipping the local copy (default from the settings). */
  destinationRetry?: DestinationRetry;
  /**
   * A LOG point that finds the phase-1 lock held waits this long, then is skipped with a record (log-wait.ts). Absent:
   * refused at once (`JOB_LOCKED`), as a job started by hand is.
   */
  logLockWait?: LogLockWait;
  /**
   * The job's journal, opened by whoever writes the job's record (and finishes the journal then); phase 1 opens and
   * finishes its own when none is given (a Killed record then covers phase 1 only).
   */
  journal?: JobJournal;
}

export { acquirePhase1Lock, PHASE1_LOCK } from './lock';

/** The SET as written: its folder, whether that is the phase-1 destination, and its upload session. */
interface WrittenSet {
  built: BuiltSet;
  setDir: string;
  local: boolean;
  upload: SetUploadSession;
  /** Removes the staging folder (no-op for a local SET). */
  removeStaging: () => void;
  /** Forgets the interrupt clean-up that removes the unfinished SET. */
  forgetInterrupt: () => void;
}

/**
 * Runs phase 1 and returns the SET summary the state machine continues with.
 * @throws CommserveDrError subclasses: DatabaseError (database missing/not SQLite/dump failed), DestinationError
 *   (`NO_COPY_POSSIBLE`: neither the phase-1 destination nor the hot-site can take the SET; state directory), JobLockedError
 *   (another job running). Once the job has an id, the error carries it ({@link failedJobOf}) for the job record. No
 *   complete-looking SET is left behind by a failure.
 */
export async function runPhase1(options: Phase1Options): Promise<Phase1Result> {
  const { settings, s3 } = options;
  const journal = options.journal ?? JobJournal.open(settings);
  const jobLog = new JobLog(options.logger, settings.AgentLogMaxBytes);
  const job = new Phase1Job(options.requestedType, jobLog.logger, journal, options.heartbeat);
  let engine: DatabaseEngine | undefined;
  let release: (() => Promise<void>) | undefined;
  try {
    release =
      options.logLockWait && options.requestedType === BackupType.Log
        ? await acquireLockForLog(settings.StateDirectory, options.logLockWait, (dir) => acquirePhase1Lock(dir))
        : await acquirePhase1Lock(settings.StateDirectory);
    engine = await job.timed('open', () => openDatabase(settings, job.logger));
    const destination = await job.timed('destination', () =>
      prepareDestination(settings.Phase1Destination, options.destinationRetry ?? { attempts: settings.DestinationRetryCount, intervalMs: settings.DestinationRetryIntervalSeconds * 1000 }),
    );
    const hotSite = await job.timed('preflight', () => checkHotSite(s3, settings.HotSite.bucket, settings.HotSite.endpoint, job.logger));
    await job.timed('abandoned', () => recordAbandonedStep(job, settings, s3, hotSite));
    startJob(job, settings, destination, hotSite);
    if (destination.writable) removeUnfinishedTempsStep(settings.Phase1Destination, job.id.jobId, (level, code, message) => job.note(level, code, message));
    const upkeepOptions: Omit<UpkeepOptions, 'jobSetName'> = { s3, settings, logger: job.logger, phase1DestinationUsable: destination.writable, now: () => new Date() };
    const scrubbed = await upkeepStep(job, upkeepOptions, hotSite);
    if (hotSite.reachable) await job.timed('refill', () => refillStep(job, settings, s3));
    await planBackupType(job, settings, engine, hotSite.reachable ? upkeepOptions : null);
    if (scrubbed) await unrepairedDamageMetricStep(job, options.metrics ?? NO_METRICS);
    const registryStore = createRegistryStore({ ...settings.Registry, ansiCodePage: settings.AnsiCodePage });
    const buildOptions: BuildSetOptions = { settings, engine, registryStore, metrics: options.metrics ?? NO_METRICS, jobLog, onProgress: options.onProgress };
    if (job.logBase) buildOptions.integritySettled = Promise.resolve(LOG_POINT_INTEGRITY);
    else if (options.shrink) buildOptions.integritySettled = Promise.resolve(await shrinkStep(job, buildOptions));
    const written = await writeSet(job, settings, s3, destination, hotSite, buildOptions);
    try {
      const chain = await manifestChainStep(job, settings, s3, written, hotSite);
      const manifest = commitSet(job, settings, written, chain);
      const uploaded = await uploadManifestStep(job, settings, s3, written, manifest);
      if (uploaded) await afterHotSiteCommitStep(job, settings, s3, options.metrics ?? NO_METRICS, written.built.pointTime);
      return phase1Result(job, settings, written, manifest, uploaded);
    } finally {
      written.forgetInterrupt();
      await written.upload.close();
      written.removeStaging();
    }
  } catch (error) {
    throw withFailedJob(asPhase1Error(error), job.failedJob());
  } finally {
    await engine?.close();
    await release?.().catch(() => undefined);
    if (!options.journal) journal.finish();
  }
}

/** Jobs killed without a record (their process died): recorded as Killed now (we hold the lock). */
async function recordAbandonedStep(job: Phase1Job, settings: Settings, s3: S3Client, hotSite: HotSiteState): Promise<void> {
  const found = await recordAbandonedJobs(settings, hotSite.reachable ? { s3, bucket: settings.HotSite.bucket } : null, (message) => job.note('warning', 'JOB_JOURNAL', message));
  for (const f of found.filter((x) => x.outcome === 'killed')) {
    job.note('warning', 'KILLED_JOB_RECORDED', `job ${f.jobId} (${f.record.setName}) ended without a record (its process was killed): recorded as Killed`);
  }
}

/** Allocates the job id, opens the journal, and notes a destination or hot-site that cannot take the SET. */
function startJob(job: Phase1Job, settings: Settings, destination: DestinationState, hotSite: HotSiteState): void {
  const jobId = allocateJobId(settings.StateDirectory, destination.writable ? settings.Phase1Destination : null, hotSite.reachable ? hotSite.jobIds : []);
  job.identity = { jobId, setName: setName(jobId), startTime: new Date().toISOString() };
  job.journal.started({ ...job.identity, backupType: job.backupType, requestedType: job.requestedType });
  if (!destination.writable && !hotSite.reachable) {
    throw new DestinationError('NO_COPY_POSSIBLE', `no copy of the SET can be written: ${destination.reason} after ${destination.attempts} attempt(s), and ${hotSite.reason}`);
  }
  if (!destination.writable) {
    job.note('error', 'DESTINATION_UNWRITABLE', `${destination.reason} after ${destination.attempts} attempt(s): the local copy is skipped, the SET goes straight to the hot-site`);
  }
  if (!hotSite.reachable) {
    job.note('error', 'HOTSITE_UNREACHABLE', `${hotSite.reason}: this job writes its SET to the phase-1 destination only (the next job re-fills the hot-site)`);
  }
  job.logger.info({ jobId, setName: job.id.setName, backupType: job.backupType }, 'DR backup job started');
}

/**
 * Upkeep of the copies (issue 16 items 3 and 5): finish half-finished jobs, scrub and repair the kept SETs at the
 * hot-site. LOG points (every few minutes) leave it to the daily FULL/DIFFERENTIAL jobs; an unreachable hot-site
 * skips it with a warning. What stays damaged counts in `job.unrepaired` (the job ends with errors).
 * @returns whether the upkeep ran (then `UnrepairedDamage` is published).
 */
async function upkeepStep(job: Phase1Job, options: Omit<UpkeepOptions, 'jobSetName'>, hotSite: HotSiteState): Promise<boolean> {
  if (job.requestedType === BackupType.Log) return false;
  if (!hotSite.reachable) {
    job.note('warning', 'SCRUB_SKIPPED', `hot-site scrub and half-finished jobs not looked at: ${hotSite.reason}`);
    return false;
  }
  const upkeep = await job.timed('upkeep', () => runJobUpkeep({ ...options, jobSetName: job.id.setName }));
  job.recordHotSiteCheck(upkeep.events, upkeep.unrepaired);
  return true;
}

/**
 * `UnrepairedDamage` (issue 16 item 3): the objects found damaged at the hot-site that no copy could repair (the
 * upkeep's and the base-FULL check's), 0 when all were intact or repaired — so the alarm returns to OK once a later
 * job finds nothing left. A metric that cannot be published is a logged warning (metrics.ts).
 */
async function unrepairedDamageMetricStep(job: Phase1Job, metrics: MetricsPublisher): Promise<void> {
  await metrics.publish(MetricName.UnrepairedDamage, job.unrepaired, 'Count');
}

/**
 * The backup type and its base: a DIFFERENTIAL needs the open cycle's FULL — the newest FULL complete in the phase-1
 * destination or at the hot-site — intact in at least one copy (checked and repaired at the hot-site first when it can
 * be reached) — otherwise it is promoted to FULL, with the reason
 * (dump-plan.ts); a LOG point continues the open cycle's newest point in any copy (log-plan.ts).
 * @throws CommserveDrError `LOG_NOT_POSSIBLE` when a LOG point has no usable base (before any SET folder exists).
 */
async function planBackupType(job: Phase1Job, settings: Settings, engine: DatabaseEngine, upkeep: Omit<UpkeepOptions, 'jobSetName'> | null): Promise<void> {
  if (job.requestedType === BackupType.Log) {
    // The hot-site's SETs count too: after a day the destination could not be written, the newest point is there (issue 15).
    const hotSite = upkeep ? { s3: upkeep.s3, bucket: settings.HotSite.bucket, stateDirectory: settings.StateDirectory } : null;
    const plan = await job.timed('plan', () => planLog(settings, engine, hotSite));
    if ('refuse' in plan) throw new CommserveDrError('LOG_NOT_POSSIBLE', `no LOG point taken: ${plan.refuse}`);
    job.logBase = plan.base;
    return;
  }
  if (job.requestedType !== BackupType.Differential) return;
  const checkFull = async (full: string): Promise<string | null> => {
    if (!upkeep) {
      job.note('warning', 'BASE_FULL_NOT_CHECKED', `the hot-site copy of ${full} was not checked: the hot-site cannot be reached`);
      return null;
    }
    const checked = await baseFullProblem(upkeep, full);
    job.recordHotSiteCheck(checked.events, checked.unrepaired);
    return checked.problem;
  };
  // The hot-site's SETs count too (a FULL staged there on a day the destination could not be written, issue 15).
  const hotSite = upkeep ? { s3: upkeep.s3, bucket: settings.HotSite.bucket, stateDirectory: settings.StateDirectory } : null;
  const plan = await job.timed('plan', () => planDifferential(settings, engine, checkFull, hotSite));
  if ('promote' in plan) job.promote(plan.promote);
  else job.base = plan.base;
}

/** Complete local SETs the hot-site lacks (an earlier job could not reach it) are uploaded first (manifest last). */
async function refillStep(job: Phase1Job, settings: Settings, s3: S3Client): Promise<void> {
  try {
    const refill = await refillHotSite(s3, settings.HotSite.bucket, settings.Phase1Destination, job.logger);
    if (refill.uploaded.length > 0) job.note('info', 'HOTSITE_REFILLED', `re-filled the hot-site with ${refill.uploaded.join(', ')} from the phase-1 destination (${refill.bytes} bytes)`);
    for (const r of refill.repaired) job.note('warning', 'HOTSITE_FILE_RESTORED', `${r.setName}: ${r.file} was missing at the hot-site (or of the wrong size) and was put back from the ${r.from} copy`);
    for (const s of refill.skipped.filter((x) => !x.reason.startsWith('incomplete'))) job.note('warning', 'REFILL_SKIPPED', `${s.setName} not re-uploaded: ${s.reason}`);
  } catch (error) {
    job.note('warning', 'REFILL_FAILED', `re-filling the hot-site from the phase-1 destination failed: ${describeError(error)}; the next job tries again`);
  }
}

/** `--shrink`: the integrity check first (VACUUM rewrites the database), then the shrink. @returns the verdict. */
async function shrinkStep(job: Phase1Job, options: BuildSetOptions): Promise<Integrity> {
  const verdict = await new IntegrityCheck(job, options).settle();
  await job.timed('shrink', () => options.engine.shrink());
  return verdict;
}

/**
 * Writes the SET in the phase-1 destination, or — when the destination cannot be written (skipped up front, or full,
 * read-only, refused while the SET was being written) — in a private staging folder from which it goes straight to the
 * hot-site. A full destination is not retried: the partial SET is removed at once and the staging folder takes it.
 * @throws DestinationError `NO_COPY_POSSIBLE` when neither can take the SET (staging too full, or the upload failed).
 */
async function writeSet(job: Phase1Job, settings: Settings, s3: S3Client, destination: DestinationState, hotSite: HotSiteState, options: BuildSetOptions): Promise<WrittenSet> {
  const targets: Array<'local' | 'staging'> = [...(destination.writable ? ['local' as const] : []), ...(hotSite.reachable ? ['staging' as const] : [])];
  const problems: string[] = destination.writable ? [] : [destination.reason];
  for (const [i, target] of targets.entries()) {
    const root = target === 'local' ? null : mkdtempSync(join(tmpdir(), 'commserve-dr-staging-'));
    const setDir = root ? join(root, job.id.setName) : join(settings.Phase1Destination, job.id.setName);
    const remove = () => rmSync(root ?? setDir, { recursive: true, force: true });
    let committed = false;
    // Interrupted before the manifest (SIGINT/SIGTERM): remove the incomplete SET folder on the way out.
    const forgetInterrupt = onInterrupt(() => {
      if (committed && !root) return undefined; // a committed local SET stays (the job's Killed record says so)
      remove();
      return committed ? `the staging copy of ${job.id.setName} (${root}) was removed` : `the unfinished ${job.id.setName} was removed from ${root ?? settings.Phase1Destination}`;
    });
    const upload = new SetUploadSession(hotSite.reachable ? s3 : null, settings.HotSite.bucket);
    try {
      mkdirSync(setDir);
      job.journal.stage(target === 'local' ? 'write SET' : 'write SET (staging)');
      const built = await buildSet(job, setDir, upload, options);
      if (target === 'staging' && upload.failure) {
        throw new DestinationError('NO_COPY_POSSIBLE', `no copy of the SET could be written: ${problems.join('; ')}, and the upload to the hot-site failed: ${upload.failure.message}`, { cause: upload.failure });
      }
      committed = true;
      return { built, setDir, local: target === 'local', upload, removeStaging: () => (root ? remove() : undefined), forgetInterrupt };
    } catch (error) {
      forgetInterrupt();
      await upload.close();
      remove();
      if (!isDestinationWriteFailure(error)) throw error;
      const where = target === 'local' ? `phase-1 destination ${settings.Phase1Destination}` : `staging area ${root}`;
      const why = localWriteCode(error) ? errnoInWords(localWriteCode(error)!) : describeError(error);
      problems.push(`the ${where} cannot hold the SET: ${why}`);
      if (i + 1 < targets.length) {
        job.note('error', 'DESTINATION_FULL', `the ${where} cannot hold ${job.id.setName}: ${why}; the partial SET was removed, the SET goes straight to the hot-site from a staging area`);
        continue;
      }
      throw new DestinationError('NO_COPY_POSSIBLE', `no copy of the SET could be written: ${problems.join('; ')}${hotSite.reachable ? '' : `, and ${hotSite.reason}`}`, { cause: error });
    }
  }
  throw new DestinationError('NO_COPY_POSSIBLE', `no copy of the SET could be written: ${problems.join('; ')}`);
}

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

/** What a new manifest records of its predecessor (issue 21 manifest hash chain). */
type ChainLink = Awaited<ReturnType<typeof predecessorForNewManifest>>;

/**
 * The manifest hash chain (issue 21): the SHA-256 of the previous committed SET's manifest, from the phase-1
 * destination and the hot-site — the local copy alone when the hot-site cannot be reached. Never fails the job.
 */
async function manifestChainStep(job: Phase1Job, settings: Settings, s3: S3Client, written: WrittenSet, hotSite: HotSiteState): Promise<ChainLink> {
  const local = written.local ? settings.Phase1Destination : null;
  const warn = (message: string) => job.note('warning', 'MANIFEST_CHAIN', message);
  if (hotSite.reachable) return predecessorForNewManifest(local, { s3, bucket: settings.HotSite.bucket }, job.id.jobId, warn);
  try {
    const link = await previousManifestLink(local, null, job.id.jobId);
    return link ? { previousManifest: link } : {};
  } catch (error) {
    warn(`manifest chain: no predecessor recorded (${describeError(error)})`);
    return {};
  }
}

/** The manifest, last, with fsync + rename: the local commit (or the staged SET's, before its upload). */
function commitSet(job: Phase1Job, settings: Settings, written: WrittenSet, chain: ChainLink): Manifest {
  const { built } = written;
  if (written.upload.failure) {
    job.note('error', 'HOTSITE_UPLOAD_FAILED', `${written.upload.failure.message}: the SET is committed in the phase-1 destination only; the next job re-fills the hot-site`);
  }
  // LOG points skipped while this job (or an earlier one) held the lock: recorded in this SET and job record.
  job.events.push(...collectSkippedLogs(settings.StateDirectory));
  const { jobId, setName: name, startTime } = job.id;
  const identity = job.backupType === BackupType.Full ? { ...built.dump.identity, details: { ...built.dump.identity.details, ...built.cycleDetails } } : built.dump.identity;
  const manifestInput: ManifestInput = {
    formatVersion: 1,
    product: 'commserve-dr',
    jobId,
    setName: name,
    backupType: job.backupType,
    cycleId: built.cycleId,
    // The FULL's name as recorded in its manifest (a legacy SET_042 stays SET_042: core/set-id.ts).
    baseFullSet: job.backupType === BackupType.Full ? null : (job.base ?? job.logBase!.full).manifest.setName,
    promotion: job.promotion,
    ...(job.logBase ? { previousSet: job.logBase.previous.manifest.setName } : {}),
    pointTime: built.pointTime,
    startTime,
    endTime: new Date().toISOString(),
    agentVersion: AGENT_VERSION,
    hostname: hostname(),
    database: identity,
    integrity: built.integrity,
    registry: built.registry,
    firewall: built.firewall,
    files: built.files,
    events: job.events,
    ...(settings.Database.engine === 'sqlite' ? { differentialFormat: { ...DIFFERENTIAL_FORMAT } } : {}),
    ...chain,
  };
  const manifestBytes = serializeManifest(manifestInput);
  faultPoint('before-manifest');
  writeFileDurably(join(written.setDir, MANIFEST_FILE), manifestBytes);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
  const bytes = manifest.files.reduce((sum, f) => sum + f.size, 0);
  if (written.local) job.journal.committed({ phase1Destination: written.setDir, bytes, events: job.events }, 'committed');
  job.logger.info({ jobId, files: manifest.files.length, bytes }, written.local ? 'SET written to the phase-1 destination' : 'SET staged (the phase-1 destination cannot hold it)');
  return manifest;
}

/**
 * The hot-site commit: the manifest, sent after every other file arrived. @returns whether the SET is at the hot-site.
 * @throws DestinationError `NO_COPY_POSSIBLE` when the SET was only staged and its manifest cannot be uploaded.
 */
async function uploadManifestStep(job: Phase1Job, settings: Settings, s3: S3Client, written: WrittenSet, manifest: Manifest): Promise<boolean> {
  if (!written.upload.uploading) return false;
  faultPoint('after-commit');
  try {
    await job.timed('manifestUpload', () => uploadManifest(s3, settings.HotSite.bucket, written.setDir, manifest));
  } catch (error) {
    if (!written.local) throw new DestinationError('NO_COPY_POSSIBLE', `no copy of the SET could be written: the phase-1 destination cannot hold it, and ${describeError(error)}`, { cause: error });
    job.note('error', 'HOTSITE_UPLOAD_FAILED', `${describeError(error)}: the SET is committed in the phase-1 destination only; the next job re-fills the hot-site`);
    return false;
  }
  const prefix = setPrefix('sets', job.id.jobId);
  job.journal.committed({ hotSite: `s3://${settings.HotSite.bucket}/${prefix}`, events: job.events }, 'hot-site committed');
  job.logger.info({ jobId: job.id.jobId, bucket: settings.HotSite.bucket, prefix }, 'SET uploaded to the hot-site');
  return true;
}

/**
 * Once the SET is at the hot-site: its age as `RpoSeconds` (SPEC §4.5: the newest restorable point there is now this
 * SET's) and RECOVERY.md rewritten to name it (issue 16 item 7). Neither failure fails the job: each is a warning.
 */
async function afterHotSiteCommitStep(job: Phase1Job, settings: Settings, s3: S3Client, metrics: MetricsPublisher, pointTime: string): Promise<void> {
  const warn = (what: string) => (error: unknown) => job.logger.warn(`${what}: ${describeError(error)}`);
  await metrics.publish(MetricName.RpoSeconds, Math.max(0, (Date.now() - Date.parse(pointTime)) / 1000), 'Seconds').catch(warn('RPO metric not published'));
  await job.timed('recoveryMd', () => writeRecoveryMd(s3, settings, `job ${job.id.setName}`)).catch(warn('RECOVERY.md not rewritten'));
}

/** The SET summary phase 1 reports (Completed, or Completed With One or More Errors when a copy or a part is missing). */
function phase1Result(job: Phase1Job, settings: Settings, written: WrittenSet, manifest: Manifest, hotSiteUploaded: boolean): Phase1Result {
  const { jobId, setName: name, startTime } = job.id;
  // check-failed ("check failed — not corruption"): no job-activity change, but the job is not clean (alarm).
  const integrity = written.built.integrity.status;
  const partial = written.built.partial || !written.local || !hotSiteUploaded || integrity === 'corrupt' || integrity === 'check-failed' || job.unrepaired > 0;
  return {
    jobId,
    setName: name,
    backupType: job.backupType,
    requestedType: job.requestedType,
    cycleId: written.built.cycleId,
    bucket: settings.HotSite.bucket,
    setPrefix: setPrefix('sets', jobId),
    manifestKey: setObjectKey('sets', jobId, MANIFEST_FILE),
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    phase1Destination: written.local ? written.setDir : null,
    hotSiteUploaded,
    integrity: written.built.integrity.status,
    ...(written.built.integrity.status === 'corrupt' ? { integrityFindings: describeIntegrityFindings(written.built.integrity.messages) } : {}),
    pointTime: written.built.pointTime,
    status: partial ? JobStatus.CompletedWithErrors : JobStatus.Completed,
    startTime,
    endTime: new Date().toISOString(),
    durationsMs: job.durationsMs,
    events: job.events,
  };
}

/** Any failure as a CommserveDrError (file system errors named in words). */
function asPhase1Error(error: unknown): CommserveDrError {
  if (error instanceof CommserveDrError) return error;
  const code = localWriteCode(error);
  const detail = code ? `${(error as Error).message.replace(/^[A-Z_]+: [^,]+, /, '')}: ${errnoInWords(code)}` : (error as Error).message;
  return new CommserveDrError('PHASE1_FAILED', `phase 1 failed: ${detail}`, { cause: error });
}
