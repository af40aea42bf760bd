import fc from 'fast-check';
import { choosePartSize, GiB, MiB, partCount, partRanges, S3_MAX_PARTS, TiB, TransferLimitError } from '#core/transfer-plan';

describe('transfer plan', () => {
  it('uses the preferred part size for ordinary files', () => {
    expect(choosePartSize(100 * MiB)).toBe(8 * MiB);
    expect(choosePartSize(0)).toBe(8 * MiB);
    expect(choosePartSize(100 * MiB, 1)).toBe(5 * MiB); // never below S3's 5 MiB minimum
  });

  it('grows parts so no object needs more than 10,000 parts', () => {
    const size = 1 * TiB;
    const part = choosePartSize(size);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(part % MiB).toBe(0);
  });

  it('refuses objects over the 5 TiB S3 limit before any upload', () => {
    expect(() => choosePartSize(5 * TiB + 1)).toThrow(TransferLimitError);
    expect(() => choosePartSize(5 * TiB)).not.toThrow();
  });

  it('keeps every size within S3 limits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 * TiB }), fc.integer({ min: 1, max: 6 * GiB }), (size, preferred) => {
        const part = choosePartSize(size, preferred);
        return part >= 5 * MiB && part <= 5 * GiB && partCount(size, part) <= S3_MAX_PARTS;
      }),
    );
  });

  it('covers the object with contiguous inclusive ranges', () => {
    expect(partRanges(10, 4)).toEqual([
      { partNumber: 1, start: 0, end: 3 },
      { partNumber: 2, start: 4, end: 7 },
      { partNumber: 3, start: 8, end: 9 },
    ]);
    expect(partRanges(0, 4)).toEqual([]);
  });
});
