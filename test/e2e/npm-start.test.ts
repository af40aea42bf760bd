/**
 * End to end: the README's `npm start` path (the real CLI in a child process, in a fresh working
 * directory) against this worker's moto server, then a restore of the archived FULL from `archive/`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, RestoreObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest, type ManifestFile } from '#core/manifest';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { motoS3Client, useMoto } from '../support/moto';
import { tableDigests } from '../support/sqlite';
import { useTempDirs } from '../support/tmp';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'commserve-dr.js');
const BUCKET = 'commserve-dr-hot-site';

function runCli(cwd: string, args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, CI: 'true' } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The content of a SET file as stored (`bytes`): brotli-decompressed when its manifest entry says it is compressed
 * (the default since issue 20), checked against the content SHA-256 the manifest records.
 */
function content(bytes: Buffer, entry: ManifestFile): Buffer {
  if (!entry.compression) return bytes;
  const plain = brotliDecompressSync(bytes);
  expect(createHash('sha256').update(plain).digest('hex')).toBe(entry.compression.contentSha256);
  return plain;
}

async function getBytes(key: string): Promise<Buffer> {
  const response = await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

describe('npm start (end to end, real CLI, moto hot-site)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('runs a FULL DR job whose archived GLACIER copy restores to the same CommServe database', async () => {
    const cwd = tempDir();
    const run = runCli(cwd, ['start', '--sample-size-mb', '6', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(run.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { record: { jobId: number; status: string; backupType: string; phase2: string; copies: Record<string, string> } };
    expect(out.record).toMatchObject({ jobId: 1, status: 'Completed', backupType: 'FULL', phase2: 'archived' });
    expect(out.record.copies.archive).toBe(`s3://${BUCKET}/archive/SET_0000001/`);

    // The phase-1 copy is complete: a manifest listing every file with its size and SHA-256.
    const setDir = join(cwd, '.commserve-dr', 'dr-backups', 'SET_0000001');
    const manifest = parseManifest(readFileSync(join(setDir, 'manifest.json')));
    expect(manifest.files.map((f) => f.name).sort()).toEqual(
      ['Cvd.reg', 'FwHosts.txt', 'FwPeers.txt', 'FwPorts.txt', 'MediaAgent.reg', 'commserv_FULL.dmp', 'commserv_FULL.pagehashes', 'commserv_hive.reg', 'commserve-dr-job.log'].sort(),
    );
    expect(manifest.integrity.status).toBe('ok');

    // Every object of the SET is in archive/ in GLACIER; the manifest too.
    const s3 = motoS3Client();
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/SET_0000001/' }));
    expect((listed.Contents ?? []).map((o) => o.Key!.split('/')[2]).sort()).toEqual([...manifest.files.map((f) => f.name), 'manifest.json'].sort());
    const dumpKey = 'archive/SET_0000001/commserv_FULL.dmp';
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: dumpKey }));
    expect(head.StorageClass).toBe('GLACIER');

    // Glacier objects are not readable until restored.
    await expect(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: dumpKey }))).rejects.toMatchObject({ name: 'InvalidObjectState' });
    await s3.send(new RestoreObjectCommand({ Bucket: BUCKET, Key: dumpKey, RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Standard' } } }));
    const dump = await getBytes(dumpKey);
    const entry = manifest.files.find((f) => f.name === 'commserv_FULL.dmp')!;
    expect(dump.length).toBe(entry.size);
    expect(createHash('sha256').update(dump).digest('hex')).toBe(entry.sha256);

    // Restore into a new file: integrity ok, every table's rows equal the source CommServe's.
    const restored = join(tempDir(), 'restored.db');
    writeFileSync(restored, content(dump, entry));
    const db = new Database(restored, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const source = tableDigests(join(cwd, '.commserve-dr', 'sample', 'commserv.db'));
    expect(Object.keys(source).length).toBeGreaterThanOrEqual(15);
    expect(source.job_history.rows).toBeGreaterThan(1000);
    expect(tableDigests(restored)).toEqual(source);

    // The job record is at the hot-site and in the local history.
    const record = JSON.parse((await getBytes('jobs/001.json')).toString('utf8'));
    expect(record).toMatchObject({ jobId: 1, status: 'Completed' });
    expect(existsSync(join(cwd, '.commserve-dr', 'dr-backups', 'jobs', '001.json'))).toBe(true);
  });

  it('runs a DIFFERENTIAL next (re-filling an empty hot-site first), and the hot-site FULL + archived DIFF restore the changed database', async () => {
    const cwd = tempDir();
    expect(runCli(cwd, ['start', '--sample-size-mb', '3', '--s3-endpoint', moto.endpoint(), '--json']).code).toBe(0);
    // moto keeps nothing between local runs: simulate that.
    await fetch(`${moto.endpoint()}/moto-api/reset`, { method: 'POST' });
    const second = runCli(cwd, ['start', '--s3-endpoint', moto.endpoint(), '--json']);
    expect(second.code).toBe(0);
    const out = JSON.parse(second.stdout) as { record: { jobId: number; status: string; backupType: string }; refill: { uploaded: string[] }; sampleRowsChanged: number };
    expect(out.sampleRowsChanged).toBeGreaterThan(50);
    expect(out.record).toMatchObject({ jobId: 2, status: 'Completed', backupType: 'DIFFERENTIAL' });
    expect(out.refill.uploaded).toEqual(['SET_0000001']);
    const s3 = motoS3Client();
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sets/' }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(expect.arrayContaining(['sets/SET_0000001/manifest.json', 'sets/SET_0000002/manifest.json', 'sets/SET_0000002/commserv_DIFF_2.dmp']));

    // Restore the FULL from the (re-filled) hot-site copy and the DIFF from its archive copy (GLACIER: restored first).
    const staging = tempDir();
    for (const key of ['sets/SET_0000001/commserv_FULL.dmp', 'sets/SET_0000001/commserv_FULL.pagehashes', 'archive/SET_0000002/commserv_DIFF_2.dmp']) {
      if (key.startsWith('archive/')) {
        await s3.send(new RestoreObjectCommand({ Bucket: BUCKET, Key: key, RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Standard' } } }));
      }
      const [, set, name] = key.split('/');
      const entry = parseManifest(await getBytes(`sets/${set}/manifest.json`)).files.find((f) => f.name === name)!;
      writeFileSync(join(staging, name!), content(await getBytes(key), entry));
    }
    const restored = join(staging, 'restored.db');
    await restoreFullPlusDifferential({
      fullDump: join(staging, 'commserv_FULL.dmp'),
      diffFile: join(staging, 'commserv_DIFF_2.dmp'),
      baseHashesFile: join(staging, 'commserv_FULL.pagehashes'),
      target: restored,
    });
    expect(tableDigests(restored)).toEqual(tableDigests(join(cwd, '.commserve-dr', 'sample', 'commserv.db')));
  });
});
