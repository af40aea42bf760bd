/**
 * `downloadObject` against moto: size and SHA-256 of the stored object checked while it streams to disk, brotli
 * decompression on the way (content checked against `contentSize`/`contentSha256`), the stored form kept on request,
 * the content observer, and nothing left under the final name (or as a partial file) when a check fails.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants } from 'node:zlib';
import { downloadObject, type DownloadExpectation } from '#agent/hotsite/download';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BUCKET = 'download-test';

/** Compressible content of `size` bytes (text-like, with some randomness). */
function content(size: number): Buffer {
  const line = (i: number) => `row ${i} client-${i % 977}.corp.example status=Completed ${randomBytes(4).toString('hex')}\n`;
  const parts: Buffer[] = [];
  let total = 0;
  for (let i = 0; total < size; i++) {
    const b = Buffer.from(line(i));
    parts.push(b);
    total += b.length;
  }
  return Buffer.concat(parts).subarray(0, size);
}

const brotli = (b: Buffer) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } });

describe('downloadObject (moto)', () => {
  useMoto();
  const tempDir = useTempDirs('commserve-dr-download-');
  const s3 = () => motoS3Client();

  async function put(key: string, body: Buffer): Promise<void> {
    await s3().send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
    await s3().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  }

  /** A compressed object at the hot-site and its manifest-like expectation. */
  async function compressed(key: string, size = 3 * 1024 * 1024) {
    const plain = content(size);
    const stored = brotli(plain);
    await put(key, stored);
    const expected: DownloadExpectation = {
      size: stored.length,
      sha256: sha(stored),
      compression: { algorithm: 'brotli', level: 1, contentSize: plain.length, contentSha256: sha(plain) },
    };
    return { plain, stored, expected };
  }

  it('streams an uncompressed object to disk, verified, and shows its bytes to the observer in order', async () => {
    const body = randomBytes(5 * 1024 * 1024 + 123);
    await put('plain.bin', body);
    const dir = tempDir();
    const seen: Buffer[] = [];
    let finished = false;
    const result = await downloadObject(s3(), BUCKET, 'plain.bin', join(dir, 'plain.bin'), { size: body.length, sha256: sha(body) }, {
      observer: { update: (c) => void seen.push(Buffer.from(c)), finish: () => void (finished = true) },
      sync: 'during',
    });
    expect(result).toEqual({ bytes: body.length, sha256: sha(body), stored: { bytes: body.length, sha256: sha(body) }, kept: 'content' });
    expect(readFileSync(join(dir, 'plain.bin')).equals(body)).toBe(true);
    expect(Buffer.concat(seen).equals(body)).toBe(true);
    expect(finished).toBe(true);
    expect(readdirSync(dir)).toEqual(['plain.bin']);
  });

  it('decompresses a brotli object while downloading: the file holds the content, both forms verified', async () => {
    const { plain, stored, expected } = await compressed('c.dmp');
    expect(stored.length).toBeLessThan(plain.length / 2);
    const dir = tempDir();
    const seen: Buffer[] = [];
    const result = await downloadObject(s3(), BUCKET, 'c.dmp', join(dir, 'c.dmp'), expected, { observer: { update: (c) => void seen.push(Buffer.from(c)) } });
    expect(result).toEqual({ bytes: plain.length, sha256: sha(plain), stored: { bytes: stored.length, sha256: sha(stored) }, kept: 'content' });
    expect(readFileSync(join(dir, 'c.dmp')).equals(plain)).toBe(true);
    expect(Buffer.concat(seen).equals(plain)).toBe(true); // the observer sees the content, not the stored bytes
  });

  it("keep: 'stored' writes the object as stored, after checking its content too", async () => {
    const { plain, stored, expected } = await compressed('k.dmp');
    const dir = tempDir();
    const result = await downloadObject(s3(), BUCKET, 'k.dmp', join(dir, 'k.dmp'), expected, { keep: 'stored' });
    expect(result).toMatchObject({ bytes: plain.length, sha256: sha(plain), kept: 'stored' });
    expect(readFileSync(join(dir, 'k.dmp')).equals(stored)).toBe(true);
    // The content is still checked in that mode.
    await expect(
      downloadObject(s3(), BUCKET, 'k.dmp', join(dir, 'k2.dmp'), { ...expected, compression: { ...expected.compression!, contentSha256: '0'.repeat(64) } }, { keep: 'stored' }),
    ).rejects.toMatchObject({ code: 'CONTENT_MISMATCH' });
    expect(existsSync(join(dir, 'k2.dmp'))).toBe(false);
  });

  it('refuses a damaged compressed object (CHECKSUM_MISMATCH) and leaves nothing behind', async () => {
    const { stored, expected } = await compressed('d.dmp');
    const damaged = Buffer.from(stored);
    damaged[Math.floor(damaged.length / 2)] ^= 0x55;
    await put('d.dmp', damaged);
    const dir = tempDir();
    const error = await downloadObject(s3(), BUCKET, 'd.dmp', join(dir, 'd.dmp'), expected).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect((error as Error).message).toMatch(/d\.dmp: SHA-256 .* differs from the manifest's .*changed or damaged/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses content that is not what the manifest says: contentSha256, contentSize, not brotli at all', async () => {
    const { expected } = await compressed('m.dmp');
    const dir = tempDir();
    const wrongSha = { ...expected, compression: { ...expected.compression!, contentSha256: 'a'.repeat(64) } };
    await expect(downloadObject(s3(), BUCKET, 'm.dmp', join(dir, 'm.dmp'), wrongSha)).rejects.toMatchObject({
      code: 'CONTENT_MISMATCH',
      message: expect.stringMatching(/decompressed content: SHA-256 .* differs from the manifest's contentSha256/),
    });
    const shorter = { ...expected, compression: { ...expected.compression!, contentSize: expected.compression!.contentSize - 1 } };
    await expect(downloadObject(s3(), BUCKET, 'm.dmp', join(dir, 'm.dmp'), shorter)).rejects.toMatchObject({ code: 'CONTENT_MISMATCH' });
    const longer = { ...expected, compression: { ...expected.compression!, contentSize: expected.compression!.contentSize + 1 } };
    await expect(downloadObject(s3(), BUCKET, 'm.dmp', join(dir, 'm.dmp'), longer)).rejects.toMatchObject({ code: 'CONTENT_MISMATCH' });
    // Stored bytes exactly as the manifest says, but they are not a brotli stream (the SET was written damaged).
    const garbage = Buffer.from('this is not a brotli stream\n'.repeat(10_000));
    await put('g.dmp', garbage);
    const notBrotli: DownloadExpectation = { size: garbage.length, sha256: sha(garbage), compression: { algorithm: 'brotli', level: 1, contentSize: 10, contentSha256: 'b'.repeat(64) } };
    const error = await downloadObject(s3(), BUCKET, 'g.dmp', join(dir, 'g.dmp'), notBrotli).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'CONTENT_CORRUPT' });
    expect((error as Error).message).toMatch(/g\.dmp: the stored object matches its manifest but does not decompress \(brotli: .*\): the SET was written damaged/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a size or SHA-256 mismatch of an uncompressed object; an observer error fails the download', async () => {
    const body = randomBytes(300_000);
    await put('p.bin', body);
    const dir = tempDir();
    await expect(downloadObject(s3(), BUCKET, 'p.bin', join(dir, 'p.bin'), { size: body.length - 1, sha256: sha(body) })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(downloadObject(s3(), BUCKET, 'p.bin', join(dir, 'p.bin'), { size: body.length + 1, sha256: sha(body) })).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(downloadObject(s3(), BUCKET, 'p.bin', join(dir, 'p.bin'), { size: body.length, sha256: 'c'.repeat(64) })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    let aborted = false;
    const observer = {
      update: () => {
        throw Object.assign(new Error('observer says no'), { code: 'OBSERVED' });
      },
      abort: () => void (aborted = true),
    };
    await expect(downloadObject(s3(), BUCKET, 'p.bin', join(dir, 'p.bin'), { size: body.length, sha256: sha(body) }, { observer })).rejects.toThrow(/observer says no/);
    expect(aborted).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
