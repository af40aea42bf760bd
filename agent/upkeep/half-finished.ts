/**
 * No half-finished jobs (issue 16 item 5): at its start a job finds SETs committed at the hot-site (manifest present)
 * that have no job record, or no archive copy while their record does not say phase 2 archived them — a job killed
 * or interrupted between the hot-site commit and the end of phase 2 — and finishes their phase 2, recorded
 * *Completed With One or More Errors* with the reason:
 * - in AWS (`StateMachineArn` set): an execution of the DR job state machine named after the SET
 *   (`finish-phase2-<SET>`, start-phase2.ts) runs ValidateSet → ArchiveSet → PruneSets → ReportJob under the Lambdas'
 *   roles, exactly as for a job run by hand; the agent's role needs only `states:StartExecution` — never `archive/`
 *   writes (proven by test/iam/iam-proof.test.ts). ReportJob writes `jobs/<id>.json`; a later job that finds the SET
 *   still unfinished is told the execution exists already (Step Functions refuses a second one with that name) and
 *   names it;
 * - with a local stand-in (`HotSite.endpoint`, no state machine): the phase-2 code itself (ValidateSet, ArchiveSet,
 *   ReportJob handlers, in-process), the record in the phase-1 destination's history and `jobs/<id>.json`;
 * - neither: not finished, with the reason (the `StateMachineArn` setting is missing).
 *
 * A SET is left alone while its phase 2 may still be running in the cloud: for
 * `ArchiveRetryCount × ArchiveRetryIntervalMinutes + 60` minutes after its manifest's end time (the state machine's
 * archive retries, plus an hour for the other states).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { Logger } from 'pino';
import { describeError } from '#core/errors';
import { ARCHIVE_PREFIX, JOBS_PREFIX, jobRecordKey, MANIFEST_FILE, parseSetObjectKey, setObjectKey, setPrefix } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord, type Phase1Result, type ReportJobInput } from '#core/job';
import { JobStatus } from '#core/job-status';
import { BackupType, parseSetName, setName } from '#core/set-id';
import type { Manifest, JobEvent } from '#core/manifest';
import type { Settings } from '#core/settings';
import { makeArchiveSetHandler } from '#lambdas/archive-set';
import { makeReportJobHandler } from '#lambdas/report-job';
import { makeValidateSetHandler } from '#lambdas/validate-set';
import { readHistory, tryRecordJob } from '#agent/history/history';
import { hotSiteError, readHotSiteManifest } from '#agent/hotsite/hot-site';
import { sfnClient } from '#agent/aws/clients';
import { phase2Route, startFinishingPhase2, type Phase2Route } from '#agent/commands/backup/start-phase2';

/** A SET whose phase 2 this job finished (or tried to). */
export interface FinishedSet {
  setName: string;
  /** Why it was half-finished. */
  reason: string;
  /** The record written (status, phase 2), when phase 2 ran in-process (local stand-in). */
  record: JobRecord | null;
  /** The state-machine execution running its phase 2 (in AWS: ReportJob writes the record when it ends). */
  execution?: { arn: string; alreadyStarted: boolean };
  /** Why its record could not be written, when it could not. */
  error?: string;
}

/** Options of {@link finishHalfFinishedSets}. */
export interface HalfFinishedOptions {
  s3: S3Client;
  settings: Settings;
  logger: Logger;
  /**
   * SETs committed at the hot-site (manifest present), from the listing the job already made: each its name as listed
   * (legacy `SET_042` or new `SET_0000042`), or a job id for a new-named SET.
   */
  committed: Array<string | number>;
  /** The job finishing them (named in the reason). */
  byJob?: string;
  /** Step Functions client for starting phase 2 on the state machine (default: the agent's client factory). */
  sfn?: SFNClient;
  /** Called with the SET names about to be finished, before their phase 2 runs (the upkeep checks and repairs them). */
  beforeFinishing?: (setNames: string[]) => Promise<void>;
  now?: () => Date;
}

/** Keys under a prefix (paginated). */
async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw hotSiteError(`list ${prefix}`, bucket, error);
  }
  return keys;
}

/** What a committed SET lacks, or null when its job is finished (a record, and an archive copy or a record saying why not). */
export function halfFinishedReason(record: JobRecord | undefined, archived: boolean): string | null {
  if (!record) return archived ? 'its job left no job record' : 'its job left no job record and no archive copy (interrupted after the hot-site commit)';
  if (!archived && record.phase2 !== 'archived' && record.phase2 !== 'failed') return `its job record says ${record.status} with phase 2 ${record.phase2}, and there is no archive copy`;
  return null;
}

/** The phase-1 result phase 2 needs, rebuilt from a committed SET's manifest. */
export function phase1FromManifest(manifest: Manifest, bucket: string, phase1Destination: string | null, reason: JobEvent): Phase1Result {
  return {
    jobId: manifest.jobId,
    setName: manifest.setName,
    backupType: manifest.backupType,
    requestedType: manifest.promotion ? BackupType.Differential : manifest.backupType,
    cycleId: manifest.cycleId,
    bucket,
    setPrefix: setPrefix('sets', manifest.setName),
    manifestKey: setObjectKey('sets', manifest.setName, MANIFEST_FILE),
    files: manifest.files.length,
    bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
    phase1Destination,
    integrity: manifest.integrity.status,
    status: JobStatus.CompletedWithErrors,
    startTime: manifest.startTime,
    endTime: manifest.endTime,
    durationsMs: {},
    events: [...manifest.events, reason],
  };
}

/** Runs ValidateSet → ArchiveSet → ReportJob for one SET as the state machine would, without PruneSets. */
async function runPhase2(s3: S3Client, settings: Settings, phase1: Phase1Result, now: () => Date): Promise<JobRecord> {
  const bucket = settings.HotSite.bucket;
  const input: ReportJobInput = { backupType: phase1.requestedType, phase1 };
  const asStateError = (error: unknown) => ({ Error: (error as { name?: string }).name ?? 'Error', Cause: describeError(error) });
  try {
    input.validation = await makeValidateSetHandler({ s3, bucket })(input);
    try {
      input.archive = await makeArchiveSetHandler({ s3, bucket, storageClass: settings.ArchiveStorageClass, now })(input);
    } catch (error) {
      input.archiveError = asStateError(error);
    }
  } catch (error) {
    input.error = asStateError(error);
  }
  return makeReportJobHandler({ s3, bucket, now: () => now().toISOString() })(input);
}

/**
 * Finds and finishes half-finished SETs (see the module comment).
 * @throws HotSiteError when the hot-site cannot be listed; a SET that cannot be finished is reported in its entry.
 */
export async function finishHalfFinishedSets(options: HalfFinishedOptions): Promise<FinishedSet[]> {
  const { s3, settings, logger } = options;
  const bucket = settings.HotSite.bucket;
  const now = options.now ?? (() => new Date());
  const graceMs = (settings.ArchiveRetryCount * settings.ArchiveRetryIntervalMinutes + 60) * 60_000;
  const archived = new Set(
    (await listKeys(s3, bucket, ARCHIVE_PREFIX))
      .map((k) => parseSetObjectKey(k))
      .filter((p) => p?.file === MANIFEST_FILE)
      .map((p) => p!.jobId),
  );
  const records = new Map(readHistory(settings.Phase1Destination).filter((r) => r.jobId !== null).map((r) => [r.jobId!, r]));
  const remoteRecords = new Set(await listKeys(s3, bucket, JOBS_PREFIX));
  const finished: FinishedSet[] = [];
  const toFinish: Array<{ name: string; reason: string; record: JobRecord | undefined; manifest: Manifest }> = [];
  for (const committed of options.committed) {
    const jobId = typeof committed === 'number' ? committed : parseSetName(committed);
    if (jobId === undefined) continue; // not a SET of this product
    const name = typeof committed === 'string' ? committed : setName(jobId);
    let record = records.get(jobId);
    if (!record && remoteRecords.has(jobRecordKey(jobId))) {
      // A record and an archive copy: finished whatever the record says (halfFinishedReason) — no need to read it,
      // which in AWS (records only at the hot-site) would cost a GetObject per kept SET per job.
      if (archived.has(jobId)) continue;
      record = await readRemoteRecord(s3, bucket, jobId);
      if (!record) continue; // unreadable remote record: not ours to overwrite
    }
    const reason = halfFinishedReason(record, archived.has(jobId));
    if (!reason) continue;
    let manifest: Manifest;
    try {
      manifest = await readHotSiteManifest(s3, bucket, name);
    } catch (error) {
      finished.push({ setName: name, reason, record: null, error: `its manifest is unreadable: ${describeError(error)}` });
      continue;
    }
    if (now().getTime() - Date.parse(manifest.endTime) < graceMs) continue; // phase 2 may still be running
    toFinish.push({ name, reason, record, manifest });
  }
  if (toFinish.length === 0) return finished;
  await options.beforeFinishing?.(toFinish.map((t) => t.name));
  const route = finishingRoute(settings);
  for (const { name, reason, record, manifest } of toFinish) {
    finished.push(await finishOne({ ...options, now, route, name, reason, record, manifest }));
  }
  return finished;
}

/** Where phase 2 of a half-finished SET runs (see the module comment), or why it cannot. */
function finishingRoute(settings: Settings): Phase2Route | { kind: 'none'; reason: string } {
  try {
    return phase2Route(settings);
  } catch (error) {
    return { kind: 'none', reason: describeError(error) };
  }
}

/** Finishes one SET's phase 2 on its route; never throws (a failure is the entry's `error`). */
async function finishOne(
  options: HalfFinishedOptions & { now: () => Date; route: ReturnType<typeof finishingRoute>; name: string; reason: string; record: JobRecord | undefined; manifest: Manifest },
): Promise<FinishedSet> {
  const { s3, settings, logger, now, route, name, reason, record, manifest } = options;
  if (route.kind === 'none') return { setName: name, reason, record: null, error: route.reason };
  const finisher = route.kind === 'state-machine' ? `the DR job state machine, started by ${options.byJob ?? 'a later job'}` : (options.byJob ?? 'a later job');
  const event: JobEvent = {
    time: now().toISOString(),
    level: 'error',
    code: 'JOB_NOT_FINISHED',
    message: `${name} was committed at the hot-site but ${reason}; phase 2 finished by ${finisher}`,
  };
  const localDir = join(settings.Phase1Destination, name);
  const phase1 = phase1FromManifest(manifest, settings.HotSite.bucket, existsSync(join(localDir, MANIFEST_FILE)) ? localDir : null, event);
  if (record) phase1.events = [...record.events, event];
  try {
    if (route.kind === 'state-machine') {
      const started = await startFinishingPhase2(options.sfn ?? sfnClient(settings.HotSite), route.stateMachineArn, phase1);
      logger.warn({ setName: name, executionArn: started.executionArn, alreadyStarted: started.alreadyStarted }, `phase 2 of ${name} on the state machine: ${reason}`);
      return { setName: name, reason, record: null, execution: { arn: started.executionArn, alreadyStarted: started.alreadyStarted } };
    }
    const written = await runPhase2(s3, settings, phase1, now);
    tryRecordJob(settings.Phase1Destination, written, (e) => logger.warn(`job record of ${name} not written to the phase-1 destination: ${describeError(e)}`));
    logger.warn({ setName: name, status: written.status, phase2: written.phase2 }, `finished phase 2 of ${name}: ${reason}`);
    return { setName: name, reason, record: written };
  } catch (error) {
    return { setName: name, reason, record: null, error: describeError(error) };
  }
}

async function readRemoteRecord(s3: S3Client, bucket: string, jobId: number): Promise<JobRecord | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: jobRecordKey(jobId) }));
    return JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8')));
  } catch {
    return undefined;
  }
}

/** The job events saying what {@link finishHalfFinishedSets} did. */
export function halfFinishedEvents(finished: FinishedSet[], time: string): JobEvent[] {
  return finished.map((f): JobEvent => {
    if (f.record) {
      return {
        time,
        level: 'warning',
        code: 'HALF_FINISHED_JOB',
        message: `${f.setName}: ${f.reason}; its phase 2 was finished now (${f.record.phase2}) and it is recorded ${f.record.status}`,
      };
    }
    if (f.execution && !f.execution.alreadyStarted) {
      return {
        time,
        level: 'warning',
        code: 'HALF_FINISHED_JOB',
        message: `${f.setName}: ${f.reason}; its phase 2 was started on the DR job state machine (${f.execution.arn}), which records it Completed With One or More Errors when it ends`,
      };
    }
    if (f.execution) {
      return {
        time,
        level: 'error',
        code: 'HALF_FINISHED_JOB',
        message: `${f.setName}: ${f.reason}; an earlier job started its phase 2 on the DR job state machine (${f.execution.arn}) and it has not archived and recorded the SET: see that execution's history`,
      };
    }
    return { time, level: 'error', code: 'HALF_FINISHED_JOB', message: `${f.setName}: ${f.reason}; its phase 2 could not be finished: ${f.error ?? 'unknown'}` };
  });
}
