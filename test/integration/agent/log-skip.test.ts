/**
 * A LOG point due while another job holds the phase-1 lock (SPEC §4.5, issue 17 item 1) — real SQLite, file hive,
 * moto and the synthesized state machine (aws-local-stepfunctions): it waits for the lock, runs when the lock frees
 * in time, and is otherwise skipped with a record (the next job's record names it), never failing the running job.
 */
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { acquirePhase1Lock, runPhase1 } from '#agent/commands/backup/phase1';
import { LogSkippedError, scheduledLogWaitMs } from '#agent/commands/backup/log-wait';
import { executeDrJobLocally } from '#agent/local/local-state-machine';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'log-skip-hot-site';
const logger = createLogger({ level: 'silent' });

describe('a LOG point due while another job holds the lock (real SQLite, moto, local state machine)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let template: string;

  beforeAll(async () => {
    template = tempDir();
    await generateSampleCommServe({ dir: template, sizeBytes: 2 * MiB, seed: 5 });
  });

  async function setup(): Promise<{ db: string; settings: Settings }> {
    const cwd = tempDir();
    cpSync(template, join(cwd, 'cs'), { recursive: true });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'cs', 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cwd, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cwd, 'cs', 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
      },
      'test',
    );
    return { db: join(cwd, 'cs', 'commserv.db'), settings };
  }
  const sets = (settings: Settings) => readdirSync(settings.Phase1Destination).filter((n) => n.startsWith('SET_')).sort();
  const jobRecordsAtHotSite = async () => ((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'jobs/' }))).Contents ?? []).map((o) => o.Key);

  it('waits half the LOG interval by default (15 min → 7.5 min)', () => {
    expect(scheduledLogWaitMs(15)).toBe(450_000);
    expect(scheduledLogWaitMs(5)).toBe(150_000);
    expect(scheduledLogWaitMs(null)).toBe(450_000);
  });

  it('is skipped after its wait: the execution ends in LogSkipped with no record of its own, nothing written; the next job records the skip', async () => {
    const { db, settings } = await setup();
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const recordsBefore = await jobRecordsAtHotSite();
    const release = await acquirePhase1Lock(settings.StateDirectory); // "the FULL" holding the lock
    let beats = 0;

    const execution = executeDrJobLocally({
      input: { backupType: 'LOG' },
      s3: motoS3Client(),
      settings,
      phase1: (heartbeat) =>
        runPhase1({ settings, requestedType: 'LOG', s3: motoS3Client(), logger, heartbeat, logLockWait: { waitMs: 400, pollMs: 50, heartbeat: async () => void beats++ } }),
    });

    const skipped = await execution.catch((e: unknown) => e);
    expect(skipped).toBeInstanceOf(LogSkippedError);
    expect((skipped as Error).message).toMatch(/^LOG point due at \S+Z skipped after waiting \d+ s for the phase-1 lock: another DR backup job is in phase 1 \(pid \d+/);
    expect(beats).toBeGreaterThan(0);
    expect(sets(settings)).toEqual([setName(1)]);
    expect(await jobRecordsAtHotSite()).toEqual(recordsBefore);
    expect(readdirSync(join(settings.StateDirectory, 'log-skips'))).toHaveLength(1);
    await release();

    mutateSampleCommServe(db, { fraction: 0.001, seed: 3 });
    const next = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });
    expect(next.status).toBe('Completed');
    const skipEvents = next.events.filter((e) => e.code === 'LOG_SKIPPED');
    expect(skipEvents).toHaveLength(1);
    expect(skipEvents[0]).toMatchObject({ level: 'warning' });
    expect(skipEvents[0].message).toMatch(/^LOG point due at \S+Z skipped \(another job held the phase-1 lock until after \S+Z\): another DR backup job is in phase 1/);
    const manifest = parseManifest(readFileSync(join(settings.Phase1Destination, next.setName, 'manifest.json')));
    expect(manifest.events.filter((e) => e.code === 'LOG_SKIPPED')).toHaveLength(1);
    expect(readdirSync(join(settings.StateDirectory, 'log-skips'))).toEqual([]);
  });

  it('waits and runs when the lock frees within the wait: a normal LOG point, with a record', async () => {
    const { db, settings } = await setup();
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    mutateSampleCommServe(db, { fraction: 0.001, seed: 4 });
    const release = await acquirePhase1Lock(settings.StateDirectory);
    setTimeout(() => void release(), 300);

    const execution = await executeDrJobLocally({
      input: { backupType: 'LOG' },
      s3: motoS3Client(),
      settings,
      phase1: (heartbeat) => runPhase1({ settings, requestedType: 'LOG', s3: motoS3Client(), logger, heartbeat, logLockWait: { waitMs: 60_000, pollMs: 50, heartbeat } }),
    });

    expect(execution.record).toMatchObject({ jobId: 2, backupType: 'LOG', status: 'Completed', setName: setName(2) });
    expect(execution.statesEntered).toEqual(['RunPhase1', 'ValidateSet', 'ReportJob']);
    expect(existsSync(join(settings.Phase1Destination, setName(2), 'manifest.json'))).toBe(true);
  });

  it('a LOG started without a wait (by hand) is refused at once with JOB_LOCKED, as before', async () => {
    const { settings } = await setup();
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const release = await acquirePhase1Lock(settings.StateDirectory);
    try {
      await expect(runPhase1({ settings, requestedType: 'LOG', s3: motoS3Client(), logger })).rejects.toMatchObject({ code: 'JOB_LOCKED' });
      expect(existsSync(join(settings.StateDirectory, 'log-skips'))).toBe(false);
    } finally {
      await release();
    }
  });
});
