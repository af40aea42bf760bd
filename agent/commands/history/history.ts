/**
 * `commserve-dr history`: the job history — id, type, status, start, end, duration, bytes, where each
 * copy went, events — from the phase-1 destination and the hot-site mirror, with filters.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { parseIsoDate } from '#core/cli-values';
import { describeError, UsageError } from '#core/errors';
import type { JobRecord } from '#core/job';
import { ALL_JOB_STATUSES, JobStatus } from '#core/job-status';
import type { Settings } from '#core/settings';
import { formatBytes, formatDuration } from '#core/format';
import { readHotSiteHistory } from '#agent/history/history';
import { readLocalRecords } from '#agent/history/job-journal';

/** Filters of `history`. Dates are inclusive bounds on the job's end time. */
export interface HistoryFilter {
  /** Job statuses to show (any of the four); all when empty. */
  statuses?: JobStatus[];
  since?: Date;
  until?: Date;
}

/** Words operators type for statuses: `completed`, `errors` (with errors), `failed`, `killed`, or the full status. */
export function parseStatusFilter(text: string): JobStatus {
  const t = text.trim().toLowerCase();
  const aliases: Record<string, JobStatus> = {
    completed: JobStatus.Completed,
    errors: JobStatus.CompletedWithErrors,
    'with-errors': JobStatus.CompletedWithErrors,
    failed: JobStatus.Failed,
    killed: JobStatus.Killed,
  };
  const status = aliases[t] ?? ALL_JOB_STATUSES.find((s) => s.toLowerCase() === t);
  if (!status) throw new UsageError(`unknown status "${text}": use completed, errors, failed or killed`);
  return status;
}

/**
 * Parses an ISO date or date-time for `--since`/`--until` (`parseIsoDate`: a date alone is midnight UTC, a time
 * without a zone is UTC). @throws UsageError (exit 2) when it is not a real date, with the reason (`2026-02-30`).
 */
export function parseDateFilter(text: string, option: string): Date {
  const parsed = parseIsoDate(text);
  if ('reason' in parsed) throw new UsageError(`${option} expects a date like 2026-11-29 or 2026-11-29T17:00:00Z, got "${text}": ${parsed.reason}`);
  return parsed.date;
}

/** The `--json` document of `history`. */
export interface HistoryDocument {
  /**
   * `durationMs`: end − start, null when either is not known (a job killed and found later by the next job: its
   * `endTime` is only a lower bound, see `endUnknown`).
   */
  jobs: Array<JobRecord & { durationMs: number | null; source: Array<'local' | 'hot-site'> }>;
  hotSiteUnavailable: string | null;
}

/**
 * Gathers the history: local records, plus the hot-site mirror when `s3` is given (a job known to both is
 * shown once). Never throws for an unreachable hot-site: the document says so.
 */
export async function collectHistory(settings: Settings, s3: S3Client | null, filter: HistoryFilter = {}): Promise<HistoryDocument> {
  const byKey = new Map<string, HistoryDocument['jobs'][number]>();
  const key = (r: JobRecord) => (r.jobId !== null ? `job-${r.jobId}` : `failed-${r.endTime}`);
  const add = (r: JobRecord, source: 'local' | 'hot-site') => {
    const existing = byKey.get(key(r));
    if (existing) {
      existing.source.push(source);
      return;
    }
    const durationMs = r.startTime && !r.endUnknown ? Date.parse(r.endTime) - Date.parse(r.startTime) : null;
    byKey.set(key(r), { ...r, durationMs, source: [source] });
  };
  for (const r of readLocalRecords(settings)) add(r, 'local');
  let hotSiteUnavailable: string | null = s3 ? null : 'not looked at (--local-only)';
  if (s3) {
    try {
      for (const r of await readHotSiteHistory(s3, settings.HotSite.bucket)) add(r, 'hot-site');
    } catch (error) {
      hotSiteUnavailable = describeError(error);
    }
  }
  const jobs = [...byKey.values()]
    .filter((r) => !filter.statuses?.length || filter.statuses.includes(r.status))
    .filter((r) => !filter.since || Date.parse(r.endTime) >= filter.since.getTime())
    .filter((r) => !filter.until || Date.parse(r.endTime) <= filter.until.getTime())
    .sort((a, b) => (a.jobId ?? 0) - (b.jobId ?? 0) || a.endTime.localeCompare(b.endTime));
  return { jobs, hotSiteUnavailable };
}

/** The table people read: one line per job, then its warnings and errors indented. */
export function formatHistory(document: HistoryDocument): string {
  const lines: string[] = [];
  if (document.jobs.length === 0) lines.push('No jobs match.');
  else {
    lines.push(`${'JOB'.padEnd(6)} ${'TYPE'.padEnd(13)} ${'STATUS'.padEnd(34)} ${'START (UTC)'.padEnd(20)} ${'END (UTC)'.padEnd(20)} ${'DURATION'.padStart(10)} ${'BYTES'.padStart(10)}  COPIES`);
    for (const j of document.jobs) {
      const copies = [j.copies.phase1Destination ? 'local' : null, j.copies.hotSite ? 'hot-site' : null, j.copies.archive ? 'archive' : null].filter(Boolean).join('+') || '—';
      const time = (t: string | null) => (t ? t.slice(0, 19).replace('T', ' ') : '—');
      const type = j.requestedType !== j.backupType ? `${j.backupType}*` : j.backupType;
      // A killed job found later: its end is at or after the time shown (≥), and so is its duration.
      const atLeast = j.endUnknown ? '≥' : '';
      const duration = j.durationMs !== null ? formatDuration(j.durationMs) : j.endUnknown && j.startTime ? `≥ ${formatDuration(Date.parse(j.endTime) - Date.parse(j.startTime))}` : '—';
      lines.push(
        `${String(j.jobId ?? '—').padEnd(6)} ${type.padEnd(13)} ${j.status.padEnd(34)} ${time(j.startTime).padEnd(20)} ${`${atLeast}${time(j.endTime)}`.padEnd(20)} ${duration.padStart(10)} ${formatBytes(j.bytes).padStart(10)}  ${copies}${j.integrity === 'corrupt' ? '  CORRUPT DB' : ''}`,
      );
      for (const e of j.events.filter((ev) => ev.level !== 'info')) lines.push(`       ${e.level === 'error' ? 'ERROR' : 'warning'} ${e.code}: ${e.message}`);
    }
    if (document.jobs.some((j) => j.requestedType !== j.backupType)) lines.push('* a DIFFERENTIAL that ran as a FULL (see its warning)');
  }
  if (document.hotSiteUnavailable) lines.push(`Hot-site history not read: ${document.hotSiteUnavailable}`);
  return `${lines.join('\n')}\n`;
}
