/**
 * What each command prints, as snapshots with placeholders for what changes between runs (paths, times,
 * durations, sizes, ports), and the SPEC §11 exit codes — the CLI in-process, real SQLite, real moto.
 * A deliberate change of output updates the snapshot (`npx jest -u`) and shows up in review.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { capture } from '../support/cli';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

/** Replaces what differs from run to run with placeholders. */
function normalize(text: string, cwd: string, endpoint: string): string {
  return text
    .split(cwd).join('<cwd>')
    .split(endpoint).join('<endpoint>')
    .replace(/\/tmp\/[A-Za-z0-9._-]+/g, '<tmp>')
    .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?( UTC)?/g, '<time>')
    .replace(/\d{4}-\d{2}-\d{2}/g, '<date>')
    .replace(/\b\d+(\.\d+)? (ms|s)\b|\b\d+ min \d+ s\b/g, '<duration>')
    .replace(/\b\d+(\.\d+)? (B|KiB|MiB|GiB)\b/g, '<size>')
    .replace(/\b\d+ rows\b/g, '<n> rows')
    .replace(/RPO: \d+ (min|h \d+ min|s)/g, 'RPO: <age>')
    // Column padding depends on the width of the values replaced.
    .replace(/ +<(duration|size)> +/g, ' <$1> ')
    .replace(/ +<(duration|size)>$/gm, ' <$1>')
    .replace(/[ \t]+$/gm, '');
}

const COMMANDS = ['start', 'backup', 'sets', 'history', 'prune', 'recover', 'fetch', 'verify', 'report', 'config', 'sample-db', 'registry'];

describe('command output (snapshots with placeholders) and exit codes', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it.each(COMMANDS)('`%s --help` describes the command, with examples', async (command) => {
    const io = capture(tempDir());
    expect(await exec([command, '--help'], io)).toBe(0);
    expect(io.out()).toMatch(command === 'registry' ? /parse/ : /Example/);
    expect(io.out()).toMatchSnapshot();
  });

  it('prints the job summary, sets, history, prune plan and report summary people read', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    const run = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: normalize(io.out(), cwd, moto.endpoint()), err: normalize(io.err(), cwd, moto.endpoint()) };
    };
    const first = await run(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()]);
    expect(first.code).toBe(0);
    expect(first.out).toMatchSnapshot('start (FULL)');
    expect(first.err).toMatchSnapshot('start (FULL) status lines');
    const second = await run(['start', '--s3-endpoint', moto.endpoint()]);
    expect(second.code).toBe(0);
    expect(second.out).toMatchSnapshot('start (DIFFERENTIAL)');
    for (const args of [['sets'], ['history'], ['prune', '--dry-run']]) {
      const result = await run(args);
      expect(result.code).toBe(0);
      expect(result.out).toMatchSnapshot(args.join(' '));
    }
    const report = await run(['report', '--html', join(cwd, 'r.html')]);
    expect(report.code).toBe(0);
    expect(report.out).toMatchSnapshot('report');
  });

  it('uses the SPEC §11 exit codes: 0, 1, 2 and 3', async () => {
    const cwd = tempDir();
    const code = async (args: string[], config?: object) => {
      if (config) writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify(config));
      return exec(args, capture(cwd));
    };
    expect(await code(['config'])).toBe(0);
    expect(await code(['no-such-command'])).toBe(2);
    expect(await code(['start', '--type', 'weekly'])).toBe(2);
    expect(await code(['config'], { RetainCycles: -1 })).toBe(2);
    expect(await code(['start', '--s3-endpoint', moto.endpoint()], { Database: { engine: 'sqlite', path: 'missing.db' } })).toBe(1);
    // An unwritable destination: the job completes with one or more errors.
    writeFileSync(join(cwd, 'blocker'), 'not a directory');
    expect(
      await code(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()], {
        Phase1Destination: 'blocker/dr',
        DestinationRetryCount: 1,
        DestinationRetryIntervalSeconds: 0,
      }),
    ).toBe(3);
  });
});
