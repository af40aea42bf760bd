/**
 * The agent side of the FULL benchmark, in its own process so its memory can be sampled: runs phase 1 (FULL)
 * with the settings file given as argument, and prints one JSON line: wall time, phase durations, bytes and the
 * process's peak RSS (VmHWM from /proc/self/status).
 *
 * Usage: node bin/run-ts.js bench/child-full.ts <settings.json>
 */
import { readFileSync } from 'node:fs';
import { parseSettings } from '#core/settings';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { createLogger } from '#agent/log';
import { procStatusKiB } from './proc-status';

async function main(): Promise<void> {
  const settings = parseSettings(JSON.parse(readFileSync(process.argv[2], 'utf8')), 'bench');
  const s3 = createHotSiteClient(settings.HotSite);
  const started = performance.now();
  const result = await runPhase1({ settings, requestedType: 'FULL', s3, logger: createLogger({ level: 'silent' }) });
  const ms = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ ms, durationsMs: result.durationsMs, bytes: result.bytes, status: result.status, peakRssKiB: procStatusKiB('VmHWM') })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`child-full failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
