/**
 * Registry benchmark (issue 18): a generated `.reg` file of `--size-mb` MB (default 60; REGEDIT5, UTF-16LE with
 * BOM, as regedit writes it: many keys with strings, DWORDs, expandable and multi strings and small binaries, plus
 * a large binary value every few thousand keys) is parsed and printed (`registry parse`, table and `--json`) and
 * written again, each step a streaming pass in a child process (bench/child-registry.ts). Reported: each step's
 * time as a ratio of reading the file once (raw bytes, 1 MiB chunks, page cache warm) in the same child process right
 * before the step, the median of `--runs` runs (default 5), and the child's peak RSS (VmHWM, which includes Node and
 * the TypeScript loader).
 *
 * Usage: npm run bench -- --only registry [--size-mb 60] [--runs 5] [--label NAME]
 * Writes bench/results/<date>-registry[-NAME].json and .md. The generated file is cached under bench/work/ (git-ignored).
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeRegFile } from '#agent/registry/reg-format';
import type { RegOperation, RegValue } from '#agent/registry/types';
import { arg } from './stats';

const ROOT = __dirname;
const WORK = join(ROOT, 'work');
const MiB = 1024 * 1024;
const log = (message: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);

/** Operations of the generated file, until about `bytes` of REGEDIT5 text are written. */
function* operations(bytes: number): Generator<RegOperation> {
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const key = `HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServeBench\\Clients\\Client${String(i).padStart(6, '0')}`;
    const values: RegValue[] = [
      { name: 'sClientName', type: 'REG_SZ', data: `client-${i}.example.local` },
      { name: 'dGALAXYHOME', type: 'REG_SZ', data: `C:\\Program Files\\ExampleVendor\\Base\\Client${i}` },
      { name: 'sLogDir', type: 'REG_EXPAND_SZ', data: '%ProgramFiles%\\CommServe\\Log Files' },
      { name: 'nPort', type: 'REG_DWORD', data: 8400 + (i % 100) },
      { name: 'qwLastJob', type: 'REG_QWORD', data: String(1_000_000 + i) },
      { name: 'mInstances', type: 'REG_MULTI_SZ', data: ['SQLINSTANCE01', `C:\\DR\\Sets\\${i}`] },
      { name: 'bConfig', type: 'REG_BINARY', data: Buffer.alloc(96, i % 251).toString('hex') },
    ];
    if (i % 4000 === 0) values.push({ name: 'bLargeBlob', type: 'REG_BINARY', data: Buffer.alloc(512 * 1024, i % 253).toString('hex') });
    const operation: RegOperation = { op: 'setKey', key, values };
    // A rough size: UTF-16 text of the key and values (hex data takes 3 characters a byte).
    size += 2.7 * (key.length + values.reduce((n, v) => n + v.name.length + (typeof v.data === 'string' ? v.data.length * (v.type === 'REG_BINARY' ? 1.6 : 1) : 60), 40));
    yield operation;
  }
}

async function generate(sizeMb: number): Promise<string> {
  const file = join(WORK, `registry-${sizeMb}mb.reg`);
  if (!existsSync(file)) {
    log(`generating a ${sizeMb} MB .reg file into ${file}…`);
    mkdirSync(WORK, { recursive: true });
    await writeRegFile(`${file}.tmp`, 'REGEDIT5', operations(sizeMb * MiB));
    writeFileSync(file, readFileSync(`${file}.tmp`));
    rmSync(`${file}.tmp`);
  }
  return file;
}

/** Reads the file once (raw bytes, 1 MiB chunks): wall and CPU (user + system) time, ms. */
async function readOnce(file: string): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  for await (const _chunk of createReadStream(file, { highWaterMark: MiB })) {
    // read only
  }
  const { user, system } = process.cpuUsage(cpuStart);
  return { wall: performance.now() - started, cpu: (user + system) / 1000 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const range = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

/** What the child reports for one step (bench/child-registry.ts); wall and CPU times in ms. */
interface ChildStep {
  step: Step;
  timing: Timing;
  /** Reading the file once right before the step, in the same fresh child. */
  read: Timing;
  /** The same read right after the step (a warm process)… */
  warmRead: Timing;
  /** …and the step once more right after it. */
  warmTiming: Timing;
  printedChars: number;
  vmHwmKiB: number;
  operations: number;
  writtenBytes: number;
}

interface Timing {
  wall: number;
  cpu: number;
}

const STEPS = ['parse', 'parseJson', 'rewrite'] as const;
type Step = (typeof STEPS)[number];

/** One step over the runs: medians of its time, of its paired reads, and of the per-run ratios (with min–max). */
function stepSummary(runs: ChildStep[]) {
  const ratios = runs.map((r) => r.timing.wall / r.read.wall);
  const cpuRatios = runs.map((r) => r.timing.cpu / r.read.cpu);
  const warmRatios = runs.map((r) => r.warmTiming.wall / r.warmRead.wall);
  const warmCpuRatios = runs.map((r) => r.warmTiming.cpu / r.warmRead.cpu);
  return {
    ms: median(runs.map((r) => r.timing.wall)),
    readMs: median(runs.map((r) => r.read.wall)),
    ratio: median(ratios),
    ratios,
    cpuMs: median(runs.map((r) => r.timing.cpu)),
    readCpuMs: median(runs.map((r) => r.read.cpu)),
    cpuRatio: median(cpuRatios),
    cpuRatios,
    warmMs: median(runs.map((r) => r.warmTiming.wall)),
    warmReadMs: median(runs.map((r) => r.warmRead.wall)),
    warmCpuMs: median(runs.map((r) => r.warmTiming.cpu)),
    warmRatio: median(warmRatios),
    warmRatios,
    warmReadCpuMs: median(runs.map((r) => r.warmRead.cpu)),
    warmCpuRatio: median(warmCpuRatios),
    warmCpuRatios,
    vmHwmMiB: Math.max(...runs.map((r) => r.vmHwmKiB)) / 1024,
  };
}

/** Runs one step in a fresh child process (bench/child-registry.ts). */
function runChild(step: Step, file: string, out: string): ChildStep {
  const child = spawnSync(process.execPath, [join(ROOT, '..', 'bin', 'run-ts.js'), join(ROOT, 'child-registry.ts'), step, file, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`child-registry ${step} failed (${child.status})`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildStep;
}

async function main(): Promise<void> {
  const sizeMb = Number(arg('size-mb') ?? 60);
  const runs = Number(arg('runs') ?? 5);
  const label = arg('label');
  const file = await generate(sizeMb);
  const bytes = statSync(file).size;
  const out = join(WORK, 'registry-rewrite.reg');
  const results: Record<Step, ChildStep[]> = { parse: [], parseJson: [], rewrite: [] };
  const parentReads: number[] = [];
  const loads: number[] = [];
  for (let run = 0; run < runs; run++) {
    parentReads.push((await readOnce(file)).wall);
    const line: string[] = [];
    for (const step of STEPS) {
      const result = runChild(step, file, out);
      results[step].push(result);
      line.push(`${step} ${result.timing.wall.toFixed(0)} ms / read ${result.read.wall.toFixed(0)} = ${(result.timing.wall / result.read.wall).toFixed(2)} (CPU ${(result.timing.cpu / result.read.cpu).toFixed(2)})`);
    }
    loads.push(loadavg()[0]);
    log(`run ${run + 1}: load ${loads[run].toFixed(1)}, ${line.join(', ')}`);
  }
  const steps = Object.fromEntries(STEPS.map((name) => [name, stepSummary(results[name])])) as Record<Step, ReturnType<typeof stepSummary>>;
  const rewrite = results.rewrite[0];
  const summary = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), note: 'shared with other sessions', loadAverage1m: { median: median(loads), min: Math.min(...loads), max: Math.max(...loads) } },
    file: { bytes, operations: rewrite.operations, rewrittenBytes: rewrite.writtenBytes, identical: rewrite.writtenBytes === bytes, printedChars: { table: results.parse[0].printedChars, json: results.parseJson[0].printedChars } },
    runs,
    baseline: 'reading the file once (read stream, 1 MiB chunks) in the same fresh child process, right before the step; warm: the same read and step once more in that (now warm) process',
    steps,
    /** The read in the parent process before each run (the baseline of earlier results), for comparison. */
    parentReadMs: median(parentReads),
    parentReadsMs: parentReads,
    peakRssMiB: Math.max(...STEPS.map((name) => steps[name].vmHwmMiB)),
  };
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  const stem = join(ROOT, 'results', `${summary.date.slice(0, 10)}-registry${label ? `-${label}` : ''}`);
  writeFileSync(`${stem}.json`, `${JSON.stringify(summary, null, 2)}\n`);
  const row = (title: string, s: ReturnType<typeof stepSummary>) =>
    `| ${title} | ${s.ms.toFixed(0)} | ${s.readMs.toFixed(0)} | **${s.ratio.toFixed(2)}** (${range(s.ratios, 2)}) | ${s.cpuMs.toFixed(0)} / ${s.readCpuMs.toFixed(0)} = ${s.cpuRatio.toFixed(2)} (${range(s.cpuRatios, 2)}) | ${s.warmMs.toFixed(0)} / ${s.warmReadMs.toFixed(0)} = ${s.warmRatio.toFixed(2)} (${range(s.warmRatios, 2)}); CPU ${s.warmCpuMs.toFixed(0)} / ${s.warmReadCpuMs.toFixed(0)} = ${s.warmCpuRatio.toFixed(2)} | ${s.vmHwmMiB.toFixed(0)} |`;
  const md = [
    `# Registry benchmark (${summary.date.slice(0, 10)}${label ? `, ${label}` : ''})`,
    '',
    `${(bytes / MiB).toFixed(1)} MiB REGEDIT5 file, ${summary.file.operations} keys; median of ${runs} runs (min–max of the per-run ratios in brackets); ${summary.machine.cpus} cores (${summary.machine.note}).`,
    '',
    `Load average (1 min) during the runs: median ${summary.machine.loadAverage1m.median.toFixed(1)} (${range(loads, 1)}) on ${summary.machine.cpus} cores.`,
    '',
    'Each step runs in a fresh child process, as each `registry parse` does. Baseline of its ratio: reading the file once (raw bytes,',
    'a read stream of 1 MiB chunks) **in that same child, right before the step** — same process state, page cache warm; the ratio',
    'is taken per run, then the median. "Warm": the same read and the same step once more in that child, now warm (heap grown,',
    'freed memory to reuse, code compiled) — the second pair, also in one state, where a read costs least: the stricter comparison.',
    '`registry parse` output is written to /dev/null as the CLI writes stdout (synchronous, UTF-8); the child keeps the young',
    'generation small as the CLI does (agent/memory.ts).',
    '',
    '| step | wall ms | read ms (paired) | × reading the file once | CPU ms / read CPU ms = × | warm: step / read ms = × (CPU) | peak RSS MiB |',
    '|---|---|---|---|---|---|---|',
    row('registry parse (table)', steps.parse),
    row('registry parse --json', steps.parseJson),
    row('re-write (read + write)', steps.rewrite),
    '',
    `Peak RSS (VmHWM of each step's child, incl. Node + TS loader): ${summary.peakRssMiB.toFixed(0)} MiB. Re-written file identical in size: ${summary.file.identical}.`,
    `For comparison, the read in the parent process before each run (the baseline of earlier results): median ${summary.parentReadMs.toFixed(0)} ms (${range(parentReads)}).`,
    '',
  ].join('\n');
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
