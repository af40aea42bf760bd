/**
 * The re-fill upload of a committed SET (`uploadSet`, issue 10) against a real moto server: multipart with the
 * manifest's part size, a SHA-256 checksum on every request, no multipart upload left open after a failure, and S3's
 * limits (5 MiB ≤ part, ≤ 10,000 parts, ≤ 5 TiB) enforced before anything is sent.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SetFileHasher } from '#core/checksums';
import { CommserveDrError, HotSiteError } from '#core/errors';
import { parseManifest, serializeManifest, type Manifest, type ManifestInput } from '#core/manifest';
import { choosePartSize, GiB, MiB, partCount, S3_MAX_OBJECT_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES, TiB, TransferLimitError } from '#core/transfer-plan';
import { setName as setNameOf } from '#core/set-id';
import { uploadSet } from '#agent/hotsite/stream-upload';
import { refillHotSite } from '#agent/hotsite/refill';
import { createLogger } from '#agent/log';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'upload-streaming';
const PART = 5 * MiB;

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** An S3 client pointed at moto that records every command it sends (and can make some fail). */
function recordingClient(fail?: (sent: Sent) => boolean): { s3: S3Client; sent: Sent[] } {
  const s3 = motoS3Client();
  const sent: Sent[] = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const entry = { command: context.commandName ?? '', input: args.input as Record<string, unknown> };
      sent.push(entry);
      if (fail?.(entry)) throw Object.assign(new Error('injected UploadPart failure'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { s3, sent };
}

function manifestFor(dir: string, jobId: number, files: Array<{ name: string; size: number; sha256: string; partSize: number; checksumSHA256: string }>): Manifest {
  const setName = setNameOf(jobId);
  const input: ManifestInput = {
    formatVersion: 1, product: 'commserve-dr', jobId, setName, backupType: 'FULL', cycleId: jobId, baseFullSet: null,
    startTime: '2026-11-29T17:00:00.000Z', endTime: '2026-11-29T17:00:01.000Z', agentVersion: 'test', hostname: 'cs',
    database: { engine: 'sqlite', name: 'commserv.db' }, integrity: { status: 'ok', messages: [], durationMs: 1 },
    registry: { store: 'file-hive', exportedKeys: [], missingKeys: [] }, firewall: { present: [], missing: [] },
    files: files.map((f) => ({ name: f.name, role: f.name.endsWith('.dmp') ? 'database' : 'registry', size: f.size, sha256: f.sha256, s3: { partSize: f.partSize, checksumSHA256: f.checksumSHA256 } })),
  };
  const bytes = serializeManifest(input);
  writeFileSync(join(dir, 'manifest.json'), bytes);
  return parseManifest(bytes);
}

/** A 12 MiB + 123 bytes dump (three 5 MiB parts) and a small registry file, with their manifest. */
async function writeSet(dir: string, jobId = 7) {
  const data = Buffer.alloc(12 * MiB + 123);
  for (let i = 0; i + 4 <= data.length; i += 4096) data.writeUInt32LE(i ^ 0x5a5a5a5a, i);
  writeFileSync(join(dir, 'commserv_FULL.dmp'), data);
  writeFileSync(join(dir, 'commserv_hive.reg'), 'Windows Registry Editor Version 5.00\r\n');
  const dump = sums(data);
  const reg = sums(readFileSync(join(dir, 'commserv_hive.reg')));
  const manifest = manifestFor(dir, jobId, [
    { name: 'commserv_FULL.dmp', size: dump.size, sha256: dump.sha256, partSize: dump.partSize, checksumSHA256: dump.s3ChecksumSHA256 },
    { name: 'commserv_hive.reg', size: reg.size, sha256: reg.sha256, partSize: reg.partSize, checksumSHA256: reg.s3ChecksumSHA256 },
  ]);
  return { data, dump, reg, manifest };
}

/** Checksums of `data` for 5 MiB parts, with each part's base64 SHA-256. */
function sums(data: Buffer) {
  const hasher = new SetFileHasher(PART);
  hasher.update(data);
  const partChecksums: string[] = [];
  for (let start = 0; start < data.length; start += PART) partChecksums.push(createHash('sha256').update(data.subarray(start, start + PART)).digest('base64'));
  return { ...hasher.digest(), partChecksums };
}

async function openUploads(s3: S3Client): Promise<number> {
  return (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads?.length ?? 0;
}

async function keys(s3: S3Client): Promise<string[]> {
  return ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!);
}

describe('SET upload streaming (moto)', () => {
  useMoto();
  const tempDir = useTempDirs('commserve-dr-upload-');

  beforeEach(async () => {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('uploads a file larger than one part as a multipart upload in parts of the manifest part size, each with its SHA-256; the manifest goes last', async () => {
    const dir = tempDir();
    const { data, dump, reg, manifest } = await writeSet(dir);
    const { s3, sent } = recordingClient();
    const progress: number[] = [];
    const bytes = await uploadSet(s3, BUCKET, dir, manifest, (done) => progress.push(done));
    expect(bytes).toBe(data.length + reg.size);
    expect(progress.at(-1)).toBe(data.length + reg.size);

    const create = sent.filter((s) => s.command === 'CreateMultipartUploadCommand');
    expect(create).toHaveLength(1);
    expect(create[0].input).toMatchObject({ Key: 'sets/SET_0000007/commserv_FULL.dmp', ChecksumAlgorithm: 'SHA256' });
    const parts = sent.filter((s) => s.command === 'UploadPartCommand').sort((a, b) => Number(a.input.PartNumber) - Number(b.input.PartNumber));
    expect(parts.map((p) => p.input.PartNumber)).toEqual([1, 2, 3]);
    expect(parts.map((p) => p.input.ContentLength)).toEqual([PART, PART, data.length - 2 * PART]);
    expect(parts.map((p) => p.input.ChecksumSHA256)).toEqual(dump.partChecksums);
    const complete = sent.find((s) => s.command === 'CompleteMultipartUploadCommand')!;
    expect((complete.input.MultipartUpload as { Parts: Array<{ ChecksumSHA256?: string }> }).Parts.map((p) => p.ChecksumSHA256)).toEqual(dump.partChecksums);

    // Small files are a single PUT with the whole file's SHA-256; the manifest is the last request.
    const puts = sent.filter((s) => s.command === 'PutObjectCommand');
    expect(puts.map((p) => p.input.Key)).toEqual(['sets/SET_0000007/commserv_hive.reg', 'sets/SET_0000007/manifest.json']);
    expect(puts[0].input.ChecksumSHA256).toBe(reg.s3ChecksumSHA256);
    expect(sent.at(-1)!.input.Key).toBe('sets/SET_0000007/manifest.json');

    // S3 stored what the manifest predicts (moto 5.2 omits the "-N" suffix AWS appends to a composite checksum).
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000007/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(data.length);
    expect(head.ChecksumSHA256).toBe(dump.s3ChecksumSHA256.replace(/-\d+$/, ''));
    expect(await openUploads(s3)).toBe(0);
  });

  it('an injected S3 client whose UploadPart fails: the upload fails with a HotSiteError, its multipart upload is aborted (no orphan parts), nothing else is sent', async () => {
    const dir = tempDir();
    const { manifest } = await writeSet(dir);
    const { s3, sent } = recordingClient((s) => s.command === 'UploadPartCommand' && s.input.PartNumber === 2);
    const error = await uploadSet(s3, BUCKET, dir, manifest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HotSiteError);
    expect((error as Error).message).toContain('upload SET_0000007/commserv_FULL.dmp');
    expect(sent.some((s) => s.command === 'AbortMultipartUploadCommand')).toBe(true);
    expect(sent.some((s) => s.command === 'CompleteMultipartUploadCommand')).toBe(false);
    expect(await openUploads(motoS3Client())).toBe(0);
    expect(await keys(motoS3Client())).toEqual([]);
  });

  it('a file that no longer matches the manifest (size changed) is refused and its upload aborted', async () => {
    const dir = tempDir();
    const { manifest } = await writeSet(dir);
    writeFileSync(join(dir, 'commserv_FULL.dmp'), Buffer.alloc(PART + 1));
    await expect(uploadSet(motoS3Client(), BUCKET, dir, manifest)).rejects.toThrow(/has 5242881 bytes, the manifest says/);
    expect(await openUploads(motoS3Client())).toBe(0);
    expect(await keys(motoS3Client())).toEqual([]);
  });

  it('a local file whose bytes changed since its manifest (same size) is not uploaded: SET_FILE_MISMATCH, the upload aborted, no manifest sent; refill skips that SET and re-fills the others', async () => {
    const root = tempDir();
    const damagedDir = join(root, 'SET_0000007');
    const goodDir = join(root, 'SET_0000008');
    mkdirSync(damagedDir);
    mkdirSync(goodDir);
    const { data, manifest } = await writeSet(damagedDir, 7);
    await writeSet(goodDir, 8);
    const flipped = Buffer.from(data);
    flipped[PART + 17] ^= 0xff;
    writeFileSync(join(damagedDir, 'commserv_FULL.dmp'), flipped);
    const error = await uploadSet(motoS3Client(), BUCKET, damagedDir, manifest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommserveDrError);
    expect(error).toMatchObject({ code: 'SET_FILE_MISMATCH' });
    expect((error as Error).message).toMatch(/commserv_FULL\.dmp has SHA-256 .*, its manifest says .*: the local copy is damaged and was not uploaded/);
    expect(await openUploads(motoS3Client())).toBe(0);
    expect(await keys(motoS3Client())).toEqual([]);

    const result = await refillHotSite(motoS3Client(), BUCKET, root, createLogger({ level: 'silent' }));
    expect(result.uploaded).toEqual(['SET_0000008']);
    expect(result.skipped).toEqual([{ setName: 'SET_0000007', reason: expect.stringContaining('the local copy is damaged') }]);
    expect((await keys(motoS3Client())).filter((k) => k.startsWith('sets/SET_0000007/'))).toEqual([]);
    expect(await keys(motoS3Client())).toContain('sets/SET_0000008/manifest.json');
  });

  it('refill: a SET committed at the hot-site (manifest there) that misses a file gets only that file back, checked against the manifest; nothing else is sent', async () => {
    const root = tempDir();
    const dir = join(root, 'SET_0000009');
    mkdirSync(dir);
    const { dump, manifest } = await writeSet(dir, 9);
    await uploadSet(motoS3Client(), BUCKET, dir, manifest);
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000009/commserv_FULL.dmp' }));
    const { s3, sent } = recordingClient();

    const result = await refillHotSite(s3, BUCKET, root, createLogger({ level: 'silent' }));

    expect(result).toMatchObject({ uploaded: [], skipped: [], repaired: [{ setName: 'SET_0000009', file: 'commserv_FULL.dmp', from: 'local' }] });
    expect(sent.filter((c) => c.command === 'CreateMultipartUploadCommand').map((c) => c.input.Key)).toEqual(['sets/SET_0000009/commserv_FULL.dmp']);
    expect(sent.filter((c) => c.command === 'PutObjectCommand')).toEqual([]);
    const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000009/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
    expect(head.ContentLength).toBe(dump.size);
    expect(head.ChecksumSHA256?.split('-')[0]).toBe(dump.s3ChecksumSHA256.split('-')[0]);
  });

  it('refuses a SET with a file over 5 TiB, or a plan under 5 MiB parts / over 10,000 parts, before sending anything', async () => {
    const dir = tempDir();
    const { reg } = await writeSet(dir);
    const small = { name: 'commserv_hive.reg', size: reg.size, sha256: reg.sha256, partSize: reg.partSize, checksumSHA256: reg.s3ChecksumSHA256 };
    const huge = (size: number, partSize: number) => ({ name: 'commserv_FULL.dmp', size, sha256: '0'.repeat(64), partSize, checksumSHA256: `${'A'.repeat(43)}=` });
    for (const [jobId, file, message] of [
      [8, huge(S3_MAX_OBJECT_BYTES + 1, 5 * GiB), /exceeds the 5 TiB S3 object limit/],
      [9, huge(100 * GiB, 8 * MiB), /parts exceed the 10,000-part S3 limit/],
      [10, huge(20 * MiB, MiB), /under the 5 MiB S3 minimum/],
    ] as const) {
      const { s3, sent } = recordingClient();
      // The small file is listed first: it is not sent either.
      const manifest = manifestFor(dir, jobId, [small, file]);
      await expect(uploadSet(s3, BUCKET, dir, manifest)).rejects.toThrow(message);
      expect(sent).toEqual([]);
    }
    expect(await keys(motoS3Client())).toEqual([]);
  });

  it('choosePartSize: no part under 5 MiB, no object over 10,000 parts, nothing over 5 TiB', () => {
    for (const size of [0, 1, 5 * MiB, 8 * MiB + 1, 2 * GiB, 78 * GiB, 79 * GiB, TiB, S3_MAX_OBJECT_BYTES]) {
      const part = choosePartSize(size);
      expect(part).toBeGreaterThanOrEqual(S3_MIN_PART_BYTES);
      expect(partCount(size, part)).toBeLessThanOrEqual(S3_MAX_PARTS);
    }
    expect(choosePartSize(2 * GiB)).toBe(8 * MiB);
    expect(choosePartSize(MiB, MiB)).toBe(S3_MIN_PART_BYTES);
    expect(() => choosePartSize(S3_MAX_OBJECT_BYTES + 1)).toThrow(TransferLimitError);
  });
});
