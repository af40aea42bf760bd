/**
 * The one-screen job summary printed after a DR backup job: job id, type, status, phases with
 * durations and bytes, where each copy went, and the job's warnings and errors.
 */
import { formatBytes, formatDuration } from '#core/format';
import { JobStatus } from '#core/job-status';
import type { JobRecord } from '#core/job';

/**
 * Formats the summary.
 * @param extra.durationsMs per-state wall times (ms) keyed by state name; a phase-2 step that did not run (no hot-site
 *   copy to validate, no archive copy made or failed, no prune result) shows `—`, whatever its state's time.
 */
export function formatJobSummary(
  record: JobRecord,
  extra: { durationsMs?: Record<string, number | undefined>; totalMs?: number; hotSiteNote?: string } = {},
): string {
  const d = extra.durationsMs ?? {};
  const dur = (state: string) => (d[state] === undefined ? '—' : formatDuration(d[state]!));
  const lines: string[] = [];
  const promoted = record.requestedType !== record.backupType ? ` (requested ${record.requestedType})` : '';
  lines.push(`DR backup job ${record.jobId ?? '(none)'} · ${record.backupType}${promoted} · ${record.status}`);
  lines.push('');
  const row = (label: string, time: string, detail: string) => lines.push(`  ${label.padEnd(22)}${time.padStart(10)}   ${detail}`);
  row('SET', '', record.setName ?? 'none');
  row('integrity check', '', record.integrity === 'corrupt' && record.integrityFindings ? `corrupt: ${record.integrityFindings}` : record.integrity ?? 'not run');
  row('phase 1 (agent)', dur('RunPhase1'), record.copies.phase1Destination ? `${formatBytes(record.bytes)} → ${record.copies.phase1Destination}` : 'no SET written');
  row('  hot-site upload', '', record.copies.hotSite ? `→ ${record.copies.hotSite}` : 'not uploaded');
  // A step that did not run shows no duration (its state may still have passed through the state machine in a moment).
  const ranFor = (state: string, ran: boolean) => (ran ? dur(state) : '—');
  row('phase 2: validate', ranFor('ValidateSet', Boolean(record.copies.hotSite)), record.copies.hotSite ? 'every file checked against the manifest' : 'not run');
  const logWithCycle = record.backupType === 'LOG' && record.copies.hotSite && record.phase2 === 'not-run';
  const archive = record.copies.archive
    ? `→ ${record.copies.archive}`
    : record.phase2 === 'failed'
      ? 'FAILED (SET kept for the failed-DR lifespan)'
      : logWithCycle
        ? 'with its cycle: by the next FULL or DIFFERENTIAL (no archive job per LOG point)'
        : 'not run';
  row('phase 2: archive', ranFor('ArchiveSet', Boolean(record.copies.archive) || record.phase2 === 'failed'), archive);
  const pruned = record.events.find((e) => e.code.startsWith('PRUNE'));
  row('phase 2: prune', ranFor('PruneSets', pruned !== undefined), pruned ? pruned.message : record.phase2 === 'archived' ? 'not run' : 'not run (no archive copy)');
  row('RPO', '', describeRpo(record));
  row('report', dur('ReportJob'), record.jobId !== null ? `job record jobs/${String(record.jobId).padStart(3, '0')}.json` : '');
  if (extra.totalMs !== undefined) row('total', formatDuration(extra.totalMs), extra.hotSiteNote ?? '');
  const notable = record.events.filter((e) => e.level !== 'info');
  if (notable.length > 0) {
    lines.push('');
    for (const e of notable) lines.push(`  ${e.level === 'error' ? 'ERROR' : 'warning'} ${e.code}: ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The RPO line (issue 17 item 4): the age of the newest restorable point at the hot-site when the job ended — this
 * job's point — or, when the job added none, why and where to look.
 */
export function describeRpo(record: JobRecord): string {
  if (record.rpo) return `${formatDuration(record.rpo.seconds * 1000)} at the end of the job (newest restorable point ${record.rpo.setName}, ${record.rpo.pointTime})`;
  const why =
    record.status === JobStatus.Failed || record.status === JobStatus.Killed
      ? 'the job left no SET'
      : !record.copies.hotSite
        ? 'its SET is not at the hot-site'
        : record.integrity === 'corrupt'
          ? 'its database was found corrupt'
          : 'its point time is not known';
  return `not improved by this job (${why}): the previous point's age, see \`commserve-dr sets\``;
}
