import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '#infra/app';
import { resolveDefinitionFromTemplate } from '#infra/definition';
import { logicalId, objectsArn, parameterArn, roleStatements, synth } from './support/synth';

describe('CommserveDrStack', () => {
  let t: ReturnType<typeof synth>;
  let bucketId: string;
  let keyId: string;

  beforeAll(() => {
    t = synth();
    bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    keyId = logicalId(t.json, 'AWS::KMS::Key', 'HotSiteKey');
  });

  describe('hot-site bucket', () => {
    it('is encrypted with a rotating customer-managed KMS key (S3 Bucket Key on)', () => {
      t.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] } },
            },
          ],
        },
      });
    });

    it('is versioned, blocks all public access and disables ACLs', () => {
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      });
    });

    it('aborts incomplete multipart uploads after 7 days and expires noncurrent versions once retention no longer keeps their SET (97 days with the default settings)', () => {
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
            Match.objectLike({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 97 } }),
          ]),
        },
      });
    });

    it('denies requests without TLS', () => {
      t.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('is retained, with its key, when the stack is deleted, and never auto-emptied', () => {
      t.template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      t.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      t.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    });
  });

  describe('phase-2 functions', () => {
    it.each([
      ['Phase2ValidateSet', 900, 512],
      ['Phase2ArchiveSet', 900, 256],
      ['Phase2PruneSets', 900, 512],
      ['Phase2ReportJob', 60, 256],
    ])('%s runs Node.js 22 on arm64 with the bucket in its environment', (prefix, timeout, memory) => {
      const id = logicalId(t.json, 'AWS::Lambda::Function', `${prefix}`);
      expect(t.json.Resources[id].Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Timeout: timeout,
        MemorySize: memory,
        Environment: { Variables: { HOT_SITE_BUCKET: { Ref: bucketId }, NODE_OPTIONS: '--enable-source-maps' } },
      });
    });

    it('gives ArchiveSet the archive storage class (GLACIER by default)', () => {
      t.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('ArchiveSet'),
        Environment: { Variables: Match.objectLike({ ARCHIVE_STORAGE_CLASS: 'GLACIER' }) },
      });
    });

    it('gives PruneSets the retention settings (defaults: 5 cycles, 90 days, archive kept in full)', () => {
      const id = logicalId(t.json, 'AWS::Lambda::Function', 'Phase2PruneSets');
      expect(t.json.Resources[id].Properties.Environment.Variables).toEqual({
        HOT_SITE_BUCKET: { Ref: bucketId },
        RETAIN_CYCLES: '5',
        SET_LIFESPAN_FOR_FAILED_DR_DAYS: '90',
        ARCHIVE_RETAIN_CYCLES: 'unlimited',
        SETTINGS_PREFIX: '/commserve-dr/default',
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(t.json.Resources[id].Properties.Handler).toBe('index.handler');
    });

    it('keeps function logs one year', () => {
      // four phase-2 functions, RepairObject and the state machine
      t.template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { RetentionInDays: 365 }, 6);
    });
  });

  describe('least-privilege IAM', () => {
    const kmsViaS3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

    it('ValidateSet reads sets/* only, and its settings', () => {
      expect(roleStatements(t.json, 'Phase2ValidateSetServiceRole')).toEqual([
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: objectsArn(bucketId, 'sets') },
        { Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] }, Condition: kmsViaS3 },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
        {
          Effect: 'Allow',
          Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
          Resource: [parameterArn('commserve-dr/default'), parameterArn('commserve-dr/default/*')],
        },
      ]);
    });

    it('ArchiveSet reads sets/* and archive/*, and writes archive/* (multipart included)', () => {
      const statements = roleStatements(t.json, 'Phase2ArchiveSetServiceRole');
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: [objectsArn(bucketId, 'archive'), objectsArn(bucketId, 'sets')],
      });
      expect(statements).toContainEqual({
        Effect: 'Allow',
        Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'],
        Resource: objectsArn(bucketId, 'archive'),
      });
      const writes = statements.filter((s) => [s.Action].flat().includes('s3:PutObject'));
      expect(writes.map((s) => s.Resource)).toEqual([objectsArn(bucketId, 'archive')]);
    });

    it('ReportJob writes jobs/* only', () => {
      const statements = roleStatements(t.json, 'Phase2ReportJobServiceRole');
      expect(statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')))).toEqual([
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'], Resource: objectsArn(bucketId, 'jobs') },
      ]);
    });

    it('PruneSets lists the bucket, reads sets/ archive/ jobs/ prune/, writes prune/ and deletes in sets/ and archive/ only', () => {
      const statements = roleStatements(t.json, 'Phase2PruneSetsServiceRole');
      const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:GetObject', 's3:GetObjectVersion'],
          Resource: [objectsArn(bucketId, 'archive'), objectsArn(bucketId, 'jobs'), objectsArn(bucketId, 'prune'), objectsArn(bucketId, 'sets')],
        },
        { Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'], Resource: objectsArn(bucketId, 'prune') },
        { Effect: 'Allow', Action: 's3:DeleteObject', Resource: [objectsArn(bucketId, 'archive'), objectsArn(bucketId, 'sets')] },
      ]);
      const actions = new Set(s3.flatMap((s) => [s.Action].flat()));
      for (const forbidden of ['s3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutObjectRetention', 's3:*']) expect(actions.has(forbidden)).toBe(false);
    });

    it('the state machine sends commands only with AWS-RunPowerShellScript to the CommServe, and invokes only the four functions', () => {
      const statements = roleStatements(t.json, 'DrJobStateMachineRole');
      const ssm = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:')));
      expect(ssm).toHaveLength(1);
      expect(ssm[0]).toMatchObject({ Effect: 'Allow', Action: 'ssm:SendCommand' });
      expect(ssm[0].Resource).toHaveLength(3);
      expect(ssm[0].Resource).toEqual(
        expect.arrayContaining([
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, '::document/AWS-RunPowerShellScript']] },
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':managed-instance/', { Ref: 'CommServeInstanceId' }]] },
            { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':instance/', { Ref: 'CommServeInstanceId' }]] },
        ]),
      );
      const invoke = statements.filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
      expect(invoke).toHaveLength(1);
      const functionIds = ['Phase2ValidateSet', 'Phase2ArchiveSet', 'Phase2PruneSets', 'Phase2ReportJob'].map((p) => logicalId(t.json, 'AWS::Lambda::Function', p)).sort();
      const referenced = JSON.stringify(invoke[0].Resource).match(/"Fn::GetAtt":\["([^"]+)","Arn"\]/g)!.map((m) => m.split('"')[3]);
      expect([...new Set(referenced)].sort()).toEqual(functionIds);
      expect(statements.some((s) => [s.Action].flat().some((a) => a.startsWith('s3:')))).toBe(false);
    });
  });

  describe('DR job state machine', () => {
    let states: Record<string, any>;
    beforeAll(() => {
      states = resolveDefinitionFromTemplate(t.json).definition.States as Record<string, any>;
    });

    it('logs every transition (without payloads) to its own log group, with X-Ray tracing on', () => {
      t.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false, Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }] },
        TracingConfiguration: { Enabled: true },
      });
    });

    it('starts with HasPhase1Result: phase 1 result present → ValidateSet, a valid backupType → RunPhase1, else RejectInput', () => {
      expect(states.HasPhase1Result).toEqual({
        Type: 'Choice',
        Choices: [
          { Variable: '$.phase1', IsPresent: true, Next: 'ValidateSet' },
          {
            And: [
              { Variable: '$.backupType', IsPresent: true },
              {
                Or: [
                  { Variable: '$.backupType', StringEquals: 'FULL' },
                  { Variable: '$.backupType', StringEquals: 'DIFFERENTIAL' },
                  { Variable: '$.backupType', StringEquals: 'LOG' },
                ],
              },
            ],
            Next: 'RunPhase1',
          },
        ],
        Default: 'RejectInput',
      });
      expect(states.RejectInput).toMatchObject({ Type: 'Pass', Result: { Error: 'InvalidJobInput' }, ResultPath: '$.error', Next: 'ReportJob' });
    });

    it('runs phase 1 as an SSM sendCommand callback task with timeout and heartbeat', () => {
      expect(states.RunPhase1).toEqual({
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:ssm:sendCommand.waitForTaskToken',
        Parameters: {
          DocumentName: 'AWS-RunPowerShellScript',
          InstanceIds: ['mi-0123456789abcdef0'],
          Comment: 'commserve-dr DR backup job, phase 1',
          Parameters: {
            'commands.$': "States.Array(States.Format('commserve-dr --settings-parameter-path /commserve-dr/default backup --type {} --task-token {}', $.backupType, $$.Task.Token))",
            executionTimeout: ['21600'],
          },
        },
        TimeoutSeconds: 21600,
        HeartbeatSeconds: 600,
        ResultPath: '$.phase1',
        Catch: [
          // A LOG due while a FULL or DIFFERENTIAL runs is skipped, not failed (SPEC §4.5; LogSkipped end state).
          { ErrorEquals: ['LOG_SKIPPED'], ResultPath: '$.skipped', Next: 'LogSkipped' },
          { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReportJob' },
        ],
        Next: 'ValidateSet',
      });
    });

    it('validates the SET, sending failures to ReportJob in $.error', () => {
      expect(states.ValidateSet).toMatchObject({
        Type: 'Task',
        Resource: expect.stringMatching(/^arn:aws:lambda:us-east-1:123456789012:function:Phase2ValidateSet/),
        ResultPath: '$.validation',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'ReportJob' }],
        Next: 'IsLogPoint',
      });
      expect(states.ValidateSet.Parameters).toBeUndefined(); // payloadResponseOnly: the function gets the whole state
    });

    it('sends a LOG point from ValidateSet straight to ReportJob (archived with its cycle), every other SET to ArchiveSet', () => {
      expect(states.IsLogPoint).toEqual({
        Type: 'Choice',
        Choices: [{ And: [{ Variable: '$.phase1.backupType', IsPresent: true }, { Variable: '$.phase1.backupType', StringEquals: 'LOG' }], Next: 'ReportJob' }],
        Default: 'ArchiveSet',
      });
    });

    it('retries ArchiveSet 10 times, 30 minutes apart, then reports in $.archiveError', () => {
      expect(states.ArchiveSet).toMatchObject({
        Type: 'Task',
        Resource: expect.stringMatching(/function:Phase2ArchiveSet/),
        ResultPath: '$.archive',
        Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 1800, MaxAttempts: 10, BackoffRate: 1 }],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.archiveError', Next: 'ReportJob' }],
        Next: 'PruneSets',
      });
    });

    it('prunes after a successful archive copy into $.prune; a failed prune goes to ReportJob in $.pruneError', () => {
      expect(states.PruneSets).toMatchObject({
        Type: 'Task',
        Resource: expect.stringMatching(/function:Phase2PruneSets/),
        ResultPath: '$.prune',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.pruneError', Next: 'ReportJob' }],
        Next: 'ReportJob',
      });
      expect(states.PruneSets.Parameters).toBeUndefined(); // payloadResponseOnly: the function gets the whole state
      // Only Lambda service errors are retried (the next job prunes again anyway).
      for (const rule of states.PruneSets.Retry ?? []) expect(rule.ErrorEquals).not.toContain('States.ALL');
    });

    it('reports, then ends in JobFailed (DrJobFailed) for a Failed job and JobSucceeded otherwise', () => {
      expect(states.ReportJob).toMatchObject({ Type: 'Task', ResultPath: '$.report', Next: 'IsJobFailed' });
      expect(states.ReportJob.Catch).toBeUndefined();
      expect(states.IsJobFailed).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.report.status', StringEquals: 'Failed', Next: 'JobFailed' }],
        Default: 'JobSucceeded',
      });
      expect(states.JobFailed).toMatchObject({ Type: 'Fail', Error: 'DrJobFailed' });
      expect(states.JobSucceeded).toEqual({ Type: 'Succeed' });
    });

    it('never lists another error next to States.ALL in a Catch or Retry', () => {
      for (const state of Object.values(states)) {
        for (const rule of [...(state.Catch ?? []), ...(state.Retry ?? [])]) {
          if (rule.ErrorEquals.includes('States.ALL')) expect(rule.ErrorEquals).toEqual(['States.ALL']);
        }
      }
    });
  });

  it('takes the CommServe managed-node id as a deploy-time parameter when commServeInstanceId is not set (empty allowed: deploy first)', () => {
    t.template.hasParameter('CommServeInstanceId', { Type: 'String', AllowedPattern: '^((mi|i)-[0-9a-f]{8,17})?$', Default: '' });
  });
});

describe('CommserveDrStack configured through context', () => {
  let t: ReturnType<typeof synth>;
  beforeAll(() => {
    t = synth({
      context: {
        commServeInstanceId: 'i-0123456789abcdef0',
        archiveStorageClass: 'DEEP_ARCHIVE',
        archiveRetryCount: '3', // as `cdk -c` passes it
        archiveRetryIntervalMinutes: 0.5,
        phase1TimeoutSeconds: 7200,
        phase1HeartbeatSeconds: 300,
        bucketName: 'acme-commserve-dr',
      },
    });
  });

  it('applies the settings to the bucket, the functions and the state machine', () => {
    t.template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'acme-commserve-dr' });
    t.template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ ARCHIVE_STORAGE_CLASS: 'DEEP_ARCHIVE' }) } });
    const states = resolveDefinitionFromTemplate(t.json).definition.States as Record<string, any>;
    expect(states.ArchiveSet.Retry).toEqual([{ ErrorEquals: ['States.ALL'], IntervalSeconds: 30, MaxAttempts: 3, BackoffRate: 1 }]);
    expect(states.RunPhase1).toMatchObject({ TimeoutSeconds: 7200, HeartbeatSeconds: 300, Parameters: { InstanceIds: ['i-0123456789abcdef0'], Parameters: { executionTimeout: ['7200'] } } });
  });

  it('scopes SendCommand to the EC2 instance ARN for an i-… id, without a placeholder warning', () => {
    const statements = roleStatements(t.json, 'DrJobStateMachineRole');
    expect(JSON.stringify(statements)).toContain(':instance/i-0123456789abcdef0');
    t.annotations.hasNoWarning('*', Match.stringLikeRegexp('commServeInstanceId'));
  });
});

describe('buildApp', () => {
  it('refuses invalid context values, naming them', () => {
    expect(() => buildApp({ skipBundling: true, context: { archiveStorageClass: 'STANDARD', commServeInstanceId: 'server01' } })).toThrow(
      /invalid context: commServeInstanceId: must be an SSM managed-node id \(mi-… or i-…\); archiveStorageClass: /,
    );
  });
});
