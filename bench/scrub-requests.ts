/**
 * Scrub cost measurement (issue 16, closing note): S3 requests each daily FULL/DIFFERENTIAL job spends on the upkeep of
 * the hot-site copies — half-finished-job check + scrub (`runJobUpkeep`) and, for a DIFFERENTIAL, the check of its
 * base FULL — with 5 kept cycles of 7 SETs, and the number of jobs (days, one job a day) it takes to check every kept
 * SET's checksums once at `ScrubRequestsPerJob` (default 150).
 *
 * Real jobs end to end, counted at the S3 client: the synthesized state machine run locally
 * (aws-local-stepfunctions) with the real phase 1 (SQLite sample CommServe, 1% of rows changed between jobs, file
 * hive, firewall files) and the real phase 2 handlers (ValidateSet, ArchiveSet, PruneSets, ReportJob), moto as the
 * hot-site. Every S3 operation is counted by a client middleware (one count per operation sent; moto answers locally,
 * so there are no retries to hide) and attributed to the phase-1 step running when it was sent (the job journal's
 * stage), or to phase 2. The scrub's own count (its `SCRUB` event) is cross-checked against the counted one. The
 * `plan` step of a DIFFERENTIAL holds the check of its base FULL (13 requests: a FULL of 7 files) and, since issue
 * 15's hot-site-aware dump plan, that plan's inventory of the hot-site (a GetObject per kept SET).
 *
 * Days to check every kept SET once: for every job once 5 cycles are kept, the number of jobs (one a day) until every
 * SET kept at its start had a full checksum check — by a scrub, or by a DIFFERENTIAL's check of its base FULL (which
 * keeps the open cycle's FULL recently checked, so the scrub's rotation rightly passes it over).
 *
 * Cycles: a FULL then 6 DIFFERENTIALs (7 SETs); `RetainCycles` 5 keeps 5 complete cycles and the open one.
 * Two ways of recording a job, as deployed:
 * - `--records local` (default; the local run and an on-premises phase 2): the agent writes the record in the
 *   phase-1 destination's history too;
 * - `--records hot-site` (AWS: ReportJob in Lambda writes `jobs/<id>.json` only): the agent has no local record.
 *
 *   node bin/run-ts.js bench/scrub-requests.ts [--jobs 49] [--records local|hot-site] [--budget 150] [--no-write]
 *   node bin/run-ts.js bench/scrub-requests.ts --summarize bench/results/<file>.json   (recomputes the summary)
 *
 * Writes bench/results/<date>-scrub-<records>.json.
 */
import '../agent/local/promise-with-resolvers';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parseSettings } from '#core/settings';
import { BackupType } from '#core/set-id';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { JobJournal, tryRecordJobAnywhere } from '#agent/history/job-journal';
import { executeDrJobLocally } from '#agent/local/local-state-machine';
import { startMotoServer } from '#agent/local/moto-server';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { createLogger } from '#agent/log';
import { arg } from './stats';

/** Requests of one job, by step and by operation. */
interface JobRequests {
  jobId: number;
  backupType: string;
  status: string;
  /** SETs with a manifest at the hot-site when the job's scrub listed them. */
  kept: number;
  /** SETs whose checksums this job's scrub checked. */
  checked: string[];
  deferred: number;
  /** The scrub's own count (its SCRUB event). */
  scrubReported: number;
  /** Counted: per phase-1 step (and `phase 2`), per operation. */
  byStep: Record<string, Record<string, number>>;
  /** Counted: the upkeep step (half-finished check + scrub). */
  upkeep: number;
  /** Counted: the `plan` step of a DIFFERENTIAL (base-FULL check + the dump plan's hot-site inventory). */
  planStep: number;
  total: number;
}

const PER_CYCLE = 7;

async function main(): Promise<void> {
  const from = arg('summarize');
  if (from) {
    const saved = JSON.parse(readFileSync(from, 'utf8')) as { run: { jobs: number; records: string; budget: number }; perJob: Array<JobRequests & { baseFullCheck?: number }> };
    const perJob = saved.perJob.map(({ baseFullCheck, ...r }) => ({ ...r, planStep: r.planStep ?? baseFullCheck ?? 0 }));
    writeFileSync(from, `${JSON.stringify({ ...summarize(perJob, saved.run), perJob }, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(summarize(perJob, saved.run), null, 2)}\n`);
    return;
  }
  const jobs = Number(arg('jobs') ?? 49);
  const records = arg('records') ?? 'local';
  if (records !== 'local' && records !== 'hot-site') throw new Error(`--records must be local or hot-site, got ${records}`);
  const budget = Number(arg('budget') ?? 150);
  const dir = mkdtempSync(join(tmpdir(), 'commserve-dr-scrub-'));
  const moto = await startMotoServer();
  const bucket = 'scrub-bench-hot-site';
  let stage = 'outside a job';
  const counted: Array<{ stage: string; op: string }> = [];
  const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      counted.push({ stage, op: String(context.commandName ?? 'unknown').replace(/Command$/, '') });
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  const logger = createLogger({ level: 'silent' });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sample = await generateSampleCommServe({ dir: join(dir, 'cs'), sizeBytes: 2 * 1024 * 1024, seed: 16 });
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: sample.dbPath },
        Registry: { store: 'file-hive', hiveFile: join(dir, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(dir, 'cs', 'firewall'),
        Phase1Destination: join(dir, 'dr'),
        StateDirectory: join(dir, 'state'),
        HotSite: { bucket, endpoint: moto.endpoint },
        RetainCycles: 5,
        ScrubRequestsPerJob: budget,
        PublishMetrics: false,
      },
      'bench',
    );
    const results: JobRequests[] = [];
    for (let n = 1; n <= jobs; n++) {
      const type = (n - 1) % PER_CYCLE === 0 ? BackupType.Full : BackupType.Differential;
      if (n > 1) mutateSampleCommServe(sample.dbPath, { fraction: 0.01, seed: n });
      const start = counted.length;
      const journal = JobJournal.open(settings, { s3, bucket }, () => undefined);
      const journalStage = journal.stage.bind(journal);
      journal.stage = (name, update) => {
        stage = name;
        journalStage(name, update);
      };
      stage = 'before phase 1';
      const execution = await executeDrJobLocally({
        input: { backupType: type },
        s3,
        settings,
        phase1: (heartbeat) => runPhase1({ settings, requestedType: type, s3, logger, heartbeat, journal }).finally(() => (stage = 'phase 2')),
        archiveRetryIntervalMs: 1_000,
      });
      stage = 'after the job';
      if (records === 'local') tryRecordJobAnywhere(settings, execution.record, () => undefined);
      journal.finish();
      results.push(jobRequests(execution.record, counted.slice(start)));
      const r = results.at(-1)!;
      process.stderr.write(`job ${n} ${r.backupType} ${r.status}: kept ${r.kept}, checked ${r.checked.length}, upkeep ${r.upkeep} (scrub says ${r.scrubReported}), plan step ${r.planStep}, all ${r.total}\n`);
    }
    const summary = summarize(results, { jobs, records, budget });
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    if (!process.argv.includes('--no-write')) {
      const out = join(__dirname, 'results');
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, `${new Date().toISOString().slice(0, 10)}-scrub-${records}.json`), `${JSON.stringify({ ...summary, perJob: results }, null, 2)}\n`);
    }
  } finally {
    await moto.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One job's counted requests, with what its SCRUB event says. */
function jobRequests(record: { jobId: number | null; backupType: string; status: string; events: Array<{ code: string; message: string }> }, requests: Array<{ stage: string; op: string }>): JobRequests {
  const byStep: Record<string, Record<string, number>> = {};
  for (const { stage, op } of requests) {
    byStep[stage] ??= {};
    byStep[stage][op] = (byStep[stage][op] ?? 0) + 1;
  }
  const sum = (step: string) => Object.values(byStep[step] ?? {}).reduce((a, b) => a + b, 0);
  const scrub = record.events.find((e) => e.code === 'SCRUB')?.message ?? '';
  const m = /^hot-site scrub: (\d+) kept SET\(s\) listed; checksums of \d+ checked \(([^)]*)\), (\d+) left for later jobs; (\d+) request\(s\)/.exec(scrub);
  return {
    jobId: record.jobId ?? 0,
    backupType: record.backupType,
    status: record.status,
    kept: m ? Number(m[1]) : 0,
    checked: m && m[2] !== 'none' ? m[2].split(', ') : [],
    deferred: m ? Number(m[3]) : 0,
    scrubReported: m ? Number(m[4]) : 0,
    byStep,
    upkeep: sum('upkeep'),
    planStep: record.backupType === 'DIFFERENTIAL' ? sum('plan') : 0,
    total: requests.length,
  };
}

/**
 * The closing numbers: requests per job once 5 cycles are kept, and for every job from then on the number of jobs
 * until every SET kept at its start had its checksums checked (SETs pruned meanwhile no longer count).
 */
function summarize(results: JobRequests[], run: { jobs: number; records: string; budget: number }) {
  const steady = results.filter((r) => r.jobId > 5 * PER_CYCLE);
  const passes: number[] = [];
  for (let i = 0; i < results.length; i++) {
    if (results[i].jobId <= 5 * PER_CYCLE) continue;
    // Kept at job i's scrub: the SETs just before it (pruning removes whole old cycles, so they are contiguous).
    const keptAtStart = keptIds(results[i]);
    const seen = new Set<number>();
    for (let j = i; j < results.length; j++) {
      for (const name of results[j].checked) seen.add(Number(name.replace(/^SET_0*/, '')));
      if (results[j].backupType === 'DIFFERENTIAL') seen.add(baseFullOf(results, j));
      const lowest = results[j].jobId - results[j].kept;
      if (keptAtStart.filter((id) => id >= lowest).every((id) => seen.has(id))) {
        passes.push(j - i + 1);
        break;
      }
    }
  }
  const figure = (values: number[]) => (values.length === 0 ? null : { min: Math.min(...values), max: Math.max(...values), mean: Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 });
  const at35 = results.find((r) => r.jobId === 5 * PER_CYCLE + 1);
  return {
    run: { ...run, sampleMb: 2, cycle: 'FULL + 6 DIFFERENTIAL', retainCycles: 5, machine: 'shared by ~8 sessions; request counts do not depend on load' },
    withExactly35Kept: at35 ? { jobId: at35.jobId, kept: at35.kept, checked: at35.checked.length, upkeep: at35.upkeep, scrubReported: at35.scrubReported, byOp: at35.byStep.upkeep } : null,
    steadyState: {
      jobs: steady.length,
      kept: figure(steady.map((r) => r.kept)),
      checkedPerJob: figure(steady.map((r) => r.checked.length)),
      upkeepRequests: figure(steady.map((r) => r.upkeep)),
      scrubReported: figure(steady.map((r) => r.scrubReported)),
      planStepRequests: figure(steady.filter((r) => r.backupType === 'DIFFERENTIAL').map((r) => r.planStep)),
      planStepByOpLastJob: steady.filter((r) => r.backupType === 'DIFFERENTIAL').at(-1)?.byStep.plan ?? null,
      allRequestsPerJob: figure(steady.map((r) => r.total)),
      jobsToCheckEveryKeptSetOnce: figure(passes),
    },
  };
}

/** The job id of the FULL a DIFFERENTIAL at `results[j]` is based on: the newest FULL before it. */
function baseFullOf(results: readonly JobRequests[], j: number): number {
  for (let k = j - 1; k >= 0; k--) if (results[k].backupType === 'FULL') return results[k].jobId;
  return 0;
}

/** Job ids of the SETs kept at the hot-site when `r`'s scrub listed them: the `kept` ones just before it. */
function keptIds(r: JobRequests): number[] {
  return Array.from({ length: r.kept }, (_, k) => r.jobId - r.kept + k);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
