/**
 * The right point (SPEC §6.1, issue 15 item 3): the default point is the newest point whose SETs all have an intact
 * copy of every file recovery needs (in any copy: local, hot-site, archive — the SETs of every copy are merged), whose
 * backup found no database corruption, and whose last `verify` (if any) passed. Every newer point passed over is
 * listed with its reason. A point named with `--set` is restored as asked when it has intact copies (a corruption
 * or failed verify is a warning then); when it has none, the refusal names the older intact points and the exact
 * command for each.
 */
import { buildCycles, isSuccessfulSet, type RestorablePoint, type SetSummary } from '#core/cycles';
import { CommserveDrError, describeError } from '#core/errors';
import { describeIntegrityFindings } from '#core/integrity-findings';
import { choosePoint, RecoveryError } from '#core/recovery';
import { plannedObjects, type FileFilter, type HotSiteSetView, type HotSiteView } from './plan';

/** A point not chosen, and why. */
export interface PassedOverPoint {
  sets: string[];
  reason: string;
}

/** The point chosen and the newer points passed over. */
export interface PointChoice {
  point: RestorablePoint;
  passedOver: PassedOverPoint[];
  /** Findings about a point named by the operator that did not stop it (corruption at backup, failed verify). */
  warnings: string[];
}

/** The last verify of a point, by the point's newest SET (see `readVerifications`). */
export type VerifyResults = ReadonlyMap<string, { result: 'restorable' | 'failed'; verifiedAt: string }>;

/** Every restorable point, newest first: each successful SET in a cycle with its FULL (a FULL alone is a point too). */
export function allPoints(summaries: readonly SetSummary[]): RestorablePoint[] {
  const report = buildCycles(summaries);
  const orphans = new Set(report.orphans.map((o) => o.set.jobId));
  const points: RestorablePoint[] = [];
  for (const set of summaries) {
    if (!isSuccessfulSet(set) || orphans.has(set.jobId)) continue;
    try {
      points.push(choosePoint(summaries, set.setName));
    } catch {
      // not a point (its FULL is unusable): buildCycles already says why in `sets`
    }
  }
  return points.sort((a, b) => b.jobId - a.jobId);
}

/** Why a point cannot be the default (corruption found at backup, failed verify), or undefined. */
function findingAgainst(view: HotSiteView, point: RestorablePoint, verifications: VerifyResults): string | undefined {
  for (const set of point.sets) {
    const integrity = view.get(set.jobId)?.manifest?.integrity;
    if (integrity?.status === 'corrupt') return `the backup of ${set.setName} found database corruption (${describeIntegrityFindings(integrity.messages)})`;
  }
  const v = verifications.get(point.sets.at(-1)!.setName);
  if (v?.result === 'failed') return `its last verify failed (${v.verifiedAt})`;
  return undefined;
}

/** Why the point's files cannot all be read from an intact copy, or undefined when they can. */
async function missingCopies(view: HotSiteView, point: RestorablePoint, filter: FileFilter): Promise<string | undefined> {
  for (const set of point.sets) {
    const entry = view.get(set.jobId);
    if (entry?.manifestState === 'invalid') return `${set.setName}: manifest unusable: ${entry.problems.join('; ')}`;
  }
  try {
    await plannedObjects(view, point, filter);
    return undefined;
  } catch (error) {
    if (error instanceof CommserveDrError && error.code === 'NO_INTACT_COPY') return describeError(error);
    throw error;
  }
}

/** An older point whose files all have a copy that passes the check, and the command that restores it. */
export interface OlderPoint {
  sets: string[];
  /** e.g. `commserve-dr recover --set SET_2 --to /srv/commserve`. */
  command: string;
}

/**
 * The points older than job `below` whose files all have a copy passing the plan's check (size; HeadObject's stored
 * checksum at the hot-site), newest first, each with the exact command for it.
 * @param command the command with `{SET}` where the SET name goes.
 */
export async function olderIntactPoints(view: HotSiteView, below: number, filter: FileFilter, command: string): Promise<OlderPoint[]> {
  const out: OlderPoint[] = [];
  for (const p of allPoints([...view.values()].map((v) => v.summary))) {
    if (p.jobId >= below) continue;
    if (await missingCopies(view, p, filter)) continue;
    out.push({ sets: p.sets.map((s) => s.setName), command: command.replace('{SET}', p.sets.at(-1)!.setName) });
  }
  return out;
}

function olderPointsText(older: readonly OlderPoint[]): string {
  return older.length ? ` Older points with intact copies:\n  ${older.map((o) => `${o.sets.join(' + ')}: ${o.command}`).join('\n  ')}` : ' No older point has intact copies either.';
}

/**
 * A `NO_INTACT_COPY` found while reading a point (every copy of a file failed its SHA-256 on the way) completed with
 * the older intact points and their commands (message and `context.olderPoints`); any other error as it is.
 */
export async function withOlderPoints(error: unknown, view: HotSiteView, point: RestorablePoint, filter: FileFilter, command: string): Promise<unknown> {
  if (!(error instanceof CommserveDrError) || error.code !== 'NO_INTACT_COPY') return error;
  const older = await olderIntactPoints(view, point.jobId, filter, command);
  return new RecoveryError('NO_INTACT_COPY', `${point.sets.at(-1)!.setName} cannot be restored: ${error.message}.${olderPointsText(older)}`, {
    cause: error,
    context: { ...error.context, olderPoints: older },
  });
}

/** `NO_RESTORABLE_POINT` naming the copies read and why each SET found starts or joins no point. */
function noPointAtAll(view: HotSiteView, summaries: readonly SetSummary[]): RecoveryError {
  const where = [...view.copies.values()].filter((c) => !view.unreachable.some((u) => u.copy === c.kind)).map((c) => c.label).join(', ') || 'no copy';
  if (summaries.length === 0) return new RecoveryError('NO_RESTORABLE_POINT', `no restorable point: no SETs in the copies read (${where})`);
  const reasons = buildCycles(summaries).orphans.map((o) => `${o.reason}`);
  const unsuccessful = summaries.filter((s) => !isSuccessfulSet(s)).map((s) => s.setName);
  return new RecoveryError(
    'NO_RESTORABLE_POINT',
    `no restorable point in the copies read (${where}): no successful complete FULL${reasons.length ? `; ${reasons.join('; ')}` : ''}${unsuccessful.length ? `; not successful or incomplete: ${unsuccessful.join(', ')}` : ''}. A DIFFERENTIAL needs its cycle's FULL: add the folder or copy that holds it`,
  );
}

/**
 * Successful SETs newer than the chosen point that are no point at all in the copies read (e.g. `--from` a folder
 * whose DIFFERENTIALs are based on a FULL only at the hot-site): one warning each, so a newer SET is never skipped
 * without a word.
 */
function newerUnrestorable(view: HotSiteView, summaries: readonly SetSummary[], point: RestorablePoint): string[] {
  const orphans = buildCycles(summaries)
    .orphans.filter((o) => o.set.jobId > point.jobId && isSuccessfulSet(o.set))
    .map((o) => ({ jobId: o.set.jobId, line: `${o.set.setName} is newer than the point chosen but cannot be restored from the copies read: ${o.reason}` }));
  const unfinished = summaries.filter((s) => s.jobId > point.jobId && !s.complete).map((s) => ({ jobId: s.jobId, line: `${s.setName} is newer than the point chosen but was skipped: ${withoutManifest(view.get(s.jobId))}` }));
  return [...orphans, ...unfinished].sort((a, b) => a.jobId - b.jobId).map((w) => w.line);
}

/** Why a SET found has no usable manifest (newcomer review finding 2: a newer SET is never skipped without a word). */
function withoutManifest(entry: HotSiteSetView | undefined): string {
  if (entry?.manifestState === 'invalid') return `its manifest was refused (${entry.problems.join('; ')})`;
  const where = entry ? [...entry.listed.byCopy.keys()].join(', ') : 'the copies read';
  return `no manifest in ${where} (unfinished or damaged: a job that did not finish, or a lost manifest; a SET without a manifest is never restored)`;
}

/**
 * Chooses the point to restore (see the module comment).
 * @param command the command to suggest for another point, with `{SET}` where the SET name goes
 *   (e.g. `commserve-dr recover --set {SET} --to DIR`).
 * @throws RecoveryError `NO_RESTORABLE_POINT` (no point passes; every one listed with its reason), `NO_INTACT_COPY`
 *   (the point named has no intact copy of a file; the older intact points and their commands listed), and as
 *   `choosePoint` for a SET named that is unknown (exit 2) or not restorable.
 */
export async function choosePointFromCopies(
  view: HotSiteView,
  requested: string | undefined,
  filter: FileFilter,
  verifications: VerifyResults,
  command: string,
): Promise<PointChoice> {
  const summaries = [...view.values()].map((v) => v.summary);
  const points = allPoints(summaries);
  if (requested !== undefined) {
    const point = choosePoint(summaries, requested);
    const missing = await missingCopies(view, point, filter);
    if (missing) {
      const older = await olderIntactPoints(view, point.jobId, filter, command);
      throw new RecoveryError('NO_INTACT_COPY', `${point.sets.at(-1)!.setName} cannot be restored: ${missing}.${olderPointsText(older)}`, { context: { olderPoints: older } });
    }
    const finding = findingAgainst(view, point, verifications);
    return { point, passedOver: [], warnings: finding ? [`${point.sets.at(-1)!.setName} restored as asked although ${finding}`] : [] };
  }
  const passedOver: PassedOverPoint[] = [];
  for (const point of points) {
    const reason = findingAgainst(view, point, verifications) ?? (await missingCopies(view, point, filter));
    if (!reason) return { point, passedOver, warnings: newerUnrestorable(view, summaries, point) };
    passedOver.push({ sets: point.sets.map((s) => s.setName), reason });
  }
  if (points.length === 0) throw noPointAtAll(view, summaries);
  throw new RecoveryError(
    'NO_RESTORABLE_POINT',
    `no point can be restored by default:\n  ${passedOver.map((p) => `${p.sets.join(' + ')}: ${p.reason}`).join('\n  ')}\n(name one with --set SET_n to restore it despite a corruption finding or a failed verify)`,
  );
}
