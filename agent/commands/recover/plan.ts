/**
 * What recovery knows about the SETs, read through the copy interface (`agent/copies/`): every SET of every copy
 * (a folder on disk, the hot-site's `sets/`, its `archive/`) merged by job id, its manifest (from the cheapest copy
 * that has a readable one), its job record, and the summary `buildCycles` needs. Also the choice of the copy that
 * serves each file of a point — every copy is a candidate, file by file, cheapest first (SPEC §6.1) — and the plan.
 */
import { chainFields } from '#core/log-chain';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RestorablePoint, SetSummary } from '#core/cycles';
import { CommserveDrError, describeError, ManifestError } from '#core/errors';
import { jobRecordKey, MANIFEST_FILE } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { JobStatus } from '#core/job-status';
import type { Manifest, ManifestFile } from '#core/manifest';
import { makePlan, RecoveryError, type PlannedObject, type RecoveryPlan, type RetrievalTier } from '#core/recovery';
import { BackupType, parseSetName, setName as setNameOf } from '#core/set-id';
import { readHistory } from '#agent/history/history';
import { COPY_ORDER, FolderCopy, selectCopies, type Copies, type CopyKind, type CopyObject, type CopySetFiles, type ManifestRead } from '#agent/copies/index';
import { backupTypeFromFileNames } from '#core/dump-files';

/** SETs whose manifest and job record are read at once by {@link discoverCopies}. */
const DISCOVERY_CONCURRENCY = 4;

/** One SET as listed by every copy that holds it. */
export interface ListedSet {
  jobId: number;
  setName: string;
  /** The SET's files in each copy that holds it. */
  byCopy: Map<CopyKind, CopySetFiles>;
}

/** One SET as recovery sees it. */
export interface HotSiteSetView {
  listed: ListedSet;
  /** The manifest, when it could be read and is valid. */
  manifest: Manifest | null;
  /** `read`; `missing` (no manifest: incomplete SET); `pending` (only an archived copy, not restored yet); `invalid`. */
  manifestState: 'read' | 'missing' | 'pending' | 'invalid';
  /** The copy the manifest was read from. */
  manifestFrom: CopyKind | null;
  record: JobRecord | null;
  problems: string[];
  summary: SetSummary;
}

/** Every SET of every copy, by job id; `copies` are the copies read and `unreachable` the ones that could not be listed. */
export type HotSiteView = Map<number, HotSiteSetView> & { copies: Copies; unreachable: Array<{ copy: CopyKind; label: string; reason: string }> };

async function readHotSiteRecord(s3: S3Client, bucket: string, jobId: number): Promise<JobRecord | null> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: jobRecordKey(jobId) }));
    return JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8')));
  } catch {
    return null;
  }
}

/**
 * Reads one SET's manifest from the cheapest copy that has a readable one; `pending` when the only copies are
 * archived and not restored, `invalid` (with every copy's problem) when none is valid.
 */
export async function readSetManifest(copies: Copies, listed: ListedSet): Promise<Pick<HotSiteSetView, 'manifest' | 'manifestState' | 'problems' | 'manifestFrom'>> {
  const problems: string[] = [];
  let pending = false;
  for (const kind of COPY_ORDER) {
    const files = listed.byCopy.get(kind);
    const copy = copies.get(kind);
    if (!files || !copy || !files.has(MANIFEST_FILE)) continue;
    let read: ManifestRead;
    try {
      read = await copy.readManifest(listed.setName, files);
    } catch (error) {
      problems.push(`${copy.label}: ${describeError(error)}`);
      continue;
    }
    if (read.manifestState === 'read') return { ...read, manifestFrom: kind };
    if (read.manifestState === 'pending') pending = true;
    problems.push(...read.problems);
  }
  if (pending) return { manifest: null, manifestState: 'pending', problems: [], manifestFrom: null };
  if (problems.length > 0) return { manifest: null, manifestState: 'invalid', problems, manifestFrom: null };
  return { manifest: null, manifestState: 'missing', problems: [], manifestFrom: null };
}

function typeFromFiles(listed: ListedSet): BackupType {
  const names = [...listed.byCopy.values()].flatMap((files) => [...files.keys()]);
  return backupTypeFromFileNames(names, listed.jobId) ?? BackupType.Full;
}

/** Where the job records are: the hot-site's `jobs/`, and the history of every folder copy. */
export interface RecordSources {
  s3?: S3Client | null;
  bucket?: string;
}

/**
 * Lists every copy and reads what recovery needs about each SET (see the module comment). A copy that cannot be
 * listed is reported in `unreachable` as long as another copy could be listed. Status comes from the job record
 * (hot-site `jobs/`, else the folder's history), else from the manifest (error events → Completed With One or More
 * Errors, else Completed), as `sets` does.
 * @throws the listing error of the first copy when no copy could be listed (e.g. HotSiteError `HOTSITE_UNREACHABLE`,
 *   CommserveDrError `COPY_UNREADABLE` for a `--from` folder that does not exist).
 */
export async function discoverCopies(copies: Copies, records: RecordSources = {}): Promise<HotSiteView> {
  const view = Object.assign(new Map<number, HotSiteSetView>(), { copies, unreachable: [] as HotSiteView['unreachable'] });
  const merged = new Map<number, ListedSet>();
  let firstError: unknown;
  let listedAny = false;
  const localRecords = new Map<number, JobRecord>();
  for (const kind of COPY_ORDER) {
    const copy = copies.get(kind);
    if (!copy) continue;
    let sets: Map<number, CopySetFiles>;
    try {
      sets = await copy.listSets();
    } catch (error) {
      firstError ??= error;
      view.unreachable.push({ copy: kind, label: copy.label, reason: describeError(error) });
      continue;
    }
    listedAny = true;
    for (const [jobId, files] of sets) {
      // The name as the copy lists it (legacy SET_007 or new SET_0000007: core/set-id.ts), never rebuilt from the job id.
      const entry = merged.get(jobId) ?? { jobId, setName: [...files.values()][0]?.setName ?? setNameOf(jobId), byCopy: new Map() };
      entry.byCopy.set(kind, files);
      merged.set(jobId, entry);
    }
    if (copy instanceof FolderCopy) for (const r of readHistory(copy.dir)) if (r.jobId !== null) localRecords.set(r.jobId, r);
  }
  if (!listedAny && firstError !== undefined) throw firstError;
  const hotSiteListed = copies.has('hot-site') && !view.unreachable.some((u) => u.copy === 'hot-site');
  const sets = [...merged.values()].sort((a, b) => a.jobId - b.jobId);
  const reads = new Array<{ read: Awaited<ReturnType<typeof readSetManifest>>; record: JobRecord | null }>(sets.length);
  let next = 0;
  const reader = async () => {
    while (next < sets.length) {
      const i = next++;
      const [read, remote] = await Promise.all([
        readSetManifest(copies, sets[i]),
        hotSiteListed && records.s3 && records.bucket ? readHotSiteRecord(records.s3, records.bucket, sets[i].jobId) : Promise.resolve(null),
      ]);
      reads[i] = { read, record: remote ?? localRecords.get(sets[i].jobId) ?? null };
    }
  };
  await Promise.all(Array.from({ length: Math.min(DISCOVERY_CONCURRENCY, sets.length) }, reader));
  for (const [i, listed] of sets.entries()) {
    const { read, record } = reads[i];
    const complete = read.manifestState === 'read' || read.manifestState === 'pending';
    const status = record?.status ?? (complete ? (read.manifest?.events.some((e) => e.level === 'error') ? JobStatus.CompletedWithErrors : JobStatus.Completed) : JobStatus.Failed);
    const summary: SetSummary = {
      jobId: listed.jobId,
      setName: listed.setName,
      backupType: read.manifest?.backupType ?? record?.backupType ?? typeFromFiles(listed),
      status,
      complete,
      ...(read.manifest ? { cycleId: read.manifest.cycleId, endTime: read.manifest.endTime, bytes: read.manifest.files.reduce((s, f) => s + f.size, 0), ...chainFields(read.manifest) } : {}),
      ...(read.manifestState === 'invalid' ? { manifestRefused: read.problems.join('; ') } : {}),
    };
    view.set(listed.jobId, { listed, ...read, record, summary });
  }
  return view;
}

/**
 * The hot-site alone (`sets/` and `archive/`), as before copies were merged: kept for callers that look only there.
 * @throws HotSiteError when the hot-site cannot be listed.
 */
export async function discoverHotSite(s3: S3Client, bucket: string): Promise<HotSiteView> {
  return discoverCopies(selectCopies({ s3, bucket }), { s3, bucket });
}

/** What to read of one SET: a file of the manifest (true) or not (false). */
export type FileFilter = (manifest: Manifest, file: Manifest['files'][number], isPointSet: boolean) => boolean;

/** Every copy of a file of a SET, cheapest first (local, hot-site, archive). */
export function candidates(listed: ListedSet, file: string): CopyObject[] {
  return COPY_ORDER.map((kind) => listed.byCopy.get(kind)?.get(file)).filter((o): o is CopyObject => o !== undefined);
}

/** The cheapest copy of a file of a SET (for small files such as the manifest). */
export function sourceObject(listed: ListedSet, file: string): CopyObject | undefined {
  return candidates(listed, file)[0];
}

const AREA: Record<CopyKind, PlannedObject['area']> = { local: 'local', 'hot-site': 'sets', archive: 'archive' };

/** A planned object for a copy of a file. */
export async function plannedObject(view: HotSiteView, object: CopyObject, skipped: PlannedObject['skipped']): Promise<PlannedObject> {
  const state = await view.copies.get(object.copy)!.readiness(object);
  return { setName: object.setName, file: object.file, key: object.key, area: AREA[object.copy], copy: object.copy, size: object.size, storageClass: object.storageClass, state, skipped };
}

/**
 * Chooses the copy that serves one file: the first (cheapest) candidate that passes its check against the manifest
 * entry — `deep` (dry run, verify) hashes files on disk and asks S3 for its stored checksum; otherwise a file on disk
 * or an archived object is taken on its listed size (the download verifies every byte and falls back to the next copy
 * on a mismatch) and a hot-site object on HeadObject's size and stored checksum.
 * @returns the object chosen and the copies passed over, or undefined (with every copy's problem) when none is intact.
 */
export async function chooseCopy(view: HotSiteView, listed: ListedSet, entry: ManifestFile, deep: boolean): Promise<{ chosen?: CopyObject; skipped: PlannedObject['skipped'] }> {
  const skipped: PlannedObject['skipped'] = [];
  for (const kind of COPY_ORDER) {
    const copy = view.copies.get(kind);
    if (!copy || !listed.byCopy.has(kind)) continue;
    const object = listed.byCopy.get(kind)!.get(entry.name);
    if (!object) {
      skipped.push({ copy: kind, key: copy.keyOf(listed.setName, entry.name), detail: 'missing', code: 'COPY_FILE_MISSING' });
      continue;
    }
    if (object.size !== entry.size) {
      skipped.push({ copy: kind, key: object.key, detail: `size ${object.size}, manifest ${entry.size}`, code: 'SIZE_MISMATCH' });
      continue;
    }
    if (kind === 'hot-site' || (deep && kind === 'local')) {
      let check;
      try {
        check = await copy.check(object, entry, deep);
      } catch (error) {
        skipped.push({ copy: kind, key: object.key, detail: `not checked: ${describeError(error)}`, code: error instanceof CommserveDrError ? error.code : 'COPY_UNREACHABLE' });
        continue;
      }
      if (!check.ok) {
        skipped.push({ copy: kind, key: object.key, detail: check.detail ?? 'damaged', code: check.detail === 'missing' ? 'COPY_FILE_MISSING' : check.method === 'size' ? 'SIZE_MISMATCH' : 'CHECKSUM_MISMATCH' });
        continue;
      }
    }
    return { chosen: object, skipped };
  }
  return { skipped };
}

/** `SET_3/commserv_DIFF_3.dmp: local …: SHA-256 …; hot-site …: missing`. */
export function describeNoIntactCopy(setName: string, file: string, skipped: PlannedObject['skipped']): string {
  return `${setName}/${file} has no intact copy${skipped.length ? `: ${skipped.map((s) => `${s.copy} ${s.key}: ${s.detail}`).join('; ')}` : ' (not in any copy read)'}`;
}

/**
 * The objects to read for a point, each from the cheapest intact copy (see {@link chooseCopy}). When a SET's manifest
 * is still pending, every archive object of the SET is listed (what is needed is only known once it is read).
 * @throws RecoveryError `NO_INTACT_COPY` when a file the manifest lists has no intact copy, naming every copy's problem.
 */
export async function plannedObjects(view: HotSiteView, point: RestorablePoint, filter: FileFilter, deep = false): Promise<PlannedObject[]> {
  const out: PlannedObject[] = [];
  for (const set of point.sets) {
    const entry = view.get(set.jobId)!;
    const isPointSet = set.jobId === point.jobId;
    if (!entry.manifest) {
      for (const object of entry.listed.byCopy.get('archive')?.values() ?? []) out.push(await plannedObject(view, object, []));
      continue;
    }
    for (const file of entry.manifest.files) {
      if (!filter(entry.manifest, file, isPointSet)) continue;
      const { chosen, skipped } = await chooseCopy(view, entry.listed, file, deep);
      if (!chosen) throw new RecoveryError('NO_INTACT_COPY', describeNoIntactCopy(set.setName, file.name, skipped), { context: { skipped } });
      out.push(await plannedObject(view, chosen, skipped));
    }
  }
  return out;
}

/**
 * The one moment a point is shown at everywhere (the plan's "Restore point" line, the report's "Point" line, `--json`):
 * its newest SET's `pointTime` (the captured database state, ISO-8601 UTC), else that job's end time for a manifest
 * older than `pointTime`; null while the manifest is not readable (archived, not restored yet).
 */
export function pointTimeOf(view: HotSiteView, point: RestorablePoint): string | null {
  const manifest = view.get(point.jobId)?.manifest;
  return manifest?.pointTime ?? manifest?.endTime ?? null;
}

/** Builds the plan for a point. */
export async function buildPlan(view: HotSiteView, point: RestorablePoint, filter: FileFilter, tier: RetrievalTier, deep = false): Promise<RecoveryPlan> {
  const objects = await plannedObjects(view, point, filter, deep);
  return makePlan(point, objects, tier, pointTimeOf(view, point));
}

/**
 * Checks that the manifests of the point's SETs agree with each other before anything is read: the DIFFERENTIAL
 * names the FULL as its base and belongs to its cycle, the FULL is a FULL.
 * @throws ManifestError `DIFF_BASE_WRONG` / `MANIFEST_INVALID` with the reason.
 */
export function checkPointManifests(view: HotSiteView, point: RestorablePoint): void {
  for (const set of point.sets) {
    const entry = view.get(set.jobId)!;
    if (entry.manifestState === 'invalid') {
      throw new ManifestError('MANIFEST_INVALID', `${set.setName}: manifest unusable: ${entry.problems.join('; ')}`);
    }
  }
  const full = view.get(point.full.jobId)!.manifest;
  if (full && full.backupType !== BackupType.Full) throw new ManifestError('DIFF_BASE_WRONG', `${point.full.setName} is not a FULL by its manifest`);
  if (point.differential) {
    const diff = view.get(point.differential.jobId)!.manifest;
    if (diff && (diff.baseFullSet !== point.full.setName || diff.cycleId !== point.full.jobId)) {
      throw new ManifestError('DIFF_BASE_WRONG', `${point.differential.setName} is based on ${diff.baseFullSet ?? 'no FULL'}, not on ${point.full.setName}: refusing to restore it on that FULL`);
    }
  }
}

/**
 * When a SET is named, refuses it clearly if its manifest is malformed (instead of "incomplete").
 * @throws ManifestError `MANIFEST_INVALID`.
 */
export function assertNamedManifestUsable(view: HotSiteView, setName: string | undefined): void {
  if (setName === undefined) return;
  const jobId = parseSetName(setName); // by job id: SET_7 names job 7's SET, legacy SET_007 or new SET_0000007
  for (const entry of view.values()) {
    if (parseSetName(entry.listed.setName) === jobId && entry.manifestState === 'invalid') {
      throw new ManifestError('MANIFEST_INVALID', `${entry.listed.setName}: manifest unusable: ${entry.problems.join('; ')}`);
    }
  }
}

/** The copies read and not reached, as warnings: `hot-site s3://b/sets/ could not be read: …`. */
export function unreachableWarnings(view: HotSiteView): string[] {
  return view.unreachable.map((u) => `${u.label} could not be read (${u.reason}): only the other copies were used`);
}

/** Re-exported: a copy failure that is a finding about the copy (the next copy is tried). */
export function isDamagedCopyError(error: unknown): boolean {
  return error instanceof CommserveDrError && ['SIZE_MISMATCH', 'CHECKSUM_MISMATCH', 'CONTENT_MISMATCH', 'CONTENT_CORRUPT', 'COPY_FILE_MISSING', 'NoSuchKey', 'OBJECT_NOT_FOUND'].includes(error.code);
}

/** Where a recovery command reads: `from` (a folder of SETs, no cloud), else the phase-1 destination, `sets/`, `archive/`. */
export interface CopySource {
  settings: { Phase1Destination: string; HotSite: { bucket: string } };
  s3?: S3Client | null;
  /** A folder holding `SET_<n>/` folders: read only it (the hot-site is not contacted). */
  from?: string;
}

/**
 * Lists the copies a command reads (see {@link CopySource}) and merges them.
 * @throws as {@link discoverCopies}.
 */
export function discoverForCommand(source: CopySource): Promise<HotSiteView> {
  const bucket = source.settings.HotSite.bucket;
  const s3 = source.from !== undefined ? null : (source.s3 ?? null);
  return discoverCopies(selectCopies({ from: source.from, phase1Destination: source.settings.Phase1Destination, s3, bucket }), { s3, bucket });
}

/**
 * Reads a small file (a manifest, a registry export) of a copy into memory.
 * @throws CommserveDrError `OBJECT_TOO_LARGE` over `maxBytes`; what the copy's `open` throws.
 */
export async function readCopyObject(view: HotSiteView, object: CopyObject, maxBytes: number): Promise<Buffer> {
  const body = await view.copies.get(object.copy)!.open(object);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      body.destroy();
      throw new CommserveDrError('OBJECT_TOO_LARGE', `${object.key} is over ${maxBytes} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
