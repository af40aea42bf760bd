import { ManifestError } from '#core/errors';
import { parseManifest, serializeManifest, validateManifest, type ManifestInput } from '#core/manifest';

const SHA = 'a'.repeat(64);

function fullManifest(overrides: Partial<ManifestInput> = {}): ManifestInput {
  return {
    formatVersion: 1,
    product: 'commserve-dr',
    jobId: 4,
    setName: 'SET_0000004',
    backupType: 'FULL',
    cycleId: 4,
    baseFullSet: null,
    startTime: '2026-11-29T17:00:00.000Z',
    endTime: '2026-11-29T17:02:10.000Z',
    agentVersion: '0.1.0',
    hostname: 'cs01',
    database: { engine: 'sqlite', name: 'commserv.db', pageSize: 4096, pageCount: 25600 },
    integrity: { status: 'ok', messages: [], durationMs: 812 },
    registry: { store: 'file-hive', exportedKeys: ['HKLM\\SOFTWARE\\X'], missingKeys: [] },
    firewall: { present: ['FwPeers.txt'], missing: ['FwHosts.txt', 'FwPorts.txt'] },
    files: [
      { name: 'commserv_FULL.dmp', role: 'database', size: 104857600, sha256: SHA, s3: { partSize: 16777216, checksumSHA256: `${'A'.repeat(43)}=-7` } },
      { name: 'commserv_hive.reg', role: 'registry', size: 2048, sha256: SHA },
    ],
    ...overrides,
  };
}

describe('manifest', () => {
  it('accepts a FULL manifest and round-trips through bytes', () => {
    const bytes = serializeManifest(fullManifest());
    const parsed = parseManifest(bytes);
    expect(parsed.jobId).toBe(4);
    expect(parsed.files.map((f) => f.name)).toEqual(['commserv_FULL.dmp', 'commserv_hive.reg']);
    expect(parsed.promotion).toBeNull();
    expect(parsed.events).toEqual([]);
    expect(serializeManifest(parsed).equals(bytes)).toBe(true);
  });

  it('accepts a DIFFERENTIAL based on its cycle FULL', () => {
    const m = validateManifest(
      fullManifest({ jobId: 6, setName: 'SET_0000006', backupType: 'DIFFERENTIAL', cycleId: 4, baseFullSet: 'SET_0000004', files: [{ name: 'commserv_DIFF_6.dmp', role: 'database', size: 10, sha256: SHA }] }),
    );
    expect(m.baseFullSet).toBe('SET_0000004');
  });

  it('lists every problem with its field path', () => {
    try {
      validateManifest(fullManifest({ setName: 'SET_0000005', cycleId: 2, files: [{ name: '../etc/passwd', role: 'database', size: -1, sha256: 'xyz' }] }));
      throw new Error('expected a ManifestError');
    } catch (error) {
      expect(error).toBeInstanceOf(ManifestError);
      const issues = (error as ManifestError).context.issues as string[];
      expect(issues).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^files\.0\.name: unsafe file name "\.\.\/etc\/passwd" refused: must be a plain file name/),
          expect.stringMatching(/^files\.0\.size:/),
          expect.stringMatching(/^files\.0\.sha256: must be 64 lowercase hex/),
        ]),
      );
    }
  });

  it('refuses inconsistent SET identity and cycle', () => {
    expect(() => validateManifest(fullManifest({ setName: 'SET_0000005' }))).toThrow(/setName: must be SET_0000004/);
    expect(() => validateManifest(fullManifest({ cycleId: 2 }))).toThrow(/cycleId/);
    expect(() => validateManifest(fullManifest({ jobId: 6, setName: 'SET_0000006', backupType: 'DIFFERENTIAL', cycleId: 4, baseFullSet: 'SET_0000003' }))).toThrow(/baseFullSet: must be SET_0000004/);
  });

  it('refuses a SET without a database dump, duplicate files, and a manifest listing itself', () => {
    expect(() => validateManifest(fullManifest({ files: [{ name: 'commserv_hive.reg', role: 'registry', size: 1, sha256: SHA }] }))).toThrow(/database dump/);
    expect(() =>
      validateManifest(fullManifest({ files: [{ name: 'commserv_FULL.dmp', role: 'database', size: 1, sha256: SHA }, { name: 'COMMSERV_FULL.dmp', role: 'database', size: 1, sha256: SHA }] })),
    ).toThrow(/duplicate file/);
    expect(() =>
      validateManifest(fullManifest({ files: [{ name: 'commserv_FULL.dmp', role: 'database', size: 1, sha256: SHA }, { name: 'manifest.json', role: 'sidecar', size: 1, sha256: SHA }] })),
    ).toThrow(/does not list itself/);
  });

  it('gives clear errors for malformed bytes', () => {
    expect(() => parseManifest('{"formatVersion": 1,', 'SET_0000004/manifest.json')).toThrow(/SET_0000004\/manifest.json is not valid JSON/);
    expect(() => parseManifest('[]')).toThrow(ManifestError);
    expect(() => parseManifest(JSON.stringify({ ...fullManifest(), formatVersion: 99 }))).toThrow(/formatVersion/);
    expect(() => parseManifest(Buffer.alloc(17 * 1024 * 1024, 32))).toThrow(/over the 16777216-byte limit/);
  });
});
