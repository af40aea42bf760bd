/**
 * The output helpers of `registry parse` (agent/commands/registry/output.ts): JSON written piece by piece must
 * be byte-identical to `JSON.stringify(document, null, 2)`, and small pieces are gathered into larger writes.
 */
import fc from 'fast-check';
import { ChunkedOutput, indentedJson, jsonString, operationJson, OUTPUT_CHUNK_CHARS } from '#agent/commands/registry/output';
import { formatOperationRows, formatOperationText } from '#agent/commands/registry/parse';
import type { RegOperation } from '#agent/registry/types';

describe('registry parse output', () => {
  it.each<[string, unknown]>([
    ['a set-key operation with every kind of data', { op: 'setKey', key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\"q"', values: [{ name: '', type: 'REG_SZ', data: 'a\nb\u0001\u2028' }, { name: 'm', type: 'REG_MULTI_SZ', data: ['x', 'y'] }, { name: 'e', type: 'REG_MULTI_SZ', data: [] }, { name: 'd', type: 'REG_DWORD', data: 4294967295 }, { name: 'gone', op: 'deleteValue' }] }],
    ['a key without values', { op: 'setKey', key: 'K', values: [] }],
    ['a key deletion', { op: 'deleteKey', key: 'K' }],
    ['nested empties, null, booleans, undefined properties and items', { a: {}, b: [[]], c: null, d: true, e: undefined, f: [undefined, 1.5, -0] }],
  ])('indentedJson at depth 2 equals JSON.stringify(…, null, 2) of the whole document: %s', (_what, value) => {
    const whole = JSON.stringify({ format: 'REGEDIT5', operations: [value] }, null, 2);
    expect(`{\n  "format": "REGEDIT5",\n  "operations": [\n    ${indentedJson(value, '    ')}\n  ]\n}`).toBe(whole);
  });

  it.each(['', '  ', '      ', '\t', '   '])('indentedJson with indent %j equals JSON.stringify(…, null, 2) with that indent after each line break', (indent) => {
    for (const value of [{ a: [1, { b: 'x\ny' }], c: {} }, [], 'text', 7, null, undefined, [undefined]]) {
      const expected = (JSON.stringify(value, null, 2) ?? 'null').replace(/\n/g, `\n${indent}`);
      expect(indentedJson(value, indent)).toBe(expected);
    }
  });

  it('ChunkedOutput writes nothing until OUTPUT_CHUNK_CHARS (16 Ki) characters are gathered, keeps order, and flush sends the rest', () => {
    expect(OUTPUT_CHUNK_CHARS).toBe(16 * 1024);
    const writes: string[] = [];
    const out = new ChunkedOutput((text) => writes.push(text));
    const piece = 'x'.repeat(1000);
    const pieces = Math.floor(OUTPUT_CHUNK_CHARS / 1000);
    for (let i = 0; i < pieces; i++) out.add(piece);
    expect(writes).toEqual([]);
    const rest = OUTPUT_CHUNK_CHARS - 1000 * pieces;
    out.add('y'.repeat(rest));
    expect(writes.map((w) => w.length)).toEqual([OUTPUT_CHUNK_CHARS]);
    out.add('tail');
    out.flush();
    out.flush();
    expect(writes).toEqual([`${piece.repeat(pieces)}${'y'.repeat(rest)}`, 'tail']);
  });
});

describe('registry parse output written from the known shape (the fast paths of issue 18)', () => {
  /** Strings with everything JSON escapes: quotes, backslashes, control characters, lone and paired surrogates. */
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.array(fc.constantFrom('a', '"', '\\', '\n', '\u0001', '\u001f', '\u007f', '\u2028', '\ud83d', '\ude00', '\ud83d\ude00', 'é', ' '), { maxLength: 12 }).map((p) => p.join('')),
  );
  const value = fc.oneof(
    fc.record({ name: text, type: fc.constantFrom('REG_SZ' as const, 'REG_EXPAND_SZ' as const), data: text }),
    fc.record({ name: text, type: fc.constant('REG_MULTI_SZ' as const), data: fc.array(text, { maxLength: 4 }) }),
    fc.record({ name: text, type: fc.constant('REG_DWORD' as const), data: fc.nat({ max: 0xffffffff }) }),
    fc.record({ name: text, type: fc.constant('REG_QWORD' as const), data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) }),
    fc.record({ name: text, type: fc.constantFrom('REG_BINARY' as const, 'REG_NONE' as const, 'REG_HEX_256' as const), data: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('hex')) }),
    fc.record({ name: text, op: fc.constant('deleteValue' as const) }),
  );
  const operation: fc.Arbitrary<RegOperation> = fc.oneof(
    fc.record({ op: fc.constant('setKey' as const), key: text, values: fc.array(value, { maxLength: 6 }) }),
    fc.record({ op: fc.constant('deleteKey' as const), key: text }),
  );

  it('operationJson is the text JSON.stringify(…, null, 2) lays out at that depth, for every operation the reader makes', () => {
    fc.assert(
      fc.property(operation, (op) => {
        expect(operationJson(op)).toBe(indentedJson(op, '    '));
      }),
      { numRuns: 500 },
    );
  });

  it('operationJson of an object of another shape (other property order, more properties, undefined data) is still exactly JSON.stringify', () => {
    const others = [
      { key: 'K', op: 'setKey', values: [] },
      { op: 'setKey', key: 'K', values: [{ type: 'REG_SZ', name: 'n', data: 'd' }] },
      { op: 'setKey', key: 'K', values: [{ name: 'n', type: 'REG_SZ', data: 'd', extra: 1 }] },
      { op: 'setKey', key: 'K', values: [{ name: 'n', type: 'REG_SZ', data: undefined }] },
      { op: 'setKey', key: 'K', values: [{ name: 'n', type: 'REG_DWORD', data: Number.NaN }] },
      { op: 'deleteKey', key: 'K', note: 'x' },
    ] as unknown as RegOperation[];
    for (const op of others) expect(operationJson(op)).toBe(indentedJson(op, '    '));
  });

  it('jsonString is JSON.stringify of any string', () => {
    fc.assert(fc.property(text, (s) => expect(jsonString(s)).toBe(JSON.stringify(s))), { numRuns: 1000 });
  });

  it('the table of one operation: rows padded to the widest name and type, no trailing blanks (value deletion, a QWORD ending in a blank)', () => {
    const op: RegOperation = {
      op: 'setKey',
      key: 'HKEY_LOCAL_MACHINE\\SOFTWARE\\T\u0001',
      values: [
        { name: 'sName', type: 'REG_SZ', data: 'a "b"' },
        { name: '', type: 'REG_EXPAND_SZ', data: '%X%' },
        { name: 'gone', op: 'deleteValue' },
        { name: 'q', type: 'REG_QWORD', data: '12 ' },
        { name: 'm', type: 'REG_MULTI_SZ', data: ['x', 'y\\z'] },
        { name: 'd', type: 'REG_DWORD', data: 255 },
        { name: 'b', type: 'REG_BINARY', data: '000102030405060708090a0b0c0d0e0f10' },
        { name: 'e', type: 'REG_NONE', data: '' },
      ],
    };
    expect(formatOperationRows(op)).toEqual([
      'set key     HKEY_LOCAL_MACHINE\\SOFTWARE\\T\\x01',
      '    NAME       TYPE           DATA',
      '    "sName"    REG_SZ         "a \\"b\\""',
      '    (default)  REG_EXPAND_SZ  "%X%"',
      '    "gone"     delete value',
      '    "q"        REG_QWORD      12',
      '    "m"        REG_MULTI_SZ   ["x", "y\\\\z"]',
      '    "d"        REG_DWORD      255 (0x000000ff)',
      '    "b"        REG_BINARY     00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f … (17 bytes)',
      '    "e"        REG_NONE       (empty)',
    ]);
    expect(formatOperationText(op)).toBe(formatOperationRows(op).join('\n'));
    expect(formatOperationRows({ op: 'setKey', key: 'K', values: [] })).toEqual(['set key     K', '    (no values)']);
    expect(formatOperationRows({ op: 'deleteKey', key: 'K' })).toEqual(['delete key  K  (with all its subkeys)']);
  });
});
