/**
 * A moto server behind real TLS on 127.0.0.1 — what an AWS endpoint looks like to a client behind a proxy
 * (`https://localhost:<port>`). The certificate is self-signed for `localhost`/`127.0.0.1`, made with the openssl
 * CLI in a temp folder; clients trust it through `ca` (in this process) or `NODE_EXTRA_CA_CERTS` (a child process,
 * as an operator behind a TLS-inspecting proxy would). moto serves it itself (`moto_server -c cert -k key`).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { freeLoopbackPort, locateMoto } from '#agent/local/moto-server';

/** A running TLS moto server. */
export interface TlsMoto {
  /** `https://localhost:<port>`. */
  endpoint: string;
  port: number;
  /** PEM file of the certificate (its own CA). */
  caFile: string;
  ca: Buffer;
  stop(): Promise<void>;
}

/** Makes a self-signed certificate for localhost in `dir`. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'localhost.crt');
  const key = join(dir, 'localhost.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'pipe' });
  return { cert, key };
}

/** Whether the server answers over TLS with this CA. */
function answers(port: number, ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: 'localhost', port, path: '/moto-api/data.json', ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/**
 * Starts moto with TLS, certificate files in `dir`.
 * @throws Error when moto exits or does not answer within 30 s (with the tail of its stderr).
 */
export async function startTlsMoto(dir: string): Promise<TlsMoto> {
  const { cert, key } = makeCertificate(dir);
  const ca = readFileSync(cert);
  const { command, args } = locateMoto();
  const port = await freeLoopbackPort();
  const child: ChildProcess = spawn(command, [...args, '-H', '127.0.0.1', '-p', String(port), '-c', cert, '-k', key], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-2000)));
  const deadline = Date.now() + 30_000;
  while (!(await answers(port, ca))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`TLS moto server on port ${port} did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    endpoint: `https://localhost:${port}`,
    port,
    caFile: cert,
    ca,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
