/**
 * `sets` per SET and per copy (issue 16 item 4, SPEC §6.1): for the phase-1 destination (or `--from DIR`), the
 * hot-site's `sets/` and its `archive/`, what exists, when its content was last checked, and what is damaged — read
 * from the copies themselves through the copy interface (`agent/copies/`), never from job records (a deleted object
 * no longer shows as a copy).
 *
 * Steps:
 * 1. list every copy (one listing each, or the caller's listing; a copy already found unreachable is not asked again);
 * 2. compare each copy of a SET with the SET's manifest: a file the manifest lists that is absent, or whose listed size
 *    differs, is damaged (free: the listing carries sizes) — a copy without its own `manifest.json` is incomplete;
 * 3. the hot-site's last content check comes from the scrub state (kept by every job in the state directory, SPEC
 *    §6.1: every job checks S3's stored SHA-256 within its request budget); with `check`, every file of every copy is checked now
 *    (SHA-256 of every byte on disk, HeadObject's stored checksum at the hot-site and in the archive) — read-only, the
 *    result is shown and not recorded.
 */
import { describeError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import type { Manifest } from '#core/manifest';
import type { ScrubState } from '#core/scrub';
import { setName as setNameOf } from '#core/set-id';
import { COPY_ORDER, listCopy, type Copies, type Copy, type CopyKind, type CopyListing, type CopySetFiles, type FileCheck } from '#agent/copies/index';

/**
 * What one copy of a SET is worth:
 * `intact` (every file present with the manifest's size, and its content checked: SHA-256 or S3's stored checksum);
 * `sizes-ok` (every file present with the manifest's size; content not checked, or only the size could be);
 * `damaged` (a file missing, of the wrong size, or failing its content check);
 * `incomplete` (this copy has no `manifest.json` of its own: never committed there, e.g. an interrupted upload at the
 * hot-site, or the running job's folder; a folder on disk without one is `damaged` otherwise).
 */
export type CopyVerdict = 'intact' | 'sizes-ok' | 'damaged' | 'incomplete';

/** The last check of a copy's content. */
export interface ContentCheck {
  /** ISO-8601 UTC. */
  at: string;
  /** `sha256` (every byte on disk hashed), `s3-checksum` (S3's stored SHA-256), `size` (nothing more could be compared). */
  method: FileCheck['method'];
  /** `scrub` (a backup job's hot-site scrub, from the scrub state), `sets --check` (this run). */
  by: 'scrub' | 'sets --check';
}

/** One copy of one SET. */
export interface CopyState {
  copy: CopyKind;
  /** Where the SET is in this copy: a folder, or `s3://bucket/sets/SET_n/`. */
  where: string;
  /** Files of the SET in this copy (its manifest included). */
  files: number;
  /** Their bytes, as listed. */
  bytes: number;
  /** Storage classes of the files (`LOCAL` on disk; `STANDARD`, `GLACIER`, `DEEP_ARCHIVE` …), sorted, no repeats. */
  storageClasses: string[];
  verdict: CopyVerdict;
  /** One line per damaged or missing file (`commserv_FULL.dmp: missing`), and unrepaired scrub findings. */
  damaged: string[];
  /** The last check of this copy's content; null when it was never checked (the sizes are compared at each `sets`). */
  lastChecked: ContentCheck | null;
}

/** A copy that could not be listed. */
export interface UnreachableCopy {
  copy: CopyKind;
  label: string;
  reason: string;
}

/** Every copy of every SET listed. */
export interface CopyInspection {
  /** Per job id: the state of each copy that holds the SET, in {@link COPY_ORDER}. */
  byJob: Map<number, CopyState[]>;
  /** Labels of the copies listed (`local /srv/dr`, `hot-site s3://b/sets/`, `archive s3://b/archive/`). */
  read: string[];
  /** Copies that could not be listed, with the reason. */
  unreachable: UnreachableCopy[];
}

/** What {@link inspectCopies} needs besides the copies. */
export interface InspectOptions {
  /** The manifest of each SET known (read from the cheapest copy that has a valid one), null when none. */
  manifests: ReadonlyMap<number, Manifest | null>;
  /** The hot-site scrub state (last content check of each SET there), when it could be read. */
  scrub?: ScrubState | null;
  /** Check every file of every copy now (see the module comment). */
  check?: boolean;
  /** Copies the caller already listed (not listed again: each copy is listed once per command), by kind. */
  listings?: ReadonlyMap<CopyKind, CopyListing>;
  /** Why the manifest of a SET was refused (no valid manifest in any copy), by job id. */
  refused?: ReadonlyMap<number, string>;
  /** SETs whose job is still running (a folder without a manifest is then not damage). */
  running?: ReadonlySet<number>;
  /** Copies already known to be unreachable (not asked again), by kind → reason. */
  unreachable?: ReadonlyMap<CopyKind, string>;
  now?: Date;
}

/** Lists the copies and states each copy of each SET (see the module comment). Never throws for an unreachable copy. */
export async function inspectCopies(copies: Copies, options: InspectOptions): Promise<CopyInspection> {
  const now = (options.now ?? new Date()).toISOString();
  const inspection: CopyInspection = { byJob: new Map(), read: [], unreachable: [] };
  for (const kind of COPY_ORDER) {
    const copy = copies.get(kind);
    if (!copy) continue;
    const listed = options.listings?.get(kind) ?? (await listCopy(copy, options.unreachable?.get(kind)));
    if ('reason' in listed) {
      inspection.unreachable.push({ copy: kind, label: copy.label, reason: listed.reason });
      continue;
    }
    inspection.read.push(copy.label);
    for (const [jobId, files] of listed.sets) {
      const state = await stateOfCopy(copy, jobId, files, options, now);
      inspection.byJob.set(jobId, [...(inspection.byJob.get(jobId) ?? []), state]);
    }
  }
  return inspection;
}

/** One copy of one SET: listing against the manifest, then the content check (scrub state, or now with `check`). */
async function stateOfCopy(copy: Copy, jobId: number, files: CopySetFiles, options: InspectOptions, now: string): Promise<CopyState> {
  const objects = [...files.values()];
  const name = objects[0]?.setName ?? setNameOf(jobId);
  const state: CopyState = {
    copy: copy.kind,
    where: copy.kind === 'local' ? copy.keyOf(name, '').replace(/[\\/]$/, '') : copy.label.replace(/^\S+ /, '') + `${name}/`,
    files: objects.length,
    bytes: objects.reduce((s, o) => s + o.size, 0),
    storageClasses: [...new Set(objects.map((o) => o.storageClass))].sort(),
    verdict: 'incomplete',
    damaged: [],
    lastChecked: null,
  };
  const manifest = options.manifests.get(jobId) ?? null;
  if (!files.has(MANIFEST_FILE)) return folderWithoutManifest(state, copy.kind, manifest, options.running?.has(jobId) ?? false);
  if (!manifest) return refusedManifest(state, options.refused?.get(jobId));
  state.damaged = listingProblems(manifest, files);
  if (options.check) await checkContent(copy, manifest, files, state, now);
  else if (copy.kind === 'hot-site') applyScrub(options.scrub?.sets[name], state);
  state.verdict = state.damaged.length > 0 ? 'damaged' : state.lastChecked && state.lastChecked.method !== 'size' ? 'intact' : 'sizes-ok';
  return state;
}

/**
 * A copy of a SET without its own `manifest.json`. A SET folder on disk (phase-1 destination, `--from`) without one is
 * damage unless its job is still running (newcomer review finding 2): its manifest is missing although another copy
 * holds it, or no copy has one (an unfinished job's leftovers, or a damaged folder) — never silently ignored. At the
 * hot-site and in the archive it stays `incomplete` (an upload or phase-2 copy not finished: resumed or pruned).
 */
function folderWithoutManifest(state: CopyState, kind: CopyKind, manifest: Manifest | null, running: boolean): CopyState {
  if (kind !== 'local' || running) return state;
  state.verdict = 'damaged';
  state.damaged = manifest
    ? [`${MANIFEST_FILE}: missing (the SET is committed: another copy holds its manifest; verify --repair puts it back)`]
    : [`no manifest: unfinished or damaged SET (${state.files} file(s), never restorable; prune removes it after SetLifeSpanForFailedDR days)`];
  return state;
}

/** A copy whose `manifest.json` was refused (malformed, unsafe file names): damaged, with the reason (finding 3). */
function refusedManifest(state: CopyState, reason: string | undefined): CopyState {
  if (reason === undefined) return state;
  state.verdict = 'damaged';
  state.damaged = [`${MANIFEST_FILE} refused: ${reason}`];
  return state;
}

/** Files the manifest lists that the copy lacks or holds with another size. */
function listingProblems(manifest: Manifest, files: CopySetFiles): string[] {
  const out: string[] = [];
  for (const entry of manifest.files) {
    const object = files.get(entry.name);
    if (!object) out.push(`${entry.name}: missing`);
    else if (object.size !== entry.size) out.push(`${entry.name}: size ${object.size}, manifest ${entry.size}`);
  }
  return out;
}

/** The hot-site's last content check by a job's scrub; findings it could not repair count as damage. */
function applyScrub(entry: NonNullable<ScrubState['sets'][string]> | undefined, state: CopyState): void {
  if (!entry) return;
  state.lastChecked = { at: entry.lastChecked, method: 's3-checksum', by: 'scrub' };
  if (entry.verdict === 'damaged') {
    for (const finding of entry.findings) if (!state.damaged.some((d) => finding.includes(d.split(':')[0]))) state.damaged.push(`${finding} (scrub ${entry.lastChecked})`);
  }
}

/** Checks every file the manifest lists that the copy holds with the right size; the weakest method used is recorded. */
async function checkContent(copy: Copy, manifest: Manifest, files: CopySetFiles, state: CopyState, now: string): Promise<void> {
  let method: FileCheck['method'] = copy.kind === 'local' ? 'sha256' : 's3-checksum';
  for (const entry of manifest.files) {
    const object = files.get(entry.name);
    if (!object || object.size !== entry.size) continue;
    let result: FileCheck;
    try {
      result = await copy.check(object, entry, true);
    } catch (error) {
      state.damaged.push(`${entry.name}: not checked (${describeError(error)})`);
      continue;
    }
    if (!result.ok) state.damaged.push(`${entry.name}: ${result.detail ?? 'damaged'}`);
    else if (result.method === 'size') method = 'size';
  }
  state.lastChecked = { at: now, method, by: 'sets --check' };
}

/** `local intact (SHA-256 checked 2026-12-05 10:00:00 UTC by sets --check)`, `archive GLACIER sizes ok (no content check on record)`. */
export function describeCopyState(state: CopyState): string {
  const classes = state.copy === 'local' ? '' : ` ${state.storageClasses.join('+')}`;
  const checked = state.lastChecked
    ? `${state.lastChecked.method === 'sha256' ? 'SHA-256' : state.lastChecked.method === 's3-checksum' ? 'S3 checksum' : 'size only'} checked ${state.lastChecked.at.slice(0, 19).replace('T', ' ')} UTC by ${state.lastChecked.by}`
    : 'no content check on record';
  switch (state.verdict) {
    case 'incomplete':
      return `${state.copy}${classes} INCOMPLETE (${state.files} file(s), no manifest there)`;
    case 'damaged':
      return `${state.copy}${classes} DAMAGED: ${state.damaged.join('; ')}`;
    case 'intact':
      return `${state.copy}${classes} intact (${checked})`;
    case 'sizes-ok':
      return `${state.copy}${classes} sizes ok (${checked})`;
  }
}
