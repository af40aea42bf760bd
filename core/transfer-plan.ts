/**
 * S3 transfer plans: part sizes and limits for uploads and copies.
 *
 * Limits (Amazon S3 user guide, "Amazon S3 multipart upload limits"):
 * - an object is at most 5 TiB;
 * - a multipart upload has at most 10,000 parts;
 * - every part but the last is at least 5 MiB and at most 5 GiB;
 * - CopyObject accepts a source of at most 5 GiB; larger objects need multipart copy (UploadPartCopy).
 */
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

export const S3_MAX_OBJECT_BYTES = 5 * TiB;
export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_BYTES = 5 * MiB;
export const S3_MAX_PART_BYTES = 5 * GiB;
/** S3 caps a CopyObject source at 5 GiB. */
export const S3_MAX_COPY_OBJECT_BYTES = 5 * GiB;

/**
 * Default upload part size (bytes), as the AWS CLI's: large enough for throughput. Phase 1 holds no part in memory (each
 * is sent as a byte range of the SET file, agent/hotsite/file-range-body.ts), so the agent's memory does not depend on it.
 */
export const DEFAULT_PART_BYTES = 8 * MiB;

/** Raised when an object cannot be transferred at all (e.g. larger than 5 TiB). */
export class TransferLimitError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'TransferLimitError';
  }
}

/**
 * Chooses the part size (bytes) for an object of `size` bytes: `preferred` (default 8 MiB), rounded up
 * to whole MiB and grown so that the object needs at most 10,000 parts, never below 5 MiB.
 * @throws TransferLimitError when `size` exceeds 5 TiB (S3's object limit) or is negative.
 */
export function choosePartSize(size: number, preferred: number = DEFAULT_PART_BYTES): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new TransferLimitError(`invalid object size ${size}`);
  if (size > S3_MAX_OBJECT_BYTES) {
    throw new TransferLimitError(`object of ${size} bytes exceeds the 5 TiB S3 object limit`);
  }
  let part = Math.max(S3_MIN_PART_BYTES, Math.ceil(preferred / MiB) * MiB);
  const minimumForCount = Math.ceil(size / S3_MAX_PARTS);
  if (part < minimumForCount) part = Math.ceil(minimumForCount / MiB) * MiB;
  return Math.min(part, S3_MAX_PART_BYTES);
}

/** Number of parts an object of `size` bytes takes with `partSize`; 1 for a single PUT (size ≤ partSize). */
export function partCount(size: number, partSize: number): number {
  return size <= partSize ? 1 : Math.ceil(size / partSize);
}

/** Byte ranges `[start, end]` (inclusive, as in HTTP Range / CopySourceRange) covering `size` bytes. */
export function partRanges(size: number, partSize: number): Array<{ partNumber: number; start: number; end: number }> {
  const ranges: Array<{ partNumber: number; start: number; end: number }> = [];
  for (let start = 0, n = 1; start < size; start += partSize, n++) {
    ranges.push({ partNumber: n, start, end: Math.min(size, start + partSize) - 1 });
  }
  return ranges;
}
