/**
 * RepairObject (issue 21 item 2) run locally against moto with versioning on: what a SET object must be comes from the
 * hot-site manifest (a manifest: from its successor's chain record), the newest intact noncurrent version is copied
 * back, a staged copy is accepted only when it matches, and the scrub of a real job repairs from the bucket's history
 * before it looks at the local copy.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { makeRepairObjectHandler } from '#lambdas/repair-object';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'repair-object';
const logger = createLogger({ level: 'silent' });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('RepairObject: repair from the bucket’s own history (moto, versioned bucket)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;
  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 1 * MiB, seed: 21 });
  });

  async function jobs(count: number): Promise<{ s3: S3Client; settings: Settings; cwd: string }> {
    const s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    const cwd = tempDir();
    copyFileSync(join(sampleDir, 'commserv.db'), join(cwd, 'commserv.db'));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        PublishMetrics: false,
        ScrubRequestsPerJob: 0,
      },
      'test',
    );
    for (let i = 0; i < count; i++) {
      if (i > 0) mutateSampleCommServe(join(cwd, 'commserv.db'), { seed: i, fraction: 0.02 });
      await runPhase1({ settings, requestedType: i === 0 ? 'FULL' : 'DIFFERENTIAL', s3: motoS3Client(), logger });
    }
    return { s3, settings, cwd };
  }
  const bytesOf = async (s3: S3Client, key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
  const overwrite = (s3: S3Client, key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ChecksumAlgorithm: 'SHA256' }));

  it('an overwritten and a deleted SET file: the newest intact noncurrent version is copied back (a garbage version in between is skipped)', async () => {
    const { s3 } = await jobs(1);
    const handler = makeRepairObjectHandler({ s3, bucket: BUCKET });
    const dump = setObjectKey('sets', 1, 'commserv_FULL.dmp');
    const reg = setObjectKey('sets', 1, 'commserv_hive.reg');
    const original = await bytesOf(s3, dump);
    await overwrite(s3, dump, 'ransom note 1');
    await overwrite(s3, dump, 'ransom note 2');
    const answer = await handler({ jobId: 1, file: 'commserv_FULL.dmp' });
    expect(answer).toMatchObject({ repaired: true, from: 'version', key: dump, versionId: expect.any(String) });
    expect(sha256(await bytesOf(s3, dump))).toBe(sha256(original));

    const regBytes = await bytesOf(s3, reg);
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: reg }));
    expect(await handler({ jobId: 1, file: 'commserv_hive.reg' })).toMatchObject({ repaired: true, from: 'version' });
    expect((await bytesOf(s3, reg)).equals(regBytes)).toBe(true);
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: dump }));
    expect(versions.Versions!.length).toBe(4); // original, two overwrites, the restored copy: nothing was deleted
  });

  it('a staged copy is accepted only when it matches the hot-site manifest; never for a manifest; nothing intact → not repaired, with every reason', async () => {
    const { s3 } = await jobs(1);
    const handler = makeRepairObjectHandler({ s3, bucket: BUCKET });
    const reg = setObjectKey('sets', 1, 'commserv_hive.reg');
    const good = await bytesOf(s3, reg);
    // No earlier version: the key was written once.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `repair/${setName(1)}/bad`, Body: 'forged', ChecksumAlgorithm: 'SHA256' }));
    const refused = await handler({ jobId: 1, file: 'commserv_hive.reg', stagingKey: `repair/${setName(1)}/bad` });
    expect(refused).toEqual({
      repaired: false,
      key: reg,
      reason: expect.stringMatching(/^versions: no earlier version of the object; staged copy is 6 bytes, expected \d+; archive: archive\/\S+ does not exist$/),
    });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `repair/${setName(1)}/good`, Body: good, ChecksumAlgorithm: 'SHA256' }));
    expect(await handler({ jobId: 1, file: 'commserv_hive.reg', stagingKey: `repair/${setName(1)}/good`, sources: ['staging'] })).toMatchObject({ repaired: true, from: 'staging' });
    const manifest = await handler({ jobId: 1, file: MANIFEST_FILE, stagingKey: `repair/${setName(1)}/good`, manifestSha256: sha256(Buffer.from('x')), sources: ['staging'] });
    expect(manifest).toMatchObject({ repaired: false, reason: 'staged copy: a manifest is only restored from the bucket’s own history' });
    await expect(handler({ jobId: 1, file: '../x' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    await expect(handler({ jobId: 1, file: 'commserv_hive.reg', stagingKey: 'sets/elsewhere' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('a replaced manifest: what it must be comes from its successor’s chain record, not the caller; restored from its version', async () => {
    const { s3, cwd } = await jobs(2);
    const handler = makeRepairObjectHandler({ s3, bucket: BUCKET });
    const key = setObjectKey('sets', 1, MANIFEST_FILE);
    const original = await bytesOf(s3, key);
    await overwrite(s3, key, '{"forged":true}');
    // The caller's SHA-256 is wrong on purpose: the successor's record wins.
    expect(await handler({ jobId: 1, file: MANIFEST_FILE, manifestSha256: sha256(Buffer.from('{"forged":true}')) })).toMatchObject({ repaired: true, from: 'version' });
    expect((await bytesOf(s3, key)).equals(original)).toBe(true);
    // The newest SET has no successor: the caller's (the agent's local) SHA-256 is the expectation.
    const newest = setObjectKey('sets', 2, MANIFEST_FILE);
    const newestBytes = await bytesOf(s3, newest);
    await overwrite(s3, newest, '{}');
    expect(await handler({ jobId: 2, file: MANIFEST_FILE })).toMatchObject({ repaired: false, reason: expect.stringContaining('no successor recorded this manifest and the caller gave no SHA-256') });
    expect(await handler({ jobId: 2, file: MANIFEST_FILE, manifestSha256: sha256(newestBytes) })).toMatchObject({ repaired: true, from: 'version' });
    expect(cwd).toBeTruthy();
  });

  it('the scrub of the next job repairs an overwritten object from its earlier version first (the local copy is intact but not needed)', async () => {
    const { s3, settings } = await jobs(1);
    const dump = setObjectKey('sets', 1, 'commserv_FULL.dmp');
    const original = await bytesOf(s3, dump);
    const flipped = Buffer.from(original);
    flipped[flipped.length >> 1] ^= 0xff;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: dump, Body: flipped, ChecksumAlgorithm: 'SHA256' }));
    const next = await runPhase1({ settings: { ...settings, ScrubRequestsPerJob: 150 }, requestedType: 'FULL', s3: motoS3Client(), logger });
    expect(next.events.filter((e) => e.code === 'HOTSITE_REPAIRED').map((e) => e.message)).toEqual([
      expect.stringMatching(new RegExp(`^${setName(1)}/commserv_FULL\\.dmp has SHA-256 checksum \\S+ at S3, the manifest says \\S+ at the hot-site: repaired from an earlier version at the hot-site \\(\\S+\\)$`)),
    ]);
    expect(sha256(await bytesOf(s3, dump))).toBe(sha256(original));
  });
  it('publishes a per-job guide from recovery/ as RECOVERY.md (the agent never writes that key); nothing else is published', async () => {
    const s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    const handler = makeRepairObjectHandler({ s3, bucket: BUCKET });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'recovery/2026-12-05T17-00-00.000Z.md', Body: '# guide 1\n', ChecksumAlgorithm: 'SHA256' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'recovery/2026-12-06T17-00-00.000Z.md', Body: '# guide 2\n', ChecksumAlgorithm: 'SHA256' }));
    expect(await handler({ publishRecoveryGuide: 'recovery/2026-12-05T17-00-00.000Z.md' })).toEqual({ published: true, key: 'RECOVERY.md' });
    expect(await handler({ publishRecoveryGuide: 'recovery/2026-12-06T17-00-00.000Z.md' })).toEqual({ published: true, key: 'RECOVERY.md' });
    expect((await bytesOf(s3, 'RECOVERY.md')).toString('utf8')).toBe('# guide 2\n');
    // The earlier guide stays a version of RECOVERY.md (a wrong publish is undone from history).
    expect((await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: 'RECOVERY.md' }))).Versions!.length).toBe(2);
    expect(await handler({ publishRecoveryGuide: 'recovery/missing.md' })).toEqual({ published: false, reason: expect.stringMatching(/^recovery\/missing\.md: /) });
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'recovery/huge.md', Body: Buffer.alloc(1024 * 1024 + 1, 0x61) }));
    expect(await handler({ publishRecoveryGuide: 'recovery/huge.md' })).toEqual({ published: false, reason: 'recovery/huge.md is 1048577 bytes, over the 1048576-byte limit of a guide' });
    for (const key of ['sets/SET_x/manifest.json', 'recovery/../sets/x.md', 'recovery/guide.txt', 'RECOVERY.md']) {
      await expect(handler({ publishRecoveryGuide: key })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    }
    expect((await bytesOf(s3, 'RECOVERY.md')).toString('utf8')).toBe('# guide 2\n');
  });
});
