/**
 * The agent side of the end-to-end benchmark, in its own process so its memory can be sampled: runs one FULL,
 * DIFFERENTIAL or LOG phase 1, or one recovery, with the settings file given, and prints one JSON line: wall time,
 * phase durations, bytes, status and the process's peak RSS (VmHWM from /proc/self/status).
 *
 * bench/run.ts builds this file with the agent's own build (bin/build.js: esbuild, the same lazy package loading as
 * `dist/commserve-dr.js`) and runs the bundle with plain `node`, so the measured process holds what a user's agent
 * holds — no TypeScript compiler.
 *
 * Usage: node <bundle> full|differential|log <settings.json>
 *        node <bundle> recover <settings.json> <recovery dir>
 */
import './child-memory'; // first: as agent/main.ts, before any agent module loads
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { parseSettings } from '#core/settings';
import { BackupType } from '#core/set-id';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { runRecover } from '#agent/commands/recover/recover';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { createLogger } from '#agent/log';
import { procStatusKiB } from './proc-status';

/** One line of the child's output (the parent reads the last line of stdout). */
export interface ChildResult {
  mode: string;
  ms: number;
  durationsMs: Record<string, number>;
  bytes: number;
  status: string;
  setName?: string;
  backupType?: string;
  peakRssKiB: number;
  /**
   * Where the memory was when the RSS peaked (MiB; sampled every 20 ms): V8 heap used, `external` (Buffers and other
   * memory V8 tracks outside its heap, worker isolates not included) and `arrayBuffers` (part of `external`).
   */
  atPeakMiB: {
    rss: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
    arrayBuffers: number;
    spaces?: Record<string, number>;
    /** /proc/self/status at the peak: anonymous memory (heaps, malloc, buffers) and file-backed pages (code, libraries). */
    rssAnon?: number;
    rssFile?: number;
    /** Threads of the process at the peak (main, libuv pool, V8 platform, workers). */
    threads?: number;
  };
  /** Files of the recovered point (recover only), to time the bare download of the same objects. */
  objects?: Array<{ set: string; file: string }>;
}

const PHASE1_TYPES: Record<string, BackupType> = { full: BackupType.Full, differential: BackupType.Differential, log: BackupType.Log };

/** Samples process.memoryUsage() every 20 ms and keeps the sample with the largest RSS. */
function watchMemory(): { stop: () => ChildResult['atPeakMiB'] } {
  let peak = process.memoryUsage();
  let spaces: Record<string, number> = {};
  let status = { rssAnon: 0, rssFile: 0, threads: 0 };
  const timer = setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > peak.rss) {
      peak = now;
      spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, Math.round(s.space_size / 104857.6) / 10]));
      status = { rssAnon: procStatusKiB('RssAnon') / 1024, rssFile: procStatusKiB('RssFile') / 1024, threads: procStatusKiB('Threads') };
    }
  }, 20);
  timer.unref();
  // BENCH_MEMORY_TRACE=<file>: one line per 100 ms (ms since start, RSS, RssAnon, heap used, array buffers; MiB).
  const traceFile = process.env.BENCH_MEMORY_TRACE;
  if (traceFile) {
    const t0 = performance.now();
    const trace = setInterval(() => {
      const m = process.memoryUsage();
      appendFileSync(traceFile, `${process.argv[2]} ${Math.round(performance.now() - t0)} ${(m.rss / 1048576).toFixed(1)} ${(procStatusKiB('RssAnon') / 1024).toFixed(1)} ${(m.heapUsed / 1048576).toFixed(1)} ${(m.arrayBuffers / 1048576).toFixed(1)}\n`);
    }, 100);
    trace.unref();
  }
  const mib = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return {
    stop: () => {
      clearInterval(timer);
      return { rss: mib(peak.rss), heapUsed: mib(peak.heapUsed), heapTotal: mib(peak.heapTotal), external: mib(peak.external), arrayBuffers: mib(peak.arrayBuffers), spaces, ...status };
    },
  };
}

async function main(): Promise<ChildResult> {
  const [mode, settingsFile, to] = process.argv.slice(2);
  const settings = parseSettings(JSON.parse(readFileSync(settingsFile, 'utf8')), 'bench');
  const s3 = createHotSiteClient(settings.HotSite);
  const logger = createLogger({ level: 'silent' });
  const memory = watchMemory();
  const started = performance.now();
  if (mode === 'recover') {
    if (!to) throw new Error('recover needs a recovery directory');
    const result = await runRecover({ settings, s3, logger, to, preflight: { processNames: [] } });
    const doc = result.document;
    return {
      mode,
      ms: performance.now() - started,
      durationsMs: doc.durationsMs as Record<string, number>,
      bytes: 0,
      status: doc.status,
      peakRssKiB: procStatusKiB('VmHWM'),
      atPeakMiB: memory.stop(),
      objects: doc.checksums.map((c) => ({ set: c.set, file: c.file })),
    };
  }
  const requestedType = PHASE1_TYPES[mode];
  if (!requestedType) throw new Error(`unknown mode ${mode} (full, differential, log, recover)`);
  const result = await runPhase1({ settings, requestedType, s3, logger });
  return {
    mode,
    ms: performance.now() - started,
    durationsMs: result.durationsMs,
    bytes: result.bytes,
    status: result.status,
    setName: result.setName,
    backupType: result.backupType,
    peakRssKiB: procStatusKiB('VmHWM'),
    atPeakMiB: memory.stop(),
  };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`bench child failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
