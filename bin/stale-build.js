'use strict';
/**
 * Whether the build in `<root>/dist/` may run (bin/commserve-dr.js): it is current unless a source file it was made
 * from (listed in `dist/commserve-dr.inputs.json` by bin/build.js, with its SHA-256) is gone, or is newer than the
 * build *and* has other content. Newer alone is not enough: npm gives every file of an installed package the time
 * of the install, sources and build alike.
 */
const path = require('node:path');
const fs = require('node:fs');
const { createHash } = require('node:crypto');

/**
 * @param {string} root the package root (holds dist/ and the sources).
 * @returns {string | null} why the build cannot be used — `missing`, `<file> is gone`, `<file> changed after it` —
 *   or null when it is current.
 */
function staleBuild(root) {
  let built;
  let inputs;
  let sha256;
  try {
    built = fs.statSync(path.join(root, 'dist', 'commserve-dr.js')).mtimeMs;
    ({ inputs, sha256 = {} } = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'commserve-dr.inputs.json'), 'utf8')));
  } catch {
    return 'missing';
  }
  for (const input of inputs) {
    let changed;
    try {
      changed = fs.statSync(path.join(root, input)).mtimeMs;
    } catch {
      return `${input} is gone`;
    }
    if (changed > built && !sameContent(path.join(root, input), sha256[input])) return `${input} changed after it`;
  }
  return null;
}

/** Whether `file` still has the SHA-256 recorded when the build was made (false without a record). */
function sameContent(file, recorded) {
  if (!recorded) return false;
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex') === recorded;
}

module.exports = { staleBuild };
