/**
 * Headless Chromium for page tests, driven through its command line (no playwright/puppeteer):
 * `--dump-dom` to read the rendered DOM and `--screenshot` for a PNG, each run with a fresh, empty
 * profile directory and everything that reaches the network switched off.
 *
 * Chromium is looked for in `CHROMIUM_PATH`, then on `PATH` as `chromium`, `chromium-browser`,
 * `google-chrome`, `google-chrome-stable`. When none is found, {@link findChromium} throws: page tests
 * fail (never skip) with the install command, `apt-get install -y chromium` on Debian/Ubuntu.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { inflateSync } from 'node:zlib';

/** Executable names looked for on PATH, in order. */
export const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

/** The command that installs Chromium on the CI image (Debian). */
export const CHROMIUM_INSTALL_HINT = 'apt-get update && apt-get install -y chromium';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a Chromium executable.
 * @throws Error naming the install command when there is none.
 */
export function findChromium(): string {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (isExecutable(override)) return override;
    throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
  }
  for (const name of CHROMIUM_NAMES) {
    for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new Error(
    `headless Chromium is required for this test and none was found on PATH (looked for ${CHROMIUM_NAMES.join(', ')}; or set CHROMIUM_PATH). ` +
      `Install it with: ${CHROMIUM_INSTALL_HINT}`,
  );
}

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--disable-default-apps',
  '--hide-scrollbars',
  '--force-device-scale-factor=1',
];

function runChromium(chromium: string, args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'commserve-dr-chromium-'));
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    execFile(chromium, [...BASE_FLAGS, `--user-data-dir=${profile}`, ...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${chromium} ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  }).finally(() => rmSync(profile, { recursive: true, force: true }));
}

/** Loads `htmlFile` in headless Chromium and returns the DOM it rendered (serialised). */
export async function dumpDom(chromium: string, htmlFile: string, timeoutMs = 60_000): Promise<string> {
  return (await runChromium(chromium, ['--dump-dom', `file://${htmlFile}`], timeoutMs)).stdout;
}

/** Loads `htmlFile` in headless Chromium and writes a screenshot of the window to `pngFile`. */
export async function screenshot(chromium: string, htmlFile: string, pngFile: string, size: { width: number; height: number }, timeoutMs = 60_000): Promise<void> {
  await runChromium(chromium, [`--screenshot=${pngFile}`, `--window-size=${size.width},${size.height}`, `file://${htmlFile}`], timeoutMs);
}

/** A decoded PNG: 8-bit RGB or RGBA pixels, row by row. */
export interface DecodedPng {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: number;
  pixels: Buffer;
  /** The pixel at (x, y) as `#rrggbb`. */
  colorAt(x: number, y: number): string;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes): checks the signature, reads IHDR,
 * inflates the IDAT chunks and undoes the row filters.
 * @throws Error for anything else (not a PNG, another colour type or depth, interlaced).
 */
export function readPng(file: string): DecodedPng {
  const data = readFileSync(file);
  if (data.length < 33 || !data.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error(`${file} is not a PNG`);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < data.length) {
    const length = data.readUInt32BE(offset);
    const type = data.toString('latin1', offset + 4, offset + 8);
    const body = data.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      const depth = body[8];
      const colorType = body[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || body[12] !== 0) throw new Error(`${file}: unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${body[12]})`);
      channels = colorType === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[out + i - channels] : 0;
      const b = y > 0 ? pixels[out - stride + i] : 0;
      const c = i >= channels && y > 0 ? pixels[out - stride + i - channels] : 0;
      let value: number;
      switch (filter) {
        case 0: value = line[i]; break;
        case 1: value = line[i] + a; break;
        case 2: value = line[i] + b; break;
        case 3: value = line[i] + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          value = line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`${file}: bad PNG filter ${filter} on row ${y}`);
      }
      pixels[out + i] = value & 0xff;
    }
  }
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return {
    width,
    height,
    channels,
    pixels,
    colorAt: (x, y) => {
      const i = y * stride + x * channels;
      return `#${hex(pixels[i])}${hex(pixels[i + 1])}${hex(pixels[i + 2])}`;
    },
  };
}

/** How many pixels of each colour (`#rrggbb`) the image holds. */
export function colorHistogram(png: DecodedPng): Map<string, number> {
  const counts = new Map<string, number>();
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const c = png.colorAt(x, y);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  }
  return counts;
}
