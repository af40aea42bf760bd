/**
 * Child of `npm run bench -- --only registry` (bench/registry.ts): one measured run on a `.reg` file, in its own
 * process so its peak RSS (VmHWM) is its own. Prints one JSON line: the time of each step and VmHWM.
 *
 * Steps, each a full streaming pass over the file:
 * - `parse`: `registry parse` as the CLI runs it (table), output counted and discarded;
 * - `parseJson`: the same with `--json`;
 * - `rewrite`: read every operation and write the file again with the writer (REGEDIT5, `RegFileWriter`: key
 *   blocks encoded into one reused 1 MiB buffer, written to disk whenever it is full).
 */
import { printRegistryExport } from '#agent/commands/registry/parse';
import { readRegFile, RegFileWriter } from '#agent/registry/reg-format';
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
  // The streaming writer (RegFileWriter): key blocks encoded into one reused 1 MiB buffer, written when full.
  const writer = new RegFileWriter(out, 'REGEDIT5');
  const summary = await readRegFile(file, (operation) => writer.operation(operation));
  const written = writer.close();
  timings.rewrite = performance.now() - started;
  cpu.rewrite = cpuMs(cpuStart);
  process.stdout.write(`${JSON.stringify({ timings, cpu, printedChars: printed, writtenBytes: written, operations: summary.operationCount, warnings: summary.warningCount, vmHwmKiB: procStatusKiB('VmHWM') })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
