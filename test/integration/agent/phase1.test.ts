/**
 * Phase 1 against real SQLite, the real file-backed hive and a real moto hot-site.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { join } from 'node:path';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, CreateBucketCommand } from '@aws-sdk/client-s3';
import { parseManifest, serializeManifest, type ManifestInput } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createLogger } from '#agent/log';
import { checksumFile } from '../../support/checksums';
import { uploadSet } from '#agent/hotsite/stream-upload';
import { allocateJobId } from '#agent/state/job-ids';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { writePageHashes } from '#agent/engines/sqlite/page-hashes';
import { restoreFullPlusDifferential } from '#agent/engines/sqlite/differential';
import { tableDigests } from '../../support/sqlite';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'phase1-hot-site';
const logger = createLogger({ level: 'silent' });

describe('phase 1 (real SQLite, file hive, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;

  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 2 * MiB, seed: 3 });
  });

  async function settingsFor(cwd: string, overrides: Record<string, unknown> = {}): Promise<Settings> {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: join(sampleDir, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        ...overrides,
      },
      'test',
    );
  }

  it('writes a complete SET (manifest last) and uploads it with the checksums S3 reports', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    const beats: number[] = [];
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger, heartbeat: async () => void beats.push(Date.now()) });
    expect(result).toMatchObject({ jobId: 1, setName: 'SET_0000001', backupType: 'FULL', status: 'Completed', integrity: 'ok', manifestKey: 'sets/SET_0000001/manifest.json' });
    expect(beats.length).toBeGreaterThanOrEqual(5);

    const manifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000001', 'manifest.json')));
    expect(manifest.files.map((f) => f.name)).toEqual(['commserv_FULL.dmp', 'commserv_FULL.pagehashes', 'commserv_hive.reg', 'FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt', 'commserve-dr-job.log']);
    expect(manifest.registry).toEqual({ store: 'file-hive', exportedKeys: [SAMPLE_REGISTRY_ROOT], missingKeys: [] });
    for (const file of manifest.files) {
      const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: `sets/SET_0000001/${file.name}`, ChecksumMode: 'ENABLED' }));
      expect(head.ContentLength).toBe(file.size);
      expect(head.ChecksumSHA256).toBe(file.s3!.checksumSHA256);
    }
  });

  it('DumpCompression brotli: the FULL and DIFFERENTIAL dumps are stored and uploaded compressed; they decompress to the database as dumped; no uncompressed copy is left; the page hashes are those of the uncompressed FULL', async () => {
    const cwd = tempDir();
    const db = join(cwd, 'commserv.db');
    copyFileSync(join(sampleDir, 'commserv.db'), db);
    const settings = await settingsFor(cwd, { Database: { engine: 'sqlite', path: db }, DumpCompression: 'brotli', DumpCompressionLevel: 1 });
    const atFull = tableDigests(db);
    const full = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    expect(full).toMatchObject({ status: 'Completed', backupType: 'FULL', integrity: 'ok' });
    const fullDir = join(cwd, 'dr', 'SET_0000001');
    const fullManifest = parseManifest(readFileSync(join(fullDir, 'manifest.json')));
    const fullEntry = fullManifest.files.find((f) => f.role === 'database')!;
    expect(readdirSync(fullDir).filter((n) => n.endsWith('.uncompressed'))).toEqual([]);
    const stored = readFileSync(join(fullDir, 'commserv_FULL.dmp'));
    expect(fullEntry).toMatchObject({ name: 'commserv_FULL.dmp', size: stored.length, sha256: createHash('sha256').update(stored).digest('hex') });
    expect(fullEntry.compression).toMatchObject({ algorithm: 'brotli', level: 1 });
    expect(stored.length).toBeLessThan(fullEntry.compression!.contentSize / 2);
    const content = brotliDecompressSync(stored);
    expect(createHash('sha256').update(content).digest('hex')).toBe(fullEntry.compression!.contentSha256);
    expect(fullManifest.database.details.dumpSha256).toBe(fullEntry.compression!.contentSha256);
    const fullDb = join(tempDir(), 'full.db');
    writeFileSync(fullDb, content);
    expect(tableDigests(fullDb)).toEqual(atFull);
    // The sidecar is exactly what a separate pass over the uncompressed dump writes.
    const again = join(tempDir(), 'again.pagehashes');
    await writePageHashes(fullDb, again, { jobId: 1 });
    expect(readFileSync(join(fullDir, 'commserv_FULL.pagehashes')).equals(readFileSync(again))).toBe(true);
    for (const file of fullManifest.files) {
      const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: `sets/SET_0000001/${file.name}`, ChecksumMode: 'ENABLED' }));
      expect(head.ContentLength).toBe(file.size);
      expect(head.ChecksumSHA256).toBe(file.s3!.checksumSHA256.replace(/-\d+$/, ''));
    }

    mutateSampleCommServe(db, { fraction: 0.05, seed: 9 });
    const atDiff = tableDigests(db);
    const diff = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });
    expect(diff).toMatchObject({ status: 'Completed', backupType: 'DIFFERENTIAL' });
    const diffDir = join(cwd, 'dr', 'SET_0000002');
    const diffManifest = parseManifest(readFileSync(join(diffDir, 'manifest.json')));
    const diffEntry = diffManifest.files.find((f) => f.role === 'database')!;
    expect(diffEntry.compression).toMatchObject({ algorithm: 'brotli' });
    expect(readdirSync(diffDir).filter((n) => n.endsWith('.uncompressed'))).toEqual([]);
    const diffFile = join(tempDir(), 'diff.dmp');
    writeFileSync(diffFile, brotliDecompressSync(readFileSync(join(diffDir, diffEntry.name))));
    const target = join(tempDir(), 'restored.db');
    await restoreFullPlusDifferential({ fullDump: fullDb, diffFile, baseHashesFile: join(fullDir, 'commserv_FULL.pagehashes'), fullJobId: 1, target });
    expect(tableDigests(target)).toEqual(atDiff);
  });

  it('a hot-site that refuses an upload part: the local SET is still committed (complete and verified), the job ends Completed With One or More Errors naming the hot-site error, and no multipart upload stays open', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    const s3 = motoS3Client();
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' || (context.commandName === 'PutObjectCommand' && String((args.input as { Key?: string }).Key).endsWith('.reg'))) {
          throw Object.assign(new Error('injected refusal'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseUploads' },
    );
    const result = await runPhase1({ settings, requestedType: 'FULL', s3, logger });
    expect(result).toMatchObject({ status: 'Completed With One or More Errors', hotSiteUploaded: false, phase1Destination: join(cwd, 'dr', 'SET_0000001') });
    const failure = result.events.find((e) => e.code === 'HOTSITE_UPLOAD_FAILED');
    expect(failure?.message).toMatch(/refused to upload SET_0000001\/commserv_(FULL\.dmp|hive\.reg).*the SET is committed in the phase-1 destination only; the next job re-fills the hot-site$/);
    const setDir = join(cwd, 'dr', 'SET_0000001');
    const manifest = parseManifest(readFileSync(join(setDir, 'manifest.json')));
    for (const file of manifest.files) expect((await checksumFile(join(setDir, file.name))).sha256).toBe(file.sha256);
    const keys = ((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sets/SET_0000001/' }))).Contents ?? []).map((o) => o.Key);
    expect(keys).not.toContain('sets/SET_0000001/manifest.json');
    expect((await motoS3Client().send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? []).toEqual([]);
  });

  it('predicts the composite SHA-256 checksum S3 reports for a multipart upload (moto omits the -N part count AWS appends)', async () => {
    const dir = tempDir();
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const data = Buffer.alloc(12 * MiB + 123);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    writeFileSync(join(dir, 'commserv_FULL.dmp'), data);
    const sums = await checksumFile(join(dir, 'commserv_FULL.dmp'), 5 * MiB);
    expect(sums.s3ChecksumSHA256).toMatch(/-3$/);
    const input: ManifestInput = {
      formatVersion: 1, product: 'commserve-dr', jobId: 7, setName: 'SET_0000007', backupType: 'FULL', cycleId: 7, baseFullSet: null,
      startTime: '2026-11-29T17:00:00.000Z', endTime: '2026-11-29T17:00:01.000Z', agentVersion: 'test', hostname: 'cs',
      database: { engine: 'sqlite', name: 'commserv.db' }, integrity: { status: 'ok', messages: [], durationMs: 1 },
      registry: { store: 'file-hive', exportedKeys: [], missingKeys: [] }, firewall: { present: [], missing: [] },
      files: [{ name: 'commserv_FULL.dmp', role: 'database', size: sums.size, sha256: sums.sha256, s3: { partSize: sums.partSize, checksumSHA256: sums.s3ChecksumSHA256 } }],
    };
    writeFileSync(join(dir, 'manifest.json'), serializeManifest(input));
    const sent = await uploadSet(motoS3Client(), BUCKET, dir, parseManifest(serializeManifest(input)));
    expect(sent).toBe(data.length);
    const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000007/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
    // AWS reports `<base64>-3`; moto 5.2 reports the same checksum-of-checksums without the suffix.
    expect(head.ChecksumSHA256).toBe(sums.s3ChecksumSHA256.replace(/-\d+$/, ''));
  });

  it('ends with errors when a required module key is missing, and only notes a missing optional one', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, {
      Registry: {
        store: 'file-hive',
        hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'),
        commServeKeys: [SAMPLE_REGISTRY_ROOT],
        modules: [
          { name: 'MediaAgent', key: `${SAMPLE_REGISTRY_ROOT}\\MediaAgent`, required: true },
          { name: 'Gone', key: `${SAMPLE_REGISTRY_ROOT}\\NoSuchModule`, required: false },
          { name: 'Needed', key: `${SAMPLE_REGISTRY_ROOT}\\AlsoMissing`, required: true },
        ],
      },
    });
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    expect(result.status).toBe('Completed With One or More Errors');
    const manifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000001', 'manifest.json')));
    expect(manifest.files.map((f) => f.name)).toContain('MediaAgent.reg');
    expect(manifest.files.map((f) => f.name)).not.toContain('Gone.reg');
    expect(manifest.registry.missingKeys).toEqual([`${SAMPLE_REGISTRY_ROOT}\\NoSuchModule`, `${SAMPLE_REGISTRY_ROOT}\\AlsoMissing`]);
    expect(manifest.events.map((e) => [e.level, e.code])).toEqual(
      expect.arrayContaining([
        ['warning', 'REGISTRY_KEY_MISSING'],
        ['error', 'REGISTRY_KEY_MISSING'],
      ]),
    );
  });

  it('notes absent firewall files without failing', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { FirewallDirectory: join(cwd, 'no-firewall-here') });
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    expect(result.status).toBe('Completed');
    const manifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000001', 'manifest.json')));
    expect(manifest.firewall).toEqual({ present: [], missing: ['FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt'] });
  });

  it('keeps job ids monotonic across restarts, even when the counter file is lost', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    expect((await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger })).jobId).toBe(1);
    expect((await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger })).jobId).toBe(2);
    // Lose the state directory: the SET folders and the hot-site still prevent reuse.
    const fresh = join(cwd, 'state-lost');
    expect(allocateJobId(fresh, join(cwd, 'dr'))).toBe(3);
    expect(allocateJobId(join(cwd, 'state-lost-2'), null, [41])).toBe(42);
    const keys = ((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sets/' }))).Contents ?? []).map((o) => o.Key);
    expect(keys.filter((k) => k!.endsWith('manifest.json'))).toEqual(['sets/SET_0000001/manifest.json', 'sets/SET_0000002/manifest.json']);
    expect(existsSync(join(cwd, 'state', 'last-job-id'))).toBe(true);
  });
});
