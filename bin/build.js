#!/usr/bin/env node
'use strict';
/**
 * Compiles the agent once, so the `commserve-dr` command starts without compiling TypeScript (npm's
 * `prepare` runs this during `npm ci` / `npm install`; `npm run build` runs it by hand).
 *
 * esbuild bundles agent/main.ts and the project modules it imports into `dist/commserve-dr.js`
 * (CommonJS, Node 20, with a source map). npm packages stay external (required from node_modules).
 * Start-up stays short in three ways:
 * - agent/cli.ts requires each command's modules inside that command, so `--help` runs only commander;
 * - the heavy packages in `LAZY_PACKAGES` (the AWS SDK, SQLite, mssql, pino, …) are bound through a small
 *   stand-in whose exports are getters: the package is required the first time one of its exports is
 *   used, not when a module importing it is initialised. So `sets --local-only` (which imports modules
 *   that also talk to S3) never loads the SDK. The stand-in's export names are the package's own, read at
 *   build time; a package whose import runs a needed side effect must not be in the list;
 * - the two packages every command loads (commander, zod) are bundled in: one file to compile, not ~100.
 *
 * Next to the bundle goes `<name>.inputs.json` (the source files it was built from, with their SHA-256):
 * bin/commserve-dr.js runs the sources instead of a bundle when one of them is newer and its content changed.
 *
 * Usage: node bin/build.js [--outdir DIR]   (default: dist/)
 */
const path = require('node:path');
const fs = require('node:fs');

const ROOT = path.join(__dirname, '..');

/** Packages every command needs, bundled in (one file to load instead of ~100: zod alone is 95 modules). */
const BUNDLED_PACKAGES = /^(zod|commander)(\/|$)/;

/** Packages bound lazily (see above): their exports are only looked up when used, never run at import. */
const LAZY_PACKAGES = /^(@aws-sdk\/[^/]+|@smithy\/[^/]+|mssql|better-sqlite3|pino|pino-pretty|cli-progress|proper-lockfile|https?-proxy-agent)$/;

/**
 * esbuild plugin: resolves the packages in `LAZY_PACKAGES` to a CommonJS stand-in that requires the real
 * package on first access to any export (`default` included, as esbuild's own interop would give it).
 */
function lazyPackages() {
  const NS = 'commserve-dr-lazy-package';
  return {
    name: 'lazy-packages',
    setup(b) {
      b.onResolve({ filter: /^[@a-z]/ }, (args) => {
        if (args.namespace === NS) return { path: args.path, external: true }; // the stand-in's own require
        if (BUNDLED_PACKAGES.test(args.path) || args.importer.includes('/node_modules/')) return undefined; // esbuild bundles it (ESM, tree-shaken)
        if (!LAZY_PACKAGES.test(args.path)) return { path: args.path, external: true };
        return { path: args.path, namespace: NS };
      });
      b.onLoad({ filter: /.*/, namespace: NS }, (args) => {
        const names = Object.getOwnPropertyNames(require(require.resolve(args.path, { paths: [ROOT] }))).filter(
          (n) => n !== 'default' && n !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(n),
        );
        const contents = [
          `let loaded;`,
          `const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
          `Object.defineProperty(exports, '__esModule', { value: true });`,
          `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
          `Object.defineProperty(exports, 'default', { enumerable: true, get: () => (load().__esModule ? load().default : load()) });`,
        ].join('\n');
        return { contents, loader: 'js', resolveDir: ROOT };
      });
    },
  };
}

/** The command's bundle: name → entry point (relative to the project root). */
const CLI_ENTRIES = { 'commserve-dr': 'agent/main.ts' };

/**
 * Bundles each entry into `<outdir>/<name>.js` and writes `<outdir>/<name>.inputs.json`.
 * @param {{ outdir?: string, entries?: Record<string, string> }} [options] `outdir` absolute or relative
 *   to the project root (default `dist`); `entries` name → entry file (default: the CLI).
 * @returns {Promise<string[]>} the bundles written (absolute paths).
 * @throws when esbuild reports an error (its message names the file and line).
 */
async function build(options = {}) {
  const esbuild = require('esbuild');
  const outdir = path.resolve(ROOT, options.outdir ?? 'dist');
  const entries = options.entries ?? CLI_ENTRIES;
  fs.mkdirSync(outdir, { recursive: true });
  const written = [];
  for (const [name, entry] of Object.entries(entries)) {
    const outfile = path.join(outdir, `${name}.js`);
    const result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [path.resolve(ROOT, entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      tsconfig: path.join(ROOT, 'tsconfig.json'),
      sourcemap: true,
      metafile: true,
      plugins: [lazyPackages()],
      logLevel: 'warning',
      // `require.resolve('better-sqlite3')` (handed to the integrity worker) is meant to stay a run-time lookup.
      logOverride: { 'require-resolve-not-external': 'silent' },
    });
    const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.startsWith('node_modules/') && !f.includes(':')).sort();
    // SHA-256 of each input: an installed package (npm gives every extracted file the time of the install) is then
    // recognised as current by content, not by modification times.
    const sha256 = Object.fromEntries(inputs.map((f) => [f, require('node:crypto').createHash('sha256').update(fs.readFileSync(path.join(ROOT, f))).digest('hex')]));
    fs.writeFileSync(path.join(outdir, `${name}.inputs.json`), `${JSON.stringify({ entry, inputs, sha256 }, null, 2)}\n`);
    written.push(outfile);
  }
  return written;
}

module.exports = { build, CLI_ENTRIES };

if (require.main === module) {
  const at = process.argv.indexOf('--outdir');
  build(at > 0 ? { outdir: process.argv[at + 1] } : {}).then(
    (files) => process.stdout.write(`built ${files.map((f) => path.relative(process.cwd(), f)).join(', ')}\n`),
    (error) => {
      process.stderr.write(`build failed: ${error.message}\n`);
      process.exitCode = 1;
    },
  );
}
