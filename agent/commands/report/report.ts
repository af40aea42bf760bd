/**
 * `commserve-dr report --html FILE`: the recovery-readiness report (issue 11, part 5) — the page an
 * operator opens first during an audit or a disaster. This module gathers what the page shows into
 * one JSON-serialisable {@link ReportData}; `html.ts` renders it (pure).
 *
 * - the SETs grouped by cycle, from the inventory (`takeInventory` → `setsDocument`/`buildCycles`);
 * - the current RPO: `now` − the end time of the newest restorable point, over
 *   {@link RPO_ALARM_HOURS} hours flagged (the `NoSuccessfulDrBackup` alarm threshold, SPEC §8);
 * - the last verified trial restore and its measured recovery time (`verify` records);
 * - the retention verdict of every SET (`planRetention`, a dry run: nothing is deleted);
 * - alarms raised, derived from the job history and the manifests: jobs that ended Failed or Killed
 *   (`JobFailed`), Completed With One or More Errors, a corrupt database (`DatabaseCorruptionDetected`),
 *   and an RPO over the threshold (`NoSuccessfulDrBackup`). CloudWatch alarm state is not read locally;
 * - the last {@link DEFAULT_HISTORY_LIMIT} jobs.
 *
 * Deterministic: the same inputs (files, hot-site objects) and `now` give the same data and page.
 */
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { newestPointWithLogs } from '#core/log-chain';
import { JobStatus } from '#core/job-status';
import { planRetention, type RetentionAction, type RetentionCode, type RetentionSetInput } from '#core/retention';
import type { Settings } from '#core/settings';
import { formatBytes, formatDuration } from '#core/format';
import { collectHistory } from '#agent/commands/history/history';
import { readVerifications, type Verification } from '#agent/commands/recover/verify';
import { takeInventory, type Inventory, type InventoryEntry } from '#agent/commands/sets/inventory';
import { inspectCopies, type CopyInspection } from '#agent/commands/sets/copy-states';
import { listCopy, selectCopies, type CopyKind, type CopyListing } from '#agent/copies/index';
import { setsDocument, type SetRow } from '#agent/commands/sets/sets';
import { formatAge, HOUR_MS } from './format';
import { renderReportHtml } from './html';

/** Hours without a new restorable point after which the RPO is flagged (SPEC §8: no successful DR backup within 26 hours). */
export const RPO_ALARM_HOURS = 26;

/** Jobs shown in the history section unless `historyLimit` says otherwise. */
export const DEFAULT_HISTORY_LIMIT = 20;

/** Options of {@link buildReadinessReport}. */
export interface ReportOptions {
  settings: Settings;
  /** The hot-site client, or null to look only at the phase-1 destination. */
  s3: S3Client | null;
  /** The report time: ages (RPO, verification, retention) are measured from it. */
  now: Date;
  /** How many of the newest jobs the history section lists (default {@link DEFAULT_HISTORY_LIMIT}). */
  historyLimit?: number;
}

/** The retention verdict of one SET (dry run). */
export interface ReportRetentionVerdict {
  setName: string;
  jobId: number;
  backupType: string;
  status: string;
  action: RetentionAction;
  code: RetentionCode;
  reason: string;
  /** Age in days used by the lifespan rules, when known. */
  ageDays: number | null;
}

/** One SET as the report shows it. */
export interface ReportSet extends SetRow {
  /** The job's end time (manifest), when known. */
  endTime: string | null;
  /** Whether the SET is part of the newest restorable point. */
  inNewestRestorablePoint: boolean;
  /** Its retention verdict; null when retention could not be planned. */
  retention: { action: RetentionAction; code: RetentionCode; reason: string } | null;
}

/** One cycle of the timeline. */
export interface ReportCycle {
  cycleId: number;
  /** The cycle's FULL. */
  setName: string;
  complete: boolean;
  successful: boolean;
  /** The current open cycle. */
  open: boolean;
  reasons: { complete: string; successful: string; restorablePoint: string; notes: string[] };
  /** The FULL first, then the DIFFERENTIALs, oldest first. */
  sets: ReportSet[];
}

/** An alarm raised, as far as local files tell (CloudWatch alarm state is not read). */
export interface ReportAlarm {
  /**
   * `JobFailed` (a job ended Failed or Killed), `JobCompletedWithErrors`, `DatabaseCorruptionDetected`
   * (an integrity check found corruption), `NoSuccessfulDrBackup` (the RPO is over the threshold).
   */
  alarm: 'JobFailed' | 'JobCompletedWithErrors' | 'DatabaseCorruptionDetected' | 'NoSuccessfulDrBackup';
  severity: 'critical' | 'warning';
  jobId: number | null;
  setName: string | null;
  /** When it was raised (the job's end), when known. */
  time: string | null;
  message: string;
}

/** One job of the history section. */
export interface ReportJob {
  jobId: number | null;
  setName: string | null;
  backupType: string;
  requestedType: string;
  status: string;
  startTime: string | null;
  endTime: string;
  /**
   * True when the end is not known (a job killed and found dead later by the next job): `endTime` is then the last time
   * its journal was written — it ended at or after it — and `durationMs` is null.
   */
  endTimeAtLeast?: boolean;
  durationMs: number | null;
  bytes: number;
  /** `local`, `hot-site`, `archive`. */
  copies: string[];
  integrity: string | null;
  /** Warnings and errors of the job (info events left out). */
  events: Array<{ level: 'warning' | 'error'; code: string; message: string }>;
}

/** The last verification (see `verify`). */
export interface ReportVerification {
  /** The point's newest SET. */
  setName: string;
  /** The point's SETs, FULL first. */
  sets: string[];
  verifiedAt: string;
  result: 'restorable' | 'failed';
  /** `now` − `verifiedAt`, in ms. */
  ageMs: number;
  /**
   * The measured recovery time: the whole trial — checksums, download, rebuild of the database from the SETs and its
   * integrity check — in ms; null when no trial restore ran (checksums only).
   */
  recoveryTimeMs: number | null;
  /** The rebuild and integrity check alone (the trial restore's own time), in ms; null when none ran. */
  rebuildTimeMs: number | null;
  /** The whole verification, in ms (equals `recoveryTimeMs` when a trial restore ran). */
  totalDurationMs: number;
  integrity: string | null;
  restoredBytes: number | null;
  checksums: { ok: number; total: number };
  problems: string[];
}

/** Everything the page shows (the `--json` document of `report`). */
export interface ReportData {
  formatVersion: 1;
  /** `now`, ISO-8601 UTC. */
  generatedAt: string;
  bucket: string;
  phase1Destination: string;
  cycles: ReportCycle[];
  orphans: Array<ReportSet & { reason: string }>;
  rpo: {
    /** The newest restorable point; null when no FULL has succeeded. */
    point: { sets: string[]; jobId: number; endTime: string | null } | null;
    /** `now` − the point's end time, in ms; null without a point or an end time. */
    ageMs: number | null;
    thresholdHours: number;
    /** True when the age is over the threshold, or there is no restorable point. */
    overThreshold: boolean;
    /** The `RpoExceeded` alarm's threshold, 2 × `LogBackupIntervalMinutes` (minutes); null when LOG backups are off. */
    logTargetMinutes?: number | null;
    /** True when the age is over {@link logTargetMinutes} (the `RpoExceeded` alarm would be in ALARM). */
    overLogTarget?: boolean;
  };
  verification: {
    /** The newest verification record, whatever its result. */
    last: ReportVerification | null;
    /** The newest verification that found the point restorable (same as `last` when that one did). */
    lastRestorable: ReportVerification | null;
  };
  retention: {
    dryRun: true;
    settings: { RetainCycles: number; SetLifeSpanForFailedDR: number };
    keep: string[];
    expire: string[];
    /** The FULL of the oldest retained cycle, when there are `RetainCycles` counting cycles. */
    boundary: string | null;
    verdicts: ReportRetentionVerdict[];
    /** Why retention could not be planned, when it could not. */
    error: string | null;
  };
  alarms: ReportAlarm[];
  history: { jobs: ReportJob[]; total: number; limit: number; hotSiteUnavailable: string | null };
  /** Why the hot-site was not listed, when it was not. */
  hotSiteUnavailable: string | null;
}

/** Newest modification time of a SET folder's files (the age of an incomplete SET, as `prune` counts it). */
function folderLastModified(path: string): string | undefined {
  try {
    let newest = statSync(path).mtimeMs;
    for (const name of readdirSync(path)) {
      const s = statSync(join(path, name));
      if (s.isFile()) newest = Math.max(newest, s.mtimeMs);
    }
    return new Date(newest).toISOString();
  } catch {
    return undefined;
  }
}

function retentionInput(entry: InventoryEntry): RetentionSetInput {
  const lastModified = entry.locations.local ? folderLastModified(entry.locations.local.path) : entry.record?.endTime;
  return { summary: entry.summary, phase2: entry.record?.phase2 ?? 'unknown', ...(lastModified ? { lastModified } : {}) };
}

function toReportVerification(v: Verification, nowMs: number): ReportVerification {
  return {
    setName: v.setName,
    sets: v.sets,
    verifiedAt: v.verifiedAt,
    result: v.result,
    ageMs: nowMs - Date.parse(v.verifiedAt),
    recoveryTimeMs: v.trialRestore ? v.durationMs : null,
    rebuildTimeMs: v.trialRestore?.durationMs ?? null,
    totalDurationMs: v.durationMs,
    integrity: v.trialRestore?.integrity ?? null,
    restoredBytes: v.trialRestore?.bytes ?? null,
    checksums: { ok: v.checksums.filter((c) => c.ok).length, total: v.checksums.length },
    problems: v.problems,
  };
}

const byTimeThenName = (a: { time: string | null; setName: string | null }, b: { time: string | null; setName: string | null }) =>
  (b.time ?? '').localeCompare(a.time ?? '') || (b.setName ?? '').localeCompare(a.setName ?? '');

/**
 * The inventory, and what each copy holds as listed from the copy itself (newcomer review finding 4: a SET shows an
 * archive copy only when `archive/SET_n/` is there, never because its job record says it was archived). Each copy is
 * listed once; an unreachable copy is left out of the copies shown (the inventory says the hot-site was not listed).
 */
async function inventoryWithCopies(settings: Settings, s3: S3Client | null): Promise<{ inventory: Inventory; inspection: CopyInspection }> {
  const copies = selectCopies({ phase1Destination: settings.Phase1Destination, s3, bucket: settings.HotSite.bucket });
  const listings = new Map<CopyKind, CopyListing>();
  for (const [kind, copy] of copies) listings.set(kind, await listCopy(copy));
  const hotSiteListing = listings.get('hot-site');
  const inventory = await takeInventory(settings, s3, hotSiteListing ? { hotSiteListing } : {});
  const inspection = await inspectCopies(copies, { manifests: new Map(inventory.entries.map((e) => [e.summary.jobId, e.manifest ?? null])), listings });
  return { inventory, inspection };
}

/**
 * Gathers the report and renders the page.
 * Never throws for an unreachable hot-site (the page says so); throws what `buildCycles` throws for an
 * inconsistent inventory. Nothing is written or deleted: retention is planned as a dry run.
 * @returns the self-contained HTML page and the data it shows.
 */
export async function buildReadinessReport(options: ReportOptions): Promise<{ html: string; data: ReportData }> {
  const { settings, s3, now } = options;
  const nowMs = now.getTime();
  const limit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;

  const { inventory, inspection } = await inventoryWithCopies(settings, s3);
  const verifications = readVerifications(settings);
  const { document, report } = setsDocument(inventory, verifications, now, inspection);
  const history = await collectHistory(settings, s3);

  // Retention, as a dry run.
  const verdicts = new Map<string, ReportRetentionVerdict>();
  let retention: ReportData['retention'];
  try {
    const plan = planRetention({
      sets: inventory.entries.map(retentionInput),
      settings: { RetainCycles: settings.RetainCycles, SetLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR },
      now,
    });
    for (const d of plan.decisions) {
      verdicts.set(d.setName, { setName: d.setName, jobId: d.jobId, backupType: d.backupType, status: d.status, action: d.action, code: d.code, reason: d.reason, ageDays: d.ageDays ?? null });
    }
    const name = (id: number) => plan.decisions.find((d) => d.jobId === id)?.setName ?? String(id);
    retention = {
      dryRun: true,
      settings: { ...plan.settings },
      keep: plan.keep.map(name),
      expire: plan.expire.map(name),
      boundary: plan.boundary === null ? null : name(plan.boundary),
      verdicts: [...verdicts.values()],
      error: null,
    };
  } catch (error) {
    retention = {
      dryRun: true,
      settings: { RetainCycles: settings.RetainCycles, SetLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR },
      keep: [],
      expire: [],
      boundary: null,
      verdicts: [],
      error: describeError(error),
    };
  }

  // The timeline.
  const pointSets = new Set(document.newestRestorablePoint?.sets ?? []);
  const endTimes = new Map(inventory.entries.map((e) => [e.summary.setName, e.summary.endTime ?? null]));
  const toSet = (row: SetRow): ReportSet => {
    const v = verdicts.get(row.setName);
    return {
      ...row,
      endTime: endTimes.get(row.setName) ?? null,
      inNewestRestorablePoint: pointSets.has(row.setName),
      retention: v ? { action: v.action, code: v.code, reason: v.reason } : null,
    };
  };
  const cycles: ReportCycle[] = document.cycles.map((c) => ({
    cycleId: c.cycleId,
    setName: c.setName,
    complete: c.complete,
    successful: c.successful,
    open: c.open,
    reasons: { complete: c.reasons.complete, successful: c.reasons.successful, restorablePoint: c.reasons.restorablePoint, notes: [...c.reasons.notes] },
    sets: c.sets.map(toSet),
  }));
  const orphans = document.orphans.map((o) => ({ ...toSet(o), reason: o.reason }));

  // RPO.
  // The newest restorable point counts LOG points (SPEC §2, §4.5); its moment is the captured state (`pointTime`).
  const point = newestPointWithLogs(report);
  const pointEnd = point ? (point.sets.at(-1)!.pointTime ?? point.sets.at(-1)!.endTime ?? null) : null;
  const pointEndMs = pointEnd === null ? NaN : Date.parse(pointEnd);
  const rpoAgeMs = Number.isFinite(pointEndMs) ? nowMs - pointEndMs : null;
  const rpo: ReportData['rpo'] = {
    point: point ? { sets: point.sets.map((s) => s.setName), jobId: point.jobId, endTime: pointEnd } : null,
    ageMs: rpoAgeMs,
    thresholdHours: RPO_ALARM_HOURS,
    overThreshold: point === undefined || (rpoAgeMs !== null && rpoAgeMs > RPO_ALARM_HOURS * HOUR_MS),
    logTargetMinutes: settings.LogBackupIntervalMinutes === null ? null : 2 * settings.LogBackupIntervalMinutes,
    overLogTarget: settings.LogBackupIntervalMinutes !== null && rpoAgeMs !== null && rpoAgeMs > 2 * settings.LogBackupIntervalMinutes * 60_000,
  };

  // The last verification (ties on time broken by SET name, so the choice does not depend on directory order).
  const ordered = [...verifications.values()].sort((a, b) => b.verifiedAt.localeCompare(a.verifiedAt) || b.setName.localeCompare(a.setName));
  const last = ordered[0];
  const lastGood = ordered.find((v) => v.result === 'restorable');
  const verification = {
    last: last ? toReportVerification(last, nowMs) : null,
    lastRestorable: lastGood ? toReportVerification(lastGood, nowMs) : null,
  };

  // Alarms.
  const alarms: ReportAlarm[] = [];
  const corruptJobs = new Set<number>();
  for (const j of history.jobs) {
    const firstError = j.events.find((e) => e.level === 'error');
    const base = { jobId: j.jobId, setName: j.setName, time: j.endTime };
    if (j.status === JobStatus.Failed || j.status === JobStatus.Killed) {
      alarms.push({ ...base, alarm: 'JobFailed', severity: 'critical', message: `job ${j.status}${firstError ? `: ${firstError.message}` : ''}` });
    } else if (j.status === JobStatus.CompletedWithErrors) {
      const errors = j.events.filter((e) => e.level === 'error').map((e) => `${e.code}: ${e.message}`);
      alarms.push({ ...base, alarm: 'JobCompletedWithErrors', severity: 'warning', message: `job ${j.status}${errors.length ? `: ${errors.join('; ')}` : ''}` });
    }
    if (j.integrity === 'corrupt' && j.jobId !== null) {
      corruptJobs.add(j.jobId);
      alarms.push({ ...base, alarm: 'DatabaseCorruptionDetected', severity: 'critical', message: `the integrity check of job ${j.jobId} found the CommServe database corrupt${j.integrityFindings ? ` (${j.integrityFindings})` : ''}; ${j.setName ?? 'its SET'} holds a copy of the damaged database` });
    }
  }
  for (const e of inventory.entries) {
    if (e.integrity !== 'corrupt' || corruptJobs.has(e.summary.jobId)) continue;
    alarms.push({
      alarm: 'DatabaseCorruptionDetected',
      severity: 'critical',
      jobId: e.summary.jobId,
      setName: e.summary.setName,
      time: e.summary.endTime ?? null,
      message: `the manifest of ${e.summary.setName} records a corrupt CommServe database`,
    });
  }
  alarms.sort(byTimeThenName);
  if (rpo.overThreshold) {
    alarms.unshift({
      alarm: 'NoSuccessfulDrBackup',
      severity: 'critical',
      jobId: rpo.point?.jobId ?? null,
      setName: rpo.point?.sets.at(-1) ?? null,
      time: null,
      message: rpo.point
        ? `the newest restorable point is ${formatAge(rpoAgeMs)} old, over the ${RPO_ALARM_HOURS}-hour threshold`
        : 'there is no restorable point: no FULL has succeeded',
    });
  }

  // History: the newest `limit` jobs, newest first.
  const newestFirst = [...history.jobs].sort((a, b) => b.endTime.localeCompare(a.endTime) || (b.jobId ?? 0) - (a.jobId ?? 0));
  const jobs: ReportJob[] = newestFirst.slice(0, limit).map((j) => ({
    jobId: j.jobId,
    setName: j.setName,
    backupType: j.backupType,
    requestedType: j.requestedType,
    status: j.status,
    startTime: j.startTime,
    endTime: j.endTime,
    ...(j.endUnknown ? { endTimeAtLeast: true } : {}),
    durationMs: j.durationMs,
    bytes: j.bytes,
    copies: [j.copies.phase1Destination ? 'local' : null, j.copies.hotSite ? 'hot-site' : null, j.copies.archive ? 'archive' : null].filter((c): c is string => c !== null),
    integrity: j.integrity,
    events: j.events.flatMap((e) => (e.level === 'info' ? [] : [{ level: e.level, code: e.code, message: e.message }])),
  }));

  const data: ReportData = {
    formatVersion: 1,
    generatedAt: now.toISOString(),
    bucket: settings.HotSite.bucket,
    phase1Destination: settings.Phase1Destination,
    cycles,
    orphans,
    rpo,
    verification,
    retention,
    alarms,
    history: { jobs, total: history.jobs.length, limit, hotSiteUnavailable: history.hotSiteUnavailable },
    hotSiteUnavailable: inventory.hotSiteUnavailable,
  };
  return { html: renderReportHtml(data), data };
}

/**
 * The few lines `report` prints on stdout next to the page: RPO, last verification, alarms, retention.
 */
export function formatReportSummary(data: ReportData): string {
  const sets = data.cycles.reduce((n, c) => n + c.sets.length, 0) + data.orphans.length;
  const lines: string[] = [];
  lines.push(`Recovery readiness at ${data.generatedAt.slice(0, 19).replace('T', ' ')} UTC · ${sets} SET${sets === 1 ? '' : 's'} in ${data.cycles.length} cycle${data.cycles.length === 1 ? '' : 's'}`);
  lines.push(
    data.rpo.point
      ? `  RPO: ${formatAge(data.rpo.ageMs)} (newest restorable point ${data.rpo.point.sets.join(' + ')})${data.rpo.overThreshold ? ` — OVER ${data.rpo.thresholdHours} h` : ''}${data.rpo.overLogTarget ? ` — over the ${data.rpo.logTargetMinutes}-minute LOG target (RpoExceeded)` : ''}`
      : '  RPO: no restorable point (no FULL has succeeded)',
  );
  const v = data.verification.last;
  lines.push(
    v
      ? `  Last verification: ${v.sets.join(' + ')} ${v.result.toUpperCase()} ${formatAge(v.ageMs)} ago; ${v.recoveryTimeMs === null || v.rebuildTimeMs === null ? 'trial restore not run' : `measured recovery time ${formatDuration(v.recoveryTimeMs)} (whole trial: download + rebuild + check; rebuild + check ${formatDuration(v.rebuildTimeMs)})`}`
      : '  Last verification: none (run `commserve-dr verify`)',
  );
  const critical = data.alarms.filter((a) => a.severity === 'critical').length;
  lines.push(`  Alarms: ${data.alarms.length === 0 ? 'none' : `${critical} critical, ${data.alarms.length - critical} warning`} (from local records; CloudWatch alarm state is not read)`);
  lines.push(
    data.retention.error
      ? `  Retention: not planned: ${data.retention.error}`
      : `  Retention (dry run): keep ${data.retention.keep.length}, expire ${data.retention.expire.length}${data.retention.expire.length ? ` (${data.retention.expire.join(', ')})` : ''}`,
  );
  const bytes = [...data.cycles.flatMap((c) => c.sets), ...data.orphans].reduce((n, s) => n + (s.bytes ?? 0), 0);
  lines.push(`  Protected: ${formatBytes(bytes)}`);
  if (data.hotSiteUnavailable) lines.push(`  Hot-site not listed: ${data.hotSiteUnavailable}`);
  return `${lines.join('\n')}\n`;
}
