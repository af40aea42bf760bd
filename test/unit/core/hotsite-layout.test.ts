import { assertSafeFileName, jobRecordKey, parseSetObjectKey, setObjectKey, setPrefix } from '#core/hotsite-layout';

describe('hot-site layout', () => {
  it('builds SET keys under sets/ and archive/', () => {
    expect(setPrefix('sets', 7)).toBe('sets/SET_0000007/');
    expect(setObjectKey('archive', 12, 'commserv_FULL.dmp')).toBe('archive/SET_0000012/commserv_FULL.dmp');
    // An existing SET by its recorded name, legacy or new.
    expect(setPrefix('sets', 'SET_007')).toBe('sets/SET_007/');
    expect(setObjectKey('archive', 'SET_1000', 'manifest.json')).toBe('archive/SET_1000/manifest.json');
    expect(setObjectKey('sets', 'SET_0001000', 'manifest.json')).toBe('sets/SET_0001000/manifest.json');
    expect(() => setPrefix('sets', 'SET_0007')).toThrow(/not a SET name/);
    expect(() => setPrefix('sets', '../x')).toThrow(/not a SET name/);
    // Job records keep their 3-digit keys (records written before 7-digit SET names are found by job id).
    expect(jobRecordKey(5)).toBe('jobs/005.json');
    expect(jobRecordKey(1000)).toBe('jobs/1000.json');
  });

  it('recognises only objects of SETs of this product', () => {
    expect(parseSetObjectKey('sets/SET_003/manifest.json')).toEqual({ area: 'sets', jobId: 3, setName: 'SET_003', file: 'manifest.json' });
    expect(parseSetObjectKey('archive/SET_1000/FwPorts.txt')).toMatchObject({ area: 'archive', jobId: 1000, setName: 'SET_1000' });
    expect(parseSetObjectKey('sets/SET_0001000/manifest.json')).toMatchObject({ area: 'sets', jobId: 1000, setName: 'SET_0001000' });
    expect(parseSetObjectKey('sets/SET_0003/manifest.json')).toBeUndefined();
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
