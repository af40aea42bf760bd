#!/usr/bin/env node
'use strict';
// The commserve-dr command. Only this outermost layer touches `process` (exit code, argv).
const path = require('node:path');
const root = path.join(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = process.env.TSX_TSCONFIG_PATH || path.join(root, 'tsconfig.json');
// Node 20 is supported by the pinned AWS SDK; its notice about future SDK releases is for developers, not operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
require(path.join(root, 'agent', 'main.ts'));
