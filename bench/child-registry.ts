/**
 * Child of `npm run bench -- --only registry` (bench/registry.ts): one measured run on a `.reg` file, in its own
 * process so its peak RSS (VmHWM) is its own. Prints one JSON line: the time of each step and VmHWM.
 *
 * Steps, each a full streaming pass over the file:
 * - `parse`: `registry parse` as the CLI runs it (table), output counted and discarded;
 * - `parseJson`: the same with `--json`;
 * - `rewrite`: read every operation and write the file again with the writer (REGEDIT5, streamed to disk in
 *   writes of at least 1 MiB).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { printRegistryExport } from '#agent/commands/registry/parse';
import { readRegFile, RegEncoder } from '#agent/registry/reg-format';
import { procStatusKiB } from './proc-status';

async function main(): Promise<void> {
  const [file, out] = process.argv.slice(2);
  const timings: Record<string, number> = {};
  /** CPU time (user + system) of each step, ms: less disturbed than wall time by other processes on a shared machine. */
  const cpu: Record<string, number> = {};
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const { user, system } = process.cpuUsage(since);
    return (user + system) / 1000;
  };
  let printed = 0;
  for (const json of [false, true]) {
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    await printRegistryExport(file, file, { json, write: (text) => (printed += text.length) });
    timings[json ? 'parseJson' : 'parse'] = performance.now() - started;
    cpu[json ? 'parseJson' : 'parse'] = cpuMs(cpuStart);
  }
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const fd = openSync(out, 'w');
  let written = 0;
  const encoder = new RegEncoder('REGEDIT5');
  // Key blocks gathered into writes of at least 1 MiB (one syscall per key block costs more than the encoding).
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    if (pendingBytes > 0) written += writeSync(fd, pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes));
    pending = [];
    pendingBytes = 0;
  };
  const write = (bytes: Buffer) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
    if (pendingBytes >= 1 << 20) flush();
  };
  write(encoder.header());
  const summary = await readRegFile(file, (operation) => write(encoder.operation(operation)));
  flush();
  closeSync(fd);
  timings.rewrite = performance.now() - started;
  cpu.rewrite = cpuMs(cpuStart);
  process.stdout.write(`${JSON.stringify({ timings, cpu, printedChars: printed, writtenBytes: written, operations: summary.operationCount, warnings: summary.warningCount, vmHwmKiB: procStatusKiB('VmHWM') })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
