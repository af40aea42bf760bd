import { JobStatus } from '#core/job-status';
import { planRetention, type RetentionSetInput } from '#core/retention';
import { planSetLocks } from '#core/set-locks';
import { BackupType, setName } from '#core/set-id';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const D0 = Date.parse('2026-11-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function set(jobId: number, backupType: BackupType, endMs: number, extra: { cycleId?: number; previousJobId?: number; status?: JobStatus; complete?: boolean } = {}): RetentionSetInput {
  const complete = extra.complete ?? true;
  return {
    summary: {
      jobId,
      setName: setName(jobId),
      backupType,
      status: extra.status ?? JobStatus.Completed,
      complete,
      ...(complete ? { cycleId: extra.cycleId ?? jobId, endTime: iso(endMs) } : {}),
      ...(extra.previousJobId !== undefined ? { previousJobId: extra.previousJobId } : {}),
    },
    phase2: 'archived',
    lastModified: iso(endMs),
  };
}

const settings = { RetainCycles: 2, SetLifeSpanForFailedDR: 90 };

describe('planSetLocks: hot-site SETs locked until their cycle can expire, a FULL at least as long as what depends on it', () => {
  it('locks every SET of a regular daily cycle until the FULL’s time + (RetainCycles + 1) days', () => {
    // Day 0: FULL 1 (17:10), DIFF 2 (21:00), LOG 3 (23:00, after 2), LOG 4 (day 1 03:00, after 3); day 1: FULL 5.
    const sets = [
      set(1, BackupType.Full, D0 + 17 * HOUR),
      set(2, BackupType.Differential, D0 + 21 * HOUR, { cycleId: 1 }),
      set(3, BackupType.Log, D0 + 23 * HOUR, { cycleId: 1, previousJobId: 2 }),
      set(4, BackupType.Log, D0 + 27 * HOUR, { cycleId: 1, previousJobId: 3 }),
      set(5, BackupType.Full, D0 + DAY + 17 * HOUR),
    ];
    const now = D0 + DAY + 17.5 * HOUR;
    const plan = planRetention({ sets, settings, now });
    const locks = planSetLocks({ sets, plan, policy: { mode: 'COMPLIANCE' }, now });
    const cycle1Until = iso(D0 + 17 * HOUR + 3 * DAY);
    expect(locks.map((l) => [l.setName, l.retainUntil, l.basis, l.mode])).toEqual([
      [setName(1), cycle1Until, 'cycle', 'COMPLIANCE'],
      [setName(2), cycle1Until, 'cycle', 'COMPLIANCE'],
      [setName(3), cycle1Until, 'cycle', 'COMPLIANCE'],
      [setName(4), cycle1Until, 'cycle', 'COMPLIANCE'],
      [setName(5), iso(D0 + DAY + 17 * HOUR + 3 * DAY), 'cycle', 'COMPLIANCE'],
    ]);
    expect(locks[0].reason).toBe(`until its cycle ${setName(1)} can expire: the FULL's time + (RetainCycles 2 + 1) × 1 day(s)`);
  });

  it('in a cycle stretched by failed FULLs a late DIFFERENTIAL is locked from its own time, and its FULL and LOG predecessor are extended to it', () => {
    // FULL 1 on day 0; FULLs of days 1-3 failed (no manifest); DIFF 5 on day 4, LOG 6 after it; FULL 7 on day 5.
    const sets = [
      set(1, BackupType.Full, D0),
      set(2, BackupType.Full, D0 + DAY, { status: JobStatus.Failed, complete: false }),
      set(3, BackupType.Log, D0 + 4 * DAY - HOUR, { cycleId: 1, previousJobId: 1 }),
      set(5, BackupType.Differential, D0 + 4 * DAY, { cycleId: 1 }),
      set(6, BackupType.Log, D0 + 4 * DAY + 2 * HOUR, { cycleId: 1, previousJobId: 5 }),
      set(7, BackupType.Full, D0 + 5 * DAY),
    ];
    const now = D0 + 5 * DAY + HOUR;
    const locks = planSetLocks({ sets, plan: planRetention({ sets, settings, now }), policy: { mode: 'GOVERNANCE' }, now });
    const byName = new Map(locks.map((l) => [l.setName, l]));
    const logUntil = iso(D0 + 4 * DAY + 2 * HOUR + 2 * DAY);
    expect(byName.get(setName(6))).toMatchObject({ retainUntil: logUntil, basis: 'own-time' });
    expect(byName.get(setName(5))).toMatchObject({ retainUntil: logUntil, basis: 'dependant', reason: `extended to the lock of LOG ${setName(6)}, which depends on it` });
    expect(byName.get(setName(1))).toMatchObject({ retainUntil: logUntil, basis: 'dependant' });
    // LOG 3 (before the DIFF) keeps its own date: nothing newer chains through it.
    expect(byName.get(setName(3))).toMatchObject({ retainUntil: iso(D0 + 4 * DAY - HOUR + 2 * DAY), basis: 'own-time' });
    // The failed FULL is never locked: it is not restorable, locking it would only stop its cleanup.
    expect(byName.has(setName(2))).toBe(false);
  });

  it('locks nothing that is expired, incomplete or failed, nor a lock that would already have ended', () => {
    const sets = [
      set(1, BackupType.Full, D0),
      set(2, BackupType.Full, D0 + DAY),
      set(4, BackupType.Full, D0 + 2 * DAY),
      set(5, BackupType.Full, D0 + 3 * DAY),
      set(6, BackupType.Differential, D0 + 3 * DAY + HOUR, { cycleId: 5, status: JobStatus.Failed }),
      set(7, BackupType.Differential, D0 + 3 * DAY + 2 * HOUR, { complete: false, status: JobStatus.Killed }),
    ];
    const now = D0 + 3 * DAY + 3 * HOUR;
    const plan = planRetention({ sets, settings: { ...settings, RetainCycles: 1 }, now });
    expect(plan.expire).toEqual([1, 2]);
    const locks = planSetLocks({ sets, plan, policy: { mode: 'GOVERNANCE' }, now });
    expect(locks.map((l) => [l.jobId, l.retainUntil])).toEqual([
      [4, iso(D0 + 4 * DAY)],
      [5, iso(D0 + 5 * DAY)],
    ]);
    // 10 days later every date has passed: nothing to lock.
    expect(planSetLocks({ sets, plan, policy: { mode: 'GOVERNANCE' }, now: now + 10 * DAY })).toEqual([]);
    expect(() => planSetLocks({ sets, plan, policy: { mode: 'GOVERNANCE', cycleDays: 0 }, now })).toThrow('cycleDays must be a positive number, got 0');
  });

  it('a daily schedule over 20 days: every kept usable SET is locked after each prune, each FULL at least as long as its DIFFERENTIALs and LOGs, and no prune meets a lock on what it expires', () => {
    const RetainCycles = 3;
    const sets: RetentionSetInput[] = [];
    const locked = new Map<number, number>(); // job id → retain-until (ms), only ever extended, like S3
    let jobId = 0;
    let fullId = 0;
    for (let day = 0; day < 20; day++) {
      const base = D0 + day * DAY;
      // FULL at 17:00 lasting 10 min to 40 min (varies by day), DIFF at 21:00, LOGs every 4 h until the next FULL.
      const fullEnd = base + 17 * HOUR + (10 + ((day * 7) % 31)) * 60_000;
      fullId = ++jobId;
      sets.push(set(fullId, BackupType.Full, fullEnd));
      const diffId = ++jobId;
      sets.push(set(diffId, BackupType.Differential, base + 21 * HOUR, { cycleId: fullId }));
      let previous = diffId;
      for (const h of [25, 29, 33, 37, 40]) {
        const id = ++jobId;
        sets.push(set(id, BackupType.Log, base + h * HOUR, { cycleId: fullId, previousJobId: previous }));
        previous = id;
      }
      // The prune after the FULL and after the DIFFERENTIAL (LOG points are locked with their cycle).
      for (const pruneAt of [fullEnd + 15 * 60_000, base + 21 * HOUR + 15 * 60_000]) {
        const visible = sets.filter((s) => Date.parse(s.summary.endTime!) <= pruneAt);
        const withLocks = visible.map((s) => (locked.has(s.summary.jobId) ? { ...s, lock: { retainUntil: iso(locked.get(s.summary.jobId)!), mode: 'GOVERNANCE' } } : s));
        const plan = planRetention({ sets: withLocks, settings: { RetainCycles, SetLifeSpanForFailedDR: 90 }, now: pruneAt });
        expect(plan.decisions.filter((d) => d.code === 'object-locked')).toEqual([]);
        for (const id of plan.expire) {
          locked.delete(id);
          sets.splice(sets.findIndex((s) => s.summary.jobId === id), 1);
        }
        for (const target of planSetLocks({ sets: withLocks.filter((s) => plan.keep.includes(s.summary.jobId)), plan, policy: { mode: 'GOVERNANCE' }, now: pruneAt })) {
          locked.set(target.jobId, Math.max(locked.get(target.jobId) ?? 0, Date.parse(target.retainUntil)));
        }
        for (const id of plan.keep) expect([id, (locked.get(id) ?? 0) > pruneAt]).toEqual([id, true]);
      }
    }
    // Dependency rule on the final state (the last cycle's LOG points after its DIFFERENTIAL wait for the next prune).
    expect(sets.filter((s) => !locked.has(s.summary.jobId)).map((s) => s.summary.jobId)).toEqual([jobId - 4, jobId - 3, jobId - 2, jobId - 1, jobId]);
    for (const s of sets) {
      if (s.summary.backupType === BackupType.Full || !locked.has(s.summary.jobId)) continue;
      expect(locked.get(s.summary.cycleId!)!).toBeGreaterThanOrEqual(locked.get(s.summary.jobId)!);
    }
    // RetainCycles 3 + the open cycle are kept; older cycles went when their lock had ended.
    expect(new Set(sets.map((s) => s.summary.cycleId)).size).toBe(RetainCycles + 1);
  });
});

describe('planRetention with Object Lock found on the objects', () => {
  const sets = () => [
    set(1, BackupType.Full, D0),
    set(2, BackupType.Differential, D0 + HOUR, { cycleId: 1 }),
    set(3, BackupType.Log, D0 + 2 * HOUR, { cycleId: 1, previousJobId: 2 }),
    set(4, BackupType.Full, D0 + DAY),
    set(5, BackupType.Full, D0 + 2 * DAY),
    set(6, BackupType.Full, D0 + 3 * DAY),
  ];
  const now = D0 + 3 * DAY + HOUR;

  it('an expired SET still locked is kept with the date and mode in its reason, and keeps what it depends on (its FULL, its LOG chain)', () => {
    expect(planRetention({ sets: sets(), settings, now }).expire).toEqual([1, 2, 3]);
    const locked = sets().map((s) => (s.summary.jobId === 3 ? { ...s, lock: { retainUntil: iso(now + HOUR), mode: 'COMPLIANCE' } } : s));
    const plan = planRetention({ sets: locked, settings, now });
    expect(plan.expire).toEqual([]);
    const d = (id: number) => plan.decisions.find((x) => x.jobId === id)!;
    expect(d(3)).toMatchObject({ action: 'keep', code: 'object-locked' });
    expect(d(3).reason).toBe(
      `of cycle ${setName(1)}, older than the oldest retained cycle ${setName(4)} (RetainCycles 2: ${setName(4)}, ${setName(5)}); but its objects are under Object Lock (COMPLIANCE) until ${iso(now + HOUR)}: deleting them now would only hide them behind delete markers while the locked versions stay until then, so the first prune after that date removes it`,
    );
    expect(d(2)).toMatchObject({ action: 'keep', code: 'base-of-kept-log' });
    expect(d(1)).toMatchObject({ action: 'keep', code: 'base-of-kept-log' });
  });

  it('a lock that has ended does not keep anything; an invalid date is refused', () => {
    const ended = sets().map((s) => (s.summary.jobId === 1 ? { ...s, lock: { retainUntil: iso(now - 1), mode: 'GOVERNANCE' } } : s));
    expect(planRetention({ sets: ended, settings, now }).expire).toEqual([1, 2, 3]);
    const bad = sets().map((s) => (s.summary.jobId === 1 ? { ...s, lock: { retainUntil: 'soon', mode: 'GOVERNANCE' } } : s));
    expect(() => planRetention({ sets: bad, settings, now })).toThrow(`${setName(1)} Object Lock retain-until date is not a valid time: soon`);
  });
});
