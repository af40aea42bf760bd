/**
 * `commserve-dr doctor` against the local moto stack (issue 22 item 6): what passes, what fails (with the path or
 * endpoint and the reason), and the exit code — 0 only when a scheduled job would succeed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { exec } from '#agent/cli';
import { loadEffectiveConfig } from '#agent/config';
import { DOCTOR_PROBE_PREFIX } from '#agent/commands/doctor/checks';
import { diskSpaceCheck, ssmAgentCheck } from '#agent/commands/doctor/local-checks';
import { formatDoctor, runDoctor, type DoctorCheck } from '#agent/commands/doctor/doctor';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { capture } from '../../support/cli';
import { motoEndpoint, motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';
import { FakeSqlServer } from '../../unit/engines/sqlserver/fake-sql-server';

const BUCKET = 'commserve-dr-doctor';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describe('commserve-dr doctor (local moto stack)', () => {
  useMoto();
  const tempDir = useTempDirs();

  /** A CommServe machine: sample database, hive, firewall files, config with absolute paths, settings in SSM. */
  async function machine(overrides: Record<string, unknown> = {}) {
    const dir = tempDir();
    const sample = await generateSampleCommServe({ dir: join(dir, 'commserve'), sizeBytes: 1024 * 1024, seed: 5 });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
    const ssm = new SSMClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials });
    await ssm.send(new PutParameterCommand({ Name: '/commserve-dr/doctor/RetainCycles', Value: '5', Type: 'String', Overwrite: true }));
    const sfn = new SFNClient({ endpoint: motoEndpoint(), region: 'us-east-1', credentials });
    const machineArn = (
      await sfn.send(new CreateStateMachineCommand({ name: 'DrJob', definition: '{"StartAt":"A","States":{"A":{"Type":"Succeed"}}}', roleArn: 'arn:aws:iam::123456789012:role/sfn' }))
    ).stateMachineArn!;
    const config = join(dir, 'commserve-dr.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        SettingsParameterPath: '/commserve-dr/doctor',
        Database: { engine: 'sqlite', path: sample.dbPath },
        Registry: { store: 'file-hive', hiveFile: join(dir, 'commserve', 'registry', 'commserv_hive.reg') },
        FirewallDirectory: join(dir, 'commserve', 'firewall'),
        Phase1Destination: join(dir, 'dr'),
        StateDirectory: join(dir, 'state'),
        HotSite: { bucket: BUCKET, region: 'us-east-1', endpoint: motoEndpoint() },
        StateMachineArn: machineArn,
        ...overrides,
      }),
    );
    return { dir, config, machineArn };
  }

  const byCheck = (checks: DoctorCheck[]) => Object.fromEntries(checks.map((c) => [c.check, c]));

  it('passes every check of a configured CommServe, skips what cannot be checked here, exit 0', async () => {
    const { dir, config } = await machine();
    const report = await runDoctor({ loadSettings: () => loadEffectiveConfig(config, join(dir, 'ssm-cwd'), {}), platform: 'linux', env: {} });
    const lines = byCheck(report.checks);
    expect(report.checks.map((c) => [c.check, c.verdict])).toEqual([
      ['settings', 'pass'],
      ['paths absolute', 'pass'],
      ['credentials', 'pass'],
      ['hot-site bucket', 'pass'],
      ['list sets/', 'pass'],
      ['stale uploads', 'pass'],
      ['read sets/', 'pass'],
      ['read jobs/', 'pass'],
      ['write state/ + KMS key', 'pass'],
      ['write sets/, jobs/', 'skip'],
      ['task callback, metrics', 'skip'],
      ['state machine', 'pass'],
      ['proxy', 'pass'],
      ['database', 'pass'],
      ['state directory', 'pass'],
      ['phase-1 destination', 'pass'],
      ['disk space for a FULL', 'pass'],
      ['registry', 'pass'],
      ['firewall files', 'pass'],
      ['SSM Agent', 'skip'],
    ]);
    expect(report.exitCode).toBe(0);
    expect(lines.settings.detail).toBe(`${config} (--config); SSM /commserve-dr/doctor/ (1 settings)`);
    expect(lines.credentials.detail).toMatch(/^arn:aws:(iam|sts)::123456789012:\S+ \(account 123456789012\)$/);
    expect(lines['hot-site bucket'].detail).toBe(`s3://${BUCKET} in us-east-1 reachable`);
    expect(lines['read jobs/'].detail).toBe('s3:GetObject on jobs/* allowed (HEAD of an absent key: 404, not 403)');
    expect(lines['state machine'].detail).toBe('DrJob ACTIVE');
    expect(lines.database.detail).toMatch(/^SQLite .*commserv\.db \(1\.\d MB, \d+ schema objects\) opens read-only$/);
    expect(lines['firewall files'].detail).toBe(`3 of 3 present in ${join(dir, 'commserve', 'firewall')}`);
    expect(lines['SSM Agent'].detail).toMatch(/^not Windows/);
    expect(lines.proxy.detail).toBe(`none: direct connections to ${new URL(motoEndpoint()).host}`);
    // The one object written, a new key in the agent's state/ area (create-only); nothing under sets/ or jobs/.
    const listed = await motoS3Client().send(new ListObjectsV2Command({ Bucket: BUCKET }));
    expect((listed.Contents ?? []).map((o) => o.Key)).toEqual([expect.stringMatching(new RegExp(`^${DOCTOR_PROBE_PREFIX}\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}Z-[A-Za-z0-9_.-]+\\.json$`))]);
    expect(formatDoctor(report)).toMatch(/^PASS  settings {14}  .*\n[\s\S]*SKIP  SSM Agent {13}  not Windows[\s\S]*\n\nverdict: a scheduled job would succeed\n$/);
  });

  it('an unwritable phase-1 destination: a fail line naming the path and the reason, disk space skipped, exit 1', async () => {
    const { dir, config } = await machine();
    // A path under a regular file cannot be created (ENOTDIR) even for root.
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    writeFileSync(config, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), Phase1Destination: join(dir, 'not-a-dir', 'dr') }));
    const report = await runDoctor({ loadSettings: () => loadEffectiveConfig(config, dir, {}), platform: 'linux', env: {} });
    const lines = byCheck(report.checks);
    expect(lines['phase-1 destination']).toEqual({ check: 'phase-1 destination', verdict: 'fail', detail: `cannot create ${join(dir, 'not-a-dir', 'dr')}: not a directory (ENOTDIR)` });
    expect(lines['disk space for a FULL']).toEqual({ check: 'disk space for a FULL', verdict: 'skip', detail: 'the phase-1 destination is not writable' });
    expect(report.exitCode).toBe(1);
    expect(formatDoctor(report)).toContain('verdict: 1 check failed — a scheduled job would fail');
  });

  it('a missing bucket and a missing state machine: fail lines naming them; relative paths: fail naming the setting', async () => {
    const { dir, config } = await machine({
      HotSite: { bucket: 'commserve-dr-no-such-bucket', region: 'us-east-1', endpoint: motoEndpoint() },
      Phase1Destination: 'DR',
    });
    const report = await runDoctor({ loadSettings: () => loadEffectiveConfig(config, dir, {}), platform: 'linux', env: {} });
    const lines = byCheck(report.checks);
    expect(lines['paths absolute'].verdict).toBe('fail');
    expect(lines['paths absolute'].detail).toContain(`Phase1Destination: "DR" from ${config}`);
    expect(lines['hot-site bucket'].verdict).toBe('fail');
    expect(lines['hot-site bucket'].detail).toMatch(/^HeadBucket s3:\/\/commserve-dr-no-such-bucket \(us-east-1\): /);
    expect(lines['list sets/']).toBeUndefined(); // nothing more is asked of a bucket that is not there
    expect(report.exitCode).toBe(1);

    const gone = await machine({ StateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Missing' });
    const second = await runDoctor({ loadSettings: () => loadEffectiveConfig(gone.config, gone.dir, {}), platform: 'linux', env: {} });
    const machineLine = byCheck(second.checks)['state machine'];
    expect(machineLine.verdict).toBe('fail');
    expect(machineLine.detail).toMatch(/^DescribeStateMachine arn:aws:states:us-east-1:123456789012:stateMachine:Missing: /);
  });

  it('settings that do not load: one fail line with the reason, the rest skipped, exit 1', async () => {
    const dir = tempDir();
    const config = join(dir, 'bad.json');
    writeFileSync(config, JSON.stringify({ RetainCycles: 0 }));
    const report = await runDoctor({ loadSettings: () => loadEffectiveConfig(config, dir, {}), platform: 'linux', env: {} });
    expect(report.checks).toEqual([
      { check: 'settings', verdict: 'fail', detail: expect.stringContaining(`invalid settings in ${config}`) },
      { check: 'everything else', verdict: 'skip', detail: 'the settings did not load' },
    ]);
    expect(report.exitCode).toBe(1);
  });

  it('a proxy that does not accept connections fails the proxy line (credentials in its URL never shown)', async () => {
    const { dir, config } = await machine();
    const report = await runDoctor({ loadSettings: () => loadEffectiveConfig(config, dir, {}), platform: 'linux', env: { HTTP_PROXY: 'http://user:secret@127.0.0.1:9' } });
    const proxy = byCheck(report.checks).proxy;
    expect(proxy.verdict).toBe('fail');
    expect(proxy.detail).toMatch(/^proxy http:\/\/127\.0\.0\.1:9 \(for 127\.0\.0\.1:\d+\) does not accept connections: /);
    expect(JSON.stringify(report)).not.toContain('secret');
  });

  it('SQL Server (mocked: cannot run here): a missing phase-1 right fails naming it and its GRANT; recovery rights are a skip line', async () => {
    const { dir, config } = await machine({
      Database: { engine: 'sqlserver', server: 'cs01', database: 'CommServ', user: 'commserve_dr', passwordEnv: 'DOCTOR_DB_PASSWORD' },
    });
    const server = new FakeSqlServer('CommServ');
    server.rights = { ...server.rights, can_read_backupset: 0 };
    server.scripted.push({ match: /SUM\(CAST\(size AS bigint\)\)/, result: { recordsets: [[{ bytes: 8 * 1024 * 1024 }]], messages: [] } });
    const report = await runDoctor({
      loadSettings: () => loadEffectiveConfig(config, dir, {}),
      platform: 'linux',
      env: {},
      sqlServer: { env: { DOCTOR_DB_PASSWORD: 'pw' }, connect: async () => server },
    });
    const lines = byCheck(report.checks);
    expect(lines.database).toEqual({ check: 'database', verdict: 'pass', detail: 'SQL Server cs01:1433, database CommServ (8.0 MB of data files)' });
    expect(lines['database rights (phase 1)'].verdict).toBe('fail');
    expect(lines['database rights (phase 1)'].detail).toBe(
      'missing: SELECT on msdb.dbo.backupset missing (required; grant: USE [msdb]; CREATE USER [<login>] FOR LOGIN [<login>]; GRANT SELECT ON dbo.backupset TO [<login>];)',
    );
    expect(lines['database rights (recover, verify)'].verdict).toBe('skip');
    expect(lines['database rights (recover, verify)'].detail).toMatch(/^not needed by a scheduled job; for recover\/verify on this server: sysadmin or dbcreator/);
    expect(lines['disk space for a FULL'].detail).toMatch(/a FULL needs about 8\.8 MB \(database 8\.0 MB \+ 10 %\)$/);
    expect(server.closed).toBe(true);
    expect(report.exitCode).toBe(1);
  });

  it('disk space: fails when the destination has less than the database + 10 %', () => {
    expect(diskSpaceCheck('/dr', 1000 * 1024 * 1024, 1024 * 1024 * 1024)).toEqual({
      check: 'disk space for a FULL',
      verdict: 'fail',
      detail: '1.0 GB free in /dr; a FULL needs about 1.1 GB (database 1000.0 MB + 10 %)',
    });
  });

  it('SSM Agent on Windows (sc.exe mocked: Windows cannot run here): running passes, stopped and absent fail with what to do', async () => {
    const answer = (code: number, stdout: string) => async () => ({ code, stdout });
    expect((await ssmAgentCheck('win32', answer(0, 'SERVICE_NAME: AmazonSSMAgent\n        STATE              : 4  RUNNING\n'))).verdict).toBe('pass');
    expect(await ssmAgentCheck('win32', answer(0, 'STATE              : 1  STOPPED'))).toEqual({ check: 'SSM Agent', verdict: 'fail', detail: 'service AmazonSSMAgent is installed but not running: Start-Service AmazonSSMAgent' });
    expect((await ssmAgentCheck('win32', answer(1060, ''))).detail).toMatch(/^service AmazonSSMAgent not found \(sc\.exe query exit 1060\)/);
  });

  it('commserve-dr doctor --json: the same lines as a document, exit code 1 on a failure', async () => {
    const { dir, config } = await machine({ FirewallDirectory: join(tempDir(), 'fw'), Phase1Destination: 'relative' });
    const io = capture(dir);
    const code = await exec(['--config', config, '--json', 'doctor'], io);
    const document = JSON.parse(io.out()) as { checks: DoctorCheck[]; ok: boolean; exitCode: number };
    expect(code).toBe(1);
    expect({ ok: document.ok, exitCode: document.exitCode }).toEqual({ ok: false, exitCode: 1 });
    expect(document.checks.find((c) => c.check === 'paths absolute')?.verdict).toBe('fail');
  });
});
