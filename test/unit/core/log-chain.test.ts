import fc from 'fast-check';
import { buildCycles, type SetSummary } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import { chainFields, chainGaps, logPredecessor, newestReachablePoint, planPointInTime, PointInTimeError, resolveCycleChain } from '#core/log-chain';
import { planRetention, type RetentionSetInput } from '#core/retention';
import { setName } from '#core/set-id';

const T0 = Date.parse('2026-12-01T17:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function full(jobId: number, minutes: number, extra: Partial<SetSummary> = {}): SetSummary {
  return { jobId, setName: setName(jobId), backupType: 'FULL', status: JobStatus.Completed, complete: true, cycleId: jobId, endTime: at(minutes + 1), pointTime: at(minutes), ...extra };
}
function diff(jobId: number, cycleId: number, minutes: number, extra: Partial<SetSummary> = {}): SetSummary {
  return { jobId, setName: setName(jobId), backupType: 'DIFFERENTIAL', status: JobStatus.Completed, complete: true, cycleId, endTime: at(minutes + 1), pointTime: at(minutes), ...extra };
}
function log(jobId: number, cycleId: number, previousJobId: number, minutes: number, extra: Partial<SetSummary> = {}): SetSummary {
  return { jobId, setName: setName(jobId), backupType: 'LOG', status: JobStatus.Completed, complete: true, cycleId, previousJobId, endTime: at(minutes + 1), pointTime: at(minutes), ...extra };
}
const names = (sets: readonly SetSummary[]) => sets.map((s) => s.setName);

describe('log-chain: point-in-time plans over FULL + DIFFERENTIAL + LOG', () => {
  // FULL 1 @0, LOG 2 @15, LOG 3 @30, DIFF 4 @60 (cumulative), LOG 5 @75 (after the DIFF), LOG 6 @90.
  const day = [full(1, 0), log(2, 1, 1, 15), log(3, 1, 2, 30), diff(4, 1, 60), log(5, 1, 4, 75), log(6, 1, 5, 90)];

  test('a moment between points restores the newest point at or before it, with the exact moment and the gap', () => {
    const plan = planPointInTime(buildCycles(day), T0 + 40 * 60_000);
    expect(names(plan.point.sets)).toEqual(['SET_0000001', 'SET_0000002', 'SET_0000003']);
    expect(new Date(plan.point.timeMs).toISOString()).toBe(at(30));
    expect(plan.point.exact).toBe(true);
    expect(plan.gapMs).toBe(10 * 60_000);
  });

  test('a LOG after a DIFFERENTIAL replays FULL + DIFFERENTIAL + the LOGs after it only', () => {
    const plan = planPointInTime(buildCycles(day), T0 + 90 * 60_000);
    expect(names(plan.point.sets)).toEqual(['SET_0000001', 'SET_0000004', 'SET_0000005', 'SET_0000006']);
    expect(plan.gapMs).toBe(0);
  });

  test('a moment before the FULL is refused naming the oldest point', () => {
    expect(() => planPointInTime(buildCycles(day), T0 - 60_000)).toThrow(/no restorable point at or before .*the oldest is SET_0000001/);
  });

  test('a missing LOG is a gap: recovery past it is refused naming the newest reachable moment; before it works', () => {
    const withGap = day.filter((s) => s.jobId !== 2); // LOG 2 lost: LOG 3 cannot be rebuilt
    const report = buildCycles(withGap);
    const gaps = chainGaps(report);
    expect(gaps).toHaveLength(1);
    expect(gaps[0].firstUnreachable.setName).toBe('SET_0000003');
    expect(gaps[0].newestReachableBefore?.target.setName).toBe('SET_0000001');
    let error: unknown;
    try {
      planPointInTime(report, T0 + 40 * 60_000);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PointInTimeError);
    expect((error as PointInTimeError).code).toBe('AT_PAST_GAP');
    expect((error as Error).message).toContain(`the newest reachable moment is ${at(0)} (SET_0000001)`);
    expect((error as Error).message).toContain('SET_0000003');
    // The DIFFERENTIAL is cumulative: the points after it do not depend on the lost LOG.
    expect(names(planPointInTime(report, T0 + 95 * 60_000).point.sets)).toEqual(['SET_0000001', 'SET_0000004', 'SET_0000005', 'SET_0000006']);
    expect(names(planPointInTime(report, T0 + 10 * 60_000).point.sets)).toEqual(['SET_0000001']);
  });

  test('a damaged LOG (reported by the caller) breaks the chain behind it, with every LOG it strands', () => {
    const report = buildCycles(day);
    const gaps = chainGaps(report, { damaged: new Map([[5, 'SHA-256 mismatch']]) });
    expect(gaps).toHaveLength(1);
    expect(names(gaps[0].unreachable)).toEqual(['SET_0000005', 'SET_0000006']);
    expect(gaps[0].reason).toContain('SHA-256 mismatch');
    expect(() => planPointInTime(report, T0 + 90 * 60_000, { damaged: new Map([[5, 'SHA-256 mismatch']]) })).toThrow(/newest reachable moment is .*SET_0000004/);
    expect(newestReachablePoint(report, { damaged: new Map([[5, 'x']]) })?.target.setName).toBe('SET_0000004');
  });

  test('a failed LOG job is no point and no gap: the next LOG links over it', () => {
    const sets = [full(1, 0), log(2, 1, 1, 15, { status: JobStatus.Failed, complete: false, pointTime: undefined }), log(3, 1, 1, 30)];
    const report = buildCycles(sets);
    expect(chainGaps(report)).toEqual([]);
    expect(resolveCycleChain(report.cycles[0]).points.map((p) => p.target.setName)).toEqual(['SET_0000001', 'SET_0000003']);
    expect(logPredecessor(report)?.setName).toBe('SET_0000003');
  });

  test('LOGs never change the cycle verdicts: a failed last LOG leaves the cycle successful', () => {
    const report = buildCycles([full(1, 0), diff(2, 1, 30), log(3, 1, 2, 45, { status: JobStatus.Failed })]);
    expect(report.cycles[0].successful).toBe(true);
    expect(names(report.cycles[0].logs)).toEqual(['SET_0000003']);
    expect(report.cycles[0].differentials.map((d) => d.setName)).toEqual(['SET_0000002']);
  });

  test('a SET without pointTime uses its end time and says the moment is not exact', () => {
    const plan = planPointInTime(buildCycles([full(1, 0, { pointTime: undefined })]), T0 + 5 * 60_000);
    expect(plan.point.exact).toBe(false);
    expect(new Date(plan.point.timeMs).toISOString()).toBe(at(1));
  });

  test('chainFields reads previousSet and pointTime from a manifest', () => {
    expect(chainFields({ previousSet: 'SET_0000007', pointTime: at(3) })).toEqual({ previousJobId: 7, pointTime: at(3) });
    expect(chainFields({})).toEqual({});
  });
});

describe('retention with LOG points (SPEC §5)', () => {
  const now = at(60 * 24 * 10);
  const input = (sets: SetSummary[]): RetentionSetInput[] => sets.map((summary) => ({ summary, phase2: 'archived' as const }));

  test('LOG points expire with their cycle; the open cycle keeps its LOGs', () => {
    const sets = [full(1, 0), log(2, 1, 1, 15), log(3, 1, 2, 30), full(4, 1440), log(5, 4, 4, 1455), full(6, 2880), log(7, 6, 6, 2895)];
    const plan = planRetention({ sets: input(sets), settings: { RetainCycles: 1 }, now });
    expect(plan.expire).toEqual([1, 2, 3]);
    expect(plan.keep).toEqual([4, 5, 6, 7]);
  });

  test('a LOG whose FULL is gone is not kept (log-without-base)', () => {
    const plan = planRetention({ sets: input([log(5, 4, 4, 15), full(6, 60)]), now });
    expect(plan.decisions.find((d) => d.jobId === 5)).toMatchObject({ action: 'expire', code: 'log-without-base' });
  });

  test('a kept LOG keeps its whole chain (predecessors, DIFFERENTIAL and FULL)', () => {
    // Cycle 1 is older than retention, but LOG 5's phase-2 copy failed recently: it is kept, and so is its chain.
    const sets = input([full(1, 0), diff(2, 1, 30), log(3, 1, 2, 45), log(5, 1, 3, 60), full(6, 1440), full(7, 2880)]);
    sets[3] = { ...sets[3], phase2: 'failed', summary: { ...sets[3].summary, endTime: at(60 * 24 * 9) } };
    const plan = planRetention({ sets, settings: { RetainCycles: 1 }, now });
    const verdict = (id: number) => plan.decisions.find((d) => d.jobId === id)!;
    expect(verdict(5).code).toBe('phase2-failed-within-lifespan');
    expect(verdict(3)).toMatchObject({ action: 'keep', code: 'base-of-kept-log' });
    expect(verdict(2)).toMatchObject({ action: 'keep', code: 'base-of-kept-log' });
    expect(verdict(1).action).toBe('keep');
  });

  test('property: every kept LOG has its chain kept, and no kept LOG lacks its FULL', () => {
    const arb = fc.array(fc.record({ kind: fc.constantFrom('F', 'D', 'L', 'L', 'L'), failedPhase2: fc.boolean(), retain: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 3 }), (steps, retain) => {
        const sets: RetentionSetInput[] = [];
        let cycle: number | undefined;
        let previous: number | undefined;
        steps.forEach((step, i) => {
          const jobId = i + 1;
          const minutes = i * 120;
          let summary: SetSummary;
          if (step.kind === 'F' || cycle === undefined) {
            summary = full(jobId, minutes);
            cycle = jobId;
          } else if (step.kind === 'D') summary = diff(jobId, cycle, minutes);
          else summary = log(jobId, cycle, previous ?? cycle, minutes);
          previous = jobId;
          sets.push({ summary, phase2: step.failedPhase2 ? 'failed' : 'archived' });
        });
        const plan = planRetention({ sets, settings: { RetainCycles: retain, SetLifeSpanForFailedDR: 1 }, now: at(steps.length * 120 + 60) });
        const kept = new Set(plan.keep);
        for (const { summary } of sets) {
          if (summary.backupType !== 'LOG' || !kept.has(summary.jobId)) continue;
          let link: number | undefined = summary.jobId;
          while (link !== undefined) {
            expect(kept.has(link)).toBe(true);
            const s = sets.find((x) => x.summary.jobId === link)!.summary;
            if (s.backupType === 'DIFFERENTIAL') expect(kept.has(s.cycleId!)).toBe(true);
            link = s.backupType === 'LOG' ? s.previousJobId : undefined;
          }
          expect(kept.has(summary.cycleId!)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});
