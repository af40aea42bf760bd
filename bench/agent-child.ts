/**
 * Runs one agent command (FULL, DIFFERENTIAL or LOG phase 1, or a recovery) in a child process (bench/child.ts, built
 * with the agent's own build and run by plain `node`) and samples its memory: shared by the end-to-end benchmark
 * (bench/run.ts) and the memory benchmark (bench/memory.ts).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildResult } from './child';
import { procStatusKiB } from './proc-status';
import { BENCH_WORK } from './sample';

/** The bench child (bench/child.ts) built with the agent's own build: run by plain `node`, no TypeScript compiler. */
let childBundle: string | undefined;

async function buildChild(): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require('../bin/build.js') as { build: (o: { outdir: string; entries: Record<string, string> }) => Promise<string[]> };
  // Each benchmark process builds its own bundle: one running alongside never runs another's code.
  const outdir = join(BENCH_WORK, `dist-${process.pid}`);
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  const [bundle] = await build({ outdir, entries: { 'bench-child': 'bench/child.ts' } });
  return bundle;
}

/** A child run's result, with the largest VmRSS the parent saw while polling it every 50 ms (KiB). */
export type AgentChildRun = ChildResult & { polledRssKiB: number };

/**
 * One agent command in a child process, its RSS polled every 50 ms.
 * @throws Error when the child exits non-zero, or ends with another status than Completed/recovered, or phase 1 took
 *   another backup type than the one asked for.
 */
export async function runChild(mode: 'full' | 'differential' | 'log' | 'recover', settingsFile: string, to?: string): Promise<AgentChildRun> {
  childBundle ??= await buildChild();
  const child = spawn(process.execPath, [childBundle, mode, settingsFile, ...(to ? [to] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  let polled = 0;
  const timer = setInterval(() => {
    polled = Math.max(polled, procStatusKiB('VmRSS', child.pid!));
  }, 50);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (code !== 0) throw new Error(`bench child ${mode} exited with ${code}`);
  const result = JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
  const expected = mode === 'recover' ? 'recovered' : 'Completed';
  if (result.status !== expected) throw new Error(`bench child ${mode} ended ${result.status}`);
  if (mode !== 'recover' && result.backupType !== mode.toUpperCase()) throw new Error(`bench child ${mode} took a ${result.backupType}`);
  return { ...result, polledRssKiB: polled };
}

/** Peak RSS of a child run (MiB): the larger of its own VmHWM and the parent's polling. */
export const peakMiB = (r: { peakRssKiB: number; polledRssKiB: number }): number => Math.max(r.peakRssKiB, r.polledRssKiB) / 1024;
