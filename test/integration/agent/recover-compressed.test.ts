/**
 * Recovery, fetch and verify of SETs whose dumps are stored brotli-compressed (manifest `compression`: `size`,
 * `sha256` describe the stored bytes, `contentSize`/`contentSha256` the dump). The SETs come from the real phase 1
 * (SQLite, file hive, moto: the recovery fixture); their dumps are then compressed here and the manifests rewritten
 * the way `DumpCompression: brotli` writes them, and uploaded to a bucket of each test's own.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import type { Manifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { runFetch } from '#agent/commands/recover/fetch';
import { runRecover } from '#agent/commands/recover/recover';
import { runVerify } from '#agent/commands/recover/verify';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let bucketCounter = 0;

describe('recovery of brotli-compressed SETs (real SQLite, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-recover-brotli-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    // Plain dumps: these tests compress the SETs' dumps themselves (`compressedHotSite`), one choice per file.
    fixture = await buildFixture(tempDir(), { DumpCompression: 'none' });
  });

  /**
   * A bucket with the fixture's SETs, the database dumps `compress` selects stored brotli-compressed (quality 1) with
   * their manifest entries rewritten accordingly. `edit` may change a manifest before it is uploaded (last).
   */
  async function compressedHotSite(options: { compress?: (setName: string) => boolean; edit?: (manifest: Manifest) => void } = {}) {
    const compress = options.compress ?? (() => true);
    const s3: S3Client = motoS3Client();
    const bucket = `recover-brotli-${process.pid}-${++bucketCounter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const stored = new Map<string, Buffer>();
    for (const set of readdirSync(fixture.phase1).filter((n) => n.startsWith('SET_')).sort()) {
      const dir = join(fixture.phase1, set);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      for (const file of manifest.files) {
        let body = readFileSync(join(dir, file.name));
        if (file.role === 'database' && compress(set)) {
          const compressed = brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });
          file.compression = { algorithm: 'brotli', level: 1, contentSize: body.length, contentSha256: sha(body) };
          file.size = compressed.length;
          file.sha256 = sha(compressed);
          delete file.s3;
          body = compressed;
        }
        stored.set(`${set}/${file.name}`, body);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sets/${set}/${file.name}`, Body: body, ChecksumAlgorithm: 'SHA256' }));
      }
      // Rewritten here after the job, so these are stored as pre-chain manifests (no `previousManifest`): the hash chain
      // would rightly call every rewritten manifest replaced (test/integration/agent/manifest-chain.test.ts covers that).
      delete manifest.previousManifest;
      options.edit?.(manifest);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sets/${set}/manifest.json`, Body: JSON.stringify(manifest, null, 2) }));
    }
    const stateDir = join(tempDir(), 'state');
    const settings: Settings = parseSettings({ HotSite: { bucket, endpoint: motoEndpoint() }, StateDirectory: stateDir, Phase1Destination: join(stateDir, 'dr') }, 'test');
    return { s3, bucket, settings, stored, to: join(tempDir(), 'new-commserve') };
  }

  it('restores FULL + DIFFERENTIAL, both compressed: every table equals the source at the last DIFFERENTIAL', async () => {
    const { s3, settings, to, stored } = await compressedHotSite();
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.point!.sets).toEqual(['SET_0000001', 'SET_0000003']);
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtLastDiff);
    // The report says what was verified: the content (what was restored) and the stored, compressed bytes.
    const dumps = result.document.checksums.filter((c) => c.file.endsWith('.dmp'));
    expect(dumps.map((c) => `${c.set}/${c.file}`).sort()).toEqual(['SET_0000001/commserv_FULL.dmp', 'SET_0000003/commserv_DIFF_3.dmp']);
    for (const c of dumps) {
      const original = readFileSync(join(fixture.phase1, c.set, c.file));
      expect(c).toMatchObject({ bytes: original.length, sha256: sha(original), stored: { algorithm: 'brotli', bytes: stored.get(`${c.set}/${c.file}`)!.length } });
      expect(c.stored!.bytes).toBeLessThan(c.bytes);
    }
    expect(result.document.database).toMatchObject({ integrity: 'ok', integrityCheck: 'none', integrityCheckReason: expect.stringMatching(/^not re-run: the rebuilt database's SHA-256 [0-9a-f]{64} is the image on which PRAGMA integrity_check passed in backup job 3 /) });
    expect(result.text).toMatch(/stored brotli/);
    expect(readdirSync(to).sort()).toEqual(['commserv.db', 'commserve-dr-recovery-report.json', 'commserve-dr-recovery-report.txt', 'registry']);
  });

  it('restores a compressed FULL alone', async () => {
    const { s3, settings, to } = await compressedHotSite();
    const result = await runRecover({ settings, s3, logger, to, setName: 'SET_0000001', preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.point!.sets).toEqual(['SET_0000001']);
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtFull);
    expect(readFileSync(join(to, 'commserv.db')).equals(readFileSync(join(fixture.phase1, 'SET_0000001', 'commserv_FULL.dmp')))).toBe(true);
  });

  it('restores a compressed FULL with an uncompressed DIFFERENTIAL (its base is the FULL’s content)', async () => {
    const { s3, settings, to } = await compressedHotSite({ compress: (set) => set === 'SET_0000001' });
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(tableDigests(join(to, 'commserv.db'))).toEqual(fixture.digestsAtLastDiff);
  });

  it('refuses a damaged compressed object: clear error, the existing target database untouched, no staging left', async () => {
    const { s3, bucket, settings, to, stored } = await compressedHotSite();
    const damaged = Buffer.from(stored.get('SET_0000001/commserv_FULL.dmp')!);
    damaged[Math.floor(damaged.length / 3)] ^= 0x20;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sets/SET_0000001/commserv_FULL.dmp', Body: damaged }));
    mkdirSync(to, { recursive: true });
    writeFileSync(join(to, 'commserv.db'), 'the database that was here before');
    // --force: the existing database would be moved aside (never deleted) — but the damaged object fails first.
    const result = await runRecover({ settings, s3, logger, to, force: true, preflight: noProcesses });
    expect(result.exitCode).toBe(1);
    expect(result.document.error).toMatchObject({
      code: 'NO_INTACT_COPY',
      message: expect.stringMatching(/sets\/SET_0000001\/commserv_FULL\.dmp: SHA-256 .*changed or damaged/),
      skipped: [expect.objectContaining({ copy: 'hot-site', key: 'sets/SET_0000001/commserv_FULL.dmp', code: 'CHECKSUM_MISMATCH' })],
    });
    expect(result.text).toMatch(/The target was not changed/);
    expect(readFileSync(join(to, 'commserv.db'), 'utf8')).toBe('the database that was here before');
    expect(readdirSync(to)).toEqual(['commserv.db']);
  });

  it('refuses content that differs from the manifest’s contentSha256 (DIFFERENTIAL, then FULL), nothing installed', async () => {
    const wrong = (set: string) => (manifest: Manifest) => {
      if (manifest.setName === set) manifest.files.find((f) => f.role === 'database')!.compression!.contentSha256 = 'e'.repeat(64);
    };
    const diffCase = await compressedHotSite({ edit: wrong('SET_0000003') });
    const r1 = await runRecover({ settings: diffCase.settings, s3: diffCase.s3, logger, to: diffCase.to, preflight: noProcesses });
    expect(r1.exitCode).toBe(1);
    expect(r1.document.error).toMatchObject({
      code: 'NO_INTACT_COPY',
      message: expect.stringMatching(/SET_0000003\/commserv_DIFF_3\.dmp: decompressed content: SHA-256 .* contentSha256/),
      skipped: [expect.objectContaining({ copy: 'hot-site', code: 'CONTENT_MISMATCH' })],
    });
    expect(existsSync(join(diffCase.to, 'commserv.db'))).toBe(false);
    expect(existsSync(join(diffCase.to, 'registry'))).toBe(false);

    const fullCase = await compressedHotSite({ edit: wrong('SET_0000001') });
    const r2 = await runRecover({ settings: fullCase.settings, s3: fullCase.s3, logger, to: fullCase.to, setName: 'SET_0000001', preflight: noProcesses });
    expect(r2.document.error).toMatchObject({ code: 'NO_INTACT_COPY', skipped: [expect.objectContaining({ copy: 'hot-site', code: 'CONTENT_MISMATCH' })] });
    expect(existsSync(join(fullCase.to, 'commserv.db'))).toBe(false);
    // With the DIFFERENTIAL, the FULL's recorded content is not the DIFF's base: refused before the FULL is downloaded.
    const r3 = await runRecover({ settings: fullCase.settings, s3: fullCase.s3, logger, to: fullCase.to, setName: 'SET_0000002', preflight: noProcesses });
    expect(r3.document.error).toMatchObject({ code: 'DIFF_WRONG_BASE' });
    expect(existsSync(join(fullCase.to, 'commserv.db'))).toBe(false);
  });

  it('fetch keeps the compressed dumps as stored (consistent with the manifest), their content verified', async () => {
    const { s3, bucket, settings, stored } = await compressedHotSite();
    const to = join(tempDir(), 'fetched');
    const result = await runFetch({ settings, s3, logger, setName: 'SET_0000003', to });
    expect(result.exitCode).toBe(0);
    const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sets/SET_0000003/manifest.json' }))).Body!.transformToString()) as Manifest;
    for (const file of manifest.files) {
      const bytes = readFileSync(join(to, 'SET_0000003', file.name));
      expect({ name: file.name, size: bytes.length, sha256: sha(bytes) }).toEqual({ name: file.name, size: file.size, sha256: file.sha256 });
      expect(bytes.equals(stored.get(`SET_0000003/${file.name}`)!)).toBe(true);
    }
    const diff = result.document.files.find((f) => f.name === 'commserv_DIFF_3.dmp')!;
    const original = readFileSync(join(fixture.phase1, 'SET_0000003', 'commserv_DIFF_3.dmp'));
    expect(diff).toMatchObject({ bytes: stored.get('SET_0000003/commserv_DIFF_3.dmp')!.length, content: { bytes: original.length, sha256: sha(original) } });
    expect(result.text).toMatch(/kept compressed as in the SET/);
  });

  it('verify trial-restores a compressed point with the full integrity check', async () => {
    const { s3, settings } = await compressedHotSite();
    const result = await runVerify({ settings, s3, logger });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.verification).toMatchObject({ sets: ['SET_0000001', 'SET_0000003'], result: 'restorable', trialRestore: { integrity: 'ok', integrityCheck: 'full' } });
    expect(result.document.verification!.checksums.every((c) => c.ok)).toBe(true);
  });
});
