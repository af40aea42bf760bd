/**
 * Recovery never destroys (issue 15 item 4, SPEC §6.1) on real components: SETs from the real phase 1 (SQLite, file
 * hive) at a moto hot-site, recovery into a target that already holds a database, a registry hive and firewall files.
 */
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { runRecover } from '#agent/commands/recover/recover';
import { parseAtMoment } from '#agent/commands/recover/at';
import { UsageError } from '#core/errors';
import { UNDO_JOURNAL } from '#agent/commands/recover/target';
import { interruptNotes, runInterruptCleanups } from '#agent/shutdown';
import { FAULT_ENV } from '#agent/faults';
import { FileHiveStore, type RegistryStore } from '#agent/registry/index';
import { SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { capture } from '../../support/cli';
import { rowDifferences } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };
const CLI = join(__dirname, '..', '..', '..', 'bin', 'commserve-dr.js');
const OLD_DB = 'the database that was here before';
const OLD_HIVE = 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Before]\r\n"kept"="yes"\r\n';
const OLD_FW = 'firewall file that was here before\n';

describe('recover never destroys (real SQLite, file hive, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-never-destroy-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  });

  /** A hot-site with the fixture's SETs, and a target already holding a database, a hive and a firewall file. */
  async function occupiedTarget() {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    const to = join(dir, 'commserve');
    mkdirSync(join(to, 'registry'), { recursive: true });
    mkdirSync(join(to, 'firewall'), { recursive: true });
    writeFileSync(join(to, 'commserv.db'), OLD_DB);
    writeFileSync(join(to, 'registry', 'commserv_hive.reg'), OLD_HIVE);
    writeFileSync(join(to, 'firewall', 'FwHosts.txt'), OLD_FW);
    return { ...hot, dir, to };
  }

  /** The target's files and their contents (the staging directory excluded). */
  function snapshot(to: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string, rel: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
        else out[`${rel}${e.name}`] = readFileSync(join(d, e.name), 'utf8');
      }
    };
    walk(to, '');
    return out;
  }

  function expectRecoveredDatabase(db: string, source: string) {
    expect(rowDifferences(db, source)).toBe('');
    const check = new Database(db, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
  }

  it('existing database, hive and firewall file without --force: refused, exit 1, nothing changed, the message says why', async () => {
    const { s3, settings, to } = await occupiedTarget();
    const before = snapshot(to);
    const result = await runRecover({ settings, s3, logger, to, firewall: true, preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.status).toBe('refused');
    expect(result.document.error!.code).toBe('TARGET_EXISTS');
    for (const f of ['commserv.db', join('registry', 'commserv_hive.reg'), join('firewall', 'FwHosts.txt')]) expect(result.document.error!.message).toContain(join(to, f));
    expect(result.text).toMatch(/Recovery refused: the target holds files it would replace\nThe target was not changed\./);
    expect(result.text).toMatch(/add --force to move these aside/);
    expect(snapshot(to)).toEqual(before);
  });

  it('with --force: each existing file is moved aside (<name>.before-recovery-<UTC>), never deleted, and named in the report', async () => {
    const { s3, settings, to } = await occupiedTarget();
    const result = await runRecover({ settings, s3, logger, to, firewall: true, force: true, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expectRecoveredDatabase(join(to, 'commserv.db'), fixture.dbAt.SET_0000003);
    const aside = /^commserv\.db\.before-recovery-\d{8}T\d{6}Z$/;
    const dbAside = readdirSync(to).find((n) => aside.test(n))!;
    expect(readFileSync(join(to, dbAside), 'utf8')).toBe(OLD_DB);
    const hiveAside = readdirSync(join(to, 'registry')).find((n) => n.startsWith('commserv_hive.reg.before-recovery-'))!;
    expect(readFileSync(join(to, 'registry', hiveAside), 'utf8')).toBe(OLD_HIVE);
    const fwAside = readdirSync(join(to, 'firewall')).find((n) => n.startsWith('FwHosts.txt.before-recovery-'))!;
    expect(readFileSync(join(to, 'firewall', fwAside), 'utf8')).toBe(OLD_FW);
    // The hive now holds exactly the SET's export (the old one is kept aside, not merged into).
    const hive = await new FileHiveStore(join(to, 'registry', 'commserv_hive.reg')).load();
    expect(hive.getKey(SAMPLE_REGISTRY_ROOT)).toBeDefined();
    expect(hive.getKey('HKEY_LOCAL_MACHINE\\SOFTWARE\\Before')).toBeUndefined();
    expect(result.document.targetChanges!.movedAside.map((m) => m.path).sort()).toEqual(
      [join(to, 'commserv.db'), join(to, 'firewall', 'FwHosts.txt'), join(to, 'registry', 'commserv_hive.reg')].sort(),
    );
    expect(result.text).toContain(`Kept (moved aside, not deleted): ${join(to, 'commserv.db')} → ${join(to, dbAside)}`);
    expect(existsSync(join(to, UNDO_JOURNAL))).toBe(false);
    expect(existsSync(join(to, '.commserve-dr-staging'))).toBe(false);
  });

  it('an empty --to is a usage error (exit 2), through the CLI and the function', async () => {
    const cwd = tempDir();
    const io = capture(cwd);
    expect(await exec(['recover', '--to', ''], io)).toBe(2);
    expect(io.err()).toMatch(/--to names no directory/);
    expect(readdirSync(cwd)).toEqual([]);
    const missing = capture(cwd);
    expect(await exec(['recover'], missing)).toBe(2);
    expect(missing.err()).toMatch(/--to <dir>/);
    await expect(runRecover({ settings: {} as never, s3: {} as never, to: '  ' })).rejects.toMatchObject({ code: 'USAGE', exitCode: 2 });
  });

  it('an empty --from is a usage error (exit 2) for recover, fetch, verify and sets: never the current directory', async () => {
    const cwd = tempDir();
    for (const args of [['recover', '--to', join(cwd, 'out'), '--from', ''], ['fetch', 'SET_1', '--to', join(cwd, 'out'), '--from', ''], ['verify', 'SET_1', '--from', ''], ['sets', '--from', ' ']]) {
      const io = capture(cwd);
      expect(await exec(args, io)).toBe(2);
      expect(io.err()).toMatch(/--from names no folder: .*never taken to be the current directory/);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('--at refuses a day its month does not have (Date.parse would roll 2026-02-30 over to 2026-03-02)', () => {
    expect(() => parseAtMoment('2026-02-30T00:00:00Z')).toThrow(/--at "2026-02-30T00:00:00Z" is not an ISO-8601 moment/);
    expect(() => parseAtMoment('2026-04-31T12:00:00+01:00')).toThrow(UsageError);
    expect(() => parseAtMoment('2026-12-05T24:00:00Z')).toThrow(UsageError);
    expect(parseAtMoment('2028-02-29T23:59:59Z')).toBe(Date.UTC(2028, 1, 29, 23, 59, 59));
    expect(parseAtMoment('2026-12-05T15:30:00+01:00')).toBe(Date.UTC(2026, 11, 5, 14, 30));
  });

  it('a bad --registry-hive (a directory, or under a file) is refused before anything changes', async () => {
    const { s3, settings, dir, to } = await occupiedTarget();
    const before = snapshot(to);
    mkdirSync(join(dir, 'hive-is-a-dir'));
    for (const hiveFile of [join(dir, 'hive-is-a-dir'), join(to, 'commserv.db', 'hive.reg')]) {
      const result = await runRecover({ settings, s3, logger, to, force: true, registryStore: new FileHiveStore(hiveFile), preflight: noProcesses });
      expect(result.exitCode).toBe(1);
      expect(result.document.error!.code).toBe('TARGET_PATH_INVALID');
      expect(result.document.error!.message).toContain(hiveFile);
      expect(result.text).toMatch(/The target was not changed\./);
      expect(snapshot(to)).toEqual(before);
    }
  });

  it('a registry import that fails after the database was installed: the database is removed, the old one put back, and the report says so', async () => {
    const { s3, settings, to } = await occupiedTarget();
    const before = snapshot(to);
    // A store that is not a file hive (e.g. the Windows registry) is imported into in place: make it fail.
    const failing: RegistryStore = {
      kind: 'windows',
      importFile: async () => {
        throw new Error('access denied to HKLM (simulated reg.exe failure)');
      },
    } as unknown as RegistryStore;
    const result = await runRecover({ settings, s3, logger, to, force: true, registryStore: failing, preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error!.message).toMatch(/access denied/);
    expect(result.text).toMatch(/The target is as it was: the recovery's changes were undone \(.*commserv\.db removed; .*commserv\.db put back/);
    expect(result.text).not.toMatch(/The target was not changed/);
    expect(snapshot(to)).toEqual(before);
  });

  /**
   * An occupied target, a config file beside it, and a real CLI `recover --force` SIGKILLed at `fault` (FAULT_ENV).
   * @returns the target, the folder the CLI ran in, and the target's snapshot before the killed run.
   */
  async function killedRecovery(fault: 'rebuild' | 'install'): Promise<{ to: string; cwd: string; before: Record<string, string> }> {
    const { settings, to } = await occupiedTarget();
    const cwd = join(to, '..');
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: settings.HotSite, StateDirectory: settings.StateDirectory, Phase1Destination: settings.Phase1Destination }));
    const before = snapshot(to);
    const killed = spawnSync(process.execPath, [CLI, 'recover', '--to', to, '--force'], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, [FAULT_ENV]: fault } });
    expect(killed.signal).toBe('SIGKILL');
    return { to, cwd, before };
  }

  it('SIGKILL during the rebuild (real CLI process): the target is unchanged; the next run cleans the staging and recovers', async () => {
    const { to, cwd, before } = await killedRecovery('rebuild');
    const after = snapshot(to);
    expect(Object.keys(after).some((k) => k.startsWith('.commserve-dr-staging/'))).toBe(true);
    for (const k of Object.keys(after)) if (k.startsWith('.commserve-dr-staging/')) delete after[k];
    expect(after).toEqual(before);
    // The next run removes the staging left behind and recovers.
    const io = capture(cwd);
    expect(await exec(['recover', '--to', to, '--force'], io)).toBe(0);
    expect(io.out()).toMatch(/removed .*\.commserve-dr-staging: the staging folder \(downloads only\) an earlier interrupted recovery left/);
    expect(existsSync(join(to, '.commserve-dr-staging'))).toBe(false);
    expectRecoveredDatabase(join(to, 'commserv.db'), fixture.dbAt.SET_0000003);
  });

  it('SIGKILL after the database was installed (real CLI process): the next recover undoes it first, then refuses without --force', async () => {
    const { to, cwd, before } = await killedRecovery('install');
    // Killed between the install and the registry: the old database is aside, the new one in place.
    expect(readdirSync(to).some((n) => n.startsWith('commserv.db.before-recovery-'))).toBe(true);
    expect(existsSync(join(to, UNDO_JOURNAL))).toBe(true);
    const io = capture(cwd);
    const code = await exec(['recover', '--to', to], io);
    expect(code).toBe(1);
    expect(io.out()).toMatch(/Undone first \(an earlier recovery into this directory was killed\): .*commserv\.db put back/);
    expect(io.out()).toMatch(/TARGET_EXISTS/);
    // The refusal does not say 'not changed': the earlier recovery's changes were undone first.
    expect(io.out()).not.toMatch(/The target was not changed/);
    expect(io.out()).toMatch(/The target is as it was before an earlier killed recovery into it, whose changes were undone first \(.*commserv\.db put back/);
    const after = snapshot(to);
    for (const k of Object.keys(after)) if (k.startsWith('.commserve-dr-staging/')) delete after[k];
    expect(after).toEqual(before);
  });

  it('SIGKILL after the install, then a --dry-run: it undoes the killed recovery first and says so, never "nothing changed"', async () => {
    const { to, cwd, before } = await killedRecovery('install');
    const io = capture(cwd);
    const code = await exec(['recover', '--to', to, '--dry-run'], io);
    expect(code).toBe(0);
    expect(io.out()).not.toMatch(/dry run: nothing changed/);
    expect(io.out()).toMatch(/Recovery plan \(dry run: only an earlier killed recovery into this directory was undone, listed below; nothing else changed\)/);
    expect(io.out()).toMatch(/Undone first \(an earlier recovery into this directory was killed\): .*commserv\.db put back/);
    const after = snapshot(to);
    for (const k of Object.keys(after)) if (k.startsWith('.commserve-dr-staging/')) delete after[k];
    expect(after).toEqual(before);
  });

  it('interrupted (SIGINT/SIGTERM clean-ups run) after the database was installed: put back, and the line printed says so', async () => {
    const { s3, settings, to } = await occupiedTarget();
    const before = snapshot(to);
    // The clean-ups main.ts runs on SIGINT/SIGTERM, run while the registry step is under way.
    const interrupting: RegistryStore = {
      kind: 'windows',
      importFile: async () => {
        await runInterruptCleanups();
        throw new Error('interrupted');
      },
    } as unknown as RegistryStore;
    await runRecover({ settings, s3, logger, to, force: true, registryStore: interrupting, preflight: noProcesses });
    const note = interruptNotes().find((n) => n.startsWith(`recovery into ${to} interrupted`))!;
    expect(note).toMatch(/The target is as it was: the recovery's changes were undone \(.*commserv\.db removed; .*commserv\.db put back/);
    expect(snapshot(to)).toEqual(before);
  });
});
