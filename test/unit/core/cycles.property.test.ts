import fc from 'fast-check';
import { buildCycles, type Cycle, CycleInputError, type CycleReport, RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import { setName } from '#core/set-id';

/** How one job ended: its status and whether its SET got a manifest. */
const outcomes: readonly { status: SetStatus; complete: boolean }[] = [
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.Completed, complete: true },
  { status: JobStatus.CompletedWithErrors, complete: true },
  { status: JobStatus.Failed, complete: false },
  { status: JobStatus.Failed, complete: true }, // e.g. validation failed after upload
  { status: JobStatus.Killed, complete: false },
  { status: RUNNING, complete: false },
  { status: RUNNING, complete: true },
  { status: JobStatus.Completed, complete: false }, // manifest lost
];

/** The test's own oracle of a successful SET (SPEC §3, §4.4): a manifest, and a job that finished with a usable SET. */
const isSuccessfulSet = (s: SetSummary): boolean => s.complete && (s.status === JobStatus.Completed || s.status === JobStatus.CompletedWithErrors);

type Step = { gap: number; full: boolean; outcome: number; cycleIdMode: 'agent' | 'absent' | 'other'; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  gap: fc.integer({ min: 1, max: 3 }),
  full: fc.boolean(),
  outcome: fc.nat({ max: outcomes.length - 1 }),
  cycleIdMode: fc.constantFrom('agent', 'agent', 'agent', 'absent', 'other'),
  pick: fc.nat(),
});

/**
 * A random job history, SETs in job order. DIFFERENTIALs usually carry the cycle id the agent would
 * write (the newest successful FULL), sometimes none, sometimes another earlier job id (a FULL
 * that failed or is not listed, or a DIFFERENTIAL).
 */
const historyArb: fc.Arbitrary<SetSummary[]> = fc.array(stepArb, { maxLength: 40 }).map((steps) => {
  const sets: SetSummary[] = [];
  let jobId = 0;
  let lastGoodFull: number | undefined;
  for (const step of steps) {
    jobId += step.gap;
    const { status, complete } = outcomes[step.outcome];
    const base = { jobId, setName: setName(jobId), status, complete };
    if (step.full) {
      const set: SetSummary = { ...base, backupType: 'FULL', ...(complete ? { cycleId: jobId } : {}) };
      sets.push(set);
      if (isSuccessfulSet(set)) lastGoodFull = jobId;
      continue;
    }
    let cycleId: number | undefined;
    if (complete && step.cycleIdMode === 'agent') cycleId = lastGoodFull;
    if (complete && step.cycleIdMode === 'other' && jobId > 1) cycleId = 1 + (step.pick % (jobId - 1));
    sets.push({ ...base, backupType: 'DIFFERENTIAL', ...(cycleId === undefined ? {} : { cycleId }) });
  }
  return sets;
});

/** A history and a permutation of it. */
const historyAndShuffleArb = historyArb.chain((sets) =>
  fc.tuple(fc.constant(sets), fc.shuffledSubarray(sets, { minLength: sets.length, maxLength: sets.length })),
);

function placements(report: CycleReport): SetSummary[] {
  return [...report.cycles.flatMap((c) => [c.full, ...c.differentials]), ...report.orphans.map((o) => o.set)];
}

function cycleOf(report: CycleReport, jobId: number): Cycle | undefined {
  return report.cycles.find((c) => c.full.jobId === jobId || c.differentials.some((d) => d.jobId === jobId));
}

describe('buildCycles over random job histories (property)', () => {
  it('every SET belongs to exactly one cycle or is listed as an orphan with a reason', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        const report = buildCycles(sets);
        const placed = placements(report).map((s) => s.jobId);
        expect([...placed].sort((a, b) => a - b)).toEqual(sets.map((s) => s.jobId));
        for (const orphan of report.orphans) expect(orphan.reason.length).toBeGreaterThan(10);
      }),
    );
  });

  it('cycles start exactly at the successful FULLs, oldest first', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        const report = buildCycles(sets);
        const goodFulls = sets.filter((s) => s.backupType === 'FULL' && isSuccessfulSet(s)).map((s) => s.jobId);
        expect(report.cycles.map((c) => c.cycleId)).toEqual(goodFulls);
        for (const c of report.cycles) {
          expect(c.full.jobId).toBe(c.cycleId);
          expect(c.differentials.every((d) => d.backupType === 'DIFFERENTIAL' && d.jobId > c.cycleId)).toBe(true);
          expect(c.differentials.map((d) => d.jobId)).toEqual([...c.differentials.map((d) => d.jobId)].sort((a, b) => a - b));
        }
      }),
    );
  });

  it("a DIFFERENTIAL's manifest cycle id decides its cycle; without one, it follows the nearest earlier FULL", () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        const report = buildCycles(sets);
        for (const d of sets.filter((s) => s.backupType === 'DIFFERENTIAL')) {
          const cycle = cycleOf(report, d.jobId);
          const expectedFull =
            d.cycleId !== undefined ? sets.find((s) => s.jobId === d.cycleId) : sets.filter((s) => s.backupType === 'FULL' && s.jobId < d.jobId).at(-1);
          const expected = expectedFull && expectedFull.backupType === 'FULL' && isSuccessfulSet(expectedFull) ? expectedFull.jobId : undefined;
          expect(cycle?.cycleId).toBe(expected);
        }
      }),
    );
  });

  it('a cycle is complete iff a later successful FULL exists, and only the last cycle can be open', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        const report = buildCycles(sets);
        report.cycles.forEach((c, i) => {
          const laterGood = sets.find((s) => s.backupType === 'FULL' && s.jobId > c.cycleId && isSuccessfulSet(s));
          expect(c.complete).toBe(laterGood !== undefined);
          expect(c.completedBy).toBe(laterGood);
          expect(c.complete).toBe(i < report.cycles.length - 1);
        });
        expect(report.openCycle).toBe(report.cycles.at(-1));
      }),
    );
  });

  it('a cycle is successful iff its last DIFFERENTIAL succeeded, or it has none', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        for (const c of buildCycles(sets).cycles) {
          const last = c.differentials.at(-1);
          expect(c.lastDifferential).toBe(last);
          expect(c.successful).toBe(last === undefined || isSuccessfulSet(last));
          expect(c.reasons.successful.startsWith(c.successful ? 'successful' : 'not successful')).toBe(true);
          expect(c.reasons.complete.startsWith(c.complete ? 'complete' : 'open')).toBe(true);
        }
      }),
    );
  });

  it('each restorable point is the FULL plus the newest successful DIFFERENTIAL of that cycle, all successful SETs', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        for (const c of buildCycles(sets).cycles) {
          const point = c.restorablePoint;
          const newestGood = c.differentials.filter(isSuccessfulSet).at(-1);
          expect(point.full).toBe(c.full);
          expect(point.differential).toBe(newestGood);
          expect(point.sets).toEqual(newestGood ? [c.full, newestGood] : [c.full]);
          expect(point.jobId).toBe((newestGood ?? c.full).jobId);
          expect(point.sets.every(isSuccessfulSet)).toBe(true);
        }
      }),
    );
  });

  it('the newest restorable point is never an incomplete, failed or running SET, its FULL has its DIFFERENTIAL’s cycle id, and no cycle has a newer point', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        const report = buildCycles(sets);
        const point = report.newestRestorablePoint;
        const anyGoodFull = sets.some((s) => s.backupType === 'FULL' && isSuccessfulSet(s));
        expect(point !== undefined).toBe(anyGoodFull);
        if (!point) return;
        for (const s of point.sets) expect(isSuccessfulSet(s)).toBe(true);
        expect(point.full.backupType).toBe('FULL');
        expect(point.cycleId).toBe(point.full.jobId);
        if (point.differential) {
          expect(point.differential.backupType).toBe('DIFFERENTIAL');
          expect(point.differential.cycleId ?? point.full.jobId).toBe(point.full.jobId);
        }
        // The newest point in time, not the newest cycle: a DIFFERENTIAL taken on an older FULL (the newer FULL was
        // hot-site-only after an unwritable day) is newer than the newer FULL alone. Ties go to the newer cycle.
        const newest = Math.max(...report.cycles.map((c) => c.restorablePoint.jobId));
        expect(point.jobId).toBe(newest);
        expect(point).toBe(report.cycles.filter((c) => c.restorablePoint.jobId === newest).at(-1)?.restorablePoint);
      }),
    );
  });

  it('results are independent of input order', () => {
    fc.assert(
      fc.property(historyAndShuffleArb, ([sets, shuffled]) => {
        expect(buildCycles(shuffled)).toEqual(buildCycles(sets));
      }),
    );
  });

  it('a duplicated job id is always refused', () => {
    fc.assert(
      fc.property(
        historyArb.filter((s) => s.length > 0),
        fc.nat(),
        (sets, pick) => {
          const dup = sets[pick % sets.length];
          const input = [...sets, { ...dup, status: JobStatus.Failed }];
          expect(() => buildCycles(input)).toThrow(CycleInputError);
          expect(() => buildCycles(input)).toThrow(`duplicate job id ${dup.jobId}`);
        },
      ),
    );
  });

  it('does not modify its input', () => {
    fc.assert(
      fc.property(historyAndShuffleArb, ([, shuffled]) => {
        const before = JSON.stringify(shuffled);
        buildCycles(shuffled);
        expect(JSON.stringify(shuffled)).toBe(before);
      }),
    );
  });
});
