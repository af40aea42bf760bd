/** Streams a file through `SetFileHasher` (one read, bounded memory). */
import { createReadStream } from 'node:fs';
import { SetFileHasher, type FileChecksums } from '#core/checksums';
import { choosePartSize } from '#core/transfer-plan';
import { statSync } from 'node:fs';

/**
 * Checksums of a file on disk, for an upload in parts of `choosePartSize(size, preferredPartSize)` bytes.
 * @param preferredPartSize bytes; see `choosePartSize`.
 * @throws the file system error when the file cannot be read; TransferLimitError over 5 TiB.
 */
export async function checksumFile(path: string, preferredPartSize?: number): Promise<FileChecksums> {
  const partSize = choosePartSize(statSync(path).size, preferredPartSize);
  const hasher = new SetFileHasher(partSize);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hasher.update(chunk as Buffer);
  return hasher.digest();
}
