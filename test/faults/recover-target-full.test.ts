/**
 * A full recovery target (disk full, ENOSPC — a 1 MiB tmpfs, as the fault suite simulates a full disk) is reported as
 * the target's problem: the message names the target directory, the file being written and the reason, says the copies
 * were not at fault (none skipped, no fallback to another copy), and what became of the target — left as it was. Both
 * when the phase-1 destination serves the files (it was COPY_READ_FAILED against the local copy) and when the hot-site
 * does (it was HOTSITE_ERROR against the S3 object). In-process CLI, real SQLite, moto; mounting needs root.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { setName } from '#core/set-id';
import { capture } from '../support/cli';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';

describe('recover into a full target (1 MiB tmpfs): the target is named, not the copy', () => {
  const moto = useMoto();
  const tempDir = useTempDirs('commserve-dr-target-full-');

  /** A working directory with one FULL of a 3 MiB sample (phase-1 destination and hot-site), and the CLI runner. */
  async function workplace() {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    const cli = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };
    expect((await cli(['start', '--sample-size-mb', '3', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    return { cwd, cli, dest: join(cwd, '.commserve-dr', 'dr-backups') };
  }

  /** A 1 MiB tmpfs holding one file of the operator's; returns its path and the unmount. */
  function fullTarget(): { target: string; unmount: () => void } {
    const target = join(tempDir(), 'target');
    mkdirSync(target);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', target], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this fault needs a size-limited file system: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
    }
    writeFileSync(join(target, 'notes.txt'), 'the operator\'s notes');
    return { target, unmount: () => execFileSync('umount', ['-l', target], { stdio: 'pipe' }) };
  }

  it.each([
    ['the phase-1 destination serves the files (was COPY_READ_FAILED against the local copy)', false],
    ['the hot-site serves the files, the local SET gone (was HOTSITE_ERROR against the S3 object)', true],
  ])('%s: TARGET_WRITE_FAILED naming the target and ENOSPC, no copy skipped, the target left as it was, exit 1', async (_case, localGone) => {
    const w = await workplace();
    if (localGone) renameSync(join(w.dest, setName(1)), join(w.cwd, 'moved-away'));
    const { target, unmount } = fullTarget();
    try {
      const result = await w.cli(['recover', '--to', target, '--json']);
      const doc = JSON.parse(result.out);
      expect([result.code, doc.exitCode, doc.status, doc.error.code]).toEqual([1, 1, 'failed', 'TARGET_WRITE_FAILED']);
      const staging = join(target, '.commserve-dr-staging', setName(1));
      expect(doc.error.message).toMatch(
        new RegExp(`^the recovery target ${target} could not be written: cannot write ${staging}/\\S+: no space left on device \\(ENOSPC\\)`),
      );
      expect(doc.error.message).toContain('The copies read were not at fault (none was skipped for this). The target was not changed. Free space in');
      expect(doc.error.message).not.toMatch(/COPY_READ_FAILED|HOTSITE_ERROR|hot-site refused|reading .* failed/);
      // No fallback, no copy blamed: nothing skipped, no warning about a damaged copy.
      expect(doc.error.skipped).toBeUndefined();
      expect(doc.warnings.filter((x: string) => /skipped|damaged/.test(x))).toEqual([]);
      // The target as it was: the operator's file only, the staging directory removed, no report claiming a recovery.
      expect(readdirSync(target)).toEqual(['notes.txt']);
      expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('the operator\'s notes');
      const text = await w.cli(['recover', '--to', target]);
      expect(text.code).toBe(1);
      expect(text.out).toMatch(/^Recovery FAILED\nThe target was not changed\.\n/);
      expect(text.out).toContain(`Error: TARGET_WRITE_FAILED: the recovery target ${target} could not be written: `);
    } finally {
      unmount();
    }
  }, 180_000); // a job, then two recoveries: generous on a shared 2-core machine
});
