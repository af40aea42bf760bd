/**
 * Headless Chromium for page tests. The browser comes with `npm ci`: the npm package `@sparticuz/chromium`
 * ships chrome-headless-shell inside the package (brotli archives, nothing downloaded), together with the few
 * shared libraries it needs beyond glibc (NSS, NSPR, expat) and a font. `test/support/extract-chromium.mjs`
 * unpacks them once into `.cache/chromium/` (git-ignored); `playwright-core` drives the browser over CDP to
 * read the rendered DOM and take a screenshot, each run with a fresh, empty profile directory (playwright's own) and everything
 * that reaches the network switched off.
 *
 * `CHROMIUM_PATH=/usr/bin/chromium` uses another Chromium instead (run with the environment as it is).
 * No Debian package is needed.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium as playwright, type Browser } from 'playwright-core';

/** A Chromium executable and the environment to run it with. */
export interface Chromium {
  executable: string;
  /** Environment of the browser process (library and font paths for the npm-shipped build). */
  env: NodeJS.ProcessEnv;
}

/** Where the npm-shipped Chromium is unpacked (inside the project, git-ignored). */
export const CHROMIUM_CACHE_DIR = join(__dirname, '..', '..', '.cache', 'chromium');

const EXTRACT_SCRIPT = join(__dirname, 'extract-chromium.mjs');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to run: `CHROMIUM_PATH` when set, else the one `@sparticuz/chromium` ships, unpacked into
 * {@link CHROMIUM_CACHE_DIR} on first use (~5 s).
 * @throws Error naming `CHROMIUM_PATH` when it is not an executable, or the unpack step's error (run `npm ci`).
 */
export function findChromium(): Chromium {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (isExecutable(override)) return { executable: override, env: { ...process.env } };
    throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
  }
  let out: string;
  try {
    out = execFileSync(process.execPath, [EXTRACT_SCRIPT, CHROMIUM_CACHE_DIR], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`could not unpack the headless Chromium shipped by @sparticuz/chromium into ${CHROMIUM_CACHE_DIR} (run \`npm ci\`): ${(error as Error).message}\n${stderr}`);
  }
  const { executable, libDir, fontsDir } = JSON.parse(out) as { executable: string; libDir: string; fontsDir: string };
  const ldPath = [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return { executable, env: { ...process.env, LD_LIBRARY_PATH: ldPath, FONTCONFIG_PATH: fontsDir } };
}

const FLAGS = [
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

async function withPage<T>(chromium: Chromium, htmlFile: string, size: { width: number; height: number }, timeoutMs: number, use: (page: import('playwright-core').Page) => Promise<T>): Promise<T> {
  let browser: Browser | undefined;
  try {
    browser = await playwright.launch({ executablePath: chromium.executable, args: FLAGS, env: chromium.env, headless: true, timeout: timeoutMs });
    const page = await browser.newPage({ viewport: size, deviceScaleFactor: 1 });
    page.setDefaultTimeout(timeoutMs);
    await page.goto(`file://${htmlFile}`, { waitUntil: 'load' });
    return await use(page);
  } catch (error) {
    throw new Error(`${chromium.executable} on file://${htmlFile} failed: ${(error as Error).message}`);
  } finally {
    await browser?.close();
  }
}

/** Loads `htmlFile` in headless Chromium and returns the DOM it rendered (serialised). */
export async function dumpDom(chromium: Chromium, htmlFile: string, timeoutMs = 60_000): Promise<string> {
  return withPage(chromium, htmlFile, { width: 1280, height: 800 }, timeoutMs, (page) => page.content());
}

/** Loads `htmlFile` in headless Chromium and writes a screenshot of the window (`size`, CSS pixels) to `pngFile`. */
export async function screenshot(chromium: Chromium, htmlFile: string, pngFile: string, size: { width: number; height: number }, timeoutMs = 60_000): Promise<void> {
  await withPage(chromium, htmlFile, size, timeoutMs, async (page) => {
    await page.screenshot({ path: pngFile, type: 'png' });
  });
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
