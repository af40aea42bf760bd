/**
 * Benchmark of the SQLite DIFFERENTIAL (issue 3): on a generated sample CommServe with 1% of its rows
 * changed after the FULL, measures
 * - DIFF bytes / (changed pages × page size)            target ≤ 1.05 (+ a fixed header)
 * - DIFF time / time to read the database file once      target ≤ 1.5
 * and, for context, DIFF time / FULL dump time. Each figure is the median of `--runs` runs (min, max).
 *
 * Usage: npm run bench -- [--size-mb 1024] [--runs 3] [--quick]
 * Writes bench/results/<date>-differential.json and .md. Work files go to bench/work/ (git-ignored).
 */
import { createReadStream, mkdirSync, rmSync, statSync, writeFileSync, existsSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteEngine, PAGE_HASHES_FILE } from '#agent/engines/sqlite/sqlite-engine';
import { generateSampleCommServe, mutateSampleCommServe } from '#agent/local/sample-db/index';
import type { DifferentialBase } from '#agent/engines/types';
import { parseManifest, type ManifestInput } from '#core/manifest';
import { setName } from '#core/set-id';
import { arg, figure, type Figure } from './stats';

async function readOnce(file: string): Promise<number> {
  const started = performance.now();
  for await (const _chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    // read only
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const sizeMb = Number(arg('size-mb') ?? (quick ? 256 : 1024));
  const runs = Number(arg('runs') ?? 3);
  const root = join(__dirname, 'work', `diff-${sizeMb}mb`);
  const sampleDir = join(root, 'sample');
  if (!existsSync(join(sampleDir, 'commserv.db'))) {
    process.stderr.write(`generating a ${sizeMb} MB sample CommServe…\n`);
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: sizeMb * 1024 * 1024, seed: 1 });
  }
  const rows = { bytesRatio: [] as number[], timeVsRead: [] as number[], timeVsFull: [] as number[], diffMs: [] as number[], readMs: [] as number[], fullMs: [] as number[] };
  let last: Record<string, number> = {};
  for (let run = 0; run < runs; run++) {
    const work = join(root, `run-${run}`);
    rmSync(work, { recursive: true, force: true });
    mkdirSync(join(work, 'full'), { recursive: true });
    const db = join(work, 'commserv.db');
    copyFileSync(join(sampleDir, 'commserv.db'), db);
    const engine = openSqliteEngine(db);
    try {
      const fullStarted = performance.now();
      const full = await engine.dumpFull(join(work, 'full', 'commserv_FULL.dmp'));
      const fullMs = performance.now() - fullStarted;
      const cycle = await engine.prepareCycle(full.file, join(work, 'full'), 1);
      const manifest = {
        formatVersion: 1, product: 'commserve-dr', jobId: 1, setName: setName(1), backupType: 'FULL', cycleId: 1, baseFullSet: null,
        startTime: new Date().toISOString(), endTime: new Date().toISOString(), agentVersion: 'bench', hostname: 'bench',
        database: { ...full.identity, details: cycle.details }, integrity: { status: 'skipped', messages: [], durationMs: 0 },
        registry: { store: 'none', exportedKeys: [], missingKeys: [] }, firewall: { present: [], missing: [] },
        files: [
          { name: 'commserv_FULL.dmp', role: 'database', size: full.bytes, sha256: '0'.repeat(64) },
          { name: PAGE_HASHES_FILE, role: 'sidecar', size: 1, sha256: '0'.repeat(64) },
        ],
      } satisfies ManifestInput;
      const base: DifferentialBase = { manifest: parseManifest(JSON.stringify(manifest)), setDir: join(work, 'full') };
      await engine.close();
      mutateSampleCommServe(db, { fraction: 0.01, seed: 100 + run });
      const engine2 = openSqliteEngine(db);
      const readMs = await readOnce(db);
      const diffStarted = performance.now();
      const diff = await engine2.dumpDifferential(base, join(work, 'commserv_DIFF_2.dmp'), 2);
      const diffMs = performance.now() - diffStarted;
      await engine2.close();
      const changedPages = Number(diff.identity.details.changedPages);
      const pageSize = diff.identity.pageSize!;
      rows.bytesRatio.push(diff.bytes / (changedPages * pageSize));
      rows.timeVsRead.push(diffMs / readMs);
      rows.timeVsFull.push(diffMs / fullMs);
      rows.diffMs.push(diffMs);
      rows.readMs.push(readMs);
      rows.fullMs.push(fullMs);
      last = { dbBytes: statSync(db).size, changedPages, pageSize, diffBytes: diff.bytes, pageCount: diff.identity.pageCount! };
      process.stderr.write(`run ${run + 1}/${runs}: DIFF ${diff.bytes} bytes, ${changedPages} pages, ${diffMs.toFixed(0)} ms; read ${readMs.toFixed(0)} ms; FULL ${fullMs.toFixed(0)} ms\n`);
    } finally {
      await engine.close();
      rmSync(work, { recursive: true, force: true });
    }
  }
  const result = {
    benchmark: 'sqlite-differential',
    date: new Date().toISOString(),
    node: process.version,
    sizeMb,
    runs,
    lastRun: last,
    bytesRatio: figure(rows.bytesRatio),
    timeVsReadOnce: figure(rows.timeVsRead),
    timeVsFullDump: figure(rows.timeVsFull),
    diffMs: figure(rows.diffMs),
    readOnceMs: figure(rows.readMs),
    fullDumpMs: figure(rows.fullMs),
    targets: { bytesRatio: 1.05, timeVsReadOnce: 1.5 },
  };
  const stamp = result.date.slice(0, 10);
  mkdirSync(join(__dirname, 'results'), { recursive: true });
  writeFileSync(join(__dirname, 'results', `${stamp}-differential-${sizeMb}mb.json`), `${JSON.stringify(result, null, 2)}\n`);
  const f = (x: Figure, digits = 3) => `${x.median.toFixed(digits)} (${x.min.toFixed(digits)}–${x.max.toFixed(digits)})`;
  const md = [
    `# SQLite DIFFERENTIAL benchmark, ${stamp}`,
    '',
    `Database ${(last.dbBytes / 1024 / 1024).toFixed(0)} MiB, 1% of rows changed after the FULL (${last.changedPages} of ${last.pageCount} pages), ${runs} runs, node ${process.version}; median (min–max).`,
    '',
    '| figure | result | target |',
    '|---|---|---|',
    `| DIFF bytes / (changed pages × page size) | ${f(result.bytesRatio, 4)} | ≤ 1.05 |`,
    `| DIFF time / read the file once (warm cache) | ${f(result.timeVsReadOnce, 1)} | ≤ 1.5 |`,
    `| DIFF time / FULL dump time | ${f(result.timeVsFullDump, 2)} | — |`,
    `| DIFF time (ms) | ${f(result.diffMs, 0)} | — |`,
    `| read once (ms) | ${f(result.readOnceMs, 0)} | — |`,
    `| FULL dump (ms) | ${f(result.fullDumpMs, 0)} | — |`,
    '',
  ].join('\n');
  writeFileSync(join(__dirname, 'results', `${stamp}-differential-${sizeMb}mb.md`), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
