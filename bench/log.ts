/**
 * Benchmark of the SQLite LOG point (issue 17, "Done when"): on the generated sample CommServe (seed 1, cached in
 * bench/work/sample-<n>mb, the same samples as `npm run bench`), after a FULL and 0.1% of the rows changed, the LOG
 * point's phase 1 (`runPhase1`, in the bench child process: dump, upload to moto, manifest) is measured as
 * - LOG bytes / (changed pages × page size)          target ≤ 1.1
 * - LOG dump time / time to read the database once    target ≤ 1.5 (and the whole LOG phase 1 / read once, for context)
 * The changed pages are counted twice: by the agent (manifest `changedPages`) and independently here, by comparing a
 * SHA-1 of every page of the database file before the change and at the LOG point (pages added count as changed).
 * Each figure is the median of `--runs` runs (min, max). The machine is shared: ratios only.
 *
 * Usage: npm run bench -- --only log [--sizes 256,2048] [--runs 3] [--label name]
 * Writes bench/results/<date>-log[-<label>].json and .md.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { pageDigest } from '#agent/engines/sqlite/page-hashes';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { startMotoServer, type MotoServer } from '#agent/local/moto-server';
import { mutateSampleCommServe } from '#agent/local/sample-db/index';
import type { ChildResult } from './child';
import { arg, figure, type Figure } from './stats';
import { log, sample, sampleWorkspace } from './sample';

const WORK = join(__dirname, 'work');
/** Share of the rows changed between the FULL and the LOG point (the issue's 0.1%). */
const LOG_FRACTION = 0.001;


/** Drops `file` from the page cache (GNU dd `iflag=nocache count=0`: this file only, other processes' caches stay). */
function dropFromCache(file: string): void {
  execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/**
 * The floor of a page-digest LOG point on one thread, in this process: read the file once and the SHA-256 of every
 * page (change detection; the point's identity, the page-digest root, is a SHA-256 over these) — no comparison, no
 * writes. Until 2026-12-06 the LOG also hashed the whole file a second time (see `oldHashFloor`).
 */
async function hashFloor(file: string, pageSize: number): Promise<number> {
  const started = performance.now();
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * pageSize })) {
    const data = chunk as Buffer;
    for (let at = 0; at + pageSize <= data.length; at += pageSize) pageDigest(data.subarray(at, at + pageSize));
  }
  return performance.now() - started;
}

/** The floor of the LOG point before the page-digest root, for comparison: {@link hashFloor} plus the SHA-256 of the whole file. */
async function oldHashFloor(file: string, pageSize: number): Promise<number> {
  const started = performance.now();
  const whole = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * pageSize })) {
    const data = chunk as Buffer;
    whole.update(data);
    for (let at = 0; at + pageSize <= data.length; at += pageSize) pageDigest(data.subarray(at, at + pageSize));
  }
  whole.digest();
  return performance.now() - started;
}

async function readOnce(file: string): Promise<number> {
  const started = performance.now();
  for await (const _chunk of createReadStream(file, { highWaterMark: MiB })) {
    // read only
  }
  return performance.now() - started;
}

/** SHA-1 of every `pageSize` page of `file` (the independent count of changed pages). */
async function pageDigests(file: string, pageSize: number): Promise<string[]> {
  const digests: string[] = [];
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 256 * pageSize })) {
    const data = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let at = 0;
    for (; at + pageSize <= data.length; at += pageSize) digests.push(createHash('sha1').update(data.subarray(at, at + pageSize)).digest('base64'));
    rest = data.subarray(at);
  }
  return digests;
}

/** Pages of `after` that differ from `before` or are new. */
const changedPages = (before: string[], after: string[]) => after.filter((d, i) => d !== before[i]).length;

let childBundle: string | undefined;

/** One phase 1 in the bench child (bench/child.ts, built with the agent's own build). */
async function runChild(mode: 'full' | 'log', settingsFile: string): Promise<ChildResult> {
  if (!childBundle) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require('../bin/build.js') as { build: (o: { outdir: string; entries: Record<string, string> }) => Promise<string[]> };
    [childBundle] = await build({ outdir: join(WORK, 'dist-log'), entries: { 'bench-child': 'bench/child.ts' } });
  }
  const child = spawn(process.execPath, [childBundle!, mode, settingsFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`bench child ${mode} exited with ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
  if (result.status !== 'Completed' || result.backupType !== mode.toUpperCase()) throw new Error(`bench child ${mode} ended ${result.status} as ${result.backupType}`);
  return result;
}

interface LogRun {
  dbBytes: number;
  pageSize: number;
  rowsChanged: number;
  changedPagesAgent: number;
  changedPagesCounted: number;
  logBytes: number;
  bytesRatio: number;
  dumpMs: number;
  phase1Ms: number;
  readOnceMs: number;
  dumpVsRead: number;
  phase1VsRead: number;
  peakRssMiB: number;
  /** Read + every page's SHA-256 of the same file, one thread, in this process (warm cache). */
  hashFloorMs: number;
  dumpVsFloor: number;
  /** Read + whole SHA-256 + every page's digest, one thread (what the LOG dump hashed before the page-digest root). */
  oldHashFloorMs: number;
  /** 1-minute load average of the machine when the run started, and when its warm LOG point ended. */
  load: [number, number];
  /** The second LOG point (after another 0.1%, continuing the first), with the file dropped from the page cache before the read and before the LOG. */
  cold: { changedPagesAgent: number; changedPagesCounted: number; logBytes: number; bytesRatio: number; readOnceMs: number; dumpMs: number; dumpVsRead: number; phase1VsRead: number };
}

async function benchRun(moto: MotoServer, sizeMb: number, run: number): Promise<LogRun> {
  const loadAtStart = loadavg()[0];
  const sampleDir = await sample(sizeMb);
  const bucket = `bench-log-${sizeMb}-${run}`;
  const { work, db, raw } = sampleWorkspace(sampleDir, `log-${sizeMb}mb`, bucket, moto.endpoint);
  try {
    const settingsFile = join(work, 'settings.json');
    writeFileSync(settingsFile, JSON.stringify(raw));
    await createHotSiteClient(parseSettings(raw, 'bench').HotSite).send(new CreateBucketCommand({ Bucket: bucket }));

    const full = await runChild('full', settingsFile);
    const pageSize = parseManifest(readFileSync(join(work, 'dr', full.setName!, 'manifest.json'))).database.pageSize!;
    const before = await pageDigests(db, pageSize);
    const rowsChanged = mutateSampleCommServe(db, { fraction: LOG_FRACTION, seed: 300 + run });
    const readOnceMs = await readOnce(db);
    const point = await runChild('log', settingsFile);
    const loadAtLog = loadavg()[0];
    const counted = changedPages(before, await pageDigests(db, pageSize));
    const manifest = parseManifest(readFileSync(join(work, 'dr', point.setName!, 'manifest.json')));
    const logBytes = manifest.files.find((f) => f.role === 'database')!.size;
    const agent = Number(manifest.database.details?.changedPages);
    const hashFloorMs = await hashFloor(db, pageSize);
    const oldHashFloorMs = await oldHashFloor(db, pageSize);

    // A second LOG point (continuing the first) with a cold page cache: the file is dropped before the read and the LOG.
    const beforeCold = await pageDigests(db, pageSize);
    mutateSampleCommServe(db, { fraction: LOG_FRACTION, seed: 400 + run });
    dropFromCache(db);
    const coldReadMs = await readOnce(db);
    dropFromCache(db);
    const coldPoint = await runChild('log', settingsFile);
    const coldCounted = changedPages(beforeCold, await pageDigests(db, pageSize));
    const coldManifest = parseManifest(readFileSync(join(work, 'dr', coldPoint.setName!, 'manifest.json')));
    const coldBytes = coldManifest.files.find((f) => f.role === 'database')!.size;
    const cold = {
      changedPagesAgent: Number(coldManifest.database.details?.changedPages),
      changedPagesCounted: coldCounted,
      logBytes: coldBytes,
      bytesRatio: coldBytes / (coldCounted * pageSize),
      readOnceMs: coldReadMs,
      dumpMs: coldPoint.durationsMs.dump,
      dumpVsRead: coldPoint.durationsMs.dump / coldReadMs,
      phase1VsRead: coldPoint.ms / coldReadMs,
    };
    const r: LogRun = {
      dbBytes: before.length * pageSize,
      pageSize,
      rowsChanged,
      changedPagesAgent: agent,
      changedPagesCounted: counted,
      logBytes,
      bytesRatio: logBytes / (counted * pageSize),
      dumpMs: point.durationsMs.dump,
      phase1Ms: point.ms,
      readOnceMs,
      dumpVsRead: point.durationsMs.dump / readOnceMs,
      phase1VsRead: point.ms / readOnceMs,
      peakRssMiB: point.peakRssKiB / 1024,
      hashFloorMs,
      dumpVsFloor: point.durationsMs.dump / hashFloorMs,
      oldHashFloorMs,
      load: [loadAtStart, loadAtLog],
      cold,
    };
    log(
      `${sizeMb} MB run ${run + 1}: ${rowsChanged} rows, ${counted} pages changed (agent: ${agent}); LOG ${logBytes} B (×${r.bytesRatio.toFixed(3)}); ` +
        `dump ${r.dumpMs.toFixed(0)} ms, phase 1 ${r.phase1Ms.toFixed(0)} ms vs read ${readOnceMs.toFixed(0)} ms (×${r.dumpVsRead.toFixed(2)}, ×${r.phase1VsRead.toFixed(2)}), hash floor ${hashFloorMs.toFixed(0)} ms (old ${oldHashFloorMs.toFixed(0)}); load ${loadAtStart.toFixed(1)}/${loadAtLog.toFixed(1)}; ` +
        `cold: ${coldCounted} pages (agent ${cold.changedPagesAgent}), ×${cold.bytesRatio.toFixed(3)}, dump ${cold.dumpMs.toFixed(0)} ms vs cold read ${coldReadMs.toFixed(0)} ms (×${cold.dumpVsRead.toFixed(2)})`,
    );
    return r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

interface SizeSummary {
  sizeMb: number;
  runs: LogRun[];
  bytesRatio: Figure;
  dumpVsRead: Figure;
  phase1VsRead: Figure;
  logBytes: Figure;
  changedPages: Figure;
  readOnceMs: Figure;
  dumpMs: Figure;
  phase1Ms: Figure;
  peakRssMiB: Figure;
  hashFloorMs: Figure;
  dumpVsFloor: Figure;
  oldHashFloorMs: Figure;
  load: Figure;
  cold: { bytesRatio: Figure; readOnceMs: Figure; dumpMs: Figure; dumpVsRead: Figure; phase1VsRead: Figure };
  /** Runs where the agent's changed-page count differed from the independent count (warm or cold point). */
  countMismatches: number;
}

function summarize(sizeMb: number, runs: LogRun[]): SizeSummary {
  const pick = (f: (r: LogRun) => number) => figure(runs.map(f));
  return {
    sizeMb,
    runs,
    bytesRatio: pick((r) => r.bytesRatio),
    dumpVsRead: pick((r) => r.dumpVsRead),
    phase1VsRead: pick((r) => r.phase1VsRead),
    logBytes: pick((r) => r.logBytes),
    changedPages: pick((r) => r.changedPagesCounted),
    readOnceMs: pick((r) => r.readOnceMs),
    dumpMs: pick((r) => r.dumpMs),
    phase1Ms: pick((r) => r.phase1Ms),
    peakRssMiB: pick((r) => r.peakRssMiB),
    hashFloorMs: pick((r) => r.hashFloorMs),
    dumpVsFloor: pick((r) => r.dumpVsFloor),
    oldHashFloorMs: pick((r) => r.oldHashFloorMs),
    load: figure(runs.flatMap((r) => r.load)),
    cold: {
      bytesRatio: pick((r) => r.cold.bytesRatio),
      readOnceMs: pick((r) => r.cold.readOnceMs),
      dumpMs: pick((r) => r.cold.dumpMs),
      dumpVsRead: pick((r) => r.cold.dumpVsRead),
      phase1VsRead: pick((r) => r.cold.phase1VsRead),
    },
    countMismatches: runs.filter((r) => r.changedPagesAgent !== r.changedPagesCounted || r.cold.changedPagesAgent !== r.cold.changedPagesCounted).length,
  };
}

function formatMarkdown(sizes: SizeSummary[], runs: number): string {
  const f = (x: Figure, digits = 2) => `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`;
  const row = (title: string, cell: (s: SizeSummary) => string, target: string) => `| ${title} | ${sizes.map(cell).join(' | ')} | ${target} |`;
  return [
    `# LOG point after 0.1% of rows changed (${new Date().toISOString().slice(0, 10)}, median of ${runs} run(s), min–max)`,
    '',
    `Machine: 2 cores shared by ~8 helper sessions (1-minute load average during the runs ${sizes.map((s) => `${s.sizeMb} MB: ${s.load.median.toFixed(1)} (${s.load.min.toFixed(1)}–${s.load.max.toFixed(1)})`).join(', ')}): ratios only, and noisy.`,
    'Each run: a FULL, 0.1% of the rows changed, a LOG point (phase 1: dump, upload to moto, manifest) in a child process, then',
    'another 0.1% and a second LOG point continuing the first, with a cold page cache. Changed pages are counted here by page',
    'digest before/after (independent of the agent); the read is a plain sequential read of the file (1 MiB chunks).',
    '',
    '**Warm page cache** (the first LOG point after the FULL; the database file was just read):',
    '',
    `| | ${sizes.map((s) => `${s.sizeMb} MB`).join(' | ')} | target |`,
    `|---|${sizes.map(() => '---').join('|')}|---|`,
    row('changed pages (counted here by page digest)', (s) => `${f(s.changedPages, 0)}; agent's count differed in ${s.countMismatches} run(s)`, '—'),
    row('LOG bytes', (s) => f(s.logBytes, 0), '—'),
    row('**LOG bytes / (changed pages × page size)**', (s) => f(s.bytesRatio, 3), '≤ 1.1'),
    row('read the database once (ms)', (s) => f(s.readOnceMs, 0), '—'),
    row('LOG dump (ms)', (s) => f(s.dumpMs, 0), '—'),
    row('**LOG dump time / read once**', (s) => f(s.dumpVsRead), '≤ 1.5'),
    row('whole LOG phase 1 (dump + upload + manifest) / read once', (s) => f(s.phase1VsRead), '—'),
    row('peak RSS of the LOG child (MiB, VmHWM)', (s) => f(s.peakRssMiB, 0), '—'),
    row('hash floor: read + every page\'s SHA-256, one thread, in-process (ms)', (s) => f(s.hashFloorMs, 0), '—'),
    row('LOG dump time / hash floor (< 1: the page digests on two threads)', (s) => f(s.dumpVsFloor), '—'),
    row('old hash floor: read + whole SHA-256 + every page\'s digest, one thread (the dump before the page-digest root) (ms)', (s) => f(s.oldHashFloorMs, 0), '—'),
    '',
    '**Cold page cache** (a second LOG point, continuing the first, after another 0.1%; the file dropped from the page cache with `dd iflag=nocache` before the read and before the LOG):',
    '',
    `| | ${sizes.map((s) => `${s.sizeMb} MB`).join(' | ')} | target |`,
    `|---|${sizes.map(() => '---').join('|')}|---|`,
    row('**LOG bytes / (changed pages × page size)**', (s) => f(s.cold.bytesRatio, 3), '≤ 1.1'),
    row('read the database once, cold (ms)', (s) => f(s.cold.readOnceMs, 0), '—'),
    row('LOG dump, cold (ms)', (s) => f(s.cold.dumpMs, 0), '—'),
    row('**LOG dump time / read once (cold)**', (s) => f(s.cold.dumpVsRead), '≤ 1.5'),
    row('whole LOG phase 1 / read once (cold)', (s) => f(s.cold.phase1VsRead), '—'),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const sizes = (arg('sizes') ?? '256,2048').split(',').map(Number);
  if (sizes.some((s) => !(Number.isInteger(s) && s >= 1))) throw new Error('--sizes takes whole MB, e.g. 256,2048');
  const runs = Number(arg('runs') ?? 3);
  mkdirSync(WORK, { recursive: true });
  for (const size of sizes) await sample(size);
  const moto = await startMotoServer();
  const measured: SizeSummary[] = [];
  try {
    for (const size of sizes) {
      const out: LogRun[] = [];
      for (let run = 0; run < runs; run++) {
        await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
        out.push(await benchRun(moto, size, run));
      }
      measured.push(summarize(size, out));
    }
  } finally {
    await moto.stop();
  }
  const label = arg('label');
  const stem = join(__dirname, 'results', `${new Date().toISOString().slice(0, 10)}-log${label ? `-${label}` : ''}`);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(`${stem}.json`, `${JSON.stringify({ fraction: LOG_FRACTION, runsPerSize: runs, targets: { bytesRatio: 1.1, dumpVsReadOnce: 1.5 }, sizes: measured }, null, 2)}\n`);
  const md = formatMarkdown(measured, runs);
  writeFileSync(`${stem}.md`, md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`log bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
