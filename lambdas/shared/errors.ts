/**
 * Errors raised by the phase-2 Lambda handlers.
 *
 * Step Functions uses a Lambda error's `name` as the state's `Error` (what Retry/Catch match and what
 * the job record shows), so every class sets `name` explicitly: the bundles are minified, and a name
 * derived from the class (`new.target.name`) would not survive identifier mangling on its own.
 */
import { CommserveDrError } from '#core/errors';

type ErrorOptions = { cause?: unknown; context?: Record<string, unknown> };

/**
 * The uploaded SET does not match its manifest (a file is missing, has another size or checksum),
 * or the manifest itself is missing, unreadable or belongs to another job. `code` says which:
 * `BUCKET_MISMATCH`, `KEY_MISMATCH`, `MANIFEST_MISSING`, `MANIFEST_INVALID`, `MANIFEST_MISMATCH`,
 * `FILE_MISSING`, `SIZE_MISMATCH`, `CHECKSUM_MISMATCH`, `S3_ERROR`.
 */
export class SetValidationError extends CommserveDrError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = 'SetValidationError';
  }
}

/**
 * A phase-2 archive copy failed (the state machine retries ArchiveSet, then records the job as
 * Completed With One or More Errors). `code`: `SOURCE_MISSING`, `SOURCE_CHANGED`,
 * `COPY_CHECKSUM_MISMATCH`, `COPY_FAILED`, or one of the manifest codes of `SetValidationError`.
 */
export class ArchiveCopyError extends CommserveDrError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = 'ArchiveCopyError';
  }
}

/** The job record could not be written to the hot-site (`code` `RECORD_WRITE_FAILED`). */
export class ReportJobError extends CommserveDrError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('RECORD_WRITE_FAILED', message, options);
    this.name = 'ReportJobError';
  }
}

/** A handler received an event that does not satisfy its input schema (`code` `INPUT_INVALID`). */
export class InvalidInputError extends CommserveDrError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('INPUT_INVALID', message, options);
    this.name = 'InvalidInputError';
  }
}

/** A required environment variable is missing or invalid (`code` `ENV_INVALID`); the message names it. */
export class EnvironmentError extends CommserveDrError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ENV_INVALID', message, options);
    this.name = 'EnvironmentError';
  }
}

/**
 * Pruning could not plan or record safely (`code`: `LIST_FAILED`, `READ_FAILED`, `RECORD_WRITE_FAILED`,
 * `PLAN_FAILED`); nothing is deleted when it is thrown. Per-key deletion failures are reported in the
 * result instead.
 */
export class PruneError extends CommserveDrError {
  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(code, message, options);
    this.name = 'PruneError';
  }
}
