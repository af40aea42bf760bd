/**
 * Recovery preflight (SPEC §6): refuse to rebuild a CommServe on a machine where other components of the backup
 * platform are installed (a media agent, data agents) or where the CommServe services still run; `force`
 * overrides with a warning in the report.
 *
 * Detection is configurable ({@link PreflightConfig}); the defaults describe the local layout, relative to the
 * recovery target directory `to`:
 * - **components installed**: any of the marker paths `MediaAgent/`, `iDataAgent/` exists in `to`
 *   (a platform install puts each component in its own folder next to the CommServe's);
 * - **services running**: the pid file `.commserve-dr-services.pid` in `to` holds the pid of a live process
 *   (signal 0 succeeds), or a process whose executable name (without `.exe`, case-insensitive) is in
 *   `processNames` runs — listed with `ps -A -o comm=` on Linux/macOS, `tasklist /fo csv /nh` on Windows.
 *   `processNames` defaults to the CommServe services `cvd`, `EvMgrS`, `CVJobReplicatorODS`, `QSDK`.
 * A process list that cannot be obtained is a warning, not a refusal.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { promisify } from 'node:util';

/** How the preflight detects other platform components and running services. */
export interface PreflightConfig {
  /** Paths (relative to `to`, or absolute) whose presence means another platform component is installed. */
  componentMarkers?: string[];
  /** Pid files (relative to `to`, or absolute): a live pid in one means the CommServe services run. */
  servicePidFiles?: string[];
  /** Executable names of CommServe services; any running one refuses recovery. `[]` disables the process check. */
  processNames?: string[];
  /** Lists running process names (injectable; default `ps` / `tasklist`). */
  listProcesses?: () => Promise<string[]>;
  /** Whether a pid is alive (injectable; default `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
}

/** Default marker folders of other platform components. */
export const DEFAULT_COMPONENT_MARKERS = ['MediaAgent', 'iDataAgent'];
/** Default pid file of the CommServe services. */
export const DEFAULT_SERVICE_PID_FILES = ['.commserve-dr-services.pid'];
/** Default executable names of the CommServe services. */
export const DEFAULT_SERVICE_PROCESSES = ['cvd', 'EvMgrS', 'CVJobReplicatorODS', 'QSDK'];

/** One finding of the preflight. */
export interface PreflightFinding {
  kind: 'component-installed' | 'service-running' | 'check-failed';
  detail: string;
}

/** The preflight's verdict. */
export interface PreflightResult {
  /** true when nothing blocks recovery, or `force` was given. */
  passed: boolean;
  forced: boolean;
  /** Blocking findings (components, services). */
  findings: PreflightFinding[];
  /** Non-blocking notes (a check that could not run; findings overridden by `force`). */
  warnings: string[];
}

const run = promisify(execFile);

/** Running process names via `ps` (POSIX) or `tasklist` (Windows), without extensions. */
export async function listProcessNames(platform: NodeJS.Platform = process.platform): Promise<string[]> {
  if (platform === 'win32') {
    const { stdout } = await run('tasklist', ['/fo', 'csv', '/nh'], { windowsHide: true, maxBuffer: 16 * 1024 * 1024 });
    return stdout
      .split(/\r?\n/)
      .map((line) => /^"([^"]+)"/.exec(line)?.[1] ?? '')
      .filter(Boolean)
      .map((n) => n.replace(/\.exe$/i, ''));
  }
  const { stdout } = await run('ps', ['-A', '-o', 'comm='], { maxBuffer: 16 * 1024 * 1024 });
  return stdout
    .split('\n')
    .map((l) => basename(l.trim()))
    .filter(Boolean);
}

function defaultIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs the preflight for a recovery into `to`.
 * @param force override blocking findings (they become warnings).
 */
export async function runPreflight(to: string, config: PreflightConfig = {}, force = false): Promise<PreflightResult> {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(to, p));
  const findings: PreflightFinding[] = [];
  const warnings: string[] = [];
  for (const marker of config.componentMarkers ?? DEFAULT_COMPONENT_MARKERS) {
    if (existsSync(at(marker))) findings.push({ kind: 'component-installed', detail: `another platform component is installed: ${at(marker)} exists` });
  }
  const isAlive = config.isAlive ?? defaultIsAlive;
  for (const pidFile of config.servicePidFiles ?? DEFAULT_SERVICE_PID_FILES) {
    const file = at(pidFile);
    if (!existsSync(file)) continue;
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid)) {
      findings.push({ kind: 'service-running', detail: `CommServe services are running: ${file} names live process ${pid}` });
    }
  }
  const names = config.processNames ?? DEFAULT_SERVICE_PROCESSES;
  if (names.length > 0) {
    try {
      const running = new Set((await (config.listProcesses ?? (() => listProcessNames()))()).map((n) => n.replace(/\.exe$/i, '').toLowerCase()));
      for (const name of names) {
        if (running.has(name.toLowerCase())) findings.push({ kind: 'service-running', detail: `CommServe service process ${name} is running` });
      }
    } catch (error) {
      warnings.push(`could not list running processes to look for CommServe services (${(error as Error).message}); check by hand that they are stopped`);
    }
  }
  if (force && findings.length > 0) {
    for (const f of findings) warnings.push(`--force: ${f.detail}`);
  }
  return { passed: findings.length === 0 || force, forced: force && findings.length > 0, findings, warnings };
}
