/**
 * `commserve-dr sets`: SETs grouped by cycle with type, status, size, completeness and where each copy
 * is, each cycle's verdict (complete, successful) and the newest restorable point (SPEC §5, §11).
 */
import { buildCycles, type Cycle, type CycleReport, type SetSummary } from '#core/cycles';
import { formatBytes } from '#core/format';
import { chainGaps, newestPointWithLogs, restorablePointMoment } from '#core/log-chain';
import { setName as setNameOfJob } from '#core/set-id';
import type { Inventory, InventoryEntry } from './inventory';
import { describeCopyState, type CopyInspection, type CopyState, type UnreachableCopy } from './copy-states';
import type { Verification } from '#agent/commands/recover/verify';

/** One SET as printed (and as `--json` gives it). */
export interface SetRow {
  setName: string;
  jobId: number;
  backupType: string;
  status: string;
  complete: boolean;
  bytes: number | null;
  integrity: string | null;
  /**
   * SQL Server: other tools' non-COPY_ONLY FULL/DIFFERENTIAL backups found in msdb when this SET was taken, each in
   * words saying whose chain it belongs to (docs/SQLSERVER.md "Coexistence"). Absent when none.
   */
  otherBackups?: string[];
  /**
   * `local`, `hot-site`, `archive` — the copies that hold the SET: listed from the copies themselves when they were
   * inspected (`copyStates`), else local/hot-site from the listing and archive from the job record.
   */
  copies: string[];
  /** Per copy holding the SET: what exists, when its content was last checked, what is damaged (issue 16 item 4). */
  copyStates?: CopyState[];
  problems: string[];
  /** The last `verify` of the point ending at this SET: result and time, when one was recorded. */
  verified: { result: 'restorable' | 'failed'; at: string; trialRestoreMs: number | null } | null;
  /** The moment the SET's database state was captured (manifest `pointTime`), when recorded; LOG SETs always have one. */
  pointTime?: string | null;
  /** LOG only: the SET this LOG point continues (manifest `previousSet`). */
  previousSet?: string | null;
}

/** A break in a cycle's LOG chain (SPEC §4.5): the LOGs listed cannot be rebuilt, nor any moment after the break. */
export interface SetsGap {
  cycleId: number;
  /** The first LOG that cannot be rebuilt. */
  firstUnreachable: string;
  /** Every LOG behind this break, oldest first. */
  unreachable: string[];
  /** The newest point reachable before the break (SET and moment), when there is one. */
  newestReachable: { set: string; time: string } | null;
  reason: string;
}

/** The current RPO (SPEC §2): the age of the newest restorable point (LOG points included). */
export interface SetsRpo {
  /** The point's newest SET and its moment (`pointTime`, else the job's end), null when nothing is restorable. */
  point: { set: string; time: string; exact: boolean } | null;
  /** `now` − the point's moment, ms; null without a point. */
  ageMs: number | null;
  /** When the age was measured (ISO-8601 UTC). */
  at: string;
}

/** The `--json` document of `sets`. */
export interface SetsDocument {
  cycles: Array<{ cycleId: number; setName: string; complete: boolean; successful: boolean; open: boolean; reasons: Cycle['reasons']; sets: SetRow[] }>;
  orphans: Array<SetRow & { reason: string }>;
  newestRestorablePoint: { sets: string[]; jobId: number } | null;
  /** Breaks in LOG chains, oldest cycle first (empty when every chain is whole). */
  gaps: SetsGap[];
  rpo: SetsRpo;
  hotSiteUnavailable: string | null;
  /** The copies listed (`local /srv/dr`, `hot-site s3://b/sets/`, `archive s3://b/archive/`), when inspected. */
  copiesRead?: string[];
  /** The copies that could not be listed: `sets` exits 3 when there is one. */
  copiesUnreachable?: UnreachableCopy[];
  /** Every damaged copy found (`sets` exits 3 when there is one). */
  damagedCopies?: Array<{ setName: string; copy: string; damaged: string[] }>;
  /** SETs found only in a copy the inventory does not read (e.g. only in `archive/`), with their copies. */
  otherCopies?: Array<{ setName: string; copyStates: CopyState[] }>;
  /** The manifest hash chain per copy (issue 21), when it was checked. */
  manifestChain?: Array<{ copy: string; status: 'intact' | 'broken' | 'not-checked'; line: string; breaks: string[] }>;
}

function row(entry: InventoryEntry, verifications: ReadonlyMap<string, Verification>, copyStates?: CopyState[]): SetRow {
  const v = verifications.get(entry.summary.setName);
  const copies: string[] = [];
  if (copyStates) copies.push(...copyStates.map((c) => c.copy));
  else {
    if (entry.locations.local) copies.push('local');
    if (entry.locations.hotSite) copies.push('hot-site');
    if (entry.record?.phase2 === 'archived') copies.push('archive');
  }
  return {
    setName: entry.summary.setName,
    jobId: entry.summary.jobId,
    backupType: entry.summary.backupType,
    status: entry.summary.status,
    complete: entry.summary.complete,
    bytes: entry.summary.bytes ?? entry.locations.local?.bytes ?? entry.locations.hotSite?.bytes ?? null,
    integrity: entry.integrity,
    copies,
    problems: entry.problems,
    verified: v ? { result: v.result, at: v.verifiedAt, trialRestoreMs: v.trialRestore?.durationMs ?? null } : null,
    ...(entry.otherBackups?.length ? { otherBackups: entry.otherBackups } : {}),
    pointTime: entry.summary.pointTime ?? null,
    previousSet: entry.summary.previousJobId === undefined ? null : setNameOfJob(entry.summary.previousJobId),
    ...(copyStates ? { copyStates } : {}),
  };
}

/** The RPO at `now` from the newest restorable point (LOG points included). */
export function rpoOf(report: CycleReport, now: Date): SetsRpo {
  const point = newestPointWithLogs(report);
  const moment = point ? restorablePointMoment(point) : undefined;
  return {
    point: point && moment ? { set: point.sets.at(-1)!.setName, time: new Date(moment.timeMs).toISOString(), exact: moment.exact } : null,
    ageMs: moment ? Math.max(0, now.getTime() - moment.timeMs) : null,
    at: now.toISOString(),
  };
}

/** `4 min 10 s`, `2 h 5 min`, `3 d 4 h`. */
export function formatRpoAge(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/**
 * Builds the document from an inventory (pure).
 * @param copies what the copies themselves hold ({@link inspectCopies}); without it, copies come from the inventory.
 */
export function setsDocument(
  inventory: Inventory,
  verifications: ReadonlyMap<string, Verification> = new Map(),
  now: Date = new Date(),
  copies?: CopyInspection,
): { document: SetsDocument; report: CycleReport } {
  const byJob = new Map(inventory.entries.map((e) => [e.summary.jobId, e]));
  const report = buildCycles(inventory.entries.map((e) => e.summary));
  const rowOf = (s: SetSummary) => row(byJob.get(s.jobId)!, verifications, copies ? (copies.byJob.get(s.jobId) ?? []) : undefined);
  const newestPoint = newestPointWithLogs(report);
  const document: SetsDocument = {
    cycles: report.cycles.map((c) => ({
      cycleId: c.cycleId,
      setName: c.full.setName,
      complete: c.complete,
      successful: c.successful,
      open: c === report.openCycle,
      reasons: c.reasons,
      sets: [c.full, ...c.differentials, ...c.logs].sort((a, b) => a.jobId - b.jobId).map(rowOf),
    })),
    orphans: report.orphans.map((o) => ({ ...rowOf(o.set), reason: o.reason })),
    newestRestorablePoint: newestPoint ? { sets: newestPoint.sets.map((s) => s.setName), jobId: newestPoint.jobId } : null,
    gaps: chainGaps(report).map((g) => ({
      cycleId: g.cycleId,
      firstUnreachable: g.firstUnreachable.setName,
      unreachable: g.unreachable.map((s) => s.setName),
      newestReachable: g.newestReachableBefore ? { set: g.newestReachableBefore.target.setName, time: new Date(g.newestReachableBefore.timeMs).toISOString() } : null,
      reason: g.reason,
    })),
    rpo: rpoOf(report, now),
    hotSiteUnavailable: inventory.hotSiteUnavailable,
    ...(copies ? copiesFields(copies, byJob) : {}),
  };
  return { document, report };
}

/** The document's per-copy fields: copies read and not reached, damaged copies, SETs only in other copies. */
function copiesFields(copies: CopyInspection, inventory: ReadonlyMap<number, InventoryEntry>): Pick<SetsDocument, 'copiesRead' | 'copiesUnreachable' | 'damagedCopies' | 'otherCopies'> {
  const jobIds = [...copies.byJob.keys()].sort((a, b) => a - b);
  return {
    copiesRead: copies.read,
    copiesUnreachable: copies.unreachable,
    damagedCopies: jobIds.flatMap((jobId) =>
      copies.byJob.get(jobId)!.filter((c) => c.verdict === 'damaged').map((c) => ({ setName: setNameOfJob(jobId), copy: c.copy, damaged: c.damaged })),
    ),
    otherCopies: jobIds.filter((jobId) => !inventory.has(jobId)).map((jobId) => ({ setName: setNameOfJob(jobId), copyStates: copies.byJob.get(jobId)! })),
  };
}

/** The lines about the copies under the table: SETs only elsewhere, damaged copies, copies not reached. */
function copiesLines(document: SetsDocument): string[] {
  const lines: string[] = [];
  for (const other of document.otherCopies ?? []) lines.push(`${other.setName} only in: ${other.copyStates.map(describeCopyState).join(' · ')}`);
  if (document.copiesRead) lines.push(`Copies read: ${document.copiesRead.join(', ') || 'none'}`);
  const damaged = document.damagedCopies ?? [];
  if (damaged.length > 0) lines.push(`DAMAGED copies: ${damaged.map((d) => `${d.setName} ${d.copy}`).join(', ')} (exit 3; the next backup job's scrub repairs the hot-site, or run verify --repair)`);
  for (const u of document.copiesUnreachable ?? []) lines.push(`COPY NOT REACHED: ${u.label}: ${u.reason} — its copies are not shown (exit 3)`);
  return lines;
}

/** Formats the document as the table people read. */
export function formatSets(document: SetsDocument): string {
  const lines: string[] = [];
  const setLine = (r: SetRow, extra = '') =>
    `  ${r.setName.padEnd(11)} ${r.backupType.padEnd(13)} ${r.status.padEnd(34)} ${(r.bytes === null ? '—' : formatBytes(r.bytes)).padStart(10)}  ${(r.complete ? 'complete' : 'INCOMPLETE').padEnd(10)} ${r.copies.join('+') || '—'}${r.integrity === 'corrupt' ? '  CORRUPT DB' : ''}${r.verified ? `  verified ${r.verified.result} ${r.verified.at.slice(0, 10)}` : ''}${extra}`;
  if (document.cycles.length === 0 && document.orphans.length === 0) lines.push('No SETs yet.');
  for (const c of document.cycles) {
    const verdict = `${c.open ? 'open' : c.complete ? 'complete' : 'incomplete'} · ${c.successful ? 'successful' : 'NOT successful'}`;
    lines.push(`Cycle ${c.setName} · ${verdict}`);
    for (const r of c.sets) {
      lines.push(setLine(r, r.backupType === 'LOG' && r.pointTime ? `  at ${r.pointTime}${r.previousSet ? ` after ${r.previousSet}` : ''}` : ''));
      for (const other of r.otherBackups ?? []) lines.push(`    ${other}`);
      if (r.copyStates?.length) lines.push(`    ${r.copyStates.map(describeCopyState).join(' · ')}`);
    }
    if (!c.successful) lines.push(`    ${c.reasons.successful}`);
    for (const g of document.gaps.filter((gap) => gap.cycleId === c.cycleId)) {
      lines.push(`    GAP in the LOG chain: ${g.reason}; ${g.unreachable.join(', ')} cannot be restored`);
      lines.push(`      newest reachable moment before it: ${g.newestReachable ? `${g.newestReachable.time} (${g.newestReachable.set})` : 'none'}`);
    }
    lines.push('');
  }
  if (document.orphans.length > 0) {
    lines.push('Not in any cycle:');
    for (const o of document.orphans) {
      lines.push(setLine(o, `  (${o.reason})`));
      if (o.copyStates?.length) lines.push(`    ${o.copyStates.map(describeCopyState).join(' · ')}`);
    }
    lines.push('');
  }
  lines.push(
    document.newestRestorablePoint
      ? `Newest restorable point: ${document.newestRestorablePoint.sets.join(' + ')}`
      : 'No restorable point: no successful FULL yet.',
  );
  lines.push(
    document.rpo.point && document.rpo.ageMs !== null
      ? `RPO: ${formatRpoAge(document.rpo.ageMs)} (newest restorable point ${document.rpo.point.set} at ${document.rpo.point.time}${document.rpo.point.exact ? '' : ', its end time'})`
      : 'RPO: no restorable point',
  );
  if (document.hotSiteUnavailable && !document.copiesUnreachable?.length) lines.push(`Hot-site not listed: ${document.hotSiteUnavailable}`);
  lines.push(...copiesLines(document));
  for (const c of document.manifestChain ?? []) lines.push(c.line);
  return `${lines.join('\n')}\n`;
}
