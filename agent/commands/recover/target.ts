/**
 * Recovery never destroys (SPEC §6.1, issue 15 item 4): the files a recovery would replace in its target — the
 * database (and its `-wal`/`-shm`/`-journal` companions), the file-backed registry hive, the firewall files — are
 * refused unless `--force`; with `--force` each is moved aside to `<name>.before-recovery-<UTC timestamp>` (renamed
 * in place, never deleted, never copied). Every change to the target goes through a {@link TargetGuard}, which
 * records it in memory and in an undo journal (`<to>/.commserve-dr-undo.json`, written before each change), so that
 * - a failure or an interruption (SIGINT/SIGTERM) puts the target back as it was: files installed removed, files
 *   moved aside renamed back ({@link TargetGuard.rollback});
 * - a recovery killed outright (SIGKILL, power cut) is undone by the next `recover` into the same directory, which
 *   finds the journal first ({@link undoInterruptedRecovery});
 * - the report says exactly what changed, and what is left if a roll-back step failed.
 */
import { existsSync, lstatSync } from 'node:fs';
import { access, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CommserveDrError, describeError } from '#core/errors';
import { describeFsError } from '#agent/fs-errors';

/** Undo journal of a recovery in progress, in the target directory. */
export const UNDO_JOURNAL = '.commserve-dr-undo.json';

/** One change made to the target. */
export type TargetChange =
  | { kind: 'moved-aside'; path: string; movedTo: string }
  | { kind: 'installed'; path: string }
  | { kind: 'created-directory'; path: string };

/** What a roll-back achieved. */
export interface RollbackResult {
  /** Changes undone, in the order undone. */
  undone: TargetChange[];
  /** Changes that could not be undone, with the reason. */
  left: Array<TargetChange & { reason: string }>;
}

/** The target files a recovery would replace, as found before it starts. */
export interface ExistingTargetFile {
  path: string;
  role: 'database' | 'registry' | 'firewall';
}

/** `20261205T091500Z`: a UTC timestamp that sorts and is valid in every file name. */
export function utcStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** `<path>.before-recovery-<stamp>` (with `-2`, `-3` … when that name is taken). */
export function asideName(path: string, stamp: string): string {
  const base = `${path}.before-recovery-${stamp}`;
  let candidate = base;
  for (let n = 2; existsSync(candidate); n++) candidate = `${base}-${n}`;
  return candidate;
}

/**
 * The files of `candidates` that exist (anything at the path: a file, a link, a directory).
 */
export function existingTargetFiles(candidates: readonly ExistingTargetFile[]): ExistingTargetFile[] {
  return candidates.filter((c) => {
    try {
      lstatSync(c.path);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Checks before anything changes that `file` can be written: nothing that is not a regular file sits at the path, and
 * the nearest existing ancestor is a writable directory.
 * @throws CommserveDrError `TARGET_PATH_INVALID` naming the path and the reason.
 */
export async function assertWritableFilePath(file: string, what: string): Promise<void> {
  const fail = (reason: string) => new CommserveDrError('TARGET_PATH_INVALID', `${what} ${file} cannot be written: ${reason}`, { context: { file } });
  if (existsSync(file) && !lstatSync(file).isFile()) throw fail('something other than a file is at that path');
  let dir = dirname(file);
  while (!existsSync(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  if (!lstatSync(dir).isDirectory()) throw fail(`${dir} is not a directory`);
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    throw fail(`${dir} is not writable: ${describeFsError(error)}`);
  }
}

/**
 * Every change a recovery makes to its target, journaled before it is made so it can be undone (see the module
 * comment). Changes are made one at a time.
 */
export class TargetGuard {
  private readonly made: TargetChange[] = [];
  private readonly journal: string;

  /**
   * @param to the recovery directory (the journal is written there).
   * @param stamp the UTC timestamp in the names of moved-aside files (default now).
   */
  constructor(
    readonly to: string,
    readonly stamp = utcStamp(),
  ) {
    this.journal = join(to, UNDO_JOURNAL);
  }

  /** The changes made so far, in order. */
  get changes(): readonly TargetChange[] {
    return this.made;
  }

  private async record(change: TargetChange): Promise<void> {
    this.made.push(change);
    await mkdir(this.to, { recursive: true });
    await writeFile(this.journal, `${JSON.stringify({ changes: this.made }, null, 2)}\n`);
  }

  private async unrecord(): Promise<void> {
    this.made.pop();
    await writeFile(this.journal, `${JSON.stringify({ changes: this.made }, null, 2)}\n`);
  }

  /** Creates `dir` (and missing parents), recording the top-most directory created. */
  async ensureDirectory(dir: string): Promise<void> {
    if (existsSync(dir)) return;
    let top = dir;
    while (!existsSync(dirname(top)) && dirname(top) !== top) top = dirname(top);
    await this.record({ kind: 'created-directory', path: top });
    await mkdir(dir, { recursive: true });
  }

  /**
   * Renames `path` to `<path>.before-recovery-<stamp>`; nothing happens when nothing is there.
   * @returns the new name, or undefined when nothing was there.
   */
  async moveAside(path: string): Promise<string | undefined> {
    if (!existsSync(path)) return undefined;
    const movedTo = asideName(path, this.stamp);
    await this.record({ kind: 'moved-aside', path, movedTo });
    try {
      await rename(path, movedTo);
    } catch (error) {
      await this.unrecord();
      throw new CommserveDrError('TARGET_MOVE_FAILED', `could not move ${path} aside to ${basename(movedTo)}: ${describeError(error)}`, { cause: error });
    }
    return movedTo;
  }

  /**
   * Puts `source` (a verified file in the staging directory) at `target` by rename (copy + rename across file
   * systems). Whatever was at `target` must have been moved aside first.
   * @throws CommserveDrError `TARGET_EXISTS` when something is still at `target`.
   */
  async install(source: string, target: string): Promise<void> {
    if (existsSync(target)) throw new CommserveDrError('TARGET_EXISTS', `${target} exists: it must be moved aside before installing`);
    await this.ensureDirectory(dirname(target));
    await this.record({ kind: 'installed', path: target });
    try {
      await rename(source, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      await copyFile(source, `${target}.partial`);
      await rename(`${target}.partial`, target);
    }
  }

  /** Ends the guarded part: the journal is removed, the changes stay (a successful recovery). */
  async commit(): Promise<void> {
    await rm(this.journal, { force: true });
  }

  /** Undoes every change, newest first, then removes the journal (kept when something could not be undone). */
  async rollback(): Promise<RollbackResult> {
    const result = await undoChanges(this.made);
    this.made.length = 0;
    if (result.left.length === 0) await rm(this.journal, { force: true }).catch(() => undefined);
    else await writeFile(this.journal, `${JSON.stringify({ changes: result.left }, null, 2)}\n`).catch(() => undefined);
    return result;
  }
}

async function undoChanges(changes: readonly TargetChange[]): Promise<RollbackResult> {
  const result: RollbackResult = { undone: [], left: [] };
  for (const change of [...changes].reverse()) {
    try {
      if (change.kind === 'installed') await rm(change.path, { force: true });
      else if (change.kind === 'created-directory') await rm(change.path, { recursive: true, force: true });
      else if (existsSync(change.movedTo)) {
        if (existsSync(change.path)) await rm(change.path, { force: true });
        await rename(change.movedTo, change.path);
      }
      result.undone.push(change);
    } catch (error) {
      result.left.push({ ...change, reason: describeError(error) });
    }
  }
  return result;
}

/**
 * Undoes a recovery into `to` that was killed before it finished (its undo journal is still there).
 * @returns what was undone, or null when there was no journal.
 */
export async function undoInterruptedRecovery(to: string): Promise<RollbackResult | null> {
  const journal = join(to, UNDO_JOURNAL);
  if (!existsSync(journal)) return null;
  let changes: TargetChange[];
  try {
    changes = (JSON.parse(await readFile(journal, 'utf8')) as { changes: TargetChange[] }).changes ?? [];
  } catch (error) {
    throw new CommserveDrError('UNDO_JOURNAL_INVALID', `${journal} (left by an interrupted recovery) cannot be read: ${describeError(error)}; check the target by hand, then remove it`);
  }
  const result = await undoChanges(changes);
  if (result.left.length === 0) await rm(journal, { force: true });
  return result;
}

/** `commserv.db moved aside to commserv.db.before-recovery-…` etc., one phrase per change. */
export function describeChange(change: TargetChange): string {
  switch (change.kind) {
    case 'moved-aside':
      return `${change.path} moved aside to ${basename(change.movedTo)}`;
    case 'installed':
      return `${change.path} installed`;
    case 'created-directory':
      return `directory ${change.path} created`;
  }
}

/** The same change undone, as a phrase. */
export function describeUndone(change: TargetChange): string {
  switch (change.kind) {
    case 'moved-aside':
      return `${change.path} put back (from ${basename(change.movedTo)})`;
    case 'installed':
      return `${change.path} removed`;
    case 'created-directory':
      return `directory ${change.path} removed`;
  }
}
