/**
 * Streams a file once to compute its manifest checksums (one read, bounded memory), keeping the SHA-256 of
 * every upload part so the upload can send them (S3 verifies each part) without hashing the bytes again.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { FileChecksums } from '#core/checksums';
import { choosePartSize } from '#core/transfer-plan';

/** `FileChecksums` plus the base64 SHA-256 of each upload part (one entry per part; one for a single PUT). */
export interface FileChecksumsWithParts extends FileChecksums {
  partChecksums: string[];
}

/** Read size of the hashing pass (bytes): large reads, a few MiB of memory at most. */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Checksums of a file on disk, for an upload in parts of `choosePartSize(size, preferredPartSize)` bytes,
 * with the per-part SHA-256 digests. Same results as `SetFileHasher` (core/checksums.ts), which keeps its
 * part digests private: the whole-file SHA-256 and each part's SHA-256 are computed in the same pass.
 * @param preferredPartSize bytes; see `choosePartSize`.
 * @throws the file system error when the file cannot be read; TransferLimitError over 5 TiB.
 */
export async function checksumFileWithParts(path: string, preferredPartSize?: number): Promise<FileChecksumsWithParts> {
  const partSize = choosePartSize(statSync(path).size, preferredPartSize);
  const whole = createHash('sha256');
  let part: Hash = createHash('sha256');
  let partFill = 0;
  let size = 0;
  const parts: Buffer[] = [];
  for await (const data of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })) {
    const chunk = data as Buffer;
    whole.update(chunk);
    size += chunk.length;
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(partSize - partFill, chunk.length - offset);
      part.update(offset === 0 && take === chunk.length ? chunk : chunk.subarray(offset, offset + take));
      partFill += take;
      offset += take;
      if (partFill === partSize) {
        parts.push(part.digest());
        part = createHash('sha256');
        partFill = 0;
      }
    }
  }
  const wholeDigest = whole.digest();
  if (partFill > 0 || parts.length === 0) parts.push(part.digest());
  const sha256 = wholeDigest.toString('hex');
  if (size <= partSize) {
    const b64 = wholeDigest.toString('base64');
    return { size, sha256, s3ChecksumSHA256: b64, partSize, partChecksums: [b64] };
  }
  const composite = createHash('sha256');
  for (const d of parts) composite.update(d);
  return {
    size,
    sha256,
    s3ChecksumSHA256: `${composite.digest('base64')}-${parts.length}`,
    partSize,
    partChecksums: parts.map((d) => d.toString('base64')),
  };
}

/**
 * Checksums of a file on disk, for an upload in parts of `choosePartSize(size, preferredPartSize)` bytes.
 * @param preferredPartSize bytes; see `choosePartSize`.
 * @throws the file system error when the file cannot be read; TransferLimitError over 5 TiB.
 */
export async function checksumFile(path: string, preferredPartSize?: number): Promise<FileChecksums> {
  const { partChecksums: _parts, ...sums } = await checksumFileWithParts(path, preferredPartSize);
  return sums;
}
