/**
 * The DR job state-machine definition as plain Amazon States Language JSON, for the local run
 * (SPEC §7: the *same* definition the CDK app deploys, executed by aws-local-stepfunctions).
 *
 * The synthesized `DefinitionString` is an `Fn::Join` holding CloudFormation tokens (the Lambda ARNs,
 * the partition). They are resolved to fixed, deterministic stand-ins (TOOLING.md):
 * - `AWS::Partition` → `aws`, `AWS::Region` → `us-east-1`, `AWS::AccountId` → `123456789012`,
 *   `AWS::URLSuffix` → `amazonaws.com`, `AWS::StackName` → the stack name;
 * - `Fn::GetAtt [id, Arn]` → a stable fake ARN per logical id (for a Lambda function
 *   `arn:aws:lambda:us-east-1:123456789012:function:<logicalId>`);
 * - `Ref id` → a name derived from the logical id (lowercase for buckets), or a parameter's default;
 * - `DefinitionSubstitutions` (`${name}` placeholders) are applied when present.
 * The local runner overrides every Task by state name, so the fake ARNs are never called.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, STACK_NAME } from './app';
import { PROJECT_ROOT } from './phase2-functions';

/** Fixed stand-ins for the pseudo parameters. */
export const LOCAL_PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_NAME,
  'AWS::NoValue': '',
};

/** A CloudFormation template (only the parts read here). */
export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Parameters?: Record<string, { Default?: unknown }>;
}

/** A resolved definition and its state names (top-level `States`, in definition order). */
export interface DrJobDefinition {
  definition: Record<string, unknown>;
  stateNames: string[];
}

/** Raised when a template holds no (or several) state machines, or a token that cannot be resolved. */
export class DefinitionResolutionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DefinitionResolutionError';
  }
}

const SERVICE_BY_TYPE: Record<string, string> = {
  'AWS::Lambda::Function': 'lambda',
  'AWS::S3::Bucket': 's3',
  'AWS::IAM::Role': 'iam',
  'AWS::KMS::Key': 'kms',
  'AWS::Logs::LogGroup': 'logs',
  'AWS::SNS::Topic': 'sns',
  'AWS::StepFunctions::StateMachine': 'states',
};

/**
 * Synthesizes the app in-process (no bundling), then resolves the DR job state machine's definition.
 * Writes the cloud assembly to a temporary folder under `.cache/` and removes it.
 * @throws DefinitionResolutionError when the definition cannot be resolved.
 */
export function synthesizeDrJobDefinition(options: { context?: Record<string, unknown> } = {}): DrJobDefinition {
  const cacheDir = path.join(PROJECT_ROOT, '.cache');
  fs.mkdirSync(cacheDir, { recursive: true });
  const outdir = fs.mkdtempSync(path.join(cacheDir, 'synth-'));
  try {
    const { stack } = buildApp({ outdir, skipBundling: true, cloudFormationValidation: false, context: options.context });
    return resolveDefinitionFromTemplate(Template.fromStack(stack).toJSON() as CfnTemplate);
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Resolves the definition of the only `AWS::StepFunctions::StateMachine` of a synthesized template
 * (in-process or written by `cdk synth`).
 * @throws DefinitionResolutionError when there is not exactly one state machine, an unknown intrinsic
 *   function or reference, or a definition that is not JSON.
 */
export function resolveDefinitionFromTemplate(template: CfnTemplate): DrJobDefinition {
  const resources = template.Resources ?? {};
  const machines = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) {
    throw new DefinitionResolutionError(`expected one AWS::StepFunctions::StateMachine in the template, found ${machines.length}`);
  }
  const [logicalId, machine] = machines[0];
  const properties = machine.Properties ?? {};
  let text: string;
  if (properties.DefinitionString !== undefined) {
    text = asString(resolveValue(properties.DefinitionString, template), 'DefinitionString');
  } else if (properties.Definition !== undefined) {
    text = JSON.stringify(resolveValue(properties.Definition, template));
  } else {
    throw new DefinitionResolutionError(`state machine ${logicalId} has no DefinitionString`);
  }
  const substitutions = properties.DefinitionSubstitutions as Record<string, unknown> | undefined;
  if (substitutions) {
    for (const [name, value] of Object.entries(substitutions)) {
      text = text.split(`\${${name}}`).join(asString(resolveValue(value, template), `DefinitionSubstitutions.${name}`));
    }
  }
  let definition: Record<string, unknown>;
  try {
    definition = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new DefinitionResolutionError(`the resolved definition of ${logicalId} is not JSON: ${(error as Error).message}`);
  }
  const states = definition.States;
  if (!states || typeof states !== 'object') throw new DefinitionResolutionError(`the definition of ${logicalId} has no States`);
  return { definition, stateNames: Object.keys(states) };
}

function asString(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new DefinitionResolutionError(`${where} did not resolve to a string`);
}

/** Resolves CloudFormation intrinsic functions in a template value. */
function resolveValue(value: unknown, template: CfnTemplate): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, template));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 1) {
    const [key, arg] = entries[0];
    switch (key) {
      case 'Ref':
        return resolveRef(asString(arg, 'Ref'), template);
      case 'Fn::GetAtt': {
        const [id, attribute] = typeof arg === 'string' ? arg.split('.', 2) : (arg as [string, string]);
        return resolveGetAtt(id, attribute, template);
      }
      case 'Fn::Join': {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolveValue(parts, template) as unknown[]).map((p) => asString(p, 'Fn::Join part')).join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        return (resolveValue(list, template) as unknown[])[Number(resolveValue(index, template))];
      }
      case 'Fn::Split': {
        const [separator, source] = arg as [string, unknown];
        return asString(resolveValue(source, template), 'Fn::Split').split(separator);
      }
      case 'Fn::Sub': {
        const [pattern, variables] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return pattern.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
          if (name in variables) return asString(resolveValue(variables[name], template), `Fn::Sub ${name}`);
          if (name.includes('.')) {
            const [id, attribute] = name.split('.', 2);
            return asString(resolveGetAtt(id, attribute, template), `Fn::Sub ${name}`);
          }
          return asString(resolveRef(name, template), `Fn::Sub ${name}`);
        });
      }
      default:
        if (key.startsWith('Fn::')) throw new DefinitionResolutionError(`cannot resolve ${key} in the state-machine definition`);
    }
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, resolveValue(v, template)]));
}

/**
 * Values standing in for deploy-time parameters when the definition runs locally: for parameters without a default,
 * and for `CommServeInstanceId`, whose default is empty (not registered yet: schedules held, infra/deploy-order.ts).
 */
export const LOCAL_PARAMETER_STAND_INS: Readonly<Record<string, string>> = {
  CommServeInstanceId: 'mi-0123456789abcdef0',
};

function resolveRef(name: string, template: CfnTemplate): string {
  if (name in LOCAL_PSEUDO_PARAMETERS) return LOCAL_PSEUDO_PARAMETERS[name];
  const parameter = template.Parameters?.[name];
  if (parameter) {
    if (name in LOCAL_PARAMETER_STAND_INS && (parameter.Default === undefined || parameter.Default === '')) return LOCAL_PARAMETER_STAND_INS[name];
    if (parameter.Default !== undefined) return asString(parameter.Default, `parameter ${name}`);
    throw new DefinitionResolutionError(`parameter ${name} has no default to stand in for it`);
  }
  const resource = template.Resources?.[name];
  if (!resource) throw new DefinitionResolutionError(`Ref to unknown resource or parameter ${name}`);
  return resource.Type === 'AWS::S3::Bucket' ? name.toLowerCase() : name;
}

function resolveGetAtt(id: string, attribute: string, template: CfnTemplate): string {
  const resource = template.Resources?.[id];
  if (!resource) throw new DefinitionResolutionError(`Fn::GetAtt of unknown resource ${id}`);
  if (attribute !== 'Arn') throw new DefinitionResolutionError(`cannot resolve Fn::GetAtt ${id}.${attribute}`);
  const { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': account } = LOCAL_PSEUDO_PARAMETERS;
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return `arn:${partition}:lambda:${region}:${account}:function:${id}`;
    case 'AWS::S3::Bucket':
      return `arn:${partition}:s3:::${id.toLowerCase()}`;
    case 'AWS::IAM::Role':
      return `arn:${partition}:iam::${account}:role/${id}`;
    default: {
      const service = SERVICE_BY_TYPE[resource.Type] ?? resource.Type.split('::')[1].toLowerCase();
      return `arn:${partition}:${service}:${region}:${account}:${id}`;
    }
  }
}
