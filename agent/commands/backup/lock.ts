/**
 * The phase-1 lock (SPEC §4.1: at most one job in phase 1), with proper-lockfile.
 *
 * A lock left by a killed agent is recovered safely in two ways:
 * - on the same machine, immediately: the owner file beside the lock names the pid and host; when that
 *   process no longer exists, the lock is stale and is taken over (a lock with no owner file — its holder
 *   was interrupted before recording itself — once it has not been refreshed for 3 minutes);
 * - an interrupted command (SIGINT/SIGTERM) releases it on the way out (agent/shutdown.ts);
 * - otherwise once proper-lockfile finds it stale (its mtime not refreshed for `staleMs`, default 6 h —
 *   long, because the agent's event loop can be busy for minutes in a synchronous SQLite integrity check,
 *   and a live job's lock must never be taken).
 */
import { hostname } from 'node:os';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DestinationError, JobLockedError } from '#core/errors';
import { isInterrupting, onInterrupt } from '#agent/shutdown';

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

/** A lock whose mtime proper-lockfile has not refreshed for this long has no live holder (ms): 3 refresh periods. */
export const OWNERLESS_LOCK_STALE_MS = 3 * 60_000;

/**
 * A lock without an owner file was left between proper-lockfile creating it and the owner being recorded
 * (an interrupted start): it is stale once its holder stopped refreshing it.
 */
function ownerlessLockIsStale(stateDir: string): boolean {
  try {
    return Date.now() - statSync(lockPath(stateDir)).mtimeMs > OWNERLESS_LOCK_STALE_MS;
  } catch {
    return true;
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
  let released = false;
  let raw: (() => Promise<void>) | undefined;
  const releaseOnce = async () => {
    if (released) return;
    released = true;
    unregister();
    // Unlock first, then forget the owner: an interruption in between leaves an owner file without a lock
    // (harmless), never a lock without its owner.
    if (raw) await raw().catch(() => undefined);
    rmSync(ownerPath(stateDir), { force: true });
  };
  // Registered before the lock exists: a Ctrl-C while it is being taken waits for it, then gives it back.
  const acquiring = takeLock(stateDir, staleMs).then((release) => {
    raw = release;
  });
  const unregister = onInterrupt(async () => {
    await acquiring.catch(() => undefined);
    await releaseOnce();
  });
  try {
    await acquiring;
  } catch (error) {
    unregister();
    throw error;
  }
  if (isInterrupting()) {
    await releaseOnce();
    throw new JobLockedError('interrupted while taking the phase-1 lock');
  }
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
  writeFileSync(ownerPath(stateDir), JSON.stringify(owner));
  return releaseOnce;
}

/** Takes the lock, taking over a dead owner's. @throws JobLockedError, DestinationError (see acquirePhase1Lock). */
async function takeLock(stateDir: string, staleMs: number): Promise<() => Promise<void>> {
  try {
    return await tryLock(stateDir, staleMs);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
      throw new DestinationError('LOCK_FAILED', `cannot take the phase-1 lock in ${stateDir}: ${(error as Error).message}`, { cause: error });
    }
    const owner = readOwner(stateDir);
    if (!owner ? !ownerlessLockIsStale(stateDir) : owner.hostname !== hostname() || processAlive(owner.pid)) {
      const who = owner ? ` (pid ${owner.pid} on ${owner.hostname} since ${owner.since})` : '';
      throw new JobLockedError(`another DR backup job is in phase 1${who}; wait for it to finish (lock ${lockPath(stateDir)})`);
    }
    // The owner was killed: its lock is stale. Take it over.
    rmSync(lockPath(stateDir), { recursive: true, force: true });
    try {
      return await tryLock(stateDir, staleMs);
    } catch (retryError) {
      throw new JobLockedError(`another DR backup job took the phase-1 lock (lock ${lockPath(stateDir)})`, { cause: retryError });
    }
  }
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
