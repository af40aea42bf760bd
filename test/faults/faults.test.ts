/**
 * Fault-injection suite (issue 8): each fault is injected into a real DR job (real CLI process or
 * in-process CLI, real SQLite, real moto), then the next job runs. For every fault the suite records the
 * expected outcome, the observed outcome and the data lost (must be none), and prints the table
 * (`npm run test:faults`; also part of `npm test`).
 *
 * Data lost is measured, not assumed: the previous restorable point is restored from the hot-site with
 * `recover` after every fault and compared table by table with the database as it was then.
 */
import { reportFaultTable, type FaultRow } from './support/fault-table';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { exec } from '#agent/cli';
import { capture } from '../support/cli';
import { FAULT_ENV } from '#agent/faults';
import { runPrune } from '#agent/commands/prune/prune';
import { loadConfig } from '#agent/config';
import { createHotSiteClient } from '#agent/hotsite/hot-site';
import { motoS3Client, useMoto } from '../support/moto';
import { tableDigests } from '../support/sqlite';
import { useTempDirs } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'commserve-dr.js');
const BUCKET = 'commserve-dr-hot-site';

const rows: FaultRow[] = [];

describe('fault injection (real processes, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs('commserve-dr-faults-');

  afterAll(() => {
    reportFaultTable('Fault-injection results', 'faults-report.md', rows);
  });

  /** A working directory with a config pointing at this worker's moto, and the CLI runners. */
  function workplace(extra: Record<string, unknown> = {}) {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() }, ...extra }));
    const cli = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };
    const killed = (args: string[], point: string) =>
      spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, [FAULT_ENV]: point } });
    const db = join(cwd, '.commserve-dr', 'sample', 'commserv.db');
    return { cwd, cli, killed, db };
  }

  /** Restores the newest restorable point into a fresh directory and returns its table digests (or the error). */
  async function recoverDigests(cli: (args: string[]) => Promise<{ code: number; out: string }>): Promise<ReturnType<typeof tableDigests> | string> {
    const target = tempDir();
    const result = await cli(['recover', '--to', target, '--json']);
    if (result.code !== 0) return `recover exit ${result.code}`;
    return tableDigests(join(target, 'commserv.db'));
  }

  function sets(cwd: string): Record<string, string[]> {
    const dir = join(cwd, '.commserve-dr', 'dr-backups');
    return Object.fromEntries(readdirSync(dir).filter((n) => n.startsWith('SET_')).map((n) => [n, readdirSync(join(dir, n)).sort()]));
  }

  it.each([
    ['dump', 'SIGKILL during the database dump'],
    ['before-manifest', 'SIGKILL between the last data file and the manifest'],
  ])('kill at %s: the SET without a manifest never counts, the next job succeeds, the previous point restores', async (point, fault) => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '12', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const before = tableDigests(w.db);
    const run = w.killed(['start', '--type', 'full', '--s3-endpoint', moto.endpoint()], point);
    expect(run.signal).toBe('SIGKILL');
    const killedSet = sets(w.cwd).SET_0000002;
    expect(killedSet ?? []).not.toContain('manifest.json');
    const list = JSON.parse((await w.cli(['sets', '--json'])).out);
    const counted = list.cycles.flatMap((c: { sets: Array<{ setName: string }> }) => c.sets.map((s) => s.setName));
    expect(counted).not.toContain('SET_0000002');
    // The previous restorable point is intact and restores to the database as it was.
    const restored = await recoverDigests(w.cli);
    expect(restored).toEqual(before);
    // The next job succeeds (the dead job's lock is recovered at once: its process is gone).
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.out).record).toMatchObject({ jobId: 3, status: 'Completed' });
    rows.push({
      fault,
      expected: 'SET_0000002 incomplete and not counted; SET_0000001 restorable; next job Completed',
      observed: `process SIGKILLed; SET_0000002 has ${killedSet ? killedSet.length : 0} file(s), no manifest, not in any cycle; recover of SET_0000001 equal to the source; job 3 ${JSON.parse(next.out).record.status}`,
      dataLost: 'none',
    });
  });

  it('SIGINT (Ctrl-C) during a job: one line, exit 130, lock released, no incomplete SET left, the next job succeeds', async () => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '12', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const before = tableDigests(w.db);
    const child = spawn(process.execPath, [CLI, 'start', '--type', 'full', '--s3-endpoint', moto.endpoint()], { cwd: w.cwd, env: { ...process.env, CI: 'true' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('running the DR job state machine')) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(130);
    const lines = stderr.split('\n').filter((l) => l.startsWith('commserve-dr:'));
    expect(lines).toEqual([expect.stringMatching(/^commserve-dr: interrupted \(SIGINT\): the job did not complete/)]);
    expect(existsSync(join(w.cwd, '.commserve-dr', 'state', 'phase1.lock'))).toBe(false);
    expect(Object.keys(sets(w.cwd))).toEqual(['SET_0000001']);
    const target = tempDir();
    expect((await w.cli(['recover', '--to', target, '--set', 'SET_0000001'])).code).toBe(0);
    const restoredBefore = JSON.stringify(tableDigests(join(target, 'commserv.db'))) === JSON.stringify(before);
    expect(restoredBefore).toBe(true);
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    rows.push({
      fault: 'SIGINT (Ctrl-C) while the job runs',
      expected: 'one line, exit 130, lock released, incomplete SET removed, next job Completed',
      observed: `exit ${code}: "${lines[0]?.slice(0, 80)}…"; lock gone; SETs on disk: ${Object.keys(sets(w.cwd)).join(', ')}; next job ${JSON.parse(next.out).record.status}; SET_0000001 restores equal to the source: ${restoredBefore}`,
      dataLost: 'none',
    });
  });

  it('kill mid-upload (the dump streams to the hot-site before the local commit): the orphan multipart upload is aborted, SET_0000002 never counts, SET_0000001 restores, the next job succeeds', async () => {
    const w = workplace({ DumpCompression: 'none' }); // a plain dump: the sample's brotli-compressed one (the default) fits in one part
    expect((await w.cli(['start', '--sample-size-mb', '20', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const before = tableDigests(w.db);
    const run = w.killed(['start', '--type', 'full', '--s3-endpoint', moto.endpoint()], 'upload');
    expect(run.signal).toBe('SIGKILL');
    const open = await motoS3Client().send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'sets/' }));
    const leftover = (open.Uploads ?? []).map((u) => u.Key);
    expect(leftover).toEqual(['sets/SET_0000002/commserv_FULL.dmp']);
    // Killed during the single pass (hash + upload), before the manifest: incomplete locally and at the hot-site.
    expect(sets(w.cwd).SET_0000002 ?? []).not.toContain('manifest.json');
    const restored = await recoverDigests(w.cli);
    expect(restored).toEqual(before);
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.out).record).toMatchObject({ jobId: 3, status: 'Completed' });
    const after = await motoS3Client().send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'sets/' }));
    expect(after.Uploads ?? []).toEqual([]);
    const list = JSON.parse((await w.cli(['sets', '--json'])).out);
    const counted = list.cycles.flatMap((c: { sets: Array<{ setName: string }> }) => c.sets.map((s) => s.setName));
    expect(counted).not.toContain('SET_0000002');
    rows.push({
      fault: 'SIGKILL mid-upload (after the first part of the dump reached the hot-site, before the local commit)',
      expected: 'orphan multipart upload aborted by the next job; SET_0000002 incomplete and not counted; SET_0000001 restorable; next job Completed',
      observed: `1 open multipart upload after the kill, 0 after the next job; SET_0000002 without manifest, not in any cycle; recover of SET_0000001 equal to the source; job 3 ${JSON.parse(next.out).record.status}`,
      dataLost: 'none',
    });
  });

  it('kill after the local commit, before the hot-site manifest: the complete local SET is re-filled and restores, the next job succeeds', async () => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '12', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const run = w.killed(['start', '--type', 'full', '--s3-endpoint', moto.endpoint()], 'after-commit');
    expect(run.signal).toBe('SIGKILL');
    expect(sets(w.cwd).SET_0000002).toContain('manifest.json');
    const atKill = tableDigests(w.db);
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    // SET_0000002 was complete on disk: the next job re-fills the hot-site with it, and it is a restorable point.
    const manifest = await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000002/manifest.json' }));
    expect(manifest.ContentLength).toBeGreaterThan(0);
    const target = tempDir();
    expect((await w.cli(['recover', '--to', target, '--set', 'SET_0000002'])).code).toBe(0);
    expect(tableDigests(join(target, 'commserv.db'))).toEqual(atKill);
    rows.push({
      fault: 'SIGKILL after the local commit (manifest written), before the hot-site manifest',
      expected: 'SET re-filled from the phase-1 destination; it restores; next job Completed',
      observed: `SET_0000002 complete on disk at the kill; re-filled (manifest at the hot-site) and restores equal to the source; job 3 ${JSON.parse(next.out).record.status}`,
      dataLost: 'none',
    });
  });

  it('disk full during the dump (6 MiB tmpfs destination): the partial SET is removed, the SET goes straight to the hot-site from a staging area, exit 3 with a record, it restores', async () => {
    const w = workplace();
    const mount = join(tempDir(), 'small-disk');
    mkdirSync(mount);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mount], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this fault needs a size-limited file system: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
    }
    try {
      writeFileSync(join(w.cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() }, Phase1Destination: mount }));
      expect((await w.cli(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
      // The CommServe grows past what the destination can hold.
      const conn = new Database(w.db);
      conn.exec('CREATE TABLE IF NOT EXISTS bulk_audit (id INTEGER PRIMARY KEY, blob BLOB)');
      const insert = conn.prepare('INSERT INTO bulk_audit (blob) VALUES (randomblob(65536))');
      for (let i = 0; i < 100; i++) insert.run();
      conn.close();
      const full = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
      const atDump = tableDigests(w.db); // `start` changes the sample CommServe before its job (a day of activity)
      expect(full.code).toBe(3);
      const record = JSON.parse(full.out).record;
      expect(record).toMatchObject({ jobId: 2, status: 'Completed With One or More Errors', phase2: 'archived', copies: { phase1Destination: null, hotSite: `s3://${BUCKET}/sets/SET_0000002/` } });
      const event = record.events.find((e: { code: string }) => e.code === 'DESTINATION_FULL');
      expect(event.message).toBe(`the phase-1 destination ${mount} cannot hold SET_0000002: no space left on device (DUMP_DISK_FULL); the partial SET was removed, the SET goes straight to the hot-site from a staging area`);
      // No partial SET on the full disk; the record is there (written once the partial SET was removed).
      expect(readdirSync(mount).filter((n) => n.startsWith('SET_'))).toEqual(['SET_0000001']);
      expect(JSON.parse(readFileSync(join(mount, 'jobs', '002.json'), 'utf8')).status).toBe('Completed With One or More Errors');
      // The hot-site copy is a restorable point: SET_0000002 restores to the database as it was dumped.
      const target = tempDir();
      expect((await w.cli(['recover', '--to', target, '--set', 'SET_0000002'])).code).toBe(0);
      expect(tableDigests(join(target, 'commserv.db'))).toEqual(atDump);
      rows.push({
        fault: 'disk full during the dump (6 MiB tmpfs phase-1 destination)',
        expected: 'partial SET removed; SET staged and sent straight to the hot-site; job Completed With One or More Errors (exit 3) with a record; the SET restores',
        observed: `exit ${full.code}, job ${record.status}: "${event.message.slice(0, 90)}…"; only SET_0000001 on the small disk; SET_0000002 at the hot-site and archived; recover of SET_0000002 equal to the source`,
        dataLost: 'none',
      });
    } finally {
      execFileSync('umount', ['-l', mount], { stdio: 'pipe' });
    }
  });

  it.each([
    ['a truncated dump file at the hot-site', 'truncate'],
    ['a manifest with a wrong hash at the hot-site', 'manifest'],
  ])('%s: served from the intact phase-1 copy; with that copy gone, verify reports it and recover waits for the archive copy without touching the target', async (fault, kind) => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const s3 = motoS3Client();
    if (kind === 'truncate') {
      const dump = join(w.cwd, 'dump.tmp');
      copyFileSync(join(w.cwd, '.commserve-dr', 'dr-backups', 'SET_0000001', 'commserv_FULL.dmp'), dump);
      truncateSync(dump, 4096 * 3);
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/commserv_FULL.dmp', Body: readFileSync(dump) }));
    } else {
      const manifest = JSON.parse(readFileSync(join(w.cwd, '.commserve-dr', 'dr-backups', 'SET_0000001', 'manifest.json'), 'utf8'));
      manifest.files[0].sha256 = 'f'.repeat(64);
      delete manifest.files[0].s3;
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/manifest.json', Body: JSON.stringify(manifest) }));
    }
    // With the phase-1 copy intact, recovery reads each file from the cheapest intact copy: it serves, the damage is named.
    const served = await w.cli(['recover', '--to', tempDir(), '--set', 'SET_0000001', '--dry-run', '--json']);
    expect(served.code).toBe(0);
    // The phase-1 destination lost too (moved aside, as a disaster would): the hot-site copy alone is damaged.
    const setDir = join(w.cwd, '.commserve-dr', 'dr-backups', 'SET_0000001');
    const aside = join(tempDir(), 'SET_0000001');
    renameSync(setDir, aside);
    const target = tempDir();
    const recover = await w.cli(['recover', '--to', target, '--set', 'SET_0000001']);
    // The next copy is archive/ (GLACIER): recovery asks for its restore and waits (exit 3) instead of using the damaged one.
    expect(recover.code).toBe(3);
    expect(recover.out).toContain('Recovery waiting for archive restores');
    expect(existsSync(join(target, 'commserv.db'))).toBe(false);
    // verify judges the point by every copy (newcomer review finding 1). A truncated dump: the archive copy (restored
    // by now: moto restores at once) is intact, so the point is restorable and the damaged hot-site copy is named
    // (exit 3). A manifest with a wrong hash: no copy matches the manifest read, the point fails (exit 1).
    const verify = await w.cli(['verify', '--json']);
    const verifyDoc = JSON.parse(verify.out);
    if (kind === 'truncate') {
      expect([verify.code, verifyDoc.verification.result]).toEqual([3, 'restorable']);
      expect(verifyDoc.damagedCopies).toEqual([expect.objectContaining({ set: 'SET_0000001', file: 'commserv_FULL.dmp', copy: 'hot-site', key: 'sets/SET_0000001/commserv_FULL.dmp' })]);
    } else {
      expect([verify.code, verifyDoc.verification.result]).toEqual([1, 'failed']);
    }
    // The moved-aside phase-1 copy still holds the good SET: nothing is lost.
    expect(readdirSync(aside)).toContain('manifest.json');
    rows.push({
      fault,
      expected: 'served from the phase-1 copy; without it recover waits for the archive copy, the target untouched; verify then restorable from the archive naming the damaged hot-site copy (truncated dump), or failed (no copy matches a forged manifest)',
      observed: `dry run from the phase-1 copy exit ${served.code}; without it recover exit ${recover.code} (archive restore requested), target not created; verify exit ${verify.code} (${verifyDoc.verification.result}); the moved-aside copy is intact`,
      dataLost: 'none (the phase-1 destination holds a good copy)',
    });
  });

  it.each([
    ['+1 day', 1],
    ['-1 day', -1],
  ])('clock skew of %s between agent and bucket: retention keeps every needed SET', async (label, days) => {
    const w = workplace({ RetainCycles: 1 });
    for (const type of ['full', 'differential', 'full', 'differential']) {
      expect((await w.cli(['start', '--type', type, '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    }
    const { settings } = loadConfig(undefined, w.cwd);
    const skewed = new Date(Date.now() + days * 86_400_000);
    const { document } = await runPrune({ settings, s3: createHotSiteClient(settings.HotSite), dryRun: true, now: skewed });
    const decisions = document.plan.hotSite.decisions;
    const keep = decisions.filter((d) => d.action === 'keep').map((d) => d.setName);
    expect(keep).toEqual(expect.arrayContaining(['SET_0000003', 'SET_0000004']));
    rows.push({
      fault: `clock skew ${label} between agent and bucket (prune planned at a skewed "now")`,
      expected: 'the open cycle and the newest restorable point kept',
      observed: `kept ${keep.join(', ')}; expired ${decisions.filter((d) => d.action === 'expire').map((d) => d.setName).join(', ') || 'none'}`,
      dataLost: 'none',
    });
  });
});
