/**
 * Proxy (issue 22 item 5): the agent reaches AWS through `HTTPS_PROXY` by HTTP CONNECT, with the TLS session end to
 * end through the tunnel, and goes direct for hosts `NO_PROXY` names. Against real components: a moto server serving
 * real TLS (self-signed certificate for localhost, trusted by the child process through NODE_EXTRA_CA_CERTS, as an
 * operator does for a TLS-inspecting proxy), a forward proxy on 127.0.0.1 that demands Basic credentials
 * (test/support/forward-proxy.ts: CONNECT tunnels, records every request), and the agent as a child process
 * (NODE_EXTRA_CA_CERTS is read only at process start). The proxy's password must appear in no output.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { setName } from '#core/set-id';
import { jobRecordKey } from '#core/hotsite-layout';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { startForwardProxy, type ForwardProxy } from '../../support/forward-proxy';
import { startTlsMoto, type TlsMoto } from '../../support/tls-moto';
import { useTempDirs } from '../../support/tmp';
import { motoEndpoint } from '../../support/moto';

const ROOT = join(__dirname, '..', '..', '..');
const BUCKET = 'commserve-dr-proxy-test';
const USER = 'dr-agent';
const PASSWORD = 'pr0xy-s3cret';

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('proxy: HTTPS_PROXY by HTTP CONNECT to a TLS endpoint, NO_PROXY (moto over TLS, local forward proxy, agent as a child process)', () => {
  const tempDir = useTempDirs('commserve-dr-proxy-');
  let moto: TlsMoto;
  let proxy: ForwardProxy;
  let s3: S3Client;

  beforeAll(async () => {
    moto = await startTlsMoto(tempDir());
    proxy = await startForwardProxy({ credentials: { user: USER, password: PASSWORD } });
    s3 = new S3Client({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: moto.ca }) }),
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  /** The environment of a child: no inherited proxy variables, the test certificate trusted, then `extra`. */
  function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (/^(https?|no|all)_proxy$/i.test(k)) delete env[k];
    return { ...env, NODE_EXTRA_CA_CERTS: moto.caFile, ...extra };
  }

  /**
   * Runs a TypeScript file of the project (bin/run-ts.js) or the CLI as a child — asynchronously: the proxy runs in
   * this process and must go on serving — and returns its output and the proxy's new requests.
   */
  async function run(args: string[], extra: Record<string, string>, cwd = ROOT) {
    const before = proxy.requests.length;
    const child = spawn(process.execPath, args, { cwd, env: childEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, out, err, seen: proxy.requests.slice(before) };
  }
  const probe = async (extra: Record<string, string>) => {
    const r = await run([join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'test', 'support', 'proxy-probe.ts'), moto.endpoint], extra);
    return { ...r, results: JSON.parse(r.out || '{}') as Record<string, string> };
  };
  const proxyUrl = () => `http://${USER}:${PASSWORD}@127.0.0.1:${proxy.port}`;
  const allOk = { s3: 'ok', ssm: 'ok', sfn: 'ok', sts: 'ok', cloudwatch: 'ok' };

  it('every AWS client of the agent (S3, SSM, Step Functions, STS, CloudWatch) goes through HTTPS_PROXY: one CONNECT each to the endpoint, with the proxy credentials', async () => {
    const r = await probe({ HTTPS_PROXY: proxyUrl() });

    expect({ results: r.results, err: r.err }).toEqual({ results: allOk, err: '' });
    expect(r.seen.length).toBeGreaterThanOrEqual(5);
    expect(new Set(r.seen.map((s) => `${s.method} ${s.target} ${s.authorised}`))).toEqual(new Set([`CONNECT localhost:${moto.port} true`]));
  });

  it('lower-case https_proxy is honoured too', async () => {
    const r = await probe({ https_proxy: proxyUrl() });

    expect(r.results).toEqual(allOk);
    expect(r.seen.filter((s) => s.method === 'CONNECT').length).toBeGreaterThanOrEqual(5);
  });

  it.each([
    ['the host', 'localhost'],
    ['the host and its port, among others', `s3.example.com, localhost:${0}`],
    ['a leading dot', '.localhost'],
    ['*', '*'],
  ])('NO_PROXY naming %s: direct connections, the proxy sees nothing', async (_what, noProxy) => {
    const r = await probe({ HTTPS_PROXY: proxyUrl(), NO_PROXY: noProxy.replace(`localhost:${0}`, `localhost:${moto.port}`) });

    expect(r.results).toEqual(allOk);
    expect(r.seen).toEqual([]);
  });

  it('NO_PROXY naming another port or another host: still through the proxy', async () => {
    const r = await probe({ HTTPS_PROXY: proxyUrl(), NO_PROXY: `localhost:${moto.port + 1},amazonaws.com` });

    expect(r.results).toEqual(allOk);
    expect(r.seen.length).toBeGreaterThanOrEqual(5);
  });

  it('the proxy refuses the credentials (407): every client fails with a message naming the proxy (no password) and HTTPS_PROXY, not the SDK\'s UnknownError', async () => {
    const r = await probe({ HTTPS_PROXY: `http://${USER}:wrong-pw@127.0.0.1:${proxy.port}` });

    const said = `the proxy http://127.0.0.1:${proxy.port} (HTTPS_PROXY) refused to connect to localhost:${moto.port}: 407 Proxy Authentication Required — check the user and password in HTTPS_PROXY (http://user:password@host:port, URL-encoded)`;
    expect(Object.values(r.results)).toEqual(Object.values(allOk).map(() => `Unknown: ${said}`));
    expect(r.seen.length).toBeGreaterThanOrEqual(5);
    expect(r.seen.every((s) => s.method === 'CONNECT' && !s.authorised)).toBe(true);
    expect(`${r.out}${r.err}`).not.toContain('wrong-pw');
  });

  it('the proxy cannot be reached: every client fails saying the proxy (named, no password) cannot be reached', async () => {
    const closed = await startForwardProxy();
    await closed.stop(); // a port that just closed
    const r = await probe({ HTTPS_PROXY: `http://${USER}:${PASSWORD}@127.0.0.1:${closed.port}` });

    const said = `Error: the proxy http://127.0.0.1:${closed.port} (HTTPS_PROXY) cannot be reached to connect to localhost:${moto.port}: connect ECONNREFUSED 127.0.0.1:${closed.port}`;
    expect(r.results).toEqual({ s3: said, ssm: said, sfn: said, sts: said, cloudwatch: said });
    expect(`${r.out}${r.err}`).not.toContain(PASSWORD);
  });

  it('a plain-HTTP stand-in (moto) goes through HTTP_PROXY as absolute-URI requests; HTTPS_PROXY alone leaves it direct', async () => {
    const endpoint = motoEndpoint();
    const viaHttp = await run([join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'test', 'support', 'proxy-probe.ts'), endpoint], { HTTP_PROXY: proxyUrl() });
    const onlyHttps = await run([join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'test', 'support', 'proxy-probe.ts'), endpoint], { HTTPS_PROXY: proxyUrl() });

    expect(JSON.parse(viaHttp.out)).toEqual(allOk);
    expect(viaHttp.seen.length).toBeGreaterThanOrEqual(5);
    expect(viaHttp.seen.every((s) => s.method !== 'CONNECT' && s.target.startsWith(`${endpoint}/`) && s.authorised)).toBe(true);
    expect({ results: JSON.parse(onlyHttps.out), seen: onlyHttps.seen }).toEqual({ results: allOk, seen: [] });
  });

  it('a FULL job run by hand (phase 1 and the in-process phase 2) goes through the proxy over TLS; the hot-site holds the SET and its archive copy; the proxy password is in no output, log or record', async () => {
    const machine = tempDir();
    const sample = await generateSampleCommServe({ dir: join(machine, 'commserve'), sizeBytes: 2 * 1024 * 1024, seed: 11 });
    const config = join(machine, 'commserve-dr.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        Database: { engine: 'sqlite', path: sample.dbPath },
        Registry: { store: 'file-hive', hiveFile: join(machine, 'commserve', 'registry', 'commserv_hive.reg') },
        FirewallDirectory: join(machine, 'commserve', 'firewall'),
        Phase1Destination: join(machine, 'dr'),
        StateDirectory: join(machine, 'state'),
        HotSite: { bucket: BUCKET, region: 'us-east-1', endpoint: moto.endpoint },
        PublishMetrics: false,
      }),
    );

    const r = await run([join(ROOT, 'bin', 'commserve-dr.js'), '--config', config, '--json', 'backup', '--type', 'full'], { HTTPS_PROXY: proxyUrl() }, machine);

    expect({ code: r.code, status: (JSON.parse(r.out) as { status: string }).status }).toEqual({ code: 0, status: 'Completed' });
    expect(r.seen.length).toBeGreaterThan(0);
    expect(new Set(r.seen.map((s) => `${s.method} ${s.target} ${s.authorised}`))).toEqual(new Set([`CONNECT localhost:${moto.port} true`]));
    const set = setName(1);
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => o.Key) ?? [];
    expect(keys).toEqual(expect.arrayContaining([`sets/${set}/manifest.json`, `archive/${set}/manifest.json`, jobRecordKey(1)]));
    for (const file of [...filesUnder(join(machine, 'dr')), ...filesUnder(join(machine, 'state'))]) {
      expect({ file, leaked: readFileSync(file).includes(PASSWORD) }).toEqual({ file, leaked: false });
    }
    expect(`${r.out}${r.err}`).not.toContain(PASSWORD);
  });
});
