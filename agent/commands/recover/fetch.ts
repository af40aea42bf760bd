/**
 * Staging (SPEC §6): bring the objects of a restore point to a local directory — archive restores first
 * (RestoreObject, then wait until readable, or report what is pending) — verifying every size and SHA-256 against
 * the manifests while streaming. Also `commserve-dr fetch SET_n --to DIR` ("restore to disk"): download and
 * verify one SET into `DIR/SET_n/` without applying it.
 */
import { chainFields } from '#core/log-chain';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RestorablePoint } from '#core/cycles';
import { CommserveDrError, describeError, ExitCode, ManifestError, UsageError } from '#core/errors';
import { MANIFEST_FILE } from '#core/hotsite-layout';
import { MANIFEST_MAX_BYTES, type Manifest, type ManifestFile } from '#core/manifest';
import { formatBytes } from '#core/format';
import { RecoveryError, formatPlan, needsRestore, stagingPath, type PlannedObject, type RecoveryPlan, type RetrievalTier } from '#core/recovery';
import type { Settings } from '#core/settings';
import { parseSetName, setName as setNameOf } from '#core/set-id';
import { copyVerified, requestRestore, waitForRestores, type ContentObserver, type WaitOptions } from '#agent/hotsite/download';
import { hotSiteError } from '#agent/hotsite/hot-site';
import { onInterrupt, removeLeftover } from '#agent/shutdown';
import type { ArchiveCopy, CopyKind, CopyObject } from '#agent/copies/index';
import { buildPlan, candidates, discoverForCommand, readCopyObject, checkPointManifests, describeNoIntactCopy, isDamagedCopyError, readSetManifest, sourceObject, unreachableWarnings, type FileFilter, type HotSiteView } from './plan';

/** Result of a command: the `--json` document, the text for people, and the exit code (SPEC §11). */
export interface CommandResult<D> {
  document: D;
  text: string;
  exitCode: ExitCode;
}

/** An archive object whose restore is not finished. */
export interface PendingRestore {
  key: string;
  storageClass: string;
  /** `restoring` (requested, running) — every pending object has been requested by the time this is reported. */
  state: 'restoring';
}

/**
 * A file staged and verified. `bytes` and `sha256` describe its content — what a restore uses: for a dump stored
 * compressed, the decompressed bytes (verified against the manifest's `compression.contentSize`/`contentSha256`).
 */
export interface StagedFile {
  setName: string;
  file: string;
  role: Manifest['files'][number]['role'];
  /** Where the file is (holding the content, unless `compressed.pathHolds` says `stored`). */
  path: string;
  key: string;
  /** Size of the content, bytes. */
  bytes: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
  /**
   * Present when the object is stored compressed: the stored bytes (verified against the manifest's `size` and
   * `sha256`), and what `path` holds: the decompressed content (recovery staging) or the stored bytes (`fetch`).
   */
  compressed?: { algorithm: 'brotli'; bytes: number; sha256: string; pathHolds: 'content' | 'stored' };
  /**
   * Present when the bytes were verified through another digest than their own SHA-256 (a FULL through the SHA-256 of
   * FULL + DIFF, `StreamedRebuild`): `sha256` is then the manifest's, and this says how they were proven.
   */
  verifiedThrough?: string;
}

/** Target of {@link StageOptions.observe}: the file about to be downloaded, and what is known and staged so far. */
export interface ObserveTarget {
  setName: string;
  file: ManifestFile;
  /** Where the file will be once staged. */
  path: string;
  manifests: ReadonlyMap<string, Manifest>;
  /** The files staged (verified) before this one. */
  staged: readonly StagedFile[];
}

/** Options shared by the commands that read archive objects. */
export interface ArchiveOptions {
  /** Retrieval tier for GLACIER/DEEP_ARCHIVE restores (default Standard). */
  tier?: RetrievalTier;
  /** Wait for archive restores (poll HeadObject) instead of reporting them pending with exit code 3. */
  wait?: boolean;
  /** Days the restored copies stay readable (default 7). */
  restoreDays?: number;
  /** Polling of restores (interval, timeout, sleep) — tests inject small values. */
  waitOptions?: WaitOptions;
}

/** Downloads run at once while staging the files before the FULL dump (small files, the DIFFERENTIAL). */
const PARALLEL_DOWNLOADS = 4;

/**
 * Runs `fn` on every item, at most `limit` at a time; the first failure is thrown once the calls running have settled
 * (no new call starts after it).
 */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failure) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

/** What {@link stagePoint} produced. */
export type StageOutcome =
  | { kind: 'pending'; plan: RecoveryPlan; pending: PendingRestore[] }
  | {
      kind: 'staged';
      plan: RecoveryPlan;
      files: StagedFile[];
      manifests: Map<string, Manifest>;
      durationsMs: { archiveRestore: number; download: number };
      /** Copies found damaged while downloading (the next copy served the file), as phrases. */
      warnings: string[];
    };

/** Options of {@link stagePoint}. */
export interface StageOptions extends ArchiveOptions {
  /** The copies to read, merged (`discoverCopies`); archive restores go through its `archive` copy. */
  view: HotSiteView;
  /** Check every candidate copy before choosing (dry run: files on disk hashed, S3 stored checksums asked). */
  deepCheck?: boolean;
  point: RestorablePoint;
  /** Files land in `<stagingDir>/<SET_n>/<file>`. */
  stagingDir: string;
  filter: FileFilter;
  /** Check the manifests form a valid FULL(+DIFF) chain (false for fetching one SET alone). */
  checkChain: boolean;
  /** Only plan (and report pending restores), request nothing and download nothing. */
  planOnly?: boolean;
  logger?: Logger;
  /**
   * What a staged compressed dump holds: `content` (default: decompressed while downloading, for a restore) or
   * `stored` (the object as it is, consistent with its manifest: `fetch`). The content is verified either way.
   */
  keep?: 'content' | 'stored';
  /**
   * Durability of each staged file before it gets its final name (`downloadObject`'s `sync`): `end` (default) fsyncs
   * it then; `during` flushes it as it downloads too, so little is left for the final fsync (recovery: the FULL
   * becomes the installed database); `none` skips it.
   */
  syncFiles?: 'end' | 'during' | 'none';
  /**
   * Called before each download; the observer it returns sees the file's content bytes in order while they are
   * staged (e.g. the database rebuild hashes FULL + DIFFERENTIAL on the way). The point's FULL dump is downloaded
   * last, so every other file (the DIFFERENTIAL) is staged by then.
   */
  observe?: (target: ObserveTarget) => Promise<ContentObserver | undefined>;
}

/**
 * Stages a point: plans, restores archive objects (or reports them pending), then downloads every selected file
 * of every SET into the staging directory, verifying size and SHA-256 against the manifest (a dump stored compressed
 * is decompressed on the way and its content verified too, see `keep`). The files other than the point's FULL dump go
 * first, up to 4 at a time, the FULL dump last (see `observe`). A file is under its final name only once verified.
 * @throws ManifestError (malformed manifest, unsafe file name, DIFF based on another FULL), HotSiteError
 *   (`SIZE_MISMATCH`, `CHECKSUM_MISMATCH`, `CONTENT_CORRUPT`, `CONTENT_MISMATCH`, S3 failures), RecoveryError; what
 *   `observe` or its observers throw (e.g. DatabaseError `DIFF_WRONG_BASE` before the FULL is downloaded).
 */
export async function stagePoint(options: StageOptions): Promise<StageOutcome> {
  const { view, point, filter } = options;
  const tier = options.tier ?? 'Standard';
  const archive = view.copies.get('archive') as ArchiveCopy | undefined;
  // Archive objects are only ever planned when the archive copy is read.
  const s3 = archive?.s3 as S3Client;
  const bucket = archive?.bucket as string;
  const warnings: string[] = [];
  if (options.checkChain) checkPointManifests(view, point);
  let plan = await buildPlan(view, point, filter, tier, options.deepCheck);
  if (options.planOnly) return { kind: 'staged', plan, files: [], manifests: new Map(), durationsMs: { archiveRestore: 0, download: 0 }, warnings };

  const restoreStarted = performance.now();
  if (plan.pendingObjects > 0) {
    const pending: PendingRestore[] = [];
    for (const object of plan.objects) {
      if (object.state !== 'restore-needed' && object.state !== 'restoring') continue;
      let state: 'restoring' | 'restored' = 'restoring';
      if (object.state === 'restore-needed' && needsRestore(object.storageClass)) {
        state = await requestRestore(s3, bucket, object.key, object.storageClass, tier, options.restoreDays ?? 7);
        options.logger?.info({ key: object.key, tier, state }, 'archive restore requested');
      }
      if (state === 'restoring') pending.push({ key: object.key, storageClass: object.storageClass, state });
    }
    if (pending.length > 0) {
      if (!options.wait) return { kind: 'pending', plan, pending };
      await waitForRestores(s3, bucket, pending.map((p) => p.key), options.waitOptions);
    }
    // Manifests that were only in the archive can be read now; then plan again with the real file lists.
    for (const set of point.sets) {
      const entry = view.get(set.jobId)!;
      if (entry.manifestState !== 'pending') continue;
      Object.assign(entry, await readSetManifest(view.copies, entry.listed));
      if (entry.manifest) entry.summary = { ...entry.summary, backupType: entry.manifest.backupType, cycleId: entry.manifest.cycleId, endTime: entry.manifest.endTime, ...chainFields(entry.manifest) };
    }
    if (options.checkChain) checkPointManifests(view, point);
    for (const set of point.sets) {
      const entry = view.get(set.jobId)!;
      if (!entry.manifest) throw new CommserveDrError('MANIFEST_UNREADABLE', `${set.setName}: the manifest is still not readable after its restore (${entry.manifestState})`);
      if (entry.manifest.backupType !== set.backupType) {
        throw new CommserveDrError('SET_TYPE_CHANGED', `${set.setName} is a ${entry.manifest.backupType} by its manifest, not a ${set.backupType}: run the command again to plan with it`);
      }
    }
    plan = await buildPlan(view, point, filter, tier);
    const still = plan.objects.filter((o) => o.state === 'restore-needed' || o.state === 'restoring');
    if (still.length > 0) {
      // Files found only once the manifest was read: restore them too.
      for (const o of still) if (o.state === 'restore-needed' && needsRestore(o.storageClass)) await requestRestore(s3, bucket, o.key, o.storageClass, tier, options.restoreDays ?? 7);
      const pendingNow = still.map((o): PendingRestore => ({ key: o.key, storageClass: o.storageClass, state: 'restoring' }));
      if (!options.wait) return { kind: 'pending', plan, pending: pendingNow };
      await waitForRestores(s3, bucket, pendingNow.map((p) => p.key), options.waitOptions);
      plan = await buildPlan(view, point, filter, tier);
    }
  }
  const archiveRestore = performance.now() - restoreStarted;

  const downloadStarted = performance.now();
  const files: StagedFile[] = [];
  const manifests = new Map<string, Manifest>();
  for (const set of point.sets) {
    const manifest = view.get(set.jobId)!.manifest!;
    manifests.set(set.setName, manifest);
    // Every name is checked before any byte is written.
    for (const file of manifest.files) stagingPath(options.stagingDir, set.setName, file.name);
  }
  // The point's FULL dump last (see `observe`), the other files before it, a few at a time.
  const fullDump = manifests.get(point.full.setName)?.files.find((f) => f.role === 'database')?.name;
  const isFullDump = (o: PlannedObject) => o.setName === point.full.setName && o.file === fullDump;
  const download = async (object: PlannedObject) => {
    const manifest = manifests.get(object.setName)!;
    const file = manifest.files.find((f) => f.name === object.file);
    if (!file) return;
    const path = stagingPath(options.stagingDir, object.setName, file.name);
    await mkdir(resolve(options.stagingDir, object.setName), { recursive: true });
    const observe = () => options.observe?.({ setName: object.setName, file, path, manifests, staged: files });
    const { result, current } = await readFromCopies(view, object, file, path, observe, warnings, options);
    Object.assign(object, { copy: current.copy, key: current.key, area: current.copy === 'local' ? 'local' : current.copy === 'hot-site' ? 'sets' : 'archive', storageClass: current.storageClass });
    files.push({
      setName: object.setName,
      file: file.name,
      role: file.role,
      path,
      key: object.key,
      bytes: result.bytes,
      sha256: result.sha256,
      ...(file.compression ? { compressed: { algorithm: file.compression.algorithm, bytes: result.stored.bytes, sha256: result.stored.sha256, pathHolds: result.kept } } : {}),
      ...(result.verifiedThrough ? { verifiedThrough: result.verifiedThrough } : {}),
    });
    options.logger?.info({ key: object.key, bytes: result.stored.bytes, ...(file.compression ? { contentBytes: result.bytes } : {}) }, 'downloaded and verified');
  };
  await eachLimit(plan.objects.filter((o) => !isFullDump(o)), PARALLEL_DOWNLOADS, download);
  for (const object of plan.objects.filter(isFullDump)) await download(object);
  // In plan order (SET by SET, manifest order), whatever order the downloads finished in.
  const rank = new Map(plan.objects.map((o, i) => [o.key, i]));
  files.sort((a, b) => rank.get(a.key)! - rank.get(b.key)!);
  return { kind: 'staged', plan, files, manifests, durationsMs: { archiveRestore, download: performance.now() - downloadStarted }, warnings };
}

/**
 * Reads one file of a point into `path` from the copy the plan chose, falling back to the next copy (cheapest first)
 * when the bytes read do not match the manifest (size, SHA-256, compressed content) or the file is gone; each copy
 * passed over is added to `object.skipped` (with the error code) and to `warnings`, naming it.
 * @returns the verified download and the copy that served it.
 * @throws RecoveryError `NO_INTACT_COPY` when no copy is left (the message names every copy tried and its problem;
 *   `context.skipped` lists them); CommserveDrError `RESTORE_PENDING` (exit 3) when the only copy left is archived
 *   and `wait` is off; any other read failure as is (e.g. the hot-site unreachable).
 */
async function readFromCopies(
  view: HotSiteView,
  object: PlannedObject,
  file: ManifestFile,
  path: string,
  observe: () => Promise<ContentObserver | undefined> | undefined,
  warnings: string[],
  options: StageOptions,
): Promise<{ result: Awaited<ReturnType<typeof copyVerified>>; current: CopyObject }> {
  const all = candidates(view.get(parseSetName(object.setName)!)!.listed, file.name);
  let current = all.find((c) => c.copy === object.copy && c.key === object.key)!;
  const tried = new Set<CopyKind>([...object.skipped.map((k) => k.copy)]);
  for (;;) {
    tried.add(current.copy);
    try {
      const body = await view.copies.get(current.copy)!.open(current);
      const observer = await observe();
      const label = current.key;
      const wrap = (error: unknown) =>
        current.copy === 'local' ? new CommserveDrError('COPY_READ_FAILED', `reading ${label} failed: ${describeError(error)}`, { cause: error }) : hotSiteError(`download ${label}`, (view.copies.get(current.copy) as ArchiveCopy).bucket, error);
      const result = await copyVerified(body, label, path, file, { keep: options.keep, sync: options.syncFiles ?? 'end', observer }, wrap);
      return { result, current };
    } catch (error) {
      if (!isDamagedCopyError(error)) throw error;
      const detail = describeError(error);
      object.skipped.push({ copy: current.copy, key: current.key, detail, code: (error as CommserveDrError).code });
      let next: CopyObject | undefined;
      for (const c of all) {
        if (tried.has(c.copy)) continue;
        if (c.size === file.size) {
          next = c;
          break;
        }
        tried.add(c.copy);
        object.skipped.push({ copy: c.copy, key: c.key, detail: `size ${c.size}, manifest ${file.size}`, code: 'SIZE_MISMATCH' });
      }
      if (!next) throw new RecoveryError('NO_INTACT_COPY', describeNoIntactCopy(object.setName, file.name, object.skipped), { context: { skipped: object.skipped } });
      warnings.push(`${current.copy} copy ${current.key} is damaged (${detail}): skipped, ${object.setName}/${file.name} read from the ${next.copy} copy ${next.key}`);
      options.logger?.warn({ key: current.key, next: next.key }, 'damaged copy skipped');
      await makeReadable(view, next, options.tier ?? 'Standard', options);
      current = next;
    }
  }
}

/**
 * Makes an archive object chosen as a fallback readable: a restore is requested when needed and waited for with
 * `wait`; without it, the command stops with exit code 3 (the restore runs; run the command again).
 * @throws CommserveDrError `RESTORE_PENDING` (exit 3).
 */
async function makeReadable(view: HotSiteView, object: CopyObject, tier: RetrievalTier, options: ArchiveOptions): Promise<void> {
  const copy = view.copies.get(object.copy)!;
  const state = await copy.readiness(object);
  if (state === 'readable' || state === 'restored') return;
  const archive = copy as ArchiveCopy;
  if (state === 'restore-needed' && needsRestore(object.storageClass)) await requestRestore(archive.s3, archive.bucket, object.key, object.storageClass, tier, options.restoreDays ?? 7);
  if (!options.wait) {
    throw new CommserveDrError('RESTORE_PENDING', `the only intact copy left is ${object.key} (${object.storageClass}): its restore was requested (tier ${tier}); run the command again once it is readable, or add --wait`, {
      exitCode: ExitCode.CompletedWithErrors,
    });
  }
  await waitForRestores(archive.s3, archive.bucket, [object.key], options.waitOptions);
}

/** Text for pending restores: what was requested and the estimated wait. */
export function formatPending(plan: RecoveryPlan, pending: readonly PendingRestore[]): string {
  const lines = [`${pending.length} archive object(s) are being restored (tier ${plan.tier}); estimated wait ${plan.estimatedWait.text}:`];
  for (const p of pending) lines.push(`  ${p.key} (${p.storageClass}, ${p.state})`);
  lines.push('Run the command again once they are readable, or add --wait to wait for them.');
  return `${lines.join('\n')}\n`;
}

/** Options of {@link runFetch}. */
export interface FetchOptions extends ArchiveOptions {
  settings: Settings;
  s3: S3Client;
  logger?: Logger;
  /** The SET to fetch (`SET_n`). */
  setName: string;
  /** The SET is written to `<to>/SET_n/` (which must not exist yet). */
  to: string;
  /** Read the SET from this folder of SETs only (no cloud); default every copy, cheapest first. */
  from?: string;
}

/** The `fetch` document (`--json`). */
export interface FetchDocument {
  command: 'fetch';
  status: 'fetched' | 'pending' | 'failed';
  setName: string;
  directory: string | null;
  plan: RecoveryPlan | null;
  /**
   * Every file fetched: `bytes`/`sha256` of the file written (as stored at the hot-site, equal to the manifest's
   * `size`/`sha256`); for a dump stored compressed, `content` is its decompressed content, verified too.
   */
  files: Array<{ name: string; role: string; bytes: number; sha256: string; verified: true; content?: { bytes: number; sha256: string } }>;
  pending: PendingRestore[];
  /** Copies found damaged or missing (the next copy served the file), and copies that could not be reached. */
  warnings: string[];
  /** `skipped`: with `NO_INTACT_COPY`, every copy of the file tried and what was wrong with it. */
  error: { code: string; message: string; skipped?: PlannedObject['skipped'] } | null;
  durationMs: number;
  /** The command's exit code (SPEC §11), as in `recover --json`: the same document shape whatever happened. */
  exitCode: number;
}

/**
 * The `fetch --json` document of a fetch that stopped before it could start (a usage error such as a malformed SET
 * name or a missing `--to`): every key present, `status: failed`, the error and exit code (newcomer review finding 8).
 */
export function failedFetchDocument(error: { code: string; message: string }, exitCode: number, setName: string | null): FetchDocument {
  return { command: 'fetch', status: 'failed', setName: setName ?? '', directory: null, plan: null, files: [], pending: [], warnings: [], error: { ...error }, durationMs: 0, exitCode };
}

/**
 * `commserve-dr fetch SET_n --to DIR`: downloads every file of the SET and its manifest into `DIR/SET_n/`, each
 * verified against the manifest; nothing is applied. A dump stored compressed is written as stored (the folder stays
 * a SET consistent with its manifest), after its content was decompressed and verified on the way. The SET is
 * assembled in `DIR/.SET_n.partial/` and renamed when complete, so `DIR/SET_n/` exists only verified and whole.
 * @returns exit code 0 (fetched), 3 (archive restores pending; run again or use `wait`), 1 (failure), 2 (bad SET name,
 *   SET not at the hot-site, `DIR/SET_n` already exists).
 */
export async function runFetch(options: FetchOptions): Promise<CommandResult<FetchDocument>> {
  const started = performance.now();
  const bucket = options.settings.HotSite.bucket;
  const jobId = parseSetName(options.setName);
  const document: FetchDocument = {
    command: 'fetch',
    status: 'failed',
    setName: options.setName,
    directory: null,
    plan: null,
    files: [],
    pending: [],
    warnings: [],
    error: null,
    durationMs: 0,
    exitCode: ExitCode.Failure,
  };
  const finish = (exitCode: ExitCode, text: string): CommandResult<FetchDocument> => {
    forgetInterrupt();
    document.durationMs = Math.round(performance.now() - started);
    document.exitCode = exitCode;
    return { document, text, exitCode };
  };
  const partialDir = resolve(options.to, `.${options.setName}.partial`);
  // Interrupted (SIGINT/SIGTERM): the partial download goes; a SET is in --to only once whole (renamed in last).
  const forgetInterrupt = onInterrupt(async () => {
    if (!existsSync(partialDir)) return undefined;
    const left = await removeLeftover(partialDir);
    const what = left === null ? `its partial download ${partialDir} was removed` : `its partial download ${partialDir} could not be removed (${left}): remove it by hand`;
    return `the fetch of ${options.setName} did not complete: ${what} (nothing at the hot-site was changed); fetch it again`;
  });
  try {
    if (jobId === undefined) throw new UsageError(`${JSON.stringify(options.setName)} is not a SET name (SET_<n>)`);
    const view = await discoverForCommand(options);
    document.warnings.push(...unreachableWarnings(view));
    const entry = view.get(jobId);
    // The SET's name as listed (legacy SET_007 or new SET_0000007: core/set-id.ts), whatever padding was typed.
    const name = entry?.listed.setName ?? setNameOf(jobId);
    document.setName = name;
    const target = resolve(options.to, name);
    if (existsSync(target)) throw new UsageError(`${target} already exists: fetch into another directory or remove it`);
    if (!entry) throw new RecoveryError('SET_NOT_FOUND', `${name} is in no copy read (${[...view.copies.values()].map((c) => c.label).join(', ')})`, { exitCode: 2 });
    if (entry.manifestState === 'invalid') throw new ManifestError('MANIFEST_INVALID', `${name}: manifest unusable: ${entry.problems.join('; ')}`);
    if (entry.manifestState === 'missing') throw new RecoveryError('SET_NOT_RESTORABLE', `${name} is incomplete (no manifest): nothing to fetch`);
    const set = entry.summary;
    await mkdir(options.to, { recursive: true });
    await rm(partialDir, { recursive: true, force: true });
    const outcome = await stagePoint({
      ...options,
      view,
      point: { cycleId: set.cycleId ?? jobId, full: set, jobId, sets: [set] },
      stagingDir: partialDir,
      filter: () => true,
      checkChain: false,
      keep: 'stored',
    });
    document.plan = outcome.plan;
    if (outcome.kind === 'pending') {
      document.status = 'pending';
      document.pending = outcome.pending;
      return finish(ExitCode.CompletedWithErrors, formatPlan(outcome.plan) + formatPending(outcome.plan, outcome.pending));
    }
    document.warnings.push(...outcome.plan.objects.flatMap((o) => o.skipped.map((k) => `${k.copy} copy ${k.key} skipped (${k.detail}); ${o.setName}/${o.file} served from the ${o.copy} copy ${o.key}`)));
    // The manifest last: its presence makes the fetched SET complete.
    const listed = view.get(jobId)!.listed;
    const manifestObject = entry.manifestFrom ? listed.byCopy.get(entry.manifestFrom)!.get(MANIFEST_FILE)! : sourceObject(listed, MANIFEST_FILE)!;
    const manifestBytes = await readCopyObject(view, manifestObject, MANIFEST_MAX_BYTES);
    await writeFile(join(partialDir, name, MANIFEST_FILE), manifestBytes);
    await rename(join(partialDir, name), target);
    await rm(partialDir, { recursive: true, force: true });
    document.status = 'fetched';
    document.directory = target;
    document.files = outcome.files.map((f) =>
      f.compressed
        ? { name: f.file, role: f.role, bytes: f.compressed.bytes, sha256: f.compressed.sha256, verified: true as const, content: { bytes: f.bytes, sha256: f.sha256 } }
        : { name: f.file, role: f.role, bytes: f.bytes, sha256: f.sha256, verified: true as const },
    );
    const compressed = outcome.files.filter((f) => f.compressed).length;
    const text = `${formatPlan(outcome.plan)}${document.warnings.map((w) => `warning: ${w}\n`).join('')}Fetched ${name} into ${target}: ${outcome.files.length} file(s), ${formatBytes(document.files.reduce((s, f) => s + f.bytes, 0))}, every size and SHA-256 verified against the manifest (not applied)${
      compressed ? `; ${compressed} compressed dump(s) kept compressed as in the SET, their content decompressed and verified too` : ''
    }.\n`;
    return finish(ExitCode.Success, text);
  } catch (error) {
    await rm(partialDir, { recursive: true, force: true }).catch(() => undefined);
    const e = error instanceof CommserveDrError ? error : undefined;
    const skipped = e?.context.skipped as PlannedObject['skipped'] | undefined;
    document.error = { code: e?.code ?? 'ERROR', message: describeError(error), ...(skipped ? { skipped } : {}) };
    options.logger?.error({ code: document.error.code }, document.error.message);
    return finish(e?.exitCode ?? ExitCode.Failure, `fetch ${options.setName} failed: ${document.error.message}\n`);
  }
}

/** Re-exported for the other recovery commands. */
export type { PlannedObject };
