/**
 * What every benchmark shares: the timestamped progress line on stderr, and the cached bench sample CommServe of a
 * given size (seed 1) in bench/work/, so every benchmark measures the same database.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { MiB } from '#core/transfer-plan';

/** Where benchmarks keep their (git-ignored) inputs and scratch files. */
export const BENCH_WORK = join(__dirname, 'work');

/** One progress line on stderr, prefixed with the UTC time of day. */
export const log = (message: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
};

/** The sample CommServe of `sizeMb` MB (seed 1), generated into `bench/work/sample-<size>mb/` on first use. @returns its folder. */
export async function sample(sizeMb: number): Promise<string> {
  const dir = join(BENCH_WORK, `sample-${sizeMb}mb`);
  if (!existsSync(join(dir, 'commserv.db'))) {
    log(`generating a ${sizeMb} MB sample CommServe into ${dir}…`);
    rmSync(dir, { recursive: true, force: true });
    await generateSampleCommServe({ dir, sizeBytes: sizeMb * MiB, seed: 1 });
  }
  return dir;
}
