import { Match } from 'aws-cdk-lib/assertions';
import { SettingsSchema } from '#core/settings';
import { noncurrentVersionDaysFor } from '#infra/tamper-protection';
import { logicalId, objectsArn, roleStatements, synth } from './support/synth';

describe('HotSiteBucket', () => {
  describe('defaults', () => {
    let t: ReturnType<typeof synth>;
    let bucketId: string;
    let logsId: string;
    beforeAll(() => {
      t = synth();
      bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
      logsId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteAccessLogs');
    });

    it('has the lifecycle rules: abort multipart after 7 days, noncurrent versions kept as long as retention keeps a SET (97 days with the default settings), the agent\'s working keys expire (repair/ and state/doctor/ after 7 days, recovery/ and state/scrub/ after 30), archive/ kept in GLACIER from day 0', () => {
      expect(noncurrentVersionDaysFor(SettingsSchema.parse({}))).toBe(97); // max(SetLifeSpanForFailedDR 90, (RetainCycles 5 + 1) days) + 7
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: Match.absent(),
        LifecycleConfiguration: {
          Rules: [
            { Id: 'abort-incomplete-multipart-uploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } },
            { Id: 'expire-noncurrent-versions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 97 } },
            { Id: 'expire-repair-staging', Status: 'Enabled', Prefix: 'repair/', ExpirationInDays: 7 },
            { Id: 'expire-old-recovery-guides', Status: 'Enabled', Prefix: 'recovery/', ExpirationInDays: 30 },
            { Id: 'expire-old-scrub-states', Status: 'Enabled', Prefix: 'state/scrub/', ExpirationInDays: 30 },
            { Id: 'expire-doctor-probes', Status: 'Enabled', Prefix: 'state/doctor/', ExpirationInDays: 7 },
            { Id: 'keep-archive-in-glacier-class', Status: 'Enabled', Prefix: 'archive/', Transitions: [{ StorageClass: 'GLACIER', TransitionInDays: 0 }] },
          ],
        },
      });
    });

    it('never expires current versions of DR data (retention is the prune step, not the lifecycle): only the agent\'s working keys expire', () => {
      const rules = t.json.Resources[bucketId].Properties.LifecycleConfiguration.Rules as Array<Record<string, unknown>>;
      expect(rules.filter((rule) => rule.ExpirationInDays !== undefined).map((rule) => rule.Prefix)).toEqual(['repair/', 'recovery/', 'state/scrub/', 'state/doctor/']);
    });

    it('logs server access to a separate, TLS-only, SSE-S3 logs bucket that is retained', () => {
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        LoggingConfiguration: { DestinationBucketName: { Ref: logsId }, LogFilePrefix: 'hot-site/' },
      });
      expect(t.json.Resources[logsId]).toMatchObject({
        DeletionPolicy: 'Retain',
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
          PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        },
      });
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 365 })]) },
      });
      t.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logsId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
              Resource: objectsArn(logsId, 'hot-site'),
              Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [bucketId, 'Arn'] } }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ]),
        },
      });
    });

    it('has no Object Lock by default, and ArchiveSet gets no retention permission', () => {
      expect(t.json.Resources[bucketId].Properties.ObjectLockEnabled).toBeUndefined();
      const actions = roleStatements(t.json, 'Phase2ArchiveSetServiceRole').flatMap((s) => [s.Action].flat());
      expect(actions).not.toContain('s3:PutObjectRetention');
      expect(actions.filter((a) => a.includes('Bypass'))).toEqual([]);
    });

    it('writes with kms:GenerateDataKey and kms:Decrypt only, through S3', () => {
      const kmsStatements = roleStatements(t.json, 'Phase2ArchiveSetServiceRole').filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
      expect(kmsStatements.map((s) => s.Action)).toEqual([['kms:Decrypt', 'kms:GenerateDataKey']]);
    });
  });

  describe('configured through context: Object Lock, supplied key, noncurrent days, DEEP_ARCHIVE', () => {
    let t: ReturnType<typeof synth>;
    let bucketId: string;
    const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    beforeAll(() => {
      t = synth({
        context: {
          archiveObjectLockMode: 'COMPLIANCE',
          archiveStorageClass: 'DEEP_ARCHIVE',
          hotSiteKeyArn: keyArn,
          noncurrentVersionExpirationDays: '14',
          accessLogRetentionDays: 90,
        },
      });
      bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    });

    it('enables Object Lock on the bucket without a default retention (sets/ must stay prunable)', () => {
      const properties = t.json.Resources[bucketId].Properties;
      expect(properties.ObjectLockEnabled).toBe(true);
      expect(properties.ObjectLockConfiguration?.Rule).toBeUndefined();
    });

    it('tells ArchiveSet the lock mode and days (default: the class minimum, 180 for DEEP_ARCHIVE)', () => {
      t.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('ArchiveSet'),
        Environment: { Variables: Match.objectLike({ ARCHIVE_STORAGE_CLASS: 'DEEP_ARCHIVE', ARCHIVE_OBJECT_LOCK_MODE: 'COMPLIANCE', ARCHIVE_OBJECT_LOCK_DAYS: '180' }) },
      });
    });

    it('lets ArchiveSet set and read retention on archive/* only, never bypass it', () => {
      const statements = roleStatements(t.json, 'Phase2ArchiveSetServiceRole');
      const retention = statements.filter((s) => [s.Action].flat().some((a) => a.endsWith('ObjectRetention')));
      expect(retention).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:GetObjectRetention', 's3:ListMultipartUploadParts', 's3:PutObject', 's3:PutObjectRetention'],
          Resource: objectsArn(bucketId, 'archive'),
        },
      ]);
      expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a.includes('Bypass'))).toEqual([]);
    });

    it('lets PruneSets delete in archive/ without setting retention (it only reads the lock, to keep what is still locked)', () => {
      const actions = roleStatements(t.json, 'Phase2PruneSetsServiceRole').flatMap((s) => [s.Action].flat());
      expect(actions).toContain('s3:DeleteObject');
      for (const forbidden of ['s3:PutObjectRetention', 's3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectLegalHold']) {
        expect(actions).not.toContain(forbidden);
      }
    });

    it('keeps archive/ in DEEP_ARCHIVE and expires noncurrent versions after 14 days', () => {
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 14 } }),
            Match.objectLike({ Prefix: 'archive/', Transitions: [{ StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 0 }] }),
          ]),
        },
      });
      t.template.hasResourceProperties('AWS::S3::Bucket', { LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90 })]) } });
    });

    it('encrypts with the supplied key and creates no hot-site key', () => {
      t.template.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn } }] },
      });
      expect(Object.keys(t.json.Resources).filter((id) => id.startsWith('HotSiteKey'))).toEqual([]);
      expect(roleStatements(t.json, 'Phase2ValidateSetServiceRole')).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Resource: keyArn }));
    });
  });

  it('refuses an invalid Object Lock mode, naming the key', () => {
    expect(() => synth({ context: { archiveObjectLockMode: 'LEGAL_HOLD' } })).toThrow(/invalid context: archiveObjectLockMode/);
  });
});

describe('hot-site sets/ Object Lock (issue 21 item 3)', () => {
  it('is off by default: no Object Lock, PruneSets gets no retention permission and no lock variables', () => {
    const t = synth();
    const bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    expect(t.json.Resources[bucketId].Properties.ObjectLockEnabled).toBeUndefined();
    const actions = roleStatements(t.json, 'Phase2PruneSetsServiceRole').flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => a.includes('Retention') || a.includes('Bypass'))).toEqual([]);
    const prune = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function' && /PruneSets/.test(r.Properties.Description)) as any;
    expect(Object.keys(prune.Properties.Environment.Variables)).not.toEqual(expect.arrayContaining(['SETS_OBJECT_LOCK_MODE']));
    expect(prune.Properties.Environment.Variables.OBJECT_LOCK_ENABLED).toBeUndefined();
  });

  describe('with setsObjectLockMode=GOVERNANCE', () => {
    let t: ReturnType<typeof synth>;
    let bucketId: string;
    beforeAll(() => {
      t = synth({ context: { setsObjectLockMode: 'GOVERNANCE' } });
      bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    });

    it('enables Object Lock on the bucket without a default retention (a default would be one period for every key)', () => {
      const properties = t.json.Resources[bucketId].Properties;
      expect(properties.ObjectLockEnabled).toBe(true);
      expect(properties.ObjectLockConfiguration?.Rule).toBeUndefined();
    });

    it('tells PruneSets the mode and that locks must be looked up', () => {
      t.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('PruneSets'),
        Environment: { Variables: Match.objectLike({ SETS_OBJECT_LOCK_MODE: 'GOVERNANCE', OBJECT_LOCK_ENABLED: 'true' }) },
      });
    });

    it('lets PruneSets set and read retention on sets/* only, never bypass governance or delete a version', () => {
      const statements = roleStatements(t.json, 'Phase2PruneSetsServiceRole');
      const retention = statements.filter((s) => [s.Action].flat().some((a) => a.endsWith('ObjectRetention')));
      expect(retention).toEqual([{ Effect: 'Allow', Action: ['s3:GetObjectRetention', 's3:PutObjectRetention'], Resource: objectsArn(bucketId, 'sets') }]);
      const actions = statements.flatMap((s) => [s.Action].flat());
      for (const forbidden of ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectLegalHold']) expect(actions).not.toContain(forbidden);
    });

    it('lets the operator role read (never set) sets/ retention, so a prune by hand keeps what is still locked', () => {
      const statements = roleStatements(t.json, 'OperatorsOperatorRole');
      // (CDK merges it with the delete grant on the same prefix.)
      expect(statements.filter((s) => [s.Action].flat().some((a) => a.endsWith('ObjectRetention')))).toEqual([
        { Effect: 'Allow', Action: ['s3:DeleteObject', 's3:GetObjectRetention'], Resource: objectsArn(bucketId, 'sets') },
      ]);
      expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => a === 's3:PutObjectRetention' || a.includes('Bypass'))).toEqual([]);
    });

    it('gives ArchiveSet no retention permission (the archive lock is separate)', () => {
      const actions = roleStatements(t.json, 'Phase2ArchiveSetServiceRole').flatMap((s) => [s.Action].flat());
      expect(actions).not.toContain('s3:PutObjectRetention');
    });
  });

  it('with only the archive locked, PruneSets may read (not set) archive/ retention, to keep what is still locked', () => {
    const t = synth({ context: { archiveObjectLockMode: 'COMPLIANCE' } });
    const bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    const statements = roleStatements(t.json, 'Phase2PruneSetsServiceRole');
    expect(statements.filter((s) => [s.Action].flat().some((a) => a.endsWith('ObjectRetention')))).toEqual([
      { Effect: 'Allow', Action: 's3:GetObjectRetention', Resource: objectsArn(bucketId, 'archive') },
    ]);
    t.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('PruneSets'),
      Environment: { Variables: Match.objectLike({ OBJECT_LOCK_ENABLED: 'true' }) },
    });
  });

  it('refuses an invalid sets/ lock mode, naming the key', () => {
    expect(() => synth({ context: { setsObjectLockMode: 'FOREVER' } })).toThrow(/invalid context: setsObjectLockMode/);
  });
});
