import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { synth } from './support/synth';

/** Runs the AwsSolutions pack over a stack; returns every unacknowledged finding (errors and warnings). */
function findings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`));
}

/** Every acknowledgement recorded in the tree: `{ path, id, reason }` (CDK stores ids as `Annotation::<id>`). */
function acknowledgements(root: IConstruct): Array<{ path: string; id: string; reason: string }> {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>).map(([id, reason]) => ({ path: c.node.path, id: id.replace(/^annotation::/i, ''), reason }))),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  const variants: Array<[string, Record<string, unknown>]> = [
    ['defaults', {}],
    [
      'every option on',
      {
        commServeInstanceId: 'mi-0123456789abcdef0',
        archiveObjectLockMode: 'GOVERNANCE',
        archiveStorageClass: 'GLACIER_IR',
        hotSiteKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        differentialSchedules: ['cron(0 5,11,23 * * ? *)'],
        sqlServerCredentialParameter: '/commserve-dr-secrets/default/SqlServerPassword',
        alarmEmail: 'dr-team@example.com',
        agentUseManagedInstanceCore: true,
      },
    ],
  ];

  describe.each(variants)('%s', (_, context) => {
    let stack: Stack;
    beforeAll(() => {
      stack = synth({ context }).stack;
    });

    it('has no unacknowledged finding', () => {
      expect(findings(stack)).toEqual([]);
    });

    it('acknowledges only single findings (never a whole rule for IAM5), each with a specific reason', () => {
      const acks = acknowledgements(stack);
      expect(acks.length).toBeGreaterThan(0);
      for (const ack of acks) {
        expect(ack.id).toMatch(/^AwsSolutions-(IAM4\[Policy::.+\]|IAM5\[(Resource|Action)::.+\]|L1|S1)$/);
        expect(ack.reason.length).toBeGreaterThanOrEqual(60);
      }
      // Wildcard resources acknowledged are scoped: a bucket area, a settings path, a function's versions, or `*` for API without resource-level permissions.
      const resources = acks.filter((a) => a.id.startsWith('AwsSolutions-IAM5[Resource::')).map((a) => a.id.slice('AwsSolutions-IAM5[Resource::'.length, -1));
      for (const resource of new Set(resources)) {
        expect(resource).toMatch(/^(\*|<HotSiteBucket[0-9A-F]{8}\.Arn>\/(sets|archive|jobs|prune|verify|state|repair|recovery)\/\*|arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter\/commserve-dr\/default\/\*|<Phase2(ValidateSet|ArchiveSet|PruneSets|ReportJob)[0-9A-F]{8}\.Arn>:\*)$/);
      }
    });
  });

  it('does report findings (the check is live): an unencrypted, unlogged bucket fails', () => {
    const { stack } = synth();
    const probe = new s3.CfnBucket(stack, 'NagProbe', {});
    expect(CfnResource.isCfnResource(probe)).toBe(true);
    expect(findings(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/AwsSolutions-S1 at CommserveDrStack\/NagProbe/)]));
  });
});
