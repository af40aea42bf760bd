#!/usr/bin/env node
'use strict';
// The commserve-dr command. Only this outermost layer touches `process` (exit code, argv).
const path = require('node:path');
const root = path.join(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.json');
require('tsx/cjs/api').register();
require(path.join(root, 'agent', 'main.ts'));
