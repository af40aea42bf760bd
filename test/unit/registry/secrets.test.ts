/**
 * Detection of machine-bound (DPAPI) secrets in registry operations: real parser, real writer, no stand-ins.
 */
import fc from 'fast-check';
import { findMachineBoundSecrets as fromIndex } from '#agent/registry/index';
import { parseReg, parseRegText, writeReg } from '#agent/registry/reg-format';
import { DPAPI_BLOB_HEADER, findMachineBoundSecrets } from '#agent/registry/secrets';
import type { RegFile, RegOperation, RegValue, RegValueDeletion } from '#agent/registry/types';

const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\ExampleVendor\\CommServe\\Base';
/** A DPAPI blob's start: version 1, the provider GUID df9d8cd0-1501-11d1-8c7a-00c04fc297eb (little-endian), then the master-key version. */
const BLOB = '01000000d08c9ddf0115d1118c7a00c04fc297eb01000000';

function setKey(...values: Array<RegValue | RegValueDeletion>): RegOperation {
  return { op: 'setKey', key: KEY, values };
}

describe('findMachineBoundSecrets (DPAPI blobs)', () => {
  it('reports a REG_BINARY value that begins with a full DPAPI blob header, naming the provider', () => {
    const secrets = findMachineBoundSecrets([setKey({ name: 'sDbPassword', type: 'REG_BINARY', data: `${BLOB}aabbcc` })]);
    expect(secrets).toEqual([{ key: KEY, name: 'sDbPassword', type: 'REG_BINARY', reason: expect.stringContaining('df9d8cd0-1501-11d1-8c7a-00c04fc297eb') }]);
    expect(secrets[0].reason).toMatch(/cannot be decrypted on new hardware/);
  });

  it('reports REG_NONE and REG_HEX_<N> values that begin with the 8-byte header, and the default value by its empty name', () => {
    const secrets = findMachineBoundSecrets([
      setKey({ name: 'a', type: 'REG_NONE', data: `${DPAPI_BLOB_HEADER}00` }),
      { op: 'deleteKey', key: `${KEY}\\Old` },
      { op: 'setKey', key: `${KEY}\\Sub`, values: [{ name: '', type: 'REG_HEX_256', data: DPAPI_BLOB_HEADER.toUpperCase() }] },
    ]);
    expect(secrets.map(({ key, name, type }) => ({ key, name, type }))).toEqual([
      { key: KEY, name: 'a', type: 'REG_NONE' },
      { key: `${KEY}\\Sub`, name: '', type: 'REG_HEX_256' },
    ]);
    expect(secrets[0].reason).toMatch(/starts with the DPAPI blob header \(01 00 00 00 d0 8c 9d df\)/);
  });

  it('does not report the header later in the data, a truncated header, another version, non-binary types or deletions', () => {
    const qwordWithHeaderBytes = Buffer.from(DPAPI_BLOB_HEADER, 'hex').readBigUInt64LE(0).toString();
    expect(
      findMachineBoundSecrets([
        setKey(
          { name: 'later by one byte', type: 'REG_BINARY', data: `00${BLOB}` },
          { name: 'later by eight bytes', type: 'REG_BINARY', data: `0000000000000000${BLOB}` },
          { name: 'seven bytes of the header', type: 'REG_BINARY', data: DPAPI_BLOB_HEADER.slice(0, 14) },
          { name: 'version 2', type: 'REG_BINARY', data: `02000000d08c9ddf${BLOB.slice(16)}` },
          { name: 'empty', type: 'REG_BINARY', data: '' },
          { name: 'string of the hex', type: 'REG_SZ', data: BLOB },
          { name: 'expandable', type: 'REG_EXPAND_SZ', data: BLOB },
          { name: 'list', type: 'REG_MULTI_SZ', data: [BLOB] },
          { name: 'qword with the same bytes', type: 'REG_QWORD', data: qwordWithHeaderBytes },
          { name: 'dword', type: 'REG_DWORD', data: 1 },
          { name: 'big-endian dword', type: 'REG_DWORD_BIG_ENDIAN', data: BLOB },
          { name: 'sDbPassword', op: 'deleteValue' },
        ),
        { op: 'deleteKey', key: KEY },
      ]),
    ).toEqual([]);
  });

  it('finds a blob in a real .reg file whose hex data is wrapped over continuation lines', () => {
    const file = parseRegText(
      [
        'Windows Registry Editor Version 5.00',
        '',
        `[${KEY}\\Credentials]`,
        '"sPassword"=hex:01,00,00,00,d0,8c,9d,df,01,15,d1,11,8c,7a,00,c0,4f,c2,97,eb,01,00,00,\\',
        '  00,11,22,33',
        '"sUser"="backupadmin"',
        '',
      ].join('\r\n'),
    );
    expect(findMachineBoundSecrets(file.operations).map((s) => [s.key, s.name, s.type])).toEqual([[`${KEY}\\Credentials`, 'sPassword', 'REG_BINARY']]);
  });

  it('is exported by the registry area for the recovery report', () => {
    expect(fromIndex).toBe(findMachineBoundSecrets);
  });

  describe('property: parse of random valid files reports exactly the values whose binary data starts with the header', () => {
    const hexBytes = (min: number, max: number) =>
      fc.uint8Array({ minLength: min, maxLength: max }).map((bytes) => Buffer.from(bytes).toString('hex'));
    const name = fc.string({ unit: 'grapheme', maxLength: 8 }).filter((s) => !/[\r\n\0]/.test(s));
    const rawType = fc.constantFrom('REG_BINARY', 'REG_NONE', 'REG_HEX_256', 'REG_HEX_12') as fc.Arbitrary<'REG_BINARY'>;
    /** A value plus whether it is a DPAPI secret by construction. */
    const value: fc.Arbitrary<{ value: RegValue | RegValueDeletion; secret: boolean }> = fc.oneof(
      // A blob: the header starts binary data.
      fc.tuple(name, rawType, hexBytes(0, 40)).map(([n, type, rest]) => ({ value: { name: n, type, data: DPAPI_BLOB_HEADER + rest }, secret: true })),
      // Binary data that does not start with the header, though it may contain it later.
      fc
        .tuple(name, rawType, hexBytes(0, 20), fc.boolean(), hexBytes(0, 20))
        .map(([n, type, head, embed, tail]) => ({ name: n, type, data: head + (embed ? DPAPI_BLOB_HEADER : '') + tail }))
        .filter((v) => !v.data.startsWith(DPAPI_BLOB_HEADER))
        .map((v) => ({ value: v, secret: false })),
      // The header's bytes or text in types that cannot hold a DPAPI blob.
      fc.tuple(name, hexBytes(0, 8)).map(([n, rest]) => ({ value: { name: n, type: 'REG_DWORD_BIG_ENDIAN', data: DPAPI_BLOB_HEADER + rest } as RegValue, secret: false })),
      name.map((n) => ({ value: { name: n, type: 'REG_QWORD', data: Buffer.from(DPAPI_BLOB_HEADER, 'hex').readBigUInt64LE(0).toString() } as RegValue, secret: false })),
      fc.tuple(name, fc.constantFrom<'REG_SZ' | 'REG_EXPAND_SZ'>('REG_SZ', 'REG_EXPAND_SZ'), fc.string()).map(([n, type, s]) => ({ value: { name: n, type, data: DPAPI_BLOB_HEADER + s.replace(/\0/g, '') }, secret: false })),
      fc.tuple(name, fc.array(fc.string().map((s) => s.replace(/\0/g, '')), { maxLength: 3 })).map(([n, list]) => ({ value: { name: n, type: 'REG_MULTI_SZ', data: [DPAPI_BLOB_HEADER, ...list] } as RegValue, secret: false })),
      fc.tuple(name, fc.integer({ min: 0, max: 0xffffffff })).map(([n, d]) => ({ value: { name: n, type: 'REG_DWORD', data: d } as RegValue, secret: false })),
      name.map((n) => ({ value: { name: n, op: 'deleteValue' } as RegValueDeletion, secret: false })),
    );
    const keyPath = fc.array(fc.stringMatching(/^[A-Za-z0-9 _.]{1,8}$/), { minLength: 1, maxLength: 3 }).map((parts) => `${KEY}\\${parts.join('\\')}`);
    const operation = fc.oneof(
      fc.tuple(keyPath, fc.array(value, { maxLength: 6 })).map(([key, values]) => ({ key, values, deleted: false })),
      keyPath.map((key) => ({ key, values: [] as Array<{ value: RegValue | RegValueDeletion; secret: boolean }>, deleted: true })),
    );

    it('holds for 200 random REGEDIT5 files written by writeReg and read back by parseReg', () => {
      fc.assert(
        fc.property(fc.array(operation, { maxLength: 6 }), (ops) => {
          const file: RegFile = {
            format: 'REGEDIT5',
            operations: ops.map((o): RegOperation => (o.deleted ? { op: 'deleteKey', key: o.key } : { op: 'setKey', key: o.key, values: o.values.map((v) => v.value) })),
          };
          const parsed = parseReg(writeReg(file));
          const expected = ops.flatMap((o) => o.values.filter((v) => v.secret).map((v) => ({ key: o.key, name: v.value.name })));
          expect(findMachineBoundSecrets(parsed.operations).map(({ key, name }) => ({ key, name }))).toEqual(expected);
        }),
        { numRuns: 200 },
      );
    });
  });
});
