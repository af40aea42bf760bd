/**
 * The two-thread page digester of LOG points (issue 17, `page-digester.ts`) against node:crypto computed here page by
 * page: the same 32-byte SHA-256 for every page with one thread and with two, chunks of any length (not a multiple of
 * the block the threads take), and both identities of a file (SHA-256 of its bytes, page-digest root) in one read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileIdentities, PageDigester } from '#agent/engines/sqlite/page-digester';
import { useTempDirs } from '../../support/tmp';

const PAGE = 4096;
const pageSha = (bytes: Buffer, i: number) => createHash('sha256').update(bytes.subarray(i * PAGE, (i + 1) * PAGE)).digest();

describe('PageDigester', () => {
  const tmp = useTempDirs();

  test.each([1, 2] as const)('with %i thread(s): every page of chunks of 37, 64 and 1 pages digests to its SHA-256', async (threads) => {
    const digester = PageDigester.create({ pageSize: PAGE, chunkPages: 64, threads });
    try {
      expect(digester.parallel).toBe(threads === 2);
      for (const [input, count] of [[0, 37], [1, 64], [0, 1]] as const) {
        const bytes = randomBytes(count * PAGE);
        bytes.copy(digester.inputs[input]);
        await digester.digest(input, count);
        for (let i = 0; i < count; i++) expect(digester.digests.subarray(i * 32, (i + 1) * 32).equals(pageSha(bytes, i))).toBe(true);
      }
      await expect(digester.digest(0, 65)).rejects.toThrow('65 pages exceed the chunk of 64');
    } finally {
      await digester.close();
      await digester.close(); // idempotent
    }
  });

  test('fileIdentities: SHA-256 of the bytes and the page-digest root in one read, the same with one or two threads; a short file is an error', async () => {
    const file = join(tmp(), 'db');
    const pages = 301;
    const bytes = randomBytes(pages * PAGE);
    writeFileSync(file, bytes);
    const head = Buffer.alloc(16);
    head.write('CSDRPR01', 0, 'latin1');
    head.writeUInt32BE(PAGE, 8);
    head.writeUInt32BE(pages, 12);
    const root = createHash('sha256').update(head);
    for (let i = 0; i < pages; i++) root.update(pageSha(bytes, i));
    const expected = { sha256: createHash('sha256').update(bytes).digest('hex'), pageRoot: root.digest('hex') };
    const fh = await open(file, 'r');
    try {
      for (const threads of [1, 2] as const) expect(await fileIdentities(fh, PAGE, pages, { chunkPages: 32, threads })).toEqual(expected);
      await expect(fileIdentities(fh, PAGE, pages + 1, { chunkPages: 32 })).rejects.toThrow(`the file ended at byte ${pages * PAGE}`);
    } finally {
      await fh.close();
    }
  });
});
