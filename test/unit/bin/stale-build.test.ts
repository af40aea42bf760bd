/**
 * When the launcher (bin/commserve-dr.js) may run the build in dist/: a fake package in a temp dir, its build's
 * inputs.json written as bin/build.js writes it (names + SHA-256), and files touched or edited afterwards.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDirs } from '../../support/tmp';

const { staleBuild } = require('../../../bin/stale-build.js') as { staleBuild: (root: string) => string | null };

describe('staleBuild (bin/stale-build.js)', () => {
  const tempDir = useTempDirs();
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  /** A package whose build was made at `builtAt` from agent/a.ts and core/b.ts; `record` false = an inputs.json without SHA-256s (an older build). */
  function fakePackage(record = true): { root: string; at: (file: string, seconds: number) => void } {
    const root = tempDir();
    mkdirSync(join(root, 'dist'));
    mkdirSync(join(root, 'agent'));
    mkdirSync(join(root, 'core'));
    writeFileSync(join(root, 'agent', 'a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'core', 'b.ts'), 'export const b = 2;\n');
    writeFileSync(join(root, 'dist', 'commserve-dr.js'), '// bundle\n');
    const inputs = ['agent/a.ts', 'core/b.ts'];
    const sha256 = { 'agent/a.ts': sha('export const a = 1;\n'), 'core/b.ts': sha('export const b = 2;\n') };
    writeFileSync(join(root, 'dist', 'commserve-dr.inputs.json'), JSON.stringify(record ? { entry: 'agent/main.ts', inputs, sha256 } : { entry: 'agent/main.ts', inputs }));
    const at = (file: string, seconds: number) => utimesSync(join(root, file), seconds, seconds);
    at('agent/a.ts', 1000);
    at('core/b.ts', 1000);
    at('dist/commserve-dr.js', 2000);
    return { root, at };
  }

  it('a build newer than its sources is current', () => {
    expect(staleBuild(fakePackage().root)).toBeNull();
  });

  it('an installed package (every file given the time of the install, sources after the build) is current: same content', () => {
    const { root, at } = fakePackage();
    at('agent/a.ts', 3000);
    at('core/b.ts', 3001);
    expect(staleBuild(root)).toBeNull();
  });

  it('an edited source newer than the build makes it stale, naming the file', () => {
    const { root, at } = fakePackage();
    writeFileSync(join(root, 'core', 'b.ts'), 'export const b = 3;\n');
    at('core/b.ts', 3000);
    expect(staleBuild(root)).toBe('core/b.ts changed after it');
  });

  it('without recorded SHA-256s (a build made before they were recorded), a newer source makes it stale', () => {
    const { root, at } = fakePackage(false);
    at('agent/a.ts', 3000);
    expect(staleBuild(root)).toBe('agent/a.ts changed after it');
  });

  it('a removed source, or no build at all', () => {
    const { root } = fakePackage();
    rmSync(join(root, 'agent', 'a.ts'));
    expect(staleBuild(root)).toBe('agent/a.ts is gone');
    rmSync(join(root, 'dist'), { recursive: true });
    expect(staleBuild(root)).toBe('missing');
  });
});
