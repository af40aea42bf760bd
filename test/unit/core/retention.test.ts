import { RUNNING, type SetStatus } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import {
  planArchiveRetention,
  planRetention,
  RetentionInputError,
  type Phase2Outcome,
  type RetentionPlan,
  type RetentionSetInput,
} from '#core/retention';
import { setName } from '#core/set-id';

const NOW = '2026-12-31T12:00:00.000Z';
const daysAgo = (days: number): string => new Date(Date.parse(NOW) - days * 86_400_000).toISOString();

type Opts = { status?: SetStatus; complete?: boolean; phase2?: Phase2Outcome; age?: number; cycleId?: number | null };

/** A FULL: job `id`, ended `age` days ago (default: id days before the newest, so older ids are older). */
function full(id: number, o: Opts = {}): RetentionSetInput {
  const complete = o.complete ?? true;
  const time = daysAgo(o.age ?? 100 - id);
  return {
    summary: {
      jobId: id,
      setName: setName(id),
      backupType: 'FULL',
      status: o.status ?? JobStatus.Completed,
      complete,
      ...(complete ? { cycleId: id, endTime: time } : {}),
    },
    phase2: o.phase2 ?? 'archived',
    lastModified: time,
  };
}
function diff(id: number, cycleId: number, o: Opts = {}): RetentionSetInput {
  const complete = o.complete ?? true;
  const time = daysAgo(o.age ?? 100 - id);
  const cid = o.cycleId === null ? undefined : (o.cycleId ?? cycleId);
  return {
    summary: {
      jobId: id,
      setName: setName(id),
      backupType: 'DIFFERENTIAL',
      status: o.status ?? JobStatus.Completed,
      complete,
      ...(complete ? { endTime: time } : {}),
      ...(complete && cid !== undefined ? { cycleId: cid } : {}),
    },
    phase2: o.phase2 ?? 'archived',
    lastModified: time,
  };
}

const verdict = (plan: RetentionPlan, id: number) => plan.decisions.find((d) => d.jobId === id)!;
const plan = (sets: RetentionSetInput[], RetainCycles = 2, SetLifeSpanForFailedDR = 90) =>
  planRetention({ sets, settings: { RetainCycles, SetLifeSpanForFailedDR }, now: NOW });

/** Cycles of one FULL and one DIFF each: F1 D2 | F3 D4 | F5 D6 | F7 D8 (open). */
const fourCycles = (): RetentionSetInput[] => [full(1), diff(2, 1), full(3), diff(4, 3), full(5), diff(6, 5), full(7), diff(8, 7)];

describe('planRetention (SPEC §5, sentence by sentence)', () => {
  it('"keep the newest RetainCycles successful complete cycles plus the current, open cycle": older SETs expire', () => {
    const p = plan(fourCycles(), 2);
    expect(p.retainedCycles).toEqual([3, 5]);
    expect(p.openCycleId).toBe(7);
    expect(p.expire).toEqual([1, 2]);
    expect(verdict(p, 1).code).toBe('older-than-retention');
    expect(verdict(p, 1).reason).toContain('older than the oldest retained cycle SET_0000003');
    expect(verdict(p, 8).code).toBe('open-cycle');
    expect(verdict(p, 3).code).toBe('within-retention');
  });

  it('RetainCycles defaults to 5 and SetLifeSpanForFailedDR to 90 days', () => {
    const sets = [1, 3, 5, 7, 9, 11, 13].map((id) => full(id));
    const p = planRetention({ sets, now: NOW });
    expect(p.settings).toEqual({ RetainCycles: 5, SetLifeSpanForFailedDR: 90 });
    expect(p.retainedCycles).toEqual([3, 5, 7, 9, 11]);
    expect(p.expire).toEqual([1]);
  });

  it('a cycle is complete only once the following FULL has succeeded: a failed later FULL leaves the cycle open, kept', () => {
    const sets = [full(1), full(3), full(5), diff(6, 5), full(7, { status: JobStatus.Failed, complete: false, age: 1 })];
    const p = plan(sets, 1);
    expect(p.openCycleId).toBe(5);
    expect(verdict(p, 6).code).toBe('open-cycle');
    expect(p.retainedCycles).toEqual([3]);
    expect(p.expire).toEqual([1]);
    expect(verdict(p, 7).code).toBe('incomplete-within-lifespan');
  });

  it('"a failed last DIFFERENTIAL means the cycle … does not count towards retention": one more cycle is kept', () => {
    const sets = [full(1), diff(2, 1), full(3), diff(4, 3), full(5), diff(6, 5, { status: JobStatus.Failed }), full(7)];
    const p = plan(sets, 2);
    expect(p.countingCycles).toEqual([1, 3]);
    expect(p.retainedCycles).toEqual([1, 3]);
    expect(p.expire).toEqual([]);
    const more = plan([full(0 + 9), ...sets].sort((a, b) => a.summary.jobId - b.summary.jobId), 2);
    expect(more.retainedCycles).toEqual([3, 7]);
    expect(more.expire).toEqual([1, 2]);
    expect(verdict(more, 5).code).toBe('within-retention'); // the uncounted cycle sits between kept ones
  });

  it('"intermediate DIFFERENTIALs may have failed": the cycle still counts when its last DIFFERENTIAL succeeded', () => {
    const sets = [full(1), diff(2, 1, { status: JobStatus.Failed }), diff(3, 1), full(4), full(5)];
    const p = plan(sets, 2);
    expect(p.countingCycles).toEqual([1, 4]);
    expect(p.expire).toEqual([]);
  });

  it('"a cycle with no DIFFERENTIAL is successful if its FULL succeeded"', () => {
    const p = plan([full(1), full(2), full(3), full(4)], 2);
    expect(p.countingCycles).toEqual([1, 2, 3]);
    expect(p.expire).toEqual([1]);
  });

  it('fewer successful complete cycles than RetainCycles: nothing expires', () => {
    const p = plan(fourCycles(), 5);
    expect(p.boundary).toBeNull();
    expect(p.expire).toEqual([]);
    expect(verdict(p, 1).code).toBe('fewer-cycles-than-retained');
  });

  it('"SETs whose phase-2 copy failed are not pruned with their cycle; kept for SetLifeSpanForFailedDR days"', () => {
    const sets = fourCycles();
    sets[1] = diff(2, 1, { phase2: 'failed', status: JobStatus.CompletedWithErrors, age: 30 });
    const p = plan(sets, 2);
    expect(verdict(p, 2).code).toBe('phase2-failed-within-lifespan');
    expect(verdict(p, 2).action).toBe('keep');
    expect(verdict(p, 1).code).toBe('full-of-kept-differential');
  });

  it('"… and removed at the first job after that": past the lifespan it expires', () => {
    const sets = fourCycles();
    sets[0] = full(1, { phase2: 'failed', status: JobStatus.CompletedWithErrors, age: 90 });
    const p = plan(sets, 2);
    expect(verdict(p, 1).code).toBe('phase2-failed-past-lifespan');
    expect(p.expire).toEqual([1, 2]);
  });

  it('"a SET whose job ended Completed With One or More Errors is kept SetLifeSpanForFailedDR days even when its phase-2 result is unknown"', () => {
    const sets = fourCycles();
    sets[1] = diff(2, 1, { phase2: 'unknown', status: JobStatus.CompletedWithErrors, age: 30 });
    sets[2] = full(3, { phase2: 'unknown', status: JobStatus.Completed, age: 30 });
    const p = plan(sets, 2);
    expect(verdict(p, 2)).toMatchObject({ action: 'keep', code: 'phase2-failed-within-lifespan' });
    expect(verdict(p, 2).reason).toContain('Completed With One or More Errors and its phase-2 result is unknown');
    expect(verdict(p, 1).code).toBe('full-of-kept-differential');
    // A Completed job with an unknown phase-2 result is not a failed one: it is kept or expired with its cycle.
    expect(verdict(p, 3).code).not.toBe('phase2-failed-within-lifespan');
    const later = plan([...sets.slice(0, 1), diff(2, 1, { phase2: 'unknown', status: JobStatus.CompletedWithErrors, age: 91 }), ...sets.slice(2)], 2);
    expect(verdict(later, 2)).toMatchObject({ action: 'expire', code: 'phase2-failed-past-lifespan' });
  });

  it('"never delete anything that is not a SET of this product": only the SETs given are judged', () => {
    const p = plan(fourCycles(), 2);
    expect(p.decisions.map((d) => d.setName)).toEqual(fourCycles().map((s) => s.summary.setName));
  });

  it('"never delete the newest restorable point", even when it is in no kept position', () => {
    // The newest cycle's FULL is the newest restorable point; also in the open cycle.
    const p = plan(fourCycles(), 1);
    expect(p.newestRestorablePoint).toEqual({ jobId: 8, sets: ['SET_0000007', 'SET_0000008'] });
    expect(verdict(p, 7).action).toBe('keep');
    expect(verdict(p, 8).action).toBe('keep');
  });

  it('"never delete a FULL while a kept DIFFERENTIAL depends on it" (a DIFFERENTIAL filed after a later FULL by its cycle id)', () => {
    // D6 belongs to cycle 1 by its manifest although F3 and F5 precede it.
    const sets = [full(1), full(3), full(5), diff(6, 1), full(7)];
    const p = plan(sets, 1);
    expect(verdict(p, 6).action).toBe('keep');
    expect(verdict(p, 1)).toMatchObject({ action: 'keep', code: 'full-of-kept-differential' });
  });

  it('"never delete a SET whose upload is still in progress": a Running SET is kept whatever its age', () => {
    const sets = [...fourCycles(), full(9), full(10), diff(11, 1, { status: RUNNING, complete: false, age: 400 })];
    sets[0] = full(1, { status: RUNNING, complete: false, age: 500 });
    const p = plan(sets, 1);
    expect(verdict(p, 1).code).toBe('in-progress');
    expect(verdict(p, 11).code).toBe('in-progress');
  });

  it('"a SET without a manifest … may be cleaned up once older than the failed-set lifespan", age from its newest object', () => {
    const sets = [full(1), diff(2, 1, { status: JobStatus.Failed, complete: false, age: 91 }), diff(3, 1), full(4)];
    const p = plan(sets, 5);
    expect(verdict(p, 2)).toMatchObject({ action: 'expire', code: 'incomplete-past-lifespan' });
    const young = plan([full(1), diff(2, 1, { status: JobStatus.Failed, complete: false, age: 89 }), diff(3, 1), full(4)], 5);
    expect(verdict(young, 2)).toMatchObject({ action: 'keep', code: 'incomplete-within-lifespan' });
  });

  it('a SET whose manifest was refused (unsafe file name) is described so, never as "no manifest" (newcomer review 3)', () => {
    const refused = diff(2, 1, { status: JobStatus.Failed, complete: false, age: 91 });
    const sets = [full(1), { ...refused, summary: { ...refused.summary, manifestRefused: 'files.0.name: unsafe file name "../x" refused' } }, diff(3, 1), full(4)];
    const reason = verdict(plan(sets, 5), 2)!.reason;
    expect(reason).toContain('incomplete (manifest refused: files.0.name: unsafe file name "../x" refused; job Failed)');
    expect(reason).not.toContain('no manifest');
  });

  it('an old incomplete last DIFFERENTIAL of a kept cycle stays: it records that the cycle does not count', () => {
    const sets = [full(1), diff(2, 1), diff(3, 1, { status: JobStatus.Killed, complete: false, age: 200 }), full(4)];
    const p = plan(sets, 5);
    expect(verdict(p, 3)).toMatchObject({ action: 'keep', code: 'last-differential-of-kept-cycle' });
  });

  it('an unsuccessful FULL stays while a kept SET with no cycle id follows it: expiring it would move that SET into the cycle before and change the next plan (found by the idempotence property)', () => {
    const killed = { status: JobStatus.Killed, complete: false };
    const sets = [full(1, { age: 20 }), diff(2, 1, { ...killed, age: 15 }), full(3, { ...killed, age: 10 }), diff(4, 1, { status: JobStatus.Failed, complete: false, age: 5 }), full(5, { age: 0 })];
    const first = plan(sets, 1, 6);
    expect(verdict(first, 3)).toMatchObject({ action: 'keep', code: 'places-kept-sets' });
    expect(verdict(first, 2)).toMatchObject({ action: 'keep', code: 'last-differential-of-kept-cycle' });
    const again = plan(sets.filter((s) => first.keep.includes(s.summary.jobId)), 1, 6);
    expect(again.expire).toEqual([]);
    // Once the SET it placed expires, the FULL goes with it, and the plan after that is stable too.
    const later = plan(sets, 1, 4);
    expect([verdict(later, 3).action, verdict(later, 4).action]).toEqual(['expire', 'expire']);
    expect(plan(sets.filter((s) => later.keep.includes(s.summary.jobId)), 1, 4).expire).toEqual([]);
  });

  it('the current open cycle is always kept, failed DIFFERENTIALs included', () => {
    const sets = [...fourCycles(), diff(9, 7, { status: JobStatus.Failed })];
    const p = plan(sets, 1);
    expect(verdict(p, 9).code).toBe('open-cycle');
  });

  it('an incomplete SET whose age is unknown is kept', () => {
    const s = diff(2, 1, { status: JobStatus.Failed, complete: false });
    const p = plan([full(1), { summary: s.summary }, diff(3, 1), full(4), full(5)], 1);
    expect(verdict(p, 2).code).toBe('incomplete-age-unknown');
  });

  it('every decision has a reason; input order does not matter', () => {
    const sets = fourCycles();
    const a = plan(sets, 2);
    const b = plan([...sets].reverse(), 2);
    expect(b).toEqual(a);
    for (const d of a.decisions) expect(d.reason.length).toBeGreaterThan(10);
  });

  it('rejects invalid settings and times', () => {
    expect(() => planRetention({ sets: [], settings: { RetainCycles: 0 }, now: NOW })).toThrow(RetentionInputError);
    expect(() => planRetention({ sets: [], now: 'yesterday' })).toThrow(RetentionInputError);
  });
});

describe('planArchiveRetention', () => {
  const archived = (s: RetentionSetInput, storageClass: string, age: number) => ({
    ...s,
    objects: [{ key: `archive/${s.summary.setName}/manifest.json`, storageClass, lastModified: daysAgo(age) }],
  });

  it('ArchiveRetainCycles null keeps every copy', () => {
    const p = planArchiveRetention({ sets: fourCycles().map((s) => archived(s, 'GLACIER', 400)), archiveRetainCycles: null, now: NOW });
    expect(p.expire).toEqual([]);
    expect(p.decisions[0].code).toBe('archive-keeps-everything');
  });

  it('expires by count when old enough for the class (90 days GLACIER)', () => {
    const p = planArchiveRetention({ sets: fourCycles().map((s) => archived(s, 'GLACIER', 100)), archiveRetainCycles: 2, now: NOW });
    expect(p.expire).toEqual([1, 2]);
    expect(p.warnings).toEqual([]);
  });

  it('warns and skips copies younger than the class minimum (180 days DEEP_ARCHIVE) unless allowed', () => {
    const sets = fourCycles().map((s) => archived(s, 'DEEP_ARCHIVE', 100));
    const skipped = planArchiveRetention({ sets, archiveRetainCycles: 2, now: NOW });
    expect(skipped.expire).toEqual([]);
    expect(skipped.decisions[0]).toMatchObject({ action: 'keep', code: 'early-deletion-skipped' });
    expect(skipped.warnings[0]).toContain('180-day minimum of DEEP_ARCHIVE');
    const allowed = planArchiveRetention({ sets, archiveRetainCycles: 2, now: NOW, allowEarlyArchiveDeletion: true });
    expect(allowed.expire).toEqual([1, 2]);
    expect(allowed.decisions[0].earlyDeletion?.minimumDays).toBe(180);
  });

  it('a DIFFERENTIAL skipped for early deletion keeps its FULL', () => {
    const sets = fourCycles().map((s) => archived(s, 'GLACIER', s.summary.jobId === 2 ? 10 : 200));
    const p = planArchiveRetention({ sets, archiveRetainCycles: 2, now: NOW });
    expect(p.decisions.find((d) => d.jobId === 2)?.code).toBe('early-deletion-skipped');
    expect(p.decisions.find((d) => d.jobId === 1)?.code).toBe('full-of-kept-differential');
  });
});
