/**
 * Every job has a record (issue 16 items 1 and 2): jobs interrupted (SIGINT) or killed (SIGKILL) at several stages
 * are recorded *Killed* — by the process itself on a signal, by the next job when the process could not — and a job
 * that can write no copy at all fails with a record, the JobFailed metric and a message naming the paths and reasons.
 * Real CLI processes (bin/commserve-dr.js) and the in-process CLI, real SQLite, moto.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { exec } from '#agent/cli';
import { FAULT_ENV } from '#agent/faults';
import { freeLoopbackPort } from '#agent/local/moto-server';
import { capture } from '../support/cli';
import { motoS3Client, useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';
import { reportFaultTable, type FaultRow } from './support/fault-table';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'commserve-dr.js');
const BUCKET = 'commserve-dr-hot-site';
const rows: FaultRow[] = [];

describe('job records for killed jobs and jobs that can write no copy (real processes, SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs('commserve-dr-records-');

  afterAll(() => reportFaultTable('Job record results', 'faults-records-report.md', rows));

  function workplace(extra: Record<string, unknown> = {}) {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: moto.endpoint() }, ...extra }));
    const cli = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };
    const history = async () => JSON.parse((await cli(['history', '--json'])).out).jobs as Array<{ jobId: number; status: string; copies: Record<string, string | null>; events: Array<{ code: string; message: string }> }>;
    return { cwd, cli, history, dest: join(cwd, '.commserve-dr', 'dr-backups') };
  }

  it.each([
    ['dump', 'during the database dump', null],
    ['before-manifest', 'between the last data file and the manifest', null],
    ['after-commit', 'after the local commit, before the hot-site manifest', 'local'],
  ])('SIGKILL at %s: the next job finds the dead job and records it Killed; history shows it', async (point, when, committed) => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '12', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const run = spawnSync(process.execPath, [CLI, 'start', '--type', 'full', '--s3-endpoint', moto.endpoint()], { cwd: w.cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, [FAULT_ENV]: point } });
    expect(run.signal).toBe('SIGKILL');
    // Nothing could write a record: the journal of job 2 is left.
    expect(existsSync(join(w.dest, 'jobs', '002.json'))).toBe(false);
    const journal = join(w.cwd, '.commserve-dr', 'state', 'jobs-in-progress', '2.json');
    expect(existsSync(journal)).toBe(true);
    const lastSeenAlive = JSON.parse(readFileSync(journal, 'utf8')).updatedAt as string;
    const beforeNext = new Date().toISOString();
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    const nextRecord = JSON.parse(next.out).record;
    expect(nextRecord.events.find((e: { code: string }) => e.code === 'KILLED_JOB_RECORDED').message).toMatch(/^job 2 \(SET_0000002\) ended without a record \(its process was killed\): recorded as Killed$/);
    const jobs = await w.history();
    expect(jobs.map((j) => [j.jobId, j.status])).toEqual([
      [1, 'Completed'],
      [2, 'Killed'],
      [3, 'Completed'],
    ]);
    const killed = jobs[1] as (typeof jobs)[number] & { endTime: string; durationMs: number | null; endUnknown: { lastSeenAlive: string; foundAt: string } };
    const event = killed.events.find((e) => e.code === 'JOB_KILLED')!;
    // No end time is claimed: the record says "at or after" the journal's last write, and when the next job found it.
    expect(killed.endTime).toBe(lastSeenAlive);
    expect(killed.endUnknown.lastSeenAlive).toBe(lastSeenAlive);
    expect(killed.endUnknown.foundAt >= beforeNext).toBe(true);
    expect(killed.durationMs).toBeNull();
    expect(event.message).toMatch(/^job 2 was killed \(its agent process, pid \d+ on .+, ended without finishing it\) during \S+, at or after /);
    expect(event.message).toContain(`at or after ${lastSeenAlive} (the last time its journal was written; the exact end is not known), found dead at ${killed.endUnknown.foundAt} by the next job: `);
    const table = (await w.cli(['history'])).out.split('\n').find((l) => l.startsWith('2 '))!;
    expect(table).toContain(`≥${lastSeenAlive.slice(0, 19).replace('T', ' ')}`);
    expect(table).toMatch(/ ≥ \d/);
    if (committed) {
      expect(killed.copies.phase1Destination).toBe(join(w.dest, 'SET_0000002'));
      expect(event.message).toMatch(/the SET committed in .*SET_0000002 stays \(phase 2 did not run: no archive copy\)$/);
    } else {
      expect(killed.copies).toEqual({ phase1Destination: null, hotSite: null, archive: null });
      expect(event.message).toMatch(/no SET of this job was committed/);
    }
    // The record is mirrored at the hot-site too.
    const mirrored = await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/002.json' }));
    expect(JSON.parse(await mirrored.Body!.transformToString()).status).toBe('Killed');
    expect(existsSync(join(w.cwd, '.commserve-dr', 'state', 'jobs-in-progress', '2.json'))).toBe(false);
    rows.push({
      fault: `SIGKILL ${when}`,
      expected: 'next job records job 2 Killed (from its journal), history shows it, job 3 Completed',
      observed: `history: ${jobs.map((j) => `${j.jobId} ${j.status}`).join(', ')}; "${event.message.slice(0, 100)}…"`,
      dataLost: 'none',
    });
  });

  it.each([
    ['DR backup job started', 'in phase 1 (after the job started)', false],
    ['SET written to the phase-1 destination', 'right after the local commit', true],
    ['SET uploaded to the hot-site', 'after the hot-site commit, before phase 2 ends', true],
  ])('SIGINT when the log says "%s": the process itself records the job Killed before it exits 130', async (line, when, committed) => {
    const w = workplace();
    expect((await w.cli(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const child = spawn(process.execPath, [CLI, '-v', '--log-format', 'json', 'start', '--type', 'full', '--s3-endpoint', moto.endpoint()], { cwd: w.cwd, env: { ...process.env, CI: 'true' } });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!sent && stderr.includes(`"msg":"${line}"`)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(sent).toBe(true);
    expect(code).toBe(130);
    // Written by the interrupted process itself: no later job needed.
    const record = JSON.parse(readFileSync(join(w.dest, 'jobs', '002.json'), 'utf8'));
    expect(record).toMatchObject({ jobId: 2, setName: 'SET_0000002', status: 'Killed', phase2: 'not-run' });
    const event = record.events.find((e: { code: string }) => e.code === 'JOB_KILLED');
    expect(event.message).toMatch(/^job 2 was interrupted by SIGINT during /);
    expect(record.copies.phase1Destination).toBe(committed ? join(w.dest, 'SET_0000002') : null);
    expect(existsSync(join(w.cwd, '.commserve-dr', 'state', 'jobs-in-progress', '2.json'))).toBe(false);
    const jobs = await w.history();
    expect(jobs.find((j) => j.jobId === 2)?.status).toBe('Killed');
    // The next job starts cleanly and does not record job 2 a second time.
    const next = await w.cli(['start', '--type', 'full', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(next.code).toBe(0);
    expect(JSON.parse(next.out).record.events.map((e: { code: string }) => e.code)).not.toContain('KILLED_JOB_RECORDED');
    rows.push({
      fault: `SIGINT ${when}`,
      expected: 'exit 130; the process writes job 2 Killed itself; history shows it; next job Completed',
      observed: `exit ${code}; "${event.message.slice(0, 110)}…"; copies.phase1Destination ${record.copies.phase1Destination ? 'set' : 'null'}`,
      dataLost: 'none',
    });
  });

  /** Mounts a tmpfs (`options`: e.g. `ro,size=1m`) and returns its path and the unmount. */
  function mountTmpfs(options: string): { path: string; unmount: () => void } {
    const path = join(tempDir(), 'mnt');
    mkdirSync(path);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this fault needs tmpfs mounts: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
    }
    return { path, unmount: () => execFileSync('umount', ['-l', path], { stdio: 'pipe' }) };
  }

  it('a read-only phase-1 destination and a full staging area: the job fails with a record (job id), JobFailed = 1, and a message naming both paths and reasons', async () => {
    const readOnly = mountTmpfs('ro,size=1m');
    const tiny = mountTmpfs('size=64k');
    try {
      const w = workplace({ Phase1Destination: join(readOnly.path, 'dr'), DestinationRetryCount: 2, DestinationRetryIntervalSeconds: 0 });
      // A real process whose staging area (os.tmpdir(), from TMPDIR) is a 64 KiB disk.
      const run = spawnSync(process.execPath, [CLI, 'start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint(), '--json'], {
        cwd: w.cwd,
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, TMPDIR: tiny.path, CI: 'true' },
      });
      const failed = { code: run.status, out: run.stdout, err: run.stderr };
      expect(failed.code).toBe(1);
      const record = JSON.parse(failed.out).record;
      expect(record).toMatchObject({ jobId: 1, setName: 'SET_0000001', status: 'Failed' });
      const error = record.events.at(-1);
      expect(error.code).toBe('NO_COPY_POSSIBLE');
      expect(error.message).toContain(`phase-1 destination ${join(readOnly.path, 'dr')} cannot be written: read-only file system (EROFS)`);
      expect(error.message).toMatch(/the staging area .* cannot hold the SET: no space left on device/);
      expect(failed.err).toContain('commserve-dr: DR job failed: phase 1 failed: no copy of the SET could be written');
      // The record: at the hot-site (ReportJob) and in the state directory (the destination is read-only).
      const local = JSON.parse(readFileSync(join(w.cwd, '.commserve-dr', 'state', 'jobs', '001.json'), 'utf8'));
      expect(local).toMatchObject({ jobId: 1, status: 'Failed' });
      const mirrored = await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'jobs/001.json' }));
      expect(JSON.parse(await mirrored.Body!.transformToString())).toMatchObject({ jobId: 1, status: 'Failed' });
      const cw = new CloudWatchClient({ endpoint: moto.endpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const metric = await cw.send(
        new GetMetricDataCommand({
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(Date.now() + 3_600_000),
          MetricDataQueries: [{ Id: 'm', MetricStat: { Metric: { Namespace: 'CommServeDR', MetricName: 'JobFailed', Dimensions: [{ Name: 'Cell', Value: 'default' }] }, Period: 60, Stat: 'Sum' } }],
        }),
      );
      expect(metric.MetricDataResults?.[0]?.Values).toEqual([1]);
      expect((await w.history()).map((j) => [j.jobId, j.status])).toEqual([[1, 'Failed']]);
      rows.push({
        fault: 'read-only phase-1 destination (ro tmpfs) and a full staging area (64 KiB tmpfs)',
        expected: 'job Failed with id, record (hot-site + state directory), JobFailed = 1, both paths and reasons named',
        observed: `exit ${failed.code}; "${error.message.slice(0, 160)}…"; JobFailed ${metric.MetricDataResults?.[0]?.Values}`,
        dataLost: 'none (no copy could be written; the previous points are untouched)',
      });
    } finally {
      tiny.unmount();
      readOnly.unmount();
    }
  });

  it('a read-only phase-1 destination and an unreachable hot-site: the job fails at once with a record in the state directory naming both', async () => {
    const readOnly = mountTmpfs('ro,size=1m');
    try {
      const w = workplace({ Phase1Destination: join(readOnly.path, 'dr'), DestinationRetryCount: 1 });
      const closed = `http://127.0.0.1:${await freeLoopbackPort()}`;
      const failed = await w.cli(['start', '--sample-size-mb', '2', '--s3-endpoint', closed, '--json']);
      expect(failed.code).toBe(1);
      const record = JSON.parse(failed.out).record;
      expect(record).toMatchObject({ jobId: 1, status: 'Failed', copies: { phase1Destination: null, hotSite: null, archive: null } });
      const message = record.events.find((e: { code: string }) => e.code === 'NO_COPY_POSSIBLE').message;
      expect(message).toMatch(/read-only file system \(EROFS\) after 1 attempt\(s\), and hot-site unreachable while trying to reach the bucket/);
      expect(message).toContain(closed);
      expect(JSON.parse(readFileSync(join(w.cwd, '.commserve-dr', 'state', 'jobs', '001.json'), 'utf8'))).toMatchObject({ jobId: 1, status: 'Failed' });
      rows.push({
        fault: 'read-only phase-1 destination and the hot-site endpoint down',
        expected: 'job Failed with id and a record in the state directory, both reasons named',
        observed: `exit ${failed.code}; "${message.slice(0, 160)}…"`,
        dataLost: 'none (nothing could be written)',
      });
    } finally {
      readOnly.unmount();
    }
  });
});
