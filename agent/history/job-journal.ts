/**
 * Every job has a record (SPEC §4.4, issue 16 item 2), including one that was interrupted or killed.
 *
 * While a job runs, its *journal* — `<StateDirectory>/jobs-in-progress/<jobId>.json` — names the job (id, SET,
 * type, start), its owner process (pid, host), the stage it reached, what it has committed and the events so far. It
 * is written when the job gets its id and rewritten at each stage (a few hundred bytes, temp file + rename), and
 * removed once the job's own record is written.
 *
 * - SIGINT/SIGTERM: the journal's interrupt clean-up (agent/shutdown.ts) writes a *Killed* record from it at once.
 * - SIGKILL, power loss: nothing runs; the next job, holding the phase-1 lock, finds the journal of a process that
 *   no longer exists ({@link recordAbandonedJobs}) and writes the *Killed* record then (unless the job's own record
 *   exists locally or at the hot-site: then that record is kept, and copied locally when only the hot-site had it).
 *
 * The journal lives in the state directory (local to the agent), so it can be written even when the phase-1
 * destination cannot; the records go where every record goes ({@link recordJobAnywhere}).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { describeError } from '#core/errors';
import { jobRecordKey } from '#core/hotsite-layout';
import { JobRecordSchema, type JobRecord } from '#core/job';
import { JobStatus } from '#core/job-status';
import { JobEventSchema, type JobEvent } from '#core/manifest';
import { BackupType } from '#core/set-id';
import { interruptSignal, onInterrupt } from '#agent/shutdown';
import { readHistory, recordJob } from './history';

/** Folder of the journals in the state directory. */
export const JOURNAL_DIR = 'jobs-in-progress';

const backupType = z.enum([BackupType.Full, BackupType.Differential, BackupType.Log]);

/** What a journal file holds. */
export const JobJournalEntrySchema = z.object({
  jobId: z.number().int().positive(),
  setName: z.string(),
  backupType,
  requestedType: backupType,
  /** ISO-8601 UTC. */
  startTime: z.string(),
  /** Owner process, to tell a live job from a dead one. */
  pid: z.number().int(),
  hostname: z.string(),
  /** The last stage the job reached (`dump`, `upload`, `committed`, `phase 2` …). */
  stage: z.string(),
  /** Where the SET was committed locally (its manifest written), or null. */
  phase1Destination: z.string().nullable().default(null),
  /** `s3://bucket/sets/SET_n/` once the hot-site manifest is uploaded, or null. */
  hotSite: z.string().nullable().default(null),
  bytes: z.number().int().nonnegative().default(0),
  events: z.array(JobEventSchema).default([]),
  /**
   * When the journal was last written (ISO-8601 UTC): the last moment the job is known to have been alive. Absent in
   * journals of older agents: {@link readJournals} takes the file's modification time then.
   */
  updatedAt: z.string().optional(),
});
export type JobJournalEntry = z.infer<typeof JobJournalEntrySchema>;

const journalDir = (stateDir: string) => join(stateDir, JOURNAL_DIR);
const journalFile = (stateDir: string, jobId: number) => join(journalDir(stateDir), `${jobId}.json`);

/** Where a job's records go: the phase-1 destination (`jobs/`), and the state directory when that cannot be written. */
export interface RecordPlaces {
  Phase1Destination: string;
  StateDirectory: string;
}

/**
 * Writes a job record in the phase-1 destination, or — when it cannot be written (full, read-only: often why the job
 * failed) — in `<StateDirectory>/jobs/`, which `history` reads too.
 * @returns the path written.
 * @throws the file system error when neither can be written.
 */
export function recordJobAnywhere(places: RecordPlaces, record: JobRecord): string {
  try {
    return recordJob(places.Phase1Destination, record);
  } catch (error) {
    try {
      return recordJob(places.StateDirectory, record);
    } catch {
      throw error;
    }
  }
}

/** {@link recordJobAnywhere} that reports a failure through `onError` instead of throwing. @returns the path, or null. */
export function tryRecordJobAnywhere(places: RecordPlaces, record: JobRecord, onError: (error: unknown) => void): string | null {
  try {
    return recordJobAnywhere(places, record);
  } catch (error) {
    onError(error);
    return null;
  }
}

/** Every record kept locally: the phase-1 destination's, then the state directory's fallback ones. */
export function readLocalRecords(places: RecordPlaces): JobRecord[] {
  const seen = new Set<string>();
  const out: JobRecord[] = [];
  for (const r of [...readHistory(places.Phase1Destination), ...readHistory(places.StateDirectory)]) {
    const key = r.jobId !== null ? `job-${r.jobId}` : `failed-${r.endTime}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(r);
  }
  return out.sort((a, b) => a.endTime.localeCompare(b.endTime));
}

/**
 * The *Killed* record of a job from its journal (SPEC §4.4): what it had committed is kept in `copies`, phase 2 did
 * not run, and one error event says how it ended and at which stage.
 *
 * Interrupted (`foundLater` false): the process records itself, `now` is its end. Found later (SIGKILL, power loss:
 * the next job found the journal of a dead process): the end is not known — `endTime` is the journal's last write
 * (the job ended at or after it), `endUnknown` says so with `now` as the time it was found, and so does the event.
 * @param how e.g. `was interrupted by SIGINT`, `was killed (its agent process, pid 4242 on cs01, ended without finishing it)`.
 * @param now ISO-8601 UTC: the end (interrupted), or when the job was found dead (`foundLater`).
 */
export function killedRecord(entry: JobJournalEntry, how: string, now: string, foundLater = false): JobRecord {
  const committed = entry.phase1Destination || entry.hotSite;
  const consequence = killedOutcome(entry);
  const lastSeenAlive = entry.updatedAt ?? entry.startTime;
  const when = foundLater ? `, at or after ${lastSeenAlive} (the last time its journal was written; the exact end is not known), found dead at ${now} by the next job` : '';
  return {
    jobId: entry.jobId,
    setName: entry.setName,
    backupType: entry.backupType,
    requestedType: entry.requestedType,
    status: JobStatus.Killed,
    startTime: entry.startTime,
    endTime: foundLater ? lastSeenAlive : now,
    ...(foundLater ? { endUnknown: { lastSeenAlive, foundAt: now } } : {}),
    bytes: committed ? entry.bytes : 0,
    copies: { phase1Destination: entry.phase1Destination, hotSite: entry.hotSite, archive: null },
    phase2: 'not-run',
    integrity: null,
    events: [...entry.events, { time: now, level: 'error', code: 'JOB_KILLED', message: `job ${entry.jobId} ${how} during ${entry.stage}${when}: ${consequence}` }],
  };
}

/** What a Killed job leaves: the SET it committed (phase 1 destination, hot-site) stays, or nothing of it counts. */
function killedOutcome(entry: JobJournalEntry): string {
  if (!entry.phase1Destination && !entry.hotSite) return 'no SET of this job was committed (an unfinished SET folder or upload never counts; the next job aborts an unfinished upload and prune removes the folder after SetLifeSpanForFailedDR days)';
  const kept = [entry.phase1Destination ? `the SET committed in ${entry.phase1Destination}` : null, entry.hotSite ? `and at the hot-site (${entry.hotSite})` : null]
    .filter(Boolean)
    .join(' ');
  return `${kept} stays (${entry.stage === 'phase 2' ? 'phase 2 did not finish: no complete archive copy' : 'phase 2 did not run: no archive copy'})`;
}

/**
 * Mirrors a record to the hot-site's `jobs/` (as ReportJob does), create-only (`If-None-Match: *`: the bucket policy
 * refuses the agent any write that could replace an object, issue 21) — a record already there is never replaced.
 * @throws the SDK error (412 PreconditionFailed when a record is already there).
 */
async function mirrorRecord(s3: S3Client, bucket: string, record: JobRecord): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: jobRecordKey(record.jobId!),
      Body: `${JSON.stringify(record, null, 2)}\n`,
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
      IfNoneMatch: '*',
    }),
  );
}

/** A job's record at the hot-site, or null when there is none (or the hot-site cannot be read). */
async function hotSiteRecord(s3: S3Client, bucket: string, jobId: number): Promise<JobRecord | null> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: jobRecordKey(jobId) }));
    return JobRecordSchema.parse(JSON.parse(await response.Body!.transformToString('utf8')));
  } catch {
    return null;
  }
}

/** The hot-site a journal may mirror records to (best effort; a failure is only logged). */
export interface JournalHotSite {
  s3: S3Client;
  bucket: string;
}

/** Reads every journal in the state directory; a malformed one is returned as `invalid` (its file name). */
export function readJournals(stateDir: string): { entries: JobJournalEntry[]; invalid: string[] } {
  const dir = journalDir(stateDir);
  const entries: JobJournalEntry[] = [];
  const invalid: string[] = [];
  if (!existsSync(dir)) return { entries, invalid };
  for (const name of readdirSync(dir).filter((n) => /^\d+\.json$/.test(n))) {
    try {
      const entry = JobJournalEntrySchema.parse(JSON.parse(readFileSync(join(dir, name), 'utf8')));
      entries.push({ ...entry, updatedAt: entry.updatedAt ?? statSync(join(dir, name)).mtime.toISOString() });
    } catch {
      invalid.push(join(dir, name));
    }
  }
  return { entries: entries.sort((a, b) => a.jobId - b.jobId), invalid };
}

/** Whether a process with this pid exists on this machine (signal 0 probes without signalling). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a journal's owner is gone: on this host, its pid no longer exists (or it is this very process, which
 * holds no such job). A journal of another host is never judged (its process cannot be probed from here).
 */
export function journalOwnerDead(entry: Pick<JobJournalEntry, 'pid' | 'hostname'>, ownJobs: ReadonlySet<number> = new Set(), jobId?: number): boolean {
  if (entry.hostname !== hostname()) return false;
  if (entry.pid === process.pid) return jobId === undefined || !ownJobs.has(jobId);
  return !processAlive(entry.pid);
}

/** Jobs this process has journals open for (so a second job in the same process never calls them dead). */
const openJobs = new Set<number>();

/** What {@link recordAbandonedJobs} did for one journal. */
export interface AbandonedJob {
  jobId: number;
  /** `killed`: a Killed record was written; `already-recorded`: the job's own record existed (kept). */
  outcome: 'killed' | 'already-recorded';
  record: JobRecord;
}

/**
 * Finds the journals of jobs whose process died without recording them (SIGKILL, power loss) and records them:
 * *Killed*, unless the job's own record exists (locally, or at the hot-site — then it is copied locally). Each journal
 * handled is removed. Call while holding the phase-1 lock (at the start of a job); reusable by anything that must know
 * which jobs ended without a record.
 * @param hotSite where to look for and mirror records (best effort); null when the hot-site is unreachable.
 * @param now ISO-8601 UTC.
 * @returns what was done, oldest job first. Never throws for one bad journal: it is reported through `onWarning`.
 */
export async function recordAbandonedJobs(
  places: RecordPlaces,
  hotSite: JournalHotSite | null,
  onWarning: (message: string) => void,
  now: string = new Date().toISOString(),
): Promise<AbandonedJob[]> {
  const { entries, invalid } = readJournals(places.StateDirectory);
  for (const file of invalid) onWarning(`unreadable job journal ${file} ignored (remove it once checked)`);
  const done: AbandonedJob[] = [];
  const local = new Map(readLocalRecords(places).filter((r) => r.jobId !== null).map((r) => [r.jobId!, r]));
  for (const entry of entries) {
    if (!journalOwnerDead(entry, openJobs, entry.jobId)) continue;
    try {
      const existing = local.get(entry.jobId) ?? (hotSite ? await hotSiteRecord(hotSite.s3, hotSite.bucket, entry.jobId) : null);
      if (existing) {
        if (!local.has(entry.jobId)) recordJobAnywhere(places, existing);
        done.push({ jobId: entry.jobId, outcome: 'already-recorded', record: existing });
      } else {
        const how = `was killed (its agent process, pid ${entry.pid} on ${entry.hostname}, ended without finishing it)`;
        const record = killedRecord(entry, how, now, true);
        recordJobAnywhere(places, record);
        if (hotSite) await mirrorRecord(hotSite.s3, hotSite.bucket, record).catch((e: unknown) => onWarning(`Killed record of job ${entry.jobId} not mirrored to the hot-site: ${describeError(e)}`));
        done.push({ jobId: entry.jobId, outcome: 'killed', record });
      }
      rmSync(journalFile(places.StateDirectory, entry.jobId), { force: true });
    } catch (error) {
      onWarning(`job ${entry.jobId} ended without a record and it could not be recorded now: ${describeError(error)}`);
    }
  }
  return done;
}

/**
 * The journal of one running job. Create it before the job starts ({@link JobJournal.open}); phase 1 calls
 * {@link started} with the job's id, {@link stage} at each step and {@link committed} at the commits; whoever writes
 * the job's record calls {@link finish}. An interruption (SIGINT/SIGTERM) in between writes a Killed record.
 */
export class JobJournal {
  private entry: JobJournalEntry | undefined;
  private readonly unregister: () => void;
  private closed = false;

  private constructor(
    private readonly places: RecordPlaces,
    private readonly hotSite: JournalHotSite | null,
    private readonly onWarning: (message: string) => void,
  ) {
    this.unregister = onInterrupt(() => this.interrupted());
  }

  /**
   * Opens a journal (nothing is written before {@link started}).
   * @param hotSite where to mirror a Killed record on an interruption (best effort, bounded by the clean-up timeout).
   */
  static open(places: RecordPlaces, hotSite: JournalHotSite | null = null, onWarning: (message: string) => void = () => undefined): JobJournal {
    return new JobJournal(places, hotSite, onWarning);
  }

  /** The job id, once started. */
  get jobId(): number | undefined {
    return this.entry?.jobId;
  }

  /** Records the job as running in this process. @throws the file system error when the state directory cannot be written. */
  started(job: Pick<JobJournalEntry, 'jobId' | 'setName' | 'backupType' | 'requestedType' | 'startTime'>): void {
    this.entry = { ...job, pid: process.pid, hostname: hostname(), stage: 'start', phase1Destination: null, hotSite: null, bytes: 0, events: [] };
    openJobs.add(job.jobId);
    this.write();
  }

  /** The stage reached (`dump`, `upload`, `phase 2` …). Never throws (a journal that cannot be written is only reported). */
  stage(stage: string, update: Partial<Pick<JobJournalEntry, 'backupType' | 'events'>> = {}): void {
    if (!this.entry || this.closed) return;
    this.entry = { ...this.entry, ...update, stage };
    this.tryWrite();
  }

  /** A commit: the local SET (`phase1Destination`) or the hot-site copy (`hotSite`). Never throws. */
  committed(update: Partial<Pick<JobJournalEntry, 'phase1Destination' | 'hotSite' | 'bytes' | 'events'>>, stage: string): void {
    if (!this.entry || this.closed) return;
    this.entry = { ...this.entry, ...update, stage };
    this.tryWrite();
  }

  /** The job's own record is written: forget the journal. Idempotent. */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    if (this.entry) {
      openJobs.delete(this.entry.jobId);
      rmSync(journalFile(this.places.StateDirectory, this.entry.jobId), { force: true });
    }
  }

  private write(): void {
    this.entry = { ...this.entry!, updatedAt: new Date().toISOString() };
    const file = journalFile(this.places.StateDirectory, this.entry.jobId);
    mkdirSync(journalDir(this.places.StateDirectory), { recursive: true });
    writeFileSync(`${file}.tmp`, JSON.stringify(this.entry));
    renameSync(`${file}.tmp`, file);
  }

  private tryWrite(): void {
    try {
      this.write();
    } catch (error) {
      this.onWarning(`job journal not updated: ${describeError(error)}`);
    }
  }

  /** SIGINT/SIGTERM: the Killed record now (locally, then mirrored when a hot-site was given). */
  /** The interrupt clean-up: records the job Killed; @returns the line for the user (what is recorded, what stays). */
  private async interrupted(): Promise<string | undefined> {
    if (this.closed || !this.entry) return undefined;
    this.closed = true;
    openJobs.delete(this.entry.jobId);
    const record = killedRecord(this.entry, `was interrupted by ${interruptSignal() ?? 'a signal'}`, new Date().toISOString());
    const outcome = killedOutcome(this.entry);
    try {
      recordJobAnywhere(this.places, record);
      rmSync(journalFile(this.places.StateDirectory, this.entry.jobId), { force: true });
    } catch {
      // The journal stays: the next job records the job as Killed.
      return `job ${this.entry.jobId} could not be recorded now (the next job records it as Killed); ${outcome}`;
    }
    if (this.hotSite) await mirrorRecord(this.hotSite.s3, this.hotSite.bucket, record).catch(() => undefined);
    return `job ${this.entry.jobId} is recorded as Killed (interrupted during ${this.entry.stage}); ${outcome}`;
  }
}
