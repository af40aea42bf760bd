/**
 * `commserve-dr sets` through the CLI in-process: SETs grouped by cycle with verdicts, from the
 * phase-1 destination and the moto hot-site (real SQLite, real moto).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';
import { useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

describe('sets command (CLI in-process, real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('groups FULL and DIFFERENTIAL SETs by cycle, flags an incomplete SET, and names the newest restorable point', async () => {
    const cwd = tempDir();
    for (const type of ['full', 'differential', 'full', 'differential']) {
      const io = capture(cwd);
      const code = await exec(['start', '--sample-size-mb', '2', '--type', type, '--s3-endpoint', moto.endpoint()], io);
      expect({ code, err: io.err().split('\n').filter((l) => l.startsWith('commserve-dr:')) }).toEqual({ code: 0, err: [] });
    }
    // A job killed before its manifest: an incomplete SET that must never count.
    mkdirSync(join(cwd, '.commserve-dr', 'dr-backups', 'SET_0000005'));
    writeFileSync(join(cwd, '.commserve-dr', 'dr-backups', 'SET_0000005', 'commserv_DIFF_5.dmp'), 'partial');

    const io = capture(cwd);
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'commserve-dr-hot-site', endpoint: moto.endpoint() } }));
    // A SET folder without a manifest (not running) is damage to the local copy: exit 3 (newcomer review finding 2).
    expect(await exec(['sets', '--json'], io)).toBe(3);
    const doc = JSON.parse(io.out());
    expect(doc.cycles.map((c: { setName: string; complete: boolean; successful: boolean; open: boolean }) => [c.setName, c.complete, c.successful, c.open])).toEqual([
      ['SET_0000001', true, true, false],
      ['SET_0000003', false, false, true],
    ]);
    expect(doc.cycles[0].sets.map((s: { setName: string; backupType: string; copies: string[] }) => [s.setName, s.backupType, s.copies])).toEqual([
      ['SET_0000001', 'FULL', ['local', 'hot-site', 'archive']],
      ['SET_0000002', 'DIFFERENTIAL', ['local', 'hot-site', 'archive']],
    ]);
    // The open cycle's last DIFFERENTIAL (SET_0000005) has no manifest and failed: the cycle is not successful.
    expect(doc.cycles[1].sets.map((s: { setName: string; complete: boolean; status: string }) => [s.setName, s.complete, s.status])).toEqual([
      ['SET_0000003', true, 'Completed'],
      ['SET_0000004', true, 'Completed'],
      ['SET_0000005', false, 'Failed'],
    ]);
    expect(doc.newestRestorablePoint).toEqual({ sets: ['SET_0000003', 'SET_0000004'], jobId: 4 });
    expect(doc.hotSiteUnavailable).toBeNull();

    const table = capture(cwd);
    expect(await exec(['sets'], table)).toBe(3);
    expect(table.out()).toMatch(/local DAMAGED: no manifest: unfinished or damaged SET \(1 file\(s\)/);
    expect(table.out()).toContain('Cycle SET_0000001 · complete · successful');
    expect(table.out()).toContain('Cycle SET_0000003 · open · NOT successful');
    expect(table.out()).toMatch(/SET_0000005\s+DIFFERENTIAL\s+Failed\s+.*INCOMPLETE/);
    expect(table.out()).toContain('Newest restorable point: SET_0000003 + SET_0000004');
  });
});
