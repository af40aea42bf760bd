/**
 * A scripted attack on the hot-site (issue 21, "a compromised CommServe cannot destroy its own DR backups"): the
 * attacker holds the CommServe and the agent role's credentials.
 * 1. With the agent's own code paths (create-only writes) nothing committed can be replaced: S3 answers 412 to
 *    `If-None-Match: *` (moto implements it) and the agent reports HOTSITE_OBJECT_EXISTS; a write without the header,
 *    a copy onto a key, a delete or a versioning change is refused by the bucket policy (moto does not evaluate bucket
 *    policies: those requests are evaluated against the synthesized template's policy, as the IAM proof test does).
 * 2. When an overwrite, a delete and a forged manifest with consistent files do happen (a principal the policy does
 *    not cover — moto here), the chain reports the forged manifest, and the next job's scrub puts every object back
 *    from the bucket's own versions through RepairObject — nothing was lost.
 * 3. The synthesized tamper rule, installed in moto's EventBridge with a queue as its target, receives the CloudTrail
 *    events of the attack and none of the DR components' own writes and deletes (delivering CloudTrail data events to
 *    EventBridge, and the rule's TriggeredRules metric behind the alarm, are AWS's: the test puts the events).
 * Every test adds a row to the fault table written to `.cache/faults-tamper-report.md`.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CfnElement } from 'aws-cdk-lib';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { parseManifest, type Manifest } from '#core/manifest';
import { parseSettings, type Settings } from '#core/settings';
import { setName } from '#core/set-id';
import { MiB } from '#core/transfer-plan';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { uploadManifest } from '#agent/hotsite/hot-site';
import { checkCopiesChain } from '#agent/hotsite/manifest-chain';
import { SetUploadSession, streamSetFile } from '#agent/hotsite/stream-upload';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, mutateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { synth } from '../infra/support/synth';
import { motoEndpoint, motoS3Client, useMoto } from '../support/moto';
import { useTempDirs } from '../support/tmp';
import { bucketPolicyStatements, evaluate, roleStatements, TemplateResolver, type Template } from '../support/iam/policies';
import { iamRequests } from '../support/iam/requests';
import { reportFaultTable, type FaultRow } from './support/fault-table';

const BUCKET = 'commserve-dr-tamper';
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const logger = createLogger({ level: 'silent' });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const rows: FaultRow[] = [];

/** One call of moto's AWS JSON protocol (EventBridge, SQS): the SDK clients of those services are not dependencies. */
async function awsJson(service: 'events' | 'sqs', target: string, body: unknown): Promise<any> {
  const response = await fetch(`${motoEndpoint()}/`, {
    method: 'POST',
    headers: {
      'X-Amz-Target': target,
      'Content-Type': service === 'sqs' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
      Authorization: `AWS4-HMAC-SHA256 Credential=test/20261205/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${target}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : {};
}

describe('tamper attack on the hot-site (real SQLite, moto with versioning, the synthesized bucket policy and tamper rule)', () => {
  useMoto();
  const tempDir = useTempDirs('commserve-dr-tamper-');
  let sampleDir: string;
  let template: Template;
  let resolver: TemplateResolver;
  let ids: { agent: string; prune: string; repair: string; archive: string; bucket: string; key: string; machine: string; rule: string };
  beforeAll(async () => {
    sampleDir = tempDir();
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 1 * MiB, seed: 21 });
    const { stack, json } = synth({ stackProps: { bucketName: BUCKET } });
    template = json as unknown as Template;
    resolver = new TemplateResolver(template, REGION, { CommServeInstanceId: 'mi-0123456789abcdef0' });
    const s = stack as any;
    const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as CfnElement);
    ids = {
      agent: id(s.agent.role),
      prune: id(s.functions.pruneSets.role),
      repair: id(s.repair.function.role),
      archive: id(s.functions.archiveSet.role),
      bucket: id(s.hotSite.bucket),
      key: id(s.hotSite.encryptionKey),
      machine: id(s.drJob.stateMachine),
      rule: id(s.tamperProtection.rule),
    };
  });
  afterAll(() => reportFaultTable('Tamper attack results', 'faults-tamper-report.md', rows));

  const roleArn = (id: string) => resolver.resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string;

  /** `count` jobs (a FULL, then DIFFERENTIALs) of the sample CommServe into a versioned bucket. */
  async function jobs(count: number): Promise<{ s3: S3Client; settings: Settings; cwd: string }> {
    const s3 = motoS3Client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: 'Enabled' } }));
    const cwd = tempDir();
    copyFileSync(join(sampleDir, 'commserv.db'), join(cwd, 'commserv.db'));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(sampleDir, 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(sampleDir, 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: BUCKET, endpoint: motoEndpoint() },
        PublishMetrics: false,
        ScrubRequestsPerJob: 0,
      },
      'test',
    );
    for (let i = 0; i < count; i++) {
      if (i > 0) mutateSampleCommServe(join(cwd, 'commserv.db'), { seed: i, fraction: 0.02 });
      await runPhase1({ settings, requestedType: i === 0 ? 'FULL' : 'DIFFERENTIAL', s3: motoS3Client(), logger });
    }
    return { s3, settings, cwd };
  }
  const bytesOf = async (s3: S3Client, key: string) => Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
  const manifestOf = async (s3: S3Client, jobId: number) => parseManifest(await bytesOf(s3, setObjectKey('sets', jobId, MANIFEST_FILE)), 'hot-site');
  const dumpOf = (m: Manifest) => m.files.find((f) => f.role === 'database')!.name;
  const regOf = (m: Manifest) => m.files.find((f) => f.role === 'registry')!.name;

  it('with the agent’s own code paths nothing committed is replaced: If-None-Match writes get 412 → HOTSITE_OBJECT_EXISTS (moto); writes without it, copies onto a key, deletes and a versioning change are refused by the bucket policy (S3 behaviour moto lacks: bucket policies — evaluated against the synthesized policy)', async () => {
    const { s3 } = await jobs(1);
    const manifest = await manifestOf(s3, 1);
    const dumpKey = setObjectKey('sets', 1, dumpOf(manifest));
    const manifestKey = setObjectKey('sets', 1, MANIFEST_FILE);
    const before = { dump: sha256(await bytesOf(s3, dumpKey)), manifest: sha256(await bytesOf(s3, manifestKey)) };

    // A forged manifest, sent as phase 1 sends one.
    const forgedDir = tempDir();
    writeFileSync(join(forgedDir, MANIFEST_FILE), JSON.stringify({ ...manifest, note: 'forged' }));
    await expect(uploadManifest(s3, BUCKET, forgedDir, manifest)).rejects.toMatchObject({ code: 'HOTSITE_OBJECT_EXISTS' });
    // A garbage dump, sent as phase 1 and the repair send a SET file.
    const garbage = join(forgedDir, 'garbage.dmp');
    writeFileSync(garbage, Buffer.alloc(4096, 0x41));
    const session = new SetUploadSession(s3, BUCKET);
    try {
      await streamSetFile(session, { source: garbage, name: dumpOf(manifest), role: 'database', key: dumpKey });
      expect(session.failure).toMatchObject({ code: 'HOTSITE_OBJECT_EXISTS' });
    } finally {
      await session.close();
    }
    expect({ dump: sha256(await bytesOf(s3, dumpKey)), manifest: sha256(await bytesOf(s3, manifestKey)) }).toEqual(before);

    // What the attacker sends without the agent's code, decided by the synthesized policies for the agent role.
    const agent = roleStatements(template, resolver, ids.agent);
    const policy = bucketPolicyStatements(template, resolver, ids.bucket);
    const env = { hotSiteKeyArn: roleArn(ids.key), stateMachineArn: resolver.resolve({ Ref: ids.machine }) as string };
    const decide = (command: string, input: Record<string, unknown>) => {
      const decisions = iamRequests({ principal: 'agent', step: 'attack', service: 'S3', command, input: { Bucket: BUCKET, ...input }, region: REGION }, env)
        .filter((r) => r.action.startsWith('s3:'))
        .map((r) => evaluate(agent, policy, r, roleArn(ids.agent)));
      return decisions.includes('explicitly denied') ? 'explicitly denied' : decisions.includes('implicitly denied') ? 'implicitly denied' : 'allowed';
    };
    const decided = {
      overwrite: decide('PutObject', { Key: dumpKey, Body: 'x' }),
      completeUpload: decide('CompleteMultipartUpload', { Key: dumpKey, UploadId: 'u' }),
      copyOnto: decide('CopyObject', { Key: manifestKey, CopySource: `${BUCKET}/${setObjectKey('sets', 1, regOf(manifest))}` }),
      delete: decide('DeleteObject', { Key: dumpKey }),
      deleteVersion: decide('DeleteObject', { Key: dumpKey, VersionId: 'v1' }),
      createNew: decide('PutObject', { Key: setObjectKey('sets', 2, MANIFEST_FILE), Body: 'x', IfNoneMatch: '*' }),
    };
    const versioning = evaluate(agent, policy, { action: 's3:PutBucketVersioning', resource: `arn:aws:s3:::${BUCKET}`, context: { 'aws:SecureTransport': 'true' } }, roleArn(ids.agent));
    expect({ ...decided, versioning }).toEqual({
      overwrite: 'explicitly denied',
      completeUpload: 'explicitly denied',
      copyOnto: 'explicitly denied',
      delete: 'explicitly denied',
      deleteVersion: 'explicitly denied',
      createNew: 'allowed',
      versioning: 'explicitly denied',
    });
    rows.push({
      fault: 'attacker with the agent role overwrites a FULL dump and a manifest, deletes, switches versioning off',
      expected: 'every replace and delete refused; only new keys can be created',
      observed: `agent code paths: 412 → HOTSITE_OBJECT_EXISTS (moto); policy: ${Object.entries({ ...decided, versioning }).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      dataLost: 'none (bytes unchanged)',
    });
  });

  it('an overwrite, a delete and a forged manifest with consistent files that did happen (moto does not enforce the bucket policy): the chain reports the forgery; the next job puts every object back from the bucket’s versions', async () => {
    const { s3, settings } = await jobs(2);
    const full = await manifestOf(s3, 1);
    const diff = await manifestOf(s3, 2);
    const keys = {
      dump: setObjectKey('sets', 1, dumpOf(full)),
      fullReg: setObjectKey('sets', 1, regOf(full)),
      fullManifest: setObjectKey('sets', 1, MANIFEST_FILE),
      diffReg: setObjectKey('sets', 2, regOf(diff)),
    };
    const originals = Object.fromEntries(await Promise.all(Object.entries(keys).map(async ([k, key]) => [k, sha256(await bytesOf(s3, key))]))) as Record<keyof typeof keys, string>;

    // The attack: ransom bytes over the FULL's dump, the DIFFERENTIAL's registry export deleted, and the FULL's registry
    // export replaced by forged bytes together with a manifest that describes them (size, SHA-256, S3 checksum).
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys.dump, Body: 'your files are encrypted', ChecksumAlgorithm: 'SHA256' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: keys.diffReg }));
    const forgedReg = Buffer.concat([await bytesOf(s3, keys.fullReg), Buffer.from('\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Attacker]\r\n')]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys.fullReg, Body: forgedReg, ChecksumAlgorithm: 'SHA256' }));
    const forged = {
      ...full,
      files: full.files.map((f) =>
        f.name === regOf(full) ? { ...f, size: forgedReg.length, sha256: sha256(forgedReg), s3: { partSize: f.s3?.partSize ?? 8 * MiB, checksumSHA256: createHash('sha256').update(forgedReg).digest('base64') } } : f,
      ),
    };
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys.fullManifest, Body: JSON.stringify(forged, null, 2), ChecksumAlgorithm: 'SHA256' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: keys.fullReg, ChecksumMode: 'ENABLED' }));
    expect(head.ChecksumSHA256).toBe(forged.files.find((f) => f.name === regOf(full))!.s3!.checksumSHA256); // the files are consistent with it

    const chain = await checkCopiesChain({ hotSite: { s3, bucket: BUCKET } });
    expect(chain.untrusted.get(setName(1))).toMatch(new RegExp(`${setName(2)}|hot-site`));

    const next = await runPhase1({ settings: { ...settings, ScrubRequestsPerJob: 150 }, requestedType: 'FULL', s3: motoS3Client(), logger });
    const repaired = next.events.filter((e) => e.code === 'HOTSITE_REPAIRED').map((e) => e.message);
    const names = [`${setName(1)}/${dumpOf(full)}`, `${setName(1)}/${regOf(full)}`, `${setName(1)}/${MANIFEST_FILE}`, `${setName(2)}/${regOf(diff)}`];
    for (const name of names) expect(repaired).toContainEqual(expect.stringMatching(new RegExp(`^${name.replace(/[.]/g, '\\.')} .*: repaired from an earlier version at the hot-site \\(\\S+\\)$`)));
    expect(repaired).toHaveLength(4);
    expect(next.events.filter((e) => e.code === 'HOTSITE_UNREPAIRED' || e.level === 'error')).toEqual([]);
    const after = Object.fromEntries(await Promise.all(Object.entries(keys).map(async ([k, key]) => [k, sha256(await bytesOf(s3, key))])));
    expect(after).toEqual(originals);
    expect((await checkCopiesChain({ hotSite: { s3, bucket: BUCKET } })).untrusted.size).toBe(0);
    rows.push({
      fault: 'FULL dump overwritten, DIFFERENTIAL registry export deleted, FULL manifest + registry export forged consistently',
      expected: 'chain reports the forged manifest; next job repairs all four from versions',
      observed: `chain: ${setName(1)} untrusted; next job: ${repaired.length} repaired from earlier versions, chain intact after`,
      dataLost: 'none (SHA-256 of every object as committed)',
    });
  });

  it('the tamper rule receives the attack’s CloudTrail events and none of the DR components’ own writes (moto EventBridge with the synthesized pattern; CloudTrail → EventBridge delivery and the TriggeredRules metric are AWS behaviour moto lacks: the test puts the events)', async () => {
    const pattern = resolver.resolve(template.Resources[ids.rule].Properties?.EventPattern);
    const queue = await awsJson('sqs', 'AmazonSQS.CreateQueue', { QueueName: 'tamper-alarm-topic' });
    await awsJson('events', 'AWSEvents.PutRule', { Name: 'tamper', EventPattern: JSON.stringify(pattern) });
    await awsJson('events', 'AWSEvents.PutTargets', { Rule: 'tamper', Targets: [{ Id: 'topic', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:tamper-alarm-topic` }] });

    const assumed = (arn: string) => ({ type: 'AssumedRole', arn: `${arn}/session`, sessionContext: { sessionIssuer: { type: 'Role', arn } } });
    const role = (id: string) => assumed(roleArn(id));
    const key = setObjectKey('sets', 1, 'commserv_FULL.dmp');
    /** CloudTrail's "AWS API Call via CloudTrail" detail for one S3 call, labelled for the assertion. */
    const calls: Array<{ label: string; detail: Record<string, unknown> }> = [
      { label: 'agent overwrite refused', detail: { eventName: 'PutObject', userIdentity: role(ids.agent), errorCode: 'AccessDenied' } },
      { label: 'agent delete refused', detail: { eventName: 'DeleteObject', userIdentity: role(ids.agent), errorCode: 'AccessDenied' } },
      { label: 'agent If-None-Match on an existing key', detail: { eventName: 'PutObject', userIdentity: role(ids.agent), errorCode: 'PreconditionFailed' } },
      { label: 'IAM user deletes', detail: { eventName: 'DeleteObject', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/admin` } } },
      { label: 'unknown role copies onto a SET file', detail: { eventName: 'CopyObject', userIdentity: assumed(`arn:aws:iam::${ACCOUNT}:role/intruder`) } },
      { label: 'versioning suspended', detail: { eventName: 'PutBucketVersioning', userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/admin` } } },
      { label: 'admin shortens a GOVERNANCE lock (bypass)', detail: { eventName: 'PutObjectRetention', userIdentity: assumed(`arn:aws:iam::${ACCOUNT}:role/admin`) } },
      { label: 'agent retention change refused', detail: { eventName: 'PutObjectRetention', userIdentity: role(ids.agent), errorCode: 'AccessDenied' } },
      { label: 'agent creates a SET file', detail: { eventName: 'PutObject', userIdentity: role(ids.agent) } },
      { label: 'PruneSets deletes expired SETs', detail: { eventName: 'DeleteObjects', userIdentity: role(ids.prune) } },
      { label: 'RepairObject copies a version back', detail: { eventName: 'CopyObject', userIdentity: role(ids.repair) } },
      { label: 'ArchiveSet copies to archive/', detail: { eventName: 'CopyObject', userIdentity: role(ids.archive) } },
      { label: 'ArchiveSet extends a FULL’s archive lock', detail: { eventName: 'PutObjectRetention', userIdentity: role(ids.archive) } },
      { label: 'PruneSets locks a kept SET', detail: { eventName: 'PutObjectRetention', userIdentity: role(ids.prune) } },
    ];
    const entries = calls.map((c) => ({
      Source: 'aws.s3',
      DetailType: 'AWS API Call via CloudTrail',
      Detail: JSON.stringify({ eventSource: 's3.amazonaws.com', awsRegion: REGION, requestParameters: { bucketName: BUCKET, key }, ...c.detail, label: c.label }),
    }));
    // PutEvents takes at most 10 entries a request.
    for (let i = 0; i < entries.length; i += 10) {
      expect((await awsJson('events', 'AWSEvents.PutEvents', { Entries: entries.slice(i, i + 10) })).FailedEntryCount).toBe(0);
    }

    const received: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const batch = await awsJson('sqs', 'AmazonSQS.ReceiveMessage', { QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10 });
      for (const m of batch.Messages ?? []) received.push((JSON.parse(m.Body) as { detail: { label: string } }).detail.label);
      if ((batch.Messages ?? []).length === 0) break;
    }
    expect(received.sort()).toEqual(calls.slice(0, 8).map((c) => c.label).sort());
    rows.push({
      fault: 'CloudTrail events of the attack and of the DR components’ own work',
      expected: 'refused writes, deletes by anyone but PruneSets, retention changes by anyone but ArchiveSet/PruneSets, writes by unknown principals, bucket changes → alarm topic; DR writes and locks → nothing',
      observed: `${received.length} of ${calls.length} events reached the target: ${received.join('; ')}`,
      dataLost: 'n/a',
    });
  });
});
