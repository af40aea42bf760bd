/**
 * `commserve-dr sets`: SETs grouped by cycle with type, status, size, completeness and where each copy
 * is, each cycle's verdict (complete, successful) and the newest restorable point (SPEC §5, §11).
 */
import { buildCycles, type Cycle, type CycleReport, type SetSummary } from '#core/cycles';
import { formatBytes } from '#core/format';
import type { Inventory, InventoryEntry } from './inventory';
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
  /** `local`, `hot-site`, `archive` — where a copy is (archive from the job record). */
  copies: string[];
  problems: string[];
  /** The last `verify` of the point ending at this SET: result and time, when one was recorded. */
  verified: { result: 'restorable' | 'failed'; at: string; trialRestoreMs: number | null } | null;
}

/** The `--json` document of `sets`. */
export interface SetsDocument {
  cycles: Array<{ cycleId: number; setName: string; complete: boolean; successful: boolean; open: boolean; reasons: Cycle['reasons']; sets: SetRow[] }>;
  orphans: Array<SetRow & { reason: string }>;
  newestRestorablePoint: { sets: string[]; jobId: number } | null;
  hotSiteUnavailable: string | null;
  /** The manifest hash chain per copy (issue 21), when it was checked. */
  manifestChain?: Array<{ copy: string; status: 'intact' | 'broken' | 'not-checked'; line: string; breaks: string[] }>;
}

function row(entry: InventoryEntry, verifications: ReadonlyMap<string, Verification>): SetRow {
  const v = verifications.get(entry.summary.setName);
  const copies: string[] = [];
  if (entry.locations.local) copies.push('local');
  if (entry.locations.hotSite) copies.push('hot-site');
  if (entry.record?.phase2 === 'archived') copies.push('archive');
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
  };
}

/** Builds the document from an inventory (pure). */
export function setsDocument(inventory: Inventory, verifications: ReadonlyMap<string, Verification> = new Map()): { document: SetsDocument; report: CycleReport } {
  const byJob = new Map(inventory.entries.map((e) => [e.summary.jobId, e]));
  const report = buildCycles(inventory.entries.map((e) => e.summary));
  const rowOf = (s: SetSummary) => row(byJob.get(s.jobId)!, verifications);
  const document: SetsDocument = {
    cycles: report.cycles.map((c) => ({
      cycleId: c.cycleId,
      setName: c.full.setName,
      complete: c.complete,
      successful: c.successful,
      open: c === report.openCycle,
      reasons: c.reasons,
      sets: [c.full, ...c.differentials].map(rowOf),
    })),
    orphans: report.orphans.map((o) => ({ ...rowOf(o.set), reason: o.reason })),
    newestRestorablePoint: report.newestRestorablePoint
      ? { sets: report.newestRestorablePoint.sets.map((s) => s.setName), jobId: report.newestRestorablePoint.jobId }
      : null,
    hotSiteUnavailable: inventory.hotSiteUnavailable,
  };
  return { document, report };
}

/** Formats the document as the table people read. */
export function formatSets(document: SetsDocument): string {
  const lines: string[] = [];
  const setLine = (r: SetRow, extra = '') =>
    `  ${r.setName.padEnd(10)} ${r.backupType.padEnd(13)} ${r.status.padEnd(34)} ${(r.bytes === null ? '—' : formatBytes(r.bytes)).padStart(10)}  ${(r.complete ? 'complete' : 'INCOMPLETE').padEnd(10)} ${r.copies.join('+') || '—'}${r.integrity === 'corrupt' ? '  CORRUPT DB' : ''}${r.verified ? `  verified ${r.verified.result} ${r.verified.at.slice(0, 10)}` : ''}${extra}`;
  if (document.cycles.length === 0 && document.orphans.length === 0) lines.push('No SETs yet.');
  for (const c of document.cycles) {
    const verdict = `${c.open ? 'open' : c.complete ? 'complete' : 'incomplete'} · ${c.successful ? 'successful' : 'NOT successful'}`;
    lines.push(`Cycle ${c.setName} · ${verdict}`);
    for (const r of c.sets) lines.push(setLine(r));
    if (!c.successful) lines.push(`    ${c.reasons.successful}`);
    lines.push('');
  }
  if (document.orphans.length > 0) {
    lines.push('Not in any cycle:');
    for (const o of document.orphans) lines.push(setLine(o, `  (${o.reason})`));
    lines.push('');
  }
  lines.push(
    document.newestRestorablePoint
      ? `Newest restorable point: ${document.newestRestorablePoint.sets.join(' + ')}`
      : 'No restorable point: no successful FULL yet.',
  );
  if (document.hotSiteUnavailable) lines.push(`Hot-site not listed: ${document.hotSiteUnavailable}`);
  for (const c of document.manifestChain ?? []) lines.push(c.line);
  return `${lines.join('\n')}\n`;
}
