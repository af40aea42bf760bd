/**
 * The RPO reached in a real 1-hour local run at a 5-minute LOG interval (issue 17, "Done when"): real clock, the real
 * CLI (the esbuild bundle, one `commserve-dr backup` process per job, as the scheduled agent runs it), a SQLite sample
 * CommServe with steady activity, moto server as the hot-site. Unlike bench/rpo.ts (a scaled, in-process run) nothing
 * is shrunk: the interval is 5 minutes of wall clock and the run lasts an hour.
 *
 * The day: a FULL, then activity all along (a small share of the rows every `--activity-s` seconds, as CommServe jobs
 * finishing write their rows), a LOG point every `--interval-min` minutes, and the daily DIFFERENTIAL once in the
 * middle of an interval (`--daily-at-min`), which is a restorable point too.
 *
 * The RPO at a moment is the age of the newest restorable point at the hot-site: now − the `pointTime` of the newest
 * SET whose manifest is at the hot-site. It is sampled every second from the hot-site itself (ListObjectsV2, the new
 * manifest read once), and its maximum over the hour is the figure the issue asks for. Each point's due time, moment,
 * first sight of its manifest at the hot-site and process exit are kept too. The machine is shared (2 cores, ~8
 * sessions): the due → committed times include that load.
 *
 *   node bin/run-ts.js bench/rpo-hour.ts [--minutes 60] [--interval-min 5] [--size-mb 100] [--daily-at-min 32.5]
 *
 * Writes bench/results/<date>-rpo-hour.{json,md}; the work folder (bench/work/rpo-hour-<stamp>/) and the CLI build
 * (dist-bench-rpo-hour-<stamp>/) are removed at the end unless `--keep`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { parseSetObjectKey } from '#core/hotsite-layout';
import { startMotoServer } from '#agent/local/moto-server';
import { mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';

const ROOT = join(__dirname, '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** One `commserve-dr backup` process of the run. */
interface CliJob {
  type: 'FULL' | 'DIFFERENTIAL' | 'LOG';
  /** Seconds from the start of the hour when it was due (started). */
  dueS: number;
  exitCode: number | null;
  /** Seconds from due to the process's exit (phase 1 + in-process phase 2). */
  processS: number;
  setName?: string;
  status?: string;
  pointTime?: string;
  /** Seconds from due to the first sample that saw its manifest at the hot-site. */
  dueToCommitS?: number;
  /** The RPO the job itself reported (record `rpo.seconds`). */
  reportedRpoS?: number;
  stderrTail?: string;
}

/** One sample of the hot-site. */
interface Sample {
  /** Seconds from the start of the hour. */
  t: number;
  newestSet: string | null;
  ageS: number | null;
}

async function main(): Promise<void> {
  const minutes = arg('minutes', 60);
  const intervalMin = arg('interval-min', 5);
  const sizeMb = arg('size-mb', 100);
  const dailyAtMin = arg('daily-at-min', 32.5);
  const activityS = arg('activity-s', 20);
  const activityFraction = arg('activity-fraction', 0.00005);
  const work = join(ROOT, 'bench', 'work', `rpo-hour-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(work, { recursive: true });
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);

  // The real CLI: the bundle of this checkout, built beside dist/ (it finds lambdas/ as ../lambdas, like dist/) so
  // later source edits neither change it nor make bin/commserve-dr.js fall back to the sources.
  const cliDir = join(ROOT, `dist-bench-${basename(work)}`);
  execFileSync(process.execPath, [join(ROOT, 'bin', 'build.js'), '--outdir', cliDir], { stdio: 'ignore' });
  const cli = join(cliDir, 'commserve-dr.js');
  const moto = await startMotoServer();
  const bucket = 'rpo-hour-hot-site';
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const cs = join(work, 'cs');
    execFileSync(process.execPath, [cli, 'sample-db', '--dir', cs, '--size-mb', String(sizeMb), '--seed', '17'], { stdio: 'ignore' });
    const dbPath = join(cs, 'commserv.db');
    const config = join(work, 'commserve-dr.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        Database: { engine: 'sqlite', path: dbPath },
        Registry: { store: 'file-hive', hiveFile: join(cs, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cs, 'firewall'),
        Phase1Destination: join(work, 'dr'),
        StateDirectory: join(work, 'state'),
        HotSite: { bucket, endpoint: moto.endpoint },
        LogBackupIntervalMinutes: intervalMin,
      }),
    );
    let hourStart = Date.now();
    const sinceStart = () => (Date.now() - hourStart) / 1000;
    const runCli = (type: CliJob['type']) => runBackup(cli, config, work, type, sinceStart());

    log(`sample ${sizeMb} MB ready; FULL`);
    const full = await runCli('FULL');
    if (full.exitCode !== 0) throw new Error(`the first FULL failed (exit ${full.exitCode}): ${full.stderrTail}`);
    hourStart = Date.now();
    log(`FULL ${full.setName} done; the hour starts`);

    const activity = startActivity(dbPath, activityS * 1000, activityFraction);
    const sampler = startSampler(s3, bucket, sinceStart);
    const jobs: Array<Promise<CliJob>> = [];
    const schedule: Array<{ atS: number; type: CliJob['type'] }> = [];
    for (let k = 1; k * intervalMin <= minutes; k++) schedule.push({ atS: k * intervalMin * 60, type: 'LOG' });
    if (dailyAtMin > 0 && dailyAtMin < minutes) schedule.push({ atS: dailyAtMin * 60, type: 'DIFFERENTIAL' });
    schedule.sort((a, b) => a.atS - b.atS);
    for (const due of schedule) {
      await new Promise((r) => setTimeout(r, Math.max(0, hourStart + due.atS * 1000 - Date.now())));
      log(`${due.type} due at ${(due.atS / 60).toFixed(1)} min`);
      jobs.push(runCli(due.type).then((j) => (log(`${j.type} ${j.setName ?? '-'} ${j.status ?? `exit ${j.exitCode}`} in ${j.processS.toFixed(1)} s`), j)));
    }
    const done = await Promise.all(jobs);
    await new Promise((r) => setTimeout(r, 3000)); // the sampler sees the last manifest
    const wallS = sinceStart();
    const samples = sampler.stop();
    const busy = activity.stop();
    const setsJson = runJson(cli, ['sets', '--json'], config, work);
    const result = summarize({ wallS, minutes, intervalMin, sizeMb, dailyAtMin, activityS, activityFraction, full, jobs: done, samples, activity: busy, sets: setsJson });
    const out = join(ROOT, 'bench', 'results');
    const stem = join(out, `${new Date().toISOString().slice(0, 10)}-rpo-hour`);
    writeFileSync(`${stem}.json`, `${JSON.stringify({ ...result, samples }, null, 1)}\n`);
    writeFileSync(`${stem}.md`, formatMarkdown(result));
    process.stdout.write(formatMarkdown(result));
  } finally {
    await moto.stop();
    if (!process.argv.includes('--keep')) for (const d of [work, cliDir]) rmSync(d, { recursive: true, force: true });
  }
}

/** Runs `commserve-dr backup --type <type> --json` and reads its record; never throws (a failed job is a result). */
function runBackup(cli: string, config: string, cwd: string, type: CliJob['type'], dueS: number): Promise<CliJob> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'backup', '--type', type.toLowerCase(), '--config', config, '--json'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    child.on('close', (code) => {
      const job: CliJob = { type, dueS, exitCode: code, processS: (Date.now() - started) / 1000 };
      try {
        const record = JSON.parse(stdout) as { setName?: string; status?: string; pointTime?: string; rpo?: { pointTime: string; seconds: number } };
        Object.assign(job, { setName: record.setName, status: record.status, pointTime: record.rpo?.pointTime ?? record.pointTime, reportedRpoS: record.rpo?.seconds });
      } catch {
        job.stderrTail = stderr.slice(-600);
      }
      if (code !== 0) job.stderrTail = stderr.slice(-600);
      resolve(job);
    });
  });
}

/** Runs a read-only CLI command with `--json`; its document, or the error text. */
function runJson(cli: string, args: string[], config: string, cwd: string): unknown {
  try {
    return JSON.parse(execFileSync(process.execPath, [cli, ...args, '--config', config], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }));
  } catch (error) {
    const out = (error as { stdout?: string }).stdout;
    try {
      return JSON.parse(out ?? '');
    } catch {
      return { error: describeError(error) };
    }
  }
}

/** Steady activity in the sample database; a tick that meets SQLITE_BUSY (a backup's read transaction) retries in 2 s. */
function startActivity(dbPath: string, everyMs: number, fraction: number): { stop(): { ticks: number; rowsChanged: number; busyRetries: number } } {
  let ticks = 0;
  let rowsChanged = 0;
  let busyRetries = 0;
  let timer: NodeJS.Timeout;
  const tick = () => {
    try {
      rowsChanged += mutateSampleCommServe(dbPath, { fraction, seed: 1000 + ticks });
      ticks++;
      timer = setTimeout(tick, everyMs);
    } catch {
      busyRetries++;
      timer = setTimeout(tick, 2000);
    }
  };
  timer = setTimeout(tick, everyMs);
  return { stop: () => (clearTimeout(timer), { ticks, rowsChanged, busyRetries }) };
}

/** Samples the newest restorable point's age at the hot-site every second. */
function startSampler(s3: S3Client, bucket: string, sinceStart: () => number): { stop(): Sample[] } {
  const samples: Sample[] = [];
  const pointTimes = new Map<string, string | null>();
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const t = sinceStart();
      try {
        const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }));
        const manifests = (listed.Contents ?? []).map((o) => parseSetObjectKey(o.Key!)).filter((k) => k && k.file === 'manifest.json');
        let newest: { setName: string; pointTime: string } | null = null;
        for (const m of manifests) {
          if (!pointTimes.has(m!.setName)) {
            const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `sets/${m!.setName}/manifest.json` }))).Body!.transformToString();
            pointTimes.set(m!.setName, (JSON.parse(body) as { pointTime?: string }).pointTime ?? null);
          }
          const pt = pointTimes.get(m!.setName);
          if (pt && (!newest || pt > newest.pointTime)) newest = { setName: m!.setName, pointTime: pt };
        }
        samples.push({ t, newestSet: newest?.setName ?? null, ageS: newest ? (Date.now() - Date.parse(newest.pointTime)) / 1000 : null });
      } catch (error) {
        samples.push({ t, newestSet: null, ageS: null });
        process.stderr.write(`sample at ${t.toFixed(0)} s failed: ${describeError(error)}\n`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void loop();
  return { stop: () => ((stopped = true), samples) };
}

/** The figures of the run. */
function summarize(run: {
  wallS: number; minutes: number; intervalMin: number; sizeMb: number; dailyAtMin: number; activityS: number; activityFraction: number;
  full: CliJob; jobs: CliJob[]; samples: Sample[]; activity: { ticks: number; rowsChanged: number; busyRetries: number }; sets: unknown;
}) {
  const { samples, jobs } = run;
  const firstSeen = new Map<string, number>();
  for (const s of samples) if (s.newestSet && !firstSeen.has(s.newestSet)) firstSeen.set(s.newestSet, s.t);
  for (const j of jobs) if (j.setName && firstSeen.has(j.setName)) j.dueToCommitS = firstSeen.get(j.setName)! - j.dueS;
  const inHour = samples.filter((s) => s.t <= run.minutes * 60 && s.ageS !== null);
  const maxSample = inHour.reduce<Sample | null>((m, s) => (!m || s.ageS! > m.ageS! ? s : m), null);
  // The first interval counts from the FULL's point, taken before the run's clock started (the FULL's own duration
  // earlier): the steady state is the maximum once the first LOG point is at the hot-site.
  const firstLog = jobs.find((j) => j.type === 'LOG' && j.setName !== undefined && firstSeen.has(j.setName));
  const steady = firstLog ? inHour.filter((s) => s.t >= firstSeen.get(firstLog.setName!)!) : [];
  const maxSteady = steady.reduce<Sample | null>((m, s) => (!m || s.ageS! > m.ageS! ? s : m), null);
  const logs = jobs.filter((j) => j.type === 'LOG');
  const commits = jobs.map((j) => j.dueToCommitS).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const sets = run.sets as { rpo?: unknown; gaps?: unknown[] } | undefined;
  return {
    what: `RPO in a real ${run.minutes}-minute local run, LOG every ${run.intervalMin} min (real clock, real CLI bundle, SQLite ${run.sizeMb} MB sample, moto hot-site)`,
    machine: '2 cores shared by ~8 helper sessions (load varies); one run',
    /** Real seconds from the start of the run (after the FULL) to its end (last job exited + 3 s), by the wall clock. */
    wallS: run.wallS,
    /** Real seconds covered by the samples counted (the first to the last at or before `minutes`). */
    sampledS: inHour.length ? inHour.at(-1)!.t - inHour[0]!.t : 0,
    settings: { minutes: run.minutes, intervalMin: run.intervalMin, sizeMb: run.sizeMb, dailyDifferentialAtMin: run.dailyAtMin, activity: `${run.activityFraction * 100}% of rows every ${run.activityS} s` },
    fullS: run.full.processS,
    logPoints: { due: logs.length, completed: logs.filter((j) => j.status === 'Completed').length, other: logs.filter((j) => j.status !== 'Completed').map((j) => ({ dueS: j.dueS, status: j.status, exitCode: j.exitCode, stderr: j.stderrTail })) },
    maxRpoS: maxSample?.ageS ?? null,
    maxRpoAtS: maxSample?.t ?? null,
    /** Max RPO from the moment the first LOG point was seen at the hot-site to the end of the run. */
    maxRpoAfterFirstLogS: maxSteady?.ageS ?? null,
    maxRpoAfterFirstLogAtS: maxSteady?.t ?? null,
    maxRpoTarget: `${run.intervalMin * 60} s interval + due→committed; alarm at ${2 * run.intervalMin * 60} s`,
    rpoAtEndS: inHour.at(-1)?.ageS ?? null,
    dueToCommitS: { median: commits[Math.floor(commits.length / 2)] ?? null, max: commits.at(-1) ?? null },
    samples: inHour.length,
    activity: run.activity,
    setsRpo: sets?.rpo ?? null,
    chainGaps: sets?.gaps ?? [],
    jobs,
  };
}

function formatMarkdown(r: ReturnType<typeof summarize>): string {
  const rows = r.jobs.map(
    (j) => `| ${(j.dueS / 60).toFixed(1)} | ${j.type} | ${j.setName ?? '-'} | ${j.status ?? `exit ${j.exitCode}`} | ${j.pointTime ?? '-'} | ${j.dueToCommitS?.toFixed(1) ?? '-'} | ${j.processS.toFixed(1)} |`,
  );
  return [
    `# ${r.what}`,
    '',
    `Machine: ${r.machine}. Settings: ${JSON.stringify(r.settings)}.`,
    '',
    `- wall clock: ${(r.wallS / 60).toFixed(1)} min from the start of the run (after the FULL) to its end; samples cover ${(r.sampledS / 60).toFixed(1)} min`,
    `- **max RPO over the run: ${r.maxRpoS?.toFixed(1)} s** (at ${r.maxRpoAtS?.toFixed(0)} s; sampled every second from the hot-site: now − pointTime of the newest SET with its manifest there; ${r.samples} samples)`,
    `- max RPO once the first LOG point was at the hot-site: ${r.maxRpoAfterFirstLogS?.toFixed(1)} s (at ${r.maxRpoAfterFirstLogAtS?.toFixed(0)} s); before it the age counts from the FULL's point, taken during the FULL (${r.fullS.toFixed(1)} s) before the run's clock started`,
    `- target: ${r.maxRpoTarget}; RPO at the end of the run ${r.rpoAtEndS?.toFixed(1)} s`,
    `- LOG points: ${r.logPoints.completed} of ${r.logPoints.due} Completed; due → manifest at the hot-site median ${r.dueToCommitS.median?.toFixed(1)} s, max ${r.dueToCommitS.max?.toFixed(1)} s; FULL before the hour ${r.fullS.toFixed(1)} s`,
    `- activity: ${r.activity.ticks} ticks, ${r.activity.rowsChanged} rows changed, ${r.activity.busyRetries} ticks retried on SQLITE_BUSY; \`sets\` RPO ${JSON.stringify(r.setsRpo)}; chain gaps ${r.chainGaps.length}`,
    '',
    '| due (min) | type | SET | status | point time | due → committed (s) | process (s) |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`rpo-hour bench failed: ${describeError(error)}\n`);
  process.exitCode = 1;
});
