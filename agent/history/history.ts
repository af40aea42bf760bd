/**
 * Job history on the agent side (SPEC §4.4, issue 11): one JSON record per job in
 * `<Phase1Destination>/jobs/<jobId>.json` — beside the SETs, so whoever has the SETs has the history —
 * the same record ReportJob writes to `jobs/<jobId>.json` at the hot-site.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { jobRecordKey, JOBS_PREFIX } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { hotSiteError } from '#agent/hotsite/hot-site';

/** Directory of the history records in the phase-1 destination. */
export function historyDir(phase1Destination: string): string {
  return join(phase1Destination, 'jobs');
}

/** File name of a record: `001.json` as at the hot-site, or `failed-<time>.json` when the job never got an id. */
function recordFileName(record: JobRecord): string {
  return record.jobId !== null ? jobRecordKey(record.jobId).slice(JOBS_PREFIX.length) : `failed-${record.endTime.replace(/[:.]/g, '-')}.json`;
}

/**
 * Writes a job record atomically (temp file + rename).
 * @returns the path written.
 * @throws the file system error when the phase-1 destination cannot be written.
 */
export function recordJob(phase1Destination: string, record: JobRecord): string {
  const dir = historyDir(phase1Destination);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, recordFileName(record));
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/**
 * Like `recordJob`, but a record that cannot be written (the phase-1 destination is unwritable — the job
 * may have failed for that very reason) is reported through `onError` instead of failing the command.
 * @returns the path written, or null.
 */
export function tryRecordJob(phase1Destination: string, record: JobRecord, onError: (error: unknown) => void): string | null {
  try {
    return recordJob(phase1Destination, record);
  } catch (error) {
    onError(error);
    return null;
  }
}

/** Reads every valid local record, by end time; unreadable files are reported through `onInvalid` and skipped. */
export function readHistory(phase1Destination: string, onInvalid: (file: string, error: unknown) => void = () => undefined): JobRecord[] {
  const dir = historyDir(phase1Destination);
  if (!existsSync(dir)) return [];
  const records: JobRecord[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    try {
      records.push(JobRecordSchema.parse(JSON.parse(readFileSync(join(dir, name), 'utf8'))));
    } catch (error) {
      onInvalid(join(dir, name), error);
    }
  }
  return records.sort((a, b) => a.endTime.localeCompare(b.endTime));
}

/**
 * Reads the job records mirrored at the hot-site (`jobs/`), paginated.
 * @throws HotSiteError when the hot-site cannot be listed; a malformed record is reported through `onInvalid`.
 */
export async function readHotSiteHistory(s3: S3Client, bucket: string, onInvalid: (key: string, error: unknown) => void = () => undefined): Promise<JobRecord[]> {
  const records: JobRecord[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: JOBS_PREFIX, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (!object.Key?.endsWith('.json')) continue;
        try {
          const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          records.push(JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8'))));
        } catch (error) {
          onInvalid(object.Key, new Error(describeError(error)));
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw hotSiteError('list the job history', bucket, error);
  }
  return records.sort((a, b) => a.endTime.localeCompare(b.endTime));
}
