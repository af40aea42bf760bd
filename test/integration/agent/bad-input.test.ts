/**
 * Operator mistakes and unreachable services end with one clear line, a non-zero exit code, and no
 * SET that looks complete (CLI run in-process with `exec`, real SQLite, real moto).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';
import { freeLoopbackPort } from '#agent/local/moto-server';
import { acquirePhase1Lock } from '#agent/commands/backup/phase1';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { motoS3Client, useMoto } from '../../support/moto';
import { makeDatabase } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

function writeConfig(cwd: string, settings: Record<string, unknown>): void {
  writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ Phase1Destination: 'dr', StateDirectory: 'state', ...settings }));
}

/** SET folders in the phase-1 destination that have a manifest (i.e. look complete). */
function completeSets(cwd: string, dest = 'dr'): string[] {
  const dir = join(cwd, dest);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => existsSync(join(dir, n, 'manifest.json')));
}

describe('bad input (CLI in-process, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('a missing database file: one line naming it, exit 1, no SET', async () => {
    const cwd = tempDir();
    writeConfig(cwd, { Database: { engine: 'sqlite', path: 'missing/commserv.db' } });
    const io = capture(cwd);
    const code = await exec(['start', '--s3-endpoint', moto.endpoint()], io);
    expect(code).toBe(1);
    expect(io.err()).toContain(`commserve-dr: DR job failed: phase 1 failed: CommServe database not found: ${join(cwd, 'missing/commserv.db')}`);
    expect(io.err()).not.toMatch(/\n\s+at /);
    expect(io.out()).toContain('· Failed');
    // Only the job's history record is in the phase-1 destination: no SET folder at all.
    expect(readdirSync(join(cwd, 'dr'))).toEqual(['jobs']);
  });

  it('a database that is not SQLite: exit 1, no SET', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserv.db'), 'MSSQL page dump, not an SQLite file\n'.repeat(20));
    writeConfig(cwd, { Database: { engine: 'sqlite', path: 'commserv.db' } });
    const io = capture(cwd);
    expect(await exec(['start', '--s3-endpoint', moto.endpoint()], io)).toBe(1);
    expect(io.err()).toMatch(/commserv\.db is not an SQLite database/);
    expect(completeSets(cwd)).toEqual([]);
  });

  it('an unwritable phase-1 destination: retried, then the local copy is skipped, the SET goes to the hot-site, exit 3', async () => {
    const cwd = tempDir();
    makeDatabase(join(cwd, 'commserv.db'), 100);
    writeFileSync(join(cwd, 'blocker'), 'a file where a directory should be');
    writeConfig(cwd, { Database: { engine: 'sqlite', path: 'commserv.db' }, Phase1Destination: 'blocker/dr', DestinationRetryCount: 2, DestinationRetryIntervalSeconds: 0 });
    const io = capture(cwd);
    expect(await exec(['start', '--s3-endpoint', moto.endpoint(), '--json'], io)).toBe(3);
    const { record } = JSON.parse(io.out());
    expect(record).toMatchObject({ status: 'Completed With One or More Errors', phase2: 'archived', copies: { phase1Destination: null, hotSite: 's3://commserve-dr-hot-site/sets/SET_0000001/' } });
    expect(record.events.find((e: { code: string }) => e.code === 'DESTINATION_UNWRITABLE').message).toBe(
      `phase-1 destination ${join(cwd, 'blocker/dr')} cannot be written: not a directory (ENOTDIR) after 2 attempt(s): the local copy is skipped, the SET goes straight to the hot-site`,
    );
    const listed = await motoS3Client().send(new ListObjectsV2Command({ Bucket: 'commserve-dr-hot-site', Prefix: 'sets/SET_0000001/' }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toContain('sets/SET_0000001/manifest.json');
  });

  it('an unreachable hot-site endpoint: the SET is committed locally, exit 3 with a record; the next job re-fills the hot-site and is Completed', async () => {
    const cwd = tempDir();
    makeDatabase(join(cwd, 'commserv.db'), 100);
    writeConfig(cwd, { Database: { engine: 'sqlite', path: 'commserv.db' } });
    const closedPort = await freeLoopbackPort();
    const io = capture(cwd);
    expect(await exec(['start', '--s3-endpoint', `http://127.0.0.1:${closedPort}`, '--json'], io)).toBe(3);
    const { record } = JSON.parse(io.out());
    expect(record).toMatchObject({
      jobId: 1,
      setName: 'SET_0000001',
      status: 'Completed With One or More Errors',
      phase2: 'not-run',
      copies: { phase1Destination: join(cwd, 'dr', 'SET_0000001'), hotSite: null, archive: null },
    });
    const unreachable = record.events.find((e: { code: string }) => e.code === 'HOTSITE_UNREACHABLE');
    expect(unreachable.message).toMatch(
      new RegExp(`^hot-site unreachable while trying to reach the bucket \\(bucket commserve-dr-hot-site\\): ECONNREFUSED.* at http://127\\.0\\.0\\.1:${closedPort}: this job writes its SET to the phase-1 destination only \\(the next job re-fills the hot-site\\)$`),
    );
    expect(completeSets(cwd)).toEqual(['SET_0000001']);
    // The record is in the phase-1 destination (the hot-site could not take it).
    expect(JSON.parse(readFileSync(join(cwd, 'dr', 'jobs', '001.json'), 'utf8'))).toMatchObject({ jobId: 1, status: 'Completed With One or More Errors' });

    // The endpoint is back: the next job re-fills the hot-site with SET_0000001, then runs its own SET.
    const next = capture(cwd);
    // (This bare database has no registry: the job ends with errors for that reason alone.)
    expect(await exec(['start', '--s3-endpoint', moto.endpoint(), '--json'], next)).toBe(3);
    const second = JSON.parse(next.out());
    expect(second.record).toMatchObject({ jobId: 2, phase2: 'archived', copies: { hotSite: 's3://commserve-dr-hot-site/sets/SET_0000002/' } });
    expect(second.record.events.filter((e: { level: string }) => e.level === 'error').map((e: { code: string }) => e.code)).toEqual(['REGISTRY_KEY_MISSING']);
    expect(second.refill.uploaded).toEqual(['SET_0000001']);
    const keys = ((await motoS3Client().send(new ListObjectsV2Command({ Bucket: 'commserve-dr-hot-site', Prefix: 'sets/' }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(expect.arrayContaining(['sets/SET_0000001/manifest.json', 'sets/SET_0000002/manifest.json']));
  });

  it('an unreachable SQL Server (real mssql driver, closed port): retried DbRetryCount times, then one line, exit 1, no SET', async () => {
    const cwd = tempDir();
    const port = await freeLoopbackPort();
    writeConfig(cwd, {
      Database: { engine: 'sqlserver', server: '127.0.0.1', port, database: 'CommServ', user: 'sqladmin_cs', passwordEnv: 'CS_DR_BAD_INPUT_PW' },
      DbRetryCount: 2,
      DbRetryIntervalMinutes: 0,
    });
    process.env.CS_DR_BAD_INPUT_PW = 'Sup3r-Secret!';
    try {
      const io = capture(cwd);
      expect(await exec(['start', '--s3-endpoint', moto.endpoint(), '--json'], io)).toBe(1);
      const { record } = JSON.parse(io.out());
      const error = record.events.find((e: { level: string }) => e.level === 'error');
      expect(error.code).toBe('DB_UNREACHABLE');
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).toMatch(/\(gave up after 3 attempts\)$/);
      expect(io.out() + io.err()).not.toContain('Sup3r-Secret!');
      expect(completeSets(cwd)).toEqual([]);
    } finally {
      delete process.env.CS_DR_BAD_INPUT_PW;
    }
  });

  it('invalid settings: exit 2 with every problem and its key at once', async () => {
    const cwd = tempDir();
    writeConfig(cwd, { RetainCycles: 0, ArchiveStorageClass: 'STANDARD', Bogus: true });
    const io = capture(cwd);
    expect(await exec(['config'], io)).toBe(2);
    expect(io.err()).toMatch(/RetainCycles/);
    expect(io.err()).toMatch(/ArchiveStorageClass/);
    expect(io.err()).toMatch(/Bogus/);
  });

  it('a usage mistake: exit 2 and a hint, no stack trace', async () => {
    const io = capture(tempDir());
    expect(await exec(['backup', '--type', 'incremental'], io)).toBe(2);
    expect(io.err()).toMatch(/expected full, differential or log/);
    expect(io.err()).toMatch(/commserve-dr --help/);
  });

  it('start --s3-endpoint that is not an http(s) URL: a usage error (exit 2) naming the option and the value, before any work', async () => {
    const cwd = tempDir();
    for (const value of ['notaurl', 'ftp://127.0.0.1:21']) {
      const io = capture(cwd);
      expect(await exec(['start', '--s3-endpoint', value], io)).toBe(2);
      expect(io.err()).toContain(`option '--s3-endpoint <url>' argument '${value}' is invalid. expected an http:// or https:// URL`);
    }
    expect(existsSync(join(cwd, '.commserve-dr'))).toBe(false);
  });

  it('a second job while one holds the phase-1 lock is refused with a clear message', async () => {
    const cwd = tempDir();
    makeDatabase(join(cwd, 'commserv.db'), 100);
    writeConfig(cwd, { Database: { engine: 'sqlite', path: 'commserv.db' } });
    mkdirSync(join(cwd, 'state'), { recursive: true });
    const release = await acquirePhase1Lock(join(cwd, 'state'));
    try {
      const io = capture(cwd);
      expect(await exec(['start', '--s3-endpoint', moto.endpoint()], io)).toBe(1);
      expect(io.err()).toMatch(/another DR backup job is in phase 1/);
      expect(completeSets(cwd)).toEqual([]);
    } finally {
      await release();
    }
  });
});
