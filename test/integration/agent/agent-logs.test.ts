/**
 * Agent logs in the SET (SPEC §4.2 step 8, issue 16 item 6): the job's own log and the CommServe's rotated logs, with
 * SHA-256s in the manifest that match the files locally and at the hot-site; bounded by AgentLogMaxBytes; never
 * restored by default. Real SQLite, file hive, moto.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { isRotatedLogName, JOB_LOG_FILE } from '#agent/commands/backup/agent-logs';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'agent-logs-hot-site';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('agent logs in the SET (real SQLite, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;

  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 2 * MiB, seed: 5 });
  });

  /** A CommServe log directory: active logs, rotated ones of known ages and sizes, and a sub-folder. */
  function logDirectory(): string {
    const dir = tempDir();
    const write = (name: string, bytes: number, ageHours: number) => {
      writeFileSync(join(dir, name), Buffer.alloc(bytes, name.charCodeAt(0)));
      const t = new Date(Date.now() - ageHours * 3_600_000);
      utimesSync(join(dir, name), t, t);
    };
    write('CVD.log', 5_000, 0); // active: never taken
    write('EvMgrS.log', 5_000, 0); // active
    write('CVD_1.log', 40_000, 1);
    write('EvMgrS.log.1', 30_000, 2);
    write('JobManager.2.log', 20_000, 3);
    write('CVD_2.log.gz', 10_000, 4);
    write('CVD_3.log', 60_000, 30); // oldest: does not fit the budget
    mkdirSync(join(dir, 'archive'));
    writeFileSync(join(dir, 'archive', 'CVD_9.log'), 'in a sub-folder: not taken');
    return dir;
  }

  async function settingsFor(cwd: string, overrides: Record<string, unknown>): Promise<Settings> {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: join(sampleDir, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        ...overrides,
      },
      'test',
    );
  }

  it('tells rotated (non-active) log names from active ones', () => {
    expect(['CVD_1.log', 'CVD.log.1', 'JobManager.2.log', 'CVD_2.log.gz', 'old.bz2'].filter(isRotatedLogName)).toHaveLength(5);
    expect(['CVD.log', 'EvMgrS.log', 'install.txt', 'CVD_1.log.tmp'].filter(isRotatedLogName)).toEqual([]);
  });

  it('the job log and the newest rotated logs within AgentLogMaxBytes, with SHA-256s that match locally and at the hot-site', async () => {
    const cwd = tempDir();
    const logs = logDirectory();
    const maxBytes = 150_000;
    const settings = await settingsFor(cwd, { AgentLogDirectory: logs, AgentLogMaxBytes: maxBytes });
    const result = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger: createLogger({ level: 'silent' }) });
    expect(result.status).toBe('Completed');
    const setDir = join(cwd, 'dr', 'SET_0000001');
    const manifest = parseManifest(readFileSync(join(setDir, 'manifest.json')));
    const logFiles = manifest.files.filter((f) => f.role === 'log');
    expect(logFiles.map((f) => f.name)).toEqual([JOB_LOG_FILE, 'log.CVD_1.log', 'log.EvMgrS.log.1', 'log.JobManager.2.log', 'log.CVD_2.log.gz']);
    // Bounded: the job log and the rotated logs together stay within AgentLogMaxBytes; the oldest did not fit and is named.
    expect(logFiles.reduce((sum, f) => sum + f.size, 0)).toBeLessThanOrEqual(maxBytes);
    expect(manifest.events.find((e) => e.code === 'AGENT_LOGS_TRUNCATED')?.message).toMatch(/^1 older rotated log\(s\) of .* not in the SET: AgentLogMaxBytes \(150000 bytes, the job log included\) reached \(e\.g\. CVD_3\.log\)$/);
    for (const f of logFiles) {
      const local = readFileSync(join(setDir, f.name));
      expect({ name: f.name, size: local.length, sha256: sha256(local) }).toEqual({ name: f.name, size: f.size, sha256: f.sha256 });
      const object = await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: `sets/SET_0000001/${f.name}` }));
      expect(sha256(Buffer.from(await object.Body!.transformToByteArray()))).toBe(f.sha256);
    }
    // The rotated logs are the CommServe's bytes; the job log holds this job's own lines (info and above).
    expect(readFileSync(join(setDir, 'log.CVD_1.log')).equals(readFileSync(join(logs, 'CVD_1.log')))).toBe(true);
    const jobLog = readFileSync(join(setDir, JOB_LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; jobId?: number });
    expect(jobLog.map((l) => l.msg)).toContain('DR backup job started');
    expect(jobLog.find((l) => l.msg === 'DR backup job started')?.jobId).toBe(1);
  });

  it('without AgentLogDirectory only the job log; recover does not restore agent logs by default', async () => {
    const cwd = tempDir();
    writeFileSync(
      join(cwd, 'commserve-dr.config.json'),
      JSON.stringify({
        Database: { engine: 'sqlite', path: join(sampleDir, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: 'dr',
        StateDirectory: 'state',
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        AgentLogDirectory: logDirectory(),
      }),
    );
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    expect(await exec(['start', '--s3-endpoint', moto.endpoint()], capture(cwd))).toBe(0);
    const manifest = parseManifest(readFileSync(join(cwd, 'dr', 'SET_0000001', 'manifest.json')));
    expect(manifest.files.filter((f) => f.role === 'log').length).toBe(6);
    const target = tempDir();
    expect(await exec(['recover', '--to', target], capture(cwd))).toBe(0);
    const everything = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? everything(join(dir, e.name)) : [e.name]));
    expect(everything(target).filter((n) => n === JOB_LOG_FILE || n.startsWith('log.'))).toEqual([]);

    const bare = tempDir();
    const settings = await settingsFor(bare, {});
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger: createLogger({ level: 'silent' }) });
    const bareManifest = parseManifest(readFileSync(join(bare, 'dr', 'SET_0000002', 'manifest.json')));
    expect(bareManifest.files.filter((f) => f.role === 'log').map((f) => f.name)).toEqual([JOB_LOG_FILE]);
  });
});
