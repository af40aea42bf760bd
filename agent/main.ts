/** Process entry of the `commserve-dr` command: the only place that touches `process`. */
import { exec } from './cli';

exec(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`commserve-dr: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
