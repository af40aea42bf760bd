/**
 * Child-process probe for test/unit/agent/memory.test.ts: optionally applies the agent's young-generation setting,
 * allocates ~200 MB of short- and medium-lived objects, and prints V8's new-space size (bytes) as JSON.
 * Usage: node bin/run-ts.js test/support/young-generation-probe.ts [small]
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { keepYoungGenerationSmall } from '#agent/memory';

if (process.argv[2] === 'small') keepYoungGenerationSmall();
let kept: Array<{ n: number; s: string }> = [];
for (let i = 0; i < 2_000_000; i++) {
  const o = { n: i, s: `row ${i}` };
  if (i % 3 === 0) kept.push(o); // survives a few scavenges, as pending requests and promise chains do
  if (kept.length > 100_000) kept = [];
}
const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!;
process.stdout.write(`${JSON.stringify({ newSpaceBytes: newSpace.space_size, kept: kept.length })}\n`);
