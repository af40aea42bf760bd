/**
 * Child of `npm run bench -- --only registry` (bench/registry.ts): one measured step on a `.reg` file, in a fresh
 * process of its own (as each `registry parse` runs), so its time and peak RSS (VmHWM) are its own. Prints one
 * JSON line: the time of the step, of the reads around it, and VmHWM.
 *
 * In the child, in this order:
 * 1. `read`: reading the file once (raw bytes, a read stream of 1 MiB chunks) — the baseline of the step's ratio,
 *    in the same process and the same state as the step (a fresh process, page cache warm): a read in another
 *    process varied 5–570 ms with that process's state;
 * 2. the step (argument `step`), a full streaming pass over the file:
 *    - `parse`: `registry parse` as the CLI runs it (table), the output written to /dev/null as the CLI writes it
 *      to stdout (synchronously, UTF-8);
 *    - `parseJson`: the same with `--json`;
 *    - `rewrite`: read every operation and write the file again with the writer (REGEDIT5, `RegFileWriter`: key
 *      blocks encoded into one reused 1 MiB buffer, written to disk whenever it is full);
 * 3. `warmRead` and `warmTiming`: the same read and the same step once more, now in a warm process (heap grown,
 *    freed memory to reuse, code compiled): the second pair, also in one state, is reported beside the first as
 *    the stricter comparison (a read costs least there).
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { printRegistryExport } from '#agent/commands/registry/parse';
import { keepYoungGenerationSmall } from '#agent/memory';
import { readRegFile, RegFileWriter } from '#agent/registry/reg-format';
import { procStatusKiB } from './proc-status';

/** Wall and CPU (user + system) time of one step, ms. */
interface Timing {
  wall: number;
  cpu: number;
}

async function timed(step: () => Promise<unknown>): Promise<Timing> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  await step();
  const { user, system } = process.cpuUsage(cpuStart);
  return { wall: performance.now() - started, cpu: (user + system) / 1000 };
}

/** Reads the file once: raw bytes, 1 MiB chunks (the baseline of every ratio). */
async function readOnce(file: string): Promise<void> {
  for await (const _chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    // read only
  }
}

async function main(): Promise<void> {
  keepYoungGenerationSmall(); // as the CLI's process entry (agent/main.ts) does
  const [step, file, out] = process.argv.slice(2);
  const devNull = openSync('/dev/null', 'w');
  let printed = 0;
  const print = (text: string) => {
    printed += text.length;
    writeSync(devNull, text);
  };
  let operations = 0;
  let written = 0;
  const steps: Record<string, () => Promise<unknown>> = {
    parse: () => printRegistryExport(file, file, { json: false, write: print }),
    parseJson: () => printRegistryExport(file, file, { json: true, write: print }),
    rewrite: async () => {
      // The streaming writer (RegFileWriter): key blocks encoded into one reused 1 MiB buffer, written when full.
      const writer = new RegFileWriter(out, 'REGEDIT5');
      operations = (await readRegFile(file, (operation) => writer.operation(operation))).operationCount;
      written = writer.close();
    },
  };
  if (!(step in steps)) throw new Error(`unknown step ${step} (known: ${Object.keys(steps).join(', ')})`);
  const read = await timed(() => readOnce(file));
  const timing = await timed(steps[step]);
  const printedChars = printed;
  const warmRead = await timed(() => readOnce(file));
  const warmTiming = await timed(steps[step]);
  closeSync(devNull);
  process.stdout.write(`${JSON.stringify({ step, timing, read, warmRead, warmTiming, printedChars, writtenBytes: written, operations, vmHwmKiB: procStatusKiB('VmHWM') })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exitCode = 1;
});
