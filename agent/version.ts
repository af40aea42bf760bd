/** The agent's version, from package.json (recorded in every manifest). */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version in the project's package.json: the nearest one named commserve-dr above this module (the sources or the build in dist/). */
function projectVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'commserve-dr') return pkg.version;
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) throw new Error(`no commserve-dr package.json above ${__dirname}`);
  }
}

export const AGENT_VERSION: string = projectVersion();
