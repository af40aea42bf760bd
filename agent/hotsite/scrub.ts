/**
 * The hot-site scrub (issue 16 item 3, SPEC §6.1): every job checks the SETs kept at the hot-site against their
 * manifests without downloading them, and repairs what it finds damaged or missing (`repair.ts`).
 *
 * Steps:
 * 1. list `sets/` (one request per 1,000 keys): every SET with a manifest there is kept by retention (the previous
 *    job's prune removed the others); every object's existence and size are compared with the manifest for every SET
 *    whose manifest is in the phase-1 destination — free, so a deleted or truncated object is found by the next job;
 * 2. within `ScrubRequestsPerJob`, least recently checked first (`core/scrub.ts`), HeadObject with `ChecksumMode` on
 *    every object of a SET (its manifest too) and compare S3's SHA-256 checksum with the manifest's — a changed byte;
 * 3. repair each damaged or missing object from the local copy, else the archive copy, and check the repair;
 * 4. record when each SET was checked and what was found, in the state directory and at the hot-site
 *    (a new `state/scrub/<UTC time>.json` each time: the agent only creates keys), so the next job (or another agent
 *    machine) continues where this one stopped.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describeError } from '#core/errors';
import { MANIFEST_FILE, parseSetObjectKey, SETS_PREFIX, setObjectKey } from '#core/hotsite-layout';
import { parseManifest, type JobEvent, type Manifest } from '#core/manifest';
import { mergeScrubStates, parseScrubState, planScrub, retainScrubState, scrubRequestsForSet, unrepairedFiles, type ScrubCandidate, type ScrubEntry, type ScrubState } from '#core/scrub';
import { parseSetName, setName } from '#core/set-id';
import { isNotFound } from '#lambdas/shared/s3';
import { CREATE_ONLY, hotSiteError, readHotSiteManifest } from './hot-site';
import type { Repairer } from './repair-function';
import { expectedManifest, expectedName, headProblem, repairObject, repairSource, type ExpectedObject, type RepairOutcome } from './repair';

/**
 * Prefix of the scrub state at the hot-site: one new key per write (`state/scrub/<UTC time>.json`, created with
 * `If-None-Match`: the agent never replaces an object, issue 21); the lexically last key is the newest. The legacy
 * single key `state/scrub.json` (written before) is still read and merged.
 */
export const SCRUB_STATE_PREFIX = 'state/scrub/';
/** The legacy key of the scrub state (read only). */
export const SCRUB_STATE_KEY = 'state/scrub.json';
/** File of the scrub state in the state directory. */
export const SCRUB_STATE_FILE = 'scrub.json';

/** One object found damaged or missing, and what became of it. */
export interface ScrubFinding {
  setName: string;
  file: string;
  /** What is wrong (`missing`, or the size/checksum mismatch). */
  problem: string;
  /** How it was found: from the listing (existence, size) or a HeadObject (checksum). */
  foundBy: 'listing' | 'head';
  outcome: RepairOutcome | { repaired: false; reason: 'repair not attempted' };
}

/** What a scrub did. */
export interface ScrubReport {
  /** SETs with a manifest at the hot-site (the kept SETs). */
  kept: number;
  /** SETs whose every object was checked against its manifest's checksum this time. */
  checked: string[];
  /** SETs left for later jobs by the budget. */
  deferred: number;
  /** Requests spent: listing, HeadObject, manifest reads, and the checks after repairs (not the repair transfers). */
  requests: number;
  budget: number;
  findings: ScrubFinding[];
  /**
   * Objects a previous job found damaged and could not repair, in kept SETs this job did not check again (budget)
   * and did not find anything about from the listing: still damaged as far as anyone knows (counted in the job's
   * unrepaired damage and the `UnrepairedDamage` metric). Always empty with `only`.
   */
  carried: Array<{ setName: string; file: string; since: string }>;
  /** Objects whose S3 checksum could not be compared (none recorded): only their size was checked. */
  unverifiable: string[];
  /** Events for the job record: a summary, one warning per repair, one error per object left damaged. */
  events: JobEvent[];
}

/** What the scrub needs. */
export interface ScrubOptions {
  s3: S3Client;
  bucket: string;
  /** SET folders; null when there is no usable phase-1 destination. */
  phase1Destination: string | null;
  /** Where the local copy of the check state lives. */
  stateDirectory: string;
  /** Requests for the checksum check (`ScrubRequestsPerJob`). */
  budget: number;
  /** Check only these SETs, whatever the budget (`verify --repair SET_n`; the base FULL of a DIFFERENTIAL). */
  only?: string[];
  /** Repair what is found (default true). */
  repair?: boolean;
  /** Who copies intact sources into place (`repairerFor(settings, s3)`: the RepairObject function); default in-process. */
  repairer?: Repairer;
  now?: () => Date;
}

/** Every object under `sets/`, by SET. */
export interface HotSiteObjects {
  /** Per job id: file name → size. */
  sets: Map<number, Map<string, number>>;
  /** Per job id: the SET's folder name as listed (legacy `SET_042` or new `SET_0000042`: core/set-id.ts). */
  names: Map<number, string>;
  requests: number;
}

/** Lists every object under `sets/` (existence and size). @throws HotSiteError */
export async function listSetObjects(s3: S3Client, bucket: string): Promise<HotSiteObjects> {
  const sets = new Map<number, Map<string, number>>();
  const names = new Map<number, string>();
  let token: string | undefined;
  let requests = 0;
  try {
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: SETS_PREFIX, ContinuationToken: token }));
      requests++;
      for (const o of page.Contents ?? []) {
        const parsed = o.Key ? parseSetObjectKey(o.Key) : undefined;
        if (!parsed) continue;
        const files = sets.get(parsed.jobId) ?? new Map<string, number>();
        files.set(parsed.file, o.Size ?? 0);
        sets.set(parsed.jobId, files);
        names.set(parsed.jobId, parsed.setName);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch (error) {
    throw hotSiteError('list SETs for the scrub', bucket, error);
  }
  return { sets, names, requests };
}

/** The local manifest of a SET (bytes and parsed), or null when there is none usable. */
function localManifest(phase1Destination: string | null, name: string): { bytes: Buffer; manifest: Manifest } | null {
  if (!phase1Destination) return null;
  const path = join(phase1Destination, name, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  try {
    const bytes = readFileSync(path);
    return { bytes, manifest: parseManifest(bytes, path) };
  } catch {
    return null;
  }
}

/** Every object a SET should hold at the hot-site. */
function expectedObjects(manifest: Manifest, manifestBytes: Buffer | null, listedManifestSize?: number): ExpectedObject[] {
  return [...manifest.files.map((file): ExpectedObject => ({ kind: 'file', file })), expectedManifest(manifestBytes, listedManifestSize)];
}

/** The newest scrub-state key under {@link SCRUB_STATE_PREFIX} (lexically last), if any. */
async function newestScrubStateKey(s3: S3Client, bucket: string): Promise<{ key: string | undefined; requests: number }> {
  let token: string | undefined;
  let newest: string | undefined;
  let requests = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: SCRUB_STATE_PREFIX, ContinuationToken: token }));
    requests++;
    for (const o of page.Contents ?? []) if (o.Key && o.Key.endsWith('.json') && (!newest || o.Key > newest)) newest = o.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { key: newest, requests };
}

async function readStateObject(s3: S3Client, bucket: string, key: string): Promise<ScrubState | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return parseScrubState(await response.Body!.transformToString('utf8'));
  } catch (error) {
    if (isNotFound(error) || (error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * Reads the scrub state from the state directory and the hot-site (the newest `state/scrub/<time>.json`, and the
 * legacy `state/scrub.json`), merged (the newer check of each SET wins).
 */
export async function readScrubState(s3: S3Client, bucket: string, stateDirectory: string): Promise<{ state: ScrubState; requests: number; problem?: string }> {
  const localPath = join(stateDirectory, SCRUB_STATE_FILE);
  let state = parseScrubState(existsSync(localPath) ? readFileSync(localPath, 'utf8') : undefined);
  let requests = 0;
  let reading = SCRUB_STATE_PREFIX;
  try {
    const newest = await newestScrubStateKey(s3, bucket);
    requests += newest.requests;
    for (const key of [SCRUB_STATE_KEY, ...(newest.key ? [newest.key] : [])]) {
      reading = key;
      requests++;
      const remote = await readStateObject(s3, bucket, key);
      if (remote) state = mergeScrubStates(state, remote);
    }
    return { state, requests };
  } catch (error) {
    const failure = hotSiteError(`read ${reading}`, bucket, error);
    if (failure.code === 'HOTSITE_UNREACHABLE') throw failure;
    // Refused (e.g. AccessDenied): the local state alone paces the scrub; it never skips a check, at worst repeats one.
    return { state, requests, problem: failure.message };
  }
}

/**
 * Writes the state locally (atomically) and at the hot-site as a new key `state/scrub/<UTC time>.json` (create-only).
 * @returns the hot-site key written.
 * @throws HotSiteError when the hot-site refuses it.
 */
export async function writeScrubState(s3: S3Client, bucket: string, stateDirectory: string, state: ScrubState, now: Date = new Date()): Promise<string> {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  const localPath = join(stateDirectory, SCRUB_STATE_FILE);
  mkdirSync(dirname(localPath), { recursive: true });
  writeFileSync(`${localPath}.tmp`, text);
  renameSync(`${localPath}.tmp`, localPath);
  const key = `${SCRUB_STATE_PREFIX}${now.toISOString().replace(/:/g, '-')}.json`;
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, ContentType: 'application/json', ChecksumAlgorithm: 'SHA256', ...CREATE_ONLY }));
  } catch (error) {
    throw hotSiteError(`write ${key}`, bucket, error);
  }
  return key;
}

/**
 * Runs the scrub (see the module comment).
 * @throws HotSiteError when the hot-site cannot be listed (nothing was checked then); problems with single SETs or
 *   objects are findings, never exceptions.
 */
export async function scrubHotSite(options: ScrubOptions): Promise<ScrubReport> {
  const { s3, bucket } = options;
  const now = options.now ?? (() => new Date());
  const repair = options.repair ?? true;
  const listing = await listSetObjects(s3, bucket);
  const { state, requests: stateRequests, problem: stateProblem } = await readScrubState(s3, bucket, options.stateDirectory);
  let requests = listing.requests + stateRequests;
  const findings: ScrubFinding[] = [];
  const unverifiable: string[] = [];
  const ctx = { s3, bucket, phase1Destination: options.phase1Destination, ...(options.repairer ? { repairer: options.repairer } : {}) };

  const kept = [...listing.sets.entries()].filter(([, files]) => files.has(MANIFEST_FILE)).map(([jobId]) => jobId).sort((a, b) => a - b);
  const nameOf = (jobId: number): string => listing.names.get(jobId)!;
  const locals = new Map(kept.map((jobId) => [jobId, localManifest(options.phase1Destination, nameOf(jobId))]));
  const fixed = new Set<string>();
  const fix = async (manifest: Manifest, expected: ExpectedObject, problem: string, foundBy: ScrubFinding['foundBy']) => {
    const file = expectedName(expected);
    const outcome = repair ? await repairObject(ctx, manifest, expected) : ({ repaired: false, reason: 'repair not attempted' } as const);
    if (outcome.repaired) requests++; // the check after the repair
    findings.push({ setName: manifest.setName, file, problem, foundBy, outcome });
    fixed.add(`${manifest.setName}/${file}`);
  };

  // 1. Existence and size from the listing, for every kept SET whose manifest is at hand locally.
  // By job id: `SET_7` typed by the operator is job 7's SET whether it was written SET_007 or SET_0000007.
  const only = options.only ? new Set(options.only.map((name) => parseSetName(name))) : null;
  for (const jobId of kept) {
    const local = locals.get(jobId);
    if (!local || (only && !only.has(jobId))) continue;
    const listed = listing.sets.get(jobId)!;
    for (const expected of expectedObjects(local.manifest, local.bytes)) {
      const name = expectedName(expected);
      const size = listed.get(name);
      const want = expected.kind === 'file' ? expected.file.size : expected.size;
      if (size === undefined) await fix(local.manifest, expected, 'missing', 'listing');
      else if (size !== want) await fix(local.manifest, expected, `is ${size} bytes, the manifest says ${want}`, 'listing');
    }
  }

  // 2. Checksums within the budget, least recently checked first.
  const candidates: ScrubCandidate[] = kept
    .filter((jobId) => !only || only.has(jobId))
    .map((jobId) => {
      const local = locals.get(jobId);
      const files = local ? local.manifest.files.length : Math.max(0, listing.sets.get(jobId)!.size - 1);
      return { setName: nameOf(jobId), jobId, requests: scrubRequestsForSet(files, local !== null) };
    });
  const plan = only ? { check: candidates.map((c) => c.setName), deferred: 0 } : planScrub(candidates, state, options.budget);
  const entries: Record<string, ScrubEntry> = {};
  for (const name of plan.check) {
    const jobId = parseSetName(name)!;
    const local = locals.get(jobId) ?? null;
    let manifest: Manifest;
    if (local) manifest = local.manifest;
    else {
      requests++;
      try {
        manifest = await readHotSiteManifest(s3, bucket, name);
      } catch (error) {
        findings.push({ setName: name, file: MANIFEST_FILE, problem: `unreadable: ${describeError(error)}`, foundBy: 'head', outcome: { repaired: false, reason: 'no local copy of the manifest to compare with' } });
        entries[name] = { lastChecked: now().toISOString(), verdict: 'damaged', findings: [`${MANIFEST_FILE} unreadable`] };
        continue;
      }
    }
    const before = findings.length;
    const listedManifest = listing.sets.get(jobId)!.get(MANIFEST_FILE);
    for (const expected of expectedObjects(manifest, local?.bytes ?? null, listedManifest)) {
      const file = expectedName(expected);
      if (fixed.has(`${name}/${file}`)) continue;
      const key = setObjectKey('sets', name, file);
      requests++;
      let problem: string | null;
      try {
        const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
        if (!head.ChecksumSHA256 && (expected.kind === 'file' || expected.sha256Base64)) unverifiable.push(key);
        problem = headProblem(head, expected);
      } catch (error) {
        if (!isNotFound(error)) throw hotSiteError(`check ${key}`, bucket, error);
        problem = 'missing';
      }
      if (problem) await fix(manifest, expected, problem, 'head');
    }
    const mine = findings.slice(before).concat(findings.filter((f, i) => i < before && f.setName === name));
    const left = mine.filter((f) => !f.outcome.repaired).map((f) => f.file);
    entries[name] = {
      lastChecked: now().toISOString(),
      verdict: mine.length === 0 ? 'intact' : left.length === 0 ? 'repaired' : 'damaged',
      findings: mine.map((f) => `${f.file} ${f.problem}: ${f.outcome.repaired ? `repaired from ${repairSource(f.outcome)}` : f.outcome.reason}`),
      ...(left.length > 0 ? { unrepaired: left } : {}),
    };
  }
  const carried = only ? [] : carriedDamage(kept.map(nameOf).filter((name) => !plan.check.includes(name)), state, findings);

  const merged = retainScrubState({ ...state, sets: { ...state.sets, ...entries } }, kept.map((id) => nameOf(id)));
  const stateProblems = stateProblem ? [stateProblem] : [];
  try {
    await writeScrubState(s3, bucket, options.stateDirectory, merged, now());
  } catch (error) {
    stateProblems.push(describeError(error)); // the findings and repairs stand; only the shared check state is behind
  }
  requests++;
  const report: ScrubReport = { kept: kept.length, checked: plan.check, deferred: plan.deferred, requests, budget: options.budget, findings, carried, unverifiable, events: [] };
  report.events = scrubEvents(report, now().toISOString());
  for (const message of stateProblems) report.events.push({ time: now().toISOString(), level: 'warning', code: 'SCRUB_STATE', message: `scrub check state: ${message}` });
  return report;
}

/** Damage recorded by earlier checks of the SETs `unchecked`, minus the objects this scrub found anything about. */
function carriedDamage(unchecked: readonly string[], state: ScrubState, findings: readonly ScrubFinding[]): ScrubReport['carried'] {
  const carried: ScrubReport['carried'] = [];
  for (const name of unchecked) {
    const entry = state.sets[name];
    for (const file of unrepairedFiles(entry)) {
      if (!findings.some((f) => f.setName === name && f.file === file)) carried.push({ setName: name, file, since: entry!.lastChecked });
    }
  }
  return carried;
}

/** The job events of a scrub: a summary (info), a warning per repair, an error per object left damaged (found now or carried). */
export function scrubEvents(report: ScrubReport, time: string): JobEvent[] {
  const repaired = report.findings.filter((f) => f.outcome.repaired);
  const damaged = report.findings.filter((f) => !f.outcome.repaired);
  const events: JobEvent[] = [
    {
      time,
      level: 'info',
      code: 'SCRUB',
      message:
        `hot-site scrub: ${report.kept} kept SET(s) listed; checksums of ${report.checked.length} checked (${report.checked.join(', ') || 'none'}), ${report.deferred} left for later jobs; ` +
        `${report.requests} request(s) (${describeBudget(report.budget, 'budget')}); ${report.findings.length} object(s) damaged or missing, ${repaired.length} repaired, ${damaged.length} not repaired`,
    },
  ];
  for (const f of repaired) {
    const from = f.outcome.repaired ? repairSource(f.outcome) : '';
    events.push({ time, level: 'warning', code: 'HOTSITE_REPAIRED', message: `${f.setName}/${f.file} ${f.problem} at the hot-site: repaired from ${from}` });
  }
  for (const f of damaged) {
    const reason = f.outcome.repaired ? '' : f.outcome.reason;
    events.push({ time, level: 'error', code: 'HOTSITE_DAMAGED', message: `${f.setName}/${f.file} ${f.problem} at the hot-site and could not be repaired: ${reason}` });
  }
  for (const c of report.carried) {
    events.push({ time, level: 'error', code: 'HOTSITE_DAMAGED', message: `${c.setName}/${c.file} found damaged at the hot-site by the check of ${c.since} and not checked again by this job (${describeBudget(report.budget, 'ScrubRequestsPerJob')}): still damaged as far as is known` });
  }
  return events;
}

/**
 * The request budget in words: `<label> 400`, or `no request limit` for an unbounded one (`verify --repair` passes
 * Number.MAX_SAFE_INTEGER) — never 9007199254740991 shown as a number (newcomer review).
 */
export function describeBudget(budget: number, label: string): string {
  return budget >= Number.MAX_SAFE_INTEGER ? 'no request limit' : `${label} ${budget}`;
}
