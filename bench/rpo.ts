/**
 * RPO measurement (issue 17, "Done when"): LOG points on a timer, as the EventBridge Scheduler LOG schedule starts
 * them, through the synthesized state machine (aws-local-stepfunctions) with the real agent phase 1 (SQLite sample
 * CommServe with steady activity, file hive, moto as the hot-site) — and the age of the newest restorable point at the
 * hot-site over the run.
 *
 * Scaled run (say so when quoting it): `--interval-s` stands for the 5-minute interval and `--duration-s` for the hour
 * (defaults 15 s and 180 s: 12 intervals, a 1/20 time scale). The interval shrinks, the job durations do not: so the
 * measured maximum is reported as the interval plus the longest "due → committed at the hot-site" time, which is what
 * a real 5-minute run adds to 300 s.
 *
 * The RPO is the age of the newest point committed at the hot-site (its manifest uploaded): between commits it grows
 * from (commit − point time) to (next commit − point time); the maximum is taken over those peaks, and also sampled
 * every 250 ms from the hot-site itself (ListObjectsV2 + the newest manifest's `pointTime`) as a cross-check.
 *
 *   node bin/run-ts.js bench/rpo.ts [--interval-s 15] [--duration-s 180] [--size-mb 20]
 */
import '../agent/local/promise-with-resolvers';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '#core/settings';
import { parseSetObjectKey } from '#core/hotsite-layout';
import { describeError } from '#core/errors';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { executeDrJobLocally } from '#agent/local/local-state-machine';
import { startMotoServer } from '#agent/local/moto-server';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { createLogger } from '#agent/log';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

async function main(): Promise<void> {
  const intervalMs = arg('interval-s', 15) * 1000;
  const durationMs = arg('duration-s', 180) * 1000;
  const sizeMb = arg('size-mb', 20);
  const dir = mkdtempSync(join(tmpdir(), 'commserve-dr-rpo-'));
  const moto = await startMotoServer();
  const bucket = 'rpo-hot-site';
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const logger = createLogger({ level: 'silent' });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sample = await generateSampleCommServe({ dir: join(dir, 'cs'), sizeBytes: sizeMb * 1024 * 1024, seed: 11 });
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: sample.dbPath },
        Registry: { store: 'file-hive', hiveFile: join(dir, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(dir, 'cs', 'firewall'),
        Phase1Destination: join(dir, 'dr'),
        StateDirectory: join(dir, 'state'),
        HotSite: { bucket, endpoint: moto.endpoint },
        LogBackupIntervalMinutes: 5,
      },
      'bench',
    );
    const job = (type: 'FULL' | 'LOG') =>
      executeDrJobLocally({
        input: { backupType: type },
        s3,
        settings,
        phase1: (heartbeat) => runPhase1({ settings, requestedType: type, s3, logger, heartbeat, ...(type === 'LOG' ? { logLockWait: { waitMs: intervalMs / 2, pollMs: 100, heartbeat } } : {}) }),
      });
    await job('FULL');

    // Steady activity: 0.1% of rows changed every interval, spread over it.
    let busy = 0;
    const activity = setInterval(() => {
      try {
        mutateSampleCommServe(sample.dbPath, { fraction: 0.0002, seed: Date.now() % 100000 });
      } catch {
        busy++; // SQLITE_BUSY while a LOG reads the live file under its read transaction: the writer tries again next tick
      }
    }, intervalMs / 5);
    const samples: number[] = [];
    const sampler = setInterval(() => void newestPointAge(s3, bucket).then((age) => age !== null && samples.push(age)).catch(() => undefined), 250);
    const started = Date.now();
    const runs: Array<{ due: number; promise: Promise<{ due: number; pointTime?: string; committed?: number; status: string; skipped?: boolean; ms: number }> }> = [];
    for (let k = 1; k * intervalMs <= durationMs; k++) {
      const due = started + k * intervalMs;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      runs.push({
        due,
        promise: job('LOG').then(
          (e) => ({ due, pointTime: (e.record.rpo?.pointTime ?? undefined), committed: Date.parse(e.record.endTime), status: e.record.status, ms: Date.now() - due }),
          (error: unknown) => ({ due, status: describeError(error), skipped: /skipped/.test(describeError(error)), ms: Date.now() - due }),
        ),
      });
    }
    const results = await Promise.all(runs.map((r) => r.promise));
    clearInterval(activity);
    clearInterval(sampler);
    const committed = results.filter((r) => r.pointTime && r.committed);
    const peaks: number[] = [];
    for (let i = 1; i < committed.length; i++) peaks.push((committed[i]!.committed! - Date.parse(committed[i - 1]!.pointTime!)) / 1000);
    const dueToCommit = committed.map((r) => (r.committed! - r.due) / 1000);
    const summary = {
      scaled: { intervalS: intervalMs / 1000, durationS: durationMs / 1000, scaleOf5MinInterval: 300_000 / intervalMs },
      sampleMb: sizeMb,
      logPoints: results.length,
      committed: committed.length,
      skipped: results.filter((r) => r.skipped).length,
      failed: results.filter((r) => !r.pointTime && !r.skipped).map((r) => r.status),
      maxRpoS: Math.max(...peaks),
      maxRpoSampledAtHotSiteS: Math.max(...samples),
      maxDueToCommitS: Math.max(...dueToCommit),
      medianDueToCommitS: dueToCommit.sort((a, b) => a - b)[Math.floor(dueToCommit.length / 2)],
      at5MinIntervalS: 300 + Math.max(...dueToCommit),
      activityTicksBusy: busy,
      machine: 'shared by ~8 sessions (load varies); one run',
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    const out = join(__dirname, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-rpo.json`), `${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Age (s) of the newest point whose manifest is at the hot-site, from its `pointTime`; null before the first. */
async function newestPointAge(s3: S3Client, bucket: string): Promise<number | null> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }));
  const manifests = (listed.Contents ?? []).map((o) => parseSetObjectKey(o.Key!)).filter((k) => k && k.file === 'manifest.json');
  const newest = manifests.sort((a, b) => b!.jobId - a!.jobId)[0];
  if (!newest) return null;
  const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `sets/${newest.setName}/manifest.json` }))).Body!.transformToString();
  const pointTime = (JSON.parse(body) as { pointTime?: string }).pointTime;
  return pointTime ? (Date.now() - Date.parse(pointTime)) / 1000 : null;
}

main().catch((error: unknown) => {
  process.stderr.write(`rpo bench failed: ${describeError(error)}\n`);
  process.exitCode = 1;
});
