/**
 * What every job does for the copies before it takes its own SET (issue 16 items 3 and 5, SPEC §6.1):
 * 1. finish the phase 2 of SETs committed at the hot-site by a job that did not finish (`half-finished.ts`), after a
 *    full check and repair of those SETs (ValidateSet would refuse a damaged one);
 * 2. scrub the kept SETs at the hot-site within `ScrubRequestsPerJob` and repair what is damaged (`hotsite/scrub.ts`).
 * The hot-site being unreachable is not this step's failure: it says so (a warning) and the job goes on.
 * And, for a DIFFERENTIAL, {@link baseFullProblem}: is its FULL intact in at least one copy (after a repair)?
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { describeError, HotSiteError } from '#core/errors';
import type { JobEvent } from '#core/manifest';
import type { Settings } from '#core/settings';
import { listHotSiteSets } from '#agent/hotsite/hot-site';
import { scrubHotSite, type ScrubReport } from '#agent/hotsite/scrub';
import { repairerFor } from '#agent/hotsite/repair-function';
import { finishHalfFinishedSets, halfFinishedEvents, type FinishedSet } from './half-finished';

/** What the upkeep did. */
export interface UpkeepResult {
  /** Events for the job record. */
  events: JobEvent[];
  scrub: ScrubReport | null;
  finished: FinishedSet[];
  /** Objects found damaged or missing at the hot-site and not repaired, as `SET_n/file`, each once (the job ends with errors). */
  unrepaired: string[];
}

/** What the upkeep needs. */
export interface UpkeepOptions {
  s3: S3Client;
  settings: Settings;
  logger: Logger;
  /** Whether the phase-1 destination can be read (a repair source). */
  phase1DestinationUsable: boolean;
  /** The SET name of the job doing the upkeep (named in what it records). */
  jobSetName: string;
  now?: () => Date;
}

/** Runs the upkeep (see the module comment). Never throws for the hot-site: an unreachable one is a warning event. */
export async function runJobUpkeep(options: UpkeepOptions): Promise<UpkeepResult> {
  const { s3, settings, logger } = options;
  const now = options.now ?? (() => new Date());
  const bucket = settings.HotSite.bucket;
  const phase1Destination = options.phase1DestinationUsable ? settings.Phase1Destination : null;
  const events: JobEvent[] = [];
  let scrub: ScrubReport | null = null;
  let finished: FinishedSet[] = [];
  const unrepaired = new Set<string>();
  const keep = (report: ScrubReport, except?: string) => {
    for (const name of unrepairedObjects(report)) unrepaired.add(name);
    const seen = new Set(events.map((e) => `${e.code}\n${e.message}`));
    events.push(...report.events.filter((e) => e.code !== except && !seen.has(`${e.code}\n${e.message}`)));
  };
  const scrubOptions = { s3, bucket, phase1Destination, stateDirectory: settings.StateDirectory, budget: settings.ScrubRequestsPerJob, now, repairer: repairerFor(settings, s3) };
  try {
    const committed = (await listHotSiteSets(s3, bucket)).filter((s) => s.complete).map((s) => s.setName);
    finished = await finishHalfFinishedSets({ s3, settings, logger, committed, byJob: `job ${options.jobSetName}`, now, beforeFinishing: async (names) => {
      keep(await scrubHotSite({ ...scrubOptions, only: names }), 'SCRUB');
    } });
    events.push(...halfFinishedEvents(finished, now().toISOString()));
    scrub = await scrubHotSite(scrubOptions);
    keep(scrub);
  } catch (error) {
    if (!(error instanceof HotSiteError)) throw error;
    events.push({ time: now().toISOString(), level: 'warning', code: 'SCRUB_SKIPPED', message: `hot-site scrub and half-finished jobs not looked at: ${describeError(error)}` });
  }
  for (const e of events) logger[e.level === 'error' ? 'error' : e.level === 'warning' ? 'warn' : 'info']({ code: e.code }, e.message);
  return { events, scrub, finished, unrepaired: [...unrepaired] };
}

/** The objects a scrub left damaged, as `SET_n/file`. */
function unrepairedObjects(report: ScrubReport): string[] {
  return [...report.findings.filter((f) => !f.outcome.repaired), ...report.carried].map((f) => `${f.setName}/${f.file}`);
}

/**
 * Whether a DIFFERENTIAL may be based on the cycle's FULL `fullSetName`: its hot-site copy is checked in full against
 * the manifest (HeadObject per object, no download) and repaired from the local or archive copy when damaged.
 * @returns null when the FULL is intact at the hot-site (or the hot-site cannot be reached: then the local copy, which
 *   the DIFFERENTIAL is computed from, is all there is to go by); else why it is not — the caller promotes to FULL.
 *   With the check's events and the objects it left damaged (`SET_n/file`).
 */
export async function baseFullProblem(options: Omit<UpkeepOptions, 'jobSetName'>, fullSetName: string): Promise<{ problem: string | null; events: JobEvent[]; unrepaired: string[] }> {
  const { s3, settings } = options;
  try {
    const report = await scrubHotSite({
      s3,
      bucket: settings.HotSite.bucket,
      phase1Destination: options.phase1DestinationUsable ? settings.Phase1Destination : null,
      stateDirectory: settings.StateDirectory,
      budget: settings.ScrubRequestsPerJob,
      repairer: repairerFor(settings, s3),
      only: [fullSetName],
      now: options.now,
    });
    const events = report.events.filter((e) => e.code !== 'SCRUB');
    const unrepaired = unrepairedObjects(report);
    if (!report.checked.includes(fullSetName)) return { problem: `the cycle's FULL ${fullSetName} has no complete copy at the hot-site`, events, unrepaired };
    const left = report.findings.filter((f) => !f.outcome.repaired);
    if (left.length === 0) return { problem: null, events, unrepaired };
    return {
      problem: `the cycle's FULL ${fullSetName} is damaged at the hot-site and could not be repaired from any copy (${left.map((f) => `${f.file} ${f.problem}`).join('; ')}): no intact copy to base a DIFFERENTIAL on`,
      events,
      unrepaired,
    };
  } catch (error) {
    if (!(error instanceof HotSiteError)) throw error;
    return { problem: null, unrepaired: [], events: [{ time: new Date().toISOString(), level: 'warning', code: 'BASE_FULL_NOT_CHECKED', message: `the hot-site copy of ${fullSetName} was not checked: ${describeError(error)}` }] };
  }
}
