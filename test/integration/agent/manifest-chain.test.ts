/**
 * The manifest hash chain (issue 21 item 5) end to end, real SQLite, file hive and moto: every job's manifest records
 * the SHA-256 of the previous SET's manifest; a SET whose manifest is replaced at the hot-site together with files that
 * are consistent with it (the forger's best move) is reported by `sets`, fails `verify` and is refused by `recover`.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { manifestSha256 } from '#core/manifest-chain';
import { parseManifest, serializeManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { exec } from '#agent/cli';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { capture } from '../../support/cli';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'manifest-chain';
const logger = createLogger({ level: 'silent' });

describe('manifest hash chain (real SQLite, file hive, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;
  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 1 * MiB, seed: 11 });
  });

  async function settingsFor(cwd: string): Promise<Settings> {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
    const db = join(cwd, 'commserv.db');
    copyFileSync(join(sampleDir, 'commserv.db'), db);
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: db },
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
  }

  it('each manifest names the previous SET and its manifest SHA-256; a forged manifest with consistent files is reported by sets, fails verify, and recover refuses it', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    const manifestBytes = (n: number) => readFileSync(join(cwd, 'dr', setName(n), MANIFEST_FILE));
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    mutateSampleCommServe(join(cwd, 'commserv.db'), { seed: 1, fraction: 0.02 });
    await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });
    await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });

    expect(parseManifest(manifestBytes(1)).previousManifest).toBeUndefined();
    expect(parseManifest(manifestBytes(2)).previousManifest).toEqual({ setName: setName(1), sha256: manifestSha256(manifestBytes(1)) });
    expect(parseManifest(manifestBytes(3)).previousManifest).toEqual({ setName: setName(2), sha256: manifestSha256(manifestBytes(2)) });

    const configFile = join(cwd, 'commserve-dr.config.json');
    writeFileSync(configFile, JSON.stringify(settings));
    const intact = capture(cwd);
    expect(await exec(['--config', configFile, 'sets'], intact)).toBe(0);
    expect(intact.out()).toContain(`manifest chain at hot-site: intact from ${setName(1)} (2 link(s) checked, 3 SET(s))`);

    // The forger rewrites SET 2's registry export and its manifest entry: the SET is consistent with itself.
    const forged = parseManifest(manifestBytes(2));
    const reg = forged.files.find((f) => f.role === 'registry')!;
    const evil = Buffer.from('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Evil]\r\n');
    const sha = createHash('sha256').update(evil);
    const hex = sha.digest('hex');
    Object.assign(reg, { size: evil.length, sha256: hex, s3: { partSize: reg.s3!.partSize, checksumSHA256: Buffer.from(hex, 'hex').toString('base64') } });
    const admin = motoS3Client();
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: setObjectKey('sets', 2, reg.name), Body: evil, ChecksumAlgorithm: 'SHA256' }));
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: setObjectKey('sets', 2, MANIFEST_FILE), Body: serializeManifest(forged), ChecksumAlgorithm: 'SHA256' }));

    const sets = capture(cwd);
    // Exit 3: the hot-site copy of SET 2 no longer matches the manifest the phase-1 destination holds (issue 16 item 4).
    expect(await exec(['--config', configFile, '--json', 'sets'], sets)).toBe(3);
    expect(JSON.parse(sets.out()).damagedCopies).toEqual([{ setName: setName(2), copy: 'hot-site', damaged: [expect.stringMatching(new RegExp(`^${reg.name}: size ${evil.length}, manifest \\d+$`))] }]);
    const chain = JSON.parse(sets.out()).manifestChain as Array<{ copy: string; status: string; breaks: string[] }>;
    expect(chain.find((c) => c.copy === 'phase-1 destination')!.status).toBe('intact');
    const hot = chain.find((c) => c.copy === 'hot-site')!;
    expect(hot.status).toBe('broken');
    expect(hot.breaks).toEqual([expect.stringMatching(new RegExp(`^${setName(2)}'s manifest has SHA-256 \\S+, but ${setName(3)} recorded \\S+: it was replaced after ${setName(3)} was written$`))]);

    const verify = capture(cwd);
    expect(await exec(['--config', configFile, '--json', 'verify', setName(2)], verify)).toBe(1);
    const verification = JSON.parse(verify.out()).verification;
    expect(verification.result).toBe('failed');
    expect(verification.problems).toEqual([expect.stringContaining(`manifest chain: ${setName(2)}'s manifest has SHA-256`)]);

    const recover = capture(cwd);
    expect(await exec(['--config', configFile, '--json', 'recover', '--to', join(cwd, 'restore'), '--set', setName(2), '--dry-run'], recover)).toBe(1);
    expect(JSON.parse(recover.out()).error).toMatchObject({ code: 'MANIFEST_CHAIN_BROKEN', message: expect.stringContaining(`refusing to recover ${setName(1)} + ${setName(2)}: manifest chain: ${setName(2)}'s manifest`) });
  });
});
