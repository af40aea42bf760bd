/**
 * The hashing worker of phase 1's single pass (a real worker thread): running SHA-256 per named stream, the piece's
 * own SHA-256 and page digests, buffers handed back intact, requests answered in order.
 */
import { createHash } from 'node:crypto';
import { HashWorker, ownedBuffer } from '#agent/hotsite/hash-worker';
import { PAGE_ENTRY_BYTES, pageEntry } from '#agent/engines/sqlite/page-hashes';

function filled(size: number, seed: number): Buffer {
  const b = ownedBuffer(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 12)) & 0xff;
  return b;
}

describe('HashWorker (worker thread)', () => {
  let worker: HashWorker;
  beforeEach(() => {
    worker = new HashWorker();
  });
  afterEach(async () => {
    await worker.close();
  });

  it('keeps one running SHA-256 per stream across pieces, gives each piece its SHA-256 and page digests, and hands the bytes back', async () => {
    const a = filled(64 * 1024, 1);
    const b = filled(64 * 1024 + 100, 2);
    const copies = [Buffer.from(a), Buffer.from(b)];
    // Two streams interleaved: answers come back in order and the streams do not mix.
    const [ra, rOther, rb] = await Promise.all([
      worker.update('dump', a, a.length, { piece: true, pageSize: 4096 }),
      worker.update('other', filled(10, 3), 10),
      worker.update('dump', b, b.length, { piece: true, pageSize: 4096 }),
    ]);
    expect(ra.buffer.equals(copies[0])).toBe(true);
    expect(rb.buffer.equals(copies[1])).toBe(true);
    expect(ra.pieceDigest!.equals(createHash('sha256').update(copies[0]).digest())).toBe(true);
    expect(rb.pieceDigest!.equals(createHash('sha256').update(copies[1]).digest())).toBe(true);
    expect(ra.pageDigests!.length).toBe(16 * PAGE_ENTRY_BYTES);
    expect(ra.pageDigests!.subarray(PAGE_ENTRY_BYTES, 2 * PAGE_ENTRY_BYTES).toString('hex')).toBe(pageEntry(copies[0].subarray(4096, 8192)).toString('hex'));
    expect(rb.pageDigests!.subarray(15 * PAGE_ENTRY_BYTES).toString('hex')).toBe(pageEntry(copies[1].subarray(15 * 4096, 16 * 4096)).toString('hex'));
    expect(rb.pageTail).toBe(100);
    expect(rOther.pieceDigest).toBeUndefined();
    expect((await worker.finish('dump')).equals(createHash('sha256').update(copies[0]).update(copies[1]).digest())).toBe(true);
    expect((await worker.finish('never-used')).toString('hex')).toBe(createHash('sha256').digest('hex'));
  });

  it('refuses a buffer that shares its memory (a transfer would take the whole pool), and fails pending work once closed', async () => {
    const pooled = Buffer.allocUnsafe(100);
    await expect(worker.update('s', pooled, 100)).rejects.toThrow(RangeError);
    await worker.close();
    await expect(worker.update('s', ownedBuffer(10), 10)).rejects.toThrow(/closed|exited/);
  });
});
