/**
 * agent/memory.ts: the young generation stays at V8's initial size once the agent's setting is applied (issue 20:
 * agent peak RSS ≤ 128 MiB). Each case runs in its own Node process (V8 flags are process-wide).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { YOUNG_GENERATION_FLAG } from '#agent/memory';

const ROOT = join(__dirname, '..', '..', '..');
const MiB = 1024 * 1024;

function probe(small: boolean): { newSpaceBytes: number; kept: number } {
  const out = execFileSync(process.execPath, [join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'test', 'support', 'young-generation-probe.ts'), ...(small ? ['small'] : [])], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { newSpaceBytes: number; kept: number };
}

describe('keepYoungGenerationSmall (real V8, child processes)', () => {
  it('keeps the new space at its initial 2 MiB (two 1 MiB semi-spaces) through a long allocation, where V8 alone grows it', () => {
    expect(YOUNG_GENERATION_FLAG).toBe('--semi-space-growth-factor=1');
    const grown = probe(false);
    const small = probe(true);
    expect(small.kept).toBe(grown.kept); // the same work ran
    expect(grown.newSpaceBytes).toBeGreaterThan(4 * MiB);
    expect(small.newSpaceBytes).toBeLessThanOrEqual(2 * MiB);
  });
});
