import type { SetSummary } from '#core/cycles';
import {
  choosePoint,
  effectiveTier,
  estimateRetrievalWait,
  formatWaitRange,
  makePlan,
  needsRestore,
  parseRestoreHeader,
  parseRetrievalTier,
  RETRIEVAL_WAITS,
  stagingPath,
  type PlannedObject,
} from '#core/recovery';
import { setName } from '#core/set-id';

const set = (jobId: number, backupType: 'FULL' | 'DIFFERENTIAL', extra: Partial<SetSummary> = {}): SetSummary => ({
  jobId,
  setName: setName(jobId),
  backupType,
  status: 'Completed',
  complete: true,
  ...(backupType === 'FULL' ? { cycleId: jobId } : {}),
  ...extra,
});

describe('choosePoint', () => {
  const sets = [set(1, 'FULL'), set(2, 'DIFFERENTIAL', { cycleId: 1 }), set(3, 'DIFFERENTIAL', { cycleId: 1 }), set(4, 'FULL'), set(5, 'DIFFERENTIAL', { cycleId: 4 }), set(6, 'DIFFERENTIAL', { cycleId: 4, status: 'Failed' })];

  it('picks the newest FULL + newest successful DIFFERENTIAL of its cycle', () => {
    expect(choosePoint(sets).sets.map((s) => s.setName)).toEqual(['SET_0000004', 'SET_0000005']);
  });
  it('a named DIFFERENTIAL brings its FULL; a named FULL is alone', () => {
    expect(choosePoint(sets, 'SET_0000002').sets.map((s) => s.setName)).toEqual(['SET_0000001', 'SET_0000002']);
    expect(choosePoint(sets, 'SET_0000001').sets.map((s) => s.setName)).toEqual(['SET_0000001']);
  });
  it('refuses unknown, failed, incomplete and orphan SETs with reasons', () => {
    expect(() => choosePoint(sets, 'SET_0000099')).toThrow(expect.objectContaining({ code: 'SET_NOT_FOUND', exitCode: 2 }));
    expect(() => choosePoint(sets, 'nonsense')).toThrow(expect.objectContaining({ code: 'SET_NOT_FOUND' }));
    expect(() => choosePoint(sets, 'SET_0000006')).toThrow(expect.objectContaining({ code: 'SET_NOT_RESTORABLE' }));
    expect(() => choosePoint([set(2, 'DIFFERENTIAL', { cycleId: 1 })], 'SET_0000002')).toThrow(/cannot be restored/);
    expect(() => choosePoint([set(1, 'FULL', { complete: false })])).toThrow(expect.objectContaining({ code: 'NO_RESTORABLE_POINT' }));
    expect(() => choosePoint([])).toThrow(/no SETs/);
  });
  it('places a DIFFERENTIAL without a cycle id (archived manifest not read yet) by position', () => {
    const point = choosePoint([set(1, 'FULL', { cycleId: undefined }), set(2, 'DIFFERENTIAL')]);
    expect(point.sets.map((s) => s.setName)).toEqual(['SET_0000001', 'SET_0000002']);
  });
});

describe('retrieval waits (AWS S3 User Guide)', () => {
  it('has the documented ranges', () => {
    expect(RETRIEVAL_WAITS.GLACIER.Expedited).toEqual({ minMinutes: 1, maxMinutes: 5 });
    expect(RETRIEVAL_WAITS.GLACIER.Standard).toEqual({ minMinutes: 180, maxMinutes: 300 });
    expect(RETRIEVAL_WAITS.GLACIER.Bulk).toEqual({ minMinutes: 300, maxMinutes: 720 });
    expect(RETRIEVAL_WAITS.DEEP_ARCHIVE.Standard!.maxMinutes).toBe(720);
    expect(RETRIEVAL_WAITS.DEEP_ARCHIVE.Bulk!.maxMinutes).toBe(2880);
    expect(RETRIEVAL_WAITS.DEEP_ARCHIVE.Expedited).toBeUndefined();
  });
  it('estimates the slowest class and notes a substituted tier', () => {
    expect(estimateRetrievalWait(['GLACIER', 'STANDARD'], 'Standard').text).toMatch(/^3–5 h \(GLACIER, Standard/);
    const deep = estimateRetrievalWait(['GLACIER', 'DEEP_ARCHIVE'], 'Expedited');
    expect(deep.maxMinutes).toBe(720);
    expect(deep.notes).toEqual(['DEEP_ARCHIVE has no Expedited tier: Standard is used for it']);
    expect(estimateRetrievalWait(['GLACIER_IR', undefined], 'Bulk')).toMatchObject({ maxMinutes: 0, text: expect.stringMatching(/^none/) });
    expect(effectiveTier('DEEP_ARCHIVE', 'Bulk')).toBe('Bulk');
  });
  it('formats ranges', () => {
    expect(formatWaitRange({ minMinutes: 1, maxMinutes: 5 })).toBe('1–5 min');
    expect(formatWaitRange({ minMinutes: 300, maxMinutes: 720 })).toBe('5–12 h');
    expect(formatWaitRange({ minMinutes: 0, maxMinutes: 2880 })).toBe('≤ 48 h');
  });
  it('knows which classes need a restore and parses tiers', () => {
    expect([needsRestore('GLACIER'), needsRestore('DEEP_ARCHIVE'), needsRestore('GLACIER_IR'), needsRestore(undefined)]).toEqual([true, true, false, false]);
    expect(parseRetrievalTier('bulk')).toBe('Bulk');
    expect(() => parseRetrievalTier('fast')).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('parseRestoreHeader', () => {
  it('reads ongoing and expiry', () => {
    expect(parseRestoreHeader('ongoing-request="true"')).toEqual({ ongoing: true });
    expect(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"')).toEqual({ ongoing: false, expiry: 'Fri, 21 Dec 2012 00:00:00 GMT' });
    expect(parseRestoreHeader(undefined)).toBeUndefined();
    expect(parseRestoreHeader('garbage')).toBeUndefined();
  });
});

describe('stagingPath', () => {
  it('maps plain names into the SET folder', () => {
    expect(stagingPath('/stage', 'SET_0000001', 'commserv_FULL.dmp')).toBe('/stage/SET_0000001/commserv_FULL.dmp');
  });
  it.each(['../evil', '..', '.', '/etc/passwd', 'a/b', 'a\\b', 'C:evil', '', 'x\0y'])('refuses %j', (name) => {
    expect(() => stagingPath('/stage', 'SET_0000001', name)).toThrow(expect.objectContaining({ code: 'MANIFEST_UNSAFE_PATH' }));
  });
  it('refuses a bad SET folder name', () => {
    expect(() => stagingPath('/stage', '../x', 'a')).toThrow(expect.objectContaining({ code: 'MANIFEST_UNSAFE_PATH' }));
  });
});

describe('makePlan', () => {
  it('totals bytes and estimates the wait of pending objects only', () => {
    const point = choosePoint([set(1, 'FULL'), set(2, 'DIFFERENTIAL', { cycleId: 1 })]);
    const objects: PlannedObject[] = [
      { setName: 'SET_0000001', file: 'commserv_FULL.dmp', key: 'archive/SET_0000001/commserv_FULL.dmp', area: 'archive', copy: 'archive', skipped: [], size: 100, storageClass: 'DEEP_ARCHIVE', state: 'restore-needed' },
      { setName: 'SET_0000002', file: 'commserv_DIFF_2.dmp', key: 'sets/SET_0000002/commserv_DIFF_2.dmp', area: 'sets', copy: 'hot-site', skipped: [], size: 10, storageClass: 'STANDARD', state: 'readable' },
    ];
    const plan = makePlan(point, objects, 'Bulk', '2026-01-01T00:00:00.000Z');
    expect(plan).toMatchObject({ sets: ['SET_0000001', 'SET_0000002'], pointSet: 'SET_0000002', totalBytes: 110, pendingObjects: 1 });
    expect(plan.estimatedWait.maxMinutes).toBe(2880);
  });
});
