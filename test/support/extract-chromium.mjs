// Extracts the headless Chromium that the npm package @sparticuz/chromium ships (brotli archives inside the
// package, nothing downloaded) into <dir>: the `chromium` binary, `fonts/` (fontconfig + Open Sans) and
// `al2023/lib/` (NSS, NSPR, expat: the only shared libraries it needs beyond glibc), then prints
// {"executable","libDir","fontsDir"} as JSON. Extraction goes to a staging folder renamed into place, so a
// killed run never leaves a half-written binary and two runs at once both end with a whole one.
// Usage: node test/support/extract-chromium.mjs <dir>
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.cache/chromium');
const result = () => ({ executable: join(dir, 'chromium'), libDir: join(dir, 'al2023', 'lib'), fontsDir: join(dir, 'fonts') });

if (!existsSync(join(dir, 'complete'))) {
  mkdirSync(join(dir, '..'), { recursive: true });
  const staging = mkdtempSync(`${dir}.staging-`);
  // @sparticuz/chromium extracts into os.tmpdir(), which follows TMPDIR.
  process.env.TMPDIR = staging;
  const { default: Chromium, inflate } = await import('@sparticuz/chromium');
  const al2023 = fileURLToPath(new URL('../bin/al2023.tar.br', import.meta.resolve('@sparticuz/chromium')));
  const executable = await Chromium.executablePath();
  if (executable !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium extracted to ${executable}, expected ${join(staging, 'chromium')}`);
  await inflate(al2023);
  // Its fonts.conf names Lambda's folders (/tmp/fonts, /var/task/fonts): point it at the unpacked Open Sans
  // only, so the page renders with the same font on every machine, with or without system fonts.
  writeFileSync(
    join(staging, 'fonts', 'fonts.conf'),
    `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(dir, 'fonts', 'fonts')}</dir>\n  <cachedir>${join(dir, 'fonts-cache')}</cachedir>\n</fontconfig>\n`,
  );
  writeFileSync(join(staging, 'complete'), '');
  try {
    renameSync(staging, dir);
  } catch {
    // Another run finished first (or a stale incomplete folder is in the way): keep a whole one.
    if (existsSync(join(dir, 'complete'))) rmSync(staging, { recursive: true, force: true });
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(staging, dir);
    }
  }
}
process.stdout.write(`${JSON.stringify(result())}\n`);
