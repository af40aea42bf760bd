'use strict';
/**
 * Preload (`node -r`) for tests of the built CLI: when the process exits, writes one stderr line
 * `LOADED-PACKAGES <json array>` naming every npm package it required (from `require.cache`).
 */
process.on('exit', () => {
  const packages = new Set();
  for (const file of Object.keys(require.cache)) {
    const match = /node_modules[\\/]((?:@[^\\/]+[\\/])?[^\\/]+)/.exec(file);
    if (match) packages.add(match[1].replace('\\', '/'));
  }
  process.stderr.write(`\nLOADED-PACKAGES ${JSON.stringify([...packages].sort())}\n`);
});
