/**
 * Checksums of a file on disk, streamed once (bounded memory): what the manifest records for it (tests compute
 * expected manifest values with it; the agent computes them in its single pass, agent/hotsite/stream-upload.ts).
 */
import { createReadStream, statSync } from 'node:fs';
import { SetFileHasher, type FileChecksums } from '#core/checksums';
import { choosePartSize } from '#core/transfer-plan';

/** Read size of the hashing pass (bytes). */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Checksums of a file on disk, for an upload in parts of `choosePartSize(size, preferredPartSize)` bytes.
 * @param preferredPartSize bytes; see `choosePartSize`.
 * @throws the file system error when the file cannot be read; TransferLimitError over 5 TiB.
 */
export async function checksumFile(path: string, preferredPartSize?: number): Promise<FileChecksums> {
  const hasher = new SetFileHasher(choosePartSize(statSync(path).size, preferredPartSize));
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK_BYTES })) hasher.update(chunk as Buffer);
  return hasher.digest();
}
