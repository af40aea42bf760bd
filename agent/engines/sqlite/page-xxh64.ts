/**
 * XXH64 of every page of a buffer, in WebAssembly over a **shared** memory (issue 17: change detection of a LOG point
 * at the speed of one read). The pages are read from the database file straight into the memory the hash runs on
 * (no copy), and two threads hash two halves of the same chunk by instantiating this module on the same memory.
 *
 * XXH64 is Yann Collet's 64-bit xxHash (https://github.com/Cyan4973/xxHash, BSD-2-Clause; algorithm as in
 * `doc/xxhash_spec.md`). The module below is assembled here, byte by byte, because the only function needed is the
 * XXH64 of whole pages: a page size is a power of two ≥ 512, so every page is a whole number of 32-byte stripes and
 * the algorithm reduces to the stripe loop, the merge and the avalanche (no tail). Measured on this machine
 * (2026-12-06, quiet), one thread, 256 MiB of 4 KiB pages already in the memory, 1 MiB per call: 16–21 ms (≈ 14 GB/s),
 * against ≈ 280 ms for the SHA-256 of every page and 43 ms for `xxhash-wasm`'s h64Raw, which copies its input into
 * its own memory first. The test `test/integration/engines/sqlite-log-fast.test.ts` checks it against the `xxhash-wasm` package (the reference
 * implementation, compiled from xxHash's own algorithm) on random pages and seeds.
 *
 * Output: the 64-bit XXH64 of page i, stored little-endian (wasm's `i64.store`) at `out + 8 i`.
 */

/** A `WebAssembly.Memory` (shared): the part used here (this project's TypeScript libs do not declare WebAssembly). */
export interface WasmMemory {
  readonly buffer: SharedArrayBuffer;
}
/** A compiled `WebAssembly.Module` (opaque; can be passed to a worker in `workerData`). */
export type WasmModule = object;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
/** Node's global WebAssembly (V8's; present in every Node release this project supports). */
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const MASK64 = (1n << 64n) - 1n;

/** Bytes of one page's XXH64 in the output. */
export const XXH64_BYTES = 8;
/** Most 64 KiB wasm pages the shared memory may have (the module's import limit: 4 GiB, wasm32's whole range). */
export const XXH64_MAX_MEMORY_PAGES = 65536;

/** Unsigned LEB128. */
function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 64-bit value given as an unsigned BigInt (i64.const takes it as two's complement). */
function sleb64(unsigned: bigint): number[] {
  let value = BigInt.asIntN(64, unsigned & MASK64);
  const out: number[] = [];
  for (;;) {
    const byte = Number(value & 0x7fn);
    value >>= 7n;
    const done = (value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Buffer.from(s, 'latin1')];

// Opcodes used (WebAssembly core spec 1.0, plus shared memory from the threads proposal, in Node ≥ 16).
const BLOCK = 0x02, LOOP = 0x03, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, VOID = 0x40;
const GET = 0x20, SET = 0x21, TEE = 0x22;
const I32_CONST = 0x41, I64_CONST = 0x42, I32_EQZ = 0x45, I32_LT_U = 0x49, I32_ADD = 0x6a, I32_SUB = 0x6b;
const I64_ADD = 0x7c, I64_SUB = 0x7d, I64_MUL = 0x7e, I64_XOR = 0x85, I64_SHR_U = 0x88, I64_ROTL = 0x89, I64_EXTEND_I32_U = 0xad;
const I64_LOAD = 0x29, I64_STORE = 0x37;

// Locals: parameters (ptr, count, size, out: i32; seed: i64), then end (i32), v1…v4 and h (i64).
const PTR = 0, COUNT = 1, SIZE = 2, OUT = 3, SEED = 4, END_PTR = 5, V = [6, 7, 8, 9], H = 10;

const i64c = (v: bigint) => [I64_CONST, ...sleb64(v)];
/** XXH64 round: acc = rotl(acc + input × P2, 31) × P1, with `input` already on the stack after `acc`. */
const roundTail = [...i64c(P2), I64_MUL, I64_ADD, ...i64c(31n), I64_ROTL, ...i64c(P1), I64_MUL];

function body(): number[] {
  const code: number[] = [];
  const emit = (...bytes: number[]) => code.push(...bytes);
  emit(BLOCK, VOID, LOOP, VOID);
  emit(GET, COUNT, I32_EQZ, BR_IF, 1);
  emit(GET, PTR, GET, SIZE, I32_ADD, SET, END_PTR);
  emit(GET, SEED, ...i64c((P1 + P2) & MASK64), I64_ADD, SET, V[0]);
  emit(GET, SEED, ...i64c(P2), I64_ADD, SET, V[1]);
  emit(GET, SEED, SET, V[2]);
  emit(GET, SEED, ...i64c(P1), I64_SUB, SET, V[3]);
  emit(LOOP, VOID);
  for (let lane = 0; lane < 4; lane++) emit(GET, V[lane], GET, PTR, I64_LOAD, 0x03, ...uleb(lane * 8), ...roundTail, SET, V[lane]);
  emit(GET, PTR, I32_CONST, 32, I32_ADD, TEE, PTR, GET, END_PTR, I32_LT_U, BR_IF, 0);
  emit(END);
  emit(GET, V[0], ...i64c(1n), I64_ROTL, GET, V[1], ...i64c(7n), I64_ROTL, I64_ADD, GET, V[2], ...i64c(12n), I64_ROTL, I64_ADD, GET, V[3], ...i64c(18n), I64_ROTL, I64_ADD, SET, H);
  // Merge round: h = (h ^ round(0, v)) × P1 + P4, round(0, v) = rotl(v × P2, 31) × P1.
  for (const v of V) emit(GET, H, GET, v, ...i64c(P2), I64_MUL, ...i64c(31n), I64_ROTL, ...i64c(P1), I64_MUL, I64_XOR, ...i64c(P1), I64_MUL, ...i64c(P4), I64_ADD, SET, H);
  emit(GET, H, GET, SIZE, I64_EXTEND_I32_U, I64_ADD, SET, H);
  // Avalanche: h ^= h >> 33; h ×= P2; h ^= h >> 29; h ×= P3; h ^= h >> 32.
  emit(GET, H, GET, H, ...i64c(33n), I64_SHR_U, I64_XOR, ...i64c(P2), I64_MUL, SET, H);
  emit(GET, H, GET, H, ...i64c(29n), I64_SHR_U, I64_XOR, ...i64c(P3), I64_MUL, SET, H);
  emit(GET, OUT, GET, H, GET, H, ...i64c(32n), I64_SHR_U, I64_XOR, I64_STORE, 0x03, 0x00);
  emit(GET, OUT, I32_CONST, XXH64_BYTES, I32_ADD, SET, OUT);
  emit(GET, COUNT, I32_CONST, 1, I32_SUB, SET, COUNT);
  emit(BR, 0, END, END, END);
  const locals = [0x02, 0x01, 0x7f, 0x05, 0x7e]; // 1 × i32, 5 × i64
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/**
 * The module's bytes: imports a shared memory `e.m` (1 … {@link XXH64_MAX_MEMORY_PAGES} pages), exports
 * `p(ptr: i32, count: i32, size: i32, out: i32, seed: i64)`, which writes the XXH64 (with `seed`) of the `count`
 * pages of `size` bytes at `ptr` to `out` (8 bytes each, little-endian). `size` must be a multiple of 32, ≥ 32.
 */
export function xxh64PagesWasm(): Uint8Array {
  const type = section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 0]);
  const imports = section(2, [1, ...name('e'), ...name('m'), 0x02, 0x03, ...uleb(1), ...uleb(XXH64_MAX_MEMORY_PAGES)]);
  const functions = section(3, [1, 0]);
  const exported = section(7, [1, ...name('p'), 0x00, 0]);
  const code = section(10, [1, ...body()]);
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...type, ...imports, ...functions, ...exported, ...code]);
}

let compiled: WasmModule | undefined;

/** The compiled module (compiled once per thread; a `WebAssembly.Module` can also be passed to a worker). */
export function xxh64PagesModule(): WasmModule {
  return (compiled ??= new wasm.Module(xxh64PagesWasm()));
}

/** The page hasher bound to one memory: `(ptr, count, size, out, seed)` as in {@link xxh64PagesWasm}. */
export type Xxh64Pages = (ptr: number, count: number, size: number, out: number, seed: bigint) => void;

/** Instantiates the module on `memory` (a shared `WebAssembly.Memory`, maximum ≤ {@link XXH64_MAX_MEMORY_PAGES}). @throws when the memory is not shared or too large. */
export function xxh64Pages(memory: WasmMemory, module: WasmModule = xxh64PagesModule()): Xxh64Pages {
  const instance = new wasm.Instance(module, { e: { m: memory } });
  return instance.exports.p as Xxh64Pages;
}

/** A shared memory of at least `bytes` bytes for {@link xxh64Pages}. */
export function sharedPageMemory(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / 65536));
  if (pages > XXH64_MAX_MEMORY_PAGES) throw new RangeError(`${bytes} bytes exceed the 4 GiB of a wasm memory`);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/**
 * XXH64 (seed `seed`) of every `pageSize` page of `data` (whose length is a whole number of pages), 8 bytes each,
 * little-endian, in page order — a convenience that copies `data` into a memory of its own (tests, small inputs).
 */
export function xxh64OfPages(data: Uint8Array, pageSize: number, seed = 0n): Buffer {
  if (pageSize < 32 || pageSize % 32 !== 0 || data.length % pageSize !== 0) throw new RangeError(`page size ${pageSize} and ${data.length} bytes: not whole 32-byte-multiple pages`);
  const count = data.length / pageSize;
  const memory = sharedPageMemory(data.length + count * XXH64_BYTES);
  const view = Buffer.from(memory.buffer as unknown as ArrayBuffer);
  view.set(data, 0);
  xxh64Pages(memory)(0, count, pageSize, data.length, seed);
  return Buffer.from(view.subarray(data.length, data.length + count * XXH64_BYTES));
}
