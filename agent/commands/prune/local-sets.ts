/**
 * The SET folders of the phase-1 destination as the retention planner sees them, and their removal.
 *
 * Status comes from the local job history; without a record a SET with a manifest is Completed (or
 * Completed With One or More Errors when its manifest holds error events), and one without a manifest
 * is Running while the phase-1 lock is held and it is the newest folder, else Failed. The age of a
 * folder is the newest modification time of its files.
 */
import { chainFields } from '#core/log-chain';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import type { JobRecord } from '#core/job';
import { JobStatus } from '#core/job-status';
import { parseManifest, type Manifest } from '#core/manifest';
import type { RetentionSetInput } from '#core/retention';
import { BackupType, parseSetName } from '#core/set-id';
import { PHASE1_LOCK } from '#agent/commands/backup/phase1';
import { backupTypeFromFileNames } from '#core/dump-files';

/** One SET folder of the phase-1 destination. */
export interface LocalSet {
  input: RetentionSetInput;
  /** Absolute or configured path of the folder. */
  path: string;
  problems: string[];
}

function isPhase1Running(stateDir: string): boolean {
  try {
    return lockfile.checkSync(stateDir, { lockfilePath: join(stateDir, `${PHASE1_LOCK}.lock`), realpath: false, stale: 60_000 });
  } catch {
    return false;
  }
}

/**
 * Reads the SET folders of `destination` (other entries are ignored: never touched).
 * @param records job records by job id (local history).
 */
export function readLocalSets(destination: string, stateDir: string, records: ReadonlyMap<number, JobRecord>): Map<number, LocalSet> {
  const sets = new Map<number, LocalSet>();
  if (!existsSync(destination)) return sets;
  const folders = readdirSync(destination, { withFileTypes: true }).flatMap((e) => {
    const jobId = e.isDirectory() ? parseSetName(e.name) : undefined;
    return jobId === undefined ? [] : [{ jobId, name: e.name }];
  });
  const newest = Math.max(0, ...folders.map((f) => f.jobId));
  const running = isPhase1Running(stateDir);
  for (const { jobId, name } of folders) {
    const path = join(destination, name);
    const problems: string[] = [];
    let manifest: Manifest | null = null;
    let refused: string | undefined; // why the manifest was refused: prune's reason says so, never "no manifest"
    const manifestPath = join(path, MANIFEST_FILE);
    if (existsSync(manifestPath)) {
      try {
        manifest = parseManifest(readFileSync(manifestPath), manifestPath);
      } catch (error) {
        refused = describeError(error);
        problems.push(`local manifest unusable, SET taken as incomplete: ${refused}`);
      }
    }
    const files = readdirSync(path);
    let newestMs = statSync(path).mtimeMs;
    for (const f of files) {
      const s = statSync(join(path, f));
      if (s.isFile()) newestMs = Math.max(newestMs, s.mtimeMs);
    }
    const record = records.get(jobId) ?? null;
    let status: SetStatus;
    if (record) status = record.status;
    else if (manifest) status = manifest.events.some((e) => e.level === 'error') ? JobStatus.CompletedWithErrors : JobStatus.Completed;
    else status = running && jobId === newest ? RUNNING : JobStatus.Failed;
    const backupType =
      manifest?.backupType ??
      record?.backupType ??
      backupTypeFromFileNames(files, jobId) ??
      BackupType.Full;
    const summary: SetSummary = {
      jobId,
      setName: name,
      backupType,
      status,
      complete: manifest !== null,
      ...(manifest ? { cycleId: manifest.cycleId, endTime: manifest.endTime, ...chainFields(manifest) } : {}),
      ...(refused !== undefined ? { manifestRefused: refused } : {}),
    };
    sets.set(jobId, { input: { summary, phase2: record?.phase2 ?? 'unknown', lastModified: new Date(newestMs).toISOString() }, path, problems });
  }
  return sets;
}

/**
 * Removes a SET folder: its manifest first (so an interrupted removal leaves an incomplete SET, never
 * a complete one with missing files), then the folder.
 * @returns null on success, else the error message.
 */
export function removeLocalSet(path: string): string | null {
  try {
    const manifest = join(path, MANIFEST_FILE);
    if (existsSync(manifest)) unlinkSync(manifest);
    rmSync(path, { recursive: true, force: true });
    return null;
  } catch (error) {
    return describeError(error);
  }
}
