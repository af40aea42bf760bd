#!/usr/bin/env node
'use strict';
// The commserve-dr command. Only this outermost layer touches `process` (exit code, argv).
//
// It runs the build (dist/commserve-dr.js, made by bin/build.js through npm's `prepare`), which starts in a
// fraction of a second. It runs the TypeScript sources instead (compiled at every start by tsx: seconds)
// when there is no build, when a source file it was made from has changed since (an edited checkout:
// never run stale code; bin/stale-build.js), or when COMMSERVE_DR_FROM_SOURCES is set (the tests set it).
const path = require('node:path');
const root = path.join(__dirname, '..');
// Node 20 is supported by the pinned AWS SDK; its notice about future SDK releases is for developers, not operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const BUILT = path.join(root, 'dist', 'commserve-dr.js');

const stale = process.env.COMMSERVE_DR_FROM_SOURCES ? 'sources requested' : require('./stale-build').staleBuild(root);
if (stale === null) {
  // Stack traces (printed with --verbose) then name the TypeScript file and line.
  if (process.argv.includes('--verbose') || process.argv.includes('-v')) process.setSourceMapsEnabled(true);
  require(BUILT);
} else {
  if (stale !== 'missing' && stale !== 'sources requested') {
    process.stderr.write(`commserve-dr: running the sources, not the build in dist/ (${stale}); \`npm run build\` makes start-up fast again\n`);
  }
  process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.json');
  require('tsx/cjs/api').register();
  require(path.join(root, 'agent', 'main.ts'));
}
