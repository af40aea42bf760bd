/**
 * The `.reg` file writer (reg-file-writer.ts): key blocks encoded into one reused output buffer and written to disk
 * when it is full must give exactly the bytes of the in-memory writer, whatever falls on a buffer boundary (blocks
 * larger than the buffer, hex strings laid out from their UTF-16 code units), and a failed write leaves no file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { RegistryError } from '#core/errors';
import { formatReg, parseReg, RegEncoder, RegFileWriter, RegOutputBuffer, writeReg, writeRegFile } from '#agent/registry/reg-format';
import type { RegFormat, RegOperation } from '#agent/registry/types';
import { useTempDirs } from '../../support/tmp';

const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Vendor';

/** Operations with every kind of value, including hex data long enough to wrap over many lines. */
function sampleOperations(blobBytes: number): RegOperation[] {
  return [
    {
      op: 'setKey',
      key: `${KEY}\\A`,
      values: [
        { name: 'path', type: 'REG_SZ', data: 'C:\\Program Files\\"Vendor"' },
        { name: 'expand', type: 'REG_EXPAND_SZ', data: '%ProgramFiles%\\Vendor – ünïcode €' },
        { name: 'multi', type: 'REG_MULTI_SZ', data: ['one', 'twö', ''] },
        { name: 'lines', type: 'REG_SZ', data: 'first\r\nsecond' },
        { name: 'n', type: 'REG_DWORD', data: 0x1234 },
        { name: 'q', type: 'REG_QWORD', data: '18446744073709551615' },
        { name: 'blob', type: 'REG_BINARY', data: Buffer.from(Array.from({ length: blobBytes }, (_, i) => (i * 37) & 255)).toString('hex') },
        { name: 'odd', type: 'REG_HEX_256', data: '00ff' },
        { name: 'gone', op: 'deleteValue' },
      ],
    },
    { op: 'deleteKey', key: `${KEY}\\Old` },
    { op: 'setKey', key: `${KEY}\\B`, values: [] },
  ];
}

/** What a {@link RegOutputBuffer} of `capacity` bytes hands over, joined. */
function throughOutputBuffer(format: RegFormat, operations: RegOperation[], capacity: number): { bytes: Buffer; flushes: number } {
  const parts: Buffer[] = [];
  const output = new RegOutputBuffer((bytes) => parts.push(Buffer.from(bytes)), capacity);
  const encoder = new RegEncoder(format);
  const header = encoder.header();
  const at = output.claim(header.length); // before reading output.buffer: a claim may switch buffers
  header.copy(output.buffer, at);
  for (const operation of operations) encoder.operationInto(operation, output);
  output.drain();
  return { bytes: Buffer.concat(parts), flushes: parts.length };
}

describe('reg-file-writer: key blocks encoded into one reused buffer', () => {
  const tempDir = useTempDirs('commserve-dr-regwriter-');

  it.each(['REGEDIT5', 'REGEDIT4'] as const)('%s: the bytes equal the in-memory writer, for buffers smaller and larger than a key block', (format) => {
    const operations = sampleOperations(5000);
    const expected = writeReg({ format, operations });
    for (const capacity of [64, 1000, 4096, 1 << 20]) {
      const { bytes, flushes } = throughOutputBuffer(format, operations, capacity);
      expect(bytes.equals(expected)).toBe(true);
      if (capacity === 64) expect(flushes).toBeGreaterThan(2); // blocks larger than the buffer were handed over alone
    }
  });

  it('REGEDIT5 strings laid out from their UTF-16 code units read back as the same values (hex(2), hex(7), hex(1))', () => {
    const operations = sampleOperations(10);
    const { bytes } = throughOutputBuffer('REGEDIT5', operations, 128);
    expect(parseReg(bytes).operations).toEqual([
      { ...operations[0], values: (operations[0] as { values: unknown[] }).values },
      operations[1],
      operations[2],
    ]);
  });

  it('any operations, any buffer capacity: byte-identical to writeReg (property)', () => {
    const value = fc.oneof(
      fc.record({ name: fc.string({ maxLength: 8 }).filter((n) => !/[\r\n\0]/.test(n)), type: fc.constant('REG_SZ' as const), data: fc.string({ maxLength: 40 }) }),
      fc.record({ name: fc.constantFrom('e', 'x'), type: fc.constant('REG_EXPAND_SZ' as const), data: fc.string({ maxLength: 90 }) }),
      fc.record({ name: fc.constantFrom('b', 'c'), type: fc.constant('REG_BINARY' as const), data: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('hex')) }),
    );
    const operation = fc.record({ op: fc.constant('setKey' as const), key: fc.constantFrom(`${KEY}\\P`, `${KEY}\\Q\\R`), values: fc.array(value, { maxLength: 6 }) });
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 6 }), fc.integer({ min: 16, max: 2048 }), (operations, capacity) => {
        expect(throughOutputBuffer('REGEDIT5', operations, capacity).bytes.equals(writeReg({ format: 'REGEDIT5', operations }))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('REGEDIT5 hex laid out at any position (2-byte and 4-byte boundaries, two bytes per three 32-bit stores) equals the text formatReg lays out character by character', () => {
    const value = fc.oneof(
      fc.record({ name: fc.string({ maxLength: 9 }).filter((n) => !/[\r\n\0]/.test(n)), type: fc.constant('REG_BINARY' as const), data: fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('hex')) }),
      fc.record({ name: fc.constantFrom('e', 'long name of a value'), type: fc.constantFrom('REG_EXPAND_SZ' as const, 'REG_SZ' as const), data: fc.string({ unit: 'binary', maxLength: 60 }).map((d) => `${d}\n`) }),
      fc.record({ name: fc.constantFrom('m'), type: fc.constant('REG_MULTI_SZ' as const), data: fc.array(fc.string({ maxLength: 9 }).filter((d) => !d.includes('\0')), { maxLength: 4 }) }),
      fc.record({ name: fc.constantFrom('q'), type: fc.constant('REG_QWORD' as const), data: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String) }),
    );
    const operation = fc.record({ op: fc.constant('setKey' as const), key: fc.constantFrom(`${KEY}\\P`, `${KEY}\\Quite\\Long\\Path`), values: fc.array(value, { maxLength: 5 }) });
    fc.assert(
      fc.property(operation, fc.constantFrom(0, 2, 4, 6), (op, offset) => {
        const encoder = new RegEncoder('REGEDIT5');
        const target = { buffer: Buffer.alloc(0), claim: (size: number) => ((target.buffer = Buffer.alloc(offset + size)), offset) };
        encoder.operationInto(op, target);
        const text = formatReg({ format: 'REGEDIT5', operations: [op] }).replace(/^[^\n]*\n\r\n/, '');
        expect(target.buffer.subarray(offset).toString('utf16le')).toBe(text);
      }),
      { numRuns: 400 },
    );
  });

  it('writeRegFile / RegFileWriter: the file on disk equals writeReg, and its size is returned', async () => {
    const operations = sampleOperations(3 << 20); // a 3 MiB binary value: its block is larger than the 1 MiB buffer
    const file = join(tempDir(), 'out.reg');
    const size = await writeRegFile(file, 'REGEDIT5', operations);
    const expected = writeReg({ format: 'REGEDIT5', operations });
    expect(size).toBe(expected.length);
    expect(readFileSync(file).equals(expected)).toBe(true);
  });

  it('an operation that cannot be written: writeRegFile removes the partial file and throws REG_UNWRITABLE', async () => {
    const file = join(tempDir(), 'bad.reg');
    const operations: RegOperation[] = [...sampleOperations(10), { op: 'setKey', key: `${KEY}\\C`, values: [{ name: 'n', type: 'REG_DWORD', data: -1 }] }];
    await expect(writeRegFile(file, 'REGEDIT5', operations)).rejects.toThrow(RegistryError);
    expect(existsSync(file)).toBe(false);
  });

  it('RegFileWriter refuses operations after close, and a file it cannot create fails with the path (ENOENT)', () => {
    const file = join(tempDir(), 'closed.reg');
    const writer = new RegFileWriter(file, 'REGEDIT5');
    writer.operation(sampleOperations(1)[2]);
    expect(writer.close()).toBe(readFileSync(file).length);
    expect(() => writer.operation(sampleOperations(1)[2])).toThrow(/closed/);
    expect(() => new RegFileWriter(join(tempDir(), 'missing', 'x.reg'), 'REGEDIT5')).toThrow(/ENOENT.*missing/);
  });
});
