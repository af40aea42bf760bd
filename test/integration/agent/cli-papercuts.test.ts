/**
 * Operator papercuts of the command line (issue 19), through the real CLI in-process (`exec`): the version,
 * global options in every command's help, SET names as typed, settings from the environment checked like
 * the config file's keys, `--json` error documents, the interruption message per command, and `prune`'s
 * confirmation on a terminal (the terminal injected through `CliIo.isTTY` / `prompt`).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { loadConfig } from '#agent/config';
import { closestName } from '#agent/config-env';
import { interruptedCommand, interruptMessage, setInterruptedCommand } from '#agent/shutdown';
import { AGENT_VERSION } from '#agent/version';
import { canonicalSetName, setName } from '#core/set-id';
import { capture } from '../../support/cli';
import { useTempDirs } from '../../support/tmp';
import { BUCKET, createBucket, makeSet } from '../lambdas/fixtures';
import { motoS3Client, useMoto } from '../../support/moto';

const tempDir = useTempDirs();

async function run(args: string[], extra: { cwd?: string; isTTY?: boolean; answers?: string[] } = {}) {
  const io = capture(extra.cwd ?? tempDir());
  const questions: string[] = [];
  const answers = [...(extra.answers ?? [])];
  const code = await exec(args, { ...io, isTTY: extra.isTTY, prompt: async (q) => (questions.push(q), answers.shift() ?? '') });
  return { code, out: io.out(), err: io.err(), questions };
}

/** Sets environment variables for one test body, restoring them after. */
async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('--version and global options in help', () => {
  it('--version prints the name and version; with --json a document with "version"', async () => {
    expect(await run(['--version'])).toMatchObject({ code: 0, out: `commserve-dr ${AGENT_VERSION}\n` });
    const json = await run(['--json', '--version']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.out)).toEqual({ name: 'commserve-dr', version: '0.1.0' });
  });

  it.each(['fetch', 'prune', 'recover', 'verify', 'start'])('%s --help lists the global --json, --config and -v', async (command) => {
    const { code, out } = await run([command, '--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/Global Options:\n/);
    const global = out.slice(out.indexOf('Global Options:'));
    expect(global).toMatch(/--config <file> +settings file/);
    expect(global).toMatch(/--json +print one JSON document on stdout/);
    expect(global).toMatch(/-v, --verbose +more detail in the logs/);
  });
});

describe('SET names as typed by an operator', () => {
  it('SET_7, SET_0000007, SET_0000007, set_0007 all mean the canonical name of job 7; other forms are refused', () => {
    for (const typed of ['SET_7', 'SET_007', 'SET_0000007', 'set_0007', ' SET_07 ']) expect(canonicalSetName(typed)).toBe(setName(7));
    expect(canonicalSetName('SET_1234')).toBe(setName(1234));
    for (const bad of ['SET_', 'SET_0', '7', 'SET-7', 'SET_7a', `SET_${'9'.repeat(21)}`]) expect(canonicalSetName(bad)).toBeUndefined();
  });

  it('a malformed SET argument is a usage error (exit 2) that says the accepted form; with --json a JSON error document', async () => {
    const { code, out, err } = await run(['--json', 'fetch', 'SET-7', '--to', 'x']);
    expect(code).toBe(2);
    expect(err).toContain("command-argument value 'SET-7' is invalid for argument 'SET_n'. expected a SET name SET_<job id>, with any zero-padding (SET_7, SET_007)");
    // fetch's own document, every key present, as recover --json (newcomer review finding 8).
    expect(JSON.parse(out)).toEqual({
      command: 'fetch',
      status: 'failed',
      setName: 'SET-7',
      directory: null,
      plan: null,
      files: [],
      pending: [],
      warnings: [],
      error: { code: 'USAGE', message: "command-argument value 'SET-7' is invalid for argument 'SET_n'. expected a SET name SET_<job id>, with any zero-padding (SET_7, SET_007)" },
      durationMs: 0,
      exitCode: 2,
    });
  });

  describe('against a hot-site (moto)', () => {
    const moto = useMoto();
    it('fetch SET_7 reaches the command as the canonical name (an unknown SET, named SET_0000007 in the error)', async () => {
      await createBucket(motoS3Client());
      const cwd = tempDir();
      writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() } }));
      const { code, out } = await run(['--json', 'fetch', 'SET_7', '--to', join(cwd, 'f')], { cwd });
      expect(code).toBe(2);
      const document = JSON.parse(out) as { error: { message: string } };
      expect(document.error.message).toContain(setName(7));
      expect(document.error.message).not.toMatch(/\bSET_7\b/);
    });
  });
});

describe('settings from COMMSERVE_DR_<Name> environment variables', () => {
  it('an unknown name is an error that suggests the setting (any case or a typo), exit 2', async () => {
    const { code, err, out } = await withEnv({ COMMSERVE_DR_Retaincycles: '3', COMMSERVE_DR_LocalDiferentialsPerCycle: '2' }, () => run(['--json', 'config']));
    expect(code).toBe(2);
    expect(err).toContain('environment variable COMMSERVE_DR_Retaincycles names no setting (did you mean COMMSERVE_DR_RetainCycles?)');
    expect(err).toContain('environment variable COMMSERVE_DR_LocalDiferentialsPerCycle names no setting (did you mean COMMSERVE_DR_LocalDifferentialsPerCycle?)');
    expect(JSON.parse(out)).toMatchObject({ error: { code: 'CONFIG_INVALID' }, exitCode: 2 });
  });

  it('invalid JSON in a variable names the variable and says "invalid JSON"', () => {
    expect(() => loadConfig(undefined, tempDir(), { COMMSERVE_DR_HotSite: '{"bucket": "b",}' })).toThrow(/environment variable COMMSERVE_DR_HotSite holds invalid JSON: /);
  });

  it("the product's other variables (capitals: fault injection, the DB password, tests) stay allowed; real settings still apply", () => {
    const loaded = loadConfig(undefined, tempDir(), {
      COMMSERVE_DR_FAULT_KILL_AT: 'after-manifest',
      COMMSERVE_DR_DB_PASSWORD: 'x',
      COMMSERVE_DR_TEST_MOTO: '[]',
      COMMSERVE_DR_REPORT_ARTIFACTS: '/tmp/a',
      COMMSERVE_DR_RetainCycles: '7',
    });
    expect(loaded.settings.RetainCycles).toBe(7);
    expect(loaded.sources.RetainCycles).toBe('environment');
  });

  it('closestName: same name in another case first, else the nearest within a third of its length, else none', () => {
    expect(closestName('retaincycles', ['RetainCycles', 'ArchiveRetainCycles'])).toBe('RetainCycles');
    expect(closestName('RetainCycle', ['RetainCycles', 'ArchiveRetainCycles'])).toBe('RetainCycles');
    expect(closestName('Bucket', ['RetainCycles', 'HotSite'])).toBeUndefined();
  });
});

describe('--json error documents', () => {
  it('an unknown command or option with --json: the JSON error document on stdout, the line on stderr, exit 2', async () => {
    const unknown = await run(['--json', 'bogus']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.out)).toEqual({ error: { code: 'USAGE', message: "unknown command 'bogus'" }, exitCode: 2 });
    expect(unknown.err).toContain("error: unknown command 'bogus'");
    const option = await run(['sets', '--json', '--no-such-flag']);
    expect(JSON.parse(option.out)).toEqual({ error: { code: 'USAGE', message: "unknown option '--no-such-flag'" }, exitCode: 2 });
  });

  it('without --json nothing goes to stdout', async () => {
    const { code, out } = await run(['bogus']);
    expect([code, out]).toEqual([2, '']);
  });
});

describe('the interruption message fits the command', () => {
  it('the CLI records the command before its action runs (registry parse by its full name)', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'a.reg'), 'REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n"a"="b"\r\n', 'latin1');
    setInterruptedCommand(undefined);
    await run(['registry', 'parse', 'a.reg'], { cwd });
    expect(interruptedCommand()).toBe('registry parse');
    await run(['--version']);
    expect(interruptedCommand()).toBe('registry parse'); // --version runs no action
  });

  it('only start and backup speak of a job and a SET; interrupted before phase 1 they say so, not that a SET was removed', () => {
    for (const job of ['start', 'backup']) {
      expect(interruptMessage(job, [])).toBe(
        'the job did not complete: it stopped before phase 1 (no job id taken, no SET of this job started; upkeep of earlier SETs that ran first, such as a hot-site re-fill, stays done); the next job starts cleanly',
      );
    }
    setInterruptedCommand(undefined); // none recorded: interrupted before the CLI parsed its arguments
    for (const other of ['recover', 'fetch', 'verify', 'prune', 'registry parse', 'sets', 'history', 'config', 'report', 'sample-db', undefined]) {
      expect(interruptMessage(other, [])).not.toMatch(/\bjob\b|unfinished SET|SET_/);
    }
    expect(interruptMessage(undefined, [])).toBe('the command stopped before it started; nothing was changed');
    expect(interruptMessage('recover', [])).toBe('the recovery stopped before it changed anything in the recovery directory; run it again');
    expect(interruptMessage('verify', [])).toBe('the verification did not complete (a result is recorded only when it does); nothing at the hot-site was changed');
    expect(interruptMessage('prune', [])).toBe('prune stopped: SETs already deleted stay deleted, the others are kept; run prune again (or prune --dry-run to see the plan)');
    expect(interruptMessage('registry parse', [])).toBe('registry parse stopped; it changes nothing');
  });

  it('what the clean-ups did is what the line says (one line, in the order they ran)', () => {
    const removed = `the unfinished ${setName(7)} was removed from /srv/dr`;
    const recorded = 'job 7 is recorded as Killed (interrupted during dump); no SET of this job was committed';
    expect(interruptMessage('start', [removed, recorded])).toBe(`the job did not complete: ${removed}; ${recorded}; the next job starts cleanly`);
    const staging = 'recovery into /r interrupted: The target was not changed. Its staging directory /r/.commserve-dr-staging was removed.';
    expect(interruptMessage('recover', [staging])).toBe(staging);
  });
});

describe('prune asks on a terminal before deleting (local-only phase-1 destination: 5 FULL cycles, RetainCycles 2)', () => {
  function arrange(): { cwd: string; dest: string } {
    const cwd = tempDir();
    const dest = join(cwd, 'dr');
    const DAY = 86_400_000;
    for (let id = 1; id <= 5; id++) {
      const end = new Date(Date.UTC(2026, 10, 20) + id * DAY).toISOString();
      const set = makeSet(id, [{ name: 'commserv_FULL.dmp', role: 'database', content: Buffer.from(`dump ${id}`) }], { endTime: end, startTime: end });
      const dir = join(dest, setName(id));
      mkdirSync(dir, { recursive: true });
      for (const f of set.files) writeFileSync(join(dir, f.name), f.content);
      writeFileSync(join(dir, 'manifest.json'), set.manifest);
    }
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ RetainCycles: 2, Phase1Destination: dest, StateDirectory: join(cwd, 'state') }));
    return { cwd, dest };
  }

  it('on a terminal: shows the plan, asks, and deletes nothing when the answer is not yes', async () => {
    const { cwd, dest } = arrange();
    const { code, out, questions } = await run(['prune', '--local-only'], { cwd, isTTY: true, answers: ['n'] });
    expect(code).toBe(0);
    expect(out).toMatch(/Retention plan \(dry run: nothing deleted\)/);
    expect(out).toMatch(/SET_0000001 .* EXPIRE /);
    expect(questions).toEqual(['Delete the 2 SET copies marked EXPIRE (and their phase-1 folders)? [y/N] ']);
    expect(out).toMatch(/Nothing deleted \(not confirmed\)\.\n$/);
    expect(readdirSync(dest).sort()).toEqual(['SET_0000001', 'SET_0000002', 'SET_0000003', 'SET_0000004', 'SET_0000005']);
  });

  it('on a terminal, answered y: deletes what the plan expired', async () => {
    const { cwd, dest } = arrange();
    const { code, out, questions } = await run(['prune', '--local-only'], { cwd, isTTY: true, answers: ['y'] });
    expect(code).toBe(0);
    expect(questions).toHaveLength(1);
    expect(out).toMatch(/Phase-1 destination: 2 SET folder\(s\) removed \(SET_0000001, SET_0000002\)/);
    expect(readdirSync(dest).filter((n) => n.startsWith('SET_')).sort()).toEqual(['SET_0000003', 'SET_0000004', 'SET_0000005']);
  });

  it('--yes on a terminal, and no terminal at all: no question, prune proceeds as before', async () => {
    for (const extra of [{ args: ['--yes'], isTTY: true }, { args: [], isTTY: false }]) {
      const { cwd, dest } = arrange();
      const { code, questions } = await run(['prune', '--local-only', ...extra.args], { cwd, isTTY: extra.isTTY });
      expect(code).toBe(0);
      expect(questions).toEqual([]);
      expect(existsSync(join(dest, 'SET_0000001'))).toBe(false);
      expect(existsSync(join(dest, 'SET_0000005'))).toBe(true);
    }
  });
});
