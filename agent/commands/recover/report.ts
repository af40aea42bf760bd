/**
 * The recovery report (JSON document + text) and the registry diff shown by a dry run.
 */
import { writeFile } from 'node:fs/promises';
import type { RecoveryPlan } from '#core/recovery';
import { formatBytes } from '#core/format';
import { formatPlan } from '#core/recovery';
import { foldRegistryName, RegHive, type MachineBoundSecret, type RegOperation, type RegValue } from '#agent/registry/index';
import type { PendingRestore } from './fetch';
import type { PreflightResult } from './preflight';

/** One change an import would make to the target hive. */
export interface RegistryChange {
  kind: 'key-added' | 'key-removed' | 'value-added' | 'value-changed' | 'value-removed';
  key: string;
  /** Value name (`""` = default value) for value changes. */
  name?: string;
  before?: Omit<RegValue, 'name'>;
  after?: Omit<RegValue, 'name'>;
}

function snapshot(hive: RegHive): Map<string, { key: string; values: Map<string, RegValue> }> {
  const out = new Map<string, { key: string; values: Map<string, RegValue> }>();
  for (const op of hive.toOperations()) {
    out.set(foldRegistryName(op.key), { key: op.key, values: new Map(op.values.filter((v): v is RegValue => !('op' in v)).map((v) => [foldRegistryName(v.name), v])) });
  }
  return out;
}

const typed = (v: RegValue): Omit<RegValue, 'name'> => ({ type: v.type, data: v.data }) as Omit<RegValue, 'name'>;

/**
 * The keys and values importing `operations` into `before` would add, change or remove (keys in regedit order).
 * Pure: `before` is not modified.
 */
export function registryDiff(before: RegHive, operations: readonly RegOperation[]): RegistryChange[] {
  const old = snapshot(before);
  const after = RegHive.fromOperations([...before.toOperations(), ...operations]);
  const now = snapshot(after);
  const changes: RegistryChange[] = [];
  for (const [folded, entry] of now) {
    const prior = old.get(folded);
    if (!prior) {
      changes.push({ kind: 'key-added', key: entry.key });
      for (const v of entry.values.values()) changes.push({ kind: 'value-added', key: entry.key, name: v.name, after: typed(v) });
      continue;
    }
    for (const [name, v] of entry.values) {
      const was = prior.values.get(name);
      if (!was) changes.push({ kind: 'value-added', key: entry.key, name: v.name, after: typed(v) });
      else if (JSON.stringify(typed(was)) !== JSON.stringify(typed(v))) changes.push({ kind: 'value-changed', key: entry.key, name: v.name, before: typed(was), after: typed(v) });
    }
    for (const [name, was] of prior.values) {
      if (!entry.values.has(name)) changes.push({ kind: 'value-removed', key: entry.key, name: was.name, before: typed(was) });
    }
  }
  for (const [folded, entry] of old) if (!now.has(folded)) changes.push({ kind: 'key-removed', key: entry.key });
  return changes;
}

/**
 * The `recover` document (`--json`, and `commserve-dr-recovery-report.json`). Every outcome — recovered, planned,
 * pending, refused, failed, and a recover that stops before it starts (a usage or settings error) — prints a document
 * with the same keys: what is unknown is `null` or empty, never left out (`failedRecoveryDocument` in recover.ts).
 */
export interface RecoveryDocument {
  command: 'recover';
  /**
   * The command's exit code (SPEC §11), also in the saved report: 0 recovered or planned (dry run); 1 refused or
   * failed; 2 usage error (e.g. `--to` empty, unknown SET); 3 archive restores pending (run again, or `--wait`).
   */
  exitCode: number;
  /** `recovered`; `planned` (dry run); `pending` (archive restores running, exit 3); `refused` (preflight); `failed`. */
  status: 'recovered' | 'planned' | 'pending' | 'refused' | 'failed';
  dryRun: boolean;
  startedAt: string;
  endedAt: string;
  target: { directory: string; database: string; registry: string; firewallDirectory: string | null };
  /**
   * The point restored: its SETs (FULL first) and the point in time — the newest SET's `pointTime` (the captured
   * state), else its job's end time; the same moment as `plan.pointInTime` (`pointTimeOf`).
   */
  point: { sets: string[]; full: string; differential: string | null; pointInTime: string | null } | null;
  plan: RecoveryPlan | null;
  preflight: PreflightResult | null;
  pending: PendingRestore[];
  database: {
    file: string;
    bytes: number;
    sha256: string;
    /** Page records applied on the FULL: from the DIFFERENTIAL and the LOG chain together. */
    appliedPages: number;
    /** Of `appliedPages`, those applied from LOG points (absent: none, or a report written before LOG points). */
    appliedLogPages?: number;
    integrity: string;
    /**
     * The check that ran: SQLite `full` (`PRAGMA integrity_check`), `quick` (`PRAGMA quick_check`, when asked), or
     * `none` — the rebuilt database is bit-identical (SHA-256) to the image on which the backup job's full check passed,
     * as its manifest records (`integrity` is then that verdict); SQL Server `full` (DBCC CHECKDB).
     */
    integrityCheck: 'quick' | 'full' | 'none';
    /**
     * The command and why that check, e.g. `not re-run: the rebuilt database's SHA-256 … is the image on which PRAGMA
     * integrity_check passed in backup job 3 (SET_0000003, DIFFERENTIAL); --integrity-check full runs it again`.
     */
    integrityCheckReason: string;
    integrityMessages: string[];
  } | null;
  registry: { store: string; imported: Array<{ set: string; file: string; operations: number }> } | null;
  firewall: { restored: boolean; copied: string[]; skipped: string[]; note: string } | null;
  /**
   * Every file used, with the size and SHA-256 of its content verified against its manifest; `stored` for a dump
   * stored compressed (the object's bytes, verified too).
   */
  checksums: Array<{
    set: string;
    file: string;
    bytes: number;
    sha256: string;
    verified: true;
    stored?: { algorithm: string; bytes: number; sha256: string };
    /** Verified through another digest than the file's own SHA-256 (a FULL through FULL + DIFF's), and how. */
    verifiedThrough?: string;
  }>;
  /** Values that must be entered again (DPAPI-encrypted for the old machine). */
  machineBoundSecrets: Array<MachineBoundSecret & { file: string }>;
  /** Dry run: what the registry import would change (null when it could not be computed). */
  registryDiff: RegistryChange[] | null;
  warnings: string[];
  error: {
    code: string;
    message: string;
    /** With `NO_INTACT_COPY`: every copy of the file tried and what was wrong with it (SPEC §6.1). */
    skipped?: Array<{ copy: 'local' | 'hot-site' | 'archive'; key: string; detail: string; code?: string }>;
    /** With `NO_INTACT_COPY`: the older points that have intact copies, each with the exact command. */
    olderPoints?: Array<{ sets: string[]; command: string }>;
  } | null;
  durationsMs: Record<string, number>;
  reportFiles: { json: string; text: string } | null;
  /**
   * What the recovery did to its target directory (SPEC §6.1: never destroy): files moved aside
   * (`<name>.before-recovery-<UTC timestamp>`), files installed, and — after a failure or interruption — what was put
   * back (`undone`) and what could not be (`left`, with the reason). Absent in reports of older versions.
   */
  targetChanges?: TargetChangesReport;
  /** The copies read (labels, cheapest first) and those that could not be reached; null before they were listed. */
  copies?: { read: string[]; unreachable: string[] } | null;
  /** Newer points not chosen by default, each with its reason (SPEC §6.1). */
  passedOver?: Array<{ sets: string[]; reason: string }>;
}

/** See {@link RecoveryDocument.targetChanges}. */
export interface TargetChangesReport {
  movedAside: Array<{ path: string; movedTo: string }>;
  installed: string[];
  /** Phrases: what a roll-back undid (`… put back`, `… removed`). */
  undone: string[];
  /** Phrases: changes a roll-back could not undo, with the reason. */
  left: string[];
  /** A recovery killed earlier into this directory that this run undid first (phrases), if any. */
  earlierInterruptedUndone: string[];
  /**
   * The staging folder an earlier interrupted recovery left in the target directory, removed by this run (present only
   * then): downloads, never the target's own files — but a removal all the same, so the target line says it.
   */
  staleStagingRemoved?: string;
}

/**
 * The one line that says what happened to the target of a failed or interrupted recovery — never "not changed"
 * after a change.
 */
export function targetStateLine(doc: RecoveryDocument): string {
  const c = doc.targetChanges;
  if (doc.warnings.some((w) => /RESTORE|RESTORING|SINGLE_USER/.test(w))) return 'The target database may have been changed: see the warnings.';
  const ownChanges = c && (c.undone.length > 0 || c.left.length > 0 || c.installed.length > 0 || c.movedAside.length > 0);
  // An earlier killed recovery undone first did change the target (back to how it was before that recovery).
  if (!ownChanges && c?.earlierInterruptedUndone.length) return `The target is as it was before an earlier killed recovery into it, whose changes were undone first (${c.earlierInterruptedUndone.join('; ')}); this recovery changed nothing else.`;
  if (!c || !ownChanges) return c?.staleStagingRemoved ? `The target's files were not changed; only ${c.staleStagingRemoved}, the staging folder an earlier interrupted recovery left, was removed.` : 'The target was not changed.';
  if (c.left.length > 0) return `The target WAS changed and could not be fully put back: ${c.left.join('; ')}${c.undone.length ? ` (undone: ${c.undone.join('; ')})` : ''}.`;
  if (c.undone.length > 0) return `The target is as it was: the recovery's changes were undone (${c.undone.join('; ')}).`;
  return `The target WAS changed: ${[...c.movedAside.map((m) => `${m.path} moved aside to ${m.movedTo}`), ...c.installed.map((i) => `${i} installed`)].join('; ')}.`;
}

function describeChange(c: RegistryChange): string {
  const data = (v?: { type: string; data: unknown }) => (v ? `${v.type} ${JSON.stringify(v.data).slice(0, 60)}` : '');
  const name = c.name === undefined ? '' : ` "${c.name === '' ? '@' : c.name}"`;
  switch (c.kind) {
    case 'key-added':
      return `+ [${c.key}]`;
    case 'key-removed':
      return `- [${c.key}]`;
    case 'value-added':
      return `+ ${c.key}${name} = ${data(c.after)}`;
    case 'value-removed':
      return `- ${c.key}${name} (was ${data(c.before)})`;
    case 'value-changed':
      return `~ ${c.key}${name}: ${data(c.before)} → ${data(c.after)}`;
  }
}

/** `, 120 DIFFERENTIAL pages and 8 LOG pages applied` — each page counted where it came from (newcomer review). */
function appliedPagesText(total: number, fromLogs: number): string {
  const parts = [total - fromLogs > 0 ? `${total - fromLogs} DIFFERENTIAL pages` : '', fromLogs > 0 ? `${fromLogs} LOG pages` : ''].filter(Boolean);
  return parts.length ? `, ${parts.join(' and ')} applied` : '';
}

/** The report as text for people. */
export function formatRecovery(doc: RecoveryDocument): string {
  const lines: string[] = [];
  const title = {
    recovered: 'CommServe recovered',
    // A dry run still undoes an earlier killed recovery first (the operator's files go back): it must not claim
    // that nothing changed.
    planned: doc.targetChanges?.earlierInterruptedUndone.length
      ? 'Recovery plan (dry run: only an earlier killed recovery into this directory was undone, listed below; nothing else changed)'
      : 'Recovery plan (dry run: nothing changed)',
    pending: 'Recovery waiting for archive restores',
    refused: doc.error?.code === 'TARGET_EXISTS' ? 'Recovery refused: the target holds files it would replace' : 'Recovery refused by the preflight',
    failed: 'Recovery FAILED',
  }[doc.status];
  lines.push(`${title}`);
  // A SQL Server RESTORE replaces the database in place; every other failure happens before the target is touched.
  if (doc.status === 'failed' || doc.status === 'refused') lines.push(targetStateLine(doc));
  if (doc.point) lines.push(`Point: ${doc.point.sets.join(' + ')}${doc.point.pointInTime ? `, state at ${doc.point.pointInTime}` : ''}`);
  for (const p of doc.passedOver ?? []) lines.push(`Passed over: ${p.sets.join(' + ')}: ${p.reason}`);
  if (doc.copies) lines.push(`Copies read (cheapest first): ${doc.copies.read.join(', ') || 'none'}${doc.copies.unreachable.length ? `; NOT reached: ${doc.copies.unreachable.join('; ')}` : ''}`);
  lines.push(`Target: ${doc.target.directory} (database ${doc.target.database}; registry ${doc.target.registry})`);
  if (doc.preflight) {
    for (const f of doc.preflight.findings) lines.push(`Preflight: ${f.detail}`);
    if (doc.preflight.findings.length === 0) lines.push('Preflight: no other platform component, no CommServe service running');
  }
  if (doc.plan) lines.push(formatPlan(doc.plan).trimEnd());
  if (doc.pending.length > 0) {
    lines.push(`Pending archive restores (${doc.pending.length}); run again when readable, or use --wait:`);
    for (const p of doc.pending) lines.push(`  ${p.key} (${p.storageClass})`);
  }
  if (doc.database) {
    const d = doc.database;
    lines.push(`Database: ${d.file}, ${formatBytes(d.bytes)}, SHA-256 ${d.sha256}, integrity ${d.integrity}${appliedPagesText(d.appliedPages, d.appliedLogPages ?? 0)}`);
    lines.push(`Integrity check: ${d.integrityCheck} (${d.integrityCheckReason})`);
  }
  if (doc.registry) for (const r of doc.registry.imported) lines.push(`Registry: imported ${r.set}/${r.file} (${r.operations} key blocks) into ${doc.registry.store}`);
  if (doc.firewall) lines.push(`Firewall: ${doc.firewall.note}`);
  for (const m of doc.targetChanges?.movedAside ?? []) {
    if (doc.status === 'recovered') lines.push(`Kept (moved aside, not deleted): ${m.path} → ${m.movedTo}`);
  }
  for (const u of doc.targetChanges?.earlierInterruptedUndone ?? []) lines.push(`Undone first (an earlier recovery into this directory was killed): ${u}`);
  if (doc.registryDiff) {
    lines.push(`Registry changes the import would make: ${doc.registryDiff.length}`);
    for (const c of doc.registryDiff.slice(0, 200)) lines.push(`  ${describeChange(c)}`);
    if (doc.registryDiff.length > 200) lines.push(`  … ${doc.registryDiff.length - 200} more (see --json)`);
  }
  if (doc.checksums.length > 0) {
    lines.push('Verified files:');
    for (const c of doc.checksums) {
      lines.push(
        `  ${c.set}/${c.file}  ${formatBytes(c.bytes)}  sha256 ${c.sha256}${c.stored ? `  (stored ${c.stored.algorithm}: ${formatBytes(c.stored.bytes)}, sha256 ${c.stored.sha256})` : ''}${
          c.verifiedThrough ? `  (verified through the rebuilt image: ${c.verifiedThrough})` : ''
        }`,
      );
    }
  }
  if (doc.machineBoundSecrets.length > 0) {
    lines.push('Re-enter these values (encrypted with DPAPI for the old machine, unreadable here):');
    for (const s of doc.machineBoundSecrets) lines.push(`  ${s.key} "${s.name === '' ? '@' : s.name}" (${s.file})`);
  }
  for (const w of doc.warnings) lines.push(`WARNING: ${w}`);
  if (doc.error) lines.push(`Error: ${doc.error.code}: ${doc.error.message}`);
  const d = doc.durationsMs;
  lines.push(`Durations: ${Object.entries(d).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`).join(', ')}`);
  if (doc.reportFiles) lines.push(`Report: ${doc.reportFiles.json}, ${doc.reportFiles.text}`);
  return `${lines.join('\n')}\n`;
}

/** Writes the report as JSON and text next to each other. */
export async function writeRecoveryReport(doc: RecoveryDocument, jsonFile: string, textFile: string): Promise<void> {
  doc.reportFiles = { json: jsonFile, text: textFile };
  await writeFile(jsonFile, `${JSON.stringify(doc, null, 2)}\n`);
  await writeFile(textFile, formatRecovery(doc));
}
