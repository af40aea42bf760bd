/**
 * Builds the commserve-dr CDK app: one `CommserveDrStack`, configured from context (cdk.json,
 * `cdk -c key=value`, or `buildApp({ context })`).
 *
 * Context keys (all optional; docs/DEPLOY.md has the full table). Lists and objects may be given as
 * JSON text (`cdk -c 'differentialSchedules=["cron(0 5 * * ? *)"]'`):
 * - `commServeInstanceId`: the CommServe's SSM managed-node id (`mi-…` or `i-…`). Without it the
 *   stack takes it as the CloudFormation parameter `CommServeInstanceId` at deploy time;
 * - `cell` (default `default`): settings under `/commserve-dr/<cell>/`, metric dimension `Cell`;
 * - `settings`: object of setting values (SPEC §9 names, e.g. `{"RetainCycles":7}`), validated by the schema;
 * - `bucketName`: explicit hot-site bucket name; `hotSiteKeyArn`: existing KMS key for it;
 * - `noncurrentVersionExpirationDays` (default: as long as retention keeps a SET, `noncurrentVersionDaysFor` — 97 days with
 *   the default settings), `accessLogRetentionDays` (default 365);
 * - `archiveObjectLockMode` (GOVERNANCE or COMPLIANCE; default no Object Lock), `archiveObjectLockDays`
 *   (default the archive class's minimum storage duration: 90, or 180 for DEEP_ARCHIVE);
 * - `setsObjectLockMode` (GOVERNANCE or COMPLIANCE; default no Object Lock on `sets/`): PruneSets locks each kept SET
 *   until its cycle can expire, a FULL at least as long as its DIFFERENTIALs and LOG points (issue 21 item 3);
 * - `archiveStorageClass`: GLACIER (default), DEEP_ARCHIVE or GLACIER_IR;
 * - `archiveRetryCount` (default 10), `archiveRetryIntervalMinutes` (default 30);
 * - `phase1TimeoutSeconds` (default 21,600), `phase1HeartbeatSeconds` (default 600);
 * - `scheduleTime` (default 17:00), `scheduleTimeZone` (IANA, default UTC), `differentialSchedules`
 *   (list of `cron(…)`/`rate(…)` expressions, or one), `scheduleEnabled` (default true);
 * - `sqlServerCredentialParameter` (name of the operator's SecureString), `sqlServerCredentialKeyArn`;
 * - `alarmEmail`: address(es) subscribed to the alarm topic (list, or comma-separated);
 * - `agentUseManagedInstanceCore` (default false); `agentCreateOnly` (default true: the bucket policy refuses the agent
 *   any write without `If-None-Match`, issue 21 — `false` only to deploy for an agent older than that);
 * - `agentCommand` (absolute path of the agent's launcher when `commserve-dr` is not on Local System's PATH),
 *   `agentConfigFile` (absolute path of its config file, sent as `--config`; default the machine-wide location).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { z } from 'zod';
import { ArchiveStorageClass, SettingsSchema, type SettingsInput } from '#core/settings';
import { CommserveDrStack, type CommserveDrStackProps } from './commserve-dr-stack';
import { PROJECT_ROOT } from './phase2-functions';

/** Name (and id) of the stack. */
export const STACK_NAME = 'CommserveDrStack';
/** Context key that lists the stacks whose assets are bundled (`[]` = none). */
export const BUNDLING_STACKS_CONTEXT = 'aws:cdk:bundling-stacks';

/** Options of `buildApp`. */
export interface BuildAppOptions {
  /** Cloud assembly directory; default the CLI's (`CDK_OUTDIR`) or a temporary directory. */
  readonly outdir?: string;
  /** When true, no asset is bundled (no esbuild run): for tests and the local runner, which need only the templates. */
  readonly skipBundling?: boolean;
  /** Context values; they override cdk.json's, and `cdk -c` overrides them. */
  readonly context?: Record<string, unknown>;
  /** Read cdk.json's `context` (as the CLI does), so an in-process synthesis matches `cdk synth`. Default true. */
  readonly includeProjectContext?: boolean;
  /**
   * Run CDK's built-in CloudFormation template validation after synthesis (default true). It takes
   * ~2.5 s; the local runner, which only needs the definition, turns it off.
   */
  readonly cloudFormationValidation?: boolean;
  /** Stack properties that take precedence over the context (e.g. `env`). */
  readonly stackProps?: Partial<CommserveDrStackProps>;
}

/** The app and its stack. */
export interface BuiltApp {
  app: App;
  stack: CommserveDrStack;
}

const integer = z.coerce.number().int();
/** `cdk -c key=value` passes text: JSON lists and objects are parsed, other text is kept. */
const jsonText = (value: unknown) => {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
};
const booleanText = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const oneOrMany = <T extends z.ZodType>(item: T) => z.preprocess((v) => (typeof v === 'string' ? [v] : v), z.array(item));
const kmsKeyArn = z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, 'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)');
const ContextSchema = z.object({
  commServeInstanceId: z.string().regex(/^(mi|i)-[0-9a-f]{8,17}$/, 'must be an SSM managed-node id (mi-… or i-…)').optional(),
  cell: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "must be 1–64 letters, digits, '_', '.' or '-'").optional(),
  settings: z.preprocess(jsonText, z.record(z.string(), z.unknown())).optional(),
  bucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name').optional(),
  hotSiteKeyArn: kmsKeyArn.optional(),
  noncurrentVersionExpirationDays: integer.min(1).optional(),
  accessLogRetentionDays: integer.min(1).optional(),
  archiveObjectLockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']).optional(),
  archiveObjectLockDays: integer.min(1).max(36500).optional(),
  setsObjectLockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']).optional(),
  archiveStorageClass: ArchiveStorageClass.optional(),
  archiveRetryCount: integer.min(0).optional(),
  archiveRetryIntervalMinutes: z.coerce.number().min(0).optional(),
  phase1TimeoutSeconds: integer.min(60).optional(),
  phase1HeartbeatSeconds: integer.min(10).optional(),
  scheduleTime: SettingsSchema.shape.ScheduleTime.unwrap().optional(),
  scheduleTimeZone: z
    .string()
    .refine((tz) => isTimeZone(tz), 'must be an IANA time-zone name (e.g. UTC, Europe/Paris)')
    .optional(),
  differentialSchedules: z.preprocess(jsonText, oneOrMany(z.string().min(1))).optional(),
  scheduleEnabled: booleanText.optional(),
  sqlServerCredentialParameter: z.string().regex(/^\/?[A-Za-z0-9_.\-/]{1,1011}$/, 'must be an SSM parameter name').optional(),
  sqlServerCredentialKeyArn: kmsKeyArn.optional(),
  alarmEmail: z
    .preprocess(
      (v) => (typeof v === 'string' && !/^\s*\[/.test(v) ? v.split(',').map((e) => e.trim()).filter(Boolean) : jsonText(v)),
      z.array(z.email()),
    )
    .optional(),
  agentUseManagedInstanceCore: booleanText.optional(),
  agentCreateOnly: booleanText.optional(),
  agentCommand: z.string().min(1).optional(),
  agentConfigFile: z.string().min(1).optional(),
});

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** cdk.json's `context` block (what the CLI passes to the app). */
export function projectContext(root: string = PROJECT_ROOT): Record<string, unknown> {
  const file = path.join(root, 'cdk.json');
  if (!fs.existsSync(file)) return {};
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { context?: Record<string, unknown> };
  return parsed.context ?? {};
}

/**
 * Creates the app and `CommserveDrStack`.
 * @throws Error listing the invalid context values (e.g. `archiveStorageClass: …`).
 */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const app = new App({
    outdir: options.outdir,
    context: { ...(options.includeProjectContext === false ? {} : projectContext()), ...options.context },
    postCliContext: options.skipBundling ? { [BUNDLING_STACKS_CONTEXT]: [] } : undefined,
    builtinCloudFormationValidation: options.cloudFormationValidation,
  });
  const read = (key: string): unknown => app.node.tryGetContext(key);
  const parsed = ContextSchema.safeParse(Object.fromEntries(Object.keys(ContextSchema.shape).map((k) => [k, read(k)])));
  if (!parsed.success) {
    throw new Error(`invalid context: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const context = parsed.data;
  const stack = new CommserveDrStack(app, STACK_NAME, {
    description: 'commserve-dr: hot-site bucket, DR backup job, schedule, settings, alarms and agent access for the CommServe metadata',
    // Without `-c commServeInstanceId=…` the id is a stack parameter the operator gives at deploy time.
    commServeInstanceId: context.commServeInstanceId,
    cell: context.cell,
    // Validated by the settings schema in the stack (SettingsParameters), with every issue named.
    settings: context.settings as SettingsInput | undefined,
    bucketName: context.bucketName,
    hotSiteKeyArn: context.hotSiteKeyArn,
    noncurrentVersionExpirationDays: context.noncurrentVersionExpirationDays,
    accessLogRetentionDays: context.accessLogRetentionDays,
    archiveObjectLock: context.archiveObjectLockMode && { mode: context.archiveObjectLockMode, days: context.archiveObjectLockDays },
    setsObjectLock: context.setsObjectLockMode && { mode: context.setsObjectLockMode },
    archiveStorageClass: context.archiveStorageClass,
    archiveRetryCount: context.archiveRetryCount,
    archiveRetryIntervalMinutes: context.archiveRetryIntervalMinutes,
    phase1TimeoutSeconds: context.phase1TimeoutSeconds,
    phase1HeartbeatSeconds: context.phase1HeartbeatSeconds,
    scheduleTime: context.scheduleTime,
    scheduleTimeZone: context.scheduleTimeZone,
    differentialSchedules: context.differentialSchedules,
    scheduleEnabled: context.scheduleEnabled,
    sqlServerCredentialParameter: context.sqlServerCredentialParameter,
    sqlServerCredentialKeyArn: context.sqlServerCredentialKeyArn,
    alarmEmails: context.alarmEmail,
    agentUseManagedInstanceCore: context.agentUseManagedInstanceCore,
    agentCreateOnly: context.agentCreateOnly,
    agentCommand: context.agentCommand,
    agentConfigFile: context.agentConfigFile,
    ...options.stackProps,
  });
  return { app, stack };
}
