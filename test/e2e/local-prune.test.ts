/**
 * Retention in the local run, end to end through the CLI (in-process `exec`): four FULL jobs with
 * `RetainCycles: 1` against this worker's moto hot-site; PruneSets (the deployed state machine's
 * state, run in-process) expires the SETs older than the one kept complete cycle (SPEC §5).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { exec } from '#agent/cli';
import { capture } from '../support/cli';
import { motoS3Client, useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

const BUCKET = 'commserve-dr-hot-site';

describe('pruning in the local run (CLI in-process, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('four FULLs with RetainCycles 1: the expired SETs leave sets/, archive/ stays, the plan and the job record say so', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ RetainCycles: 1, HotSite: { bucket: BUCKET, endpoint: moto.endpoint() } }));
    const run = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };

    const records = [];
    for (let i = 0; i < 4; i++) {
      const started = await run(['start', '--type', 'full', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint(), '--json']);
      expect(started.code).toBe(0);
      const doc = JSON.parse(started.out);
      expect(doc.durationsMs.PruneSets).toEqual(expect.any(Number));
      records.push(doc.record);
    }
    expect(records.map((r) => [r.jobId, r.backupType, r.status])).toEqual([
      [1, 'FULL', 'Completed'],
      [2, 'FULL', 'Completed'],
      [3, 'FULL', 'Completed'],
      [4, 'FULL', 'Completed'],
    ]);

    // Cycles 1–3 are complete; RetainCycles 1 keeps cycle 3 and the open cycle 4.
    const s3 = motoS3Client();
    const list = async (prefix: string) => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    };
    const setsOf = (keys: string[]) => [...new Set(keys.map((k) => k.split('/')[1]))].sort();
    expect(setsOf(await list('sets/'))).toEqual(['SET_0000003', 'SET_0000004']);
    expect(await list('sets/SET_0000001/')).toEqual([]);
    expect(await list('sets/SET_0000002/')).toEqual([]);
    // ArchiveRetainCycles null (the default) keeps every archive copy.
    expect(setsOf(await list('archive/'))).toEqual(['SET_0000001', 'SET_0000002', 'SET_0000003', 'SET_0000004']);

    // The plan record of job 4.
    const read = async (key: string) => JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());
    const plan = await read('prune/004.json');
    expect(plan).toMatchObject({ kind: 'commserve-dr-prune-plan', jobId: 4, dryRun: false, archive: null });
    expect(plan.hotSite.expire).toEqual([1, 2]);
    expect(plan.hotSite.keep).toEqual([3, 4]);

    // The job record at the hot-site carries the prune event; the status is untouched.
    const record = await read('jobs/004.json');
    expect(record.status).toBe('Completed');
    expect(record.events).toContainEqual(
      expect.objectContaining({ level: 'info', code: 'PRUNED', message: expect.stringMatching(/^retention applied: hot-site: 2 of 4 SET\(s\) expired, 2 deleted .*; archive: kept in full; plan prune\/004\.json$/) }),
    );

    // ReportJob published the job metrics to the local stand-in, and the agent the RPO (age of the newest restorable point).
    const cloudwatch = new CloudWatchClient({ endpoint: moto.endpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const metrics = await cloudwatch.send(new ListMetricsCommand({ Namespace: 'CommServeDR', Dimensions: [{ Name: 'Cell', Value: 'default' }] }));
    expect(new Set(metrics.Metrics?.map((m) => m.MetricName))).toEqual(new Set(['JobSucceeded', 'JobFailed', 'BytesProtected', 'JobDurationSeconds', 'DatabaseCorruptionDetected', 'RpoSeconds', 'UnrepairedDamage']));

    // The newest restorable point is still there.
    const sets = await run(['sets', '--json']);
    expect(sets.code).toBe(0);
    expect(JSON.parse(sets.out).newestRestorablePoint).toEqual({ sets: ['SET_0000004'], jobId: 4 });
  }, 180_000);
});
