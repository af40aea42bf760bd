/**
 * The file `report --html <file>` writes: its directory checked before any work (a missing one is the operator's to
 * create: a usage error naming it), then the page written, a failure named with the path and the reason in words.
 */
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CommserveDrError, ExitCode, UsageError } from '#core/errors';
import { fsFailure } from '#agent/fs-errors';

/**
 * Checks that `file` can be a report page: its directory exists and is a directory, and `file` is not a directory.
 * @param file absolute path given with `--html`.
 * @throws UsageError (exit 2) naming `--html`, the path and what is wrong (`the directory … does not exist`, …).
 */
export function assertHtmlTarget(file: string): void {
  const dir = dirname(file);
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`--html ${file}: the directory ${dir} does not exist: create it first, or name a file in an existing directory (nothing was written)`);
    throw new UsageError(`--html ${file}: ${fsFailure('cannot use the directory', dir, error)} (nothing was written)`, { cause: error });
  }
  if (!isDir) throw new UsageError(`--html ${file}: ${dir} is not a directory (nothing was written)`);
  let target: ReturnType<typeof statSync> | undefined;
  try {
    target = statSync(file);
  } catch {
    target = undefined; // not there yet: the usual case
  }
  if (target?.isDirectory()) throw new UsageError(`--html ${file} is a directory: name the page's file, e.g. ${file.replace(/[\\/]+$/, '')}/readiness.html (nothing was written)`);
}

/**
 * Writes the page to `file`: into `<file>.partial` first, renamed over `file` once whole, so an earlier page there is
 * replaced only by a complete one and a failed write leaves it as it was (the partial file removed).
 * @throws UsageError when its directory went missing meanwhile; CommserveDrError `REPORT_WRITE_FAILED` (exit 1) naming
 *   the file and the reason in words (e.g. `no space left on device (ENOSPC)`) and what became of an earlier page.
 */
export function writeHtmlReport(file: string, html: string): void {
  const partial = `${file}.partial`;
  try {
    writeFileSync(partial, html);
    renameSync(partial, file);
  } catch (error) {
    rmSync(partial, { force: true });
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') assertHtmlTarget(file);
    const earlier = existsSync(file) ? ' (the earlier page there is left as it was)' : ' (nothing was written)';
    throw new CommserveDrError('REPORT_WRITE_FAILED', `${fsFailure('cannot write the report', file, error)}${earlier}`, { cause: error, exitCode: ExitCode.Failure });
  }
}
