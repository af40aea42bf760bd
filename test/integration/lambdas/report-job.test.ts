import { CloudWatchClient, GetMetricDataCommand, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { JobRecordSchema, type ReportJobInput } from '#core/job';
import { jobMetricData, makeReportJobHandler } from '#lambdas/report-job';
import { ReportJobError } from '#lambdas/shared/errors';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { BUCKET, createBucket, defaultFiles, makeSet } from './fixtures';

const NOW = '2026-11-29T17:30:00.000Z';

describe('ReportJob (moto)', () => {
  useMoto();
  const s3 = motoS3Client();
  const report = makeReportJobHandler({ s3, bucket: BUCKET, now: () => NOW });
  const { phase1 } = makeSet(1, defaultFiles('single'));

  beforeEach(() => createBucket(s3));

  async function readRecord(key: string): Promise<unknown> {
    const response = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(response.ContentType).toBe('application/json');
    return JSON.parse(await response.Body!.transformToString());
  }

  it('writes jobs/<jobId>.json for a completed job and returns the record', async () => {
    const input: ReportJobInput = {
      backupType: 'FULL',
      phase1,
      validation: { files: 3, bytes: phase1.bytes, checkedBy: { s3Checksum: 3, streamedHash: 0 } },
      archive: { storageClass: 'GLACIER', prefix: 'archive/SET_0000001/', objects: 4, bytes: phase1.bytes + 900, multipartCopies: 0 },
    };

    const record = await report(input);

    expect(record).toMatchObject({
      jobId: 1,
      setName: 'SET_0000001',
      status: 'Completed',
      endTime: NOW,
      phase2: 'archived',
      copies: { hotSite: `s3://${BUCKET}/sets/SET_0000001/`, archive: `s3://${BUCKET}/archive/SET_0000001/` },
    });
    expect(JobRecordSchema.parse(record)).toEqual(record);
    expect(await readRecord('jobs/001.json')).toEqual(record);
  });

  it('records Completed With One or More Errors when the archive copy failed after its retries', async () => {
    const record = await report({
      phase1,
      validation: { files: 3, bytes: phase1.bytes, checkedBy: { s3Checksum: 3, streamedHash: 0 } },
      archiveError: { Error: 'ArchiveCopyError', Cause: JSON.stringify({ errorType: 'ArchiveCopyError', errorMessage: 'copying x failed: SlowDown' }) },
    });
    expect(record.status).toBe('Completed With One or More Errors');
    expect(record.phase2).toBe('failed');
    expect(record.events.at(-1)).toMatchObject({ code: 'ArchiveCopyError', message: 'phase 2 archive copy failed: copying x failed: SlowDown' });
    expect(await readRecord('jobs/001.json')).toEqual(record);
  });

  it('records Failed when validation failed', async () => {
    const record = await report({ phase1, error: { Error: 'SetValidationError', Cause: '{"errorMessage":"sets/SET_0000001/FwPorts.txt is missing"}' } });
    expect(record.status).toBe('Failed');
    expect(record.events.at(-1)?.message).toBe('SET validation failed: sets/SET_0000001/FwPorts.txt is missing');
    expect(await readRecord('jobs/001.json')).toEqual(record);
  });

  it('writes jobs/failed-<ISO time>.json when phase 1 never reported a job', async () => {
    const record = await report({ backupType: 'DIFFERENTIAL', error: { Error: 'States.HeartbeatTimeout', Cause: 'no heartbeat' } });
    expect(record).toMatchObject({ jobId: null, status: 'Failed', backupType: 'DIFFERENTIAL', phase2: 'not-run' });
    expect(await readRecord(`jobs/failed-${NOW}.json`)).toEqual(record);
  });

  it('still writes a Failed record for an input that is not a ReportJobInput', async () => {
    const record = await report({ backupType: 'FULL', phase1: { jobId: 'seven' } });
    expect(record.status).toBe('Failed');
    expect(record.events.at(-1)).toMatchObject({ code: 'InvalidInputError', message: expect.stringMatching(/ReportJob input is invalid: phase1\.jobId/) });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'jobs/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual([`jobs/failed-${NOW}.json`]);
  });

  it('fails with ReportJobError naming the key and bucket when the record cannot be written', async () => {
    const handler = makeReportJobHandler({ s3, bucket: 'no-such-bucket-here', now: () => NOW });
    const error = await handler({ phase1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReportJobError);
    expect((error as Error).name).toBe('ReportJobError');
    expect((error as Error).message).toMatch(/cannot write job record jobs\/001\.json to bucket no-such-bucket-here: NoSuchBucket/);
  });

  describe('metrics (moto CloudWatch)', () => {
    const cloudwatch = () =>
      new CloudWatchClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const completedInput: ReportJobInput = {
      backupType: 'FULL',
      phase1,
      validation: { files: 3, bytes: phase1.bytes, checkedBy: { s3Checksum: 3, streamedHash: 0 } },
      archive: { storageClass: 'GLACIER', prefix: 'archive/SET_0000001/', objects: 4, bytes: phase1.bytes + 900, multipartCopies: 0 },
    };

    async function values(cw: CloudWatchClient, name: string): Promise<number[]> {
      const response = await cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(Date.parse(NOW) - 3_600_000),
          EndTime: new Date(Date.parse(NOW) + 3_600_000),
          MetricDataQueries: [
            { Id: 'm', MetricStat: { Metric: { Namespace: 'CommServeDR', MetricName: name, Dimensions: [{ Name: 'Cell', Value: 'paris' }] }, Period: 60, Stat: 'Sum' } },
          ],
        }),
      );
      return response.MetricDataResults?.[0]?.Values ?? [];
    }

    it('publishes JobSucceeded, JobFailed, BytesProtected and JobDurationSeconds with the Cell dimension', async () => {
      const cw = cloudwatch();
      const handler = makeReportJobHandler({ s3, bucket: BUCKET, now: () => NOW, metrics: { cloudwatch: cw, namespace: 'CommServeDR', cell: 'paris' } });

      const record = await handler(completedInput);

      expect(record.status).toBe('Completed');
      const listed = await cw.send(new ListMetricsCommand({ Namespace: 'CommServeDR' }));
      expect(listed.Metrics?.map((m) => m.MetricName).sort()).toEqual(['BytesProtected', 'JobDurationSeconds', 'JobFailed', 'JobSucceeded']);
      for (const metric of listed.Metrics ?? []) expect(metric.Dimensions).toEqual([{ Name: 'Cell', Value: 'paris' }]);
      expect(await values(cw, 'JobSucceeded')).toEqual([1]);
      expect(await values(cw, 'JobFailed')).toEqual([0]);
      expect(await values(cw, 'BytesProtected')).toEqual([phase1.bytes]);
      // phase 1 started 17:00:00, the report is at 17:30:00
      expect(await values(cw, 'JobDurationSeconds')).toEqual([1800]);
    });

    it('publishes JobFailed = 1 and no BytesProtected for a Failed job', () => {
      const record = { ...decideFailed(), endTime: NOW };
      const data = jobMetricData(record, 'default');
      expect(data.map((d) => [d.MetricName, d.Value, d.Unit])).toEqual([
        ['JobSucceeded', 0, 'Count'],
        ['JobFailed', 1, 'Count'],
      ]);
      expect(data[0].Dimensions).toEqual([{ Name: 'Cell', Value: 'default' }]);
    });

    it('logs a metrics failure and still writes and returns the record', async () => {
      const entries: Array<Record<string, unknown>> = [];
      const broken = new CloudWatchClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const handler = makeReportJobHandler({
        s3,
        bucket: BUCKET,
        now: () => NOW,
        metrics: { cloudwatch: broken, namespace: 'CommServeDR', cell: 'paris' },
        log: (e) => entries.push(e),
      });

      const record = await handler(completedInput);

      expect(record.status).toBe('Completed');
      expect(await readRecord('jobs/001.json')).toEqual(record);
      expect(entries).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^job metrics not published to CommServeDR: /) }));
    });
  });
});

function decideFailed() {
  return {
    jobId: null,
    setName: null,
    backupType: 'FULL' as const,
    requestedType: 'FULL' as const,
    status: 'Failed' as const,
    startTime: null,
    endTime: NOW,
    bytes: 0,
    copies: { phase1Destination: null, hotSite: null, archive: null },
    phase2: 'not-run' as const,
    integrity: null,
    events: [],
  };
}
