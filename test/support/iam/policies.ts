/**
 * The synthesized template's IAM policies, resolved to plain ARNs, and a policy evaluator for the
 * subset of the policy language the template uses (Allow/Deny, Action/NotAction, Resource/NotResource
 * with `*`/`?` wildcards, and the condition operators below). Anything outside that subset throws
 * rather than being guessed, so the evaluator can only be stricter than AWS, never laxer.
 *
 * Evaluation follows AWS's same-account logic: an explicit Deny in the identity policies or in the
 * bucket policy wins; otherwise an Allow in an identity policy is needed. (The KMS key policy of the
 * template delegates to IAM — asserted in the IAM test — so identity policies decide for KMS too.)
 */
import { ACCOUNT, type IamRequest } from './requests';

/** A CloudFormation template as JSON. */
export interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, any> }>;
  Parameters?: Record<string, { Default?: unknown }>;
}

export interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
  Sid?: string;
}

/** Resolves the intrinsic functions of a template value into text. */
export class TemplateResolver {
  constructor(
    private readonly template: Template,
    private readonly region = 'us-east-1',
    private readonly parameters: Record<string, string> = {},
  ) {}

  resolve(value: unknown): any {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const o = value as Record<string, any>;
    if ('Ref' in o) return this.ref(o.Ref);
    if ('Fn::GetAtt' in o) return this.getAtt(o['Fn::GetAtt'][0], o['Fn::GetAtt'][1]);
    if ('Fn::Join' in o) return (this.resolve(o['Fn::Join'][1]) as string[]).join(o['Fn::Join'][0]);
    if ('Fn::Select' in o) return this.resolve(o['Fn::Select'][1])[Number(o['Fn::Select'][0])];
    if ('Fn::Split' in o) return String(this.resolve(o['Fn::Split'][1])).split(o['Fn::Split'][0]);
    if ('Fn::Sub' in o) {
      const [text, vars] = Array.isArray(o['Fn::Sub']) ? o['Fn::Sub'] : [o['Fn::Sub'], {}];
      return String(text).replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
        if (vars && name in vars) return String(this.resolve(vars[name]));
        const [id, attr] = name.split('.');
        return String(attr ? this.getAtt(id, attr) : this.ref(id));
      });
    }
    if ('Fn::If' in o) throw new Error(`Fn::If is not resolved by the IAM test: ${JSON.stringify(o)}`);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(id: string): string {
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': this.region, 'AWS::AccountId': ACCOUNT, 'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': 'CommserveDrStack' };
    if (id in pseudo) return pseudo[id];
    if (this.template.Parameters && id in this.template.Parameters) return this.parameters[id] ?? String(this.template.Parameters[id].Default ?? `<${id}>`);
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Ref to unknown ${id}`);
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return resource.Properties?.BucketName ?? id.toLowerCase();
      case 'AWS::StepFunctions::StateMachine':
        return `arn:aws:states:${this.region}:${ACCOUNT}:stateMachine:${id}`;
      case 'AWS::SSM::Parameter':
        return resource.Properties?.Name;
      case 'AWS::IAM::ManagedPolicy':
        return `arn:aws:iam::${ACCOUNT}:policy/${id}`;
      default:
        return id;
    }
  }

  private getAtt(id: string, attr: string): string {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`GetAtt of unknown ${id}`);
    if (attr !== 'Arn') return `${id}.${attr}`;
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${this.ref(id)}`;
      case 'AWS::KMS::Key':
        return `arn:aws:kms:${this.region}:${ACCOUNT}:key/${id}`;
      case 'AWS::Lambda::Function':
        return `arn:aws:lambda:${this.region}:${ACCOUNT}:function:${id}`;
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${ACCOUNT}:role/${id}`;
      case 'AWS::StepFunctions::StateMachine':
        return this.ref(id);
      default:
        return `arn:aws:${resource.Type.split('::')[1].toLowerCase()}:${this.region}:${ACCOUNT}:${id}`;
    }
  }
}

/** The identity-policy statements attached to the role `roleId` (inline, `AWS::IAM::Policy`, template managed policies), resolved. */
export function roleStatements(template: Template, resolver: TemplateResolver, roleId: string): Statement[] {
  const refersToRole = (roles: unknown) => Array.isArray(roles) && roles.some((r) => (r as { Ref?: string }).Ref === roleId);
  const role = template.Resources[roleId];
  if (role?.Type !== 'AWS::IAM::Role') throw new Error(`${roleId} is not a role of the template`);
  const documents: unknown[] = [];
  for (const p of role.Properties?.Policies ?? []) documents.push(p.PolicyDocument);
  const managedRefs = new Set(((role.Properties?.ManagedPolicyArns ?? []) as Array<{ Ref?: string }>).map((a) => a.Ref).filter(Boolean));
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Policy' && refersToRole(r.Properties?.Roles)) documents.push(r.Properties?.PolicyDocument);
    if (r.Type === 'AWS::IAM::ManagedPolicy' && (refersToRole(r.Properties?.Roles) || managedRefs.has(id))) documents.push(r.Properties?.PolicyDocument);
  }
  return documents.flatMap((d) => [(resolver.resolve(d) as { Statement: Statement | Statement[] }).Statement].flat());
}

/** The statements of the bucket policy of the bucket `bucketId`, resolved. */
export function bucketPolicyStatements(template: Template, resolver: TemplateResolver, bucketId: string): Statement[] {
  const policy = Object.values(template.Resources).find((r) => r.Type === 'AWS::S3::BucketPolicy' && (r.Properties?.Bucket as { Ref?: string })?.Ref === bucketId);
  return policy ? [(resolver.resolve(policy.Properties?.PolicyDocument) as { Statement: Statement | Statement[] }).Statement].flat() : [];
}

const list = (v: string | string[] | undefined) => (v === undefined ? [] : [v].flat());

/** IAM wildcard match (`*` any run, `?` one character). */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'is' : 's');
  return re.test(value);
}

function matchesAction(s: Statement, action: string): boolean {
  if (s.NotAction !== undefined) return !list(s.NotAction).some((a) => wildcardMatch(a, action, true));
  return list(s.Action).some((a) => wildcardMatch(a, action, true));
}

function matchesResource(s: Statement, resource: string): boolean {
  if (s.NotResource !== undefined) return !list(s.NotResource).some((r) => wildcardMatch(r, resource));
  return list(s.Resource).some((r) => wildcardMatch(r, resource));
}

function conditionHolds(s: Statement, context: Record<string, string>): boolean {
  for (const [rawOperator, tests] of Object.entries(s.Condition ?? {})) {
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = rawOperator.replace(/IfExists$/, '');
    for (const [key, expected] of Object.entries(tests)) {
      const actual = Object.entries(context).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
      const values = [expected].flat().map(String);
      if (operator === 'Null') {
        // `Null: { key: 'true' }` holds when the key is absent from the request, `'false'` when it is present.
        if (!values.some((v) => (v.toLowerCase() === 'true') === (actual === undefined))) return false;
        continue;
      }
      if (actual === undefined) {
        if (ifExists) continue;
        if (operator.startsWith('StringNot') || operator.startsWith('ArnNot')) continue; // a negated test of an absent key holds
        return false;
      }
      let ok: boolean;
      switch (operator) {
        case 'StringEquals':
        case 'ArnEquals':
          ok = values.includes(actual);
          break;
        case 'StringEqualsIgnoreCase':
          ok = values.some((v) => v.toLowerCase() === actual.toLowerCase());
          break;
        case 'StringNotEquals':
          ok = !values.includes(actual);
          break;
        case 'StringLike':
        case 'ArnLike':
          ok = values.some((v) => wildcardMatch(v, actual));
          break;
        case 'StringNotLike':
          ok = !values.some((v) => wildcardMatch(v, actual));
          break;
        case 'Bool':
          ok = values.some((v) => v.toLowerCase() === actual.toLowerCase());
          break;
        default:
          throw new Error(`condition operator ${rawOperator} is not supported by the IAM test's evaluator`);
      }
      if (!ok) return false;
    }
  }
  return true;
}

/** The statement decides the request: it applies to the action, the resource and its conditions hold. */
function applies(s: Statement, request: IamRequest): boolean {
  return matchesAction(s, request.action) && matchesResource(s, request.resource) && conditionHolds(s, request.context);
}

/** Outcome of one request. */
export type Decision = 'allowed' | 'implicitly denied' | 'explicitly denied';

/**
 * Same-account evaluation: explicit Deny (identity policy, or a resource-policy Deny for everyone or for
 * `principalArn`, the role's ARN as the template resolves it) → denied; Allow in an identity policy → allowed;
 * otherwise implicitly denied. Resource-policy Allows are not counted (ours grant nothing to the roles).
 */
export function evaluate(identity: Statement[], resourcePolicy: Statement[], request: IamRequest, principalArn?: string): Decision {
  const names = (s: Statement) => (s.Principal === '*' ? ['*'] : [(s.Principal as { AWS?: string | string[] } | undefined)?.AWS ?? []].flat());
  const resourceDeny = resourcePolicy.filter((s) => s.Effect === 'Deny' && names(s).some((p) => p === '*' || (principalArn !== undefined && p === principalArn)));
  if ([...identity, ...resourceDeny].some((s) => s.Effect === 'Deny' && applies(s, request))) return 'explicitly denied';
  return identity.some((s) => s.Effect === 'Allow' && applies(s, request)) ? 'allowed' : 'implicitly denied';
}
