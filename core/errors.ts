/**
 * Error base classes. Every error the product raises on purpose carries a stable `code`
 * (shown to operators, used in job records) and the process exit code it maps to (SPEC §11:
 * 1 failure, 2 usage error, 3 completed with one or more errors).
 *
 * Messages never contain credentials or connection strings.
 */

/** SPEC §11 exit codes. */
export const ExitCode = {
  Success: 0,
  Failure: 1,
  Usage: 2,
  CompletedWithErrors: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of every deliberate error: a stable `code`, an exit code, optional `cause` and context. */
export class CommserveDrError extends Error {
  /** Stable, machine-readable code, e.g. `DB_NOT_FOUND`. */
  readonly code: string;
  /** Process exit code this error maps to when it ends a command. */
  readonly exitCode: ExitCode;
  /** Extra structured detail for logs and job records (never secrets). */
  readonly context: Record<string, unknown>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; exitCode?: ExitCode; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? ExitCode.Failure;
    this.context = options.context ?? {};
  }
}

/** The operator asked for something impossible (bad flag, bad config value). Exit code 2. */
export class UsageError extends CommserveDrError {
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super('USAGE', message, { ...options, exitCode: ExitCode.Usage });
  }
}

/** A configuration file or setting is invalid. Exit code 2. */
export class ConfigError extends CommserveDrError {
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super('CONFIG_INVALID', message, { ...options, exitCode: ExitCode.Usage });
  }
}

/** A manifest is missing, malformed or does not match the files it describes. */
export class ManifestError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** The CommServe database cannot be opened, read, checked or dumped. */
export class DatabaseError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** The registry store cannot be read or written. */
export class RegistryError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** A `.reg` file is malformed. `context.line` and `context.column` give the 1-based position. */
export class RegistryFormatError extends RegistryError {
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super('REG_FORMAT', message, options);
  }
}

/** The phase-1 destination cannot be written, or a SET on disk is unusable. */
export class DestinationError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** The hot-site (S3) cannot be reached or refused an operation. */
export class HotSiteError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** Another job holds the phase-1 lock (SPEC §4.1). */
export class JobLockedError extends CommserveDrError {
  constructor(message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super('JOB_LOCKED', message, options);
  }
}

/** The local run's stand-ins (moto server, local state machine) could not start. */
export class LocalRunError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown> } = {}) {
    super(code, message, options);
  }
}

/** One line describing an error for an operator: the message, plus the causes' messages. No stack. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message];
  let cause: unknown = (error as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    if (cause.message && !parts.some((p) => p.includes(cause instanceof Error ? cause.message : ''))) parts.push(cause.message);
    cause = (cause as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}
