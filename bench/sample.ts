/**
 * What every benchmark shares: the timestamped progress line on stderr, and the cached bench sample CommServe of a
 * given size (seed 1) in bench/work/, so every benchmark measures the same database.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
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

/** A fresh per-run workspace holding a copy of a sample CommServe database, and agent settings pointing at it. */
export interface SampleWorkspace {
  /** The workspace folder (removed and re-created by {@link sampleWorkspace}). */
  work: string;
  /** The copy of the sample database the agent backs up (`<work>/commserv.db`). */
  db: string;
  /** Raw agent settings (before `parseSettings`): the copy, the sample's registry and firewall, `<work>/dr`, `<work>/state`, the bucket at `endpoint`. */
  raw: Record<string, unknown>;
}

/**
 * Re-creates `<BENCH_WORK>/<name>`, copies the sample database of `sampleDir` into it and returns raw settings for a
 * job on that copy (shared by every bench that runs the agent on the sample). `extra` is merged over the defaults.
 */
export function sampleWorkspace(sampleDir: string, name: string, bucket: string, endpoint: string, extra: Record<string, unknown> = {}): SampleWorkspace {
  const work = join(BENCH_WORK, name);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const db = join(work, 'commserv.db');
  copyFileSync(join(sampleDir, 'commserv.db'), db);
  const raw = {
    Database: { engine: 'sqlite', path: db },
    Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
    FirewallDirectory: join(sampleDir, 'firewall'),
    Phase1Destination: join(work, 'dr'),
    StateDirectory: join(work, 'state'),
    HotSite: { bucket, endpoint },
    ...extra,
  };
  return { work, db, raw };
}
