/**
 * File-system failures in words: an operator reading "cannot create /mnt/dr/SET_9: read-only file system (EROFS)"
 * knows what to fix; "EROFS" alone, or Node's "EROFS: read-only file system, mkdir '/mnt/dr/SET_9'", is less
 * clear and names the path twice or not at all. One place maps the errno codes the agent meets (the phase-1
 * destination, the state directory, a recovery target, a registry file) to words; callers name the path.
 *
 * The words follow POSIX `strerror` (Linux's texts) shortened where the code's meaning for a backup is plainer,
 * e.g. ENOENT "not found". The code is always kept in parentheses, for searching and for support.
 *
 * Node 20's `mkdirSync(dir, { recursive: true })` reports ENOENT for a directory it cannot create on a read-only
 * file system (observed here: EROFS becomes ENOENT, "not found" — the opposite of the truth); {@link makeDirectories}
 * creates the missing directories one by one instead, so the file system's own reason comes through.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Words for the errno codes of file-system calls (keys: `error.code` as Node gives it). */
export const FS_ERROR_WORDS: Readonly<Record<string, string>> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for the file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'not found',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'already exists',
  ENOTEMPTY: 'directory not empty',
  EBUSY: 'busy or locked by another process',
  EIO: 'input/output error (the disk or share failed)',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this machine',
  ENAMETOOLONG: 'name too long',
  ELOOP: 'too many symbolic links',
  EXDEV: 'on another file system',
  ESTALE: 'stale network file handle (the share was remounted or the file removed)',
  ETIMEDOUT: 'timed out (a network share not answering?)',
  EHOSTDOWN: 'host of the share is down',
  ENOTCONN: 'share not connected',
};

/**
 * What happened, in words, with the code: `read-only file system (EROFS)`. An error without a known code gives
 * its message (or `String(error)`), so nothing is lost.
 * @param error anything caught from a file-system call.
 */
export function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') {
    const words = FS_ERROR_WORDS[code];
    return words === undefined ? `${stripNodePrefix(error as Error)} (${code})` : `${words} (${code})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * `<action> <path>: <words> (<code>)`, e.g. `cannot create /mnt/dr/SET_9: read-only file system (EROFS)`. When the
 * failing call was on another path than the one named (a file inside a directory), that path is added:
 * `… (at /mnt/dr/.write-probe-12)`.
 * @param action e.g. `cannot create`, `cannot write`, `cannot read`.
 * @param path the path the operator configured or named.
 */
export function fsFailure(action: string, path: string, error: unknown): string {
  const at = (error as NodeJS.ErrnoException | undefined)?.path;
  const where = typeof at === 'string' && at !== path ? ` (at ${at})` : '';
  return `${action} ${path}: ${describeFsError(error)}${where}`;
}

/** Node's message without its `CODE: ` prefix and `, syscall 'path'` suffix: the words of an unmapped code. */
function stripNodePrefix(error: Error): string {
  const message = String(error.message ?? '');
  return message.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/, '') || 'error';
}

/**
 * `mkdir -p`: creates `dir` and its missing parents. Same as `mkdirSync(dir, { recursive: true })`, except that
 * when that fails with ENOENT (which Node also reports for EROFS), the missing directories are created one at a
 * time, so the error thrown is the file system's real one (EROFS, EACCES, ENOTDIR…) for the first that fails.
 * @throws the file-system error (NodeJS.ErrnoException) of the first directory that cannot be created.
 */
export function makeDirectories(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const missing: string[] = [];
  for (let path = dir; !existsSync(path); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing) mkdirSync(path);
}
