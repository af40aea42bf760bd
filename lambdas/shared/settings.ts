/**
 * Settings of the phase-2 Lambda functions from Parameter Store (SPEC §9): read once per cold start,
 * so a setting changed in Parameter Store applies to the next execution environment without a redeploy.
 *
 * When `SETTINGS_PREFIX` is set (`/commserve-dr/<cell>`, by the stack), the first invocation reads every
 * parameter directly under that path (GetParametersByPath, paginated, not recursive, no decryption:
 * SecureStrings are skipped). Each parameter named after a scalar setting is coerced from its text form
 * like the agent does (`coerceSettingText`: numbers, booleans, `unlimited` → null) and validated with
 * core's settings schema, setting by setting — only the settings a handler asks for, and only those
 * present (an invalid parameter a handler does not use never fails it). A value found
 * there overrides the deploy-time default the function has in its environment (`ARCHIVE_STORAGE_CLASS`,
 * `RETAIN_CYCLES`, …); a setting without a parameter keeps that default. `SETTINGS_PREFIX` unset: no
 * SSM call, the environment alone.
 *
 * One read per execution environment (a module-level promise). A read that fails, or a parameter that
 * is invalid, fails the invocation with a message naming the parameter and is tried again on the next
 * invocation (the operator may have fixed it meanwhile).
 */
import { GetParametersByPathCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ZodType } from 'zod';
import { CommserveDrError, describeError } from '#core/errors';
import { SettingsSchema, SETTING_NAMES, type Settings } from '#core/settings';
import { coerceSettingText } from '#core/settings-text';
import { EnvironmentError } from './errors';

/** Environment variable naming the settings path. */
export const SETTINGS_PREFIX_ENV = 'SETTINGS_PREFIX';

/** A setting with a scalar value (string, number, boolean or null): those kept in Parameter Store. */
export type ScalarSettingName = {
  [K in keyof Settings]: Settings[K] extends string | number | boolean | null ? K : never;
}[keyof Settings];

const DEFAULTS: Settings = SettingsSchema.parse({});

/** The scalar settings, in schema order. */
export const SCALAR_SETTING_NAMES: readonly ScalarSettingName[] = SETTING_NAMES.filter(
  (name): name is ScalarSettingName => DEFAULTS[name] === null || ['string', 'number', 'boolean'].includes(typeof DEFAULTS[name]),
);

/**
 * A settings parameter could not be read (`SETTINGS_UNREADABLE`) or holds an invalid value
 * (`SETTING_INVALID`; the message names each parameter and its value).
 */
export class SettingsParameterError extends CommserveDrError {
  constructor(code: 'SETTINGS_UNREADABLE' | 'SETTING_INVALID', message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
    this.name = 'SettingsParameterError';
  }
}

/** One settings parameter as read. */
export interface SettingParameter {
  /** Full parameter name, e.g. `/commserve-dr/default/RetainCycles`. */
  parameter: string;
  /** The stored text. */
  text: string;
  /** The text coerced like the agent does (not yet validated). */
  value: unknown;
}

/** What one read of the settings path found. */
export interface SettingParameters {
  /** The path read, without a trailing slash, or null when `SETTINGS_PREFIX` is unset. */
  prefix: string | null;
  /** The scalar settings found under the path. */
  parameters: Partial<Record<ScalarSettingName, SettingParameter>>;
}

/** Where the settings are read from (defaults: `process.env`, an SSM client from the Lambda environment). */
export interface SettingsLoaderOptions {
  env?: NodeJS.ProcessEnv;
  ssm?: SSMClient;
}

/**
 * The settings path from `SETTINGS_PREFIX` (trailing slashes removed), or null when unset or empty.
 * @throws EnvironmentError when it is not an absolute SSM path.
 */
export function settingsPrefixFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  const value = env[SETTINGS_PREFIX_ENV]?.trim();
  if (!value) return null;
  const prefix = value.replace(/\/+$/, '');
  if (!/^\/[A-Za-z0-9_.\-/]+$/.test(prefix)) {
    throw new EnvironmentError(`environment variable ${SETTINGS_PREFIX_ENV} must be an SSM path such as /commserve-dr/default, got ${JSON.stringify(value)}`);
  }
  return prefix;
}

/**
 * Reads the settings path now (no cache): GetParametersByPath, every page, not recursive.
 * @throws EnvironmentError for an invalid `SETTINGS_PREFIX`; SettingsParameterError `SETTINGS_UNREADABLE`.
 */
export async function readSettingParameters(options: SettingsLoaderOptions = {}): Promise<SettingParameters> {
  const prefix = settingsPrefixFromEnv(options.env ?? process.env);
  if (prefix === null) return { prefix: null, parameters: {} };
  const ssm = options.ssm ?? new SSMClient({});
  const parameters: SettingParameters['parameters'] = {};
  const names = SCALAR_SETTING_NAMES as readonly string[];
  try {
    let token: string | undefined;
    do {
      const page = await ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: false, WithDecryption: false, NextToken: token }));
      for (const p of page.Parameters ?? []) {
        if (!p.Name?.startsWith(`${prefix}/`) || p.Type === 'SecureString') continue;
        const name = p.Name.slice(prefix.length + 1);
        if (!names.includes(name)) continue;
        const text = p.Value ?? '';
        parameters[name as ScalarSettingName] = { parameter: p.Name, text, value: coerceSettingText(text) };
      }
      token = page.NextToken;
    } while (token);
  } catch (error) {
    throw new SettingsParameterError('SETTINGS_UNREADABLE', `cannot read the settings under SSM ${prefix} (${SETTINGS_PREFIX_ENV}): ${describeError(error)}`, {
      cause: error,
    });
  }
  return { prefix, parameters };
}

let cached: Promise<SettingParameters> | undefined;
const coldStartResets = new Set<() => void>();

/**
 * The settings path as read on this cold start: read on the first call, the same promise afterwards.
 * A failed read is forgotten, so the next call reads again.
 */
export function loadSettingParameters(options: SettingsLoaderOptions = {}): Promise<SettingParameters> {
  if (!cached) {
    const read = readSettingParameters(options);
    cached = read;
    read.catch(() => {
      if (cached === read) cached = undefined;
    });
  }
  return cached;
}

/**
 * Forgets what this execution environment read and built: the settings are read again on the next
 * invocation, as after a cold start (tests; also used after an invalid value).
 */
export function resetSettingsCache(): void {
  cached = undefined;
  for (const reset of coldStartResets) reset();
}

/** Validated settings taken from Parameter Store, and the parameter each came from. */
export interface ParameterSettings<K extends ScalarSettingName> {
  prefix: string | null;
  /** Only the settings that have a parameter. */
  settings: Partial<Pick<Settings, K>>;
  /** Setting name → parameter name, for those found. */
  sources: Partial<Record<K, string>>;
}

/**
 * The settings `names` from this cold start's read of the settings path, validated with the settings
 * schema (only those present).
 * @throws SettingsParameterError `SETTING_INVALID` naming every invalid parameter, its value and the rule
 *   (the cached read is dropped, so a corrected value is picked up by the next invocation);
 *   `SETTINGS_UNREADABLE`; EnvironmentError for an invalid `SETTINGS_PREFIX`.
 */
export async function settingsFromParameters<K extends ScalarSettingName>(
  names: readonly K[],
  options: SettingsLoaderOptions = {},
): Promise<ParameterSettings<K>> {
  const read = loadSettingParameters(options);
  const loaded = await read;
  const present = names.filter((n) => loaded.parameters[n] !== undefined);
  const sources: Partial<Record<K, string>> = {};
  for (const name of present) sources[name] = loaded.parameters[name]!.parameter;
  if (present.length === 0) return { prefix: loaded.prefix, settings: {}, sources };
  const settings: Record<string, unknown> = {};
  const issues: string[] = [];
  for (const name of present) {
    const p = loaded.parameters[name]!;
    // The setting's own schema (a value is present, so its default never applies).
    const result = (SettingsSchema.shape[name] as ZodType).safeParse(p.value);
    if (result.success) settings[name] = result.data;
    else issues.push(`${p.parameter} = ${JSON.stringify(p.text)}: ${result.error.issues.map((i) => i.message).join(', ')}`);
  }
  if (issues.length > 0) {
    if (cached === read) cached = undefined;
    throw new SettingsParameterError('SETTING_INVALID', `invalid setting in Parameter Store: ${issues.join('; ')}`, {
      context: { issues, prefix: loaded.prefix },
    });
  }
  return { prefix: loaded.prefix, settings: settings as Partial<Pick<Settings, K>>, sources };
}

/**
 * A Lambda entry point whose handler is built on the first invocation by an async factory (one that
 * reads the settings): later invocations reuse it. A factory failure rejects that invocation with the
 * factory's error and is retried on the next one; `resetSettingsCache` discards the built handler too.
 */
export function lazyHandlerWithSettings<I, O>(build: () => Promise<(event: I) => Promise<O>>): (event: I) => Promise<O> {
  let built: Promise<(event: I) => Promise<O>> | undefined;
  coldStartResets.add(() => {
    built = undefined;
  });
  return async (event: I) => {
    if (!built) {
      const attempt = Promise.resolve().then(build);
      built = attempt;
      attempt.catch(() => {
        if (built === attempt) built = undefined;
      });
    }
    return (await built)(event);
  };
}
