/**
 * RunPhase1's HeartbeatSeconds and TimeoutSeconds in the local run. aws-local-stepfunctions 3.0.0
 * enforces a Task's TimeoutSeconds but ignores HeartbeatSeconds, so the local SSM-callback stand-in
 * (`executeDrJobLocally`'s RunPhase1 override) enforces both from the synthesized state: a silent agent
 * ends the job Failed with `States.HeartbeatTimeout` through the Catch → ReportJob, never a hang.
 * Limits are scaled down with `callbackLimitsMs`, always with a wide margin over the gaps the test agents
 * leave (beats every 50 ms against a limit of seconds), and outcomes are asserted by beat counts and
 * states, never by speed: a loaded machine must not turn a kept-alive agent into a heartbeat timeout.
 */
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Phase1Result } from '#core/job';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { drJobDefinition, executeDrJobLocally, runPhase1LimitsMs } from '#agent/local/local-state-machine';
import { generateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { createLogger } from '#agent/log';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';
import { BUCKET, createBucket, makeSet, uploadSet } from '../lambdas/fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise<never>(() => undefined);

describe('RunPhase1 heartbeat and timeout in the local run (heartbeat enforced by the local SSM-callback stand-in: aws-local-stepfunctions ignores HeartbeatSeconds)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  function settingsFor(overrides: Record<string, unknown> = {}): Settings {
    return parseSettings({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() }, PublishMetrics: false, ...overrides }, 'test');
  }

  it('reads the limits from the synthesized RunPhase1 state (HeartbeatSeconds 600, TimeoutSeconds 21600)', () => {
    expect(runPhase1LimitsMs(drJobDefinition())).toEqual({ heartbeat: 600_000, timeout: 21_600_000 });
  });

  it('an agent that never heart-beats and never returns: Failed with States.HeartbeatTimeout, quickly', async () => {
    await createBucket(motoS3Client());
    const run = await executeDrJobLocally({
      input: { backupType: 'FULL' },
      s3: motoS3Client(),
      settings: settingsFor(),
      phase1: never,
      callbackLimitsMs: { heartbeat: 300, timeout: 10_000 },
    });
    expect(run.record.status).toBe('Failed');
    expect(run.record.events).toContainEqual(
      expect.objectContaining({ level: 'error', code: 'States.HeartbeatTimeout', message: expect.stringContaining('the agent sent no heartbeat for 0.3 s (HeartbeatSeconds 600 s, scaled for this run)') }),
    );
    expect(run.statesEntered).toEqual(['RunPhase1', 'ReportJob']);
    expect(run.heartbeats).toBe(0);
  });

  it('an agent that heart-beats but never finishes: Failed with States.Timeout at TimeoutSeconds', async () => {
    await createBucket(motoS3Client());
    let stop = false;
    const run = await executeDrJobLocally({
      input: { backupType: 'FULL' },
      s3: motoS3Client(),
      settings: settingsFor(),
      phase1: async (heartbeat) => {
        while (!stop) {
          await heartbeat().catch(() => undefined);
          await sleep(50);
        }
        return never();
      },
      // A 50 ms beat against a 4 s heartbeat limit: only the 8 s overall limit can end it.
      callbackLimitsMs: { heartbeat: 4_000, timeout: 8_000 },
    }).finally(() => {
      stop = true;
    });
    expect(run.record.status).toBe('Failed');
    expect(run.record.events).toContainEqual(expect.objectContaining({ code: 'States.Timeout', message: expect.stringContaining('did not report within 8 s (TimeoutSeconds 21600 s, scaled for this run)') }));
    expect(run.record.events).not.toContainEqual(expect.objectContaining({ code: 'States.HeartbeatTimeout' }));
    expect(run.heartbeats).toBeGreaterThan(1); // kept alive past the 4 s heartbeat limit, stopped by the overall one
  });

  it('an agent that heart-beats regularly for longer than the heartbeat limit and then reports: Completed', async () => {
    const s3 = motoS3Client();
    await createBucket(s3);
    const set = makeSet(1, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from('dump') }]);
    const HEARTBEAT_MS = 2_000;
    let sent = 0;
    const run = await executeDrJobLocally({
      input: { backupType: 'FULL' },
      s3,
      settings: settingsFor(),
      phase1: async (heartbeat): Promise<Phase1Result> => {
        // Beats every 50 ms until 1.5 × the heartbeat limit has passed since the first one.
        const first = Date.now();
        do {
          await heartbeat();
          sent++;
          await sleep(50);
        } while (Date.now() - first <= 1.5 * HEARTBEAT_MS);
        await uploadSet(s3, set);
        return set.phase1;
      },
      callbackLimitsMs: { heartbeat: HEARTBEAT_MS, timeout: 60_000 },
    });
    expect(run.record.status).toBe('Completed');
    expect(run.heartbeats).toBe(sent);
    expect(run.stateDurationsMs.RunPhase1).toBeGreaterThan(HEARTBEAT_MS); // alive for longer than one heartbeat limit
    expect(run.statesEntered).toEqual(['RunPhase1', 'ValidateSet', 'ArchiveSet', 'PruneSets', 'ReportJob']);
  });

  it("the real agent's phase 1 heart-beats between its steps: a small real SET, at least 5 beats counted, Completed", async () => {
    const sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 2 * MiB, seed: 5 });
    const cwd = tempDir();
    const s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const settings = settingsFor({
      Database: { engine: 'sqlite', path: join(sampleDir, 'commserv.db') },
      Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
      FirewallDirectory: join(sampleDir, 'firewall'),
      Phase1Destination: join(cwd, 'dr'),
      StateDirectory: join(cwd, 'state'),
    });
    const run = await executeDrJobLocally({
      input: { backupType: 'FULL' },
      s3,
      settings,
      phase1: (heartbeat) => runPhase1({ settings, requestedType: 'FULL', s3, logger: createLogger({ level: 'silent' }), heartbeat }),
      // Generous on purpose: what is asserted is that the agent beats between its steps (counted), not how
      // fast a loaded machine runs a step.
      callbackLimitsMs: { heartbeat: 45_000 },
    });
    expect(run.record).toMatchObject({ status: 'Completed', jobId: 1, setName: 'SET_0000001' });
    expect(run.record.events).not.toContainEqual(expect.objectContaining({ code: 'States.HeartbeatTimeout' }));
    expect(run.heartbeats).toBeGreaterThanOrEqual(5);
  });
});
