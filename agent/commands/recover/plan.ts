/**
 * What recovery knows about the hot-site: every SET under `sets/` and `archive/`, its manifest (read from the
 * hot copy, else from the archive copy once readable), its job record (`jobs/<id>.json`), and the summary
 * `buildCycles` needs. Also the choice of objects to read for a restore point and the plan built from them.
 */
import { chainFields } from '#core/log-chain';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { RestorablePoint, SetSummary } from '#core/cycles';
import { describeError, HotSiteError, ManifestError } from '#core/errors';
import { jobRecordKey, MANIFEST_FILE } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { JobStatus } from '#core/job-status';
import { parseManifest, type Manifest } from '#core/manifest';
import { makePlan, needsRestore, RecoveryError, type PlannedObject, type RecoveryPlan, type RetrievalTier } from '#core/recovery';
import { BackupType } from '#core/set-id';
import { listSetObjects, objectState, readSmallObject, type ListedObject, type ListedSet, type ReadableState } from '#agent/hotsite/download';

/** SETs whose manifest and job record are read at once by {@link discoverHotSite}. */
const DISCOVERY_CONCURRENCY = 4;

/** One SET as recovery sees it. */
export interface HotSiteSetView {
  listed: ListedSet;
  /** The manifest, when it could be read and is valid. */
  manifest: Manifest | null;
  /** `read`; `missing` (no manifest: incomplete SET); `pending` (only an archived copy, not restored yet); `invalid`. */
  manifestState: 'read' | 'missing' | 'pending' | 'invalid';
  record: JobRecord | null;
  problems: string[];
  summary: SetSummary;
}

/** The hot-site as recovery sees it, by job id. */
export type HotSiteView = Map<number, HotSiteSetView>;

async function readRecord(s3: S3Client, bucket: string, jobId: number): Promise<JobRecord | null> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: jobRecordKey(jobId) }));
    return JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8')));
  } catch {
    return null;
  }
}

/** The manifest object to read: the hot copy's, else the archive copy's. */
function manifestObject(listed: ListedSet): ListedObject | undefined {
  return listed.sets.get(MANIFEST_FILE) ?? listed.archive.get(MANIFEST_FILE);
}

/**
 * Reads one SET's manifest. A malformed one is reported (state `invalid`), an archived unrestored one is `pending`.
 */
export async function readSetManifest(s3: S3Client, bucket: string, listed: ListedSet): Promise<Pick<HotSiteSetView, 'manifest' | 'manifestState' | 'problems'>> {
  const object = manifestObject(listed);
  if (!object) return { manifest: null, manifestState: 'missing', problems: [] };
  if (needsRestore(object.storageClass)) {
    const state = await objectState(s3, bucket, object.key);
    if (state !== 'restored' && state !== 'readable') return { manifest: null, manifestState: 'pending', problems: [] };
  }
  let bytes: Buffer;
  try {
    bytes = await readSmallObject(s3, bucket, object.key);
  } catch (error) {
    if (error instanceof HotSiteError && error.code === 'OBJECT_ARCHIVED') return { manifest: null, manifestState: 'pending', problems: [] };
    if (error instanceof HotSiteError && error.code === 'OBJECT_TOO_LARGE') return { manifest: null, manifestState: 'invalid', problems: [error.message] };
    throw error;
  }
  try {
    const manifest = parseManifest(bytes, `s3://${bucket}/${object.key}`);
    if (manifest.setName !== listed.setName) {
      return { manifest: null, manifestState: 'invalid', problems: [`${object.key} describes ${manifest.setName}, not ${listed.setName}`] };
    }
    return { manifest, manifestState: 'read', problems: [] };
  } catch (error) {
    return { manifest: null, manifestState: 'invalid', problems: [describeError(error)] };
  }
}

function typeFromFiles(listed: ListedSet): BackupType {
  const names = [...listed.sets.keys(), ...listed.archive.keys()];
  if (names.some((n) => n === `commserv_LOG_${listed.jobId}.dmp`)) return BackupType.Log;
  return names.some((n) => n === `commserv_DIFF_${listed.jobId}.dmp`) ? BackupType.Differential : BackupType.Full;
}

/**
 * Lists the hot-site and reads what recovery needs about each SET. Status comes from the job record, else from
 * the manifest (error events → Completed With One or More Errors, else Completed), as `sets` does.
 * @throws HotSiteError when the hot-site cannot be listed.
 */
export async function discoverHotSite(s3: S3Client, bucket: string): Promise<HotSiteView> {
  const view: HotSiteView = new Map();
  const sets = [...(await listSetObjects(s3, bucket)).values()];
  // Manifests and job records are small: read several SETs at once (a few requests in flight), keep the listing order.
  const reads = new Array<{ read: Awaited<ReturnType<typeof readSetManifest>>; record: JobRecord | null }>(sets.length);
  let next = 0;
  const reader = async () => {
    while (next < sets.length) {
      const i = next++;
      const [read, record] = await Promise.all([readSetManifest(s3, bucket, sets[i]), readRecord(s3, bucket, sets[i].jobId)]);
      reads[i] = { read, record };
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
    };
    view.set(listed.jobId, { listed, ...read, record, summary });
  }
  return view;
}

/** What to read of one SET: a file of the manifest (true) or not (false). */
export type FileFilter = (manifest: Manifest, file: Manifest['files'][number], isPointSet: boolean) => boolean;

/** The object to read for a file of a SET: the hot copy when present, else the archive copy. */
export function sourceObject(listed: ListedSet, file: string): ListedObject | undefined {
  return listed.sets.get(file) ?? listed.archive.get(file);
}

/**
 * The objects to read for a point, each with its state (HeadObject for archive classes). When a SET's manifest is
 * still pending, every archive object of the SET is listed (what is needed is only known once the manifest is read).
 * @throws RecoveryError `SET_FILE_MISSING` when a file the manifest lists is not at the hot-site.
 */
export async function plannedObjects(s3: S3Client, bucket: string, view: HotSiteView, point: RestorablePoint, filter: FileFilter): Promise<PlannedObject[]> {
  const out: PlannedObject[] = [];
  for (const set of point.sets) {
    const entry = view.get(set.jobId)!;
    const isPointSet = set.jobId === point.jobId;
    let objects: ListedObject[];
    if (entry.manifest) {
      objects = [];
      for (const file of entry.manifest.files) {
        if (!filter(entry.manifest, file, isPointSet)) continue;
        const object = sourceObject(entry.listed, file.name);
        if (!object) {
          throw new RecoveryError('SET_FILE_MISSING', `${set.setName}/${file.name} is listed in its manifest but is neither under sets/ nor archive/ at the hot-site`);
        }
        objects.push(object);
      }
    } else {
      objects = [...entry.listed.archive.values()];
    }
    for (const object of objects) {
      const state: ReadableState = needsRestore(object.storageClass) ? await objectState(s3, bucket, object.key) : 'readable';
      out.push({ setName: object.setName, file: object.file, key: object.key, area: object.area, size: object.size, storageClass: object.storageClass, state });
    }
  }
  return out;
}

/**
 * Builds the plan for a point.
 */
export async function buildPlan(
  s3: S3Client,
  bucket: string,
  view: HotSiteView,
  point: RestorablePoint,
  filter: FileFilter,
  tier: RetrievalTier,
): Promise<RecoveryPlan> {
  const objects = await plannedObjects(s3, bucket, view, point, filter);
  return makePlan(point, objects, tier, view.get(point.jobId)!.manifest?.endTime ?? null);
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
  for (const entry of view.values()) {
    if (entry.listed.setName === setName && entry.manifestState === 'invalid') {
      throw new ManifestError('MANIFEST_INVALID', `${setName}: manifest unusable: ${entry.problems.join('; ')}`);
    }
  }
}
