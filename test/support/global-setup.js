'use strict';
/**
 * Jest global setup: one moto server per jest worker (so tests in parallel workers never reset
 * each other's state), shared by every test file that worker runs. Each test resets its worker's
 * server (see `test/support/moto.ts`). Jest's module mapper does not apply here, so the launcher is
 * loaded through tsx (which reads the tsconfig path aliases).
 */
const path = require('node:path');

module.exports = async function globalSetup(config) {
  process.env.TSX_TSCONFIG_PATH = path.join(__dirname, '..', '..', 'tsconfig.json');
  const tsx = require('tsx/cjs/api').register({ namespace: 'commserve-dr-test-setup' });
  const { startMotoServer } = tsx.require('../../agent/local/moto-server.ts', __filename);
  const count = Math.max(1, config.maxWorkers || 1);
  const servers = await Promise.all(Array.from({ length: count }, () => startMotoServer()));
  globalThis.__MOTO_SERVERS__ = servers;
  process.env.COMMSERVE_DR_TEST_MOTO = JSON.stringify(servers.map((s) => s.endpoint));
};
