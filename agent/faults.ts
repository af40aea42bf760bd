/**
 * Fault-injection points for the crash-safety suite (issue 8): when `COMMSERVE_DR_FAULT_KILL_AT` names a
 * point, the agent kills itself there with SIGKILL — no cleanup, no `finally`, exactly as a power cut or
 * `kill -9` would. Unset (always, outside the fault suite), a point costs one environment lookup.
 *
 * Points: `dump` (during the database dump), `upload` (after the first part of a multipart upload),
 * `before-manifest` (every data file written and uploaded, the manifest not yet), `after-commit` (the local SET
 * complete — manifest written — and its hot-site manifest not yet uploaded); recovery: `rebuild` (while the database
 * is rebuilt in the staging directory), `install` (the database installed in the target — existing files moved
 * aside — the registry and firewall not yet).
 */

/** The environment variable naming the point to die at. */
export const FAULT_ENV = 'COMMSERVE_DR_FAULT_KILL_AT';

/** Fault points. */
export type FaultPoint = 'dump' | 'upload' | 'before-manifest' | 'after-commit' | 'rebuild' | 'install';

/** Dies here (SIGKILL) when the fault suite asked for this point. */
export function faultPoint(point: FaultPoint): void {
  if (process.env[FAULT_ENV] === point) process.kill(process.pid, 'SIGKILL');
}
