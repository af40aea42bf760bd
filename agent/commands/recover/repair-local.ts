/**
 * `verify --repair` for the phase-1 destination (newcomer review finding 1, SPEC §6.1): the hot-site is mended by the
 * scrub (`agent/hotsite/repair.ts`); this mends the local copy from an intact hot-site or archive copy.
 *
 * For every SET whose folder is in the phase-1 destination (or only the SETs named):
 * 1. every file the SET's manifest lists is checked on disk (size, then the SHA-256 of every byte); an intact file is
 *    never written;
 * 2. a damaged or missing file is read from the hot-site's `sets/`, else from `archive/` (only when readable: an
 *    archived object not restored is left, and the outcome says so), into `<file>.partial` beside it; its size and
 *    SHA-256 (and a compressed file's content) are checked against the manifest on the way, the file is fsynced, and
 *    only then renamed over the damaged one (a failed or mismatching read removes the `.partial` and touches nothing);
 * 3. a SET folder without its `manifest.json` whose manifest another copy holds gets it back last, once every file is
 *    intact (same temp + rename), so the folder never looks complete before it is.
 */
import { existsSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { CommserveDrError, describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { MANIFEST_MAX_BYTES, type Manifest, type ManifestFile } from '#core/manifest';
import { parseSetName } from '#core/set-id';
import { selectCopies, type CopyKind, type CopyObject } from '#agent/copies/index';
import { copyVerified } from '#agent/hotsite/download';
import { discoverCopies, readCopyObject, type HotSiteSetView, type HotSiteView } from './plan';

/** What {@link repairLocalCopies} needs. */
export interface LocalRepairOptions {
  s3: S3Client;
  bucket: string;
  phase1Destination: string;
  /** Only these SETs (any zero-padding); default every SET with a folder in the phase-1 destination. */
  only?: string[];
}

/** One local file found damaged or missing, and what was done about it. */
export interface LocalRepairFinding {
  setName: string;
  file: string;
  /** The file on disk. */
  path: string;
  /** What was wrong (`missing`, `size 12, manifest 13`, `SHA-256 … ≠ manifest …`). */
  problem: string;
  outcome: { repaired: true; from: CopyKind; key: string } | { repaired: false; reason: string };
}

/** What the local repair did. */
export interface LocalRepairReport {
  findings: LocalRepairFinding[];
  /** SETs whose files were checked. */
  checked: string[];
}

/**
 * Checks and mends the phase-1 destination (see the module comment). Never throws for a damaged copy: each finding
 * says what happened. @throws what listing the copies throws when none can be listed.
 */
export async function repairLocalCopies(options: LocalRepairOptions): Promise<LocalRepairReport> {
  const report: LocalRepairReport = { findings: [], checked: [] };
  if (!existsSync(options.phase1Destination)) return report;
  const copies = selectCopies({ phase1Destination: options.phase1Destination, s3: options.s3, bucket: options.bucket });
  const view = await discoverCopies(copies, { s3: options.s3, bucket: options.bucket });
  const only = options.only ? new Set(options.only.map(parseSetName)) : null;
  for (const entry of view.values()) {
    if (!entry.listed.byCopy.has('local') || !entry.manifest || (only && !only.has(entry.listed.jobId))) continue;
    report.checked.push(entry.listed.setName);
    const findings = await repairSetFiles(view, entry, entry.manifest);
    report.findings.push(...findings);
    if (findings.every((f) => f.outcome.repaired)) {
      const manifest = await restoreLocalManifest(view, entry);
      if (manifest) report.findings.push(manifest);
    }
  }
  return report;
}

/** Step 1 and 2 for one SET: each damaged or missing file, repaired from the first intact other copy. */
async function repairSetFiles(view: HotSiteView, entry: HotSiteSetView, manifest: Manifest): Promise<LocalRepairFinding[]> {
  const local = view.copies.get('local')!;
  const files = entry.listed.byCopy.get('local')!;
  const out: LocalRepairFinding[] = [];
  for (const file of manifest.files) {
    const path = local.keyOf(entry.listed.setName, file.name);
    const check = await local.check(files.get(file.name), file, true);
    if (check.ok) continue;
    out.push({ setName: entry.listed.setName, file: file.name, path, problem: check.detail ?? 'damaged', outcome: await repairFile(view, entry, file, path) });
  }
  return out;
}

/** One file, from the hot-site then the archive: read, checked against the manifest, fsynced, renamed into place. */
async function repairFile(view: HotSiteView, entry: HotSiteSetView, file: ManifestFile, path: string): Promise<LocalRepairFinding['outcome']> {
  const reasons: string[] = [];
  for (const kind of ['hot-site', 'archive'] as const) {
    const object = entry.listed.byCopy.get(kind)?.get(file.name);
    const copy = view.copies.get(kind);
    if (!object || !copy) {
      if (copy) reasons.push(`${kind} copy: missing`);
      continue;
    }
    const unusable = await whyUnusable(view, object, file);
    if (unusable) {
      reasons.push(`${kind} copy ${object.key}: ${unusable}`);
      continue;
    }
    try {
      const body = await copy.open(object);
      await copyVerified(body, object.key, path, { size: file.size, sha256: file.sha256, compression: file.compression }, { keep: 'stored', sync: 'end' }, (error) =>
        error instanceof CommserveDrError ? error : new CommserveDrError('TARGET_WRITE_FAILED', `cannot write ${path}: ${describeError(error)}`, { cause: error }),
      );
      return { repaired: true, from: kind, key: object.key };
    } catch (error) {
      reasons.push(`${kind} copy ${object.key}: ${describeError(error)}`);
    }
  }
  return { repaired: false, reason: reasons.join('; ') || 'no other copy of the SET was read' };
}

/** Why a copy cannot serve a repair now (wrong size, archived and not restored), or undefined. */
async function whyUnusable(view: HotSiteView, object: CopyObject, file: ManifestFile): Promise<string | undefined> {
  if (object.size !== file.size) return `size ${object.size}, manifest ${file.size}`;
  const readiness = await view.copies.get(object.copy)!.readiness(object);
  if (readiness === 'restore-needed' || readiness === 'restoring') return `in ${object.storageClass}, not restored yet (${readiness}): not used`;
  return undefined;
}

/** Step 3: a local SET folder without `manifest.json` gets the manifest another copy holds (temp + rename). */
async function restoreLocalManifest(view: HotSiteView, entry: HotSiteSetView): Promise<LocalRepairFinding | null> {
  const local = view.copies.get('local')!;
  if (entry.listed.byCopy.get('local')!.has(MANIFEST_FILE) || entry.manifestFrom === null || entry.manifestFrom === 'local') return null;
  const path = local.keyOf(entry.listed.setName, MANIFEST_FILE);
  const source = entry.listed.byCopy.get(entry.manifestFrom)!.get(MANIFEST_FILE)!;
  const finding = { setName: entry.listed.setName, file: MANIFEST_FILE, path, problem: 'missing' };
  try {
    const bytes = await readCopyObject(view, source, MANIFEST_MAX_BYTES);
    await writeFile(`${path}.partial`, bytes, { flush: true });
    await rename(`${path}.partial`, path);
    return { ...finding, outcome: { repaired: true, from: entry.manifestFrom, key: source.key } };
  } catch (error) {
    return { ...finding, outcome: { repaired: false, reason: `${entry.manifestFrom} copy ${source.key}: ${describeError(error)}` } };
  }
}

/** One line per finding: `warning: local copy /dr/SET_3/x.dmp (SHA-256 … ≠ manifest …): repaired from the hot-site copy sets/SET_3/x.dmp`. */
export function formatLocalRepair(report: LocalRepairReport): string[] {
  const lines = report.findings.map((f) =>
    f.outcome.repaired
      ? `warning: local copy ${f.path} (${f.problem}): repaired from the ${f.outcome.from} copy ${f.outcome.key}`
      : `error: local copy ${f.path} (${f.problem}): not repaired: ${f.outcome.reason}`,
  );
  const repaired = report.findings.filter((f) => f.outcome.repaired).length;
  lines.push(`phase-1 destination: ${report.checked.length} SET(s) checked (SHA-256 of every file); ${report.findings.length} file(s) damaged or missing, ${repaired} repaired, ${report.findings.length - repaired} not repaired`);
  return lines;
}
