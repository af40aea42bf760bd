/**
 * Phase-1 steps that put files into a SET folder: the database dump, the registry exports and the
 * firewall files (SPEC §3, §4.2 steps 3–5). Each returns what it wrote and the events worth keeping.
 */
import { copyFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RegistryError } from '#core/errors';
import type { FileRole, JobEvent } from '#core/manifest';
import type { DatabaseEngine, DifferentialBase, DumpResult } from '#agent/engines/types';
import type { RegistryStore } from '#agent/registry/types';
import { FULL_DUMP_FILE, differentialDumpFile } from '#core/dump-files';

/** The three firewall files (SPEC §3), copied when present. */
export const FIREWALL_FILES = ['FwPeers.txt', 'FwHosts.txt', 'FwPorts.txt'] as const;

export { FULL_DUMP_FILE, differentialDumpFile } from '#core/dump-files';

/** A file a step added to the SET. */
export interface SetFile {
  name: string;
  role: FileRole;
}

/** Result of a step: files added, events, and whether something failed that makes the job end with errors. */
export interface StepOutcome<T = undefined> {
  files: SetFile[];
  events: JobEvent[];
  /** True when part of the step failed without failing the job (→ Completed With One or More Errors). */
  partial: boolean;
  detail: T;
}

function event(level: JobEvent['level'], code: string, message: string): JobEvent {
  return { time: new Date().toISOString(), level, code, message };
}

/**
 * Suffix of the engine's uncompressed dump in the SET folder while phase 1 stores the compressed one under the
 * dump's own name (`DumpCompression`); removed once the pass and the integrity check are done.
 */
export const UNCOMPRESSED_SUFFIX = '.uncompressed';

/**
 * Writes the FULL dump `commserv_FULL.dmp` into the SET folder (as `fileName(commserv_FULL.dmp)` when given:
 * the engine's output before phase 1 compresses it under the SET name). `detail.file` is where it went.
 * @throws DatabaseError when the dump fails (the job fails: no usable SET without a database dump).
 */
export async function dumpFull(
  engine: DatabaseEngine,
  setDir: string,
  onProgress?: (copied: number, total: number) => void,
  fileName: (name: string) => string = (name) => name,
): Promise<StepOutcome<DumpResult>> {
  const result = await engine.dumpFull(join(setDir, fileName(FULL_DUMP_FILE)), onProgress);
  return { files: [{ name: FULL_DUMP_FILE, role: 'database' }], events: [], partial: false, detail: result };
}


/**
 * Writes the cumulative DIFFERENTIAL dump `commserv_DIFF_<jobId>.dmp` against the cycle's FULL (as
 * `fileName(name)` when given, as {@link dumpFull}).
 * @throws DatabaseError `DIFF_BASE_MISMATCH` (the caller promotes to FULL) or another DatabaseError.
 */
export async function dumpDifferential(
  engine: DatabaseEngine,
  base: DifferentialBase,
  setDir: string,
  jobId: number,
  onProgress?: (copied: number, total: number) => void,
  fileName: (name: string) => string = (name) => name,
): Promise<StepOutcome<DumpResult>> {
  const name = differentialDumpFile(jobId);
  const result = await engine.dumpDifferential(base, join(setDir, fileName(name)), jobId, onProgress);
  return { files: [{ name, role: 'database' }], events: [], partial: false, detail: result };
}

/** The registry export file of a SET: `commserv_hive.reg` in a FULL, `commserv_hive_<jobId>.reg` in a DIFFERENTIAL. */
export function hiveFileName(backupType: 'FULL' | 'DIFFERENTIAL' | 'LOG', jobId: number): string {
  return backupType === 'FULL' ? 'commserv_hive.reg' : `commserv_hive_${jobId}.reg`;
}

/** Registry keys to export: the CommServe roots into the hive file, each module into `<module>.reg`. */
export interface RegistryPlan {
  commServeKeys: string[];
  modules: Array<{ name: string; key: string; required: boolean }>;
}

/**
 * Exports the registry (always complete, whatever the backup type: SPEC §3) and the module keys.
 * A missing CommServe root or required module key makes the job end with errors; a missing optional
 * module key is only noted. An unreadable store is an error of this step, not of the job.
 */
export async function exportRegistry(
  store: RegistryStore,
  plan: RegistryPlan,
  setDir: string,
  hiveFile: string,
): Promise<StepOutcome<{ exportedKeys: string[]; missingKeys: string[] }>> {
  const files: SetFile[] = [];
  const events: JobEvent[] = [];
  const exportedKeys: string[] = [];
  const missingKeys: string[] = [];
  let partial = false;
  const targets = [
    { file: hiveFile, keys: plan.commServeKeys, required: true, label: 'CommServe registry' },
    ...plan.modules.map((m) => ({ file: `${m.name}.reg`, keys: [m.key], required: m.required, label: `module ${m.name}` })),
  ];
  for (const target of targets) {
    try {
      const result = await store.exportKeys(target.keys, join(setDir, target.file));
      exportedKeys.push(...result.exportedKeys);
      missingKeys.push(...result.missingKeys);
      if (result.exportedKeys.length > 0) files.push({ name: target.file, role: 'registry' });
      for (const key of result.missingKeys) {
        if (target.required) {
          partial = true;
          events.push(event('error', 'REGISTRY_KEY_MISSING', `required registry key missing (${target.label}): ${key}`));
        } else {
          events.push(event('warning', 'REGISTRY_KEY_MISSING', `optional registry key missing (${target.label}): ${key}`));
        }
      }
    } catch (error) {
      partial = true;
      const message = error instanceof RegistryError ? error.message : `${(error as Error).message}`;
      events.push(event('error', 'REGISTRY_EXPORT_FAILED', `registry export of ${target.label} failed: ${message}`));
    }
  }
  return { files, events, partial, detail: { exportedKeys, missingKeys } };
}

/**
 * Copies FwPeers.txt, FwHosts.txt and FwPorts.txt when present (their absence is noted, not an error).
 * A file that exists but cannot be copied makes the job end with errors.
 */
export function copyFirewallFiles(firewallDir: string, setDir: string): StepOutcome<{ present: string[]; missing: string[] }> {
  const files: SetFile[] = [];
  const events: JobEvent[] = [];
  const present: string[] = [];
  const missing: string[] = [];
  let partial = false;
  for (const name of FIREWALL_FILES) {
    const source = join(firewallDir, name);
    if (!existsSync(source) || !statSync(source).isFile()) {
      missing.push(name);
      events.push(event('info', 'FIREWALL_FILE_ABSENT', `firewall file not present: ${name}`));
      continue;
    }
    try {
      copyFileSync(source, join(setDir, name));
      files.push({ name, role: 'firewall' });
      present.push(name);
    } catch (error) {
      partial = true;
      missing.push(name);
      events.push(event('error', 'FIREWALL_COPY_FAILED', `cannot copy firewall file ${name}: ${(error as Error).message}`));
    }
  }
  return { files, events, partial, detail: { present, missing } };
}
