/**
 * Hot-site recovery, the pure parts (SPEC §6): which SETs make the point to restore, the plan (objects,
 * sizes, storage classes, where each is read from), archive retrieval waits per storage class and tier,
 * the `Restore` header of HeadObject, and the staging paths a manifest's file names may map to.
 *
 * No I/O: `node:path` is used only to compute paths.
 */
import { formatBytes } from './format';
import { resolve, sep } from 'node:path';
import { buildCycles, describeSetOutcome, isSuccessfulSet, type RestorablePoint, type SetSummary } from './cycles';
import { CommserveDrError, ManifestError, UsageError } from './errors';
import { isSafeFileName } from './hotsite-layout';
import { chainPointOfSet, newestPointWithLogs, restorablePointOf } from './log-chain';
import { BackupType, parseSetName, setName as setNameOf } from './set-id';

/** S3 archive retrieval tiers (RestoreObject `GlacierJobParameters.Tier`). */
export const RETRIEVAL_TIERS = ['Expedited', 'Standard', 'Bulk'] as const;
export type RetrievalTier = (typeof RETRIEVAL_TIERS)[number];

/** Storage classes whose objects must be restored (RestoreObject) before GetObject can read them. */
export const RESTORE_REQUIRED_CLASSES = ['GLACIER', 'DEEP_ARCHIVE'] as const;
export type RestoreRequiredClass = (typeof RESTORE_REQUIRED_CLASSES)[number];

/** A wait range in minutes. */
export interface WaitRange {
  minMinutes: number;
  maxMinutes: number;
}

/**
 * Typical time until a restored archive object is readable, per storage class and tier.
 *
 * Source: Amazon S3 User Guide, "Understanding archive retrieval options" (docs.aws.amazon.com/AmazonS3/latest/userguide/
 * restoring-objects-retrieval-options.html), checked 2026-11: S3 Glacier Flexible Retrieval (`GLACIER`) — Expedited
 * 1–5 minutes, Standard 3–5 hours, Bulk 5–12 hours; S3 Glacier Deep Archive (`DEEP_ARCHIVE`) — Standard within
 * 12 hours, Bulk within 48 hours, Expedited not offered. S3 Glacier Instant Retrieval (`GLACIER_IR`) is read
 * directly (milliseconds, no restore). Expedited retrievals may be refused under load unless capacity was bought
 * (`GlacierExpeditedRetrievalNotAvailable`).
 */
export const RETRIEVAL_WAITS: Record<RestoreRequiredClass, Partial<Record<RetrievalTier, WaitRange>>> = {
  GLACIER: {
    Expedited: { minMinutes: 1, maxMinutes: 5 },
    Standard: { minMinutes: 3 * 60, maxMinutes: 5 * 60 },
    Bulk: { minMinutes: 5 * 60, maxMinutes: 12 * 60 },
  },
  DEEP_ARCHIVE: {
    Standard: { minMinutes: 0, maxMinutes: 12 * 60 },
    Bulk: { minMinutes: 0, maxMinutes: 48 * 60 },
  },
};

/** Whether an object of this storage class (as S3 reports it; absent = STANDARD) must be restored before it is read. */
export function needsRestore(storageClass: string | undefined): storageClass is RestoreRequiredClass {
  return storageClass === 'GLACIER' || storageClass === 'DEEP_ARCHIVE';
}

/** Parses a retrieval tier given on the command line (case-insensitive). @throws UsageError for anything else. */
export function parseRetrievalTier(text: string): RetrievalTier {
  const tier = RETRIEVAL_TIERS.find((t) => t.toLowerCase() === text.toLowerCase());
  if (!tier) throw new UsageError(`unknown retrieval tier ${JSON.stringify(text)}: expected Expedited, Standard or Bulk`);
  return tier;
}

/**
 * The tier actually used for a class: DEEP_ARCHIVE has no Expedited tier, so Expedited becomes Standard there.
 */
export function effectiveTier(storageClass: RestoreRequiredClass, tier: RetrievalTier): RetrievalTier {
  return RETRIEVAL_WAITS[storageClass][tier] ? tier : 'Standard';
}

/** The estimated wait of a set of restores (they run in parallel: the slowest one decides). */
export interface WaitEstimate extends WaitRange {
  /** e.g. `3–5 h (GLACIER, Standard)`, or `none` when nothing needs a restore. */
  text: string;
  /** Notes such as a tier substituted for DEEP_ARCHIVE. */
  notes: string[];
}

function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const hours = minutes / 60;
  return `${Number.isInteger(hours) ? hours : hours.toFixed(1)} h`;
}

/** `1–5 min`, `3–5 h`, `≤ 12 h`. */
export function formatWaitRange(range: WaitRange): string {
  if (range.minMinutes === 0) return `≤ ${formatMinutes(range.maxMinutes)}`;
  if (range.minMinutes >= 60 && range.maxMinutes >= 60) return `${range.minMinutes / 60}–${formatMinutes(range.maxMinutes)}`;
  if (range.maxMinutes < 60) return `${range.minMinutes}–${formatMinutes(range.maxMinutes)}`;
  return `${formatMinutes(range.minMinutes)}–${formatMinutes(range.maxMinutes)}`;
}

/**
 * Estimated wait until every object that needs a restore is readable, from {@link RETRIEVAL_WAITS}.
 * @param classes storage classes of the objects still to be restored (others are ignored).
 */
export function estimateRetrievalWait(classes: readonly (string | undefined)[], tier: RetrievalTier): WaitEstimate {
  let worst: { range: WaitRange; label: string } | undefined;
  const notes: string[] = [];
  for (const storageClass of new Set(classes)) {
    if (!needsRestore(storageClass)) continue;
    const used = effectiveTier(storageClass, tier);
    if (used !== tier) notes.push(`${storageClass} has no ${tier} tier: ${used} is used for it`);
    const range = RETRIEVAL_WAITS[storageClass][used]!;
    if (!worst || range.maxMinutes > worst.range.maxMinutes) worst = { range, label: `${storageClass}, ${used}` };
  }
  if (!worst) return { minMinutes: 0, maxMinutes: 0, text: 'none (every object is readable now)', notes };
  return { ...worst.range, text: `${formatWaitRange(worst.range)} (${worst.label}; AWS S3 User Guide typical times)`, notes };
}

/** The `Restore` header of HeadObject, parsed. */
export interface RestoreHeader {
  /** true while the restore runs; false once the temporary copy is readable. */
  ongoing: boolean;
  /** When the temporary copy expires (as S3 wrote it), once restored. */
  expiry?: string;
}

/**
 * Parses HeadObject's `Restore` header, e.g. `ongoing-request="true"` or
 * `ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"`.
 * @returns undefined when the header is absent or unreadable (no restore requested).
 */
export function parseRestoreHeader(header: string | undefined): RestoreHeader | undefined {
  if (!header) return undefined;
  const ongoing = /ongoing-request\s*=\s*"(true|false)"/i.exec(header);
  if (!ongoing) return undefined;
  const expiry = /expiry-date\s*=\s*"([^"]*)"/i.exec(header);
  return { ongoing: ongoing[1].toLowerCase() === 'true', ...(expiry ? { expiry: expiry[1] } : {}) };
}

/** Recovery cannot proceed with the SETs at the hot-site (nothing restorable, unknown or unusable SET named). */
export class RecoveryError extends CommserveDrError {
  constructor(code: string, message: string, options: { cause?: unknown; context?: Record<string, unknown>; exitCode?: 1 | 2 } = {}) {
    super(code, message, options);
  }
}

/**
 * The SETs to restore: the newest restorable point (a successful FULL + the newest successful DIFFERENTIAL of its
 * cycle, SPEC §6, or the newest LOG point of that cycle whose chain is whole, SPEC §4.5), or the SET named: a FULL
 * alone, a DIFFERENTIAL on top of its cycle's FULL, or a LOG with its chain (FULL + DIFFERENTIAL + LOGs).
 * @param sets every SET known at the hot-site (see `buildCycles`).
 * @throws RecoveryError `NO_RESTORABLE_POINT` (nothing restorable), `SET_NOT_FOUND` (exit 2), `SET_NOT_RESTORABLE`
 *   (the SET named is incomplete, failed, or its FULL is not usable), with the reason.
 */
export function choosePoint(sets: readonly SetSummary[], requested?: string): RestorablePoint {
  const report = buildCycles(sets);
  if (requested === undefined) {
    // The newest cycle's point; an open cycle's point counts (its FULL and DIFFERENTIALs are complete SETs). A LOG
    // point of that cycle newer than it, whose chain is whole, is newer still (SPEC §2: FULL + DIFF + LOG points).
    const point = newestPointWithLogs(report);
    if (!point) {
      throw new RecoveryError('NO_RESTORABLE_POINT', `no restorable point at the hot-site: ${sets.length === 0 ? 'no SETs' : 'no successful complete FULL'}`);
    }
    return point;
  }
  const jobId = parseSetName(requested);
  if (jobId === undefined) throw new RecoveryError('SET_NOT_FOUND', `${JSON.stringify(requested)} is not a SET name (SET_<n>)`, { exitCode: 2 });
  const set = sets.find((s) => s.jobId === jobId);
  if (!set) throw new RecoveryError('SET_NOT_FOUND', `${setNameOf(jobId)} is not at the hot-site (neither under sets/ nor archive/)`, { exitCode: 2 });
  const name = set.setName; // as written: legacy SET_007 or new SET_0000007
  if (!isSuccessfulSet(set)) throw new RecoveryError('SET_NOT_RESTORABLE', `${name} cannot be restored: it ${describeSetOutcome(set)}`);
  if (set.backupType === BackupType.Full) return { cycleId: jobId, full: set, jobId, sets: [set] };
  if (set.backupType === BackupType.Log) {
    const chain = chainPointOfSet(report, jobId);
    if ('reason' in chain) throw new RecoveryError('SET_NOT_RESTORABLE', `${name} cannot be restored: ${chain.reason}`);
    return restorablePointOf(chain);
  }
  const orphan = report.orphans.find((o) => o.set.jobId === jobId);
  if (orphan) throw new RecoveryError('SET_NOT_RESTORABLE', `${name} cannot be restored: ${orphan.reason}`);
  const cycle = report.cycles.find((c) => c.differentials.some((d) => d.jobId === jobId));
  if (!cycle) throw new RecoveryError('SET_NOT_RESTORABLE', `${name} belongs to no cycle`);
  return { cycleId: cycle.cycleId, full: cycle.full, differential: set, jobId, sets: [cycle.full, set] };
}

/** One object of the plan. */
export interface PlannedObject {
  setName: string;
  file: string;
  /** The S3 key (`sets/…`, `archive/…`) or the path on disk of the copy that serves the file. */
  key: string;
  /** Where the serving copy is: `local` (a folder of SETs on disk), `sets` (hot-site), `archive`. */
  area: 'local' | 'sets' | 'archive';
  /** The copy that serves the file (SPEC §6.1: the cheapest intact one: local, then hot-site, then archive). */
  copy: 'local' | 'hot-site' | 'archive';
  /** Copies of this file passed over because they are damaged or missing, each with what was found. */
  skipped: Array<{ copy: 'local' | 'hot-site' | 'archive'; key: string; detail: string; /** The finding's error code (`SIZE_MISMATCH`, `CHECKSUM_MISMATCH`, `COPY_FILE_MISSING`, …). */ code?: string }>;
  size: number;
  /** As S3 lists it (`STANDARD` when S3 says nothing). */
  storageClass: string;
  /** `readable` (read directly), `restored` (archive copy restored, readable), `restore-needed`, `restoring`. */
  state: 'readable' | 'restored' | 'restore-needed' | 'restoring';
}

/** The recovery plan: what is read from where, and how long archive restores should take. */
export interface RecoveryPlan {
  /** The SETs in restore order (FULL first). */
  sets: string[];
  /** The newest SET: the state restored. */
  pointSet: string;
  /**
   * The point in time restored (ISO-8601 UTC): the newest SET's `pointTime` (the captured state), else its job's end
   * time (from its manifest, when known) — the same moment as the recovery report's `point.pointInTime`.
   */
  pointInTime: string | null;
  objects: PlannedObject[];
  totalBytes: number;
  /** Objects that must be (or are being) restored from an archive class before they can be read. */
  pendingObjects: number;
  tier: RetrievalTier;
  estimatedWait: WaitEstimate;
}

/**
 * Builds the plan from the objects chosen per SET.
 * @param objects the objects to read, each with its state.
 */
export function makePlan(point: RestorablePoint, objects: readonly PlannedObject[], tier: RetrievalTier, pointInTime: string | null): RecoveryPlan {
  const pending = objects.filter((o) => o.state === 'restore-needed' || o.state === 'restoring');
  return {
    sets: point.sets.map((s) => s.setName),
    pointSet: point.sets.find((s) => s.jobId === point.jobId)?.setName ?? setNameOf(point.jobId),
    pointInTime,
    objects: [...objects],
    totalBytes: objects.reduce((sum, o) => sum + o.size, 0),
    pendingObjects: pending.length,
    tier,
    estimatedWait: estimateRetrievalWait(
      pending.map((o) => o.storageClass),
      tier,
    ),
  };
}

/** The plan as text lines for people. */
export function formatPlan(plan: RecoveryPlan): string {
  const lines = [
    `Restore point: ${plan.pointSet}${plan.pointInTime ? ` (state at ${plan.pointInTime})` : ''} from ${plan.sets.join(' + ')}`,
    `Objects: ${plan.objects.length}, ${formatBytes(plan.totalBytes)}`,
  ];
  for (const o of plan.objects) {
    lines.push(`  ${`${o.setName}/${o.file}`.padEnd(32)} ${formatBytes(o.size).padStart(10)}  from ${o.copy.padEnd(8)} ${o.key}  (${o.storageClass}, ${o.state})`);
    for (const k of o.skipped) lines.push(`    skipped ${k.copy} copy ${k.key}: ${k.detail}`);
  }
  lines.push(`Archive restores: ${plan.pendingObjects === 0 ? 'none needed' : `${plan.pendingObjects} object(s), tier ${plan.tier}`}; estimated wait ${plan.estimatedWait.text}`);
  for (const note of plan.estimatedWait.notes) lines.push(`  note: ${note}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The path in `stagingDir/<setName>/` a manifest's file name maps to, refusing any name that is absolute,
 * contains a separator or `..`, or otherwise resolves outside that folder (SPEC §10).
 * @throws ManifestError `MANIFEST_UNSAFE_PATH`.
 */
export function stagingPath(stagingDir: string, setName: string, fileName: string): string {
  const folder = resolve(stagingDir, setName);
  const unsafe = () =>
    new ManifestError('MANIFEST_UNSAFE_PATH', `manifest of ${setName} names a file outside the staging directory: ${JSON.stringify(fileName)}`, {
      context: { setName, fileName },
    });
  if (parseSetName(setName) === undefined || typeof fileName !== 'string' || !isSafeFileName(fileName)) throw unsafe();
  const path = resolve(folder, fileName);
  if (!path.startsWith(folder + sep)) throw unsafe();
  return path;
}
