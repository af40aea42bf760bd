/**
 * Registry benchmark (issue 18): a generated `.reg` file of `--size-mb` MB (default 60; REGEDIT5, UTF-16LE with
 * BOM, as regedit writes it: many keys with strings, DWORDs, expandable and multi strings and small binaries, plus
 * a large binary value every few thousand keys) is parsed and printed (`registry parse`, table and `--json`) and
 * written again, each step a streaming pass in a child process (bench/child-registry.ts). Reported: each step's
 * time as a ratio of reading the file once (raw bytes, 1 MiB chunks, page cache warm), the median of `--runs`
 * runs, and the child's peak RSS (VmHWM, which includes Node and the TypeScript loader).
 *
 * Usage: npm run bench -- --only registry [--size-mb 60] [--runs 3]
 * Writes bench/results/<date>-registry.json and .md. The generated file is cached under bench/work/ (git-ignored).
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

async function main(): Promise<void> {
  const sizeMb = Number(arg('size-mb') ?? 60);
  const runs = Number(arg('runs') ?? 3);
  const file = await generate(sizeMb);
  const bytes = statSync(file).size;
  const out = join(WORK, 'registry-rewrite.reg');
  const results: Array<{ read: number; readCpu: number; timings: Record<string, number>; cpu: Record<string, number>; vmHwmKiB: number; operations: number; writtenBytes: number }> = [];
  for (let run = 0; run < runs; run++) {
    const { wall: read, cpu: readCpu } = await readOnce(file);
    const child = spawnSync(process.execPath, [join(ROOT, '..', 'bin', 'run-ts.js'), join(ROOT, 'child-registry.ts'), file, out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`child-registry failed (${child.status})`);
    const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
    results.push({ read, readCpu, ...result });
    log(`run ${run + 1}: load ${loadavg()[0].toFixed(1)}, read ${read.toFixed(0)} ms (CPU ${readCpu.toFixed(0)}), parse ${result.timings.parse.toFixed(0)} ms, --json ${result.timings.parseJson.toFixed(0)} ms, rewrite ${result.timings.rewrite.toFixed(0)} ms, VmHWM ${(result.vmHwmKiB / 1024).toFixed(0)} MiB`);
  }
  const read = median(results.map((r) => r.read));
  const step = (name: string) => median(results.map((r) => r.timings[name]));
  const total = median(results.map((r) => r.timings.parse + r.timings.rewrite));
  const readCpu = median(results.map((r) => r.readCpu));
  const stepCpu = (name: string) => median(results.map((r) => r.cpu[name]));
  const summary = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), note: 'shared with other sessions', loadAverage1m: loadavg()[0] },
    file: { bytes, operations: results[0].operations, rewrittenBytes: results[0].writtenBytes, identical: results[0].writtenBytes === bytes },
    runs,
    readOnceMs: read,
    parseMs: step('parse'),
    parseJsonMs: step('parseJson'),
    rewriteMs: step('rewrite'),
    ratios: { parse: step('parse') / read, parseJson: step('parseJson') / read, rewrite: step('rewrite') / read, parseAndRewrite: total / read },
    /** The same in CPU time (user + system; median of the runs): what the step costs, whatever else runs on the machine. */
    cpu: { readOnceMs: readCpu, parseMs: stepCpu('parse'), parseJsonMs: stepCpu('parseJson'), rewriteMs: stepCpu('rewrite') },
    peakRssMiB: Math.max(...results.map((r) => r.vmHwmKiB)) / 1024,
  };
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  const stem = join(ROOT, 'results', `${summary.date.slice(0, 10)}-registry`);
  writeFileSync(`${stem}.json`, `${JSON.stringify(summary, null, 2)}\n`);
  const md = [
    `# Registry benchmark (${summary.date.slice(0, 10)})`,
    '',
    `${(bytes / MiB).toFixed(1)} MiB REGEDIT5 file, ${summary.file.operations} keys; median of ${runs} runs; ${summary.machine.cpus} cores (${summary.machine.note}).`,
    '',
    `Load average (1 min) at the end: ${summary.machine.loadAverage1m.toFixed(1)} on ${summary.machine.cpus} cores.`,
    '',
    '| step | wall ms | × reading the file once | CPU ms | × (CPU) |',
    '|---|---|---|---|---|',
    `| read the file once (bytes) | ${read.toFixed(0)} | 1 | ${readCpu.toFixed(0)} | 1 |`,
    `| registry parse (table) | ${summary.parseMs.toFixed(0)} | ${summary.ratios.parse.toFixed(1)} | ${summary.cpu.parseMs.toFixed(0)} | ${(summary.cpu.parseMs / readCpu).toFixed(1)} |`,
    `| registry parse --json | ${summary.parseJsonMs.toFixed(0)} | ${summary.ratios.parseJson.toFixed(1)} | ${summary.cpu.parseJsonMs.toFixed(0)} | ${(summary.cpu.parseJsonMs / readCpu).toFixed(1)} |`,
    `| re-write (read + write) | ${summary.rewriteMs.toFixed(0)} | ${summary.ratios.rewrite.toFixed(1)} | ${summary.cpu.rewriteMs.toFixed(0)} | ${(summary.cpu.rewriteMs / readCpu).toFixed(1)} |`,
    '',
    `Peak RSS of the child (VmHWM, all steps, incl. Node + TS loader): ${summary.peakRssMiB.toFixed(0)} MiB. Re-written file identical in size: ${summary.file.identical}.`,
    '',
  ].join('\n');
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
