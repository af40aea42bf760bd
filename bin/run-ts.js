#!/usr/bin/env node
'use strict';
// Runs a TypeScript entry point of this project (used by cdk.json and the CLI shim):
// registers tsx with the project's tsconfig (for the #core/#agent/... path aliases), then loads the file.
const path = require('node:path');
const root = path.join(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.json');
// Node 20 is supported by the pinned AWS SDK; its notice about future SDK releases is for developers, not runs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: run-ts.js <file.ts> [args…]\n');
  process.exitCode = 2;
} else {
  process.argv.splice(2, 1);
  require(path.resolve(entry));
}
