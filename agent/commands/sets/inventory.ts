/**
 * The SET inventory: every SET in the phase-1 destination and at the hot-site, merged by job id, with
 * what cycles need (type, status, completeness, cycle id) and where each copy is.
 *
 * Status comes from the job record (local history, else `jobs/<id>.json` at the hot-site). A SET with
 * a manifest but no job record (e.g. the agent was killed after writing it, or phase 2 ran in the cloud
 * and its record was not fetched) is taken as `Completed`, or `Completed With One or More Errors` when
 * its manifest holds error events. A SET without a manifest is `Running` while the phase-1 lock is held
 * and it is the newest SET, else `Failed`; its type comes from the dump file it holds (FULL when none).
 */
import { chainFields } from '#core/log-chain';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { describeError } from '#core/errors';
import { jobRecordKey, MANIFEST_FILE } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { JobStatus } from '#core/job-status';
import { parseManifest, type Manifest } from '#core/manifest';
import { BackupType, parseSetName, setName } from '#core/set-id';
import type { Settings } from '#core/settings';
import { readHistory } from '#agent/history/history';
import { listHotSiteSets, readHotSiteManifest, type HotSiteSet } from '#agent/hotsite/hot-site';
import { listedSet, type CopyListing, type CopySetFiles } from '#agent/copies/index';
import { isPhase1Locked } from '#agent/commands/backup/lock';
import { describeOtherBackup } from '#agent/engines/sqlserver/other-backups';
import { backupTypeFromFileNames } from '#core/dump-files';

/** Where the copies of one SET are. */
export interface SetLocations {
  /** Phase-1 destination folder, when present there. */
  local: { path: string; complete: boolean; bytes: number } | null;
  /** `sets/SET_n/` at the hot-site, when present there. */
  hotSite: { complete: boolean; objects: number; bytes: number } | null;
}

/** One SET of the inventory. */
export interface InventoryEntry {
  summary: SetSummary;
  locations: SetLocations;
  /** The integrity-check verdict from the manifest, when known. */
  integrity: Manifest['integrity']['status'] | null;
  /** The job record, when known. */
  record: JobRecord | null;
  /** Problems found while reading this SET (malformed manifest, unreadable record). */
  problems: string[];
  /** SQL Server, from the manifest: other tools' non-COPY_ONLY backups found in msdb, and whose chain each belongs to (absent: none). */
  otherBackups?: string[];
  /** The manifest (phase-1 destination first, else the hot-site), when one is readable and valid. */
  manifest?: Manifest | null;
}

/** What {@link takeInventory} reads besides the settings. */
export interface InventoryOptions {
  /**
   * A folder of `SET_<n>/` folders read instead of the phase-1 destination (`sets --from DIR`: a USB disk, a mounted
   * share, a copy of a phase-1 destination); its `jobs/` history gives the statuses, and no SET of it is `Running`.
   */
  from?: string;
  /**
   * The hot-site's `sets/` as the caller already listed it (`sets` lists each copy once for the inventory, the per-copy
   * states and the manifest chain), or why it could not be listed; absent: listed here.
   */
  hotSiteListing?: CopyListing;
}

/** The inventory and what could not be looked at. */
export interface Inventory {
  entries: InventoryEntry[];
  /** Why the hot-site was not listed, when it was not (unreachable, no credentials, `localOnly`). */
  hotSiteUnavailable: string | null;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name));
    if (s.isFile()) total += s.size;
  }
  return total;
}

/** The type of an incomplete SET from the dump it holds (`commserv_DIFF_<id>.dmp`, `commserv_LOG_<id>.dmp` or `commserv_FULL.dmp`), if any. */
function inferBackupType(dir: string, jobId: number): BackupType | undefined {
  return backupTypeFromFileNames(readdirSync(dir), jobId);
}


function statusWithoutRecord(manifest: Manifest | null, newest: boolean, running: boolean): SetStatus {
  if (!manifest) return newest && running ? RUNNING : JobStatus.Failed;
  return manifest.events.some((e) => e.level === 'error') ? JobStatus.CompletedWithErrors : JobStatus.Completed;
}

async function readHotSiteRecord(s3: S3Client, bucket: string, jobId: number): Promise<JobRecord | null> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: jobRecordKey(jobId) }));
    return JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8')));
  } catch {
    return null;
  }
}

/** What is read from the copies before the entries are built, by job id. */
interface Readings {
  records: Map<number, JobRecord>;
  manifests: Map<number, Manifest>;
  problems: Map<number, string[]>;
  local: Map<number, SetLocations['local']>;
  hotSite: Map<number, SetLocations['hotSite']>;
  typeFromFiles: Map<number, BackupType | undefined>;
  /** The SET's name as found (legacy SET_042 or new SET_0000042: core/set-id.ts), never rebuilt from the job id. */
  names: Map<number, string>;
}

const addProblem = (r: Readings, jobId: number, text: string) => r.problems.set(jobId, [...(r.problems.get(jobId) ?? []), text]);

/** Step 1: every `SET_<n>/` folder of the phase-1 destination (or `from`): its manifest, completeness, bytes. */
function readFolder(folder: string, r: Readings): void {
  if (!existsSync(folder)) return;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const jobId = entry.isDirectory() ? parseSetName(entry.name) : undefined;
    if (jobId === undefined) continue;
    r.names.set(jobId, entry.name);
    const dir = join(folder, entry.name);
    const manifestPath = join(dir, MANIFEST_FILE);
    let complete = false;
    if (existsSync(manifestPath)) {
      try {
        r.manifests.set(jobId, parseManifest(readFileSync(manifestPath), manifestPath));
        complete = true;
      } catch (error) {
        addProblem(r, jobId, `local manifest unusable: ${describeError(error)}`);
      }
    }
    r.local.set(jobId, { path: dir, complete, bytes: folderBytes(dir) });
    if (!complete) r.typeFromFiles.set(jobId, inferBackupType(dir, jobId));
  }
}

/** The hot-site's SETs: from the caller's listing when given (not listed again), else one listing of `sets/`. */
async function hotSiteSets(s3: S3Client, bucket: string, listing: { sets: Map<number, CopySetFiles> } | undefined): Promise<HotSiteSet[]> {
  if (!listing) return listHotSiteSets(s3, bucket);
  return [...listing.sets].map(([jobId, files]) => listedSet(jobId, files)).sort((a, b) => a.jobId - b.jobId);
}

/**
 * Step 2: the hot-site's SETs, the manifest of each complete one the folder lacks, the job record of each without a
 * local one. @returns why the hot-site was not listed, or null.
 */
async function readHotSite(s3: S3Client, bucket: string, listing: CopyListing | undefined, r: Readings): Promise<string | null> {
  if (listing && 'reason' in listing) return listing.reason;
  try {
    for (const set of await hotSiteSets(s3, bucket, listing)) {
      let complete = set.complete;
      if (!r.names.has(set.jobId)) r.names.set(set.jobId, set.setName);
      if (complete && !r.manifests.has(set.jobId)) {
        try {
          r.manifests.set(set.jobId, await readHotSiteManifest(s3, bucket, set.setName));
        } catch (error) {
          complete = false;
          addProblem(r, set.jobId, `hot-site manifest unusable: ${describeError(error)}`);
        }
      }
      r.hotSite.set(set.jobId, { complete, objects: set.objects, bytes: set.bytes });
      if (!r.records.has(set.jobId)) {
        const record = await readHotSiteRecord(s3, bucket, set.jobId);
        if (record) r.records.set(set.jobId, record);
      }
    }
    return null;
  } catch (error) {
    return describeError(error);
  }
}

/** Step 3: one entry from what was read (status from the record, else from the manifest; type; summary). */
function entryOf(jobId: number, r: Readings, newest: number | undefined, running: boolean): InventoryEntry {
  const manifest = r.manifests.get(jobId) ?? null;
  const record = r.records.get(jobId) ?? null;
  const complete = (r.local.get(jobId)?.complete ?? false) || (r.hotSite.get(jobId)?.complete ?? false);
  const status: SetStatus = record ? record.status : statusWithoutRecord(complete ? manifest : null, jobId === newest, running);
  const backupType = manifest?.backupType ?? record?.backupType ?? r.typeFromFiles.get(jobId) ?? BackupType.Full;
  const summary: SetSummary = {
    jobId,
    setName: manifest?.setName ?? r.names.get(jobId) ?? setName(jobId),
    backupType,
    status,
    complete: complete && manifest !== null,
    ...(manifest ? { cycleId: manifest.cycleId, endTime: manifest.endTime, bytes: manifest.files.reduce((s, f) => s + f.size, 0), ...chainFields(manifest) } : {}),
    ...(!manifest && r.problems.get(jobId)?.length ? { manifestRefused: r.problems.get(jobId)!.join('; ') } : {}),
  };
  return {
    summary,
    locations: { local: r.local.get(jobId) ?? null, hotSite: r.hotSite.get(jobId) ?? null },
    integrity: manifest?.integrity.status ?? null,
    record,
    problems: r.problems.get(jobId) ?? [],
    otherBackups: (manifest?.database.otherBackups ?? []).map(describeOtherBackup),
    manifest,
  };
}

/**
 * Builds the inventory: the folder's SETs, then the hot-site's, then one entry per job id.
 * @param s3 the hot-site client, or null to look only at the phase-1 destination (or `options.from`).
 * Never throws for an unreachable hot-site or a malformed manifest: both are reported in the result.
 */
export async function takeInventory(settings: Settings, s3: S3Client | null, options: InventoryOptions = {}): Promise<Inventory> {
  const folder = options.from ?? settings.Phase1Destination;
  const r: Readings = {
    records: new Map(readHistory(folder).filter((x) => x.jobId !== null).map((x) => [x.jobId!, x])),
    manifests: new Map(),
    problems: new Map(),
    local: new Map(),
    hotSite: new Map(),
    typeFromFiles: new Map(),
    names: new Map(),
  };
  readFolder(folder, r);
  const notLookedAt = options.from === undefined ? 'not looked at (--local-only)' : `not looked at (--from ${options.from}: only that folder is read)`;
  const hotSiteUnavailable = s3 ? await readHotSite(s3, settings.HotSite.bucket, options.hotSiteListing, r) : notLookedAt;
  const jobIds = [...new Set([...r.local.keys(), ...r.hotSite.keys()])].sort((a, b) => a - b);
  const running = options.from === undefined && isPhase1Locked(settings.StateDirectory);
  return { entries: jobIds.map((jobId) => entryOf(jobId, r, jobIds.at(-1), running)), hotSiteUnavailable };
}
