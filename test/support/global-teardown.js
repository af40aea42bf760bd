'use strict';
/** Jest global teardown: stops the moto servers started by global setup. */
module.exports = async function globalTeardown() {
  await Promise.all((globalThis.__MOTO_SERVERS__ || []).map((server) => server.stop()));
};
