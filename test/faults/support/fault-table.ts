/**
 * The fault-injection results table (issue 8): one row per fault with the expected outcome, the observed
 * outcome and the data lost; printed at the end of a suite and written to `.cache/<file>`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One fault and what happened. */
export interface FaultRow {
  fault: string;
  expected: string;
  observed: string;
  dataLost: string;
}

const ROOT = join(__dirname, '..', '..', '..');

/** Formats the rows as a markdown table, writes it to `.cache/<file>` and prints it under `title`. */
export function reportFaultTable(title: string, file: string, rows: readonly FaultRow[]): void {
  const table = [
    '| fault | expected outcome | observed outcome | data lost |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.fault} | ${r.expected} | ${r.observed} | ${r.dataLost} |`),
  ].join('\n');
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(join(ROOT, '.cache', file), `${table}\n`);
  process.stdout.write(`\n${title}\n${table}\n\n`);
}
