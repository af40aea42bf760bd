/**
 * Phase 1's single pass over a SET file (issue 10) against a real moto server: one read hashes, observes,
 * optionally brotli-compresses and uploads; S3 verifies every part's SHA-256; parts in flight never exceed the
 * queue size; an upload failure does not stop the pass (the local SET can still be committed) and leaves no
 * multipart upload open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { PassThrough, type Readable } from 'node:stream';
import { SetFileHasher } from '#core/checksums';
import { HotSiteError } from '#core/errors';
import { MiB } from '#core/transfer-plan';
import { setName } from '#core/set-id';
import { attachFileRangeBody } from '#agent/hotsite/file-range-body';
import { SetUploadSession, streamSetFile } from '#agent/hotsite/stream-upload';
import { PAGE_ENTRY_BYTES, pageDigest, pageEntry } from '#agent/engines/sqlite/page-hashes';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'stream-upload';
const PART = 5 * MiB;

interface Sent {
  command: string;
  input: Record<string, unknown>;
}

/** An S3 client pointed at moto that records every command, tracks UploadParts in flight, and can fail some. */
function recordingClient(fail?: (sent: Sent) => boolean): { s3: S3Client; sent: Sent[]; maxInFlight: () => number } {
  const s3 = motoS3Client();
  const sent: Sent[] = [];
  let inFlight = 0;
  let max = 0;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const entry = { command: context.commandName ?? '', input: args.input as Record<string, unknown> };
      sent.push(entry);
      if (fail?.(entry)) throw Object.assign(new Error('injected failure'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      const part = entry.command === 'UploadPartCommand';
      if (part) max = Math.max(max, ++inFlight);
      try {
        return await next(args);
      } finally {
        if (part) inFlight--;
      }
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { s3, sent, maxInFlight: () => max };
}

/** Compressible bytes (repeated records with a counter), `size` long. */
function sampleBytes(size: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i + 64 <= size; i += 64) data.write(`record ${String(i).padStart(12, '0')} client=cs-node-${i % 97} status=ok;`, i, 'latin1');
  return data;
}

/** The page entries given cover `data` exactly: one per 4 KiB page, its XXH64 then its SHA-256 (40 bytes), in order. */
function expectPageDigests(pages: Array<{ digests: Buffer; bytes: number }>, data: Buffer): void {
  expect(pages.reduce((sum, p) => sum + p.bytes, 0)).toBe(data.length);
  const all = Buffer.concat(pages.map((p) => p.digests));
  expect(all.length).toBe((data.length / 4096) * PAGE_ENTRY_BYTES);
  for (const page of [0, 1, 2000, data.length / 4096 - 1]) {
    const entry = all.subarray(page * PAGE_ENTRY_BYTES, (page + 1) * PAGE_ENTRY_BYTES);
    expect(entry.toString('hex')).toBe(pageEntry(data.subarray(page * 4096, (page + 1) * 4096)).toString('hex'));
    expect(entry.subarray(8, 24).equals(pageDigest(data.subarray(page * 4096, (page + 1) * 4096)))).toBe(true);
  }
}

async function openUploads(s3: S3Client): Promise<number> {
  return (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads?.length ?? 0;
}

async function objectBytes(s3: S3Client, key: string): Promise<Buffer> {
  return Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
}

describe('streamSetFile: one pass — hash, page digests, compress, upload (moto)', () => {
  useMoto();
  const tempDir = useTempDirs('commserve-dr-stream-');
  const sessions: SetUploadSession[] = [];
  const open = (s3: S3Client | null, options?: ConstructorParameters<typeof SetUploadSession>[2]) => {
    const session = new SetUploadSession(s3, BUCKET, options);
    sessions.push(session);
    return session;
  };

  afterEach(async () => {
    for (const session of sessions.splice(0)) await session.close();
  });

  beforeEach(async () => {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('uploads a multi-part file with each part SHA-256 (verified by S3), at most queueSize parts in flight; the entry matches SetFileHasher and the page digests cover every page in order', async () => {
    const dir = tempDir();
    const data = sampleBytes(23 * MiB + 4096);
    writeFileSync(join(dir, 'commserv_FULL.dmp'), data);
    const { s3, sent, maxInFlight } = recordingClient();
    const session = open(s3, { queueSize: 2 });
    const pages: Array<{ digests: Buffer; bytes: number }> = [];
    let progress = 0;
    const result = await streamSetFile(session, {
      source: join(dir, 'commserv_FULL.dmp'),
      name: 'commserv_FULL.dmp',
      role: 'database',
      key: 'sets/SET_0000001/commserv_FULL.dmp',
      partSize: PART,
      pageDigests: { pageSize: 4096, add: async (digests, bytes) => void pages.push({ digests, bytes }) },
      onProgress: (read) => (progress = read),
    });
    const hasher = new SetFileHasher(PART);
    hasher.update(data);
    const expected = hasher.digest();
    expect(result.uploaded).toBe(true);
    expect(session.failure).toBeUndefined();
    expect(result.entry).toEqual({ name: 'commserv_FULL.dmp', role: 'database', size: data.length, sha256: expected.sha256, s3: { partSize: PART, checksumSHA256: expected.s3ChecksumSHA256 } });
    expect(result.contentSha256).toBe(expected.sha256);
    expectPageDigests(pages, data);
    expect(progress).toBe(data.length);
    const parts = sent.filter((s) => s.command === 'UploadPartCommand').sort((a, b) => Number(a.input.PartNumber) - Number(b.input.PartNumber));
    expect(parts.map((p) => p.input.ContentLength)).toEqual([PART, PART, PART, PART, data.length - 4 * PART]);
    expect(parts.map((p) => p.input.ChecksumSHA256)).toEqual([0, 1, 2, 3, 4].map((n) => createHash('sha256').update(data.subarray(n * PART, (n + 1) * PART)).digest('base64')));
    expect(maxInFlight()).toBeLessThanOrEqual(2);
    // moto 5 omits the "-N" suffix AWS appends to a composite checksum.
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/commserv_FULL.dmp', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(expected.s3ChecksumSHA256.replace(/-\d+$/, ''));
    expect((await objectBytes(s3, 'sets/SET_0000001/commserv_FULL.dmp')).equals(data)).toBe(true);
    expect(await openUploads(s3)).toBe(0);
  });

  it('SigV4 signs each request with the payload SHA-256 from the hashing worker (x-amz-content-sha256 = SHA-256 of the bytes on the wire), not a second hash on the main thread', async () => {
    const dir = tempDir();
    const data = sampleBytes(11 * MiB);
    writeFileSync(join(dir, 'commserv_FULL.dmp'), data);
    // The bytes each UploadPart puts on the wire, as the HTTP handler sends them (the body is read from the file there).
    const sentParts: Array<Promise<{ payload: string; body: Buffer }>> = [];
    class CapturingHandler extends NodeHttpHandler {
      override async handle(...[request, options]: Parameters<NodeHttpHandler['handle']>) {
        if (request.query?.partNumber !== undefined) {
          const tee = new PassThrough();
          (request.body as Readable).pipe(tee);
          const chunks: Buffer[] = [];
          tee.on('data', (c: Buffer) => chunks.push(c));
          sentParts.push(new Promise((resolve) => tee.on('end', () => resolve({ payload: request.headers['x-amz-content-sha256'], body: Buffer.concat(chunks) }))));
          request.body = tee;
        }
        return super.handle(request, options);
      }
    }
    const s3 = new S3Client({ endpoint: motoEndpoint(), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestHandler: new CapturingHandler() });
    const key = `sets/${setName(9)}/commserv_FULL.dmp`;
    const result = await streamSetFile(open(s3), { source: join(dir, 'commserv_FULL.dmp'), name: 'commserv_FULL.dmp', role: 'database', key, partSize: PART });
    expect(result.uploaded).toBe(true);
    const parts = await Promise.all(sentParts);
    expect(parts.map((p) => p.body.length)).toEqual([PART, PART, data.length - 2 * PART]);
    for (const p of parts) expect(p.payload).toBe(createHash('sha256').update(p.body).digest('hex'));
    expect(Buffer.concat(parts.map((p) => p.body)).equals(data)).toBe(true);
    expect((await objectBytes(s3, key)).equals(data)).toBe(true);
  });

  it('a file that fits in one part is one PutObject with the whole SHA-256; exactly one part size is still one PUT', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'small.reg'), 'Windows Registry Editor Version 5.00\r\n');
    writeFileSync(join(dir, 'exact.dmp'), sampleBytes(PART));
    const { s3, sent } = recordingClient();
    const session = open(s3);
    const small = await streamSetFile(session, { source: join(dir, 'small.reg'), name: 'small.reg', role: 'registry', key: 'sets/SET_0000001/small.reg' });
    const exact = await streamSetFile(session, { source: join(dir, 'exact.dmp'), name: 'exact.dmp', role: 'database', key: 'sets/SET_0000001/exact.dmp', partSize: PART });
    expect(sent.map((s) => s.command)).toEqual(['PutObjectCommand', 'PutObjectCommand']);
    expect(small.entry.s3!.checksumSHA256).toBe(createHash('sha256').update(readFileSync(join(dir, 'small.reg'))).digest('base64'));
    expect(exact.entry.s3!.checksumSHA256).toBe(createHash('sha256').update(readFileSync(join(dir, 'exact.dmp'))).digest('base64'));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/exact.dmp', ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(exact.entry.s3!.checksumSHA256);
  });

  it('brotli: stores and uploads the compressed bytes (entry describes them, compression describes the content), which decompress to the source', async () => {
    const dir = tempDir();
    const data = sampleBytes(12 * MiB + 4096);
    writeFileSync(join(dir, 'raw.dmp'), data);
    const { s3 } = recordingClient();
    const session = open(s3);
    const pages: Array<{ digests: Buffer; bytes: number }> = [];
    const result = await streamSetFile(session, {
      source: join(dir, 'raw.dmp'),
      name: 'commserv_FULL.dmp',
      role: 'database',
      key: 'sets/SET_0000002/commserv_FULL.dmp',
      compression: { level: 1, storedPath: join(dir, 'commserv_FULL.dmp') },
      pageDigests: { pageSize: 4096, add: async (digests, bytes) => void pages.push({ digests, bytes }) },
    });
    const stored = readFileSync(join(dir, 'commserv_FULL.dmp'));
    const contentSha256 = createHash('sha256').update(data).digest('hex');
    expect(stored.length).toBeLessThan(data.length / 4);
    expect(brotliDecompressSync(stored).equals(data)).toBe(true);
    expect(result.entry).toMatchObject({
      size: stored.length,
      sha256: createHash('sha256').update(stored).digest('hex'),
      compression: { algorithm: 'brotli', level: 1, contentSize: data.length, contentSha256 },
    });
    expect(result.contentSha256).toBe(contentSha256);
    expectPageDigests(pages, data);
    expect((await objectBytes(s3, 'sets/SET_0000002/commserv_FULL.dmp')).equals(stored)).toBe(true);
  });

  it('brotli over several parts (incompressible content): each part is a range of the stored file with its SHA-256; the object is the stored file and decompresses to the source', async () => {
    const dir = tempDir();
    const data = randomBytes(11 * MiB);
    writeFileSync(join(dir, 'raw.dmp'), data);
    const { s3, sent } = recordingClient();
    const key = `sets/${setName(6)}/commserv_FULL.dmp`;
    const result = await streamSetFile(open(s3, { queueSize: 2 }), { source: join(dir, 'raw.dmp'), name: 'commserv_FULL.dmp', role: 'database', key, partSize: PART, compression: { level: 1, storedPath: join(dir, 'commserv_FULL.dmp') } });
    const stored = readFileSync(join(dir, 'commserv_FULL.dmp'));
    expect(stored.length).toBeGreaterThan(2 * PART);
    expect(brotliDecompressSync(stored).equals(data)).toBe(true);
    const hasher = new SetFileHasher(PART);
    hasher.update(stored);
    const expected = hasher.digest();
    expect(result).toMatchObject({ uploaded: true, entry: { size: stored.length, sha256: expected.sha256, s3: { partSize: PART, checksumSHA256: expected.s3ChecksumSHA256 } } });
    const parts = sent.filter((x) => x.command === 'UploadPartCommand').sort((a, b) => Number(a.input.PartNumber) - Number(b.input.PartNumber));
    expect(parts.map((p) => p.input.ChecksumSHA256)).toEqual([0, 1, 2].map((n) => createHash('sha256').update(stored.subarray(n * PART, (n + 1) * PART)).digest('base64')));
    expect((await objectBytes(s3, key)).equals(stored)).toBe(true);
    expect(await openUploads(s3)).toBe(0);
  });

  it('an upload that fails mid-file: the pass still completes (entry, stored bytes), the session keeps the HotSiteError, the multipart upload is aborted and later files are not sent', async () => {
    const dir = tempDir();
    const data = sampleBytes(16 * MiB);
    writeFileSync(join(dir, 'commserv_FULL.dmp'), data);
    writeFileSync(join(dir, 'commserv_hive.reg'), 'REGEDIT4\r\n');
    const { s3, sent } = recordingClient((s) => s.command === 'UploadPartCommand' && s.input.PartNumber === 2);
    const session = open(s3, { requestRetry: { attempts: 1, baseDelayMs: 0 } });
    const dump = await streamSetFile(session, { source: join(dir, 'commserv_FULL.dmp'), name: 'commserv_FULL.dmp', role: 'database', key: 'sets/SET_0000003/commserv_FULL.dmp', partSize: PART });
    expect(dump.uploaded).toBe(false);
    expect(dump.entry.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(session.failure).toBeInstanceOf(HotSiteError);
    expect(session.failure!.message).toContain('upload SET_0000003/commserv_FULL.dmp');
    const before = sent.length;
    const reg = await streamSetFile(session, { source: join(dir, 'commserv_hive.reg'), name: 'commserv_hive.reg', role: 'registry', key: 'sets/SET_0000003/commserv_hive.reg' });
    expect(reg.uploaded).toBe(false);
    expect(sent.length).toBe(before);
    expect(sent.some((s) => s.command === 'AbortMultipartUploadCommand')).toBe(true);
    expect(sent.some((s) => s.command === 'CompleteMultipartUploadCommand')).toBe(false);
    expect(await openUploads(motoS3Client())).toBe(0);
    expect((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount ?? 0).toBe(0);
  });

  it('a source that cannot be read throws (no upload left open); without a client nothing is sent', async () => {
    const dir = tempDir();
    const session = open(motoS3Client());
    await expect(streamSetFile(session, { source: join(dir, 'missing.dmp'), name: 'missing.dmp', role: 'database', key: 'sets/SET_0000004/missing.dmp' })).rejects.toMatchObject({ code: 'ENOENT' });
    writeFileSync(join(dir, 'a.txt'), 'firewall');
    const offline = open(null);
    const result = await streamSetFile(offline, { source: join(dir, 'a.txt'), name: 'a.txt', role: 'firewall', key: 'sets/SET_0000004/a.txt' });
    expect(result).toMatchObject({ uploaded: false, entry: { size: 8, sha256: createHash('sha256').update('firewall').digest('hex') } });
    expect(await openUploads(motoS3Client())).toBe(0);
    expect((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount ?? 0).toBe(0);
  });
  it('a part body is read from its file range at each attempt: a file that ends before the range, or cannot be read, fails the request with the file and the reason (never a request left waiting for bytes)', async () => {
    const dir = tempDir();
    const file = join(dir, 'short.dmp');
    writeFileSync(file, Buffer.alloc(50, 7));
    const s3 = motoS3Client();
    const meant = createHash('sha256').update(Buffer.alloc(100, 9)).digest();
    const put = (path: string, key: string) => {
      const command = new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentLength: 100, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: meant.toString('base64') });
      return s3.send(command, { abortSignal: attachFileRangeBody(command, { path, start: 0, length: 100 }, meant) });
    };
    // The SDK cannot hash a body it does not see: a command without the range's checksum is refused before sending.
    expect(() => attachFileRangeBody(new PutObjectCommand({ Bucket: BUCKET, Key: 'k', ContentLength: 100 }), { path: file, start: 0, length: 100 }, meant)).toThrow(RangeError);
    await expect(put(file, 'short')).rejects.toThrow(`reading ${file} (bytes 0–99) to upload it failed: the file ends after 50 of the range's 100 bytes (it changed since it was hashed)`);
    await expect(put(join(dir, 'missing.dmp'), 'missing')).rejects.toThrow(new RegExp(`reading ${join(dir, 'missing.dmp')} \\(bytes 0–99\\) to upload it failed: ENOENT`));
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount ?? 0).toBe(0);
    // The same range of an intact file goes through, the bytes as on disk.
    writeFileSync(file, Buffer.alloc(100, 9));
    await put(file, 'whole');
    expect((await objectBytes(s3, 'whole')).equals(Buffer.alloc(100, 9))).toBe(true);
  });

  it('the source shrinks after its first part was hashed (before it is sent): the pass throws "changed size", the part request does not hang, no multipart upload is left open, nothing is stored', async () => {
    const dir = tempDir();
    const source = join(dir, 'commserv_FULL.dmp');
    writeFileSync(source, sampleBytes(3 * PART));
    const { s3 } = recordingClient((sent) => {
      if (sent.command === 'UploadPartCommand' && sent.input.PartNumber === 1) truncateSync(source, PART / 2);
      return false;
    });
    const session = open(s3, { requestRetry: { attempts: 1, baseDelayMs: 0 } });
    await expect(streamSetFile(session, { source, name: 'commserv_FULL.dmp', role: 'database', key: `sets/${setName(5)}/commserv_FULL.dmp`, partSize: PART })).rejects.toThrow(/changed size while it was read/);
    expect(await openUploads(s3)).toBe(0);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).KeyCount ?? 0).toBe(0);
  });
});
