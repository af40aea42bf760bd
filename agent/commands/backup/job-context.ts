/**
 * The state one phase-1 run carries from step to step: the job's identity once it has one, its backup type (a
 * DIFFERENTIAL may be promoted to FULL) and base, the events worth keeping, damage left unrepaired, step durations
 * and heartbeats, and the journal that keeps a record possible if the process dies (agent/history/job-journal.ts).
 */
import type { Logger } from 'pino';
import type { Phase1FailedJob } from '#core/job';
import type { JobEvent, Manifest } from '#core/manifest';
import { BackupType } from '#core/set-id';
import type { DifferentialBase, LogBase } from '#agent/engines/types';
import type { JobJournal } from '#agent/history/job-journal';

/** The job's identity, fixed once the id is allocated. */
export interface JobIdentity {
  jobId: number;
  setName: string;
  /** ISO-8601 UTC. */
  startTime: string;
}

/** See the module comment. */
export class Phase1Job {
  identity: JobIdentity | undefined;
  backupType: BackupType;
  promotion: Manifest['promotion'] = null;
  /** A DIFFERENTIAL's base: the cycle's FULL. */
  base: DifferentialBase | null = null;
  /** A LOG point's base: the cycle's FULL and the previous point (log-plan.ts). */
  logBase: LogBase | null = null;
  /**
   * Objects found damaged at the hot-site that no copy could repair (upkeep, base-FULL check), as `SET_n/file`, each
   * once however many checks found it: the job ends with errors, and their number is the `UnrepairedDamage` metric.
   */
  readonly unrepairedObjects = new Set<string>();
  readonly events: JobEvent[] = [];
  readonly durationsMs: Record<string, number> = {};

  constructor(
    readonly requestedType: BackupType,
    readonly logger: Logger,
    readonly journal: JobJournal,
    private readonly heartbeat: (() => Promise<void>) | undefined,
  ) {
    this.backupType = requestedType;
  }

  /** How many distinct objects stay damaged at the hot-site ({@link unrepairedObjects}). */
  get unrepaired(): number {
    return this.unrepairedObjects.size;
  }

  /**
   * Keeps what a hot-site check found: its events (one already kept with the same code and message — the same object
   * found again by a later check — is not repeated) and the objects it left damaged.
   */
  recordHotSiteCheck(events: readonly JobEvent[], unrepairedObjects: Iterable<string>): void {
    const seen = new Set(this.events.map((e) => `${e.code}\n${e.message}`));
    for (const e of events) if (!seen.has(`${e.code}\n${e.message}`)) this.events.push(e);
    for (const name of unrepairedObjects) this.unrepairedObjects.add(name);
  }

  /** The job's identity. @throws Error before the id is allocated (a programming error). */
  get id(): JobIdentity {
    if (!this.identity) throw new Error('the job has no id yet');
    return this.identity;
  }

  /** Keeps an event for the manifest and the job record, logs it, and updates the journal. */
  note(level: JobEvent['level'], code: string, message: string): void {
    this.events.push({ time: new Date().toISOString(), level, code, message });
    this.logger[level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'info']({ jobId: this.identity?.jobId, code }, message);
  }

  /** Tells the state machine the agent is alive (between steps and during transfers). */
  async beat(): Promise<void> {
    await this.heartbeat?.();
  }

  /** Runs one step: its wall time goes to `durationsMs[name]`, the journal records the stage, a heartbeat follows. */
  async timed<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    this.journal.stage(name, { backupType: this.backupType, events: this.events });
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.durationsMs[name] = Math.round(performance.now() - started);
      await this.beat();
    }
  }

  /** A DIFFERENTIAL that runs as a FULL, with the reason (manifest `promotion` and a warning). */
  promote(reason: string): void {
    this.backupType = BackupType.Full;
    this.base = null;
    this.promotion = { requested: BackupType.Differential, reason };
    this.note('warning', 'PROMOTED_TO_FULL', `DIFFERENTIAL promoted to FULL: ${reason}`);
  }

  /** What a failure reports about the job so its Failed record keeps the id (null before the id). */
  failedJob(): Phase1FailedJob | null {
    if (!this.identity) return null;
    return { ...this.identity, backupType: this.backupType, requestedType: this.requestedType, events: [...this.events] };
  }
}

const failedJobs = new WeakMap<object, Phase1FailedJob>();

/** Attaches the job a failure belongs to (read by the task callback: {@link failedJobOf}). @returns `error`. */
export function withFailedJob<E>(error: E, job: Phase1FailedJob | null): E {
  if (job && typeof error === 'object' && error !== null) failedJobs.set(error, job);
  return error;
}

/** The job a phase-1 failure belongs to, or null (it failed before it had an id). */
export function failedJobOf(error: unknown): Phase1FailedJob | null {
  return typeof error === 'object' && error !== null ? (failedJobs.get(error) ?? null) : null;
}
