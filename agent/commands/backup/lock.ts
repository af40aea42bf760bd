/**
 * The phase-1 lock (SPEC §4.1: at most one job in phase 1), with proper-lockfile.
 *
 * A lock left by a killed agent is recovered safely in two ways:
 * - on the same machine, immediately: the owner file beside the lock names the pid and host; when that
 *   process no longer exists, the lock is stale and is taken over;
 * - otherwise once proper-lockfile finds it stale (its mtime not refreshed for `staleMs`, default 6 h —
 *   long, because the agent's event loop can be busy for minutes in a synchronous SQLite integrity check,
 *   and a live job's lock must never be taken).
 */
import { hostname } from 'node:os';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DestinationError, JobLockedError } from '#core/errors';

/** Name of the lock (a directory made by proper-lockfile) in the state directory. */
export const PHASE1_LOCK = 'phase1';
/** Default staleness of a lock whose owner cannot be checked (ms): the phase-1 timeout, 6 h. */
export const DEFAULT_LOCK_STALE_MS = 6 * 60 * 60 * 1000;

/** Who holds the lock. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO-8601 UTC. */
  since: string;
}

const lockPath = (stateDir: string) => join(stateDir, `${PHASE1_LOCK}.lock`);
const ownerPath = (stateDir: string) => join(stateDir, `${PHASE1_LOCK}.owner.json`);

function readOwner(stateDir: string): LockOwner | null {
  try {
    return JSON.parse(readFileSync(ownerPath(stateDir), 'utf8')) as LockOwner;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists on this machine (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function tryLock(stateDir: string, staleMs: number): Promise<() => Promise<void>> {
  return lockfile.lock(stateDir, {
    lockfilePath: lockPath(stateDir),
    stale: staleMs,
    update: Math.min(60_000, Math.floor(staleMs / 2)),
    realpath: false,
  });
}

/**
 * Takes the phase-1 lock.
 * @returns a release function (also removes the owner file).
 * @throws JobLockedError naming the owner when another live job holds it; DestinationError when the
 *   state directory cannot be used.
 */
export async function acquirePhase1Lock(stateDir: string, staleMs = DEFAULT_LOCK_STALE_MS): Promise<() => Promise<void>> {
  mkdirSync(stateDir, { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await tryLock(stateDir, staleMs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
      throw new DestinationError('LOCK_FAILED', `cannot take the phase-1 lock in ${stateDir}: ${(error as Error).message}`, { cause: error });
    }
    const owner = readOwner(stateDir);
    if (!owner || owner.hostname !== hostname() || processAlive(owner.pid)) {
      const who = owner ? ` (pid ${owner.pid} on ${owner.hostname} since ${owner.since})` : '';
      throw new JobLockedError(`another DR backup job is in phase 1${who}; wait for it to finish (lock ${lockPath(stateDir)})`, { cause: error });
    }
    // The owner was killed: its lock is stale. Take it over.
    rmSync(lockPath(stateDir), { recursive: true, force: true });
    try {
      release = await tryLock(stateDir, staleMs);
    } catch (retryError) {
      throw new JobLockedError(`another DR backup job took the phase-1 lock (lock ${lockPath(stateDir)})`, { cause: retryError });
    }
  }
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  writeFileSync(ownerPath(stateDir), JSON.stringify(owner));
  return async () => {
    rmSync(ownerPath(stateDir), { force: true });
    await release();
  };
}

/** Whether a live job holds the lock (for listings: a SET without a manifest may still be written). */
export function isPhase1Locked(stateDir: string): boolean {
  try {
    if (!lockfile.checkSync(stateDir, { lockfilePath: lockPath(stateDir), realpath: false, stale: DEFAULT_LOCK_STALE_MS })) return false;
  } catch {
    return false;
  }
  const owner = readOwner(stateDir);
  return !owner || owner.hostname !== hostname() || processAlive(owner.pid);
}
