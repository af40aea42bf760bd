/**
 * No half-finished jobs (issue 16 item 5): at its start a job finds SETs committed at the hot-site (manifest present)
 * that have no job record, or no archive copy while their record does not say phase 2 archived them — a job killed
 * or interrupted between the hot-site commit and the end of phase 2 — and finishes their phase 2 with the phase-2 code
 * itself (ValidateSet, ArchiveSet, ReportJob handlers, in-process), recording them *Completed With One or More Errors*
 * with the reason (in the phase-1 destination's history and `jobs/<id>.json` at the hot-site).
 *
 * A SET is left alone while its phase 2 may still be running in the cloud: for
 * `ArchiveRetryCount × ArchiveRetryIntervalMinutes + 60` minutes after its manifest's end time (the state machine's
 * archive retries, plus an hour for the other states).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
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

/** A SET whose phase 2 this job finished (or tried to). */
export interface FinishedSet {
  setName: string;
  /** Why it was half-finished. */
  reason: string;
  /** The record written (status, phase 2). */
  record: JobRecord | null;
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
  if (toFinish.length > 0) await options.beforeFinishing?.(toFinish.map((t) => t.name));
  for (const { name, reason, record, manifest } of toFinish) {
    const event: JobEvent = {
      time: now().toISOString(),
      level: 'error',
      code: 'JOB_NOT_FINISHED',
      message: `${name} was committed at the hot-site but ${reason}; phase 2 finished by ${options.byJob ?? 'a later job'}`,
    };
    const localDir = join(settings.Phase1Destination, name);
    const phase1 = phase1FromManifest(manifest, bucket, existsSync(join(localDir, MANIFEST_FILE)) ? localDir : null, event);
    if (record) phase1.events = [...record.events, event];
    try {
      const written = await runPhase2(s3, settings, phase1, now);
      tryRecordJob(settings.Phase1Destination, written, (e) => logger.warn(`job record of ${name} not written to the phase-1 destination: ${describeError(e)}`));
      finished.push({ setName: name, reason, record: written });
      logger.warn({ setName: name, status: written.status, phase2: written.phase2 }, `finished phase 2 of ${name}: ${reason}`);
    } catch (error) {
      finished.push({ setName: name, reason, record: null, error: describeError(error) });
    }
  }
  return finished;
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
  return finished.map((f): JobEvent =>
    f.record
      ? {
          time,
          level: 'warning',
          code: 'HALF_FINISHED_JOB',
          message: `${f.setName}: ${f.reason}; its phase 2 was finished now (${f.record.phase2}) and it is recorded ${f.record.status}`,
        }
      : { time, level: 'error', code: 'HALF_FINISHED_JOB', message: `${f.setName}: ${f.reason}; its phase 2 could not be finished: ${f.error ?? 'unknown'}` },
  );
}
