/**
 * LOG points after a day with an unwritable phase-1 destination (issue 15, SPEC §4.5, §6.1) on the real path: the real
 * phase 1 (SQLite, file hive), the hot-site on moto, a phase-1 destination on a real tmpfs remounted read-only for
 * that day. The LOG continues the newest point intact in any copy — the hot-site-only FULL or DIFFERENTIAL of that
 * day — not an older point on disk; the files it reads from that point are fetched from the hot-site into the state
 * directory (checked against the manifest), never into the destination. Each LOG point is recovered and compared row
 * for row with a saved copy of the source at that moment (`sqldiff` when installed), and its integrity checked.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { runRecover } from '#agent/commands/recover/recover';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { parseManifest, type Manifest } from '#core/manifest';
import { setName } from '#core/set-id';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { rowDifferences, sourceSaver } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { logger } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };

describe('a LOG point continues the newest point in any copy (real SQLite, moto, read-only tmpfs for the unwritable day)', () => {
  const tempDir = useTempDirs('commserve-dr-log-base-');

  /** A sample CommServe, its own bucket, a phase-1 destination on a tmpfs that `remount` makes read-only and back. */
  async function setup() {
    const dir = tempDir();
    const disk = join(dir, 'dr-disk');
    mkdirSync(disk);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', disk], { stdio: 'pipe' });
    } catch (error) {
      throw new Error(`this test needs a tmpfs it can remount read-only: mount -t tmpfs failed (${(error as Error).message}); run the suite as root`);
    }
    const cs = join(dir, 'cs');
    await generateSampleCommServe({ dir: cs, sizeBytes: 2 * MiB, seed: 91 });
    const bucket = `log-base-${process.pid}-${randomBytes(4).toString('hex')}`;
    await motoS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cs, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cs, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cs, 'firewall'),
        Phase1Destination: join(disk, 'dr'),
        StateDirectory: join(dir, 'state'),
        HotSite: { bucket, endpoint: motoEndpoint() },
        DestinationRetryCount: 1,
        DestinationRetryIntervalSeconds: 0,
      },
      'test',
    );
    const db = join(cs, 'commserv.db');
    // A copy of the source as it is now (nothing writes during a job here: the moment the LOG captured).
    const saveAs = sourceSaver(db, dir);
    const remount = (mode: 'ro' | 'rw') => execFileSync('mount', ['-o', `remount,${mode}`, disk], { stdio: 'pipe' });
    const unmount = () => execFileSync('umount', ['-l', disk], { stdio: 'pipe' });
    const job = (type: 'FULL' | 'DIFFERENTIAL' | 'LOG') => runPhase1({ settings, requestedType: type, s3: motoS3Client(), logger });
    /** One job on a day the phase-1 destination cannot be written: its SET goes to the hot-site only. */
    const unwritableDay = async (type: 'FULL' | 'DIFFERENTIAL') => {
      remount('ro');
      try {
        return await job(type);
      } finally {
        remount('rw');
      }
    };
    const manifestOf = (n: number): Manifest => parseManifest(readFileSync(join(settings.Phase1Destination, setName(n), 'manifest.json')));
    return { dir, settings, db, saveAs, job, unwritableDay, unmount, manifestOf };
  }

  /** Recovers `SET_n` and expects exactly the rows of `source`, integrity ok. @returns the recovery document. */
  async function expectRecoveredAs(settings: Settings, dir: string, n: number, source: string) {
    const to = join(dir, `recovered-${n}`);
    const result = await runRecover({ settings, s3: motoS3Client(), logger, to, setName: setName(n), preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(rowDifferences(join(to, 'commserv.db'), source)).toBe('');
    const check = new Database(join(to, 'commserv.db'), { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    return result.document;
  }

  it('after a FULL staged to the hot-site only, the LOG points continue that FULL (not the older local one) and recover to the source at their moment', async () => {
    const { dir, settings, db, saveAs, job, unwritableDay, unmount, manifestOf } = await setup();
    try {
      expect((await job('FULL')).status).toBe('Completed');
      mutateSampleCommServe(db, { fraction: 0.02, seed: 92 });
      const staged = await unwritableDay('FULL');
      expect(staged).toMatchObject({ backupType: 'FULL', status: 'Completed With One or More Errors' });
      expect(existsSync(join(settings.Phase1Destination, setName(2)))).toBe(false);

      mutateSampleCommServe(db, { fraction: 0.005, seed: 93 });
      expect(await job('LOG')).toMatchObject({ backupType: 'LOG', status: 'Completed' });
      const at3 = await saveAs(3);
      const log3 = manifestOf(3);
      // The open cycle is the hot-site-only FULL's: the LOG continues it.
      expect(log3).toMatchObject({ backupType: 'LOG', cycleId: 2, baseFullSet: setName(2), previousSet: setName(2) });
      // Its page hashes were fetched into the state directory (checked), never into the destination.
      expect(readdirSync(join(settings.StateDirectory, 'differential-base'))).toEqual([setName(2)]);
      expect(readdirSync(join(settings.StateDirectory, 'differential-base', setName(2)))).toEqual(['commserv_FULL.pagehashes']);
      expect(readdirSync(settings.Phase1Destination).filter((n) => n.startsWith('SET_')).sort()).toEqual([setName(1), setName(3)]);

      mutateSampleCommServe(db, { fraction: 0.005, seed: 94 });
      expect(await job('LOG')).toMatchObject({ backupType: 'LOG', status: 'Completed' });
      const at4 = await saveAs(4);
      expect(manifestOf(4)).toMatchObject({ cycleId: 2, baseFullSet: setName(2), previousSet: setName(3) });

      const third = await expectRecoveredAs(settings, dir, 3, at3);
      expect(third.point!.sets).toEqual([setName(2), setName(3)]);
      const fourth = await expectRecoveredAs(settings, dir, 4, at4);
      expect(fourth.point!.sets).toEqual([setName(2), setName(3), setName(4)]);
      expect(fourth.plan!.objects.filter((o) => o.file === 'commserv_FULL.dmp').map((o) => `${o.setName} ${o.copy}`)).toEqual([`${setName(2)} hot-site`]);
    } finally {
      unmount();
    }
  });

  it('after a DIFFERENTIAL staged to the hot-site only, the LOG continues that DIFFERENTIAL (its dump fetched and checked) and recovers to the source at its moment', async () => {
    const { dir, settings, db, saveAs, job, unwritableDay, unmount, manifestOf } = await setup();
    try {
      expect((await job('FULL')).status).toBe('Completed');
      mutateSampleCommServe(db, { fraction: 0.02, seed: 95 });
      expect(await unwritableDay('DIFFERENTIAL')).toMatchObject({ backupType: 'DIFFERENTIAL', status: 'Completed With One or More Errors' });
      expect(existsSync(join(settings.Phase1Destination, setName(2)))).toBe(false);

      mutateSampleCommServe(db, { fraction: 0.005, seed: 96 });
      expect(await job('LOG')).toMatchObject({ backupType: 'LOG', status: 'Completed' });
      const at3 = await saveAs(3);
      // The previous point is the hot-site-only DIFFERENTIAL (before: the local FULL, skipping that day's changes).
      expect(manifestOf(3)).toMatchObject({ backupType: 'LOG', cycleId: 1, baseFullSet: setName(1), previousSet: setName(2) });
      const fetched = readdirSync(join(settings.StateDirectory, 'differential-base', setName(2)));
      expect(fetched).toEqual(['commserv_DIFF_2.dmp']);

      const third = await expectRecoveredAs(settings, dir, 3, at3);
      expect(third.point!.sets).toEqual([setName(1), setName(2), setName(3)]);
      const served = Object.fromEntries(third.plan!.objects.filter((o) => o.file.endsWith('.dmp')).map((o) => [o.setName, o.copy]));
      expect(served).toEqual({ [setName(1)]: 'local', [setName(2)]: 'hot-site', [setName(3)]: 'local' });
    } finally {
      unmount();
    }
  });
});
