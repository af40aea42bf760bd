import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { SetFileHasher } from '#core/checksums';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

describe('SetFileHasher', () => {
  it('gives the whole-file SHA-256 as the S3 checksum of a single PUT', () => {
    const data = Buffer.from('CommServe');
    const h = new SetFileHasher(16);
    h.update(data);
    const sums = h.digest();
    expect(sums.size).toBe(9);
    expect(sums.sha256).toBe(sha(data).toString('hex'));
    expect(sums.s3ChecksumSHA256).toBe(sha(data).toString('base64'));
  });

  it('gives the composite checksum-of-checksums with the part count for a multipart upload', () => {
    const data = Buffer.alloc(10, 7);
    const h = new SetFileHasher(4);
    h.update(data.subarray(0, 3));
    h.update(data.subarray(3));
    const parts = [data.subarray(0, 4), data.subarray(4, 8), data.subarray(8)].map(sha);
    expect(h.digest().s3ChecksumSHA256).toBe(`${sha(Buffer.concat(parts)).toString('base64')}-3`);
  });

  it('does not depend on how the bytes are chunked (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 64 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (bytes, partSize, cuts) => {
        const whole = new SetFileHasher(partSize);
        whole.update(bytes);
        const chunked = new SetFileHasher(partSize);
        let offset = 0;
        for (let i = 0; offset < bytes.length; i++) {
          const n = cuts[i % cuts.length];
          chunked.update(bytes.subarray(offset, offset + n));
          offset += n;
        }
        expect(chunked.digest()).toEqual(whole.digest());
      }),
    );
  });
});
