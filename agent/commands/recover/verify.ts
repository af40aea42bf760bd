/**
 * `commserve-dr verify [SET_n]`: proves a restore point restorable without touching any CommServe —
 * 1. every copy of every file against the manifest (`verify-copies.ts`): SHA-256 of every byte on disk, HeadObject
 *    (`ChecksumMode: ENABLED`) size and `ChecksumSHA256` at the hot-site and in the archive; a file is verified when
 *    one copy is intact, and each damaged copy beside it is named (exit 3) — only a file with no intact copy fails;
 * 2. a trial restore into a scratch database (`<StateDirectory>/verify/scratch-<SET>/`, removed afterwards) with
 *    the full `PRAGMA integrity_check` (always: unlike `recover`, a drill is not time-critical);
 *    a SQL Server point is trial-restored on the SQL Server of the `Database` setting as `<db>_commserve_dr_verify`
 *    (files renamed to `<db>_commserve_dr_verify_<file>` in the restore directories), checked with `DBCC CHECKDB`
 *    and dropped; when the settings name no SQL Server, no trial restore is possible: the record says
 *    `scope: "checksums-only"` with result `failed` (never `restorable` without a trial restore).
 * The result is recorded in `<StateDirectory>/verify/<SET>.json` and at the hot-site as `verify/<SET>.json`, keyed by
 * the point's newest SET; {@link readVerifications} reads them back for `sets`.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { checkCopiesChain, manifestChainFindings } from '#agent/hotsite/manifest-chain';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CommserveDrError, describeError, ExitCode } from '#core/errors';
import { choosePoint } from '#core/recovery';
import type { Settings } from '#core/settings';
import { hotSiteError } from '#agent/hotsite/hot-site';
import { onInterrupt } from '#agent/shutdown';
import type { OpenSqlServerDeps } from '#agent/engines/sqlserver/sqlserver-engine';
import { checkSqlServerStagedDumps, rebuildDatabase, recoverSqlServerPoint, SCRATCH_DATABASE_SUFFIX, sqlServerDeps, StreamedRebuild } from './database';
import { stagePoint, type ArchiveOptions, type CommandResult, type PendingRestore } from './fetch';
import { assertNamedManifestUsable, discoverForCommand } from './plan';
import { checkPointCopies, damagedCopyLines, type DamagedCopy } from './verify-copies';

/** Hot-site prefix of verification records. */
export const VERIFY_PREFIX = 'verify/';

/** A verification record (`verify/<SET>.json`). */
export const VerificationSchema = z.object({
  /** The point's newest SET (the key of the record). */
  setName: z.string(),
  /** The point's SETs, FULL first. */
  sets: z.array(z.string()),
  verifiedAt: z.string(),
  /**
   * `restorable` (checksums and a trial restore passed) or `failed` (a check failed, or no trial restore was
   * possible: see `scope`).
   */
  result: z.enum(['restorable', 'failed']),
  /**
   * What was checked: `checksums-and-trial-restore` (absent in records written before SQL Server support), or
   * `checksums-only` (a SQL Server point with no SQL Server in the settings: downloads verified, chain checked from
   * the manifests, nothing restored).
   */
  scope: z.enum(['checksums-and-trial-restore', 'checksums-only']).optional(),
  /** Why the scope is reduced, or other remarks for the operator. */
  note: z.string().optional(),
  /** Things to clean up by hand (a scratch database or dump copy that could not be removed). */
  warnings: z.array(z.string()).optional(),
  /**
   * One entry per file of the point: ok when at least one copy is intact (`copy` names the one that proved it; absent
   * in records written before every copy was checked); `method` how that copy was checked (`size`: only the size
   * could be compared, e.g. an archived object not restored — the trial restore then checks every byte).
   */
  checksums: z.array(
    z.object({
      set: z.string(),
      file: z.string(),
      bytes: z.number(),
      method: z.enum(['s3-checksum', 'streamed-hash', 'size']),
      ok: z.boolean(),
      copy: z.enum(['local', 'hot-site', 'archive']).optional(),
      detail: z.string().optional(),
    }),
  ),
  /**
   * Copies of files found damaged or missing (newcomer review finding 1). Beside an intact copy of the same file it is
   * damage to that copy, not to the point (`verify` exits 3; `verify --repair` mends it); a file with no intact copy
   * at all is also in `problems` (the point fails). Absent when none.
   */
  damagedCopies: z
    .array(z.object({ set: z.string(), file: z.string(), copy: z.enum(['local', 'hot-site', 'archive']), key: z.string(), detail: z.string() }))
    .optional(),
  trialRestore: z
    .object({
      integrity: z.string(),
      messages: z.array(z.string()),
      /** SQLite: the check that ran — always `full` (`PRAGMA integrity_check`) for a trial restore; absent in older records. */
      integrityCheck: z.enum(['quick', 'full']).optional(),
      /** SQLite: SHA-256 of the rebuilt database file (a SQL Server restore has no file of its own). */
      sha256: z.string().optional(),
      /** SQLite: bytes of the rebuilt database; SQL Server: bytes of the dumps restored. */
      bytes: z.number(),
      durationMs: z.number(),
      /** `sqlite` (absent in older records) or `sqlserver`. */
      engine: z.enum(['sqlite', 'sqlserver']).optional(),
      /** SQL Server: `server:port` and the scratch database (dropped afterwards). */
      server: z.string().optional(),
      database: z.string().optional(),
    })
    .nullable(),
  problems: z.array(z.string()),
  durationMs: z.number(),
});
export type Verification = z.infer<typeof VerificationSchema>;

/** Options of {@link runVerify}. */
export interface VerifyOptions extends ArchiveOptions {
  settings: Settings;
  s3: S3Client;
  logger?: Logger;
  /** Read the SETs from this folder only (no cloud); default every copy, cheapest first. */
  from?: string;
  /** The SET to verify (a DIFFERENTIAL is verified with its FULL); default the newest restorable point. */
  setName?: string;
  /** How a SQL Server point's trial restore reaches the server of `settings.Database` (see `RecoverOptions.sqlServer`). */
  sqlServer?: OpenSqlServerDeps;
}

/** Error codes of a SQL Server trial restore that are findings about the point (recorded), not about this machine. */
const POINT_FINDINGS = new Set(['DIFF_WRONG_BASE', 'DUMP_HEADER_INVALID', 'RESTORE_FAILED', 'CHECKSUM_MISMATCH', 'DUMP_MISSING']);

/** The `verify` document (`--json`). */
export interface VerifyDocument {
  command: 'verify';
  /** `checksums-only`: every checksum passed but no trial restore was possible (exit code 1: not proven restorable). */
  status: 'restorable' | 'failed' | 'pending' | 'checksums-only';
  verification: Verification | null;
  pending: PendingRestore[];
  recordedAt: { local: string; hotSite: string } | null;
  error: { code: string; message: string } | null;
  /**
   * Copies found damaged or missing (as `verification.damagedCopies`); also given while archive restores are pending,
   * when there is no verification yet.
   */
  damagedCopies: DamagedCopy[];
  /** The command's exit code (SPEC §11), as in `recover --json`: the same document shape whatever happened. */
  exitCode: number;
}

/**
 * The `verify --json` document of a verify that stopped before it could start (a usage error such as a malformed
 * SET name, or `--repair` with `--from`): every key present, `status: failed` (newcomer review finding 8).
 */
export function failedVerifyDocument(error: { code: string; message: string }, exitCode: number): VerifyDocument {
  return { command: 'verify', status: 'failed', verification: null, pending: [], recordedAt: null, error: { ...error }, damagedCopies: [], exitCode };
}

/** The result with the document's `exitCode` set to the one returned. */
function withExitCode(result: CommandResult<VerifyDocument>): CommandResult<VerifyDocument> {
  result.document.exitCode = result.exitCode;
  return result;
}

function verifyDir(settings: Settings): string {
  return join(settings.StateDirectory, 'verify');
}

/**
 * Reads every local verification record, by SET name (malformed files are skipped).
 */
export function readVerifications(settings: Settings): Map<string, Verification> {
  const dir = verifyDir(settings);
  const out = new Map<string, Verification>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (!/^SET_\d+\.json$/.test(name)) continue;
    try {
      const v = VerificationSchema.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
      out.set(v.setName, v);
    } catch {
      // not ours or damaged: ignore
    }
  }
  return out;
}


function formatVerification(doc: VerifyDocument): string {
  const v = doc.verification;
  const lines: string[] = [];
  if (doc.status === 'pending') {
    lines.push(`verify: ${doc.pending.length} archive object(s) are being restored; run again when readable, or use --wait:`);
    for (const p of doc.pending) lines.push(`  ${p.key} (${p.storageClass})`);
  }
  if (v) {
    const verdict = v.result === 'restorable' ? 'RESTORABLE (checksums ok, trial restore ok)' : v.scope === 'checksums-only' && v.problems.length === 1 ? 'CHECKSUMS OK, NOT PROVEN RESTORABLE (no trial restore)' : 'FAILED';
    lines.push(`${v.sets.join(' + ')}: ${verdict}`);
    const byS3 = v.checksums.filter((c) => c.method === 's3-checksum').length;
    const bySize = v.checksums.filter((c) => c.ok && c.method === 'size').length;
    lines.push(`  checksums: ${v.checksums.filter((c) => c.ok).length}/${v.checksums.length} files with an intact copy (${byS3} by S3's stored checksum, ${v.checksums.filter((c) => c.method === 'streamed-hash').length} re-hashed${bySize ? `, ${bySize} by size only` : ''})`);
    const t = v.trialRestore;
    if (t?.engine === 'sqlserver') lines.push(`  trial restore: ${t.server ?? 'SQL Server'} as [${t.database ?? '?'}] (dropped), DBCC CHECKDB ${t.integrity}, ${t.bytes} bytes of dumps`);
    else if (t) lines.push(`  trial restore: integrity ${t.integrity}${t.integrityCheck === 'full' ? ' (PRAGMA integrity_check)' : ''}, ${t.bytes} bytes, SHA-256 ${t.sha256 ?? '?'}`);
    if (t) lines.push(`  measured recovery time: ${(v.durationMs / 1000).toFixed(1)} s (whole trial: download + rebuild + check); rebuild + check ${(t.durationMs / 1000).toFixed(1)} s`);
    if (v.note) lines.push(`  note: ${v.note}`);
    for (const p of v.problems) lines.push(`  problem: ${p}`);
    lines.push(...damagedCopyLines(v.damagedCopies ?? [], v.checksums));
    for (const w of v.warnings ?? []) lines.push(`  warning: ${w}`);
  }
  if (doc.recordedAt) lines.push(`  recorded: ${doc.recordedAt.local}, s3 ${doc.recordedAt.hotSite}`);
  if (doc.error) lines.push(`verify failed: ${doc.error.message}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Exit code of a verification: 0 restorable; 3 restorable with a damaged copy beside an intact one ("completed with
 * errors", SPEC §11: run `verify --repair`); 1 anything else.
 */
function verifyExitCode(status: VerifyDocument['status'], damagedCopies: number): ExitCode {
  if (status !== 'restorable') return ExitCode.Failure;
  return damagedCopies > 0 ? ExitCode.CompletedWithErrors : ExitCode.Success;
}

/**
 * Verifies a point (see the module comment) and records the result.
 * @returns exit code 0 (restorable), 1 (a check failed, or the point could not be verified), 2 (unknown SET),
 *   3 (archive restores pending).
 */
export async function runVerify(options: VerifyOptions): Promise<CommandResult<VerifyDocument>> {
  const started = performance.now();
  const { s3, settings } = options;
  const bucket = settings.HotSite.bucket;
  const doc: VerifyDocument = { command: 'verify', status: 'failed', verification: null, pending: [], recordedAt: null, error: null, damagedCopies: [], exitCode: ExitCode.Failure };
  const scratchRoot = verifyDir(settings);
  let scratch: string | undefined;
  // Interrupted (SIGINT/SIGTERM): the trial restore's scratch copy goes too; no result is recorded.
  const forgetInterrupt = onInterrupt(async () => {
    if (!scratch || !existsSync(scratch)) return undefined;
    await rm(scratch, { recursive: true, force: true });
    return `the verification did not complete (no result recorded; nothing at the hot-site was changed): its trial-restore scratch copy ${scratch} was removed`;
  });
  try {
    const view = await discoverForCommand(options);
    assertNamedManifestUsable(view, options.setName);
    const point = choosePoint([...view.values()].map((v) => v.summary), options.setName);
    const pointSet = point.sets.at(-1)!.setName;
    // 1. Every copy of every file against the manifest: the point fails only for a file with no intact copy.
    const copiesCheck = await checkPointCopies(view, point, s3, bucket);
    const { checksums, damagedCopies } = copiesCheck;
    const problems = [...copiesCheck.problems];

    // 1b. The manifest hash chain at the hot-site (issue 21): a manifest replaced after the fact fails the point.
    problems.push(...manifestChainFindings(await checkCopiesChain({ hotSite: options.from === undefined ? { s3, bucket } : null }), point.sets.map((s) => s.setName)));

    // 2. Trial restore into a scratch database (downloads verify every SHA-256 again).
    let trial: Verification['trialRestore'] = null;
    let scope: Verification['scope'];
    let note: string | undefined;
    const warnings: string[] = [];
    if (problems.length === 0) {
      scratch = join(scratchRoot, `scratch-${pointSet}-${process.pid}`);
      await rm(scratch, { recursive: true, force: true });
      const streamed = new StreamedRebuild(point);
      const outcome = await stagePoint({
        ...options,
        view,
        point,
        stagingDir: scratch,
        filter: (_m, f) => f.role === 'database',
        checkChain: true,
        logger: options.logger,
        syncFiles: 'none',
        observe: streamed.observe,
      });
      if (outcome.kind === 'pending') {
        doc.status = 'pending';
        doc.pending = outcome.pending;
        // No verification yet, but what step 1 found is said now: the damaged copy that sent it to the archive.
        doc.damagedCopies = damagedCopies;
        const found = damagedCopyLines(damagedCopies, checksums);
        return withExitCode({ document: doc, text: formatVerification(doc) + found.map((l) => `${l}\n`).join(''), exitCode: ExitCode.CompletedWithErrors });
      }
      const full = outcome.manifests.get(point.full.setName)!;
      scope = 'checksums-and-trial-restore';
      if (full.database.engine !== 'sqlserver') {
        // A drill, not time-critical: always the full PRAGMA integrity_check.
        const rebuilt = await rebuildDatabase(point, outcome.manifests, outcome.files, join(scratch, 'trial', 'commserv.db'), { integrityCheck: 'full', streamed, sync: false });
        trial = {
          integrity: rebuilt.integrity.status,
          integrityCheck: rebuilt.integrityCheck.mode === 'quick' ? 'quick' : 'full', // asked for 'full': never 'none'
          messages: rebuilt.integrity.messages,
          sha256: rebuilt.sha256,
          bytes: rebuilt.bytes,
          durationMs: Math.round(rebuilt.durationMs),
          engine: 'sqlite',
        };
        if (rebuilt.integrity.status !== 'ok') problems.push(`trial restore fails PRAGMA integrity_check: ${rebuilt.integrity.messages.slice(0, 3).join('; ')}`);
      } else if (settings.Database.engine !== 'sqlserver') {
        // No server to restore on: the chain is checked from the manifests, the downloads were verified; nothing more.
        try {
          checkSqlServerStagedDumps(point, outcome.manifests, outcome.files);
        } catch (error) {
          problems.push(describeError(error));
        }
        scope = 'checksums-only';
        note = `trial restore not possible: ${point.full.setName} is a SQL Server backup and the settings' Database names no SQL Server (engine ${settings.Database.engine}); checksums verified and the chain checked from the manifests only — not proven restorable`;
        problems.push(note);
      } else {
        const scratchDb = `${full.database.name}${SCRATCH_DATABASE_SUFFIX}`;
        try {
          const out = await recoverSqlServerPoint(point, outcome.manifests, outcome.files, {
            db: settings.Database,
            deps: sqlServerDeps(settings, options.sqlServer),
            database: scratchDb,
            dropAfterwards: true,
          });
          const integrity = out.restored.integrity;
          trial = {
            integrity: integrity.status,
            messages: integrity.messages,
            bytes: out.dumps.reduce((sum, d) => sum + d.bytes, 0),
            durationMs: Math.round(out.restored.durationMs),
            engine: 'sqlserver',
            server: out.server,
            database: scratchDb,
          };
          warnings.push(...out.leftovers);
          if (integrity.status !== 'ok') problems.push(`trial restore fails DBCC CHECKDB (${integrity.status}): ${integrity.messages.slice(0, 3).join('; ')}`);
        } catch (error) {
          if (!(error instanceof CommserveDrError) || !POINT_FINDINGS.has(error.code)) throw error;
          problems.push(`trial restore as [${scratchDb}] failed: ${describeError(error)}`);
        }
      }
    }

    const verification: Verification = {
      setName: pointSet,
      sets: point.sets.map((s) => s.setName),
      verifiedAt: new Date().toISOString(),
      result: problems.length === 0 ? 'restorable' : 'failed',
      checksums,
      ...(scope ? { scope } : {}),
      ...(note ? { note } : {}),
      ...(warnings.length ? { warnings } : {}),
      trialRestore: trial,
      problems,
      ...(damagedCopies.length ? { damagedCopies } : {}),
      durationMs: Math.round(performance.now() - started),
    };
    doc.verification = verification;
    doc.damagedCopies = damagedCopies;
    doc.status = verification.result === 'failed' && scope === 'checksums-only' && problems.length === 1 ? 'checksums-only' : verification.result;
    // Record locally and at the hot-site.
    mkdirSync(scratchRoot, { recursive: true });
    const local = join(scratchRoot, `${pointSet}.json`);
    const body = `${JSON.stringify(verification, null, 2)}\n`;
    await writeFile(`${local}.partial`, body);
    await rename(`${local}.partial`, local);
    const key = `${VERIFY_PREFIX}${pointSet}.json`;
    if (options.from === undefined) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }));
      } catch (error) {
        throw hotSiteError(`record ${key}`, bucket, error);
      }
    }
    doc.recordedAt = { local, hotSite: options.from === undefined ? `s3://${bucket}/${key}` : 'not recorded (--from: no cloud)' };
    return withExitCode({ document: doc, text: formatVerification(doc), exitCode: verifyExitCode(doc.status, damagedCopies.length) });
  } catch (error) {
    const e = error instanceof CommserveDrError ? error : undefined;
    doc.status = 'failed';
    doc.error = { code: e?.code ?? 'ERROR', message: describeError(error) };
    options.logger?.error({ code: doc.error.code }, doc.error.message);
    return withExitCode({ document: doc, text: formatVerification(doc), exitCode: e?.exitCode ?? ExitCode.Failure });
  } finally {
    forgetInterrupt();
    if (scratch) await rm(scratch, { recursive: true, force: true }).catch(() => undefined);
  }
}
