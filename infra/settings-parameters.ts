/**
 * The settings in SSM Parameter Store (SPEC §9): one `String` parameter per scalar setting of
 * `core/settings.ts`, named after it, under a per-cell prefix: `/commserve-dr/<cell>/<Name>`.
 *
 * The agent reads them with `GetParametersByPath` on the prefix at the start of each job, the Lambdas at
 * cold start (`SETTINGS_PREFIX`), so a value changed in Parameter Store applies to the next job without
 * a redeploy. CloudFormation rewrites a parameter only when its value in the template changes, so a
 * console edit survives later deploys that leave that setting's context unchanged.
 *
 * Values are the settings' text form: numbers in decimal, booleans `true`/`false`, and
 * `ArchiveRetainCycles` = `unlimited` for "keep every archive cycle" (the schema's `null`; an empty value
 * is not allowed by SSM). Defaults come from the settings schema itself.
 *
 * Not parameters: `LocalDifferentialsPerCycle` and `StateDirectory` (local run and agent-local state),
 * and the structured settings (`Database`, `Registry`, `HotSite`) that live in the agent's config file.
 * The SQL Server credential is a `SecureString` the operator creates (the stack never holds a secret);
 * see `AgentAccess`.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { SettingsSchema, SETTING_NAMES, type Settings, type SettingsInput } from '#core/settings';
import { acknowledgeWildcardResource } from './nag';

/** Settings that are not published to Parameter Store although they are scalar: local-run and agent-local state. */
export const LOCAL_ONLY_SETTINGS = ['LocalDifferentialsPerCycle', 'StateDirectory'] as const;

/** Settings whose parameter the stack writes itself from a resource it creates (`StateMachineArn`: the DR job state machine). */
export const DEPLOYMENT_SETTINGS = ['StateMachineArn'] as const;

/** A setting with a scalar value (string, number, boolean or null). */
export type ScalarSettingName = {
  [K in keyof Settings]: Settings[K] extends string | number | boolean | null ? K : never;
}[keyof Settings];

const DEFAULTS: Settings = SettingsSchema.parse({});

/** The settings published as parameters, in schema order (scalar and not local-only). */
export const CLOUD_SETTING_NAMES: readonly ScalarSettingName[] = SETTING_NAMES.filter(
  (name): name is ScalarSettingName =>
    ![...LOCAL_ONLY_SETTINGS, ...DEPLOYMENT_SETTINGS].includes(name as never) && (DEFAULTS[name] === null || ['string', 'number', 'boolean'].includes(typeof DEFAULTS[name])),
);

/** Text stored for "no limit" (`null`) in a parameter, e.g. `ArchiveRetainCycles`. */
export const UNLIMITED = 'unlimited';

/** Default cell: the prefix is `/commserve-dr/default`. */
export const DEFAULT_CELL = 'default';

/** `/commserve-dr/<cell>`. */
export function settingsPrefixForCell(cell: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(cell)) throw new Error(`cell must be 1–64 letters, digits, '_', '.' or '-', got ${JSON.stringify(cell)}`);
  return `/commserve-dr/${cell}`;
}

/** The text form of a setting value in Parameter Store. */
export function parameterValue(value: string | number | boolean | null): string {
  return value === null ? UNLIMITED : String(value);
}

/** Properties of the settings parameters. */
export interface SettingsParametersProps {
  /** Path prefix, without a trailing slash. Default `/commserve-dr/default`. */
  readonly prefix?: string;
  /** Setting values that differ from the schema's defaults (validated with the schema). */
  readonly settings?: SettingsInput;
}

/** One SSM `String` parameter per cloud setting, and path-scoped read grants. */
export class SettingsParameters extends Construct {
  /** `/commserve-dr/<cell>` (no trailing slash). */
  readonly prefix: string;
  /** The effective settings (schema defaults plus the given values). */
  readonly settings: Settings;
  /** The parameters by setting name. */
  readonly parameters: Readonly<Record<ScalarSettingName, ssm.StringParameter>>;

  constructor(scope: Construct, id: string, props: SettingsParametersProps = {}) {
    super(scope, id);
    this.prefix = (props.prefix ?? settingsPrefixForCell(DEFAULT_CELL)).replace(/\/+$/, '');
    if (!/^\/[A-Za-z0-9_.\-/]+$/.test(this.prefix)) throw new Error(`settings prefix must be an absolute SSM path, got ${JSON.stringify(this.prefix)}`);
    const parsed = SettingsSchema.safeParse(props.settings ?? {});
    if (!parsed.success) {
      throw new Error(`invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    this.settings = parsed.data;
    const parameters = {} as Record<ScalarSettingName, ssm.StringParameter>;
    for (const name of CLOUD_SETTING_NAMES) {
      parameters[name] = new ssm.StringParameter(this, name, {
        parameterName: `${this.prefix}/${name}`,
        stringValue: parameterValue(this.settings[name]),
        description: `commserve-dr setting ${name} (default ${parameterValue(DEFAULTS[name])}); read by the agent and the Lambdas at run time`,
        tier: ssm.ParameterTier.STANDARD,
      });
    }
    this.parameters = parameters;
  }

  /** ARN of the path itself (what `GetParametersByPath` is authorised on). */
  get pathArn(): string {
    return this.parameterArn(this.prefix);
  }

  /** ARN pattern of every parameter under the path. */
  get parametersArn(): string {
    return `${this.parameterArn(this.prefix)}/*`;
  }

  /**
   * Read the settings: `ssm:GetParametersByPath` on the prefix, `ssm:GetParameter(s)` on the parameters
   * under it. Nothing else in Parameter Store.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['ssm:GetParametersByPath', 'ssm:GetParameters', 'ssm:GetParameter'],
      resourceArns: [this.pathArn, this.parametersArn],
    });
    acknowledgeWildcardResource(
      grantee.grantPrincipal,
      this.parametersArn,
      "The cell's settings path only: settings are read by path (GetParametersByPath), so a setting added later needs no policy change. SecureStrings there cannot be decrypted without their KMS key.",
    );
    return grant;
  }

  private parameterArn(name: string): string {
    return parameterArnForName(this, name);
  }
}

/** ARN of a parameter given its name (`/a/b` or `a`). */
export function parameterArnForName(scope: Construct, name: string): string {
  return Arn.format(
    { service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\/+/, ''), arnFormat: ArnFormat.SLASH_RESOURCE_NAME },
    Stack.of(scope),
  );
}
