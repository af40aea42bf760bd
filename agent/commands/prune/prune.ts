/**
 * `commserve-dr prune [--dry-run] [--json] [--allow-early-archive-deletion]` (SPEC §5, §11): applies
 * retention now, with the same planner and reasons as the PruneSets Lambda.
 *
 * Plan → record → delete:
 * 1. plan over every SET at the hot-site (`sets/`) **and** in the phase-1 destination, merged by job
 *    id (a SET present in either place is planned once; the complete copy's summary and the newest
 *    write time count), plus `archive/` when `ArchiveRetainCycles` is set;
 * 2. record the plan: `prune/manual-<time>.json` at the hot-site and `<StateDirectory>/prune/` locally;
 * 3. delete the expired SETs at the hot-site (DeleteObjects, manifests first), then the archive copies,
 *    then the expired local SET folders.
 *
 * Decision on local folders: a local SET folder is removed when its SET is expired by the plan, and
 * only **after** the hot-site copy is gone (or when there is none), so a failed hot-site deletion never
 * leaves a hot-site SET whose local source of truth was removed; the next prune retries both. Local
 * incomplete SETs follow the planner's incomplete rule (kept while running and for
 * `SetLifeSpanForFailedDR` days from their newest file, then removed). Entries of the destination that
 * are not SET folders are never touched.
 *
 * `--dry-run` plans and prints, deleting and recording nothing. Without a hot-site client (`s3: null`)
 * only the phase-1 destination is planned and pruned.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { planRetention, type ArchiveRetentionDecision, type RetentionDecision, type RetentionSetInput } from '#core/retention';
import type { Settings } from '#core/settings';
import type { JobRecord } from '#core/job';
import { readHistory } from '#agent/history/history';
import type { PruneSettings } from '#lambdas/shared/prune-env';
import { PRUNE_PREFIX } from '#lambdas/shared/prune-io';
import { applyPrune, planPrune, type PruneOutcome, type PrunePlanDocument, type PreparedPrune } from '#lambdas/shared/prune-run';
import { readLocalSets, removeLocalSet } from './local-sets';

/** Options of {@link runPrune}. */
export interface RunPruneOptions {
  /** Effective settings (RetainCycles, SetLifeSpanForFailedDR in days, ArchiveRetainCycles, Phase1Destination, HotSite, StateDirectory). */
  settings: Settings;
  /** Hot-site client, or null to prune the phase-1 destination only. */
  s3: S3Client | null;
  /** Plan and print only: nothing is deleted or recorded. */
  dryRun?: boolean;
  /** Delete archive objects younger than their storage class's minimum duration anyway. */
  allowEarlyArchiveDeletion?: boolean;
  /** Planning time; default now. */
  now?: Date;
  /** DeleteObjects retries: attempts per key (default 3) and first wait in ms (default 200). */
  deleteAttempts?: number;
  retryDelayMs?: number;
}

/** The `--json` document of `prune`. */
export interface PruneDocument {
  dryRun: boolean;
  /** The plan (also the recorded plan record). */
  plan: PrunePlanDocument;
  /** Where the plan was recorded (null for a dry run). */
  planKey: string | null;
  localPlanFile: string | null;
  /** What was deleted (null for a dry run). */
  applied: {
    hotSite: PruneOutcome['hotSite'] | null;
    archive: PruneOutcome['archive'];
    local: { removed: string[]; kept: Array<{ setName: string; reason: string }>; failed: Array<{ setName: string; error: string }> };
    failures: PruneOutcome['failures'];
    failedCount: number;
  } | null;
  /** Where each planned SET is: `hot-site`, `local`. */
  locations: Record<string, string[]>;
  /** Why the hot-site was not planned, when it was not. */
  hotSiteUnavailable: string | null;
}

/**
 * Plans and (unless `dryRun`) applies retention to the hot-site and the phase-1 destination.
 * @returns the document (`--json`) and the table people read (a reason per SET).
 * @throws PruneError when the hot-site cannot be listed or read, or the plan record cannot be
 *   written (nothing is deleted then); RetentionInputError/CycleInputError for inconsistent SETs.
 *   Per-key deletion failures do not throw: they are in `document.applied.failures` (exit code 3).
 */
export async function runPrune(options: RunPruneOptions): Promise<{ document: PruneDocument; table: string }> {
  const { settings, s3 } = options;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? new Date();
  const pruneSettings: PruneSettings = {
    RetainCycles: settings.RetainCycles,
    SetLifeSpanForFailedDR: settings.SetLifeSpanForFailedDR,
    ArchiveRetainCycles: settings.ArchiveRetainCycles,
    allowEarlyArchiveDeletion: options.allowEarlyArchiveDeletion ?? false,
  };
  const records = new Map<number, JobRecord>(readHistory(settings.Phase1Destination).flatMap((r) => (r.jobId === null ? [] : [[r.jobId, r] as const])));
  const local = readLocalSets(settings.Phase1Destination, settings.StateDirectory, records);
  const localInputs = new Map<number, RetentionSetInput>([...local].map(([id, l]) => [id, l.input]));
  const bucket = settings.HotSite.bucket;

  let prepared: PreparedPrune | null = null;
  let plan: PrunePlanDocument;
  if (s3) {
    // Locks are looked up on what would be expired (a still-locked SET is kept, not hidden behind delete markers): the
    // operator role reads retention when the stack has Object Lock on; without it HeadObject reports none.
    prepared = await planPrune(s3, bucket, { settings: pruneSettings, now, jobId: null, dryRun, records, localSets: localInputs, locks: { check: true } });
    plan = prepared.document;
  } else {
    const hotSite = planRetention({ sets: [...localInputs.values()], settings: pruneSettings, now });
    plan = {
      kind: 'commserve-dr-prune-plan',
      formatVersion: 1,
      jobId: null,
      createdAt: now.toISOString(),
      bucket,
      dryRun,
      settings: pruneSettings,
      hotSite: { ...hotSite, foreignKeys: 0, foreignSample: [], problems: {} },
      archive: null,
      index: [],
    };
  }
  for (const l of local.values()) if (l.problems.length) plan.hotSite.problems[l.input.summary.setName] = [...(plan.hotSite.problems[l.input.summary.setName] ?? []), ...l.problems];

  const locations: Record<string, string[]> = {};
  for (const d of plan.hotSite.decisions) {
    locations[d.setName] = [...(prepared?.hotSets.has(d.jobId) ? ['hot-site'] : []), ...(local.has(d.jobId) ? ['local'] : [])];
  }

  const document: PruneDocument = {
    dryRun,
    plan,
    planKey: null,
    localPlanFile: null,
    applied: null,
    locations,
    hotSiteUnavailable: s3 ? null : 'no hot-site client: only the phase-1 destination was planned',
  };
  if (!dryRun) {
    const stamp = now.toISOString().replace(/[:.]/g, '-');
    const planKey = `${PRUNE_PREFIX}manual-${stamp}.json`;
    const localDir = join(settings.StateDirectory, 'prune');
    mkdirSync(localDir, { recursive: true });
    const localPlanFile = join(localDir, `manual-${stamp}.json`);
    writeFileSync(localPlanFile, `${JSON.stringify(plan, null, 2)}\n`);
    document.localPlanFile = localPlanFile;

    let outcome: PruneOutcome | null = null;
    if (s3 && prepared) {
      outcome = await applyPrune(s3, bucket, prepared, planKey, { attempts: options.deleteAttempts, retryDelayMs: options.retryDelayMs });
      document.planKey = planKey;
    }
    const hotDeleted = new Set(outcome?.hotSite.setsDeleted ?? []);
    const removed: string[] = [];
    const kept: Array<{ setName: string; reason: string }> = [];
    const failed: Array<{ setName: string; error: string }> = [];
    for (const jobId of plan.hotSite.expire) {
      const l = local.get(jobId);
      if (!l) continue;
      if (prepared?.hotSets.has(jobId) && !hotDeleted.has(jobId)) {
        kept.push({ setName: l.input.summary.setName, reason: 'its hot-site copy could not be deleted: kept so the next prune retries both' });
        continue;
      }
      const error = removeLocalSet(l.path);
      if (error) failed.push({ setName: l.input.summary.setName, error });
      else removed.push(l.input.summary.setName);
    }
    document.applied = {
      hotSite: outcome?.hotSite ?? null,
      archive: outcome?.archive ?? null,
      local: { removed, kept, failed },
      failures: outcome?.failures ?? [],
      failedCount: (outcome?.failedCount ?? 0) + failed.length,
    };
  }
  return { document, table: formatPrune(document) };
}

function decisionLine(d: RetentionDecision | ArchiveRetentionDecision, where: string): string {
  const verdict = d.action === 'expire' ? 'EXPIRE' : 'keep';
  return `  ${d.setName.padEnd(11)} ${d.backupType.padEnd(13)} ${String(d.status).padEnd(34)} ${where.padEnd(15)} ${verdict.padEnd(7)} ${d.reason}`;
}

/** Formats a prune document as the table people read: one line per SET with its verdict and reason. */
export function formatPrune(document: PruneDocument): string {
  const { plan } = document;
  const lines: string[] = [];
  const title = document.dryRun ? 'Retention plan (dry run: nothing deleted)' : 'Retention applied';
  lines.push(
    `${title} · RetainCycles ${plan.settings.RetainCycles} · SetLifeSpanForFailedDR ${plan.settings.SetLifeSpanForFailedDR} days · ArchiveRetainCycles ${plan.settings.ArchiveRetainCycles ?? 'unlimited'}`,
  );
  lines.push(`  ${'SET'.padEnd(11)} ${'TYPE'.padEnd(13)} ${'STATUS'.padEnd(34)} ${'WHERE'.padEnd(15)} ${'VERDICT'.padEnd(7)} REASON`);
  if (plan.hotSite.decisions.length === 0) lines.push('  (no SETs)');
  for (const d of plan.hotSite.decisions) lines.push(decisionLine(d, (document.locations[d.setName] ?? []).join('+') || '—'));
  lines.push(
    `Kept ${plan.hotSite.keep.length}, expired ${plan.hotSite.expire.length}. Retained cycles: ${plan.hotSite.retainedCycles.length ? plan.hotSite.retainedCycles.join(', ') : 'none'}` +
      `${plan.hotSite.newestRestorablePoint ? `; newest restorable point ${plan.hotSite.newestRestorablePoint.sets.join(' + ')}` : '; no restorable point'}.`,
  );
  if (plan.hotSite.foreignKeys > 0) lines.push(`${plan.hotSite.foreignKeys} key(s) under sets/ are not SETs of this product: left alone.`);
  for (const [set, problems] of Object.entries(plan.hotSite.problems)) for (const p of problems) lines.push(`Problem with ${set}: ${p}`);
  if (plan.archive) {
    lines.push('', `Archive (archive/) · ArchiveRetainCycles ${plan.archive.archiveRetainCycles ?? 'unlimited'}`);
    for (const d of plan.archive.decisions) lines.push(decisionLine(d, 'archive'));
    lines.push(`Kept ${plan.archive.keep.length}, expired ${plan.archive.expire.length}.`);
    for (const w of plan.archive.warnings) lines.push(`WARNING: ${w}`);
  }
  if (document.applied) {
    const a = document.applied;
    lines.push('');
    if (a.hotSite) lines.push(`Hot-site: ${a.hotSite.setsDeleted.length} SET(s) deleted, ${a.hotSite.objectsDeleted} object(s). Plan recorded at ${document.planKey}.`);
    if (a.archive) lines.push(`Archive: ${a.archive.setsDeleted.length} copy(ies) deleted, ${a.archive.objectsDeleted} object(s).`);
    lines.push(`Phase-1 destination: ${a.local.removed.length} SET folder(s) removed${a.local.removed.length ? ` (${a.local.removed.join(', ')})` : ''}.`);
    for (const k of a.local.kept) lines.push(`Kept ${k.setName} locally: ${k.reason}`);
    for (const f of a.local.failed) lines.push(`ERROR: cannot remove ${f.setName}: ${f.error}`);
    for (const f of a.failures.slice(0, 20)) lines.push(`ERROR: cannot delete ${f.key}: ${f.code} ${f.message}`);
    if (a.failedCount > 0) lines.push(`${a.failedCount} deletion(s) failed: run prune again.`);
  }
  if (document.hotSiteUnavailable) lines.push(`Hot-site not planned: ${document.hotSiteUnavailable}`);
  return `${lines.join('\n')}\n`;
}

/** One line for a log: what a prune document says. */
export function describePrune(document: PruneDocument): string {
  const { keep, expire } = document.plan.hotSite;
  return `kept ${keep.length}, expired ${expire.length}${document.applied ? `, ${document.applied.failedCount} failure(s)` : ' (dry run)'}`;
}
