import { Match } from 'aws-cdk-lib/assertions';
import { CREATE_ONLY_DENIED_ACTIONS } from '#infra/tamper-protection';
import { logicalId, synth } from './support/synth';

describe('TamperProtection (a compromised CommServe cannot destroy its own DR copies)', () => {
  let t: ReturnType<typeof synth>;
  let bucketId: string;
  let agentRoleId: string;
  let statements: any[];
  beforeAll(() => {
    t = synth();
    bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    agentRoleId = logicalId(t.json, 'AWS::IAM::Role', 'AgentRole');
    const policy = Object.values(t.json.Resources).find(
      (r: any) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId,
    ) as any;
    statements = policy.Properties.PolicyDocument.Statement;
  });

  it('by default denies the agent PutObject/CompleteMultipartUpload without If-None-Match (s3:if-none-match absent, s3:ObjectCreationOperation true), on every key', () => {
    const s = statements.find((x) => x.Sid === 'CreateOnlyCommServeWritesNeedIfNoneMatch');
    expect(s).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: { 'Fn::GetAtt': [agentRoleId, 'Arn'] } },
      Action: 's3:PutObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] },
      Condition: { Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
    });
  });

  it('leaves the create-only statement out only with the context agentCreateOnly=false (the delete/protection deny stays)', () => {
    const off = synth({ context: { agentCreateOnly: 'false' } });
    const policy = Object.values(off.json.Resources).find((r: any) => r.Type === 'AWS::S3::BucketPolicy' && r.Properties.Bucket.Ref === bucketId) as any;
    const sids = (policy.Properties.PolicyDocument.Statement as any[]).map((x) => x.Sid);
    expect(sids).not.toContain('CreateOnlyCommServeWritesNeedIfNoneMatch');
    expect(sids).toContain('CommServeNeverDeletesOrWeakensProtection');
  });

  it('denies the agent every delete, retention/legal-hold change, governance bypass and bucket protection change', () => {
    const s = statements.find((x) => x.Sid === 'CommServeNeverDeletesOrWeakensProtection');
    expect(s.Effect).toBe('Deny');
    expect(s.Principal).toEqual({ AWS: { 'Fn::GetAtt': [agentRoleId, 'Arn'] } });
    expect([s.Action].flat().sort()).toEqual([...CREATE_ONLY_DENIED_ACTIONS].sort());
    for (const a of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutBucketVersioning', 's3:PutLifecycleConfiguration', 's3:PutBucketPolicy']) {
      expect([s.Action].flat()).toContain(a);
    }
    expect(s.Resource).toEqual([{ 'Fn::GetAtt': [bucketId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] }]);
  });

  it('logs the hot-site write data events (not reads, not management events) with a single-region trail into the access-logs bucket', () => {
    t.template.hasResourceProperties('AWS::CloudTrail::Trail', {
      IsMultiRegionTrail: false,
      EnableLogFileValidation: true,
      S3KeyPrefix: 'cloudtrail',
      EventSelectors: [
        Match.objectLike({
          IncludeManagementEvents: false,
          ReadWriteType: 'WriteOnly',
          DataResources: [Match.objectLike({ Type: 'AWS::S3::Object' })],
        }),
      ],
    });
  });

  it('matches refused writes, deletes by anyone but the prune function and the operator role (manual prune), writes by unknown principals and bucket protection changes, and sends them to the alarm topic', () => {
    const rule = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::Events::Rule' && r.Properties.Description?.includes('tamper')) as any;
    const pattern = rule.Properties.EventPattern;
    expect(pattern.source).toEqual(['aws.s3']);
    expect(pattern['detail-type']).toEqual(['AWS API Call via CloudTrail']);
    const or = pattern.detail.$or as any[];
    expect(or[0]).toEqual({ eventName: expect.arrayContaining(['PutObject', 'DeleteObject']), errorCode: ['AccessDenied', 'PreconditionFailed'] });
    const pruneRoleId = logicalId(t.json, 'AWS::IAM::Role', 'Phase2PruneSetsServiceRole');
    const operatorRoleId = logicalId(t.json, 'AWS::IAM::Role', 'OperatorsOperatorRole');
    expect(or[1].userIdentity.sessionContext.sessionIssuer.arn).toEqual([{ 'anything-but': [{ 'Fn::GetAtt': [pruneRoleId, 'Arn'] }, { 'Fn::GetAtt': [operatorRoleId, 'Arn'] }] }]);
    expect(or[2].userIdentity).toEqual({ type: [{ 'anything-but': ['AssumedRole'] }] });
    expect(or.at(-1).eventName).toEqual(expect.arrayContaining(['PutBucketPolicy', 'PutBucketVersioning', 'PutBucketLifecycle']));
    const topicId = logicalId(t.json, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { Ref: topicId } })]);
  });

  it('matches an Object Lock retention change by anyone but the roles that lock (ArchiveSet, PruneSets), and every refused one', () => {
    const rule = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::Events::Rule' && r.Properties.Description?.includes('tamper')) as any;
    const or = rule.Properties.EventPattern.detail.$or as any[];
    expect(or[0].eventName).toContain('PutObjectRetention');
    const retention = or.filter((b) => b.eventName.includes('PutObjectRetention') && !b.errorCode);
    const archiveRoleId = logicalId(t.json, 'AWS::IAM::Role', 'Phase2ArchiveSetServiceRole');
    const pruneRoleId = logicalId(t.json, 'AWS::IAM::Role', 'Phase2PruneSetsServiceRole');
    expect(retention).toEqual([
      { eventName: ['PutObjectRetention'], userIdentity: { sessionContext: { sessionIssuer: { arn: [{ 'anything-but': [{ 'Fn::GetAtt': [archiveRoleId, 'Arn'] }, { 'Fn::GetAtt': [pruneRoleId, 'Arn'] }] }] } } } },
      { eventName: ['PutObjectRetention'], userIdentity: { type: [{ 'anything-but': ['AssumedRole'] }] } },
    ]);
    // A delete or legal hold is still expected from the prune function only.
    expect(or[1].eventName).toEqual(['DeleteObject', 'DeleteObjects', 'PutObjectLegalHold']);
  });

  it('raises an alarm to the alarm topic when the rule matched once in 5 minutes (AWS/Events TriggeredRules; missing data = not breaching)', () => {
    const topicId = logicalId(t.json, 'AWS::SNS::Topic', 'MonitoringAlarmTopic');
    t.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events',
      MetricName: 'TriggeredRules',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topicId }],
    });
  });
});
