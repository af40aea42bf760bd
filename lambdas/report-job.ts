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
 * Metrics (SPEC §4.3 step 3, `core/metrics.ts`): when `METRIC_NAMESPACE` is set, the record is also
 * published with PutMetricData — `JobSucceeded` and `JobFailed` (1/0), `BytesProtected` (the SET's
 * bytes, for a job with a SET) and `JobDurationSeconds` (start to report, when the start is known),
 * each with the dimension `Cell` = `METRIC_CELL`. A metrics failure is logged, never fails the report:
 * the record is what counts, and the Step Functions execution metrics cover the alarms meanwhile.
 *
 * Input: the state input (`ReportJobInput`). Output: the `JobRecord` (`$.report`); the state machine
 * then ends in JobFailed when `status` is Failed, JobSucceeded otherwise.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { decideJobRecord, ReportJobInputSchema, type JobRecord, type ReportJobInput } from '#core/job';
import { jobRecordKey, JOBS_PREFIX } from '#core/hotsite-layout';
import { JobStatus } from '#core/job-status';
import { DrMetricName, metricDimensions } from '#core/metrics';
import { BackupType } from '#core/set-id';
import { hotSiteBucketFromEnv, metricsTargetFromEnv, type MetricsTarget } from './shared/env';
import { ReportJobError } from './shared/errors';
import { describeIssues } from './shared/input';
import { lazyHandler } from './shared/lazy';
import { jsonLog, silentLog, type Log } from './shared/log';
import { describeS3Error, s3ClientFromEnv } from './shared/s3';
import { describeError } from '#core/errors';

/** Name of the state this handler serves. */
export const STATE_NAME = 'ReportJob';

/** Dependencies of the ReportJob handler. */
export interface ReportJobDeps {
  s3: S3Client;
  /** The hot-site bucket the record is written to. */
  bucket: string;
  /** Clock (ISO-8601 UTC); default `new Date().toISOString()`. */
  now?: () => string;
  /** Where to publish the job metrics; default none (nothing published). */
  metrics?: { cloudwatch: CloudWatchClient } & MetricsTarget;
  log?: Log;
}

/** The metric data of a job record (see the module comment); timestamps are the record's end time. */
export function jobMetricData(record: JobRecord, cell: string): MetricDatum[] {
  const Dimensions = metricDimensions(cell);
  const Timestamp = new Date(record.endTime);
  const failed = record.status === JobStatus.Failed || record.status === JobStatus.Killed;
  const data: MetricDatum[] = [
    { MetricName: DrMetricName.JobSucceeded, Value: failed ? 0 : 1, Unit: 'Count', Dimensions, Timestamp },
    { MetricName: DrMetricName.JobFailed, Value: failed ? 1 : 0, Unit: 'Count', Dimensions, Timestamp },
  ];
  if (!failed) data.push({ MetricName: DrMetricName.BytesProtected, Value: record.bytes, Unit: 'Bytes', Dimensions, Timestamp });
  const started = record.startTime ? Date.parse(record.startTime) : Number.NaN;
  const ended = Date.parse(record.endTime);
  if (Number.isFinite(started) && Number.isFinite(ended)) {
    data.push({ MetricName: DrMetricName.JobDurationSeconds, Value: Math.max(0, (ended - started) / 1000), Unit: 'Seconds', Dimensions, Timestamp });
  }
  return data;
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
  const { s3, bucket, now = () => new Date().toISOString(), metrics, log = silentLog } = deps;
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
    if (metrics) {
      try {
        await metrics.cloudwatch.send(new PutMetricDataCommand({ Namespace: metrics.namespace, MetricData: jobMetricData(record, metrics.cell) }));
      } catch (error) {
        log({ level: 'warn', message: `job metrics not published to ${metrics.namespace}: ${describeError(error)}` });
      }
    }
    return record;
  };
}

/**
 * The Lambda entry point: `makeReportJobHandler` over an S3 client from the Lambda environment and
 * `HOT_SITE_BUCKET`, with metrics when `METRIC_NAMESPACE` is set (`METRIC_CELL`, default `default`),
 * built on the first invocation.
 * @throws EnvironmentError when `HOT_SITE_BUCKET` is missing or invalid.
 */
export const handler = lazyHandler(() => {
  const target = metricsTargetFromEnv();
  return makeReportJobHandler({
    s3: s3ClientFromEnv(),
    bucket: hotSiteBucketFromEnv(),
    ...(target ? { metrics: { ...target, cloudwatch: new CloudWatchClient({ maxAttempts: 2 }) } } : {}),
    log: jsonLog(STATE_NAME),
  });
});
