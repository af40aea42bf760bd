/**
 * Issue 16 item 8: SETs written with today's 3-digit names (`SET_0000001`) and SETs written with the 7-digit names that
 * sort as plain text, side by side in one phase-1 destination and one bucket — listed, chained, scrubbed and repaired,
 * recovered and pruned by job id (real SQLite, file hive, moto).
 *
 * The "agent before the change" is this agent with `setName` answering the legacy spelling (a jest module mock of
 * `core/set-id`'s `setName` only; parsing, ordering and everything else is the real module), switched off after job 2.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { runRecover } from '#agent/commands/recover/recover';
import { runPrune } from '#agent/commands/prune/prune';
import { exec } from '#agent/cli';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { capture } from '../../support/cli';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

type SetIdModule = typeof import('#core/set-id');
let mockLegacyNames = true;
jest.mock('#core/set-id', () => {
  const actual = jest.requireActual<SetIdModule>('#core/set-id');
  return { ...actual, setName: (jobId: number) => (mockLegacyNames ? actual.legacySetName(jobId) : actual.setName(jobId)) };
});
const { setName, legacySetName, compareSetNames } = jest.requireActual<SetIdModule>('#core/set-id');

const logger = createLogger({ level: 'silent' });
const noProcesses = { processNames: [] as string[] };

describe('legacy (3-digit) and new (7-digit) SET names side by side (real SQLite, file hive, moto)', () => {
  // One bucket of its own for the whole file, never reset: the steps below build on each other.
  const moto = { endpoint: motoEndpoint };
  const tempDir = useTempDirs('commserve-dr-set-names-');
  let root: string;
  let raw: Record<string, unknown>;
  let settings: Settings;
  let bucket: string;
  /** Saved copies of the source database after each job, by job id. */
  const dbAt = new Map<number, string>();
  const s3 = () => motoS3Client();

  async function job(type: 'FULL' | 'DIFFERENTIAL', jobId: number) {
    const result = await runPhase1({ settings, requestedType: type, s3: s3(), logger });
    const source = new Database(join(root, 'cs', 'commserv.db'), { readonly: true });
    await source.backup(join(root, 'source-at', `${jobId}.db`));
    source.close();
    dbAt.set(jobId, join(root, 'source-at', `${jobId}.db`));
    return result;
  }
  const mutate = (seed: number) => mutateSampleCommServe(join(root, 'cs', 'commserv.db'), { fraction: 0.02, seed });
  const localNames = () => readdirSync(settings.Phase1Destination).filter((n) => n.startsWith('SET_'));
  const hotSiteNames = async () => {
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/', Delimiter: '/' }));
    return (listed.CommonPrefixes ?? []).map((p) => p.Prefix!.slice('sets/'.length, -1));
  };
  const manifestOf = (name: string) => parseManifest(readFileSync(join(settings.Phase1Destination, name, 'manifest.json')));

  beforeAll(async () => {
    root = tempDir();
    await generateSampleCommServe({ dir: join(root, 'cs'), sizeBytes: 2 * MiB, seed: 16 });
    mkdirSync(join(root, 'source-at'));
    bucket = `set-names-${randomBytes(6).toString('hex')}`;
    await s3().send(new CreateBucketCommand({ Bucket: bucket }));
    raw = {
      Database: { engine: 'sqlite', path: join(root, 'cs', 'commserv.db') },
      Registry: { store: 'file-hive', hiveFile: join(root, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
      FirewallDirectory: join(root, 'cs', 'firewall'),
      Phase1Destination: join(root, 'dr'),
      StateDirectory: join(root, 'state'),
      HotSite: { bucket, endpoint: moto.endpoint() },
      PublishMetrics: false,
    };
    settings = parseSettings(raw, 'test');

    // Before the change: a FULL and a DIFFERENTIAL with 3-digit names.
    mockLegacyNames = true;
    await job('FULL', 1);
    mutate(61);
    await job('DIFFERENTIAL', 2);
    // After the change: a DIFFERENTIAL on the legacy FULL, then a new cycle.
    mockLegacyNames = false;
    mutate(62);
    await job('DIFFERENTIAL', 3);
    await job('FULL', 4);
    mutate(63);
    await job('DIFFERENTIAL', 5);
  }, 240_000);

  it('each SET keeps the name it was written with, locally and at the hot-site; the new names list in job order as plain text', async () => {
    const expected = [legacySetName(1), legacySetName(2), setName(3), setName(4), setName(5)];
    expect(legacySetName(1)).not.toBe(setName(1));
    expect(localNames().sort(compareSetNames)).toEqual(expected);
    expect((await hotSiteNames()).sort(compareSetNames)).toEqual(expected);
    // What `aws s3 ls` / `ls` show: the new names in job order among themselves.
    const newOnes = (await hotSiteNames()).filter((n) => n.length === setName(1).length);
    expect(newOnes).toEqual([setName(3), setName(4), setName(5)]);
  });

  it('a DIFFERENTIAL after the change names its legacy FULL as written; the manifest chain links across the change', () => {
    const diff = manifestOf(setName(3));
    expect(diff).toMatchObject({ setName: setName(3), backupType: 'DIFFERENTIAL', cycleId: 1, baseFullSet: legacySetName(1) });
    expect(diff.previousManifest?.setName).toBe(legacySetName(2));
    expect(manifestOf(legacySetName(2))).toMatchObject({ setName: legacySetName(2), baseFullSet: legacySetName(1) });
    expect(manifestOf(setName(5))).toMatchObject({ cycleId: 4, baseFullSet: setName(4), previousManifest: { setName: setName(4) } });
  });

  it('sets --json groups both spellings into their cycles by job id and names the newest restorable point', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify(raw));
    const io = capture(cwd);
    expect(await exec(['sets', '--json'], io)).toBe(0);
    const doc = JSON.parse(io.out());
    expect(doc.cycles.map((c: { setName: string; sets: Array<{ setName: string; complete: boolean }> }) => [c.setName, c.sets.map((s) => [s.setName, s.complete])])).toEqual([
      [legacySetName(1), [[legacySetName(1), true], [legacySetName(2), true], [setName(3), true]]],
      [setName(4), [[setName(4), true], [setName(5), true]]],
    ]);
    expect(doc.newestRestorablePoint).toEqual({ sets: [setName(4), setName(5)], jobId: 5 });
  });

  it('a legacy FULL deleted at the hot-site is repaired by the next job under its own name', async () => {
    const key = `sets/${legacySetName(1)}/commserv_FULL.dmp`;
    await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    const next = await job('DIFFERENTIAL', 6);
    expect(next.status).toBe('Completed');
    expect(next.events.find((e) => e.code === 'HOTSITE_REPAIRED')?.message).toBe(`${legacySetName(1)}/commserv_FULL.dmp missing at the hot-site: repaired from the local copy`);
    expect(localNames()).toContain(setName(6));
    expect(await hotSiteNames()).not.toContain(setName(1));
  });

  it('recover from the hot-site: a point on the legacy FULL (asked with either spelling) and the legacy DIFFERENTIAL equal the source', async () => {
    for (const [asked, jobId, sets] of [
      [setName(3), 3, [legacySetName(1), setName(3)]],
      [setName(2), 2, [legacySetName(1), legacySetName(2)]],
      [legacySetName(2), 2, [legacySetName(1), legacySetName(2)]],
    ] as const) {
      const dir = tempDir();
      const recoverSettings = parseSettings({ HotSite: { bucket, endpoint: moto.endpoint() }, StateDirectory: join(dir, 'state'), Phase1Destination: join(dir, 'dr') }, 'test');
      const to = join(dir, 'new-commserve');
      const result = await runRecover({ settings: recoverSettings, s3: s3(), logger, to, setName: asked, preflight: noProcesses });
      expect({ asked, exitCode: result.exitCode, sets: result.document.point?.sets }).toEqual({ asked, exitCode: 0, sets: [...sets] });
      expect(tableDigests(join(to, 'commserv.db'))).toEqual(tableDigests(dbAt.get(jobId)!));
    }
  }, 120_000);

  it('prune expires the legacy cycle by job id, at the hot-site and locally, and keeps the new ones', async () => {
    // A FULL closes cycle 4: with RetainCycles 1, cycle 4 is the one kept and the legacy cycle 1 expires.
    await job('FULL', 7);
    const pruneSettings = parseSettings({ ...raw, RetainCycles: 1 }, 'test');
    const { document } = await runPrune({ settings: pruneSettings, s3: s3() });
    expect(document.applied?.hotSite?.setsDeleted).toEqual([1, 2, 3]);
    expect(document.applied?.local.removed).toEqual([legacySetName(1), legacySetName(2), setName(3)]);
    const kept = [4, 5, 6, 7].map((id) => setName(id));
    expect(localNames().sort(compareSetNames)).toEqual(kept);
    expect((await hotSiteNames()).sort(compareSetNames)).toEqual(kept);
    expect(existsSync(join(settings.Phase1Destination, legacySetName(1)))).toBe(false);
  });
});
