/**
 * The checks of `commserve-dr doctor` on this machine: paths absolute, state directory and phase-1 destination
 * writable (a probe file created and removed), disk space for a FULL, the database reachable with the rights phase 1
 * needs, the registry and firewall sources, and the SSM Agent service.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describeError } from '#core/errors';
import type { Settings } from '#core/settings';
import { checkSqlServerRights, type RightVerdict } from '#agent/engines/sqlserver/rights';
import { SHORT_REQUEST_TIMEOUT_MS } from '#agent/engines/sqlserver/session';
import { openSqlServerSession, type OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { FIREWALL_FILES } from '#agent/commands/backup/set-files';
import { fsFailure, makeDirectories } from '#agent/fs-errors';
import type { DoctorCheck } from './checks';

/** Free space asked for beyond the database's size: 10 % (page-hash sidecar, registry, the temporary copy). */
export const FULL_SPACE_MARGIN = 1.1;

/** A directory the agent writes: created if missing, a probe file written and removed. */
export function writableDirectory(check: string, dir: string): DoctorCheck {
  const probeFile = join(dir, `.commserve-dr-doctor-${process.pid}`);
  try {
    makeDirectories(dir);
  } catch (error) {
    return { check, verdict: 'fail', detail: fsFailure('cannot create', dir, error) };
  }
  try {
    writeFileSync(probeFile, 'commserve-dr doctor probe\n');
  } catch (error) {
    return { check, verdict: 'fail', detail: fsFailure('cannot write in', dir, error) };
  }
  try {
    unlinkSync(probeFile);
  } catch (error) {
    return { check, verdict: 'fail', detail: fsFailure('cannot remove a file in', dir, error) };
  }
  return { check, verdict: 'pass', detail: `${dir} writable (probe file created and removed)` };
}

/** `1.5 GB` style sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/**
 * Free space in the phase-1 destination against the database's size (a FULL's dump is about the database's size
 * before compression).
 * @param databaseBytes the size, or null when unknown (then `skip`).
 * @param freeBytes free space (default: statfs of `dir`), for tests.
 */
export function diskSpaceCheck(dir: string, databaseBytes: number | null, freeBytes?: number): DoctorCheck {
  const check = 'disk space for a FULL';
  if (databaseBytes === null) return { check, verdict: 'skip', detail: 'database size unknown (the database check failed)' };
  let free = freeBytes;
  if (free === undefined) {
    try {
      const fs = statfsSync(dir);
      free = fs.bavail * fs.bsize;
    } catch (error) {
      return { check, verdict: 'fail', detail: fsFailure('cannot read the free space of', dir, error) };
    }
  }
  const needed = Math.ceil(databaseBytes * FULL_SPACE_MARGIN);
  const detail = `${formatBytes(free)} free in ${dir}; a FULL needs about ${formatBytes(needed)} (database ${formatBytes(databaseBytes)} + 10 %)`;
  return { check, verdict: free >= needed ? 'pass' : 'fail', detail };
}

/** The database check's lines and the database's size (for the disk-space check). */
export interface DatabaseCheckResult {
  checks: DoctorCheck[];
  bytes: number | null;
}

/** SQLite: the file exists, opens read-only, and its schema reads (no write, no lock held afterwards). */
export async function sqliteCheck(path: string): Promise<DatabaseCheckResult> {
  const check = 'database';
  let bytes: number;
  try {
    bytes = statSync(path).size;
  } catch (error) {
    return { checks: [{ check, verdict: 'fail', detail: fsFailure('cannot read the SQLite database', path, error) }], bytes: null };
  }
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number };
      return { checks: [{ check, verdict: 'pass', detail: `SQLite ${path} (${formatBytes(bytes)}, ${row.n} schema objects) opens read-only` }], bytes };
    } finally {
      db.close();
    }
  } catch (error) {
    return { checks: [{ check, verdict: 'fail', detail: `cannot open the SQLite database ${path}: ${describeError(error)}` }], bytes };
  }
}

function rightsLine(verdicts: RightVerdict[], scope: RightVerdict['scope']): DoctorCheck {
  const mine = verdicts.filter((v) => v.scope === scope);
  const missing = mine.filter((v) => v.status !== 'granted');
  const missingRequired = missing.filter((v) => v.need === 'required');
  const check = scope === 'phase1' ? 'database rights (phase 1)' : 'database rights (recover, verify)';
  const list = (vs: RightVerdict[]) => vs.map((v) => `${v.right} ${v.status} (${v.need}; grant: ${v.grant})`).join('; ');
  if (missing.length === 0) return { check, verdict: 'pass', detail: mine.map((v) => v.right).join(', ') };
  if (scope === 'recovery') return { check, verdict: 'skip', detail: `not needed by a scheduled job; for recover/verify on this server: ${list(missing)}` };
  if (missingRequired.length === 0) return { check, verdict: 'pass', detail: `required rights granted; optional: ${list(missing)}` };
  return { check, verdict: 'fail', detail: `missing: ${list(missingRequired)}` };
}

/**
 * SQL Server: connects as phase 1 does (password from the environment or the SSM SecureString, TLS as configured),
 * checks the login's rights on the server (`checkSqlServerRights`, issue 23 item 1) and reads the data files' size.
 */
export async function sqlServerCheck(db: Extract<Settings['Database'], { engine: 'sqlserver' }>, deps: OpenSqlServerDeps): Promise<DatabaseCheckResult> {
  let opened: Awaited<ReturnType<typeof openSqlServerSession>>;
  try {
    opened = await openSqlServerSession(db, deps);
  } catch (error) {
    return { checks: [{ check: 'database', verdict: 'fail', detail: describeError(error) }], bytes: null };
  }
  const { session, target } = opened;
  try {
    const verdicts = await checkSqlServerRights(session, db.database);
    let bytes: number | null = null;
    try {
      const size = await session.execute(`SELECT SUM(CAST(size AS bigint)) * 8192 AS bytes FROM sys.database_files WHERE type = 0;`, { timeoutMs: SHORT_REQUEST_TIMEOUT_MS });
      const value = size.recordsets[0]?.[0]?.bytes;
      bytes = value === null || value === undefined ? null : Number(value);
    } catch {
      bytes = null;
    }
    return {
      checks: [
        { check: 'database', verdict: 'pass', detail: `SQL Server ${target.server}:${target.port}, database ${db.database}${bytes === null ? '' : ` (${formatBytes(bytes)} of data files)`}` },
        rightsLine(verdicts, 'phase1'),
        rightsLine(verdicts, 'recovery'),
      ],
      bytes,
    };
  } catch (error) {
    return { checks: [{ check: 'database rights (phase 1)', verdict: 'fail', detail: describeError(error) }], bytes: null };
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** Firewall files: present ones listed; their absence is noted by the job, not an error (SPEC §3). */
export function firewallCheck(dir: string): DoctorCheck {
  const check = 'firewall files';
  if (!existsSync(dir)) return { check, verdict: 'pass', detail: `${dir} not found: jobs will note ${FIREWALL_FILES.join(', ')} as absent (set FirewallDirectory if the CommServe has them)` };
  try {
    const names = new Set(readdirSync(dir));
    const present = FIREWALL_FILES.filter((f) => names.has(f));
    return { check, verdict: 'pass', detail: `${present.length} of ${FIREWALL_FILES.length} present in ${dir}${present.length < FIREWALL_FILES.length ? ` (absent: ${FIREWALL_FILES.filter((f) => !names.has(f)).join(', ')})` : ''}` };
  } catch (error) {
    return { check, verdict: 'fail', detail: fsFailure('cannot list', dir, error) };
  }
}

/** Runs a program and returns its exit code and output (for `sc.exe`, `reg.exe`). */
export type ProgramRunner = (file: string, args: string[]) => Promise<{ code: number; stdout: string }>;

/** The default runner: `execFile`, no shell. */
export const runProgram: ProgramRunner = (file, args) =>
  new Promise((resolve) => {
    execFile(file, args, { windowsHide: true, timeout: 30_000 }, (error, stdout) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout: String(stdout) });
    });
  });

/** Registry source: the hive file readable (file-backed store), or `reg.exe query` of the CommServe key (Windows). */
export async function registryCheck(settings: Settings, platform: NodeJS.Platform, run: ProgramRunner): Promise<DoctorCheck> {
  const check = 'registry';
  const store = settings.Registry.store ?? (platform === 'win32' ? 'windows' : 'file-hive');
  if (store === 'file-hive') {
    try {
      statSync(settings.Registry.hiveFile);
      return { check, verdict: 'pass', detail: `hive file ${settings.Registry.hiveFile} readable` };
    } catch (error) {
      return { check, verdict: 'fail', detail: fsFailure('cannot read the hive file', settings.Registry.hiveFile, error) };
    }
  }
  if (platform !== 'win32') return { check, verdict: 'fail', detail: 'Registry.store is "windows" but this machine is not Windows' };
  const key = settings.Registry.commServeKeys[0];
  const answer = await run('reg.exe', ['query', key]);
  return answer.code === 0 ? { check, verdict: 'pass', detail: `${key} readable (reg.exe query)` } : { check, verdict: 'fail', detail: `reg.exe query ${key} failed (exit ${answer.code})` };
}

/** The SSM Agent service (Windows: `sc.exe query AmazonSSMAgent` RUNNING); elsewhere a skip. */
export async function ssmAgentCheck(platform: NodeJS.Platform, run: ProgramRunner): Promise<DoctorCheck> {
  const check = 'SSM Agent';
  if (platform !== 'win32') return { check, verdict: 'skip', detail: 'not Windows (the scheduled job runs through the SSM Agent on the Windows CommServe)' };
  const answer = await run('sc.exe', ['query', 'AmazonSSMAgent']);
  if (answer.code !== 0) return { check, verdict: 'fail', detail: `service AmazonSSMAgent not found (sc.exe query exit ${answer.code}): install and register the SSM Agent (docs/DEPLOY.md section 3)` };
  return /RUNNING/.test(answer.stdout)
    ? { check, verdict: 'pass', detail: 'service AmazonSSMAgent running' }
    : { check, verdict: 'fail', detail: 'service AmazonSSMAgent is installed but not running: Start-Service AmazonSSMAgent' };
}
