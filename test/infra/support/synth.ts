/** Shared helpers of the infra tests: one in-process synthesis (no bundling) and template lookups. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuildAppOptions } from '#infra/app';
import type { CfnTemplate } from '#infra/definition';

const CACHE = path.join(__dirname, '..', '..', '..', '.cache');

export type TemplateJson = CfnTemplate & { Resources: Record<string, any>; Outputs?: Record<string, any>; Parameters?: Record<string, any> };

/** Synthesizes in-process without bundling, into a folder under .cache/ that is removed afterwards. */
export function synth(options: BuildAppOptions = {}) {
  fs.mkdirSync(CACHE, { recursive: true });
  const outdir = fs.mkdtempSync(path.join(CACHE, 'infra-test-'));
  try {
    const { stack, app } = buildApp({ outdir, skipBundling: true, cloudFormationValidation: false, ...options });
    const template = Template.fromStack(stack);
    const annotations = Annotations.fromStack(stack);
    return { app, stack, template, annotations, json: template.toJSON() as TemplateJson };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** The logical id of the only resource of `type` whose id starts with `prefix`. */
export function logicalId(json: { Resources: Record<string, any> }, type: string, prefix: string): string {
  const ids = Object.keys(json.Resources).filter((id) => json.Resources[id].Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} whose id starts with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** The statements of the default policy of a role whose logical id starts with `rolePrefix`, as synthesized. */
export function roleStatements(json: { Resources: Record<string, any> }, rolePrefix: string): Statement[] {
  const roleId = logicalId(json, 'AWS::IAM::Role', rolePrefix);
  const policies = Object.values(json.Resources).filter(
    (r: any) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: any) => ref.Ref === roleId),
  ) as any[];
  if (policies.length !== 1) throw new Error(`expected one policy for ${roleId}, found ${policies.length}`);
  return policies[0].Properties.PolicyDocument.Statement;
}

/** Every action of a list of statements. */
export const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());

/** `{Fn::Join: ['', [{Fn::GetAtt: [bucket, Arn]}, '/<prefix>/*']]}`. */
export const objectsArn = (bucketId: string, prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, `/${prefix}/*`]] });

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name>` as synthesized. */
export const parameterArn = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ssm:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:parameter/${name}`]],
});
