/**
 * File-system failures said in words and naming the path (issue 19): the errno-to-words module, and the places the
 * agent reports them — the phase-1 destination, the state directory (job counter), a recovery target, a registry
 * file — each tested with the real error from a real file system: a read-only tmpfs (EROFS), a full one (ENOSPC),
 * a file where a directory should be (ENOTDIR), a missing file (ENOENT). Mounting needs root, as the fault suite.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareDestination } from '#agent/commands/backup/destination';
import { assertWritableFilePath } from '#agent/commands/recover/target';
import { describeFsError, FS_ERROR_WORDS, fsFailure, makeDirectories } from '#agent/fs-errors';
import { readRegFile } from '#agent/registry/reg-format';
import { allocateJobId } from '#agent/state/job-ids';
import { useTempDirs } from '../../support/tmp';

/** Mounts a tmpfs at `dir` with `options`; returns the unmount. */
function mountTmpfs(dir: string, options: string): () => void {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    throw new Error(`this test needs tmpfs mounts: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
  }
  return () => execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
}

/** The error a synchronous file-system call throws. */
function caught(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('file-system errors in words, naming the path', () => {
  const tempDir = useTempDirs();

  it('describeFsError: the words and the code for real errors; unknown codes keep Node\'s words; non-fs errors their message', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    expect(describeFsError(caught(() => mkdirSync(join(dir, 'file', 'sub'))))).toBe('not a directory (ENOTDIR)');
    expect(describeFsError(caught(() => mkdirSync(dir)))).toBe('already exists (EEXIST)');
    expect(describeFsError(new Error('the share went away'))).toBe('the share went away');
    expect(describeFsError(Object.assign(new Error("EWHATEVER: something odd happened, open '/x'"), { code: 'EWHATEVER' }))).toBe('something odd happened (EWHATEVER)');
    expect(FS_ERROR_WORDS.EROFS).toBe('read-only file system');
    expect(FS_ERROR_WORDS.ENOSPC).toBe('no space left on device');
    expect(FS_ERROR_WORDS.EACCES).toBe('permission denied');
  });

  it('fsFailure names the path given, and the path of the failing call when it is another one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'file'), 'x');
    const error = caught(() => writeFileSync(join(dir, 'file', 'probe'), ''));
    expect(fsFailure('cannot write', dir, error)).toBe(`cannot write ${dir}: not a directory (ENOTDIR) (at ${join(dir, 'file', 'probe')})`);
    expect(fsFailure('cannot write', join(dir, 'file', 'probe'), error)).toBe(`cannot write ${join(dir, 'file', 'probe')}: not a directory (ENOTDIR)`);
  });

  describe('on a read-only file system (tmpfs mounted ro)', () => {
    let root: string;
    let unmount: () => void;
    beforeAll(() => {
      root = join(tempDir(), 'ro');
      unmount = mountTmpfs(root, 'ro,size=1m');
    });
    afterAll(() => unmount());

    it('the phase-1 destination: "cannot be written: read-only file system (EROFS)" with the path', async () => {
      const state = await prepareDestination(join(root, 'dr'), { attempts: 1, intervalMs: 0 });
      expect(state).toEqual({ writable: false, reason: `phase-1 destination ${join(root, 'dr')} cannot be written: read-only file system (EROFS)`, attempts: 1 });
    });

    it('the state directory: the job counter cannot be recorded, in words', () => {
      expect(() => allocateJobId(join(root, 'state'), null)).toThrow(`cannot record the job id in ${join(root, 'state')}: read-only file system (EROFS)`);
    });

    it('makeDirectories reports EROFS where Node\'s recursive mkdir says ENOENT ("not found", the opposite of the truth)', () => {
      expect((caught(() => mkdirSync(join(root, 'a', 'b'), { recursive: true })) as NodeJS.ErrnoException).code).toBe('ENOENT');
      const error = caught(() => makeDirectories(join(root, 'a', 'b'))) as NodeJS.ErrnoException;
      expect([error.code, error.path]).toEqual(['EROFS', join(root, 'a')]);
    });

    it('a recovery target: "<dir> is not writable: read-only file system (EROFS)"', async () => {
      await expect(assertWritableFilePath(join(root, 'commserv.db'), 'the database file')).rejects.toThrow(
        `the database file ${join(root, 'commserv.db')} cannot be written: ${root} is not writable: read-only file system (EROFS)`,
      );
    });
  });

  it('a full file system (64 KiB tmpfs): "no space left on device (ENOSPC)"', async () => {
    const root = join(tempDir(), 'full');
    const unmount = mountTmpfs(root, 'size=64k');
    try {
      writeFileSync(join(root, 'filler'), Buffer.alloc(64 * 1024));
      // tmpfs counts pages: a directory still fits, a file's first byte does not.
      const error = caught(() => writeFileSync(join(root, 'more'), Buffer.alloc(8192)));
      expect(describeFsError(error)).toBe('no space left on device (ENOSPC)');
      expect(fsFailure('cannot write', join(root, 'more'), error)).toBe(`cannot write ${join(root, 'more')}: no space left on device (ENOSPC)`);
    } finally {
      unmount();
    }
  });

  it('makeDirectories creates missing parents, and accepts an existing directory', () => {
    const dir = tempDir();
    makeDirectories(join(dir, 'x', 'y', 'z'));
    makeDirectories(join(dir, 'x', 'y', 'z'));
    expect(existsSync(join(dir, 'x', 'y', 'z'))).toBe(true);
  });

  it('a registry file: "cannot read <file>: not found (ENOENT)" / "is a directory (EISDIR)"', async () => {
    const dir = tempDir();
    await expect(readRegFile(join(dir, 'absent.reg'), () => undefined)).rejects.toThrow(`cannot read ${join(dir, 'absent.reg')}: not found (ENOENT)`);
    await expect(readRegFile(dir, () => undefined)).rejects.toThrow(`cannot read ${dir}: is a directory (EISDIR)`);
  });
});
