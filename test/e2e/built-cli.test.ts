/**
 * The built command (bin/build.js → one bundle, what `npm start` and the `commserve-dr` bin run after
 * `npm ci`): built here from the current sources into a private directory (so neither a stale nor a
 * missing dist/ can decide the outcome), then run in child processes. Checks what each command loads,
 * not how long it takes: `--help` requires no npm package at all (commander and zod are bundled), the
 * local-only commands never load the AWS SDK, SQLite or mssql, and a whole FULL job through the bundle
 * works (its lazily bound packages load when used).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BackupType, setName } from '#core/set-id';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');
const PRELOAD = join(ROOT, 'test', 'support', 'loaded-packages.js');
// Beside dist/ (one level under the project, git-ignored): the bundle finds node_modules and the
// project files it reads (package.json, lambdas/ for the local state machine) as dist/ does.
const OUTDIR = join(ROOT, `dist-test-${process.pid}`);
const HEAVY = /^(@aws-sdk\/|@smithy\/|mssql$|tedious$|better-sqlite3$|pino|aws-cdk-lib$|aws-local-stepfunctions$)/;

function runBuilt(cwd: string, args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  delete env.COMMSERVE_DR_FROM_SOURCES;
  const result = spawnSync(process.execPath, ['-r', PRELOAD, join(OUTDIR, 'commserve-dr.js'), ...args], { cwd, env, encoding: 'utf8', timeout: 180_000 });
  const marker = /\nLOADED-PACKAGES (.*)\n$/.exec(result.stderr);
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: marker ? result.stderr.slice(0, marker.index) : result.stderr,
    loaded: marker ? (JSON.parse(marker[1]) as string[]) : null,
  };
}

describe('the built CLI (bin/build.js bundle)', () => {
  const tempDir = useTempDirs();
  const moto = useMoto();

  beforeAll(async () => {
    const { build } = require('../../bin/build.js') as { build: (o: { outdir: string }) => Promise<string[]> };
    mkdirSync(OUTDIR, { recursive: true });
    await build({ outdir: OUTDIR });
  }, 120_000);
  afterAll(() => rmSync(OUTDIR, { recursive: true, force: true }));

  it('--help prints the commands and requires no npm package (no AWS SDK, SQLite, mssql or pino)', () => {
    const run = runBuilt(tempDir(), ['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: commserve-dr/);
    for (const command of ['start', 'backup', 'sets', 'recover', 'verify', 'prune', 'config']) expect(run.stdout).toMatch(new RegExp(`\\n  ${command} `));
    expect(run.loaded).toEqual([]);
  });

  it('--version reads the version from package.json above the bundle', () => {
    const run = runBuilt(tempDir(), ['--version', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ name: 'commserve-dr', version: (require('../../package.json') as { version: string }).version });
  });

  it('sets --local-only and config answer without loading the AWS SDK, SQLite or mssql', () => {
    const cwd = tempDir();
    const sets = runBuilt(cwd, ['sets', '--local-only', '--json']);
    expect(sets.code).toBe(0);
    expect(JSON.parse(sets.stdout)).toMatchObject({ cycles: [], newestRestorablePoint: null, hotSiteUnavailable: 'not looked at (--local-only)' });
    expect(sets.loaded!.filter((p) => HEAVY.test(p))).toEqual([]);

    const config = runBuilt(cwd, ['config', '--json']);
    expect(config.code).toBe(0);
    expect(JSON.parse(config.stdout).settings.RetainCycles).toEqual(expect.any(Number));
    expect(config.loaded!.filter((p) => HEAVY.test(p))).toEqual([]);
  });

  it('a usage error is one line and exit code 2, as from the sources', () => {
    const run = runBuilt(tempDir(), ['sets', '--no-such-option']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error: unknown option '--no-such-option'/);
  });

  it('runs a FULL DR job end to end (the AWS SDK, SQLite and the local state machine load when used)', () => {
    const cwd = tempDir();
    const run = runBuilt(cwd, ['start', '--type', 'full', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint(), '--json']);
    const out = JSON.parse(run.stdout) as { record: { jobId: number; status: string; backupType: string; setName: string; phase2: string; events: { level: string; message: string }[] } };
    expect(out.record.events.filter((e) => e.level !== 'info')).toEqual([]);
    expect(run.code).toBe(0);
    expect(out.record).toMatchObject({ jobId: 1, status: 'Completed', backupType: BackupType.Full, setName: setName(1), phase2: 'archived' });
    expect(run.loaded).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', 'better-sqlite3', 'aws-local-stepfunctions']));
  });
});
