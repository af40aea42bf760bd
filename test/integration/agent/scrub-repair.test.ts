/**
 * Scrub and repair of the hot-site (issue 16 items 3 and 5), against real SQLite, the file hive and moto: an object
 * deleted or one byte changed at the hot-site is repaired by the next job from the local copy, or from the archive copy
 * when the local one is gone; a DIFFERENTIAL is never taken on a FULL with no intact copy; a SET committed without a
 * job record gets its phase 2 finished and a record.
 */
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseManifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { makeArchiveSetHandler } from '#lambdas/archive-set';
import { finishHalfFinishedSets, halfFinishedEvents } from '#agent/upkeep/half-finished';
import { CreateStateMachineCommand, DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { setName } from '#core/set-id';
import { readHistory } from '#agent/history/history';
import { scrubHotSite, SCRUB_STATE_KEY } from '#agent/hotsite/scrub';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';
import { copyFileSync } from 'node:fs';
import { exec } from '#agent/cli';
import { capture } from '../../support/cli';

const BUCKET = 'scrub-hot-site';
const logger = createLogger({ level: 'silent' });
const DUMP = 'sets/SET_0000001/commserv_FULL.dmp';

describe('hot-site scrub and repair (real SQLite, file hive, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  let sampleDir: string;

  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 2 * MiB, seed: 5 });
  });

  async function settingsFor(cwd: string, overrides: Record<string, unknown> = {}): Promise<Settings> {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET })).catch(() => undefined);
    const db = join(cwd, 'commserv.db');
    copyFileSync(join(sampleDir, 'commserv.db'), db);
    return parseSettings(
      {
        Database: { engine: 'sqlite', path: db },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: moto.endpoint() },
        PublishMetrics: false,
        ...overrides,
      },
      'test',
    );
  }

  const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const hotSiteBytes = async (key: string) => Buffer.from(await (await motoS3Client().send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
  /** Replaces an object with the same bytes but one changed (same size: only the checksum tells). */
  async function flipOneByte(key: string): Promise<void> {
    const bytes = await hotSiteBytes(key);
    bytes[bytes.length >> 1] ^= 0xff;
    await motoS3Client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes, ChecksumAlgorithm: 'SHA256' }));
  }
  const manifestOf = (cwd: string, set: string) => parseManifest(readFileSync(join(cwd, 'dr', set, 'manifest.json')));

  it('an object deleted at the hot-site is put back by the next job from the local copy (found from the listing, whatever the budget)', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { ScrubRequestsPerJob: 0 });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const dumpEntry = manifestOf(cwd, 'SET_0000001').files[0];
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: DUMP }));

    const next = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });

    expect(next.status).toBe('Completed');
    expect(next.events.find((e) => e.code === 'HOTSITE_REPAIRED')?.message).toBe('SET_0000001/commserv_FULL.dmp missing at the hot-site: repaired from the local copy');
    expect(sha256(await hotSiteBytes(DUMP))).toBe(dumpEntry.sha256);
  });

  it('one byte changed at the hot-site is found by the checksum check and repaired from the local copy; the check state is kept locally and at the hot-site', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const dumpEntry = manifestOf(cwd, 'SET_0000001').files[0];
    await flipOneByte(DUMP);
    expect(sha256(await hotSiteBytes(DUMP))).not.toBe(dumpEntry.sha256);

    const next = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });

    expect(next.status).toBe('Completed');
    const repaired = next.events.filter((e) => e.code === 'HOTSITE_REPAIRED').map((e) => e.message);
    expect(repaired).toEqual([expect.stringMatching(/^SET_0000001\/commserv_FULL\.dmp has SHA-256 checksum \S+ at S3, the manifest says \S+ at the hot-site: repaired from the local copy$/)]);
    expect(sha256(await hotSiteBytes(DUMP))).toBe(dumpEntry.sha256);
    const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: DUMP, ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(Buffer.from(dumpEntry.sha256, 'hex').toString('base64'));
    const local = JSON.parse(readFileSync(join(cwd, 'state', 'scrub.json'), 'utf8'));
    const remote = JSON.parse((await hotSiteBytes(SCRUB_STATE_KEY)).toString('utf8'));
    expect(local.sets.SET_0000001.verdict).toBe('repaired');
    expect(remote).toEqual(local);
    expect(next.events.find((e) => e.code === 'SCRUB')?.message).toMatch(/^hot-site scrub: 1 kept SET\(s\) listed; checksums of 1 checked \(SET_0000001\), 0 left for later jobs; \d+ request\(s\) \(budget 150\); 1 object\(s\) damaged or missing, 1 repaired, 0 not repaired$/);
  });

  it('with the local copy gone, a damaged object is copied back from the archive (restored first from GLACIER)', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    const p1 = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await makeArchiveSetHandler({ s3: motoS3Client(), bucket: BUCKET, storageClass: 'GLACIER' })({ backupType: 'FULL', phase1: p1 });
    const dumpEntry = manifestOf(cwd, 'SET_0000001').files[0];
    rmSync(join(cwd, 'dr', 'SET_0000001'), { recursive: true });
    await flipOneByte(DUMP);

    const report = await scrubHotSite({ s3: motoS3Client(), bucket: BUCKET, phase1Destination: settings.Phase1Destination, stateDirectory: settings.StateDirectory, budget: 150 });

    expect(report.findings).toEqual([
      expect.objectContaining({ setName: 'SET_0000001', file: 'commserv_FULL.dmp', foundBy: 'head', outcome: { repaired: true, from: 'archive' } }),
    ]);
    expect(sha256(await hotSiteBytes(DUMP))).toBe(dumpEntry.sha256);
    const head = await motoS3Client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: DUMP }));
    expect(head.StorageClass ?? 'STANDARD').toBe('STANDARD');
  });

  it('a hot-site that refuses state/scrub.json (no grant yet): the scrub still finds and repairs, and says the shared state is behind', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await flipOneByte(DUMP);
    const s3 = motoS3Client();
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if ((args.input as { Key?: string }).Key === SCRUB_STATE_KEY) throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
        return next(args);
      },
      { step: 'initialize', name: 'denyScrubState' },
    );

    const report = await scrubHotSite({ s3, bucket: BUCKET, phase1Destination: settings.Phase1Destination, stateDirectory: settings.StateDirectory, budget: 150 });

    expect(report.findings.map((f) => [f.file, f.outcome])).toEqual([['commserv_FULL.dmp', { repaired: true, from: 'local' }]]);
    expect(report.events.filter((e) => e.code === 'SCRUB_STATE').map((e) => e.message)).toEqual([
      expect.stringMatching(/^scrub check state: hot-site refused to read state\/scrub\.json .*AccessDenied/),
      expect.stringMatching(/^scrub check state: hot-site refused to write state\/scrub\.json .*AccessDenied/),
    ]);
    expect(JSON.parse(readFileSync(join(cwd, 'state', 'scrub.json'), 'utf8')).sets.SET_0000001.verdict).toBe('repaired');
  });

  it('nothing intact anywhere: the object stays damaged, the job ends Completed With One or More Errors naming it', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await motoS3Client().send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sets/SET_0000001/commserv_hive.reg' }));
    rmSync(join(cwd, 'dr', 'SET_0000001', 'commserv_hive.reg'));

    const next = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });

    expect(next.status).toBe('Completed With One or More Errors');
    const damaged = next.events.filter((e) => e.code === 'HOTSITE_DAMAGED').map((e) => e.message);
    expect(damaged).toEqual([expect.stringMatching(/^SET_0000001\/commserv_hive\.reg missing at the hot-site and could not be repaired: versions: no earlier version of the object; local copy: .*does not exist; archive copy: archive\/SET_0000001\/commserv_hive\.reg does not exist$/)]);
  });

  it('the next DIFFERENTIAL after a damaged FULL: repaired first, then the DIFFERENTIAL is taken on it', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { ScrubRequestsPerJob: 0 });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await flipOneByte(DUMP);
    mutateSampleCommServe((settings.Database as { path: string }).path, { fraction: 0.01, seed: 2 });

    const diff = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });

    expect(diff).toMatchObject({ backupType: 'DIFFERENTIAL', cycleId: 1, status: 'Completed' });
    expect(diff.events.map((e) => e.code)).toContain('HOTSITE_REPAIRED');
    expect(sha256(await hotSiteBytes(DUMP))).toBe(manifestOf(cwd, 'SET_0000001').files[0].sha256);
  });

  it('the next DIFFERENTIAL after a FULL with no intact copy: promoted to FULL, saying why', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { ScrubRequestsPerJob: 0 });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await flipOneByte(DUMP);
    const localDump = join(cwd, 'dr', 'SET_0000001', 'commserv_FULL.dmp');
    const bytes = readFileSync(localDump);
    bytes[100] ^= 0xff;
    writeFileSync(localDump, bytes);

    const next = await runPhase1({ settings, requestedType: 'DIFFERENTIAL', s3: motoS3Client(), logger });

    expect(next).toMatchObject({ backupType: 'FULL', requestedType: 'DIFFERENTIAL', jobId: 2, cycleId: 2, status: 'Completed With One or More Errors' });
    const promoted = next.events.find((e) => e.code === 'PROMOTED_TO_FULL')!.message;
    expect(promoted).toMatch(/^DIFFERENTIAL promoted to FULL: the cycle's FULL SET_0000001 is damaged at the hot-site and could not be repaired from any copy \(commserv_FULL\.dmp has SHA-256 checksum .*\): no intact copy to base a DIFFERENTIAL on$/);
    expect(manifestOf(cwd, 'SET_0000002').promotion).toEqual({ requested: 'DIFFERENTIAL', reason: promoted.replace('DIFFERENTIAL promoted to FULL: ', '') });
  });

  it('verify --repair SET_0000001: the changed object is repaired from the local copy before the trial restore, which then passes', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd);
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    await flipOneByte(DUMP);
    const configFile = join(cwd, 'commserve-dr.config.json');
    writeFileSync(configFile, JSON.stringify({ ...settings, ScrubRequestsPerJob: 0 }));
    const io = capture(cwd);

    const code = await exec(['--config', configFile, '--log-format', 'json', 'verify', '--repair', 'SET_0000001'], io);

    expect(io.err()).toMatch(/warning: SET_0000001\/commserv_FULL\.dmp has SHA-256 checksum \S+ at S3, the manifest says \S+ at the hot-site: repaired from the local copy\n/);
    expect(code).toBe(0);
    expect(sha256(await hotSiteBytes(DUMP))).toBe(manifestOf(cwd, 'SET_0000001').files[0].sha256);
  });

  it('a SET committed at the hot-site without a job record or archive copy: phase 2 finished and recorded Completed With One or More Errors with the reason', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { ArchiveRetryCount: 0 });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const later = () => new Date(Date.now() + 2 * 3600_000);

    const tooEarly = await finishHalfFinishedSets({ s3: motoS3Client(), settings, logger, committed: [1], byJob: 'job SET_0000002' });
    expect(tooEarly).toEqual([]);
    const finished = await finishHalfFinishedSets({ s3: motoS3Client(), settings, logger, committed: [1], byJob: 'job SET_0000002', now: later });

    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ setName: 'SET_0000001', reason: 'its job left no job record and no archive copy (interrupted after the hot-site commit)' });
    expect(finished[0].record).toMatchObject({ jobId: 1, status: 'Completed With One or More Errors', phase2: 'archived', copies: { archive: `s3://${BUCKET}/archive/SET_0000001/` } });
    const local = readHistory(settings.Phase1Destination);
    expect(local.map((r) => [r.jobId, r.status])).toEqual([[1, 'Completed With One or More Errors']]);
    expect(local[0].events.find((e) => e.code === 'JOB_NOT_FINISHED')?.message).toBe(
      'SET_0000001 was committed at the hot-site but its job left no job record and no archive copy (interrupted after the hot-site commit); phase 2 finished by job SET_0000002',
    );
    const archived = await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/SET_0000001/' }));
    expect(archived.Contents?.map((o) => o.Key)).toContain('archive/SET_0000001/manifest.json');
    expect(JSON.parse((await hotSiteBytes('jobs/001.json')).toString('utf8'))).toEqual(local[0]);
    // Finished once: the next job finds nothing to do.
    expect(await finishHalfFinishedSets({ s3: motoS3Client(), settings, logger, committed: [1], now: later })).toEqual([]);
  });

  it('in AWS (StateMachineArn set): the half-finished SET goes to the DR job state machine (moto Step Functions) once, named after the SET; a later job is told it exists; the agent writes nothing under archive/', async () => {
    const cwd = tempDir();
    const sfn = new SFNClient({ endpoint: moto.endpoint(), region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({ name: 'DrJob', roleArn: 'arn:aws:iam::123456789012:role/sfn', definition: JSON.stringify({ StartAt: 'Done', States: { Done: { Type: 'Succeed' } } }) }),
    );
    const settings = await settingsFor(cwd, { ArchiveRetryCount: 0, StateMachineArn: stateMachineArn });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const later = () => new Date(Date.now() + 2 * 3600_000);
    const set = setName(1);

    const finished = await finishHalfFinishedSets({ s3: motoS3Client(), settings, logger, committed: [1], byJob: `job ${setName(2)}`, now: later });

    const executionArn = `${stateMachineArn!.replace(':stateMachine:', ':execution:')}:finish-phase2-${set}`;
    expect(finished).toEqual([
      { setName: set, reason: 'its job left no job record and no archive copy (interrupted after the hot-site commit)', record: null, execution: { arn: executionArn, alreadyStarted: false } },
    ]);
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const input = JSON.parse(execution.input!) as { backupType: string; phase1: { setName: string; jobId: number; status: string; events: Array<{ code: string; message: string }> } };
    expect(input).toMatchObject({ backupType: 'FULL', phase1: { setName: set, jobId: 1, status: 'Completed With One or More Errors' } });
    expect(input.phase1.events.find((e) => e.code === 'JOB_NOT_FINISHED')?.message).toBe(
      `${set} was committed at the hot-site but its job left no job record and no archive copy (interrupted after the hot-site commit); phase 2 finished by the DR job state machine, started by job ${setName(2)}`,
    );
    expect(halfFinishedEvents(finished, 'T')[0]).toEqual({
      time: 'T',
      level: 'warning',
      code: 'HALF_FINISHED_JOB',
      message: `${set}: its job left no job record and no archive copy (interrupted after the hot-site commit); its phase 2 was started on the DR job state machine (${executionArn}), which records it Completed With One or More Errors when it ends`,
    });
    // Nothing archived or recorded by the agent: that is the state machine's Lambdas' work.
    expect((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/' }))).KeyCount).toBe(0);
    expect(readHistory(settings.Phase1Destination)).toEqual([]);

    // The execution ended without archiving it (here: a definition that does nothing): the next job does not start a second one.
    const again = await finishHalfFinishedSets({ s3: motoS3Client(), settings, logger, committed: [1], byJob: `job ${setName(3)}`, now: later });
    expect(again).toEqual([{ setName: set, reason: expect.any(String), record: null, execution: { arn: executionArn, alreadyStarted: true } }]);
    expect(halfFinishedEvents(again, 'T')[0]).toMatchObject({ level: 'error', message: expect.stringContaining(`an earlier job started its phase 2 on the DR job state machine (${executionArn}) and it has not archived and recorded the SET`) });
    expect((await sfn.send(new ListExecutionsCommand({ stateMachineArn }))).executions?.map((e) => e.name)).toEqual([`finish-phase2-${set}`]);
  });

  it('in AWS without StateMachineArn: the half-finished SET is not finished, and the reason names the setting', async () => {
    const cwd = tempDir();
    const settings = await settingsFor(cwd, { ArchiveRetryCount: 0 });
    await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    const inAws = { ...settings, HotSite: { ...settings.HotSite, endpoint: undefined } };

    const finished = await finishHalfFinishedSets({ s3: motoS3Client(), settings: inAws, logger, committed: [1], now: () => new Date(Date.now() + 2 * 3600_000) });

    expect(finished).toEqual([{ setName: setName(1), reason: expect.any(String), record: null, error: expect.stringMatching(/^StateMachineArn is not set: /) }]);
    expect((await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'archive/' }))).KeyCount).toBe(0);
  });
});
