/** Shared helpers of the benchmark scripts: command-line values and median/min/max figures. */

/** A measured figure over several runs. */
export interface Figure {
  median: number;
  min: number;
  max: number;
}

/** The value after `--name` on the command line, if any. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Median (the upper one for an even count), min and max of the runs. */
export function figure(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted[sorted.length - 1] };
}
