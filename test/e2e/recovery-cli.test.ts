/**
 * The operator's disaster path through the CLI (in-process `exec`): DR jobs, then `verify`, `sets`,
 * `recover --dry-run`, `recover`, `fetch` and `prune --dry-run` against the moto hot-site (real SQLite).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { exec } from '#agent/cli';
import { setName } from '#core/set-id';
import { capture } from '../support/cli';
import { useMoto } from '../support/moto';
import { tableDigests } from '../support/sqlite';
import { useTempDirs } from '../support/tmp';

describe('recovery through the CLI (in-process, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('verifies, recovers the newest restorable point (FULL + DIFF) and fetches a SET', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    const run = async (args: string[]) => {
      const io = capture(cwd);
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err() };
    };
    expect((await run(['start', '--sample-size-mb', '3', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    expect((await run(['start', '--s3-endpoint', moto.endpoint()])).code).toBe(0);
    const source = tableDigests(join(cwd, '.commserve-dr', 'sample', 'commserv.db'));

    const verify = await run(['verify', '--json']);
    expect(verify.code).toBe(0);
    expect(JSON.parse(verify.out)).toMatchObject({ status: 'restorable', verification: { setName: 'SET_0000002', sets: ['SET_0000001', 'SET_0000002'], result: 'restorable' } });
    const sets = await run(['sets', '--json']);
    const doc = JSON.parse(sets.out);
    expect(doc.newestRestorablePoint).toEqual({ sets: ['SET_0000001', 'SET_0000002'], jobId: 2 });
    expect(doc.cycles[0].sets[1].verified).toMatchObject({ result: 'restorable' });

    const target = join(tempDir(), 'new-commserve');
    const plan = await run(['recover', '--to', target, '--dry-run']);
    expect(plan.code).toBe(0);
    expect(existsSync(join(target, 'commserv.db'))).toBe(false);

    const recover = await run(['recover', '--to', target, '--json']);
    expect({ code: recover.code, err: recover.err.split('\n').filter((l) => l.startsWith('commserve-dr:')) }).toEqual({ code: 0, err: [] });
    const report = JSON.parse(recover.out);
    expect(report.status).toBe('recovered');
    const db = new Database(join(target, 'commserv.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(tableDigests(join(target, 'commserv.db'))).toEqual(source);
    expect(existsSync(join(target, 'registry', 'commserv_hive.reg'))).toBe(true);
    expect(existsSync(join(target, 'firewall', 'FwPeers.txt'))).toBe(false); // only with --firewall
    // Default (auto): no check re-run — the image is the one the backup job's full check passed on, named in the
    // report with its SHA-256; --integrity-check full runs it.
    expect(report.database).toMatchObject({ integrity: 'ok', integrityCheck: 'none', integrityCheckReason: expect.stringContaining(`SHA-256 ${report.database.sha256} is the image on which PRAGMA integrity_check passed in backup job`) });
    const full = await run(['recover', '--to', join(tempDir(), 'full-check'), '--integrity-check', 'full', '--json']);
    expect(full.code).toBe(0);
    expect(JSON.parse(full.out).database).toMatchObject({ integrity: 'ok', integrityCheck: 'full' });
    expect((await run(['recover', '--to', join(tempDir(), 'y'), '--integrity-check', 'fast'])).code).toBe(2);

    // --json: one shape for success and every failure, with the exit code in it.
    expect(report.exitCode).toBe(0);
    const refused = await run(['recover', '--to', target, '--json']); // the target holds the recovered database now
    const emptyTo = await run(['recover', '--to', '', '--json']);
    const unused = join(tempDir(), 'z');
    const badOption = await run(['recover', '--to', unused, '--no-such-option', '--json']);
    const failures = [refused, emptyTo, badOption].map((r) => ({ code: r.code, doc: JSON.parse(r.out) }));
    expect(failures.map((f) => [f.code, f.doc.exitCode, f.doc.status, f.doc.error.code])).toEqual([
      [1, 1, 'refused', 'TARGET_EXISTS'],
      [2, 2, 'failed', 'USAGE'],
      [2, 2, 'failed', 'USAGE'],
    ]);
    for (const f of failures) expect(Object.keys(f.doc).sort()).toEqual(Object.keys(report).sort());
    expect(failures[1].doc.error.message).toContain('--to names no directory');

    // --force into the same target: the earlier recovery's report is moved aside like the database and hive, and named.
    const earlierReport = readFileSync(join(target, 'commserve-dr-recovery-report.json'), 'utf8');
    const earlierText = readFileSync(join(target, 'commserve-dr-recovery-report.txt'), 'utf8');
    const forced = await run(['recover', '--to', target, '--force', '--json']);
    expect(forced.code).toBe(0);
    const movedAside = JSON.parse(forced.out).targetChanges.movedAside as Array<{ path: string; movedTo: string }>;
    const aside = (name: string) => movedAside.find((m) => m.path === join(target, name))?.movedTo;
    for (const name of ['commserv.db', 'commserve-dr-recovery-report.json', 'commserve-dr-recovery-report.txt']) {
      expect(aside(name)).toMatch(new RegExp(`^${join(target, name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.before-recovery-\\d{8}T\\d{6}Z`));
    }
    expect(readFileSync(aside('commserve-dr-recovery-report.json')!, 'utf8')).toBe(earlierReport);
    expect(readFileSync(aside('commserve-dr-recovery-report.txt')!, 'utf8')).toBe(earlierText);
    const newReport = JSON.parse(readFileSync(join(target, 'commserve-dr-recovery-report.json'), 'utf8'));
    expect(newReport.targetChanges.movedAside).toEqual(movedAside);
    expect(readFileSync(join(target, 'commserve-dr-recovery-report.txt'), 'utf8')).toContain(`Kept (moved aside, not deleted): ${join(target, 'commserve-dr-recovery-report.json')} → ${aside('commserve-dr-recovery-report.json')}`);
    expect(failures[2].doc).toMatchObject({ command: 'recover', point: null, checksums: [], target: { directory: unused } });

    // One moment for the point, in one format, everywhere: the newest SET's captured state (manifest pointTime).
    const pointTime = JSON.parse(readFileSync(join(cwd, '.commserve-dr', 'dr-backups', setName(2), 'manifest.json'), 'utf8')).pointTime;
    expect(pointTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect([report.point.pointInTime, report.plan.pointInTime]).toEqual([pointTime, pointTime]);
    const textRun = await run(['recover', '--to', join(tempDir(), 'text')]);
    expect(textRun.code).toBe(0);
    const pointLines = textRun.out.split('\n').filter((l) => /^(Point|Restore point): /.test(l));
    expect(pointLines).toEqual([`Point: ${setName(1)} + ${setName(2)}, state at ${pointTime}`, `Restore point: ${setName(2)} (state at ${pointTime}) from ${setName(1)} + ${setName(2)}`]);
    // Wherever the point's state is dated, it is that one moment (other times, e.g. when a backup job ended, are labelled as such).
    expect(new Set([...textRun.out.matchAll(/state at (\S+?)\)?[,\s]/g)].map((m) => m[1]))).toEqual(new Set([pointTime]));

    const fetched = await run(['fetch', 'SET_0000001', '--to', join(cwd, 'fetched')]);
    expect(fetched.code).toBe(0);
    expect(existsSync(join(cwd, 'fetched', 'SET_0000001', 'commserv_FULL.dmp'))).toBe(true);
    expect(existsSync(join(cwd, 'fetched', 'SET_0000001', 'manifest.json'))).toBe(true);

    const prune = await run(['prune', '--dry-run', '--json']);
    expect(prune.code).toBe(0);
    const pruneDoc = JSON.parse(prune.out);
    expect(pruneDoc.dryRun).toBe(true);
    expect(pruneDoc.applied).toBeNull();

    const unknown = await run(['recover', '--to', join(tempDir(), 'x'), '--set', 'SET_0000099']);
    expect(unknown.code).toBe(2);
  });
});
