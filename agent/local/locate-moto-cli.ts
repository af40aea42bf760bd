/** Prints how moto server would be started, or exits 1 with the install hint (used by .ci/run). */
import { locateMoto } from './moto-server';

try {
  const { command, args } = locateMoto();
  process.stdout.write(`${[command, ...args].join(' ')}\n`);
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = 1;
}
