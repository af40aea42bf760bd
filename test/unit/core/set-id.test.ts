import fc from 'fast-check';
import { compareSetNames, parseBackupType, parseSetName, setName } from '#core/set-id';

describe('SET names', () => {
  it('pads the job id to at least three digits', () => {
    expect(setName(1)).toBe('SET_001');
    expect(setName(42)).toBe('SET_042');
    expect(setName(999)).toBe('SET_999');
    expect(setName(1000)).toBe('SET_1000');
  });

  it('refuses job ids that are not positive integers', () => {
    expect(() => setName(0)).toThrow(RangeError);
    expect(() => setName(-1)).toThrow(RangeError);
    expect(() => setName(1.5)).toThrow(RangeError);
  });

  it('parses only canonical SET names of this product', () => {
    expect(parseSetName('SET_001')).toBe(1);
    expect(parseSetName('SET_1000')).toBe(1000);
    expect(parseSetName('SET_01')).toBeUndefined();
    expect(parseSetName('SET_0001')).toBeUndefined();
    expect(parseSetName('set_001')).toBeUndefined();
    expect(parseSetName('SET_001x')).toBeUndefined();
    expect(parseSetName('SET_000')).toBeUndefined();
    expect(parseSetName('backup')).toBeUndefined();
  });

  it('round-trips every job id (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (id) => parseSetName(setName(id)) === id));
  });

  it('sorts numerically, not lexically, with foreign names last', () => {
    const names = ['SET_1000', 'notes.txt', 'SET_999', 'SET_002', 'SET_010'];
    expect([...names].sort(compareSetNames)).toEqual(['SET_002', 'SET_010', 'SET_999', 'SET_1000', 'notes.txt']);
  });

  it('orders like the job ids (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e9 }), fc.integer({ min: 1, max: 1e9 }), (a, b) => Math.sign(compareSetNames(setName(a), setName(b))) === Math.sign(a - b)),
    );
  });

  it('parses backup types as operators type them', () => {
    expect(parseBackupType('full')).toBe('FULL');
    expect(parseBackupType('Differential')).toBe('DIFFERENTIAL');
    expect(parseBackupType('diff')).toBe('DIFFERENTIAL');
    expect(parseBackupType('incremental')).toBeUndefined();
  });
});
