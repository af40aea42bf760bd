/**
 * Writes one SET into a folder and streams every file to the hot-site (SPEC §4.2 steps 1, 3–6 and 8): integrity check
 * alongside, database dump (FULL, DIFFERENTIAL or LOG point), registry, firewall files, agent logs, then one pass per
 * file that hashes, (optionally) compresses and uploads it. The manifest is not written here (phase1.ts commits it).
 *
 * The folder is the SET in the phase-1 destination, or a staging folder when the destination cannot hold it; a failure
 * to write into the folder throws, and the caller decides (remove it, try the staging area).
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseError } from '#core/errors';
import { setObjectKey } from '#core/hotsite-layout';
import type { DatabaseIdentity, Integrity, ManifestInput } from '#core/manifest';
import { BackupType } from '#core/set-id';
import type { Settings } from '#core/settings';
import type { DatabaseEngine, DumpResult, IntegrityResult } from '#agent/engines/types';
import { faultPoint } from '#agent/faults';
import { SetUploadSession, streamSetFile } from '#agent/hotsite/stream-upload';
import type { MetricsPublisher } from '#agent/metrics/metrics';
import type { RegistryStore } from '#agent/registry/types';
import { collectRotatedLogs, JOB_LOG_FILE, type JobLog } from './agent-logs';
import { handleIntegrityResult } from './corruption';
import type { Phase1Job } from './job-context';
import { dumpLog } from './log-step';
import { copyFirewallFiles, dumpDifferential, dumpFull, exportRegistry, hiveFileName, UNCOMPRESSED_SUFFIX, type SetFile, type StepOutcome } from './set-files';
import { describeIntegrityFindings } from '#core/integrity-findings';

/** What building a SET needs besides the job. */
export interface BuildSetOptions {
  settings: Settings;
  engine: DatabaseEngine;
  registryStore: RegistryStore;
  metrics: MetricsPublisher;
  jobLog: JobLog;
  /** The integrity verdict when it was settled before the build (`--shrink` checks first). */
  integritySettled?: Promise<Integrity>;
  onProgress?: (stage: 'dump' | 'upload', done: number, total: number) => void;
}

/** A SET written into its folder and streamed: everything the manifest needs. */
export interface BuiltSet {
  files: ManifestInput['files'];
  integrity: Integrity;
  dump: DumpResult;
  cycleId: number;
  registry: ManifestInput['registry'];
  firewall: ManifestInput['firewall'];
  /** A registry or firewall part failed (→ Completed With One or More Errors). */
  partial: boolean;
  /** Extra `database.details` (a FULL's cycle preparation). */
  cycleDetails: DatabaseIdentity['details'];
  /** The moment the SET's database state was captured (`recover --at`): a LOG's snapshot end, else the dump's end. ISO-8601 UTC. */
  pointTime: string;
}

/** The verdict a LOG point records: it runs no integrity check (minutes on a large database, every few minutes). */
export const LOG_POINT_INTEGRITY: Integrity = { status: 'skipped', messages: ['LOG point: the integrity check runs with the FULL and DIFFERENTIAL jobs'], durationMs: 0 };

/**
 * The integrity check of a job (SPEC §4.2 step 1): a FULL checks its own dump once written, a DIFFERENTIAL the live
 * database from the start; either way alongside the other steps, awaited only for the manifest. Its verdict is noted
 * once, with what corruption triggers (metric, job activity).
 */
export class IntegrityCheck {
  private running: Promise<IntegrityResult> | undefined;
  /** What the running check reads: the FULL's dump file, or the live database. */
  private target: 'dump' | 'live' | undefined;

  constructor(
    private readonly job: Phase1Job,
    private readonly options: Pick<BuildSetOptions, 'settings' | 'engine' | 'registryStore' | 'metrics'>,
  ) {}

  /** Starts the check (of `dumpFile` when given) unless it already runs. */
  start(dumpFile?: string): void {
    if (this.running) return;
    this.target = dumpFile === undefined ? 'live' : 'dump';
    this.running = this.job.timed('integrity', () => this.options.engine.checkIntegrity(dumpFile));
    this.running.catch(() => undefined); // awaited in settle(); a failure must not surface as an unhandled rejection
  }

  /**
   * The SHA-256 of the database image the check passed on, when exactly known (issue 15: a recovery that rebuilds that
   * image need not check it again). SQLite only: a FULL's check of its own dump covered the dump's content; a
   * DIFFERENTIAL's check of the live database covered the image the DIFF records (its reconstructed SHA-256) only when
   * both read the same state — the same file change counter under each one's read transaction (a rollback-journal
   * database read in place). Undefined otherwise: the check did not pass, it ran before the dump (`--shrink`) or on the
   * live database for a FULL (a DIFFERENTIAL promoted), a WAL database or a snapshot, SQL Server, a LOG point.
   */
  coveredImage(verdict: IntegrityResult, dump: DumpResult, dumpEntry: ManifestInput['files'][number] | undefined): string | undefined {
    if (verdict.status !== 'ok' || this.options.engine.engine !== 'sqlite' || this.job.logBase) return undefined;
    if (this.target === 'dump' && this.job.backupType === BackupType.Full) return dumpEntry?.compression?.contentSha256 ?? dumpEntry?.sha256;
    if (this.target !== 'live' || this.job.backupType !== BackupType.Differential) return undefined;
    const reconstructed = dump.identity.details.reconstructedSha256;
    const same = verdict.changeCounter !== undefined && dump.changeCounter !== undefined && verdict.changeCounter === dump.changeCounter;
    return same && typeof reconstructed === 'string' ? reconstructed : undefined;
  }

  /** Waits for the verdict and notes it (corruption: events, metric, job activity). */
  async settle(): Promise<IntegrityResult> {
    this.start();
    const result = await this.running!;
    if (result.status === 'corrupt') {
      this.job.note('error', 'DB_CORRUPTION_DETECTED', `integrity check found damage: ${describeIntegrityFindings(result.messages)}`);
    } else if (result.status === 'check-failed') {
      this.job.note('warning', 'INTEGRITY_CHECK_FAILED', `integrity check could not run: ${result.messages[0] ?? ''}`);
    }
    const { settings, registryStore, metrics, engine } = this.options;
    for (const e of await handleIntegrityResult({ integrity: result, settings, store: registryStore, metrics, jobId: this.job.id.jobId, engine })) this.job.note(e.level, e.code, e.message);
    return result;
  }
}

/** One file to stream: its SET entry and where its bytes are read from. */
interface Source {
  file: SetFile;
  path: string;
  dump: boolean;
}

/**
 * Writes and streams the SET into `setDir` through `upload` (an upload session without a client only hashes).
 * @throws DatabaseError (dump failed), a file system error writing into `setDir` (full, read-only), whatever the
 *   engine's cycle preparation throws. Upload failures do not throw: `upload.failure` says why.
 */
export async function buildSet(job: Phase1Job, setDir: string, upload: SetUploadSession, options: BuildSetOptions): Promise<BuiltSet> {
  const integrity = new IntegrityCheck(job, options);
  if (!options.integritySettled && job.base) integrity.start();
  const { dump, pointTime } = await dumpStep(job, setDir, integrity, options);
  for (const warning of dump.detail.warnings ?? []) job.note('warning', 'DATABASE_DUMP_WARNING', warning);
  const cycleId = job.backupType === BackupType.Full ? job.id.jobId : (job.base ?? job.logBase!.full).manifest.jobId;
  const registry = await job.timed('registry', () =>
    exportRegistry(options.registryStore, { commServeKeys: options.settings.Registry.commServeKeys, modules: options.settings.Registry.modules }, setDir, hiveFileName(job.backupType, job.id.jobId)),
  );
  const firewall = await job.timed('firewall', () => copyFirewallFiles(options.settings.FirewallDirectory, setDir));
  for (const e of [...registry.events, ...firewall.events]) job.note(e.level, e.code, e.message);
  const logs = await job.timed('logs', () => agentLogsStep(job, setDir, options));
  const sources: Source[] = [
    { file: dump.files[0]!, path: dump.detail.file, dump: true },
    ...[...dump.files.slice(1), ...registry.files, ...firewall.files, ...logs].map((f) => ({ file: f, path: join(setDir, f.name), dump: false })),
  ];
  const { files, cycleDetails } = await streamStep(job, setDir, upload, sources, options);
  const verdict: IntegrityResult = await (options.integritySettled ?? integrity.settle());
  if (dump.detail.file !== join(setDir, dump.files[0]!.name)) rmSync(dump.detail.file, { force: true });
  const dumpEntry = files.find((f) => f.name === dump.files[0]!.name);
  const checkedSha256 = options.integritySettled ? undefined : integrity.coveredImage(verdict, dump.detail, dumpEntry);
  return {
    files,
    integrity: { status: verdict.status, messages: verdict.messages, durationMs: verdict.durationMs, ...(checkedSha256 ? { checkedSha256 } : {}) },
    dump: dump.detail,
    cycleId,
    registry: { store: options.registryStore.kind, exportedKeys: registry.detail.exportedKeys, missingKeys: registry.detail.missingKeys },
    firewall: firewall.detail,
    partial: registry.partial || firewall.partial,
    cycleDetails,
    pointTime,
  };
}

/**
 * The database dump (SPEC §4.2 step 3, §4.5): a LOG point against the open cycle's previous point, a cumulative
 * DIFFERENTIAL against the cycle's FULL, or a FULL (also when the DIFFERENTIAL's base turns out not to match:
 * promoted, with the reason). With `DumpCompression` the engine writes `<name>.uncompressed` and the pass stores the
 * compressed `<name>`. @returns the dump and the moment it captures.
 */
async function dumpStep(job: Phase1Job, setDir: string, integrity: IntegrityCheck, options: BuildSetOptions): Promise<{ dump: StepOutcome<DumpResult>; pointTime: string }> {
  const { settings, engine } = options;
  const compressed = settings.DumpCompression === 'brotli';
  const rawName = (name: string) => (compressed ? `${name}${UNCOMPRESSED_SUFFIX}` : name);
  const onDumpProgress = (done: number, total: number) => {
    if (done > 0 && done < total) faultPoint('dump');
    options.onProgress?.('dump', done, total);
  };
  if (job.logBase) {
    const logBase = job.logBase;
    const logged = await job.timed('dump', () => dumpLog(engine, logBase, setDir, job.id.jobId, onDumpProgress, rawName));
    return { dump: logged, pointTime: logged.detail.pointTime };
  }
  if (job.base) {
    const base = job.base;
    try {
      const dump = await job.timed('dump', () => dumpDifferential(engine, base, setDir, job.id.jobId, onDumpProgress, rawName));
      return { dump, pointTime: new Date().toISOString() };
    } catch (error) {
      if (!(error instanceof DatabaseError && error.code === 'DIFF_BASE_MISMATCH')) throw error;
      job.promote(error.message);
    }
  }
  const dump = await job.timed('dump', () => dumpFull(engine, setDir, onDumpProgress, rawName));
  const pointTime = new Date().toISOString();
  integrity.start(dump.detail.file);
  return { dump, pointTime };
}

/**
 * The job's own log and the CommServe's rotated logs, within `AgentLogMaxBytes` together (SPEC §4.2 step 8). A LOG
 * point, taken every few minutes, carries its own log only: the rotated logs go with the FULL and DIFFERENTIAL jobs.
 */
function agentLogsStep(job: Phase1Job, setDir: string, options: BuildSetOptions): SetFile[] {
  const budget = options.settings.AgentLogMaxBytes;
  const directory = job.logBase ? null : options.settings.AgentLogDirectory;
  const rotated = collectRotatedLogs(directory, setDir, Math.max(0, budget - options.jobLog.size - 1024), budget);
  for (const e of rotated.events) job.note(e.level, e.code, e.message);
  // Written last, so the job log holds the lines of the steps above.
  options.jobLog.writeTo(join(setDir, JOB_LOG_FILE));
  return [{ name: JOB_LOG_FILE, role: 'log' }, ...rotated.files];
}

/**
 * One pass per file (issue 10): SHA-256 for the manifest, each part's SHA-256, the FULL's page hashes and the optional
 * compression, while the parts go to the hot-site; then a FULL's cycle sidecar. An upload failure does not stop the
 * pass (the SET is still completed locally, and the next job re-fills the hot-site).
 */
async function streamStep(
  job: Phase1Job,
  setDir: string,
  upload: SetUploadSession,
  sources: Source[],
  options: BuildSetOptions,
): Promise<{ files: ManifestInput['files']; cycleDetails: DatabaseIdentity['details'] }> {
  const { settings, engine } = options;
  const jobId = job.id.jobId;
  const compressionLevel = settings.DumpCompression === 'brotli' ? settings.DumpCompressionLevel : null;
  const rawDump = sources[0]!.path;
  const files: ManifestInput['files'] = [];
  const total = sources.reduce((sum, f) => sum + statSync(f.path).size, 0);
  let sent = 0;
  const cycleWriter = job.backupType === BackupType.Full && engine.beginCycle ? await engine.beginCycle(rawDump, setDir, jobId) : undefined;
  let dumpContentSha256 = '';
  try {
    await job.timed('stream', async () => {
      for (const source of sources) {
        const streamed = await streamSetFile(upload, {
          source: source.path,
          name: source.file.name,
          role: source.file.role,
          key: setObjectKey('sets', jobId, source.file.name),
          ...(source.dump && compressionLevel !== null ? { compression: { level: compressionLevel, storedPath: join(setDir, source.file.name) } } : {}),
          ...(source.dump && cycleWriter ? { pageDigests: { pageSize: cycleWriter.pageSize, add: (digests: Buffer, bytes: number) => cycleWriter.addPageDigests(digests, bytes) } } : {}),
          onProgress: (read) => options.onProgress?.('upload', sent + read, total),
        });
        sent += streamed.entry.compression?.contentSize ?? streamed.entry.size;
        files.push(streamed.entry);
        if (source.dump) dumpContentSha256 = streamed.contentSha256;
      }
    });
    if (job.backupType !== BackupType.Full) return { files, cycleDetails: {} };
    // What the cycle's DIFFERENTIALs need (SQLite: the page-hash sidecar, computed in the pass above).
    const cycle = await job.timed('cycle', () => (cycleWriter ? cycleWriter.finish(dumpContentSha256) : engine.prepareCycle(rawDump, setDir, jobId)));
    for (const sidecar of cycle.sidecars) {
      const streamed = await streamSetFile(upload, { source: join(setDir, sidecar.name), name: sidecar.name, role: 'sidecar', key: setObjectKey('sets', jobId, sidecar.name) });
      files.splice(1, 0, streamed.entry); // listed right after the dump, as ever
    }
    return { files, cycleDetails: cycle.details };
  } catch (error) {
    void cycleWriter?.abort();
    throw error;
  }
}
