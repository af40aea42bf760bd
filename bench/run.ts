/**
 * End-to-end benchmark (issue 10): on generated sample CommServe databases, against a local moto server, in one
 * run, measures (median of `--runs` runs, with min and max):
 * - FULL DR backup (phase 1 + upload, `runPhase1` in a child process) vs the bare minimum: better-sqlite3
 *   `db.backup` of the same database + one lib-storage multipart upload of the same bytes to the same endpoint;
 * - DIFFERENTIAL after 1% of rows changed: dump bytes / (changed pages × page size), dump time vs reading the
 *   database once;
 * - recovery (download + verify + restore FULL+DIFF, `runRecover`) vs the bare download + file copy;
 * - peak RSS of the agent process (VmHWM of the FULL's child process, and the largest VmRSS polled by the parent);
 * - the cost curve (time and bytes of the smallest vs the largest size).
 * moto (Python, in memory) is part of every upload and download measurement, for the product and the baseline.
 *
 * Usage: npm run bench -- [--sizes 256,2048] [--runs 3] [--quick] [--label NAME]   (results: <date>[-NAME].md)
 *        npm run bench -- --only differential [--size-mb 1024] [--runs 3] [--quick]   (bench/differential.ts)
 *        npm run bench -- --only registry [--size-mb 60] [--runs 5] [--label NAME]   (bench/registry.ts)
 *        npm run bench -- --only recover-disk [--sizes 256,2048] [--runs 3]   (bench/recover-disk.ts)
 *        npm run bench -- --only log [--sizes 256,2048] [--runs 3]   (bench/log.ts: LOG point bytes and time)
 *        npm run bench -- --only memory [--sizes 256,2048] [--runs 1]   (bench/memory.ts: the agent's peak RSS per command)
 *        npm run bench -- --only full [--sizes 256] [--runs 3] [--variants default,none]   (bench/full.ts: FULL vs peers, CPU)
 * Writes bench/results/<date>.json and .md (`<date>-quick.*` with --quick). Generated databases are cached under
 * bench/work/ (git-ignored).
 */
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import Database from 'better-sqlite3';
import { createReadStream, createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { DEFAULT_PART_BYTES, MiB } from '#core/transfer-plan';
import { createHotSiteClient, UPLOAD_QUEUE_SIZE } from '#agent/hotsite/hot-site';
import { createLogger } from '#agent/log';
import { startMotoServer, type MotoServer } from '#agent/local/moto-server';
import { mutateSampleCommServe } from '#agent/local/sample-db/index';
import { peakMiB, runChild } from './agent-child';
import { PEERS, runPeers, type PeerName, type PeerRun } from './peers';
import { arg, figure, type Figure } from './stats';
import { log, sample, sampleWorkspace } from './sample';

const ROOT = __dirname;
/** Peers as named in the table. */
const PEER_TITLES: Record<PeerName, string> = { 'sqlite3+awscli': '`sqlite3 .backup` + `aws s3 cp`', restic: '`sqlite3 .backup` + `restic backup` (zstd, dedup)' };
const WORK = join(ROOT, 'work');
const logger = createLogger({ level: 'silent' });



async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function readOnce(file: string): Promise<number> {
  const started = performance.now();
  for await (const _chunk of createReadStream(file, { highWaterMark: MiB })) {
    // read only
  }
  return performance.now() - started;
}

/** The bare minimum of a FULL: an online backup of the database, then one SDK multipart upload of its bytes. */
async function bareFull(s3: S3Client, bucket: string, db: string, out: string): Promise<{ ms: number; backupMs: number; uploadMs: number }> {
  const started = performance.now();
  const source = new Database(db, { readonly: true, fileMustExist: true });
  try {
    await source.backup(out, { progress: () => 1024 });
  } finally {
    source.close();
  }
  const backupMs = performance.now() - started;
  await new Upload({
    client: s3,
    params: { Bucket: bucket, Key: 'baseline/commserv.dmp', Body: createReadStream(out, { highWaterMark: MiB }) },
    partSize: 16 * MiB,
    queueSize: UPLOAD_QUEUE_SIZE,
    leavePartsOnError: false,
  }).done();
  const ms = performance.now() - started;
  return { ms, backupMs, uploadMs: ms - backupMs };
}

/** The bare minimum of a recovery: download the same objects, then copy the FULL dump into place. */
async function bareRecovery(s3: S3Client, bucket: string, objects: Array<{ set: string; file: string }>, dir: string): Promise<number> {
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  for (const o of objects) {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `sets/${o.set}/${o.file}` }));
    await pipeline(response.Body as Readable, createWriteStream(join(dir, `${o.set}-${o.file}`)));
  }
  const full = objects.find((o) => o.file === 'commserv_FULL.dmp')!;
  await copyFile(join(dir, `${full.set}-${full.file}`), join(dir, 'commserv.db'));
  return performance.now() - started;
}

async function resetMoto(moto: MotoServer): Promise<void> {
  const response = await fetch(`${moto.endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
}

interface SizeRun {
  dbBytes: number;
  fullMs: number;
  bareFullMs: number;
  bareBackupMs: number;
  bareUploadMs: number;
  fullRatio: number;
  fullDurations: Record<string, number>;
  fullBytes: number;
  brotliFullMs: number;
  brotliFullRatio: number;
  brotliFullBytes: number;
  brotliPeakRssMiB: number;
  fullPeakRssMiB: number;
  /** Peers timed on the same database and endpoint (absent when the tool is not installed). */
  peers: Partial<Record<PeerName, PeerRun>>;
  diffDumpMs: number;
  diffJobMs: number;
  diffPeakRssMiB: number;
  readOnceMs: number;
  diffTimeVsRead: number;
  diffBytes: number;
  changedPages: number;
  pageSize: number;
  diffBytesRatio: number;
  logDumpMs: number;
  logJobMs: number;
  logPeakRssMiB: number;
  logReadOnceMs: number;
  logTimeVsRead: number;
  logChangedPages: number;
  recoveryMs: number;
  recoveryDurations: Record<string, number>;
  recoveryPeakRssMiB: number;
  bareRecoveryMs: number;
  recoveryRatio: number;
}

/** Changed rows before the DIFFERENTIAL (cumulative since the FULL) and before the LOG point (since the DIFFERENTIAL). */
const DIFF_FRACTION = 0.01;
const LOG_FRACTION = 0.001;

async function benchSize(moto: MotoServer, sizeMb: number, runs: number): Promise<{ sizeMb: number; runs: SizeRun[] }> {
  const sampleDir = await sample(sizeMb);
  const out: SizeRun[] = [];
  for (let run = 0; run < runs; run++) {
    await resetMoto(moto);
    const bucket = `bench-${sizeMb}-${run}`;
    // The main series stays plain (the bare minimum uploads the plain bytes); the brotli FULL (the default since
    // issue 20) is timed on its own below.
    const { work, db, raw } = sampleWorkspace(sampleDir, `run-${sizeMb}mb`, bucket, moto.endpoint, { DumpCompression: 'none' });
    try {
      const settingsFile = join(work, 'settings.json');
      writeFileSync(settingsFile, JSON.stringify(raw));
      const settings: Settings = parseSettings(raw, 'bench');
      const s3 = createHotSiteClient(settings.HotSite);
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));

      // The same FULL with DumpCompression brotli (level 1): fewer bytes to upload and store, more CPU. Taken first, so
      // the uncompressed FULL below is the newest and the base of the DIFFERENTIAL and the recovery measured after it.
      const brotliSettingsFile = join(work, 'settings-brotli.json');
      writeFileSync(brotliSettingsFile, JSON.stringify({ ...raw, DumpCompression: 'brotli', DumpCompressionLevel: 1 }));
      const brotliFull = await runChild('full', brotliSettingsFile);

      // Peers (what a user would pick instead), same database, same endpoint, before our FULL.
      const peers = await runPeers({ db, work, endpoint: moto.endpoint, bucket });

      // FULL vs bare minimum (order alternates between runs so neither always gets the warmer cache).
      const bareOut = join(work, 'bare.dmp');
      let bare: Awaited<ReturnType<typeof bareFull>>;
      let full: Awaited<ReturnType<typeof runChild>>;
      if (run % 2 === 0) {
        bare = await bareFull(s3, bucket, db, bareOut);
        full = await runChild('full', settingsFile);
      } else {
        full = await runChild('full', settingsFile);
        bare = await bareFull(s3, bucket, db, bareOut);
      }
      rmSync(bareOut, { force: true });

      // DIFFERENTIAL after changing 1% of rows.
      mutateSampleCommServe(db, { fraction: DIFF_FRACTION, seed: 100 + run });
      const readOnceMs = await readOnce(db);
      const diff = await runChild('differential', settingsFile);
      const diffManifest = parseManifest(readFileSync(join(work, 'dr', diff.setName!, 'manifest.json')));
      const diffFile = diffManifest.files.find((f) => f.role === 'database')!;
      const changedPages = Number(diffManifest.database.details?.changedPages);
      const pageSize = diffManifest.database.pageSize!;

      // Recovery (newest point: FULL + DIFF) vs bare download + copy.
      const to = join(work, 'recover');
      const recovery = await runChild('recover', settingsFile, to);
      rmSync(to, { recursive: true, force: true });
      const bareRecoveryMs = await bareRecovery(s3, bucket, recovery.objects!, join(work, 'bare-recover'));
      rmSync(join(work, 'bare-recover'), { recursive: true, force: true });

      // LOG point after changing 0.1% of rows since the DIFFERENTIAL.
      mutateSampleCommServe(db, { fraction: LOG_FRACTION, seed: 200 + run });
      const logReadOnceMs = await readOnce(db);
      const logPoint = await runChild('log', settingsFile);
      const logManifest = parseManifest(readFileSync(join(work, 'dr', logPoint.setName!, 'manifest.json')));

      const r: SizeRun = {
        dbBytes: statSync(db).size,
        fullMs: full.ms,
        bareFullMs: bare.ms,
        bareBackupMs: bare.backupMs,
        bareUploadMs: bare.uploadMs,
        fullRatio: full.ms / bare.ms,
        fullDurations: full.durationsMs,
        fullBytes: full.bytes,
        brotliFullMs: brotliFull.ms,
        brotliFullRatio: brotliFull.ms / bare.ms,
        brotliFullBytes: brotliFull.bytes,
        brotliPeakRssMiB: peakMiB(brotliFull),
        fullPeakRssMiB: peakMiB(full),
        peers,
        diffDumpMs: diff.durationsMs.dump,
        diffJobMs: diff.ms,
        diffPeakRssMiB: peakMiB(diff),
        readOnceMs,
        diffTimeVsRead: diff.durationsMs.dump / readOnceMs,
        diffBytes: diffFile.size,
        changedPages,
        pageSize,
        diffBytesRatio: diffFile.size / (changedPages * pageSize),
        logDumpMs: logPoint.durationsMs.dump,
        logJobMs: logPoint.ms,
        logPeakRssMiB: peakMiB(logPoint),
        logReadOnceMs,
        logTimeVsRead: logPoint.durationsMs.dump / logReadOnceMs,
        logChangedPages: Number(logManifest.database.details?.changedPages),
        recoveryMs: recovery.ms,
        recoveryDurations: recovery.durationsMs,
        recoveryPeakRssMiB: peakMiB(recovery),
        bareRecoveryMs,
        recoveryRatio: recovery.ms / bareRecoveryMs,
      };
      out.push(r);
      const peerText = Object.entries(peers).map(([name, p]) => `${name} ${(p.ms / 1000).toFixed(1)} s`).join(', ');
      log(
        `${sizeMb} MB run ${run + 1}/${runs}: FULL ${(r.fullMs / 1000).toFixed(1)} s vs bare ${(r.bareFullMs / 1000).toFixed(1)} s (×${r.fullRatio.toFixed(2)})${peerText ? `, peers: ${peerText}` : ''}; ` +
          `peak RSS FULL/DIFF/LOG/recovery ${[r.fullPeakRssMiB, r.diffPeakRssMiB, r.logPeakRssMiB, r.recoveryPeakRssMiB].map((m) => m.toFixed(0)).join('/')} MiB; ` +
          `DIFF ${r.diffBytes} B (×${r.diffBytesRatio.toFixed(3)} of changed pages), dump ${r.diffDumpMs} ms vs read ${r.readOnceMs.toFixed(0)} ms (×${r.diffTimeVsRead.toFixed(2)}); ` +
          `LOG ${r.logChangedPages} pages, dump ${r.logDumpMs} ms (×${r.logTimeVsRead.toFixed(2)}); ` +
          `recovery ${(r.recoveryMs / 1000).toFixed(1)} s vs bare ${(r.bareRecoveryMs / 1000).toFixed(1)} s (×${r.recoveryRatio.toFixed(2)})`,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return { sizeMb, runs: out };
}

function summarize(size: { sizeMb: number; runs: SizeRun[] }) {
  const pick = (f: (r: SizeRun) => number) => figure(size.runs.map(f));
  const phases = [...new Set(size.runs.flatMap((r) => Object.keys(r.fullDurations)))];
  const peerNames = PEERS.filter((p) => size.runs.every((r) => r.peers[p]));
  return {
    sizeMb: size.sizeMb,
    dbBytes: size.runs[0].dbBytes,
    fullSetBytes: size.runs[0].fullBytes,
    full: { ms: pick((r) => r.fullMs), bareMs: pick((r) => r.bareFullMs), bareBackupMs: pick((r) => r.bareBackupMs), bareUploadMs: pick((r) => r.bareUploadMs), ratio: pick((r) => r.fullRatio) },
    fullPhasesMs: Object.fromEntries(phases.map((p) => [p, pick((r) => r.fullDurations[p] ?? 0)])),
    peakRssMiB: { full: pick((r) => r.fullPeakRssMiB), brotli: pick((r) => r.brotliPeakRssMiB), differential: pick((r) => r.diffPeakRssMiB), log: pick((r) => r.logPeakRssMiB), recovery: pick((r) => r.recoveryPeakRssMiB) },
    brotli: { ms: pick((r) => r.brotliFullMs), ratio: pick((r) => r.brotliFullRatio), setBytes: pick((r) => r.brotliFullBytes), sizeRatio: pick((r) => r.fullBytes / r.brotliFullBytes) },
    peers: Object.fromEntries(
      peerNames.map((p) => [p, { ms: pick((r) => r.peers[p]!.ms), bytes: pick((r) => r.peers[p]!.bytes), fullRatio: pick((r) => r.fullMs / r.peers[p]!.ms), brotliRatio: pick((r) => r.brotliFullMs / r.peers[p]!.ms) }]),
    ) as Partial<Record<PeerName, { ms: Figure; bytes: Figure; fullRatio: Figure; brotliRatio: Figure }>>,
    differential: {
      bytes: pick((r) => r.diffBytes),
      changedPages: pick((r) => r.changedPages),
      pageSize: size.runs[0].pageSize,
      bytesRatio: pick((r) => r.diffBytesRatio),
      dumpMs: pick((r) => r.diffDumpMs),
      jobMs: pick((r) => r.diffJobMs),
      readOnceMs: pick((r) => r.readOnceMs),
      dumpVsReadOnce: pick((r) => r.diffTimeVsRead),
    },
    log: {
      changedPages: pick((r) => r.logChangedPages),
      dumpMs: pick((r) => r.logDumpMs),
      jobMs: pick((r) => r.logJobMs),
      readOnceMs: pick((r) => r.logReadOnceMs),
      dumpVsReadOnce: pick((r) => r.logTimeVsRead),
    },
    recovery: {
      ms: pick((r) => r.recoveryMs),
      bareMs: pick((r) => r.bareRecoveryMs),
      ratio: pick((r) => r.recoveryRatio),
      phasesMs: Object.fromEntries(['download', 'rebuild', 'integrity'].map((p) => [p, pick((r) => r.recoveryDurations[p] ?? 0)])),
    },
    raw: size.runs,
  };
}

type Summary = ReturnType<typeof summarize>;

function markdown(result: { date: string; node: string; machine: string; runs: number; sizes: Summary[]; costCurve: unknown }, curve: Array<{ from: number; to: number; bytesFactor: number; fullTimeFactor: number; perByte: number; recoveryPerByte: number }>): string {
  const f = (x: Figure, digits = 2, scale = 1) => `${(x.median / scale).toFixed(digits)} (${(x.min / scale).toFixed(digits)}–${(x.max / scale).toFixed(digits)})`;
  const lines = [
    `# commserve-dr benchmark, ${result.date.slice(0, 10)}`,
    '',
    `${result.machine}; node ${result.node}; ${result.runs} runs per size; median (min–max). moto (Python, in memory) serves every upload and download, for the product and the baseline alike.`,
    '',
    '| figure | ' + result.sizes.map((s) => `${s.sizeMb} MB`).join(' | ') + ' | target |',
    '|---|' + result.sizes.map(() => '---|').join('') + '---|',
    `| database bytes | ${result.sizes.map((s) => s.dbBytes).join(' | ')} | — |`,
    `| FULL DR backup, phase 1 + upload, DumpCompression none (s) | ${result.sizes.map((s) => f(s.full.ms, 1, 1000)).join(' | ')} | — |`,
    `| bare minimum: db.backup + one lib-storage upload (s) | ${result.sizes.map((s) => f(s.full.bareMs, 1, 1000)).join(' | ')} | — |`,
    `| **FULL / bare minimum** | ${result.sizes.map((s) => f(s.full.ratio)).join(' | ')} | ≤ 1.2 (SPEC ≤ 1.5) |`,
    `| FULL phases: dump / one pass (hash + page hashes + upload) / integrity (alongside) / manifest upload (s) | ${result.sizes
      .map((s) => ['dump', 'stream', 'integrity', 'manifestUpload'].map((p) => ((s.fullPhasesMs[p]?.median ?? 0) / 1000).toFixed(1)).join(' / '))
      .join(' | ')} | — |`,
    `| bare: backup / upload (s) | ${result.sizes.map((s) => `${(s.full.bareBackupMs.median / 1000).toFixed(1)} / ${(s.full.bareUploadMs.median / 1000).toFixed(1)}`).join(' | ')} | — |`,
    `| FULL with DumpCompression brotli (level 1, the default) (s) | ${result.sizes.map((s) => f(s.brotli.ms, 1, 1000)).join(' | ')} | — |`,
    `| **FULL brotli / bare minimum** (uploads fewer bytes than the bare minimum) | ${result.sizes.map((s) => f(s.brotli.ratio)).join(' | ')} | — |`,
    `| SET bytes: uncompressed / brotli (ratio) | ${result.sizes.map((s) => `${s.fullSetBytes} / ${s.brotli.setBytes.median} (${s.brotli.sizeRatio.median.toFixed(2)}×)`).join(' | ')} | — |`,
    ...PEERS.filter((p) => result.sizes.some((s) => s.peers[p])).flatMap((p) => [
      `| peer ${PEER_TITLES[p]} (s) | ${result.sizes.map((s) => (s.peers[p] ? f(s.peers[p].ms, 1, 1000) : 'not run')).join(' | ')} | — |`,
      `| **FULL / ${p}** (plain; brotli) | ${result.sizes.map((s) => (s.peers[p] ? `${f(s.peers[p].fullRatio)}; ${f(s.peers[p].brotliRatio)}` : '—')).join(' | ')} | ≤ 1.0 the fastest peer |`,
    ]),
    `| **peak RSS of the agent (MiB): FULL** | ${result.sizes.map((s) => f(s.peakRssMiB.full, 0)).join(' | ')} | ≤ 128, flat |`,
    `| **peak RSS: FULL brotli** | ${result.sizes.map((s) => f(s.peakRssMiB.brotli, 0)).join(' | ')} | ≤ 128, flat |`,
    `| **peak RSS: DIFFERENTIAL** | ${result.sizes.map((s) => f(s.peakRssMiB.differential, 0)).join(' | ')} | ≤ 128, flat |`,
    `| **peak RSS: LOG** | ${result.sizes.map((s) => f(s.peakRssMiB.log, 0)).join(' | ')} | ≤ 128, flat |`,
    `| **peak RSS: recovery FULL+DIFF** | ${result.sizes.map((s) => f(s.peakRssMiB.recovery, 0)).join(' | ')} | ≤ 128, flat |`,
    `| DIFF (1% rows) changed pages | ${result.sizes.map((s) => f(s.differential.changedPages, 0)).join(' | ')} | — |`,
    `| DIFF dump bytes | ${result.sizes.map((s) => f(s.differential.bytes, 0)).join(' | ')} | — |`,
    `| **DIFF bytes / (changed pages × page size)** | ${result.sizes.map((s) => f(s.differential.bytesRatio, 4)).join(' | ')} | ≤ 1.05 |`,
    `| **DIFF dump time / read the database once** | ${result.sizes.map((s) => f(s.differential.dumpVsReadOnce)).join(' | ')} | ≤ 1.5 |`,
    `| LOG (0.1% rows since the DIFF) changed pages | ${result.sizes.map((s) => f(s.log.changedPages, 0)).join(' | ')} | — |`,
    `| **LOG dump time / read the database once** | ${result.sizes.map((s) => f(s.log.dumpVsReadOnce)).join(' | ')} | ≤ 1.5 |`,
    `| LOG dump / whole LOG job (s) | ${result.sizes.map((s) => `${(s.log.dumpMs.median / 1000).toFixed(2)} / ${(s.log.jobMs.median / 1000).toFixed(2)}`).join(' | ')} | — |`,
    `| DIFF dump / whole DIFF job (s) | ${result.sizes.map((s) => `${(s.differential.dumpMs.median / 1000).toFixed(1)} / ${(s.differential.jobMs.median / 1000).toFixed(1)}`).join(' | ')} | — |`,
    `| recovery FULL+DIFF: download + verify + restore (s) | ${result.sizes.map((s) => f(s.recovery.ms, 1, 1000)).join(' | ')} | — |`,
    `| recovery phases: download (verify + rebuild while downloading) / DIFF pages in place / quick_check (s) | ${result.sizes
      .map((s) => ['download', 'rebuild', 'integrity'].map((p) => ((s.recovery.phasesMs[p]?.median ?? 0) / 1000).toFixed(2)).join(' / '))
      .join(' | ')} | — |`,
    `| bare download + file copy (s) | ${result.sizes.map((s) => f(s.recovery.bareMs, 1, 1000)).join(' | ')} | — |`,
    `| **recovery / bare** | ${result.sizes.map((s) => f(s.recovery.ratio)).join(' | ')} | ≤ 1.1 |`,
    '',
  ];
  if (curve.length > 0) {
    lines.push('Cost curve (largest vs smallest size; factor 1.0 per byte = linear):', '');
    for (const c of curve) {
      lines.push(`- ${c.from} MB → ${c.to} MB: ${c.bytesFactor.toFixed(2)}× the bytes, FULL ${c.fullTimeFactor.toFixed(2)}× the time → ${c.perByte.toFixed(2)} per byte; recovery ${c.recoveryPerByte.toFixed(2)} per byte.`);
    }
    lines.push('');
  }
  lines.push(
    '## Streaming decision',
    '',
    '- Each SET file is read once, from the page cache right after the engine wrote it: in that one pass (`streamSetFile`,',
    '  agent/hotsite/stream-upload.ts) the bytes get the manifest SHA-256, the SHA-256 of every upload part (sent as',
    '  `ChecksumSHA256`, which S3 verifies), the FULL\'s page hashes (the sidecar that makes DIFFERENTIALs proportional to',
    '  changed pages) and, with `DumpCompression: brotli`, the compression — while the parts go to the hot-site.',
    '- The integrity check of a FULL runs on its own dump (exactly the bytes backed up; no read transaction on the live',
    '  CommServe) in a worker thread, alongside the pass; only the manifest waits for its verdict.',
    '- Commit order: the local manifest (fsync + rename) is written after the pass, then the hot-site manifest. A failed',
    '  upload does not stop the pass: the local SET is still committed and the next job re-fills the hot-site. An agent',
    '  killed during the pass leaves an incomplete SET (no manifest) that never counts; the previous point stays intact',
    '  (fault suite: "kill mid-upload", "kill after the local commit").',
    `- Memory: parts of \`choosePartSize\` bytes (${DEFAULT_PART_BYTES / MiB} MiB; ≥ 5 MiB, ≤ 10,000 parts, > 5 TiB refused before any request),`,
    `  ${UPLOAD_QUEUE_SIZE} in flight, none held in memory: each is hashed in 1 MiB chunks, then sent as a byte range of the stored file`,
    '  (read again from the page cache): bounded whatever the database size.',
    '- Compression: brotli (Node 20\'s zlib has no zstd before 22.15; brotli level 1 compresses faster than gzip level 1 with',
    '  a better ratio on the sample CommServe). The manifest records the stored bytes (size, SHA-256, S3 checksum) and the',
    '  content (`compression.contentSize` / `contentSha256`); recovery decompresses while it stages and verifies both.',
    '',
  );
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (arg('only') === 'differential') {
    const i = process.argv.indexOf('--only');
    process.argv.splice(i, 2);
    require('./differential');
    return;
  }
  if (arg('only') === 'registry') {
    const i = process.argv.indexOf('--only');
    process.argv.splice(i, 2);
    require('./registry');
    return;
  }
  if (arg('only') === 'log') {
    const i = process.argv.indexOf('--only');
    process.argv.splice(i, 2);
    require('./log');
    return;
  }
  if (arg('only') === 'memory') {
    const i = process.argv.indexOf('--only');
    process.argv.splice(i, 2);
    require('./memory');
    return;
  }
  if (arg('only') === 'recover-disk') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require('./recover-disk') as typeof import('./recover-disk')).runRecoverDiskBench();
    return;
  }
  if (arg('only') === 'full') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require('./full') as typeof import('./full')).runFullBench();
    return;
  }
  if (arg('only') !== undefined) throw new Error(`unknown --only ${arg('only')} (known: differential, registry, log, recover-disk, memory, full)`);
  const quick = process.argv.includes('--quick');
  const sizes = (arg('sizes') ?? (quick ? '64' : '256,2048')).split(',').map(Number);
  if (sizes.some((s) => !(Number.isInteger(s) && s >= 1))) throw new Error(`--sizes takes whole MB, e.g. 256,2048`);
  const runs = Number(arg('runs') ?? 3);
  mkdirSync(WORK, { recursive: true });
  for (const size of sizes) await sample(size);
  log('starting moto…');
  const moto = await startMotoServer();
  const measured: Summary[] = [];
  try {
    for (const size of sizes) measured.push(summarize(await benchSize(moto, size, runs)));
  } finally {
    await moto.stop();
  }
  const sorted = [...measured].sort((a, b) => a.dbBytes - b.dbBytes);
  const curve =
    sorted.length >= 2
      ? sorted.slice(1).map((s) => {
          const small = sorted[0];
          const bytesFactor = s.dbBytes / small.dbBytes;
          const fullTimeFactor = s.full.ms.median / small.full.ms.median;
          return {
            from: small.sizeMb,
            to: s.sizeMb,
            bytesFactor,
            fullTimeFactor,
            perByte: fullTimeFactor / bytesFactor,
            recoveryPerByte: s.recovery.ms.median / small.recovery.ms.median / bytesFactor,
          };
        })
      : [];
  const date = new Date().toISOString();
  const result = {
    benchmark: 'commserve-dr end to end',
    date,
    node: process.version,
    machine: `${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    runs,
    quick,
    uploadPlan: { partSizeBytes: DEFAULT_PART_BYTES, partSizeRule: 'choosePartSize: ≥ 5 MiB, ≤ 10,000 parts', queueSize: UPLOAD_QUEUE_SIZE, partBody: 'file range' },
    targets: { fullRatio: 1.2, specFullRatio: 1.5, diffBytesRatio: 1.05, diffTimeVsReadOnce: 1.5, logTimeVsReadOnce: 1.5, recoveryRatio: 1.1, peakRssMiB: 128, fullVsFastestPeer: 1.0 },
    sizes: measured,
    costCurve: curve,
  };
  const label = arg('label'); // e.g. growth: keeps the day's other results file
  const stamp = `${date.slice(0, 10)}${quick ? '-quick' : ''}${label ? `-${label.replace(/[^a-z0-9-]/gi, '')}` : ''}`;
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'results', `${stamp}.json`), `${JSON.stringify(result, null, 2)}\n`);
  const md = markdown(result, curve);
  writeFileSync(join(ROOT, 'results', `${stamp}.md`), md);
  process.stdout.write(md);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
