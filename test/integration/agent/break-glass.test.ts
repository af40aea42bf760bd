/**
 * Break-glass (issue 16 item 7): after a FULL and a DIFFERENTIAL, RECOVERY.md at the hot-site root and in the phase-1
 * destination names the newest restorable point with its files' SHA-256s, and a short independent Python script
 * (standard library only, written from RECOVERY.md's DIFFERENTIAL section alone) applies the DIFFERENTIAL to the FULL
 * — both decompressed first with the Node.js command RECOVERY.md prints (the dumps are brotli-compressed by default) —
 * and gets the database the agent's own restore gets, byte for byte.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { NODE_BROTLI_DECOMPRESS } from '#core/recovery-md';
import { parseSettings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'break-glass-hot-site';

/** Written from RECOVERY.md's "DIFFERENTIAL format" section alone: python3 apply.py FULL DIFF OUT → prints SHA-256. */
const APPLY_PY = `
import hashlib, struct, sys
full, diff, out = sys.argv[1:4]
d = open(diff, 'rb').read()
assert d[:8] == b'CSDRDF01' and struct.unpack('>H', d[8:10])[0] == 1, 'not a CSDRDF01 v1 file'
assert hashlib.sha256(d[:-32]).digest() == d[-32:], 'trailer mismatch'
h, = struct.unpack('>H', d[10:12])
p, base, new = struct.unpack('>III', d[12:24])
want = d[40:72]
r, = struct.unpack('>I', d[72:76])
f = open(full, 'rb').read()
assert hashlib.sha256(f).digest() == d[76:108], 'not the base FULL'
img = bytearray(f)
pos = h
for _ in range(r):
    n, = struct.unpack('>I', d[pos:pos + 4])
    page = d[pos + 4:pos + 4 + p]
    off = (n - 1) * p
    if len(img) < off + p:
        img.extend(b'\\0' * (off + p - len(img)))
    img[off:off + p] = page
    pos += 4 + p
del img[new * p:]
got = hashlib.sha256(img).digest()
assert got == want, 'result SHA-256 differs from the header'
open(out, 'wb').write(img)
print(got.hex())
`;

describe('break-glass RECOVERY.md (real SQLite, moto, python3)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('names the newest restorable point with SHA-256s and fetch commands; a DIFFERENTIAL applied by an independent stdlib Python script gives the database the agent restores', async () => {
    const cwd = tempDir();
    await generateSampleCommServe({ dir: cwd, sizeBytes: 2 * MiB, seed: 8 });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cwd, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cwd, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        PublishMetrics: false,
      },
      'test',
    );
    const logger = createLogger({ level: 'silent' });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    mutateSampleCommServe(join(cwd, 'commserv.db'), { fraction: 0.02, seed: 4 });
    const diff = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });
    expect(diff.backupType).toBe('DIFFERENTIAL');

    const text = await (await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'RECOVERY.md' }))).Body!.transformToString('utf8');
    expect(readFileSync(join(cwd, 'dr', 'RECOVERY.md'), 'utf8')).toBe(text);
    expect(text).toContain('SET_0000001 (FULL) + SET_0000002 (DIFFERENTIAL).');
    const fullManifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000001', 'manifest.json')));
    const diffManifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000002', 'manifest.json')));
    expect(diffManifest.differentialFormat).toEqual({ name: 'CSDRDF01', version: 1 });
    for (const f of [...fullManifest.files, ...diffManifest.files]) expect(text).toContain(`| \`${f.name}\` | ${f.size} | \`${f.sha256}\` |`);
    expect(text).toContain(`aws s3 cp --recursive s3://${BUCKET}/sets/SET_0000002/ SET_0000002/`);
    expect(text).toContain('## DIFFERENTIAL format CSDRDF01, version 1');

    // Fetch as the commands say (here with the SDK against moto), then apply by hand.
    const fetched = tempDir();
    const get = async (key: string, to: string) => writeFileSync(to, Buffer.from(await (await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray()));
    await get('sets/SET_0000001/commserv_FULL.dmp', join(fetched, 'commserv_FULL.dmp'));
    await get('sets/SET_0000002/commserv_DIFF_2.dmp', join(fetched, 'commserv_DIFF_2.dmp'));
    // The dumps are brotli-compressed (the default): decompress with the Node.js command RECOVERY.md prints, run as it
    // is written there, and check each result against the content SHA-256 RECOVERY.md gives.
    for (const [name, manifest] of [['commserv_FULL.dmp', fullManifest], ['commserv_DIFF_2.dmp', diffManifest]] as const) {
      const entry = manifest.files.find((f) => f.name === name)!;
      expect(entry.compression).toMatchObject({ algorithm: 'brotli' });
      const command = `node -e "${NODE_BROTLI_DECOMPRESS}" ${name} ${name}.raw`;
      expect(text).toContain(`\`${command}\``);
      execFileSync('sh', ['-c', command], { cwd: fetched });
      expect(createHash('sha256').update(readFileSync(join(fetched, `${name}.raw`))).digest('hex')).toBe(entry.compression!.contentSha256);
      expect(text).toContain(`with SHA-256 \`${entry.compression!.contentSha256}\``);
    }
    expect(text).toContain('Database: apply `SET_0000002/commserv_DIFF_2.dmp.raw` to `SET_0000001/commserv_FULL.dmp.raw` as below');
    writeFileSync(join(fetched, 'apply.py'), APPLY_PY);
    const printed = execFileSync('python3', [join(fetched, 'apply.py'), join(fetched, 'commserv_FULL.dmp.raw'), join(fetched, 'commserv_DIFF_2.dmp.raw'), join(fetched, 'commserv.db')], { encoding: 'utf8' }).trim();

    const agent = await restoreFullPlusDifferential({ fullDump: join(fetched, 'commserv_FULL.dmp.raw'), diffFile: join(fetched, 'commserv_DIFF_2.dmp.raw'), target: join(fetched, 'agent.db') });
    expect(printed).toBe(agent.sha256);
    expect(printed).toBe(diffManifest.database.details?.reconstructedSha256); // what the DIFFERENTIAL job recorded
    expect(createHash('sha256').update(readFileSync(join(fetched, 'commserv.db'))).digest('hex')).toBe(agent.sha256);
  });
});
