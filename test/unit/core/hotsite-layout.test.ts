import { assertSafeFileName, jobRecordKey, parseSetObjectKey, setObjectKey, setPrefix } from '#core/hotsite-layout';

describe('hot-site layout', () => {
  it('builds SET keys under sets/ and archive/', () => {
    expect(setPrefix('sets', 7)).toBe('sets/SET_007/');
    expect(setObjectKey('archive', 12, 'commserv_FULL.dmp')).toBe('archive/SET_012/commserv_FULL.dmp');
    expect(jobRecordKey(5)).toBe('jobs/005.json');
  });

  it('recognises only objects of SETs of this product', () => {
    expect(parseSetObjectKey('sets/SET_003/manifest.json')).toEqual({ area: 'sets', jobId: 3, setName: 'SET_003', file: 'manifest.json' });
    expect(parseSetObjectKey('archive/SET_1000/FwPorts.txt')).toMatchObject({ area: 'archive', jobId: 1000 });
    expect(parseSetObjectKey('sets/SET_3/manifest.json')).toBeUndefined();
    expect(parseSetObjectKey('other/SET_003/manifest.json')).toBeUndefined();
    expect(parseSetObjectKey('sets/SET_003/sub/file')).toBeUndefined();
    expect(parseSetObjectKey('sets/SET_003/')).toBeUndefined();
    expect(parseSetObjectKey('jobs/003.json')).toBeUndefined();
  });

  it('refuses file names that could escape a SET folder', () => {
    for (const bad of ['..', '.', '../x', 'a/b', 'a\\b', 'C:evil', '', 'x\0y']) {
      expect(() => assertSafeFileName(bad)).toThrow(/unsafe file name/);
    }
    expect(() => assertSafeFileName('commserv_hive_12.reg')).not.toThrow();
  });
});
