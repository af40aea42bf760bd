/**
 * Recovery from disk (issue 15 "Done when"): `recover --from <phase-1 destination>` of the bench sample's newest point
 * (FULL + DIFFERENTIAL after 1% of rows changed) as a ratio of the bare minimum measured in the same run: a plain
 * copy of the same files (FULL dump and DIFFERENTIAL dump) to the target disk + the SHA-256 of the same bytes.
 * No cloud is read during the recovery (`--from`); moto only takes phase 1's uploads while the SETs are made.
 * Runs are alternated (recovery, bare, recovery, bare …) so a load change on the shared machine hits both.
 *
 * Usage: npm run bench -- --only recover-disk [--sizes 256,2048] [--runs 3]
 * Writes bench/results/<date>-recover-disk-<sizes>mb.json and .md.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import * as os from 'node:os';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { runRecover } from '#agent/commands/recover/recover';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { createLogger } from '#agent/log';
import { startMotoServer } from '#agent/local/moto-server';
import { mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { arg, figure } from './stats';
import { log, sample } from './sample';

const WORK = join(__dirname, 'work');
const logger = createLogger({ level: 'silent' });

/** The bare minimum: copy each file to `dir` while hashing its bytes (one read, one write, one SHA-256 per byte). */
async function bareCopyAndHash(files: string[], dir: string): Promise<number> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const started = performance.now();
  for (const [i, file] of files.entries()) {
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _e, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(createReadStream(file, { highWaterMark: MiB }), tap, createWriteStream(join(dir, `f${i}`)));
    hash.digest('hex');
  }
  const ms = performance.now() - started;
  rmSync(dir, { recursive: true, force: true });
  return ms;
}

async function oneSize(sizeMb: number, runs: number, endpoint: string) {
  const sampleDir = await sample(sizeMb);
  const work = join(WORK, `recover-disk-${sizeMb}mb`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(sampleDir, join(work, 'cs'), { recursive: true });
  const bucket = `recover-disk-${sizeMb}-${process.pid}`;
  const settings = parseSettings(
    {
      Database: { engine: 'sqlite', path: join(work, 'cs', 'commserv.db') },
      Registry: { store: 'file-hive', hiveFile: join(work, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
      FirewallDirectory: join(work, 'cs', 'firewall'),
      Phase1Destination: join(work, 'dr'),
      StateDirectory: join(work, 'state'),
      HotSite: { bucket, endpoint },
    },
    'bench',
  );
  const s3 = createHotSiteClient(settings.HotSite);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  log(`${sizeMb} MB: FULL…`);
  const full = await runPhase1({ settings, requestedType: 'FULL', s3, logger });
  mutateSampleCommServe(join(work, 'cs', 'commserv.db'), { fraction: 0.01, seed: 7 });
  log(`${sizeMb} MB: DIFFERENTIAL…`);
  const diff = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3, logger });
  if (diff.backupType !== 'DIFFERENTIAL') throw new Error(`took a ${diff.backupType}`);
  const files = [full.setName, diff.setName].flatMap((set) => {
    const manifest = parseManifest(readFileSync(join(settings.Phase1Destination, set, 'manifest.json')));
    return manifest.files.filter((f) => f.role === 'database').map((f) => join(settings.Phase1Destination, set, f.name));
  });
  const recovery: number[] = [];
  const phases: Array<Record<string, number>> = [];
  const checks: string[] = [];
  const bare: number[] = [];
  for (let run = 0; run < runs; run++) {
    const to = join(work, 'recovered');
    rmSync(to, { recursive: true, force: true });
    const started = performance.now();
    const result = await runRecover({ settings, s3, logger, to, from: settings.Phase1Destination, preflight: { processNames: [] } });
    recovery.push(performance.now() - started);
    if (result.document.status !== 'recovered') throw new Error(`recovery ended ${result.document.status}: ${JSON.stringify(result.document.error)}`);
    phases.push(result.document.durationsMs as Record<string, number>);
    checks.push(`${result.document.database?.integrityCheck}: ${result.document.database?.integrityCheckReason}`);
    rmSync(to, { recursive: true, force: true });
    bare.push(await bareCopyAndHash(files, join(work, 'bare')));
    log(`${sizeMb} MB run ${run + 1}: recovery ${(recovery.at(-1)! / 1000).toFixed(2)} s ${JSON.stringify(phases.at(-1))}, bare copy + SHA-256 ${(bare.at(-1)! / 1000).toFixed(2)} s, ×${(recovery.at(-1)! / bare.at(-1)!).toFixed(2)}`);
  }
  rmSync(work, { recursive: true, force: true });
  return { sizeMb, runs, recoveryMs: figure(recovery), bareMs: figure(bare), ratio: figure(recovery.map((r, i) => r / bare[i]!)), phasesMs: phases, integrityChecks: checks };
}

/** Runs the recovery-from-disk bench (see the module comment). */
export async function runRecoverDiskBench(): Promise<void> {
  const sizes = (arg('sizes') ?? '256').split(',').map(Number);
  const runs = Number(arg('runs') ?? 3);
  const moto = await startMotoServer();
  try {
    const results = [];
    for (const size of sizes) results.push(await oneSize(size, runs, moto.endpoint));
    const date = new Date().toISOString().slice(0, 10);
    const out = join(__dirname, 'results', `${date}-recover-disk-${sizes.join('-')}mb`);
    writeFileSync(`${out}.json`, `${JSON.stringify({ date, node: process.version, note: 'shared machine: 2 cores, ~8 concurrent sessions', results }, null, 2)}\n`);
    const f = (x: { median: number; min: number; max: number }, d = 2, div = 1) => `${(x.median / div).toFixed(d)} (${(x.min / div).toFixed(d)}–${(x.max / div).toFixed(d)})`;
    writeFileSync(
      `${out}.md`,
      [
        `# Recovery from disk (${date}, Node ${process.version}, shared machine)`,
        '',
        '| size | recover --from (s) | bare copy + SHA-256 (s) | ratio (target ≤ 1.2) |',
        '|---|---|---|---|',
        ...results.map((r) => `| ${r.sizeMb} MB | ${f(r.recoveryMs, 2, 1000)} | ${f(r.bareMs, 2, 1000)} | ${f(r.ratio)} |`),
        '',
        `Median (min–max) of ${runs} run(s), recovery and bare alternated. The machine is shared (2 cores, several sessions): load ${os.loadavg().map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) at the end.`,
        'The recovery fsyncs the database before installing it; the bare copy does not (its bytes may never reach the disk).',
        '',
        'Integrity check of the recovered database, per run:',
        ...results.flatMap((r) => [...new Set(r.integrityChecks)].map((c) => `- ${r.sizeMb} MB: ${c}`)),
        '',
      ].join('\n'),
    );
    log(`wrote ${out}.json and .md`);
  } finally {
    await moto.stop();
  }
}
