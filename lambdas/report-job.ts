/**
 * ReportJob — the last task of every DR job execution (SPEC §4.3 step 3, §4.4): decides the job's
 * status from what the previous states added (`core/job.ts` `decideJobRecord`) and writes the job
 * history record to the hot-site: `jobs/<jobId>.json`, or `jobs/failed-<ISO time>.json` when phase 1
 * never reported a job id.
 *
 * It always writes a record, even for an input that does not satisfy `ReportJobInput` (e.g. a
 * malformed phase-1 result sent by an agent): that job is recorded as Failed with an event naming
 * the offending fields, because an execution without a record would be invisible in the history.
 *
 * Input: the state input (`ReportJobInput`). Output: the `JobRecord` (`$.report`); the state machine
 * then ends in JobFailed when `status` is Failed, JobSucceeded otherwise.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decideJobRecord, ReportJobInputSchema, type JobRecord, type ReportJobInput } from '#core/job';
import { jobRecordKey, JOBS_PREFIX } from '#core/hotsite-layout';
import { BackupType } from '#core/set-id';
import { hotSiteBucketFromEnv } from './shared/env';
import { ReportJobError } from './shared/errors';
import { describeIssues } from './shared/input';
import { lazyHandler } from './shared/lazy';
import { jsonLog, silentLog, type Log } from './shared/log';
import { describeS3Error, s3ClientFromEnv } from './shared/s3';

/** Name of the state this handler serves. */
export const STATE_NAME = 'ReportJob';

/** Dependencies of the ReportJob handler. */
export interface ReportJobDeps {
  s3: S3Client;
  /** The hot-site bucket the record is written to. */
  bucket: string;
  /** Clock (ISO-8601 UTC); default `new Date().toISOString()`. */
  now?: () => string;
  log?: Log;
}

/** Key of a job record: `jobs/<jobId>.json`, or `jobs/failed-<ISO time>.json` without a job id. */
export function reportKey(record: JobRecord): string {
  return record.jobId !== null ? jobRecordKey(record.jobId) : `${JOBS_PREFIX}failed-${record.endTime}.json`;
}

/**
 * The input as a `ReportJobInput`. When it does not satisfy the schema, a stand-in input that
 * `decideJobRecord` turns into a Failed record whose event lists the offending fields.
 */
export function reportInput(event: unknown): ReportJobInput {
  const parsed = ReportJobInputSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  const raw = (typeof event === 'object' && event !== null ? event : {}) as { backupType?: unknown };
  const backupType = raw.backupType === BackupType.Differential ? BackupType.Differential : BackupType.Full;
  return {
    backupType,
    error: { Error: 'InvalidInputError', Cause: `ReportJob input is invalid: ${describeIssues(parsed.error)}` },
  };
}

/**
 * Builds the ReportJob handler.
 * @returns `(event) => JobRecord` after writing it as JSON to the bucket (see `reportKey`).
 * @throws ReportJobError when the record cannot be written.
 */
export function makeReportJobHandler(deps: ReportJobDeps): (event: unknown) => Promise<JobRecord> {
  const { s3, bucket, now = () => new Date().toISOString(), log = silentLog } = deps;
  return async (event) => {
    const record = decideJobRecord(reportInput(event), bucket, now());
    const key = reportKey(record);
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: `${JSON.stringify(record, null, 2)}\n`,
          ContentType: 'application/json',
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      throw new ReportJobError(`cannot write job record ${key} to bucket ${bucket}: ${describeS3Error(error)}`, { cause: error });
    }
    log({ level: record.status === 'Failed' ? 'error' : 'info', message: `job ${record.jobId ?? '(none)'}: ${record.status}`, key, status: record.status });
    return record;
  };
}

/**
 * The Lambda entry point: `makeReportJobHandler` over an S3 client from the Lambda environment and
 * `HOT_SITE_BUCKET`, built on the first invocation.
 * @throws EnvironmentError when `HOT_SITE_BUCKET` is missing or invalid.
 */
export const handler = lazyHandler(() => makeReportJobHandler({ s3: s3ClientFromEnv(), bucket: hotSiteBucketFromEnv(), log: jsonLog(STATE_NAME) }));
