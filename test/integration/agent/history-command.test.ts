/**
 * `commserve-dr history` through the CLI in-process: records kept in the phase-1 destination and mirrored
 * at the moto hot-site, filters, and the table (real SQLite, real moto).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';
import { useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

describe('history command (CLI in-process, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('lists every job with status, copies and events, filters by status and date, and falls back to the hot-site mirror', async () => {
    const cwd = tempDir();
    expect(await exec(['start', '--sample-size-mb', '2', '--s3-endpoint', moto.endpoint()], capture(cwd))).toBe(0);
    expect(await exec(['start', '--type', 'differential', '--s3-endpoint', moto.endpoint()], capture(cwd))).toBe(0);
    // A job that fails in phase 1: the configured database does not exist.
    writeFileSync(join(cwd, 'broken.json'), JSON.stringify({ Database: { engine: 'sqlite', path: 'gone/commserv.db' } }));
    expect(await exec(['--config', 'broken.json', 'start', '--type', 'full', '--s3-endpoint', moto.endpoint()], capture(cwd))).toBe(1);

    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    const all = capture(cwd);
    expect(await exec(['history', '--json'], all)).toBe(0);
    const doc = JSON.parse(all.out());
    expect(doc.jobs.map((j: { jobId: number | null; backupType: string; status: string; source: string[] }) => [j.jobId, j.backupType, j.status, j.source])).toEqual([
      [null, 'FULL', 'Failed', ['local', 'hot-site']],
      [1, 'FULL', 'Completed', ['local', 'hot-site']],
      [2, 'DIFFERENTIAL', 'Completed', ['local', 'hot-site']],
    ]);
    expect(doc.jobs[2].copies.archive).toBe('s3://commserve-dr-hot-site/archive/SET_0000002/');
    expect(doc.jobs[0].events.at(-1).message).toMatch(/^phase 1 failed: CommServe database not found/);

    const failed = capture(cwd);
    expect(await exec(['history', '--status', 'failed', '--json'], failed)).toBe(0);
    expect(JSON.parse(failed.out()).jobs).toHaveLength(1);

    const future = capture(cwd);
    expect(await exec(['history', '--since', '2999-01-01', '--json'], future)).toBe(0);
    expect(JSON.parse(future.out()).jobs).toEqual([]);

    // A recovered CommServe without the phase-1 destination still has the history from the hot-site.
    rmSync(join(cwd, '.commserve-dr', 'dr-backups', 'jobs'), { recursive: true });
    const mirrored = capture(cwd);
    expect(await exec(['history'], mirrored)).toBe(0);
    expect(mirrored.out()).toMatch(/^1\s+FULL\s+Completed\s+/m);
    expect(mirrored.out()).toMatch(/^2\s+DIFFERENTIAL\s+Completed\s+.*local\+hot-site\+archive$/m);
    expect(mirrored.out()).toMatch(/ERROR DB_NOT_FOUND: phase 1 failed: CommServe database not found/);
  });

  it('refuses a bad filter with exit code 2 and one line', async () => {
    const io = capture(tempDir());
    expect(await exec(['history', '--since', 'yesterday'], io)).toBe(2);
    expect(io.err()).toBe('commserve-dr: --since expects a date like 2026-11-29 or 2026-11-29T17:00:00Z, got "yesterday": not an ISO-8601 date\n');
  });
});
