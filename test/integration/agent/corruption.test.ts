/**
 * A corrupt CommServe database (a damaged b-tree page, real SQLite): the backup still completes, the
 * manifest and job are flagged, DatabaseCorruptionDetected reaches CloudWatch (moto), and job activity is
 * disabled in the CommServe registry unless DisableActivityOnDbCorruption is true.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { CELL_DIMENSION, METRIC_NAMESPACE } from '#core/metrics';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { JOB_ACTIVITY_DISABLED_VALUE } from '#agent/commands/backup/corruption';
import { createLogger } from '#agent/log';
import { createMetricsPublisher } from '#agent/metrics/metrics';
import { FileHiveStore } from '#agent/registry/file-hive';
import { generateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { corruptPage } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { buildReadinessReport } from '#agent/commands/report/report';
import { recordJob } from '#agent/history/history';
import { formatJobSummary } from '#agent/commands/backup/summary';
import { decideJobRecord } from '#core/job';
import { describeIntegrityFindings } from '#core/integrity-findings';

const BUCKET = 'corruption-hot-site';
const logger = createLogger({ level: 'silent' });
const cloudwatch = () => new CloudWatchClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

describe('database corruption (real SQLite, file hive, moto CloudWatch)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    await generateSampleCommServe({ dir: template, sizeBytes: 2 * MiB, seed: 9 });
  });

  async function setup(extra: Record<string, unknown> = {}): Promise<Settings> {
    const cwd = tempDir();
    cpSync(template, join(cwd, 'cs'), { recursive: true });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'cs', 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cwd, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cwd, 'cs', 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        Cell: 'cell-a',
        ...extra,
      },
      'test',
    );
  }

  async function corruptionMetric(): Promise<number | undefined> {
    const stats = await cloudwatch().send(
      new GetMetricStatisticsCommand({
        Namespace: METRIC_NAMESPACE,
        MetricName: 'DatabaseCorruptionDetected',
        Dimensions: [{ Name: CELL_DIMENSION, Value: 'cell-a' }],
        StartTime: new Date(Date.now() - 3600_000),
        EndTime: new Date(Date.now() + 3600_000),
        Period: 60,
        Statistics: ['Maximum'],
      }),
    );
    return stats.Datapoints?.[0]?.Maximum;
  }

  it('flags the SET, publishes the metric, disables job activity, and still completes the backup', async () => {
    const settings = await setup();
    corruptPage(settings.Database.engine === 'sqlite' ? settings.Database.path : '', 5);
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger, metrics: createMetricsPublisher(settings, logger) });
    expect(result).toMatchObject({ integrity: 'corrupt', status: 'Completed With One or More Errors', backupType: 'FULL' });
    const manifest = parseManifest(readFileSync(join(settings.Phase1Destination, 'SET_0000001', 'manifest.json')));
    expect(manifest.integrity.status).toBe('corrupt');
    expect(manifest.integrity.messages.join('\n')).toMatch(/page 5|malformed|corrupt/i);
    expect(manifest.events.map((e) => e.code)).toEqual(expect.arrayContaining(['DB_CORRUPTION_DETECTED', 'JOB_ACTIVITY_DISABLED']));
    expect(await corruptionMetric()).toBe(1);
    // What the check reported is named: in the phase-1 result, the event, the job record, its summary and the alarm.
    const findings = describeIntegrityFindings(manifest.integrity.messages);
    expect(findings).toMatch(/^\d+ problems? reported; .*first: "/);
    expect(result.integrityFindings).toBe(findings);
    expect(manifest.events.find((e) => e.code === 'DB_CORRUPTION_DETECTED')!.message).toBe(`integrity check found damage: ${findings}`);
    const record = decideJobRecord({ backupType: 'FULL', phase1: result }, BUCKET, new Date().toISOString());
    expect(record.integrityFindings).toBe(findings);
    expect(formatJobSummary(record)).toMatch(new RegExp(`\\n  integrity check +corrupt: ${findings.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    recordJob(settings.Phase1Destination, record);
    const { data } = await buildReadinessReport({ settings, s3: null, now: new Date() });
    expect(data.alarms.find((a) => a.alarm === 'DatabaseCorruptionDetected')!.message).toBe(
      `the integrity check of job 1 found the CommServe database corrupt (${findings}); ${result.setName} holds a copy of the damaged database`,
    );
    const hive = await new FileHiveStore(settings.Registry.hiveFile).load();
    const values = hive.getKey(SAMPLE_REGISTRY_ROOT)!.values;
    expect(values.find((v) => v.name === JOB_ACTIVITY_DISABLED_VALUE)).toMatchObject({ type: 'REG_DWORD', data: 1 });
  });

  it('keeps job activity when DisableActivityOnDbCorruption is true', async () => {
    const settings = await setup({ DisableActivityOnDbCorruption: true });
    corruptPage(settings.Database.engine === 'sqlite' ? settings.Database.path : '', 5);
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger, metrics: createMetricsPublisher(settings, logger) });
    expect(result.integrity).toBe('corrupt');
    expect(result.events.map((e) => e.code)).toContain('JOB_ACTIVITY_KEPT');
    const hive = await new FileHiveStore(settings.Registry.hiveFile).load();
    expect(hive.getKey(SAMPLE_REGISTRY_ROOT)!.values.some((v) => v.name === JOB_ACTIVITY_DISABLED_VALUE)).toBe(false);
  });

  it('publishes 0 after a clean check (the alarm clears)', async () => {
    const settings = await setup();
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger, metrics: createMetricsPublisher(settings, logger) });
    expect(result).toMatchObject({ integrity: 'ok', status: 'Completed' });
    expect(await corruptionMetric()).toBe(0);
  });
});
