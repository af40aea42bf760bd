import { logicalId, objectsArn, roleStatements, synth } from './support/synth';

describe('RepairFunction (RepairObject: the cloud-side writer of repairs and RECOVERY.md, issue 21)', () => {
  let t: ReturnType<typeof synth>;
  let bucketId: string;
  let fnId: string;
  let roleId: string;
  beforeAll(() => {
    t = synth();
    bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
    fnId = logicalId(t.json, 'AWS::Lambda::Function', 'RepairRepairObject');
    roleId = logicalId(t.json, 'AWS::IAM::Role', 'RepairRepairObjectServiceRole');
  });

  it('is the repair-object handler on nodejs22.x with the hot-site bucket in its environment, 5 minutes, logs kept one year', () => {
    const fn = t.json.Resources[fnId].Properties;
    expect(fn).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 300, Architectures: ['arm64'] });
    expect(fn.Environment.Variables).toEqual({ HOT_SITE_BUCKET: { Ref: bucketId }, NODE_OPTIONS: '--enable-source-maps' });
    const logGroupId = fn.LoggingConfig.LogGroup.Ref;
    expect(t.json.Resources[logGroupId].Properties.RetentionInDays).toBe(365);
  });

  it('has its own narrow role: reads sets/, archive/, repair/, recovery/ (and versions), lists the bucket and its versions, restores archive/, writes sets/* and the key RECOVERY.md — no delete, no retention, no bucket configuration', () => {
    const s3 = roleStatements(t.json, roleId).filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
    expect(s3).toEqual([
      {
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: [objectsArn(bucketId, 'archive'), objectsArn(bucketId, 'recovery'), objectsArn(bucketId, 'repair'), objectsArn(bucketId, 'sets')],
      },
      { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketVersions'], Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
      { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'], Resource: objectsArn(bucketId, 'sets') },
      { Effect: 'Allow', Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/RECOVERY.md']] } },
      { Effect: 'Allow', Action: 's3:RestoreObject', Resource: objectsArn(bucketId, 'archive') },
    ]);
    const all = roleStatements(t.json, roleId).flatMap((s) => [s.Action].flat());
    expect(all.filter((a) => /Delete|Retention|LegalHold|Bypass|PutBucket|Configuration|^s3:\*$/.test(a))).toEqual([]);
    expect(all.filter((a) => !a.startsWith('s3:') && !a.startsWith('kms:'))).toEqual([]);
  });

  it('is invoked by the agent role only, and the agent finds it under its settings path (RepairFunctionName)', () => {
    const invokers = Object.entries(t.json.Resources)
      .filter(([, r]: [string, any]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument).includes('lambda:InvokeFunction') && JSON.stringify(r.Properties.PolicyDocument).includes(fnId))
      .flatMap(([, r]: [string, any]) => r.Properties.Roles.map((x: { Ref: string }) => x.Ref));
    expect(invokers).toEqual([logicalId(t.json, 'AWS::IAM::Role', 'AgentRole')]);
    t.template.hasResourceProperties('AWS::SSM::Parameter', { Name: '/commserve-dr/default/RepairFunctionName', Type: 'String', Value: { Ref: fnId } });
    t.template.hasOutput('RepairFunctionName', { Value: { Ref: fnId } });
  });

  it('is one of the expected writers of the tamper rule (its copies into sets/ and RECOVERY.md raise no alarm), never a deleter', () => {
    const rule = Object.values(t.json.Resources).find((r: any) => r.Type === 'AWS::Events::Rule' && /tamper/.test(r.Properties.Description)) as any;
    const branches = rule.Properties.EventPattern.detail.$or as Array<Record<string, any>>;
    const issuers = (b: Record<string, any>) => JSON.stringify(b.userIdentity?.sessionContext?.sessionIssuer?.arn ?? []);
    const writes = branches.find((b) => b.eventName.includes('CopyObject') && b.userIdentity?.sessionContext);
    const deletes = branches.find((b) => b.eventName.includes('DeleteObject') && b.userIdentity?.sessionContext);
    expect(issuers(writes!)).toContain(roleId);
    expect(issuers(deletes!)).not.toContain(roleId);
  });
});
