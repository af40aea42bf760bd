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
import { listHotSiteSets, readHotSiteManifest } from '#agent/hotsite/hot-site';
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

/**
 * Builds the inventory.
 * @param s3 the hot-site client, or null to look only at the phase-1 destination (or `options.from`).
 * Never throws for an unreachable hot-site or a malformed manifest: both are reported in the result.
 */
export async function takeInventory(settings: Settings, s3: S3Client | null, options: InventoryOptions = {}): Promise<Inventory> {
  const bucket = settings.HotSite.bucket;
  const folder = options.from ?? settings.Phase1Destination;
  const records = new Map(readHistory(folder).filter((r) => r.jobId !== null).map((r) => [r.jobId!, r]));
  const manifests = new Map<number, Manifest>();
  const problems = new Map<number, string[]>();
  const problem = (jobId: number, text: string) => problems.set(jobId, [...(problems.get(jobId) ?? []), text]);
  const local = new Map<number, SetLocations['local']>();
  const typeFromFiles = new Map<number, BackupType | undefined>();
  // The SET's name as found (legacy SET_042 or new SET_0000042: core/set-id.ts), never rebuilt from the job id.
  const names = new Map<number, string>();

  if (existsSync(folder)) {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const jobId = entry.isDirectory() ? parseSetName(entry.name) : undefined;
      if (jobId === undefined) continue;
      names.set(jobId, entry.name);
      const dir = join(folder, entry.name);
      const manifestPath = join(dir, MANIFEST_FILE);
      let complete = false;
      if (existsSync(manifestPath)) {
        try {
          manifests.set(jobId, parseManifest(readFileSync(manifestPath), manifestPath));
          complete = true;
        } catch (error) {
          problem(jobId, `local manifest unusable: ${describeError(error)}`);
        }
      }
      local.set(jobId, { path: dir, complete, bytes: folderBytes(dir) });
      if (!complete) typeFromFiles.set(jobId, inferBackupType(dir, jobId));
    }
  }

  const hotSite = new Map<number, SetLocations['hotSite']>();
  let hotSiteUnavailable: string | null = s3 ? null : 'not looked at (--local-only)';
  if (s3) {
    try {
      for (const set of await listHotSiteSets(s3, bucket)) {
        let complete = set.complete;
        if (!names.has(set.jobId)) names.set(set.jobId, set.setName);
        if (complete && !manifests.has(set.jobId)) {
          try {
            manifests.set(set.jobId, await readHotSiteManifest(s3, bucket, set.setName));
          } catch (error) {
            complete = false;
            problem(set.jobId, `hot-site manifest unusable: ${describeError(error)}`);
          }
        }
        hotSite.set(set.jobId, { complete, objects: set.objects, bytes: set.bytes });
        if (!records.has(set.jobId)) {
          const record = await readHotSiteRecord(s3, bucket, set.jobId);
          if (record) records.set(set.jobId, record);
        }
      }
    } catch (error) {
      hotSiteUnavailable = describeError(error);
    }
  }

  const jobIds = [...new Set([...local.keys(), ...hotSite.keys()])].sort((a, b) => a - b);
  const newest = jobIds.at(-1);
  const running = options.from === undefined && isPhase1Locked(settings.StateDirectory);
  const entries = jobIds.map((jobId): InventoryEntry => {
    const manifest = manifests.get(jobId) ?? null;
    const record = records.get(jobId) ?? null;
    const complete = (local.get(jobId)?.complete ?? false) || (hotSite.get(jobId)?.complete ?? false);
    const status: SetStatus = record ? record.status : statusWithoutRecord(complete ? manifest : null, jobId === newest, running);
    const backupType = manifest?.backupType ?? record?.backupType ?? typeFromFiles.get(jobId) ?? BackupType.Full;
    const summary: SetSummary = {
      jobId,
      setName: manifest?.setName ?? names.get(jobId) ?? setName(jobId),
      backupType,
      status,
      complete: complete && manifest !== null,
      ...(manifest ? { cycleId: manifest.cycleId, endTime: manifest.endTime, bytes: manifest.files.reduce((s, f) => s + f.size, 0), ...chainFields(manifest) } : {}),
    };
    return {
      summary,
      locations: { local: local.get(jobId) ?? null, hotSite: hotSite.get(jobId) ?? null },
      integrity: manifest?.integrity.status ?? null,
      record,
      problems: problems.get(jobId) ?? [],
      otherBackups: (manifest?.database.otherBackups ?? []).map(describeOtherBackup),
      manifest,
    };
  });
  return { entries, hotSiteUnavailable };
}
