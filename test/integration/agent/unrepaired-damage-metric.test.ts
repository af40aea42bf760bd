/**
 * The `UnrepairedDamage` metric behind the HotSiteUnrepairedDamage alarm (issue 16 item 3), against real SQLite, the
 * file hive and moto (S3 and CloudWatch): every FULL/DIFFERENTIAL job whose upkeep reached the hot-site publishes the
 * number of objects no copy could repair — 0 when all is intact, 1 when an object is gone from every copy, 0 again
 * once a later job repairs it (the alarm returns to OK); a LOG point publishes nothing (the alarm keeps its state).
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CELL_DIMENSION, METRIC_NAMESPACE } from '#core/metrics';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createLogger } from '#agent/log';
import { createMetricsPublisher } from '#agent/metrics/metrics';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'unrepaired-hot-site';
const CELL = 'cell-unrepaired';
const logger = createLogger({ level: 'silent' });
const cloudwatch = () => new CloudWatchClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** Every `UnrepairedDamage` value published for {@link CELL} in the last hour, as count, sum and maximum. */
async function unrepairedDamage(): Promise<{ samples: number; sum: number; max: number | null }> {
  const stats = await cloudwatch().send(
    new GetMetricStatisticsCommand({
      Namespace: METRIC_NAMESPACE,
      MetricName: 'UnrepairedDamage',
      Dimensions: [{ Name: CELL_DIMENSION, Value: CELL }],
      StartTime: new Date(Date.now() - 3600_000),
      EndTime: new Date(Date.now() + 3600_000),
      Period: 60,
      Statistics: ['SampleCount', 'Sum', 'Maximum'],
    }),
  );
  const points = stats.Datapoints ?? [];
  return {
    samples: points.reduce((n, p) => n + (p.SampleCount ?? 0), 0),
    sum: points.reduce((n, p) => n + (p.Sum ?? 0), 0),
    max: points.length === 0 ? null : Math.max(...points.map((p) => p.Maximum ?? 0)),
  };
}

describe('UnrepairedDamage metric (real SQLite, file hive, moto S3 + CloudWatch)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;

  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 2 * MiB, seed: 16 });
  });

  async function settingsFor(cwd: string, overrides: Record<string, unknown> = {}): Promise<Settings> {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const db = join(cwd, 'commserv.db');
    copyFileSync(join(sampleDir, 'commserv.db'), db);
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: db },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        Cell: CELL,
        ...overrides,
      },
      'test',
    );
  }

  it('publishes 0 for an intact hot-site, 1 for an object gone from every copy (the job names it), 0 again once a later job repairs it; a LOG point publishes nothing', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    const metrics = createMetricsPublisher(settings, logger);
    const run = (requestedType: 'FULL' | 'DIFFERENTIAL' | 'LOG') => runPhase1({ settings, requestedType, s3: motoS3Client(), logger, metrics });
    const first = setName(1);
    const hiveKey = `sets/${first}/commserv_hive.reg`;
    const localHive = join(cwd, 'dr', first, 'commserv_hive.reg');

    // Job 1: nothing kept yet, nothing damaged.
    expect((await run('FULL')).status).toBe('Completed');
    expect(await unrepairedDamage()).toEqual({ samples: 1, sum: 0, max: 0 });

    // The hive gone from the hot-site and from the phase-1 destination (no archive copy here): job 2 cannot repair it.
    const saved = readFileSync(localHive);
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: hiveKey }));
    rmSync(localHive);
    mutateSampleCommServe((settings.Database as { path: string }).path, { fraction: 0.01, seed: 3 });
    const second = await run('DIFFERENTIAL');
    expect(second.status).toBe('Completed With One or More Errors');
    expect(second.events.filter((e) => e.code === 'HOTSITE_DAMAGED').map((e) => e.message)).toEqual([expect.stringMatching(new RegExp(`^${first}/commserv_hive\\.reg missing at the hot-site and could not be repaired: `))]);
    expect(await unrepairedDamage()).toEqual({ samples: 2, sum: 1, max: 1 });

    // A LOG point does no upkeep: no value, so the alarm (missing data ignored) stays in ALARM.
    const log = await run('LOG');
    expect(log.backupType).toBe('LOG');
    expect(await unrepairedDamage()).toEqual({ samples: 2, sum: 1, max: 1 });

    // The local copy is back (an operator restored it): job 4 repairs the hot-site from it and publishes 0.
    writeFileSync(localHive, saved);
    const fourth = await run('DIFFERENTIAL');
    expect(fourth.events.find((e) => e.code === 'HOTSITE_REPAIRED')?.message).toBe(`${first}/commserv_hive.reg missing at the hot-site: repaired from the local copy`);
    expect(fourth.events.filter((e) => e.code === 'HOTSITE_DAMAGED')).toEqual([]);
    expect(fourth.status).toBe('Completed');
    expect(await unrepairedDamage()).toEqual({ samples: 3, sum: 1, max: 1 });
  }, 120_000);

  it('damage found by an earlier job in a SET this job does not check again (budget) is still counted: the alarm does not clear on a job that did not look', async () => {
    const cwd = tempDir();
    // A FULL SET costs 8 checksum requests (7 files + manifest): budget 8 checks one SET per job, and a damaged SET
    // (over half the budget) gets no priority — it waits its turn in the rotation.
    const settings = await settingsFor(cwd, { ScrubRequestsPerJob: 8 });
    const metrics = createMetricsPublisher(settings, logger);
    const run = () => runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger, metrics });
    await run();
    await run(); // its scrub checks SET 1
    const second = setName(2);
    const hiveKey = `sets/${second}/commserv_hive.reg`;
    // One byte changed at the hot-site (same size: only the checksum tells) and in the local copy: nothing can repair it.
    const bytes = Buffer.from(await (await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: hiveKey }))).Body!.transformToByteArray());
    bytes[bytes.length >> 1] ^= 0xff;
    await motoS3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: hiveKey, Body: bytes, ChecksumAlgorithm: 'SHA256' }));
    writeFileSync(join(cwd, 'dr', second, 'commserv_hive.reg'), bytes);
    expect(await unrepairedDamage()).toEqual({ samples: 2, sum: 0, max: 0 });

    const third = await run(); // checks SET 2 (never checked): finds the damage
    expect(third.status).toBe('Completed With One or More Errors');
    expect(third.events.find((e) => e.code === 'SCRUB')?.message).toMatch(new RegExp(`checksums of 1 checked \\(${second}\\)`));
    expect(third.events.filter((e) => e.code === 'HOTSITE_DAMAGED').map((e) => e.message)).toEqual([expect.stringMatching(new RegExp(`^${second}/commserv_hive\\.reg has SHA-256 checksum .* could not be repaired: `))]);
    expect(await unrepairedDamage()).toEqual({ samples: 3, sum: 1, max: 1 });

    const fourth = await run(); // checks SET 3 (never checked); SET 2 is not looked at again
    expect(fourth.events.find((e) => e.code === 'SCRUB')?.message).toMatch(new RegExp(`checksums of 1 checked \\(${setName(3)}\\)`));
    expect(fourth.status).toBe('Completed With One or More Errors');
    expect(fourth.events.filter((e) => e.code === 'HOTSITE_DAMAGED').map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`^${second}/commserv_hive\\.reg found damaged at the hot-site by the check of \\S+ and not checked again by this job \\(ScrubRequestsPerJob 8\\): still damaged as far as is known$`)),
    ]);
    expect(await unrepairedDamage()).toEqual({ samples: 4, sum: 2, max: 1 });
  }, 120_000);
});
