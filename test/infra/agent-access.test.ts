import { Match } from 'aws-cdk-lib/assertions';
import { SSM_AGENT_ACTIONS } from '#infra/agent-access';
import { actionsOf, logicalId, objectsArn, parameterArn, roleStatements, synth } from './support/synth';

describe('AgentAccess (the CommServe managed node)', () => {
  describe('defaults (SQLite: no credential)', () => {
    let t: ReturnType<typeof synth>;
    let bucketId: string;
    let machineId: string;
    beforeAll(() => {
      t = synth();
      bucketId = logicalId(t.json, 'AWS::S3::Bucket', 'HotSiteBucket');
      machineId = logicalId(t.json, 'AWS::StepFunctions::StateMachine', 'DrJobStateMachine');
    });

    it('is the hybrid-activation service role: trusted by Systems Manager of this account only', () => {
      t.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: {
          Statement: [
            {
              Effect: 'Allow',
              Action: 'sts:AssumeRole',
              Principal: { Service: 'ssm.amazonaws.com' },
              Condition: {
                StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':*']] } },
              },
            },
          ],
        },
        ManagedPolicyArns: Match.absent(),
      });
      t.template.hasOutput('AgentRoleName', { Value: { Ref: logicalId(t.json, 'AWS::IAM::Role', 'AgentRole') } });
    });

    it('reads and writes sets/*, jobs/*, state/* and repair/* (staged repair copies) only (multipart included), writes recovery/* (one guide per job; RepairObject publishes RECOVERY.md), lists the uploads in progress (phase 1 aborts stale ones), and never reads archive/*, deletes, lists versions, restores or writes RECOVERY.md itself', () => {
      const statements = roleStatements(t.json, 'AgentRole');
      const s3 = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('s3:')));
      expect(s3).toEqual([
        {
          Effect: 'Allow',
          Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion', 's3:ListMultipartUploadParts', 's3:PutObject'],
          Resource: [objectsArn(bucketId, 'jobs'), objectsArn(bucketId, 'repair'), objectsArn(bucketId, 'sets'), objectsArn(bucketId, 'state')],
        },
        { Effect: 'Allow', Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads'], Resource: { 'Fn::GetAtt': [bucketId, 'Arn'] } },
        { Effect: 'Allow', Action: ['s3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:PutObject'], Resource: objectsArn(bucketId, 'recovery') },
      ]);
      expect(actionsOf(statements).filter((a) => a.startsWith('s3:') && /Delete|Bypass|PutBucket|Restore|Versions|\*$/.test(a))).toEqual([]);
      expect(JSON.stringify(s3)).not.toContain('RECOVERY.md');
      expect(JSON.stringify(s3)).not.toContain('/archive/');
    });

    it('invokes the RepairObject function only (repairs and RECOVERY.md are its writes)', () => {
      const fnId = logicalId(t.json, 'AWS::Lambda::Function', 'RepairRepairObject');
      const lambda = roleStatements(t.json, 'AgentRole').filter((s) => [s.Action].flat().some((a) => a.startsWith('lambda:')));
      expect(lambda).toEqual([{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [fnId, 'Arn'] } }]);
    });

    it('answers phase-1 callbacks, starts jobs by hand and describes (doctor) the DR job state machine only', () => {
      const states = roleStatements(t.json, 'AgentRole').filter((s) => [s.Action].flat().some((a) => a.startsWith('states:')));
      expect(states).toEqual([
        { Effect: 'Allow', Action: ['states:DescribeStateMachine', 'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess', 'states:StartExecution'], Resource: { Ref: machineId } },
      ]);
    });

    it('reads its settings by path, and no other parameter', () => {
      const ssmRead = roleStatements(t.json, 'AgentRole').filter((s) => [s.Action].flat().some((a) => a.startsWith('ssm:GetParameter')));
      expect(ssmRead).toEqual([
        {
          Effect: 'Allow',
          Action: ['ssm:GetParameter', 'ssm:GetParameters', 'ssm:GetParametersByPath'],
          Resource: [parameterArn('commserve-dr/default'), parameterArn('commserve-dr/default/*')],
        },
      ]);
    });

    it('puts metrics in the CommServeDR namespace only', () => {
      expect(roleStatements(t.json, 'AgentRole')).toContainEqual({
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'CommServeDR' } },
      });
    });

    it("has the SSM Agent's Run Command channel, without AmazonSSMManagedInstanceCore's account-wide GetParameter", () => {
      expect(roleStatements(t.json, 'AgentRole')).toContainEqual({ Effect: 'Allow', Action: [...SSM_AGENT_ACTIONS].sort(), Resource: '*' });
      expect(SSM_AGENT_ACTIONS.filter((a) => a.startsWith('ssm:GetParameter'))).toEqual([]);
    });

    it('gets no KMS access through SSM when no SQL Server credential is configured', () => {
      const kms = roleStatements(t.json, 'AgentRole').filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')));
      expect(kms.map((s) => (s.Condition as any).StringEquals['kms:ViaService'])).toEqual([{ 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] }]);
    });
  });

  describe('with the SQL Server credential (operator-created SecureString)', () => {
    const viaSsm = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

    it('creates a key for it, outputs its ARN, and lets the agent read and decrypt that parameter only', () => {
      const t = synth({ context: { sqlServerCredentialParameter: '/commserve-dr-secrets/default/SqlServerPassword' } });
      const keyId = logicalId(t.json, 'AWS::KMS::Key', 'CredentialKey');
      t.template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, Description: Match.stringLikeRegexp('SqlServerPassword') });
      t.template.hasOutput('CredentialKeyArn', { Value: { 'Fn::GetAtt': [keyId, 'Arn'] } });
      const statements = roleStatements(t.json, 'AgentRole');
      expect(statements).toContainEqual({ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('commserve-dr-secrets/default/SqlServerPassword') });
      expect(statements).toContainEqual({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] }, Condition: viaSsm });
      // The stack never creates the secret itself.
      expect(Object.values(t.json.Resources).filter((r: any) => r.Type === 'AWS::SSM::Parameter' && r.Properties.Type !== 'String')).toEqual([]);
      for (const fn of ['Phase2ValidateSetServiceRole', 'Phase2ArchiveSetServiceRole', 'Phase2ReportJobServiceRole']) {
        expect(JSON.stringify(roleStatements(t.json, fn))).not.toContain('SqlServerPassword');
      }
    });

    it('uses a supplied key, and AmazonSSMManagedInstanceCore when opted in', () => {
      const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
      const t = synth({ context: { sqlServerCredentialParameter: 'CommServeSql', sqlServerCredentialKeyArn: keyArn, agentUseManagedInstanceCore: 'true' } });
      expect(Object.keys(t.json.Resources).filter((id) => id.startsWith('CredentialKey'))).toEqual([]);
      expect(roleStatements(t.json, 'AgentRole')).toContainEqual({ Effect: 'Allow', Action: 'kms:Decrypt', Resource: keyArn, Condition: viaSsm });
      expect(roleStatements(t.json, 'AgentRole')).toContainEqual({ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: parameterArn('CommServeSql') });
      t.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({ Statement: [Match.objectLike({ Principal: { Service: 'ssm.amazonaws.com' } })] }),
        ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] }],
      });
    });
  });
});
