import fc from 'fast-check';
import { buildCycles, RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import { planRetention, type Phase2Outcome, type RetentionSetInput } from '#core/retention';
import { setName } from '#core/set-id';

const NOW_MS = Date.parse('2026-12-31T12:00:00.000Z');

const outcomes: readonly { status: SetStatus; complete: boolean }[] = [
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.CompletedWithErrors, complete: true },
  { status: JobStatus.Failed, complete: false },
  { status: JobStatus.Failed, complete: true },
  { status: JobStatus.Killed, complete: false },
  { status: RUNNING, complete: false },
];
const phase2s: readonly Phase2Outcome[] = ['archived', 'archived', 'failed', 'not-run', 'unknown'];
const good = (s: SetSummary) => s.complete && (s.status === JobStatus.Completed || s.status === JobStatus.CompletedWithErrors);

/** A random history: job ids ascending, one job a day or so, ages from 0 to ~200 days. */
const historyArb: fc.Arbitrary<RetentionSetInput[]> = fc
  .array(
    fc.record({
      gap: fc.integer({ min: 1, max: 3 }),
      full: fc.boolean(),
      outcome: fc.nat({ max: outcomes.length - 1 }),
      phase2: fc.nat({ max: phase2s.length - 1 }),
      ageJitter: fc.integer({ min: 0, max: 5 }),
      withCycleId: fc.constantFrom(true, true, true, false),
    }),
    { maxLength: 40 },
  )
  .map((steps) => {
    const sets: RetentionSetInput[] = [];
    let jobId = 0;
    let lastGoodFull: number | undefined;
    const total = steps.reduce((n, s) => n + s.gap, 0);
    for (const step of steps) {
      jobId += step.gap;
      const { status, complete } = outcomes[step.outcome];
      const time = new Date(NOW_MS - ((total - jobId) * 5 + step.ageJitter) * 86_400_000).toISOString();
      const phase2Of = (sum: SetSummary) => (sum.complete && sum.status !== RUNNING ? phase2s[step.phase2] : 'not-run');
      const base = { jobId, setName: setName(jobId), status, complete, ...(complete ? { endTime: time } : {}) };
      let summary: SetSummary;
      if (step.full) {
        summary = { ...base, backupType: 'FULL', ...(complete ? { cycleId: jobId } : {}) };
        if (good(summary)) lastGoodFull = jobId;
      } else if (complete && lastGoodFull !== undefined) {
        // A complete SET has a manifest, and every valid manifest of a DIFFERENTIAL names its cycle's FULL
        // (core/manifest.ts); the agent writes the open cycle's. (withCycleId only varies incomplete ones.)
        summary = { ...base, backupType: 'DIFFERENTIAL', cycleId: lastGoodFull };
      } else if (complete) {
        // No successful FULL before it: the agent would have promoted it to FULL (dump-plan.ts), so this job
        // can only have failed before its manifest.
        summary = { ...base, status: JobStatus.Failed, complete: false, backupType: 'DIFFERENTIAL' };
        delete (summary as { endTime?: string }).endTime;
      } else {
        const cycleId = step.withCycleId ? lastGoodFull : undefined;
        summary = { ...base, backupType: 'DIFFERENTIAL', ...(cycleId !== undefined ? { cycleId } : {}) };
      }
      sets.push({ summary, phase2: phase2Of(summary), lastModified: time });
    }
    return sets;
  });
const retainArb = fc.integer({ min: 1, max: 6 });
const lifespanArb = fc.integer({ min: 1, max: 120 });

const run = (sets: RetentionSetInput[], RetainCycles: number, SetLifeSpanForFailedDR: number) =>
  planRetention({ sets, settings: { RetainCycles, SetLifeSpanForFailedDR }, now: NOW_MS });

describe('planRetention over random histories (property)', () => {
  it('never expires the newest restorable point, the open cycle, a Running SET, or the FULL of a kept DIFFERENTIAL', () => {
    fc.assert(
      fc.property(historyArb, retainArb, lifespanArb, (sets, retain, lifespan) => {
        const plan = run(sets, retain, lifespan);
        const expired = new Set(plan.expire);
        const report = buildCycles(sets.map((s) => s.summary));
        for (const s of report.newestRestorablePoint?.sets ?? []) expect(expired.has(s.jobId)).toBe(false);
        if (report.openCycle) for (const s of [report.openCycle.full, ...report.openCycle.differentials]) expect(expired.has(s.jobId)).toBe(false);
        for (const s of sets) if (s.summary.status === RUNNING) expect(expired.has(s.summary.jobId)).toBe(false);
        for (const c of report.cycles) {
          if (c.differentials.some((d) => !expired.has(d.jobId))) expect(expired.has(c.full.jobId)).toBe(false);
        }
        for (const s of sets) {
          if (s.summary.backupType === 'DIFFERENTIAL' && s.summary.cycleId !== undefined && !expired.has(s.summary.jobId)) {
            expect(expired.has(s.summary.cycleId)).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps min(RetainCycles, available) successful complete cycles whole', () => {
    fc.assert(
      fc.property(historyArb, retainArb, lifespanArb, (sets, retain, lifespan) => {
        const plan = run(sets, retain, lifespan);
        const expired = new Set(plan.expire);
        const report = buildCycles(sets.map((s) => s.summary));
        const counting = report.cycles.filter((c) => c.complete && c.successful);
        const keptWhole = counting.filter((c) => [c.full, ...c.differentials].every((s) => !expired.has(s.jobId) || !s.complete));
        expect(keptWhole.length).toBeGreaterThanOrEqual(Math.min(retain, counting.length));
        // Each kept counting cycle keeps its restorable point.
        for (const c of counting.slice(-retain)) for (const s of c.restorablePoint.sets) expect(expired.has(s.jobId)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('is idempotent: planning again over the kept SETs expires nothing more', () => {
    fc.assert(
      fc.property(historyArb, retainArb, lifespanArb, (sets, retain, lifespan) => {
        const plan = run(sets, retain, lifespan);
        const kept = sets.filter((s) => plan.keep.includes(s.summary.jobId));
        const again = run(kept, retain, lifespan);
        expect(again.expire).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on input order, and gives every SET exactly one decision with a reason', () => {
    fc.assert(
      fc.property(
        historyArb.chain((sets) => fc.tuple(fc.constant(sets), fc.shuffledSubarray(sets, { minLength: sets.length, maxLength: sets.length }))),
        retainArb,
        lifespanArb,
        ([sets, shuffled], retain, lifespan) => {
          const a = run(sets, retain, lifespan);
          expect(run(shuffled, retain, lifespan)).toEqual(a);
          expect(a.decisions.map((d) => d.jobId)).toEqual(sets.map((s) => s.summary.jobId));
          expect([...a.keep, ...a.expire].sort((x, y) => x - y)).toEqual(sets.map((s) => s.summary.jobId));
          for (const d of a.decisions) expect(d.reason.length).toBeGreaterThan(10);
        },
      ),
      { numRuns: 300 },
    );
  });
});
