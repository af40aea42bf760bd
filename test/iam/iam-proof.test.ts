/**
 * IAM proven against the code (issue 22): the real code paths run against moto while every AWS SDK
 * command they send is recorded with the principal that sends it in AWS; each command is then turned
 * into the IAM requests AWS authorises (test/support/iam/requests.ts) and evaluated against the
 * synthesized template's policies for that principal (test/support/iam/policies.ts).
 *
 * Principals: the agent's role (SSM managed node: scheduled phase 1, hand-run job, the next job finishing a
 * half-finished SET by starting the state machine for it), the four phase-2
 * Lambda roles, the recovery role (recover/fetch/sets/history from any machine, hot-site and archive)
 * and the operator role (verify, manual prune). A command no policy allows fails the test with the
 * principal, the step, the action and the resource.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnElement, type Stack } from 'aws-cdk-lib';
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { exec } from '#agent/cli';
import { executeDrJobLocally } from '#agent/local/local-state-machine';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import { loadEffectiveConfig } from '#agent/config';
import { readSettingParameters } from '#lambdas/shared/settings';
import { s3Client } from '#agent/aws/clients';
import { runJobUpkeep } from '#agent/upkeep/job-upkeep';
import { setName } from '#core/set-id';
import { createLogger } from '#agent/log';
import type { Phase1Result } from '#core/job';
import { capture } from '../support/cli';
import { useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';
import { synth } from '../infra/support/synth';
import { CommandRecorder } from '../support/iam/recorder';
import { iamRequests, type IamRequest } from '../support/iam/requests';
import { bucketPolicyStatements, evaluate, roleStatements, TemplateResolver, type Template } from '../support/iam/policies';

const BUCKET = 'commserve-dr-iam-test';
const REGION = 'us-east-1';
const SETTINGS_PATH = '/commserve-dr/default';

/** The roles of the template, by principal name of this test (undefined: the template has none). */
function principalRoles(stack: Stack): Record<string, string | undefined> {
  const s = stack as any;
  const id = (role: { node: { defaultChild?: unknown } } | undefined) => (role ? stack.getLogicalId(role.node.defaultChild as CfnElement) : undefined);
  return {
    agent: id(s.agent.role),
    ValidateSet: id(s.functions.validateSet.role),
    ArchiveSet: id(s.functions.archiveSet.role),
    PruneSets: id(s.functions.pruneSets.role),
    ReportJob: id(s.functions.reportJob.role),
    recovery: id(s.operators?.recoveryRole),
    operator: id(s.operators?.operatorRole),
  };
}

describe('IAM: every request of the real code paths is allowed to the principal that sends it (synthesized template, moto)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
  });
  afterAll(() => {
    process.env = saved;
  });

  it('scheduled job, hand-run job, half-finished SET finished by the next job, Lambdas, recover (hot-site and archive), fetch, sets, history, verify, prune', async () => {
    // Template: the stack as deployed, with the test's bucket name.
    const { stack, json } = synth({ stackProps: { bucketName: BUCKET } });
    const template = json as unknown as Template;
    const resolver = new TemplateResolver(template, REGION, { CommServeInstanceId: 'mi-0123456789abcdef0' });
    const bucketId = stack.getLogicalId((stack as any).hotSite.bucket.node.defaultChild as CfnElement);
    const keyId = stack.getLogicalId((stack as any).hotSite.encryptionKey.node.defaultChild as CfnElement);
    const stateMachineArn = resolver.resolve({ Ref: stack.getLogicalId((stack as any).drJob.stateMachine.node.defaultChild as CfnElement) }) as string;
    const hotSiteKeyArn = resolver.resolve({ 'Fn::GetAtt': [keyId, 'Arn'] }) as string;
    // The key policy delegates to IAM (the account root), so identity policies decide KMS use.
    const keyPolicy = JSON.stringify(resolver.resolve(template.Resources[keyId].Properties?.KeyPolicy));
    expect(keyPolicy).toContain(`"AWS":"arn:aws:iam::123456789012:root"`);

    // Arrange (not recorded as any principal): the bucket, the settings parameters, a sample CommServe.
    const recorder = new CommandRecorder();
    try {
      recorder.as('setup', 'arrange');
      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const client = (principal: string) => recorder.bind(new S3Client({ endpoint: moto.endpoint(), region: REGION, forcePathStyle: true, credentials }), principal);
      const setupS3 = client('setup');
      await setupS3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      const ssm = recorder.bind(new SSMClient({ endpoint: moto.endpoint(), region: REGION, credentials }), 'setup');
      for (const [name, value] of Object.entries({ RetainCycles: '5', ArchiveStorageClass: 'GLACIER', Cell: 'default' })) {
        await ssm.send(new PutParameterCommand({ Name: `${SETTINGS_PATH}/${name}`, Value: value, Type: 'String', Overwrite: true }));
      }
      const machine = tempDir();
      const sample = await generateSampleCommServe({ dir: join(machine, 'commserve'), sizeBytes: 2 * 1024 * 1024, seed: 3 });
      const config = join(machine, 'commserve-dr.config.json');
      const configValues: Record<string, unknown> = {
        SettingsParameterPath: SETTINGS_PATH,
        Database: { engine: 'sqlite', path: sample.dbPath },
        Registry: { store: 'file-hive', hiveFile: join(machine, 'commserve', 'registry', 'commserv_hive.reg') },
        FirewallDirectory: join(machine, 'commserve', 'firewall'),
        Phase1Destination: join(machine, 'dr'),
        StateDirectory: join(machine, 'state'),
        HotSite: { bucket: BUCKET, region: REGION, endpoint: moto.endpoint() },
        StateMachineArn: stateMachineArn,
      };
      writeFileSync(config, JSON.stringify(configValues));
      // The SSM Agent runs commands in a folder of its own: nothing is found relative to it.
      const ssmWorkDir = join(machine, 'ssm-command');
      mkdirSync(ssmWorkDir);
      const cli = async (principal: string, step: string, args: string[]) => {
        recorder.as(principal, step);
        const io = capture(ssmWorkDir);
        const code = await exec(['--config', config, ...args], io);
        return { code, out: io.out(), err: io.err() };
      };
      // Step Functions is AWS's: the task-token callbacks and StartExecution are answered here (still recorded).
      recorder.stub('SFN:SendTaskSuccess', () => ({}));
      recorder.stub('SFN:SendTaskFailure', () => ({}));
      recorder.stub('SFN:SendTaskHeartbeat', () => ({}));

      let started: Record<string, unknown> | undefined;
      recorder.stub('SFN:StartExecution', (input) => {
        started = input;
        return { executionArn: `${String(input.stateMachineArn).replace(':stateMachine:', ':execution:')}:${String(input.name)}`, startDate: new Date() };
      });
      const { settings } = await loadEffectiveConfig(config, ssmWorkDir);
      /** Phase 2 as the state machine runs it: each Lambda with its own role. */
      const phase2 = async (step: string, input: unknown, status = 'Completed') => {
        recorder.as('ReportJob', step); // ReportJob's CloudWatch client is the only one not bound below
        const execution = await executeDrJobLocally({
          input: input as never,
          s3: client('agent'),
          settings,
          functionClients: { ValidateSet: client('ValidateSet'), ArchiveSet: client('ArchiveSet'), PruneSets: client('PruneSets'), ReportJob: client('ReportJob') },
        });
        expect(execution.record.status).toBe(status);
      };
      const scheduledJob = async (type: 'full' | 'differential', token: string) => {
        const phase1 = await cli('agent', 'scheduled job: phase 1', ['--json', 'backup', '--type', type, '--task-token', token]);
        expect({ code: phase1.code, err: errors(phase1.err) }).toEqual({ code: 0, err: [] });
        await phase2('scheduled job: phase 2', { backupType: type.toUpperCase(), phase1: JSON.parse(phase1.out) as Phase1Result });
      };

      // 1. The scheduled job: phase 1 by Run Command on the CommServe (agent role), then phase 2 by the Lambdas.
      await scheduledJob('full', 'token-1');
      for (const fn of ['ValidateSet', 'ArchiveSet', 'PruneSets', 'ReportJob']) {
        recorder.as(fn, `${fn}: settings at cold start`);
        await readSettingParameters({ env: { SETTINGS_PREFIX: SETTINGS_PATH }, ssm: recorder.bind(new SSMClient({ endpoint: moto.endpoint(), region: REGION, credentials }), fn) });
      }

      // 1b. `doctor` on the CommServe (agent role): every probe it sends is allowed to the role it checks.
      recorder.stub('SFN:DescribeStateMachine', (input) => ({ stateMachineArn: input.stateMachineArn, name: 'DrJob', status: 'ACTIVE' }));
      const doctor = await cli('agent', 'doctor', ['--json', 'doctor']);
      expect({ code: doctor.code, failed: (JSON.parse(doctor.out) as { checks: Array<{ check: string; verdict: string; detail: string }> }).checks.filter((c) => c.verdict === 'fail') }).toEqual({ code: 0, failed: [] });

      // 2. A job run by hand on the CommServe (agent role): phase 1, then StartExecution; the state machine runs phase 2.
      const hand = await cli('agent', 'hand-run job', ['--json', 'backup', '--type', 'differential']);
      expect({ code: hand.code, err: errors(hand.err) }).toEqual({ code: 0, err: [] });
      expect(started).toMatchObject({ stateMachineArn });
      await phase2('hand-run job: phase 2', JSON.parse(String(started!.input)));

      // 2b. A scheduled job whose execution was lost after phase 1 (the SET is committed at the hot-site, never archived):
      // the next job's upkeep (agent role, a day later) starts the state machine for it, whose Lambdas archive and record it.
      const lost = await cli('agent', 'scheduled job: phase 1, its execution lost', ['--json', 'backup', '--type', 'differential', '--task-token', 'token-lost']);
      expect({ code: lost.code, err: errors(lost.err) }).toEqual({ code: 0, err: [] });
      const lostSet = (JSON.parse(lost.out) as Phase1Result).setName;
      started = undefined;
      recorder.as('agent', 'next job: upkeep finishes the half-finished SET');
      const upkeep = await runJobUpkeep({
        s3: s3Client(settings.HotSite),
        settings,
        logger: createLogger({ level: 'silent' }),
        phase1DestinationUsable: true,
        jobSetName: setName(99),
        now: () => new Date(Date.now() + 26 * 3600_000),
      });
      expect(upkeep.finished).toEqual([
        { setName: lostSet, reason: expect.stringContaining('no archive copy'), record: null, execution: { arn: expect.stringMatching(new RegExp(`:execution:.*:finish-phase2-${lostSet}$`)), alreadyStarted: false } },
      ]);
      expect(started).toMatchObject({ stateMachineArn, name: `finish-phase2-${lostSet}` });
      await phase2('half-finished SET: phase 2', JSON.parse(String(started!.input)), 'Completed With One or More Errors');

      // 3. Read-only commands and recovery from the hot-site (recovery role, any machine).
      expect((await cli('recovery', 'sets', ['--json', 'sets'])).code).toBe(0);
      expect((await cli('recovery', 'history', ['--json', 'history'])).code).toBe(0);
      const target = tempDir();
      const hot = await cli('recovery', 'recover from the hot-site', ['--json', 'recover', '--to', join(target, 'from-hot-site'), '--registry-hive', join(target, 'hive.reg')]);
      expect({ code: hot.code, err: errors(hot.err) }).toEqual({ code: 0, err: [] });
      expect((await cli('recovery', 'fetch', ['fetch', 'SET_0000001', '--to', join(target, 'fetched')])).code).toBe(0);

      // 4. Verify (operator role).
      expect((await cli('operator', 'verify', ['--json', 'verify'])).code).toBe(0);

      // 5. Two more cycles, then a manual prune that expires the first cycle at the hot-site (operator role).
      await scheduledJob('full', 'token-3');
      await scheduledJob('full', 'token-4');
      recorder.as('setup', 'arrange');
      await ssm.send(new PutParameterCommand({ Name: `${SETTINGS_PATH}/RetainCycles`, Value: '1', Type: 'String', Overwrite: true }));
      const prune = await cli('operator', 'prune', ['--json', 'prune']);
      expect(prune.code).toBe(0);
      expect((JSON.parse(prune.out) as { applied: { deletedCount?: number } | null }).applied).not.toBeNull();
      const left = await setupS3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sets/SET_0000001/' }));
      expect(left.Contents ?? []).toEqual([]);

      // 6. Recovery from the archive only (the hot-site copies of cycle 1 are pruned): restore requests, then reads.
      const archived = await cli('recovery', 'recover from the archive', ['--json', 'recover', '--to', join(target, 'from-archive'), '--set', 'SET_0000002', '--wait', '--registry-hive', join(target, 'hive2.reg')]);
      expect({ code: archived.code, err: errors(archived.err) }).toEqual({ code: 0, err: [] });
      expect((await cli('recovery', 'fetch from the archive', ['fetch', 'SET_0000001', '--wait', '--to', join(target, 'fetched-archive')])).code).toBe(0);
    } finally {
      recorder.stop();
    }

    // Evaluate every recorded command against its principal's policies.
    const roles = principalRoles(stack);
    const bucketPolicy = bucketPolicyStatements(template, resolver, bucketId);
    const env = { hotSiteKeyArn, stateMachineArn };
    const denied: string[] = [];
    const needed = new Map<string, Set<string>>();
    for (const command of recorder.commands.filter((c) => c.principal !== 'setup')) {
      const roleId = roles[command.principal];
      const statements = roleId ? roleStatements(template, resolver, roleId) : [];
      for (const request of iamRequests(command, env)) {
        const key = `${command.principal} | ${command.step}`;
        needed.set(command.principal, (needed.get(command.principal) ?? new Set()).add(request.action));
        const decision = roleId ? evaluate(statements, bucketPolicy, request) : 'no such principal in the template';
        if (decision !== 'allowed') denied.push(`${key}: ${command.service}:${command.command} needs ${describeRequest(request)} — ${decision}`.replace(/(:::[a-z0-9.-]+\/[a-z]+\/)[^ ]+/, '$1…'));
      }
    }
    const summary = [...needed].map(([p, actions]) => `${p}: ${[...actions].sort().join(', ')}`);
    expect({ denied: [...new Set(denied)], principals: Object.keys(roles).filter((p) => !roles[p]) }).toEqual({ denied: [], principals: [] });
    // Every principal was exercised (a scenario that silently sent nothing proves nothing).
    expect(summary.map((l) => l.split(':')[0]).sort()).toEqual(['ArchiveSet', 'PruneSets', 'ReportJob', 'ValidateSet', 'agent', 'operator', 'recovery']);
    writeFileSync(join(__dirname, '..', '..', '.cache', 'iam-actions.txt'), `${summary.join('\n')}\n`);
  }, 300_000); // one test drives every command end to end (~50 s alone, far more on a loaded 2-core machine): the limit guards against a hang, not speed
});

/** The one-line errors a command printed (`commserve-dr: …`). */
function errors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('commserve-dr:'));
}

function describeRequest(r: IamRequest): string {
  const ctx = Object.entries(r.context).filter(([k]) => !k.startsWith('aws:'));
  return `${r.action} on ${r.resource}${ctx.length ? ` (${ctx.map(([k, v]) => `${k}=${v}`).join(', ')})` : ''}`;
}
