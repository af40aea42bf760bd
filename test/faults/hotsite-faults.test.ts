/**
 * Hot-site faults (issue 8, part 6): faults injected between the agent and a real moto server by a small
 * HTTP proxy on 127.0.0.1 (test/faults/support/fault-proxy.ts) — the endpoint stops mid-upload (the proxy
 * stops listening, or moto itself is killed), answers 500/503, or is slow — and an object changed at the
 * hot-site after upload. Each job is a real DR job (in-process CLI `start`, real SQLite, the synthesized state
 * machine run locally, moto). Every test adds a row (fault, expected, observed, data lost) to the table
 * printed at the end and written to `.cache/faults-hotsite-report.md`.
 *
 * This file starts its own moto server (so it can kill it) and its own proxy; both listen on 127.0.0.1 only
 * and are stopped in afterAll (the proxy's server is unref'ed, moto is SIGTERM'ed then SIGKILL'ed).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { reportFaultTable, type FaultRow } from './support/fault-table';
import { exec } from '#agent/cli';
import { loadConfig } from '#agent/config';
import { createLogger } from '#agent/log';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createHotSiteClient, ensureBucket, listHotSiteSets } from '#agent/hotsite/hot-site';
import { executeDrJobLocally } from '#agent/local/local-state-machine';
import { startMotoServer, type MotoServer } from '#agent/local/moto-server';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { parseManifest } from '#core/manifest';
import { BackupType } from '#core/set-id';
import { capture } from '../support/cli';
import { tableDigests } from '../support/sqlite';
import { useTempDirs } from '../support/tmp';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from './support/fault-proxy';

const BUCKET = 'commserve-dr-hot-site';
/** A sample CommServe whose FULL dump (~24 MB) is a multipart upload of several 8 MiB parts. */
const SAMPLE_MB = 24;

const rows: FaultRow[] = [];

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

describe('hot-site faults (fault-injecting proxy in front of a real moto server)', () => {
  const tempDir = useTempDirs('commserve-dr-hotsite-faults-');
  let moto: MotoServer;
  let proxy: FaultProxy;
  /** A generated sample CommServe (`.commserve-dr/sample`), copied into each test's working directory. */
  let template: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    proxy = await startFaultProxy(moto.endpoint);
    template = tempDir();
    await generateSampleCommServe({ dir: join(template, '.commserve-dr', 'sample'), sizeBytes: SAMPLE_MB * 1024 * 1024 });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
    reportFaultTable('Hot-site fault results', 'faults-hotsite-report.md', rows);
  });

  beforeEach(async () => {
    proxy.setRule(() => ({ kind: 'pass' }));
    await proxy.listen();
    await moto.reset();
  });

  /** An S3 client straight to moto (not through the proxy): what the hot-site really holds. */
  const direct = () =>
    new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

  /** A working directory holding a copy of the sample CommServe and a config pointing at the proxy. */
  function workplace() {
    const cwd = tempDir();
    cpSync(join(template, '.commserve-dr'), join(cwd, '.commserve-dr'), { recursive: true });
    // Plain dumps: the faults target the parts of a multipart upload, and the sample's brotli-compressed dump (the
    // default) fits in one part.
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: BUCKET, endpoint: proxy.endpoint }, DumpCompression: 'none' }));
    const cli = async (args: string[]) => {
      const io = capture(cwd);
      const started = performance.now();
      const code = await exec(args, io);
      return { code, out: io.out(), err: io.err(), ms: Math.round(performance.now() - started) };
    };
    const start = (...extra: string[]) => cli(['start', '--type', 'full', '--sample-size-mb', String(SAMPLE_MB), '--s3-endpoint', proxy.endpoint, '--json', ...extra]);
    const destination = join(cwd, '.commserve-dr', 'dr-backups');
    return { cwd, cli, start, destination, db: join(cwd, '.commserve-dr', 'sample', 'commserv.db') };
  }

  /** Whether a SET on the phase-1 destination is complete: a valid manifest, every file present with its size and SHA-256. */
  function localSetComplete(setDir: string): { complete: boolean; files: number; detail: string } {
    const manifestPath = join(setDir, 'manifest.json');
    if (!existsSync(manifestPath)) return { complete: false, files: 0, detail: 'no manifest' };
    const manifest = parseManifest(readFileSync(manifestPath), manifestPath);
    for (const f of manifest.files) {
      const path = join(setDir, f.name);
      if (!existsSync(path)) return { complete: false, files: manifest.files.length, detail: `${f.name} missing` };
      const data = readFileSync(path);
      if (data.length !== f.size || createHash('sha256').update(data).digest('hex') !== f.sha256) {
        return { complete: false, files: manifest.files.length, detail: `${f.name} differs from the manifest` };
      }
    }
    return { complete: true, files: manifest.files.length, detail: 'every file matches the manifest' };
  }

  async function openUploads(s3: S3Client): Promise<string[]> {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'sets/' }));
    return (page.Uploads ?? []).map((u) => u.Key ?? '?');
  }

  /** The `commserve-dr:` lines a failed command printed on stderr (the one-line error). */
  const errorLines = (err: string) => err.split('\n').filter((l) => l.startsWith('commserve-dr:'));

  const isPart = (r: ProxiedRequest, n: number) => r.operation === 'UploadPart' && r.query.get('partNumber') === String(n);

  it.each([
    ['proxy', 'the endpoint stops listening mid-upload (proxy closes every connection at part 2 of the FULL dump) and comes back'],
    ['moto', 'moto is killed mid-upload (at part 2 of the FULL dump) and restarted empty'],
  ] as const)(
    'endpoint stops mid-upload (%s): the local SET is committed, the job ends Completed With One or More Errors (exit 3) naming the failed upload, no complete-looking SET at the hot-site, the next job re-fills and succeeds',
    async (how, fault) => {
      const w = workplace();
      let stopped = false;
      let motoStopped: Promise<void> | undefined;
      proxy.setRule((r) => {
        if (!isPart(r, 2) && !stopped) return { kind: 'pass' };
        if (how === 'proxy') {
          stopped = true;
          return { kind: 'cut', stopListening: true };
        }
        // Kill moto while part 2 is held; then every request meets a dead upstream (the connection is cut).
        stopped = true;
        motoStopped ??= moto.stop();
        return { kind: 'hold', until: motoStopped };
      });

      const failed = await w.start();
      expect(failed.code).toBe(3);
      expect(errorLines(failed.err)).toEqual([]);
      const failedRecord = JSON.parse(failed.out).record;
      expect(failedRecord).toMatchObject({ jobId: 1, status: 'Completed With One or More Errors', phase2: 'not-run', copies: { phase1Destination: join(w.destination, 'SET_0000001'), hotSite: null } });
      const uploadEvent = failedRecord.events.find((e: { code: string }) => e.code === 'HOTSITE_UPLOAD_FAILED');
      // The event names the failed upload itself.
      expect(uploadEvent.message).toMatch(/hot-site.*upload SET_0000001\/commserv_FULL\.dmp \(bucket commserve-dr-hot-site\).*: the SET is committed in the phase-1 destination only; the next job re-fills the hot-site$/);
      const lines = [uploadEvent.message as string];

      // The hot-site holds nothing that looks complete (seen from moto itself, or nothing at all once moto is dead).
      let hotSiteComplete: string[] = [];
      let leftoverUploads: string[] = [];
      if (how === 'proxy') {
        hotSiteComplete = (await listHotSiteSets(direct(), BUCKET)).filter((s) => s.complete).map((s) => s.setName);
        leftoverUploads = await openUploads(direct());
      }
      expect(hotSiteComplete).toEqual([]);
      // The local SET was committed (manifest written before the upload) and is complete.
      const local = localSetComplete(join(w.destination, 'SET_0000001'));
      expect(local).toMatchObject({ complete: true });
      const dumped = tableDigests(w.db);

      // The endpoint comes back.
      if (how === 'proxy') {
        await proxy.listen();
      } else {
        moto = await startMotoServer();
        proxy.setTarget(moto.endpoint);
      }
      proxy.setRule(() => ({ kind: 'pass' }));
      const next = await w.start();
      expect(next.code).toBe(0);
      const result = JSON.parse(next.out);
      expect(result.record).toMatchObject({ jobId: 2, status: 'Completed' });
      expect(result.refill.uploaded).toEqual(['SET_0000001']);
      const sets = await listHotSiteSets(direct(), BUCKET);
      expect(sets.filter((s) => s.complete).map((s) => s.setName)).toEqual(['SET_0000001', 'SET_0000002']);
      expect(await openUploads(direct())).toEqual([]);
      // Data lost is measured: the re-filled SET_0000001 restores to the database as it was dumped.
      const target = tempDir();
      const recovered = await w.cli(['recover', '--to', target, '--set', 'SET_0000001']);
      expect(recovered.code).toBe(0);
      expect(tableDigests(join(target, 'commserv.db'))).toEqual(dumped);

      rows.push({
        fault,
        expected: 'local SET committed; job Completed With One or More Errors (exit 3) naming the failed upload; no complete SET at the hot-site; next job re-fills and is Completed',
        observed:
          `exit ${failed.code} after ${seconds(failed.ms)}: "${lines[0].replace(/\|/g, '\\|')}"; complete SETs at the hot-site: ${hotSiteComplete.length === 0 ? 'none' : hotSiteComplete.join(', ')}` +
          `${how === 'proxy' ? `, ${leftoverUploads.length} open multipart upload(s)` : ' (moto dead)'}; local SET_0000001 complete (${local.files} files); ` +
          `next job: refill uploaded ${result.refill.uploaded.join(', ')}, job 2 ${result.record.status}, 0 open uploads; recover SET_0000001 equal to the source`,
        dataLost: 'none',
      });
    },
    60_000,
  );

  it('the endpoint answers 500/503 to a few requests: retries with backoff carry the upload through, the job is Completed and validated', async () => {
    const w = workplace();
    // Failures answered by the proxy itself (moto never sees these requests), per request kind and attempt.
    const plan: Array<{ match: (r: ProxiedRequest) => boolean; statuses: Array<500 | 503>; what: string }> = [
      // Three failures in a row exhaust the SDK's 3 attempts: only the uploader's own part retry gets it through.
      { match: (r) => isPart(r, 1), statuses: [500, 503, 500], what: 'UploadPart 1 (500, 503, 500)' },
      { match: (r) => isPart(r, 2), statuses: [503], what: 'UploadPart 2 (503)' },
      { match: (r) => r.operation === 'CompleteMultipartUpload', statuses: [500], what: 'CompleteMultipartUpload (500)' },
      { match: (r) => r.operation === 'PutObject' && r.path.endsWith('/manifest.json'), statuses: [503, 500], what: 'PutObject manifest.json (503, 500)' },
      { match: (r) => r.operation === 'HeadObject' && r.path.includes('/sets/'), statuses: [500], what: 'HeadObject in ValidateSet (500)' },
    ];
    const seen = plan.map(() => 0);
    let injected = 0;
    proxy.setRule((r) => {
      const i = plan.findIndex((p) => p.match(r));
      if (i < 0) return { kind: 'pass' };
      const status = plan[i].statuses[seen[i]++];
      if (status === undefined) return { kind: 'pass' };
      injected++;
      return { kind: 'error', status };
    });
    const job = await w.start();
    expect(errorLines(job.err)).toEqual([]);
    expect(job.code).toBe(0);
    const result = JSON.parse(job.out);
    expect(result.record).toMatchObject({ jobId: 1, status: 'Completed' });
    // Every fault planned was met.
    expect(plan.map((p, i) => seen[i] >= p.statuses.length)).toEqual(plan.map(() => true));
    // ValidateSet ran and passed (every file's size and SHA-256 checked against the manifest), then the archive copy.
    expect(result.durationsMs.ValidateSet).toBeGreaterThanOrEqual(0);
    expect(result.record.phase2).toBe('archived');
    const sets = await listHotSiteSets(direct(), BUCKET);
    expect(sets.map((s) => [s.setName, s.complete])).toEqual([['SET_0000001', true]]);
    expect(await openUploads(direct())).toEqual([]);
    const archived = await direct().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/SET_0000001/' }));
    expect(archived.KeyCount).toBeGreaterThan(0);
    rows.push({
      fault: `the endpoint answers 500/503 to ${injected} requests: ${plan.map((p) => p.what).join('; ')}`,
      expected: 'SDK retries (maxAttempts 3) plus the uploader’s own part retry (3 × backoff 0.5 s, 1 s) carry it through; job Completed; checksums validated',
      observed: `job 1 ${result.record.status} in ${seconds(job.ms)}; ${injected} error answers, every one retried; SET_0000001 complete at the hot-site, 0 open uploads, ValidateSet passed (checksums), archived (${archived.KeyCount} objects)`,
      dataLost: 'none',
    });
  });

  it('a slow endpoint (every request delayed 200 ms): the job is Completed, no timeouts', async () => {
    const w = workplace();
    const delayMs = 200;
    proxy.setRule(() => ({ kind: 'delay', ms: delayMs }));
    const before = proxy.log.length;
    const job = await w.start();
    expect(job.code).toBe(0);
    const result = JSON.parse(job.out);
    expect(result.record).toMatchObject({ jobId: 1, status: 'Completed' });
    const requests = proxy.log.slice(before);
    expect(requests.every((e) => e.action === 'delay')).toBe(true);
    // Nothing timed out and was sent again: each part of the FULL dump went exactly once.
    const parts = requests.filter((e) => e.operation === 'UploadPart').length;
    const dump = parseManifest(readFileSync(join(w.cwd, '.commserve-dr', 'dr-backups', 'SET_0000001', 'manifest.json'))).files.find((f) => f.role === 'database')!;
    const planned = Math.ceil(dump.size / dump.s3!.partSize);
    expect(planned).toBeGreaterThan(1);
    expect(parts).toBe(planned);
    rows.push({
      fault: `a slow endpoint (every request delayed ${delayMs} ms)`,
      expected: 'job Completed, no timeouts',
      observed: `job 1 ${result.record.status} in ${seconds(job.ms)} wall time over ${requests.length} delayed requests (≥ ${seconds(requests.length * delayMs)} of added delay, some in parallel); ${parts} UploadPart requests for ${planned} parts: no timeouts, nothing re-sent`,
      dataLost: 'none',
    });
  });

  it('an object changed at the hot-site after upload (same size, different bytes): ValidateSet fails, the job is Failed, nothing is archived', async () => {
    const w = workplace();
    const { settings: loaded } = loadConfig(undefined, w.cwd);
    const settings = { ...loaded, HotSite: { ...loaded.HotSite, endpoint: moto.endpoint } };
    const s3 = createHotSiteClient(settings.HotSite);
    await ensureBucket(s3, BUCKET);
    const logger = createLogger({ level: 'silent' });
    const phase1 = await runPhase1({ settings, requestedType: BackupType.Full, s3, logger });
    expect(phase1.status).toBe('Completed');
    // Overwrite the FULL dump at the hot-site with bytes of the same size, one byte flipped in the middle.
    const dumpPath = join(w.destination, phase1.setName, 'commserv_FULL.dmp');
    const bytes = readFileSync(dumpPath);
    bytes[bytes.length >> 1] ^= 0xff;
    const key = `${phase1.setPrefix}commserv_FULL.dmp`.replace(/\/\//g, '/');
    await direct().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, ChecksumAlgorithm: 'SHA256' }));

    const execution = await executeDrJobLocally({ input: { backupType: BackupType.Full, phase1 }, s3, settings });
    expect(execution.record.status).toBe('Failed');
    expect(execution.statesEntered).not.toContain('ArchiveSet');
    const message = JSON.stringify(execution.record);
    expect(message).toMatch(/CHECKSUM_MISMATCH|changed after upload|content differs/);
    const archived = await direct().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/' }));
    expect(archived.KeyCount ?? 0).toBe(0);
    const local = localSetComplete(join(w.destination, phase1.setName));
    expect(local.complete).toBe(true);
    const error = [...execution.record.events].reverse().find((e) => e.level === 'error');
    rows.push({
      fault: 'an object changed at the hot-site after upload (commserv_FULL.dmp overwritten with the same size, one byte flipped)',
      expected: 'ValidateSet fails; job Failed; nothing archived',
      observed: `job ${execution.record.status}; states: ${execution.statesEntered.join(' → ')}; "${error?.message ?? ''}"; 0 objects under archive/`,
      dataLost: `none (the phase-1 copy of ${phase1.setName} is intact: ${local.detail})`,
    });
  });
});

