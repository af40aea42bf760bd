/**
 * The output helpers of `registry parse` (agent/commands/registry/output.ts): JSON written piece by piece must
 * be byte-identical to `JSON.stringify(document, null, 2)`, and small pieces are gathered into larger writes.
 */
import { ChunkedOutput, indentedJson, OUTPUT_CHUNK_CHARS } from '#agent/commands/registry/output';

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
