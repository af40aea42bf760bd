/**
 * Memory benchmark (issue 20: the agent's peak RSS ≤ 128 MiB, flat in the database size): the agent commands of the
 * end-to-end benchmark without its baselines and peers — FULL with DumpCompression brotli, FULL, DIFFERENTIAL after
 * 1% of rows changed, recovery of FULL+DIFF, LOG point after 0.1% more — each in the bench child process
 * (bench/agent-child.ts), against a local moto server. For each: peak RSS (the child's VmHWM, or the parent's 50 ms
 * polling of VmRSS when larger), wall time, and where the memory was at the peak (V8 heap, `external`, array buffers).
 *
 * Usage: npm run bench -- --only memory [--sizes 256,2048] [--runs 1]
 * Writes bench/results/<date>-memory.json and .md.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseSettings } from '#core/settings';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { startMotoServer, type MotoServer } from '#agent/local/moto-server';
import { mutateSampleCommServe } from '#agent/local/sample-db/index';
import { peakMiB, runChild, type AgentChildRun } from './agent-child';
import { arg, figure, type Figure } from './stats';
import { log, sample, sampleWorkspace } from './sample';

/** The commands measured, in the order they run (each builds on the previous one's SETs). */
const STEPS = ['full-brotli', 'full', 'differential', 'recover', 'log'] as const;
type Step = (typeof STEPS)[number];

/** One command's figures in one run. */
interface StepRun {
  peakRssMiB: number;
  ms: number;
  atPeakMiB: AgentChildRun['atPeakMiB'];
}

async function resetMoto(moto: MotoServer): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

/** One run of every step on the sample of `sizeMb` MB. */
async function runOnce(moto: MotoServer, sizeMb: number, run: number): Promise<{ dbBytes: number; steps: Record<Step, StepRun> }> {
  const sampleDir = await sample(sizeMb);
  await resetMoto(moto);
  const bucket = `memory-${sizeMb}-${run}`;
  // Plain dumps for the FULL, DIFFERENTIAL, LOG and recovery steps (brotli is the default since issue 20 item 5;
  // the brotli FULL is measured on its own first, as in bench/run.ts).
  const { work, db, raw } = sampleWorkspace(sampleDir, `memory-${sizeMb}mb`, bucket, moto.endpoint, { DumpCompression: 'none' });
  try {
    const settingsFile = join(work, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify(raw));
    const brotliFile = join(work, 'settings-brotli.json');
    writeFileSync(brotliFile, JSON.stringify({ ...raw, DumpCompression: 'brotli', DumpCompressionLevel: 1 }));
    await createHotSiteClient(parseSettings(raw, 'bench').HotSite).send(new CreateBucketCommand({ Bucket: bucket }));

    const measured = (r: AgentChildRun): StepRun => ({ peakRssMiB: peakMiB(r), ms: r.ms, atPeakMiB: r.atPeakMiB });
    const steps = {} as Record<Step, StepRun>;
    steps['full-brotli'] = measured(await runChild('full', brotliFile));
    steps.full = measured(await runChild('full', settingsFile));
    mutateSampleCommServe(db, { fraction: 0.01, seed: 100 + run });
    steps.differential = measured(await runChild('differential', settingsFile));
    const to = join(work, 'recover');
    steps.recover = measured(await runChild('recover', settingsFile, to));
    rmSync(to, { recursive: true, force: true });
    mutateSampleCommServe(db, { fraction: 0.001, seed: 200 + run });
    steps.log = measured(await runChild('log', settingsFile));
    log(`${sizeMb} MB run ${run + 1}: peak RSS ${STEPS.map((s) => `${s} ${steps[s].peakRssMiB.toFixed(0)}`).join(', ')} MiB`);
    return { dbBytes: statSync(db).size, steps };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes = (arg('sizes') ?? '256,2048').split(',').map(Number);
  if (sizes.some((s) => !(Number.isInteger(s) && s >= 1))) throw new Error('--sizes takes whole MB, e.g. 256,2048');
  const runs = Number(arg('runs') ?? 1);
  for (const size of sizes) await sample(size);
  const load = loadavg()[0];
  const moto = await startMotoServer();
  const results: Array<{ sizeMb: number; dbBytes: number; runs: Array<Record<Step, StepRun>> }> = [];
  try {
    for (const sizeMb of sizes) {
      const runsOut: Array<Record<Step, StepRun>> = [];
      let dbBytes = 0;
      for (let run = 0; run < runs; run++) {
        const r = await runOnce(moto, sizeMb, run);
        dbBytes = r.dbBytes;
        runsOut.push(r.steps);
      }
      results.push({ sizeMb, dbBytes, runs: runsOut });
    }
  } finally {
    await moto.stop();
  }
  const date = new Date().toISOString();
  const summary = results.map((s) => ({
    sizeMb: s.sizeMb,
    dbBytes: s.dbBytes,
    peakRssMiB: Object.fromEntries(STEPS.map((step) => [step, figure(s.runs.map((r) => r[step].peakRssMiB))])) as Record<Step, Figure>,
    seconds: Object.fromEntries(STEPS.map((step) => [step, figure(s.runs.map((r) => r[step].ms / 1000))])) as Record<Step, Figure>,
    raw: s.runs,
  }));
  const machine = `${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other sessions (load ${load.toFixed(1)} at the start)`;
  const result = { benchmark: 'commserve-dr agent memory', date, node: process.version, machine, runs, targetPeakRssMiB: 128, sizes: summary };
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  const stamp = `${date.slice(0, 10)}-memory`;
  writeFileSync(join(__dirname, 'results', `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const f = (x: Figure, digits = 0) => (x.min === x.max ? x.median.toFixed(digits) : `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`);
  const titles: Record<Step, string> = { 'full-brotli': 'FULL brotli', full: 'FULL', differential: 'DIFFERENTIAL (1% rows)', recover: 'recovery FULL+DIFF', log: 'LOG (0.1% rows)' };
  const md = [
    `# commserve-dr agent memory, ${date.slice(0, 10)}`,
    '',
    `${machine}; node ${process.version}; ${runs} run(s) per size; median (min–max). Peak RSS = the agent child's VmHWM (or the parent's 50 ms VmRSS polling when larger).`,
    '',
    `| peak RSS (MiB) / wall time (s) | ${summary.map((s) => `${s.sizeMb} MB`).join(' | ')} | target |`,
    `|---|${summary.map(() => '---|').join('')}---|`,
    ...STEPS.map((step) => `| ${titles[step]} | ${summary.map((s) => `**${f(s.peakRssMiB[step])}** / ${f(s.seconds[step], 1)} s`).join(' | ')} | ≤ 128 MiB, flat |`),
    '',
  ].join('\n');
  writeFileSync(join(__dirname, 'results', `${stamp}.md`), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
