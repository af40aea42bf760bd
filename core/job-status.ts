/**
 * DR backup job statuses (SPEC §4.4) and how they map to exit codes (SPEC §11).
 */
import { ExitCode } from './errors';

export const JobStatus = {
  Completed: 'Completed',
  CompletedWithErrors: 'Completed With One or More Errors',
  Failed: 'Failed',
  Killed: 'Killed',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const ALL_JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

const SEVERITY: Record<JobStatus, number> = {
  [JobStatus.Completed]: 0,
  [JobStatus.CompletedWithErrors]: 1,
  [JobStatus.Killed]: 2,
  [JobStatus.Failed]: 3,
};

/** The worse of two statuses: Failed > Killed > Completed With One or More Errors > Completed. */
export function worseStatus(a: JobStatus, b: JobStatus): JobStatus {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

/**
 * Whether a SET of a job with this status is usable once it is complete (its manifest committed; the caller checks
 * that). A Killed job's SET is usable when the kill came after its commit — the manifest is written last, after every
 * file was stored and hashed (issue 16: a kill after the commit loses nothing); without a manifest it never counts.
 * A Failed job's SET is not (e.g. its hot-site copy failed validation).
 */
export function statusProducesUsableSet(status: JobStatus): boolean {
  return status === JobStatus.Completed || status === JobStatus.CompletedWithErrors || status === JobStatus.Killed;
}

/** Exit code of the `backup`/`start` commands for a finished job (SPEC §11). */
export function exitCodeForStatus(status: JobStatus): ExitCode {
  switch (status) {
    case JobStatus.Completed:
      return ExitCode.Success;
    case JobStatus.CompletedWithErrors:
      return ExitCode.CompletedWithErrors;
    case JobStatus.Failed:
    case JobStatus.Killed:
      return ExitCode.Failure;
  }
}

/** Whether `text` is one of the four job statuses. */
export function isJobStatus(text: unknown): text is JobStatus {
  return typeof text === 'string' && (ALL_JOB_STATUSES as readonly string[]).includes(text);
}
