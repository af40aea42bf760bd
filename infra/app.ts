/**
 * Builds the commserve-dr CDK app: one `CommserveDrStack`, configured from context (cdk.json,
 * `cdk -c key=value`, or `buildApp({ context })`).
 *
 * Context keys (all optional):
 * - `commServeInstanceId`: the CommServe's SSM managed-node id (`mi-…` or `i-…`). Without it the
 *   stack takes it as the CloudFormation parameter `CommServeInstanceId` at deploy time;
 * - `bucketName`: explicit hot-site bucket name;
 * - `archiveStorageClass`: GLACIER (default), DEEP_ARCHIVE or GLACIER_IR;
 * - `archiveRetryCount` (default 10), `archiveRetryIntervalMinutes` (default 30);
 * - `phase1TimeoutSeconds` (default 21,600), `phase1HeartbeatSeconds` (default 600).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { z } from 'zod';
import { ArchiveStorageClass } from '#core/settings';
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
const ContextSchema = z.object({
  commServeInstanceId: z.string().regex(/^(mi|i)-[0-9a-f]{8,17}$/, 'must be an SSM managed-node id (mi-… or i-…)').optional(),
  bucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name').optional(),
  archiveStorageClass: ArchiveStorageClass.optional(),
  archiveRetryCount: integer.min(0).optional(),
  archiveRetryIntervalMinutes: z.coerce.number().min(0).optional(),
  phase1TimeoutSeconds: integer.min(60).optional(),
  phase1HeartbeatSeconds: integer.min(10).optional(),
});

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
    description: 'commserve-dr: hot-site bucket and DR backup job for the CommServe metadata',
    // Without `-c commServeInstanceId=…` the id is a stack parameter the operator gives at deploy time.
    commServeInstanceId: context.commServeInstanceId,
    bucketName: context.bucketName,
    archiveStorageClass: context.archiveStorageClass,
    archiveRetryCount: context.archiveRetryCount,
    archiveRetryIntervalMinutes: context.archiveRetryIntervalMinutes,
    phase1TimeoutSeconds: context.phase1TimeoutSeconds,
    phase1HeartbeatSeconds: context.phase1HeartbeatSeconds,
    ...options.stackProps,
  });
  return { app, stack };
}
