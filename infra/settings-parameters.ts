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
 * and the structured settings `Registry` and `HotSite` that live in the agent's config file.
 *
 * Site settings (`SITE_SETTINGS`: `Phase1Destination`, `FirewallDirectory`, `Database`) have no default that fits a
 * real CommServe (the schema's are the local sample's relative paths), so their parameter is written only when the
 * deployment gives a value (`-c 'settings={"Phase1Destination":"D:\\DR"}'`), which must be an absolute path; else
 * the agent's config file sets them, and `commserve-dr doctor` (and a scheduled job) names the one missing.
 * `Database` is one parameter holding the JSON object (e.g. the SQL Server engine's `server`, `database`, `user`,
 * `passwordParameter`, TLS settings) — never a password: the SQL Server password stays in its own SecureString.
 * The SQL Server credential is a `SecureString` the operator creates (the stack never holds a secret);
 * see `AgentAccess`.
 */
import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { SettingsSchema, SETTING_NAMES, type Settings, type SettingsInput } from '#core/settings';
import { acknowledgeWildcardResource } from './nag';
import { isAbsoluteAgentPath } from './phase1-command';

/** Settings that are not published to Parameter Store although they are scalar: local-run and agent-local state. */
export const LOCAL_ONLY_SETTINGS = ['LocalDifferentialsPerCycle', 'StateDirectory'] as const;

/** Settings whose parameter the stack writes itself from a resource it creates (`StateMachineArn`: the DR job state machine; `RepairFunctionName`: RepairObject). */
export const DEPLOYMENT_SETTINGS = ['StateMachineArn', 'RepairFunctionName'] as const;

/**
 * Settings published only when the deployment gives a value: their defaults are the local sample's relative paths,
 * which mean nothing on a real CommServe.
 */
export const SITE_SETTINGS = ['Phase1Destination', 'FirewallDirectory', 'Database'] as const;
/** One of the site settings. */
export type SiteSettingName = (typeof SITE_SETTINGS)[number];

/** A setting with a scalar value (string, number, boolean or null). */
export type ScalarSettingName = {
  [K in keyof Settings]: Settings[K] extends string | number | boolean | null ? K : never;
}[keyof Settings];

const DEFAULTS: Settings = SettingsSchema.parse({});

/** The settings always published as parameters, in schema order (scalar, not local-only, not site settings). */
export const CLOUD_SETTING_NAMES: readonly ScalarSettingName[] = SETTING_NAMES.filter(
  (name): name is ScalarSettingName =>
    ![...LOCAL_ONLY_SETTINGS, ...DEPLOYMENT_SETTINGS, ...SITE_SETTINGS].includes(name as never) &&
    (DEFAULTS[name] === null || ['string', 'number', 'boolean'].includes(typeof DEFAULTS[name])),
);

/**
 * The site settings given to the deployment, checked, as parameter text: paths absolute, `Database` as JSON.
 * @throws Error naming each setting whose path is relative.
 */
export function siteParameterValues(given: SettingsInput, settings: Settings): Partial<Record<SiteSettingName, string>> {
  const values: Partial<Record<SiteSettingName, string>> = {};
  const problems: string[] = [];
  const path = (name: string, value: string) => {
    if (!isAbsoluteAgentPath(value)) problems.push(`${name}: must be an absolute path on the CommServe (D:\\…, \\\\server\\share\\… or /…), got ${JSON.stringify(value)}`);
  };
  if (given.Phase1Destination !== undefined) {
    path('Phase1Destination', settings.Phase1Destination);
    values.Phase1Destination = settings.Phase1Destination;
  }
  if (given.FirewallDirectory !== undefined) {
    path('FirewallDirectory', settings.FirewallDirectory);
    values.FirewallDirectory = settings.FirewallDirectory;
  }
  if (given.Database !== undefined) {
    const db = settings.Database;
    if (db.engine === 'sqlite') path('Database.path', db.path);
    else {
      if (db.agentBackupDirectory !== undefined) path('Database.agentBackupDirectory', db.agentBackupDirectory);
      if (db.tlsCaFile !== undefined) path('Database.tlsCaFile', db.tlsCaFile);
    }
    values.Database = JSON.stringify(db);
  }
  if (problems.length > 0) throw new Error(`invalid settings: ${problems.join('; ')}`);
  return values;
}

/** Text stored for "no limit" (`null`) in a parameter, e.g. `ArchiveRetainCycles`. */
export const UNLIMITED = 'unlimited';

/** Default cell: the prefix is `/commserve-dr/default`. */
export const DEFAULT_CELL = 'default';

/** `/commserve-dr/<cell>`. */
export function settingsPrefixForCell(cell: string): string {
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(cell)) throw new Error(`cell must be 1–64 letters, digits, '_', '.' or '-', got ${JSON.stringify(cell)}`);
  return `/commserve-dr/${cell}`;
}

/** Settings whose null means "none" rather than "no limit" (an optional directory): stored as {@link NONE}. */
export const NONE_WHEN_NULL: readonly string[] = ['AgentLogDirectory'];

/** Text stored for "not set" (`null`) of a {@link NONE_WHEN_NULL} setting; the schema reads it back as null. */
export const NONE = 'none';

/** The text form of a setting value in Parameter Store (`name` tells how its null is written). */
export function parameterValue(value: string | number | boolean | null, name?: string): string {
  if (value === null) return name !== undefined && NONE_WHEN_NULL.includes(name) ? NONE : UNLIMITED;
  return String(value);
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
  /** The parameters by setting name (site settings only when given). */
  readonly parameters: Readonly<Partial<Record<ScalarSettingName | SiteSettingName, ssm.StringParameter>>>;

  constructor(scope: Construct, id: string, props: SettingsParametersProps = {}) {
    super(scope, id);
    this.prefix = (props.prefix ?? settingsPrefixForCell(DEFAULT_CELL)).replace(/\/+$/, '');
    if (!/^\/[A-Za-z0-9_.\-/]+$/.test(this.prefix)) throw new Error(`settings prefix must be an absolute SSM path, got ${JSON.stringify(this.prefix)}`);
    const parsed = SettingsSchema.safeParse(props.settings ?? {});
    if (!parsed.success) {
      throw new Error(`invalid settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    this.settings = parsed.data;
    const parameters: Partial<Record<ScalarSettingName | SiteSettingName, ssm.StringParameter>> = {};
    for (const name of CLOUD_SETTING_NAMES) {
      parameters[name] = new ssm.StringParameter(this, name, {
        parameterName: `${this.prefix}/${name}`,
        stringValue: parameterValue(this.settings[name], name),
        description: `commserve-dr setting ${name} (default ${parameterValue(DEFAULTS[name], name)}); read by the agent and the Lambdas at run time`,
        tier: ssm.ParameterTier.STANDARD,
      });
    }
    for (const [name, value] of Object.entries(siteParameterValues(props.settings ?? {}, this.settings)) as Array<[SiteSettingName, string]>) {
      parameters[name] = new ssm.StringParameter(this, name, {
        parameterName: `${this.prefix}/${name}`,
        stringValue: value,
        description: `commserve-dr setting ${name} of this CommServe (no default: set at deploy time); read by the agent at each job`,
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
