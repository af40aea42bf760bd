/** Process entry of the `commserve-dr` command: the only place that touches `process`. */
import { exec } from './cli';
import { keepYoungGenerationSmall } from './memory';
import { interruptMessage, runInterruptCleanups } from './shutdown';

keepYoungGenerationSmall();

let interrupted = false;
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    void runInterruptCleanups(5_000, signal).finally(() => {
      process.stderr.write(`commserve-dr: interrupted (${signal}): ${interruptMessage()}\n`);
      process.exit(code);
    });
  });
}

exec(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`commserve-dr: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
