import fc from 'fast-check';
import { canonicalSetName, compareSetNames, findSetName, isLegacySetName, legacySetName, parseBackupType, parseSetName, resolveSetName, setName, setNameSpellings } from '#core/set-id';

describe('SET names', () => {
  it('names a new SET with the job id padded to seven digits', () => {
    expect(setName(1)).toBe('SET_0000001');
    expect(setName(42)).toBe('SET_0000042');
    expect(setName(999)).toBe('SET_0000999');
    expect(setName(1000)).toBe('SET_0001000');
    expect(setName(9_999_999)).toBe('SET_9999999');
    expect(setName(10_000_000)).toBe('SET_10000000'); // beyond 7 digits: longer, never refused
  });

  it('knows the legacy (3-digit) spelling of a job id; from a million on both spellings are the same text', () => {
    expect(legacySetName(7)).toBe('SET_007');
    expect(legacySetName(1000)).toBe('SET_1000');
    expect(setNameSpellings(7)).toEqual(['SET_0000007', 'SET_007']);
    expect(setNameSpellings(1_234_567)).toEqual(['SET_1234567']);
  });

  it('refuses job ids that are not positive integers', () => {
    expect(() => setName(0)).toThrow(RangeError);
    expect(() => setName(-1)).toThrow(RangeError);
    expect(() => setName(1.5)).toThrow(RangeError);
    expect(() => legacySetName(0)).toThrow(RangeError);
  });

  it('parses both canonical spellings, new and legacy, and nothing else', () => {
    expect(parseSetName('SET_0000001')).toBe(1);
    expect(parseSetName('SET_001')).toBe(1);
    expect(parseSetName('SET_0001000')).toBe(1000);
    expect(parseSetName('SET_1000')).toBe(1000);
    expect(parseSetName('SET_10000000')).toBe(10_000_000);
    expect(isLegacySetName('SET_001')).toBe(true);
    expect(isLegacySetName('SET_1000')).toBe(true);
    expect(isLegacySetName('SET_0000001')).toBe(false);
    expect(isLegacySetName('SET_1234567')).toBe(false);
    for (const bad of ['SET_01', 'SET_0001', 'SET_00001', 'SET_000001', 'SET_00000001', 'set_001', 'SET_001x', 'SET_000', 'SET_0000000', 'backup']) {
      expect(parseSetName(bad)).toBeUndefined();
    }
  });

  it('round-trips every job id in both spellings (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 2 ** 40 }), (id) => parseSetName(setName(id)) === id && parseSetName(legacySetName(id)) === id));
  });

  it('new names sort as plain text in job order up to 9,999,999 (what aws s3 ls, ls and Explorer do)', () => {
    const boundaries = [1, 9, 10, 99, 100, 999, 1000, 9999, 10_000, 99_999, 100_000, 999_999, 1_000_000, 9_999_998, 9_999_999];
    const names = boundaries.map((id) => setName(id));
    expect([...names].sort()).toEqual(names);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 1, max: 9_999_999 }), (a, b) => {
        const [x, y] = [setName(a), setName(b)];
        return Math.sign(x < y ? -1 : x > y ? 1 : 0) === Math.sign(a - b);
      }),
    );
  });

  it('orders legacy and new names together by job id, with foreign names last', () => {
    const names = ['SET_1000', 'notes.txt', setName(1001), 'SET_999', 'SET_002', setName(10_000_000), 'SET_010', setName(1_000_000)];
    expect([...names].sort(compareSetNames)).toEqual(['SET_002', 'SET_010', 'SET_999', 'SET_1000', 'SET_0001001', 'SET_1000000', 'SET_10000000', 'notes.txt']);
  });

  it('orders like the job ids, whatever the spelling (property)', () => {
    const spelled = fc.tuple(fc.integer({ min: 1, max: 1e9 }), fc.boolean()).map(([id, legacy]) => ({ id, name: legacy ? legacySetName(id) : setName(id) }));
    fc.assert(fc.property(spelled, spelled, (a, b) => Math.sign(compareSetNames(a.name, b.name)) === Math.sign(a.id - b.id || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))));
  });

  it("an operator's SET_7 is the new name when pure, and the existing SET of job 7 when resolved against a listing", () => {
    expect(canonicalSetName('SET_7')).toBe('SET_0000007');
    expect(canonicalSetName('set_007')).toBe('SET_0000007');
    expect(resolveSetName('SET_7', ['SET_006', 'SET_007', 'SET_0000008'])).toBe('SET_007');
    expect(resolveSetName('SET_0000007', ['SET_007'])).toBe('SET_007');
    expect(resolveSetName('SET_8', ['SET_007', 'SET_0000008'])).toBe('SET_0000008');
    expect(resolveSetName('SET_9', ['SET_007'])).toBe('SET_0000009');
    expect(resolveSetName('SET-9', ['SET_007'])).toBeUndefined();
    expect(findSetName(1000, ['SET_999', 'SET_1000'])).toBe('SET_1000');
    expect(findSetName(1001, ['SET_999', 'SET_1000'])).toBeUndefined();
  });

  it('parses backup types as operators type them', () => {
    expect(parseBackupType('full')).toBe('FULL');
    expect(parseBackupType('Differential')).toBe('DIFFERENTIAL');
    expect(parseBackupType('diff')).toBe('DIFFERENTIAL');
    expect(parseBackupType('incremental')).toBeUndefined();
  });
});
