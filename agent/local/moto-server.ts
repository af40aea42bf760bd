/**
 * Starts and stops a moto server: the local stand-in for the hot-site S3 bucket (and SSM,
 * CloudWatch, SNS) used by the local run and the tests (SPEC §7).
 *
 * moto lives in a Python environment; it is located on PATH first (`moto_server`), then through
 * pyenv's interpreters (`python -m moto.server`), because an environment started from scratch
 * does not see pyenv's shims (TOOLING.md).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { LocalRunError } from '#core/errors';
import { isInterrupting, onInterrupt } from '#agent/shutdown';

/** A running moto server. */
export interface MotoServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  /** Drops every bucket, object and parameter (`POST /moto-api/reset`). */
  reset(): Promise<void>;
  /** Stops the server process (SIGTERM, then SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
}

/** How to launch moto: the command and its leading arguments. */
export interface MotoCommand {
  command: string;
  args: string[];
}

/** Asks the OS for a free TCP port on 127.0.0.1. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function pythonHasMoto(python: string): boolean {
  const probe = spawnSync(python, ['-c', 'import moto.server'], { stdio: 'ignore', timeout: 20000 });
  return probe.status === 0;
}

/**
 * Finds a way to run moto server.
 * Order: `$MOTO_SERVER` (a path), `moto_server` on PATH, then `python -m moto.server` for each pyenv
 * version and for `python3` on PATH.
 * @throws LocalRunError `MOTO_NOT_FOUND` with an install hint when none works.
 */
export function locateMoto(): MotoCommand {
  const explicit = process.env.MOTO_SERVER;
  if (explicit) return { command: explicit, args: [] };
  const direct = onPath('moto_server');
  if (direct) return { command: direct, args: [] };
  const pythons: string[] = [];
  const pyenvRoot = process.env.PYENV_ROOT ?? join(homedir(), '.pyenv');
  const versions = join(pyenvRoot, 'versions');
  if (existsSync(versions)) {
    for (const version of readdirSync(versions).sort().reverse()) {
      for (const exe of ['python3', 'python']) {
        const candidate = join(versions, version, 'bin', exe);
        if (existsSync(candidate)) pythons.push(candidate);
      }
    }
  }
  const systemPython = onPath('python3');
  if (systemPython) pythons.push(systemPython);
  for (const python of pythons) {
    if (pythonHasMoto(python)) return { command: python, args: ['-m', 'moto.server'] };
  }
  throw new LocalRunError(
    'MOTO_NOT_FOUND',
    'moto server is not installed: the local run needs it as the hot-site stand-in. Install it with: pip install "moto[server]"',
  );
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new LocalRunError('MOTO_EXITED', `moto server exited with code ${child.exitCode} before it was ready`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) return;
      lastError = new Error(`HTTP ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalRunError('MOTO_TIMEOUT', `moto server did not answer on ${endpoint} within ${timeoutMs} ms`, { cause: lastError });
}

/**
 * Starts a moto server on a free loopback port and waits until it answers.
 * @param options.timeoutMs how long to wait for it to answer (ms, default 30,000).
 * @throws LocalRunError when moto is missing, exits, or does not answer in time.
 */
export async function startMotoServer(options: { timeoutMs?: number } = {}): Promise<MotoServer> {
  const { command, args } = locateMoto();
  const port = await freeLoopbackPort();
  if (isInterrupting()) throw new LocalRunError('MOTO_SPAWN', 'interrupted before moto server was started');
  const child = spawn(command, [...args, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
  });
  const spawnError = new Promise<never>((_, reject) => {
    child.once('error', (error) => reject(new LocalRunError('MOTO_SPAWN', `could not start moto server (${command})`, { cause: error })));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  // Interrupted (SIGINT/SIGTERM to this process only) while moto starts: stop it too, or it outlives us.
  const forgetInterrupt = onInterrupt(() => {
    child.kill('SIGKILL');
  });
  try {
    await Promise.race([waitUntilReady(endpoint, child, options.timeoutMs ?? 30000), spawnError]);
  } catch (error) {
    child.kill('SIGKILL');
    if (error instanceof LocalRunError && stderrTail) error.context.stderr = stderrTail;
    throw error;
  } finally {
    forgetInterrupt(); // once started, the caller owns it (and its stop on interruption)
  }
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    port,
    pid: child.pid ?? -1,
    async reset() {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new LocalRunError('MOTO_RESET', `moto reset failed with HTTP ${response.status}`);
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        // Started unref'd (it must not keep its owner alive); while stopping, wait for it: a moto slower than 3 s to
        // exit would otherwise be SIGKILLed and its owner's event loop end before the exit arrives, `stop()` never
        // resolving (a benchmark then ended without writing its results).
        child.ref();
        const killTimer = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(killTimer);
          resolve();
        });
        child.kill('SIGTERM');
      });
      return stopped;
    },
  };
}
