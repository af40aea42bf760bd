/**
 * Shared fixture of the recovery tests: a sample CommServe with FULL → changes → DIFFERENTIAL → changes →
 * DIFFERENTIAL made by the real phase 1 (SQLite, file hive, moto), and helpers that give each test its own bucket
 * holding those SETs under `sets/` (and, when asked, `archive/` in GLACIER).
 */
import { randomBytes } from 'node:crypto';
import { CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '#core/manifest';
import { parseSetName } from '#core/set-id';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { uploadSet } from '#agent/hotsite/stream-upload';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { tableDigests } from '../../support/sqlite';

export const logger = createLogger({ level: 'silent' });

/** The SETs made once per test file, and the source state at each point. */
export interface RecoverFixture {
  root: string;
  /** Phase-1 destination holding SET_0000001 (FULL), SET_0000002, SET_0000003 (DIFFERENTIALs). */
  phase1: string;
  /** The CommServe's firewall directory (the source of the SETs' firewall files). */
  firewallDir: string;
  digestsAtFull: ReturnType<typeof tableDigests>;
  digestsAtLastDiff: ReturnType<typeof tableDigests>;
  /** Saved copies of the source database after each job (SET_0000001, SET_0000002, SET_0000003), for `sqldiff`. */
  dbAt: Record<'SET_0000001' | 'SET_0000002' | 'SET_0000003', string>;
}

let bucketCounter = 0;

/**
 * Builds the fixture in `root` (deletes the source database afterwards: it is "lost"). `settings` are added to the
 * jobs' settings (e.g. `DumpCompression: 'none'` for plain dumps; brotli-compressed by default).
 */
export async function buildFixture(root: string, settings: Record<string, unknown> = {}): Promise<RecoverFixture> {
  const cs = join(root, 'cs');
  await generateSampleCommServe({ dir: cs, sizeBytes: 3 * MiB, seed: 21 });
  // A bucket of its own: a SET left at the hot-site by an earlier test file would move the job ids on.
  const bucket = `recover-source-${randomBytes(6).toString('hex')}`;
  await motoS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
  const jobSettings = parseSettings(
    {
      ...settings,
      Database: { engine: 'sqlite', path: join(cs, 'commserv.db') },
      Registry: { store: 'file-hive', hiveFile: join(cs, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
      FirewallDirectory: join(cs, 'firewall'),
      Phase1Destination: join(root, 'dr'),
      StateDirectory: join(root, 'state'),
      HotSite: { bucket, endpoint: motoEndpoint() },
    },
    'test',
  );
  const db = join(cs, 'commserv.db');
  const run = (type: 'FULL' | 'DIFFERENTIAL') => runPhase1({ settings: jobSettings, requestedType: type, s3: motoS3Client(), logger });
  const saves = join(root, 'source-at');
  mkdirSync(saves, { recursive: true });
  const save = async (name: 'SET_0000001' | 'SET_0000002' | 'SET_0000003') => {
    const copy = new Database(db, { readonly: true });
    await copy.backup(join(saves, `${name}.db`));
    copy.close();
    return join(saves, `${name}.db`);
  };
  await run('FULL');
  const digestsAtFull = tableDigests(db);
  const at1 = await save('SET_0000001');
  mutateSampleCommServe(db, { fraction: 0.02, seed: 31 });
  await run('DIFFERENTIAL');
  const at2 = await save('SET_0000002');
  mutateSampleCommServe(db, { fraction: 0.02, seed: 32 });
  await run('DIFFERENTIAL');
  const digestsAtLastDiff = tableDigests(db);
  const at3 = await save('SET_0000003');
  // The CommServe is lost: only the hot-site remains (each test gets its own copy of the SETs).
  rmSync(db, { force: true });
  const keep = join(root, 'phase1-copy');
  cpSync(jobSettings.Phase1Destination, keep, { recursive: true });
  rmSync(jobSettings.Phase1Destination, { recursive: true, force: true });
  return { root, phase1: keep, firewallDir: join(cs, 'firewall'), digestsAtFull, digestsAtLastDiff, dbAt: { SET_0000001: at1, SET_0000002: at2, SET_0000003: at3 } };
}

/** A fresh bucket with every SET of the fixture under `sets/`, and settings pointing at it. */
export async function freshHotSite(fixture: RecoverFixture, stateDir: string): Promise<{ s3: S3Client; bucket: string; settings: Settings }> {
  const s3 = motoS3Client();
  // Unique across test files: files run one after another in the same worker share its pid (and a leftover bucket
  // would make the create-only upload refuse its objects).
  const bucket = `recover-${process.pid}-${++bucketCounter}-${randomBytes(3).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const set of readdirSync(fixture.phase1).filter((n) => parseSetName(n) !== undefined).sort()) {
    const dir = join(fixture.phase1, set);
    await uploadSet(s3, bucket, dir, parseManifest(readFileSync(join(dir, 'manifest.json'))));
  }
  const settings = parseSettings({ HotSite: { bucket, endpoint: motoEndpoint() }, StateDirectory: stateDir, Phase1Destination: join(stateDir, 'dr') }, 'test');
  return { s3, bucket, settings };
}

/** Copies every `sets/` object to `archive/` in `storageClass`, then deletes the hot copy (only the archive remains). */
export async function archiveOnly(s3: S3Client, bucket: string, storageClass: 'GLACIER' | 'DEEP_ARCHIVE' | 'GLACIER_IR' = 'GLACIER'): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }));
  const keys: string[] = [];
  for (const object of listed.Contents ?? []) {
    const target = `archive/${object.Key!.slice('sets/'.length)}`;
    await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: target, CopySource: `${bucket}/${object.Key}`, StorageClass: storageClass }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
    keys.push(target);
  }
  return keys;
}
