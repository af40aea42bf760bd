/**
 * The FULL against its peers, with where the CPU goes (issue 20 item 5): on the cached bench sample, against one local
 * moto server, each run times
 * - our FULL (phase 1 + upload, the bench child built like `dist/commserve-dr.js`) once per `--variants` entry
 *   (`default` = the settings' default, brotli level 1; `none` = plain; `brotli:<level>`; default `default,none`);
 * - each installed peer (bench/peers.ts: `sqlite3 .backup` + `aws s3 cp`, `sqlite3 .backup` + `restic backup`);
 * and for every one of them the CPU seconds spent by the tool (children's CPU time, /proc/self/stat cutime + cstime)
 * and by moto (/proc/<moto>/stat), and the bytes that reached the bucket. For our FULL, the CPU is also split by
 * thread (polled every 100 ms from /proc/<pid>/task): the main thread (reads, sockets, SDK), the integrity-check
 * worker, and the rest (hashing worker, brotli in libuv's pool, GC).
 * The order of the entries rotates between runs, so none always gets the warmer cache or the quieter machine.
 *
 * Usage: npm run bench -- --only full [--sizes 256] [--runs 3] [--variants default,none]
 * Writes bench/results/<date>-full-<sizes>mb.json and .md.
 */
import { CreateBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseSettings, type Settings } from '#core/settings';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { startMotoServer, type MotoServer } from '#agent/local/moto-server';
import type { ChildResult } from './child';
import { PEERS, runPeers, type PeerName } from './peers';
import { arg, figure, type Figure } from './stats';
import { BENCH_WORK, log, sample, sampleWorkspace } from './sample';

/** Clock ticks per second of /proc's CPU times (Linux: USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

/** CPU seconds of a process or thread (`<pid>` or `<pid>/task/<tid>`: utime + stime), and of its waited-for children (cutime + cstime), from /proc/…/stat. */
function procCpu(pid: number | string): { own: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    const n = (field: number) => Number(fields[field - 3]);
    return { own: (n(14) + n(15)) / TICKS_PER_SECOND, children: (n(16) + n(17)) / TICKS_PER_SECOND };
  } catch {
    return { own: 0, children: 0 };
  }
}

/**
 * The thread groups the FULL's CPU is split into. Node 20 names every thread `node`, so only two can be told apart:
 * the main thread (its id is the process id) and the integrity-check worker (it names itself `integrity-check`); the
 * rest is the hashing worker, libuv's pool (brotli, file I/O) and V8's helpers (GC).
 */
const THREAD_GROUPS = ['main', 'integrity', 'hashing + brotli + GC'] as const;
type ThreadGroup = (typeof THREAD_GROUPS)[number];

/** Which group a thread of the agent belongs to. */
function threadGroup(pid: number, tid: number, name: string): ThreadGroup {
  if (tid === pid) return 'main';
  return name === 'integrity-check' ? 'integrity' : 'hashing + brotli + GC';
}

/** Polls the CPU time of every thread of `pid` (last value seen per thread), to split the total by group. */
function watchThreads(pid: number): { stop: () => Record<ThreadGroup, number> } {
  const last = new Map<number, { group: ThreadGroup; cpu: number }>();
  const poll = () => {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const t of tids) {
      const tid = Number(t);
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const cpu = procCpu(`${pid}/task/${tid}`);
        const known = last.get(tid);
        // A thread's group is fixed once it named itself (the integrity worker does so when it starts).
        const group = known?.group === 'integrity' ? 'integrity' : threadGroup(pid, tid, name);
        last.set(tid, { group, cpu: cpu.own });
      } catch {
        // the thread ended between the listing and the read
      }
    }
  };
  const timer = setInterval(poll, 100);
  return {
    stop: () => {
      clearInterval(timer);
      const out = Object.fromEntries(THREAD_GROUPS.map((g) => [g, 0])) as Record<ThreadGroup, number>;
      for (const { group, cpu } of last.values()) out[group] += cpu;
      return out;
    },
  };
}

/** One measured entry of a run. */
interface Entry {
  ms: number;
  /** CPU seconds of the tool's processes. */
  cpuS: number;
  /** CPU seconds of moto while the entry ran. */
  motoCpuS: number;
  /** Bytes that reached the bucket (objects under the entry's prefix). */
  sentBytes: number;
  /** FULL only: phase durations (ms) and CPU seconds per thread group. */
  phasesMs?: Record<string, number>;
  threadsS?: Record<ThreadGroup, number>;
}

let childBundle: string | undefined;

/** One FULL in the bench child with `settingsFile`; CPU of the child and moto measured around it. */
async function timeFull(moto: MotoServer, settingsFile: string): Promise<Omit<Entry, 'sentBytes'> & { setName: string }> {
  if (!childBundle) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { build } = require('../bin/build.js') as { build: (o: { outdir: string; entries: Record<string, string> }) => Promise<string[]> };
    [childBundle] = await build({ outdir: join(BENCH_WORK, 'dist'), entries: { 'bench-child': 'bench/child.ts' } });
  }
  const before = { self: procCpu('self'), moto: procCpu(moto.pid) };
  const child = spawn(process.execPath, [childBundle, 'full', settingsFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const threads = watchThreads(child.pid!);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const threadsS = threads.stop();
  if (code !== 0) throw new Error(`bench child full exited with ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
  if (result.status !== 'Completed' || result.backupType !== 'FULL') throw new Error(`bench child full ended ${result.status} (${result.backupType})`);
  return {
    ms: result.ms,
    cpuS: procCpu('self').children - before.self.children,
    motoCpuS: procCpu(moto.pid).own - before.moto.own,
    phasesMs: result.durationsMs,
    threadsS,
    setName: result.setName!,
  };
}

/** Bytes of the objects under `prefix` in `bucket`. */
async function bytesUnder(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let total = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) total += o.Size ?? 0;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return total;
}

/** A FULL variant: `none` or `brotli:<level>`. */
function variantSettings(variant: string): Record<string, unknown> {
  if (variant === 'default') return {};
  if (variant === 'none') return { DumpCompression: 'none' };
  const m = /^brotli:(\d+)$/.exec(variant);
  if (!m) throw new Error(`--variants takes none, default or brotli:<level> (got ${variant})`);
  return { DumpCompression: 'brotli', DumpCompressionLevel: Number(m[1]) };
}

async function benchSize(moto: MotoServer, sizeMb: number, runs: number, variants: string[]): Promise<Array<Record<string, Entry>>> {
  const sampleDir = await sample(sizeMb);
  const out: Array<Record<string, Entry>> = [];
  for (let run = 0; run < runs; run++) {
    await moto.reset();
    const bucket = `bench-full-${sizeMb}-${run}`;
    const { work, db, raw: base } = sampleWorkspace(sampleDir, `full-${sizeMb}mb`, bucket, moto.endpoint);
    try {
      const settings: Settings = parseSettings(base, 'bench');
      const s3 = createHotSiteClient(settings.HotSite);
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const entries: Array<{ name: string; go: () => Promise<Entry> }> = [
        ...variants.map((variant, i) => ({
          name: `FULL ${variant}`,
          go: async (): Promise<Entry> => {
            // Each variant its own destination and state: a FULL of its own, never a DIFFERENTIAL of another's.
            const file = join(work, `settings-${i}.json`);
            writeFileSync(file, JSON.stringify({ ...base, ...variantSettings(variant), Phase1Destination: join(work, `dr-${i}`), StateDirectory: join(work, `state-${i}`) }));
            const full = await timeFull(moto, file);
            return { ...full, sentBytes: await bytesUnder(s3, bucket, `sets/${full.setName}/`) };
          },
        })),
        ...PEERS.map((peer) => ({
          name: peer,
          go: async (): Promise<Entry> => {
            const before = { self: procCpu('self'), moto: procCpu(moto.pid) };
            const result = (await runPeers({ db, work, endpoint: moto.endpoint, bucket }, undefined, [peer]))[peer];
            if (!result) throw new Error(`peer ${peer} is not installed`);
            return { ms: result.ms, cpuS: procCpu('self').children - before.self.children, motoCpuS: procCpu(moto.pid).own - before.moto.own, sentBytes: await bytesUnder(s3, bucket, `peer/${peer === 'restic' ? 'restic' : 'awscli'}/`) };
          },
        })),
      ];
      const rotated = [...entries.slice(run % entries.length), ...entries.slice(0, run % entries.length)];
      const measured: Record<string, Entry> = {};
      for (const entry of rotated) measured[entry.name] = await entry.go();
      out.push(measured);
      log(
        `${sizeMb} MB run ${run + 1}/${runs}: ` +
          Object.entries(measured)
            .map(([name, e]) => `${name} ${(e.ms / 1000).toFixed(1)} s (cpu ${e.cpuS.toFixed(1)} s, moto ${e.motoCpuS.toFixed(1)} s, ${(e.sentBytes / 1e6).toFixed(1)} MB)`)
            .join('; '),
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return out;
}

function markdown(date: string, machine: string, load: string, sizes: Array<{ sizeMb: number; runs: Array<Record<string, Entry>> }>): string {
  const f = (x: Figure, digits: number) => `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`;
  const lines = [`# FULL vs peers, ${date.slice(0, 10)}`, '', `${machine}; node ${process.version}; median (min–max) of the runs; ${load}.`, ''];
  for (const size of sizes) {
    const names = Object.keys(size.runs[0]);
    const peers = names.filter((n) => !n.startsWith('FULL'));
    const pick = (fn: (r: Record<string, Entry>) => number) => figure(size.runs.map(fn));
    const fastestPeer = (r: Record<string, Entry>) => Math.min(...peers.map((p) => r[p].ms));
    lines.push(`## ${size.sizeMb} MB, ${size.runs.length} runs`, '', '| entry | wall (s) | / fastest peer | CPU of the tool (s) | CPU of moto (s) | bytes sent (MB) |', '|---|---|---|---|---|---|');
    for (const n of names) {
      lines.push(
        `| ${n} | ${f(pick((r) => r[n].ms / 1000), 1)} | ${peers.length ? f(pick((r) => r[n].ms / fastestPeer(r)), 2) : '—'} | ${f(pick((r) => r[n].cpuS), 1)} | ${f(pick((r) => r[n].motoCpuS), 1)} | ${f(pick((r) => r[n].sentBytes / 1e6), 1)} |`,
      );
    }
    lines.push('', '| FULL | dump / pass / integrity (s) | CPU by thread: ' + THREAD_GROUPS.join(' / ') + ' (s) |', '|---|---|---|');
    for (const n of names.filter((x) => x.startsWith('FULL'))) {
      const phases = ['dump', 'stream', 'integrity'].map((p) => (pick((r) => r[n].phasesMs?.[p] ?? 0).median / 1000).toFixed(1)).join(' / ');
      const threads = THREAD_GROUPS.map((g) => pick((r) => r[n].threadsS?.[g] ?? 0).median.toFixed(1)).join(' / ');
      lines.push(`| ${n} | ${phases} | ${threads} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

export async function runFullBench(): Promise<void> {
  const sizes = (arg('sizes') ?? '256').split(',').map(Number);
  if (sizes.some((s) => !(Number.isInteger(s) && s >= 1))) throw new Error('--sizes takes whole MB, e.g. 256,2048');
  const runs = Number(arg('runs') ?? 3);
  const variants = (arg('variants') ?? 'default,none').split(',');
  for (const v of variants) variantSettings(v);
  for (const size of sizes) await sample(size);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  log('starting moto…');
  const moto = await startMotoServer();
  const measured: Array<{ sizeMb: number; runs: Array<Record<string, Entry>> }> = [];
  try {
    for (const size of sizes) measured.push({ sizeMb: size, runs: await benchSize(moto, size, runs, variants) });
  } finally {
    await moto.stop();
  }
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const date = new Date().toISOString();
  const machine = `${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, shared with other sessions`;
  const load = `load average ${loadBefore} before, ${loadAfter} after`;
  const stamp = `${date.slice(0, 10)}-full-${sizes.join('-')}mb`;
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', `${stamp}.json`), `${JSON.stringify({ benchmark: 'FULL vs peers', date, machine, load, node: process.version, variants, sizes: measured }, null, 2)}\n`);
  const md = markdown(date, machine, load, measured);
  writeFileSync(join(__dirname, 'results', `${stamp}.md`), md);
  process.stdout.write(md);
}

export type { PeerName };
