/** OperatorAccess: the recovery and operator roles, statement by statement (synthesized template). */
import { logicalId, roleStatements, synth, type Statement } from './support/synth';

describe('OperatorAccess (recovery and operator roles)', () => {
  const t = synth();
  const bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
  const keyId = logicalId(t.json, 'AWS::KMS::Key', 'HotSiteKey');

  it('both roles are assumable by this account only (its IAM principals still need sts:AssumeRole in their own policies), 12-hour sessions', () => {
    for (const prefix of ['OperatorsRecoveryRole', 'OperatorsOperatorRole']) {
      t.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            {
              Action: 'sts:AssumeRole',
              Effect: 'Allow',
              Principal: { AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
            },
          ],
        },
        MaxSessionDuration: 43200,
      });
      expect(logicalId(t.json, 'AWS::IAM::Role', prefix)).toMatch(new RegExp(`^${prefix}`));
    }
    t.template.hasOutput('RecoveryRoleArn', { Value: { 'Fn::GetAtt': [logicalId(t.json, 'AWS::IAM::Role', 'OperatorsRecoveryRole'), 'Arn'] } });
    t.template.hasOutput('OperatorRoleArn', { Value: { 'Fn::GetAtt': [logicalId(t.json, 'AWS::IAM::Role', 'OperatorsOperatorRole'), 'Arn'] } });
  });

  /** Every (action, resource[, condition]) pair the statements grant, as text: independent of how CDK merges statements. */
  const grants = (statements: Statement[]) =>
    statements
      .flatMap((st) => [st.Action].flat().flatMap((a) => [st.Resource].flat().map((r) => `${st.Effect} ${a} ${flat(r)}${st.Condition ? ` if ${flat(st.Condition)}` : ''}`)))
      .sort();
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, any>;
    if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(flat).join(o['Fn::Join'][0]);
    if (o['Fn::GetAtt']) return o['Fn::GetAtt'][0] === bucketId ? 'bucket' : o['Fn::GetAtt'][0] === keyId ? 'key' : `<${o['Fn::GetAtt'][0]}>`;
    if (o.Ref) return `<${o.Ref}>`;
    return JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, x]) => [k, typeof x === 'object' ? flat(x) : x])));
  };
  const settings = ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'].flatMap((a) =>
    ['', '/*'].map((tail) => `Allow ${a} arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/commserve-dr/default${tail}`),
  );
  const via = ' if {"StringEquals":"{\\"kms:ViaService\\":\\"s3.<AWS::Region>.amazonaws.com\\"}"}';
  const recovery = [
    ...['archive', 'jobs', 'sets', 'state'].flatMap((area) => [`Allow s3:GetObject bucket/${area}/*`, `Allow s3:GetObjectVersion bucket/${area}/*`]),
    'Allow s3:ListBucket bucket',
    'Allow s3:RestoreObject bucket/archive/*',
    `Allow kms:Decrypt key${via}`,
    ...settings,
  ];

  it('recovery: reads sets/, archive/, jobs/, state/, lists the bucket, restores archive/ objects, decrypts through S3, reads the settings — nothing that writes or deletes', () => {
    expect(grants(roleStatements(t.json, 'OperatorsRecoveryRole'))).toEqual([...recovery].sort());
  });

  it('operator: the recovery permissions, plus writes verify/ and prune/, reads prune/, deletes (no version ids) in sets/ and archive/', () => {
    const statements = roleStatements(t.json, 'OperatorsOperatorRole');
    expect(grants(statements)).toEqual(
      [
        ...recovery,
        'Allow s3:GetObject bucket/prune/*',
        'Allow s3:GetObjectVersion bucket/prune/*',
        ...['prune', 'verify'].flatMap((area) => ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'].map((a) => `Allow ${a} bucket/${area}/*`)),
        `Allow kms:GenerateDataKey key${via}`,
        'Allow s3:DeleteObject bucket/archive/*',
        'Allow s3:DeleteObject bucket/sets/*',
      ].sort(),
    );
    expect(JSON.stringify(statements)).not.toMatch(/DeleteObjectVersion|BypassGovernanceRetention|PutObjectRetention/);
  });
});
