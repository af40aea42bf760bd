/**
 * `commserve-dr doctor` (issue 22 item 6): one screen, one verdict per line, exit 0 only when a scheduled job would
 * succeed (no `fail` line). Run on the CommServe (as the SSM Agent runs jobs: same config, same credentials), or on a
 * recovery machine. The pipeline: settings → paths → AWS (credentials, bucket, permissions, KMS, state machine) →
 * proxy → database and its rights → state directory, phase-1 destination, disk space → registry, firewall → SSM Agent.
 */
import { createConnection } from 'node:net';
import { describeError } from '#core/errors';
import type { Settings } from '#core/settings';
import { proxyFor, s3Client, sfnClient, ssmClient, stsClient } from '#agent/aws/clients';
import type { LoadedConfig } from '#agent/config';
import { describeProductionPathProblems, requireProductionPaths } from '#agent/config-location';
import type { OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { awsChecks, type AwsProbeClients, type DoctorCheck } from './checks';
import { diskSpaceCheck, firewallCheck, registryCheck, runProgram, sqlServerCheck, sqliteCheck, ssmAgentCheck, writableDirectory, type DatabaseCheckResult, type ProgramRunner } from './local-checks';

export type { DoctorCheck, Verdict } from './checks';

/** What the doctor needs besides the settings. */
export interface DoctorOptions {
  /** Loads the settings (as a scheduled job would); a throw becomes the `settings` fail line. */
  loadSettings: () => Promise<LoadedConfig>;
  /** AWS clients (default: the agent's factory for the hot-site's region and endpoint). */
  clients?: (settings: Settings) => AwsProbeClients;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Runs `sc.exe`/`reg.exe` (default execFile). */
  run?: ProgramRunner;
  /** SQL Server connection (tests: a stand-in session; default the mssql driver). */
  sqlServer?: OpenSqlServerDeps;
}

/** The doctor's result: the lines and the exit code (0: a scheduled job would succeed; 1: it would not). */
export interface DoctorReport {
  checks: DoctorCheck[];
  ok: boolean;
  exitCode: 0 | 1;
}

const defaultClients = (settings: Settings): AwsProbeClients => ({
  s3: s3Client(settings.HotSite, { maxAttempts: 1 }),
  sts: stsClient(settings.HotSite, { maxAttempts: 1 }),
  sfn: sfnClient(settings.HotSite, { maxAttempts: 1 }),
});

/** The settings line: which file (and how it was found), which SSM path with how many parameters. */
function settingsLine(loaded: LoadedConfig): DoctorCheck {
  const fromSsm = Object.values(loaded.sources).filter((s) => s === 'ssm').length;
  const file = loaded.source ? `${loaded.source} (${loaded.sourceKind === 'machine' ? 'machine-wide location' : loaded.sourceKind === 'option' ? '--config' : 'working directory'})` : 'no config file';
  const ssm = loaded.ssmPath ? `SSM ${loaded.ssmPath} (${fromSsm} settings)` : 'no SettingsParameterPath (the scheduled command sends --settings-parameter-path)';
  return { check: 'settings', verdict: 'pass', detail: `${file}; ${ssm}` };
}

/** Proxy line: which proxy each AWS endpoint goes through (credentials hidden) and whether it accepts a connection. */
export async function proxyCheck(settings: Settings, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const check = 'proxy';
  const endpoints = settings.HotSite.endpoint
    ? [settings.HotSite.endpoint]
    : ['s3', 'ssm', 'states', 'monitoring', 'sts'].map((s) => `https://${s}.${settings.HotSite.region}.amazonaws.com`);
  const proxies = new Map<string, string[]>();
  const direct: string[] = [];
  for (const endpoint of endpoints) {
    const proxy = proxyFor(endpoint, env);
    const host = new URL(endpoint).host;
    if (proxy) proxies.set(proxy, [...(proxies.get(proxy) ?? []), host]);
    else direct.push(host);
  }
  if (proxies.size === 0) return { check, verdict: 'pass', detail: `none: direct connections to ${direct.join(', ')}` };
  const parts: string[] = [];
  for (const [proxy, hosts] of proxies) {
    const url = new URL(proxy);
    const shown = `${url.protocol}//${url.host}`; // never the user:password part
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const reachable = await new Promise<string | null>((resolve) => {
      const socket = createConnection({ host: url.hostname, port, timeout: 5000 });
      socket.once('connect', () => (socket.destroy(), resolve(null)));
      socket.once('timeout', () => (socket.destroy(), resolve('timed out after 5 s')));
      socket.once('error', (e) => resolve(describeError(e)));
    });
    if (reachable) return { check, verdict: 'fail', detail: `proxy ${shown} (for ${hosts.join(', ')}) does not accept connections: ${reachable}` };
    parts.push(`${shown} for ${hosts.join(', ')}`);
  }
  return { check, verdict: 'pass', detail: `${parts.join('; ')}${direct.length ? `; direct (NO_PROXY): ${direct.join(', ')}` : ''}` };
}

async function databaseChecks(settings: Settings, options: DoctorOptions): Promise<DatabaseCheckResult> {
  const db = settings.Database;
  if (db.engine === 'sqlite') return sqliteCheck(db.path);
  return sqlServerCheck(db, { ssm: ssmClient(settings.HotSite, { maxAttempts: 1 }), ...options.sqlServer });
}

/**
 * Runs every check.
 * @returns the lines in screen order; `exitCode` 1 when any line is `fail`. Never throws for a failed check.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const platform = options.platform ?? process.platform;
  const env = options.env ?? process.env;
  const run = options.run ?? runProgram;
  const checks: DoctorCheck[] = [];
  let loaded: LoadedConfig;
  try {
    loaded = await options.loadSettings();
  } catch (error) {
    checks.push({ check: 'settings', verdict: 'fail', detail: describeError(error) }, { check: 'everything else', verdict: 'skip', detail: 'the settings did not load' });
    return finishReport(checks);
  }
  checks.push(settingsLine(loaded));
  const pathProblems = describeProductionPathProblems(loaded);
  checks.push(
    pathProblems.length === 0
      ? { check: 'paths absolute', verdict: 'pass', detail: 'every path setting is absolute (the SSM Agent runs jobs in a per-command folder)' }
      : { check: 'paths absolute', verdict: 'fail', detail: `a scheduled job refuses relative paths: ${pathProblems.join('; ')}` },
  );
  // The rest with the paths a scheduled job would use (StateDirectory unset → the machine-wide one).
  const settings = pathProblems.length === 0 ? requireProductionPaths(loaded, 'scheduled job', platform, env).settings : loaded.settings;
  checks.push(...(await awsChecks(settings, (options.clients ?? defaultClients)(settings))));
  checks.push(await proxyCheck(settings, env));
  const database = await databaseChecks(settings, options);
  checks.push(...database.checks);
  checks.push(writableDirectory('state directory', settings.StateDirectory));
  const destination = writableDirectory('phase-1 destination', settings.Phase1Destination);
  checks.push(destination);
  checks.push(destination.verdict === 'pass' ? diskSpaceCheck(settings.Phase1Destination, database.bytes) : { check: 'disk space for a FULL', verdict: 'skip', detail: 'the phase-1 destination is not writable' });
  checks.push(await registryCheck(settings, platform, run));
  checks.push(firewallCheck(settings.FirewallDirectory));
  checks.push(await ssmAgentCheck(platform, run));
  return finishReport(checks);
}

function finishReport(checks: DoctorCheck[]): DoctorReport {
  const ok = checks.every((c) => c.verdict !== 'fail');
  return { checks, ok, exitCode: ok ? 0 : 1 };
}

/** The one screen: `PASS  check  detail` per line, then the verdict. */
export function formatDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.check.length));
  const lines = report.checks.map((c) => `${c.verdict.toUpperCase().padEnd(4)}  ${c.check.padEnd(width)}  ${c.detail}`);
  const failed = report.checks.filter((c) => c.verdict === 'fail').length;
  lines.push('', report.ok ? 'verdict: a scheduled job would succeed' : `verdict: ${failed} check${failed === 1 ? '' : 's'} failed — a scheduled job would fail`);
  return `${lines.join('\n')}\n`;
}
