/**
 * SIGINT/SIGTERM say what happened, in the command's terms, and leave nothing behind (issue 19): a job interrupted
 * before phase 1 says so (no "unfinished SET was removed") and stops the moto server it was starting; an interrupted
 * recovery removes its staging directory and says so; the next `npm start` counts the rows an interrupted run changed.
 * Real CLI processes, real SQLite, moto.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setName } from '#core/set-id';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'commserve-dr.js');
const BUCKET = 'commserve-dr-hot-site';
/** Environment variable marking the processes of one test run (the CLI and whatever it starts). */
const MARK = 'CSDR_INTERRUPT_TEST_MARK';

/** Pids of live processes whose environment holds `MARK=<mark>` (read from /proc), with their command lines. */
function markedProcesses(mark: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(`${MARK}=${mark}`)) {
        found.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0').join(' ') });
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
const markedPids = (mark: string) => markedProcesses(mark).map((p) => p.pid);

async function until(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs the CLI; `stderr()` is what it wrote so far, `exit` its exit code. */
function launch(cwd: string, args: string[], mark = randomUUID()): { child: ChildProcess; stderr: () => string; stdout: () => string; exit: Promise<number | null>; mark: string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: 'true', [MARK]: mark } });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, stderr: () => err, stdout: () => out, exit, mark };
}

/** The lines the CLI itself wrote (not the log). */
const cliLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('commserve-dr:'));

describe('interruptions say what happened and leave nothing behind (real CLI, SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs('commserve-dr-interrupt-');

  it('SIGTERM while start is still starting its moto server: "before phase 1", exit 143, moto stopped, nothing written', async () => {
    const cwd = tempDir();
    // No endpoint: `start` runs a moto server of its own.
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET } }));
    const run = launch(cwd, ['start', '--sample-size-mb', '2']);
    // moto has been spawned (a process of this run other than the CLI): interrupt now, before it answers.
    await until('the moto server of the run', () => markedProcesses(run.mark).some((p) => p.pid !== run.child.pid && /moto.* -H 127\.0\.0\.1 -p \d+/.test(p.cmdline)));
    expect(run.stderr()).not.toMatch(/creating the sample CommServe/);
    run.child.kill('SIGTERM');
    expect(await run.exit).toBe(143);
    expect(cliLines(run.stderr())).toEqual([
      'commserve-dr: interrupted (SIGTERM): the job did not complete: it stopped before phase 1 (no job id taken, no SET of this job started; upkeep of earlier SETs that ran first, such as a hot-site re-fill, stays done); the next job starts cleanly',
    ]);
    // The moto server it was starting does not outlive it.
    await until('the moto server to end', () => markedPids(run.mark).length === 0, 10_000);
    expect(existsSync(join(cwd, '.commserve-dr', 'dr-backups'))).toBe(false);
    expect(existsSync(join(cwd, '.commserve-dr', 'state', 'phase1.lock'))).toBe(false);
    expect(existsSync(join(cwd, '.commserve-dr', 'state', 'last-job-id'))).toBe(false);
  }, 120_000);

  it('an interrupted recovery removes its staging directory and says so; the next npm start counts the rows an interrupted run changed', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() } }));
    const first = launch(cwd, ['start', '--sample-size-mb', '12', '--json']);
    expect(await first.exit).toBe(0);
    expect(JSON.parse(first.stdout()).record).toMatchObject({ setName: setName(1), status: 'Completed' });

    // 1. recover, interrupted while its staging directory exists (download or rebuild under way).
    const to = join(tempDir(), 'recovered');
    const staging = join(to, '.commserve-dr-staging');
    const recovery = launch(cwd, ['recover', '--to', to]);
    await until('the recovery staging directory', () => existsSync(staging));
    recovery.child.kill('SIGINT');
    expect(await recovery.exit).toBe(130);
    const lines = cliLines(recovery.stderr());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^commserve-dr: interrupted \\(SIGINT\\): recovery into ${to} interrupted: The target (was not changed|is as it was: .*)\\. Its staging directory ${staging} was removed\\.$`));
    expect(existsSync(staging)).toBe(false);
    expect(existsSync(to) ? readdirSync(to) : []).toEqual([]);

    // 2. A start interrupted after the sample changed, before its SET was committed.
    const interrupted = launch(cwd, ['start', '--type', 'full']);
    await until('the sample activity line', () => /the sample CommServe changed (\d+) rows since the last DR backup/.test(interrupted.stderr()));
    interrupted.child.kill('SIGINT');
    expect(await interrupted.exit).toBe(130);
    const changedThen = Number(/the sample CommServe changed (\d+) rows/.exec(interrupted.stderr())![1]);
    expect(cliLines(interrupted.stderr())).toEqual([expect.stringMatching(/^commserve-dr: interrupted \(SIGINT\): the job did not complete: .*; the next job starts cleanly$/)]);
    expect(readdirSync(join(cwd, '.commserve-dr', 'dr-backups')).filter((n) => n.startsWith('SET_'))).toEqual([setName(1)]);

    // 3. The next start reports this run's rows and the interrupted run's: both are in the DIFFERENTIAL it takes
    //    (the operator's line for it: test/integration/agent/sample-activity.test.ts).
    const next = launch(cwd, ['start', '--json']);
    expect(await next.exit).toBe(0);
    const out = JSON.parse(next.stdout()) as { sampleRowsChanged: number; sampleActivity: { thisRun: number; rowsChanged: number; runs: number; lastSet: string } };
    expect(out.sampleActivity).toMatchObject({ lastSet: setName(1), runs: 2, rowsChanged: changedThen + out.sampleActivity.thisRun });
    expect(out.sampleRowsChanged).toBe(changedThen + out.sampleActivity.thisRun);
  }, 300_000);
});
