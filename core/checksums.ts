/**
 * Checksums of SET files, computed in one pass over the bytes:
 * - the SHA-256 of the whole file (lowercase hex), recorded in the manifest;
 * - the SHA-256 checksum S3 will report for the object once uploaded with `ChecksumAlgorithm: 'SHA256'`
 *   in parts of `partSize` bytes: base64 of the whole SHA-256 for a single PUT (size ≤ partSize),
 *   else the composite `base64(SHA-256(digest(part 1) ‖ … ‖ digest(part N)))-N` (Amazon S3 user guide,
 *   "Checking object integrity", multipart checksums).
 *
 * Pure (no I/O): feed it chunks with `update`.
 */
import { createHash, type Hash } from 'node:crypto';

/** Checksums of one file. */
export interface FileChecksums {
  /** Bytes hashed. */
  size: number;
  /** SHA-256 of the whole content, lowercase hex. */
  sha256: string;
  /** What S3's HeadObject `ChecksumSHA256` will say after an upload with this part size. */
  s3ChecksumSHA256: string;
  /** Part size (bytes) the S3 checksum assumes. */
  partSize: number;
}

/** Incremental hasher for `FileChecksums`. */
export class SetFileHasher {
  private readonly whole: Hash = createHash('sha256');
  private part: Hash = createHash('sha256');
  private partFill = 0;
  private readonly partDigests: Buffer[] = [];
  private size = 0;

  /** @param partSize upload part size in bytes (must be > 0). */
  constructor(private readonly partSize: number) {
    if (!(partSize > 0)) throw new RangeError(`invalid part size ${partSize}`);
  }

  /** Adds the next chunk of the file. */
  update(chunk: Uint8Array): void {
    this.whole.update(chunk);
    this.size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.partSize - this.partFill, chunk.length - offset);
      this.part.update(chunk.subarray(offset, offset + take));
      this.partFill += take;
      offset += take;
      if (this.partFill === this.partSize) {
        this.partDigests.push(this.part.digest());
        this.part = createHash('sha256');
        this.partFill = 0;
      }
    }
  }

  /** Finishes hashing. The hasher cannot be used afterwards. */
  digest(): FileChecksums {
    const wholeDigest = this.whole.digest();
    if (this.partFill > 0) this.partDigests.push(this.part.digest());
    const sha256 = wholeDigest.toString('hex');
    if (this.size <= this.partSize) {
      return { size: this.size, sha256, s3ChecksumSHA256: wholeDigest.toString('base64'), partSize: this.partSize };
    }
    const composite = createHash('sha256');
    for (const d of this.partDigests) composite.update(d);
    return {
      size: this.size,
      sha256,
      s3ChecksumSHA256: `${composite.digest('base64')}-${this.partDigests.length}`,
      partSize: this.partSize,
    };
  }
}
