import { buildCycles, CycleInputError, describeSetOutcome, isSuccessfulSet, RUNNING, type SetStatus, type SetSummary } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import { setName } from '#core/set-id';

type Options = { status?: SetStatus; complete?: boolean; cycleId?: number | null };

/** A FULL SET; by default Completed, with its manifest (cycleId = jobId). */
function full(jobId: number, options: Options = {}): SetSummary {
  const complete = options.complete ?? true;
  const cycleId = options.cycleId === null ? undefined : (options.cycleId ?? (complete ? jobId : undefined));
  return { jobId, setName: setName(jobId), backupType: 'FULL', status: options.status ?? JobStatus.Completed, complete, ...(cycleId === undefined ? {} : { cycleId }) };
}

/** A DIFFERENTIAL SET of cycle `cycleId`; by default Completed, with its manifest. An incomplete one has no cycleId. */
function diff(jobId: number, cycleId: number | undefined, options: Omit<Options, 'cycleId'> = {}): SetSummary {
  const complete = options.complete ?? true;
  return {
    jobId,
    setName: setName(jobId),
    backupType: 'DIFFERENTIAL',
    status: options.status ?? JobStatus.Completed,
    complete,
    ...(cycleId === undefined || !complete ? {} : { cycleId }),
  };
}

/** A DIFFERENTIAL whose job failed without writing a manifest. */
const failedDiff = (jobId: number, status: SetStatus = JobStatus.Failed): SetSummary => diff(jobId, undefined, { status, complete: false });

const ids = (sets: readonly SetSummary[]): number[] => sets.map((s) => s.jobId);

describe('buildCycles', () => {
  describe('§5 "A cycle starts with a successful FULL"', () => {
    it('a Completed FULL starts a cycle whose id is the FULL job id', () => {
      const report = buildCycles([full(1)]);
      expect(report.cycles).toHaveLength(1);
      expect(report.cycles[0]).toMatchObject({ cycleId: 1, full: { jobId: 1 }, differentials: [] });
      expect(report.orphans).toEqual([]);
    });

    it('a FULL Completed With One or More Errors (e.g. phase-2 copy failed) still starts a cycle: its SET is usable', () => {
      const report = buildCycles([full(1, { status: JobStatus.CompletedWithErrors })]);
      expect(report.cycles.map((c) => c.cycleId)).toEqual([1]);
    });

    it.each([
      ['Failed, with a manifest', full(5, { status: JobStatus.Failed })],
      ['Killed', full(5, { status: JobStatus.Killed, complete: false })],
      ['Completed but without a manifest (incomplete SET)', full(5, { complete: false })],
      ['still running (upload may be in progress)', full(5, { status: RUNNING, complete: false })],
      ['still running, manifest already uploaded (no final status yet)', full(5, { status: RUNNING })],
    ])('a FULL that is %s starts no cycle and is an orphan with a reason', (_title, set) => {
      const report = buildCycles([set]);
      expect(report.cycles).toEqual([]);
      expect(report.orphans).toEqual([{ set, code: 'unsuccessful-full', reason: expect.stringContaining('starts no cycle') }]);
      expect(report.orphans[0].reason).toContain(describeSetOutcome(set));
      expect(report.newestRestorablePoint).toBeUndefined();
    });

    it('DIFFERENTIALs before any FULL belong to no cycle', () => {
      const report = buildCycles([failedDiff(1), full(2)]);
      expect(report.orphans).toEqual([expect.objectContaining({ set: expect.objectContaining({ jobId: 1 }), code: 'before-first-full' })]);
      expect(report.orphans[0].reason).toMatch(/no FULL precedes it/);
    });
  });

  describe('§5 "…and includes all DIFFERENTIALs up to the next FULL"', () => {
    it('splits a history into cycles at each successful FULL', () => {
      const report = buildCycles([full(1), diff(2, 1), diff(3, 1), full(4), diff(5, 4)]);
      expect(report.cycles.map((c) => [c.cycleId, ids(c.differentials)])).toEqual([
        [1, [2, 3]],
        [4, [5]],
      ]);
    });

    it('failed DIFFERENTIALs without a manifest belong to the cycle they fall in (by position)', () => {
      const report = buildCycles([full(1), failedDiff(2), diff(3, 1)]);
      expect(ids(report.cycles[0].differentials)).toEqual([2, 3]);
      expect(report.cycles[0].reasons.notes.join('\n')).toMatch(/SET_0000002 has no cycle id: placed in this cycle/);
      expect(report.orphans).toEqual([]);
    });

    it("a DIFFERENTIAL's manifest cycle id is authoritative, even when it follows a later FULL", () => {
      const report = buildCycles([full(1), full(3), diff(4, 1)]);
      expect(ids(report.cycles[0].differentials)).toEqual([4]);
      expect(report.cycles[1].differentials).toEqual([]);
      expect(report.cycles[0].reasons.notes.join('\n')).toMatch(/SET_0000004 follows FULL SET_0000003 but belongs to this cycle by its manifest's cycle id/);
    });

    it('a failed FULL does not end the cycle: DIFFERENTIALs whose manifest names the previous cycle stay in it', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3, { status: JobStatus.Failed, complete: false }), diff(4, 1)]);
      expect(report.cycles).toHaveLength(1);
      expect(ids(report.cycles[0].differentials)).toEqual([2, 4]);
      expect(report.orphans.map((o) => [o.set.jobId, o.code])).toEqual([[3, 'unsuccessful-full']]);
    });

    it('after a failed FULL, a DIFFERENTIAL with no manifest is an orphan: nothing says which cycle it belongs to', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3, { status: JobStatus.Killed, complete: false }), failedDiff(4)]);
      expect(ids(report.cycles[0].differentials)).toEqual([2]);
      const orphan = report.orphans.find((o) => o.set.jobId === 4);
      expect(orphan).toMatchObject({ code: 'after-unsuccessful-full' });
      expect(orphan?.reason).toMatch(/the FULL before it, SET_0000003, is incomplete/);
    });

    it('a DIFFERENTIAL based on a FULL that did not succeed is an orphan', () => {
      const report = buildCycles([full(1), full(3, { status: JobStatus.Failed }), diff(4, 3)]);
      expect(report.orphans.map((o) => [o.set.jobId, o.code])).toEqual([
        [3, 'unsuccessful-full'],
        [4, 'base-full-unusable'],
      ]);
      expect(report.orphans[1].reason).toMatch(/based on FULL SET_0000003, which failed \(Failed\)/);
    });

    it('a DIFFERENTIAL whose FULL is not listed (expired or never written) is an orphan', () => {
      const report = buildCycles([diff(7, 3), full(8)]);
      expect(report.orphans).toEqual([expect.objectContaining({ code: 'base-full-missing', reason: expect.stringMatching(/FULL SET_0000003 is not listed/) })]);
    });

    it('a DIFFERENTIAL whose cycle id names another DIFFERENTIAL is an orphan', () => {
      const report = buildCycles([full(1), diff(2, 1), diff(3, 2)]);
      expect(report.orphans).toEqual([expect.objectContaining({ code: 'base-full-missing', reason: expect.stringMatching(/SET_0000002 is a DIFFERENTIAL/) })]);
    });
  });

  describe('§5 "It is complete only once the following FULL has succeeded"', () => {
    it('a cycle with no later FULL is open', () => {
      const report = buildCycles([full(1), diff(2, 1)]);
      expect(report.cycles[0].complete).toBe(false);
      expect(report.cycles[0].completedBy).toBeUndefined();
      expect(report.openCycle).toBe(report.cycles[0]);
      expect(report.cycles[0].reasons.complete).toBe('open: no later FULL yet');
    });

    it('a later FULL that failed does not complete the cycle', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3, { status: JobStatus.Failed })]);
      expect(report.cycles[0].complete).toBe(false);
      expect(report.openCycle?.cycleId).toBe(1);
      expect(report.cycles[0].reasons.complete).toMatch(/open: no later FULL has succeeded \(SET_0000003 failed \(Failed\)\)/);
    });

    it('a later FULL that is still running does not complete the cycle yet', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3, { status: RUNNING })]);
      expect(report.cycles[0].complete).toBe(false);
      expect(report.orphans.map((o) => o.set.jobId)).toEqual([3]);
    });

    it('the following successful FULL completes the cycle and opens the next one', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3)]);
      expect(report.cycles[0]).toMatchObject({ complete: true, completedBy: { jobId: 3 } });
      expect(report.cycles[0].reasons.complete).toBe('complete: the following FULL SET_0000003 succeeded');
      expect(report.openCycle?.cycleId).toBe(3);
    });

    it('the following FULL completes the cycle even after failed FULLs in between', () => {
      const report = buildCycles([full(1), full(2, { status: JobStatus.Failed }), full(3)]);
      expect(report.cycles.map((c) => [c.cycleId, c.complete])).toEqual([
        [1, true],
        [3, false],
      ]);
      expect(report.cycles[0].completedBy?.jobId).toBe(3);
    });
  });

  describe('§5 "It is successful only if its last DIFFERENTIAL succeeded"', () => {
    it('cycle whose last DIFFERENTIAL succeeded is successful', () => {
      const cycle = buildCycles([full(1), diff(2, 1), diff(3, 1), full(4)]).cycles[0];
      expect(cycle).toMatchObject({ successful: true, lastDifferential: { jobId: 3 } });
      expect(cycle.reasons.successful).toBe('successful: its last DIFFERENTIAL SET_0000003 succeeded');
    });

    it.each([
      ['failed without a manifest', failedDiff(3)],
      ['was killed', failedDiff(3, JobStatus.Killed)],
      ['has a manifest but its job Failed (e.g. validation)', diff(3, 1, { status: JobStatus.Failed })],
      ['is Completed but its manifest is missing', diff(3, undefined, { complete: false })],
    ])('cycle whose last DIFFERENTIAL %s is not successful, even though it is complete', (_title, last) => {
      const cycle = buildCycles([full(1), diff(2, 1), last, full(4)]).cycles[0];
      expect(cycle).toMatchObject({ complete: true, successful: false, lastDifferential: last });
      expect(cycle.reasons.successful).toMatch(/^not successful: its last DIFFERENTIAL SET_0000003 .* so the cycle cannot be restored to its end point$/);
    });

    it('a last DIFFERENTIAL Completed With One or More Errors counts as succeeded', () => {
      const cycle = buildCycles([full(1), diff(2, 1, { status: JobStatus.CompletedWithErrors }), full(3)]).cycles[0];
      expect(cycle.successful).toBe(true);
    });

    it('an open cycle whose last DIFFERENTIAL is still running is not (yet) successful', () => {
      const report = buildCycles([full(1), diff(2, 1), diff(3, undefined, { status: RUNNING, complete: false })]);
      expect(report.openCycle).toMatchObject({ successful: false, lastDifferential: { jobId: 3 } });
      expect(report.openCycle?.reasons.successful).toMatch(/SET_0000003 is still running/);
      expect(report.newestRestorablePoint).toMatchObject({ cycleId: 1, jobId: 2 });
    });
  });

  describe('§5 "(a cycle with no DIFFERENTIAL is successful if its FULL succeeded)"', () => {
    it('complete cycle with only its FULL is successful', () => {
      const cycle = buildCycles([full(1), full(2)]).cycles[0];
      expect(cycle).toMatchObject({ complete: true, successful: true, differentials: [] });
      expect(cycle.lastDifferential).toBeUndefined();
      expect(cycle.reasons.successful).toBe('successful: no DIFFERENTIAL, and its FULL SET_0000001 succeeded');
    });

    it('a cycle whose following DIFFERENTIAL belongs to an earlier cycle by its manifest has no DIFFERENTIAL, and is successful', () => {
      const cycle = buildCycles([full(1), full(3), diff(4, 1), full(5)]).cycles[1];
      expect(cycle).toMatchObject({ cycleId: 3, complete: true, successful: true, differentials: [] });
    });
  });

  describe('§5 "Intermediate DIFFERENTIALs may have failed: the last one holds every change since the FULL"', () => {
    it('cycle with failed intermediate DIFFERENTIAL but successful last one is successful', () => {
      const cycle = buildCycles([full(1), diff(2, 1), failedDiff(3), diff(4, 1), full(5)]).cycles[0];
      expect(cycle).toMatchObject({ complete: true, successful: true, lastDifferential: { jobId: 4 } });
      expect(ids(cycle.differentials)).toEqual([2, 3, 4]);
      expect(cycle.reasons.notes.join('\n')).toMatch(/intermediate DIFFERENTIAL SET_0000003 is incomplete .* does not matter/);
    });

    it('the restorable point is the FULL plus the last (cumulative) DIFFERENTIAL, skipping failed ones', () => {
      const cycle = buildCycles([full(1), failedDiff(2), diff(3, 1), failedDiff(4, JobStatus.Killed), diff(5, 1)]).cycles[0];
      expect(ids(cycle.restorablePoint.sets)).toEqual([1, 5]);
    });
  });

  describe('restorable points (§6 "a complete FULL plus the newest complete DIFFERENTIAL of that cycle")', () => {
    it('a cycle whose last DIFFERENTIAL failed is still restorable to its newest successful DIFFERENTIAL', () => {
      const cycle = buildCycles([full(1), diff(2, 1), failedDiff(3), full(4)]).cycles[0];
      expect(cycle.successful).toBe(false);
      expect(cycle.restorablePoint).toEqual({ cycleId: 1, full: full(1), differential: diff(2, 1), jobId: 2, sets: [full(1), diff(2, 1)] });
      expect(cycle.reasons.restorablePoint).toBe('restorable to SET_0000002: FULL SET_0000001 + DIFFERENTIAL SET_0000002');
    });

    it('a cycle with no successful DIFFERENTIAL is restorable to its FULL alone', () => {
      const cycle = buildCycles([full(1), failedDiff(2)]).cycles[0];
      expect(cycle.restorablePoint).toEqual({ cycleId: 1, full: full(1), jobId: 1, sets: [full(1)] });
      expect(cycle.reasons.restorablePoint).toBe('restorable to SET_0000001: the FULL alone (no DIFFERENTIAL of the cycle succeeded)');
    });

    it('a DIFFERENTIAL with a manifest but no final status yet is not part of a restorable point', () => {
      const report = buildCycles([full(1), diff(2, 1), diff(3, 1, { status: RUNNING })]);
      expect(report.newestRestorablePoint?.jobId).toBe(2);
    });

    it('the newest restorable point is in the open cycle when its FULL succeeded, even though the cycle is open', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3)]);
      expect(report.newestRestorablePoint).toEqual({ cycleId: 3, full: full(3), jobId: 3, sets: [full(3)] });
    });

    it('the newest restorable point combines the open cycle FULL with its newest successful DIFFERENTIAL', () => {
      const report = buildCycles([full(1), full(3), diff(4, 3), diff(5, 3), failedDiff(6)]);
      expect(ids(report.newestRestorablePoint!.sets)).toEqual([3, 5]);
    });

    it('DIFFERENTIALs taken on an older FULL after a newer FULL (that FULL went straight to the hot-site) make the newest point: the highest job id wins, not the newest cycle', () => {
      const report = buildCycles([full(1), full(2), diff(3, 1), diff(4, 1)]);
      expect(report.cycles.map((c) => [c.cycleId, ids(c.differentials)])).toEqual([[1, [3, 4]], [2, []]]);
      expect(report.openCycle?.cycleId).toBe(2);
      expect(ids(report.newestRestorablePoint!.sets)).toEqual([1, 4]);
    });

    it('a failed newer FULL leaves the newest restorable point in the previous cycle', () => {
      const report = buildCycles([full(1), diff(2, 1), full(3, { status: JobStatus.Failed }), diff(4, 1)]);
      expect(ids(report.newestRestorablePoint!.sets)).toEqual([1, 4]);
    });

    it('no successful FULL means no restorable point', () => {
      const report = buildCycles([full(1, { status: JobStatus.Failed }), diff(2, 1), failedDiff(3)]);
      expect(report.cycles).toEqual([]);
      expect(report.openCycle).toBeUndefined();
      expect(report.newestRestorablePoint).toBeUndefined();
      expect(report.orphans.map((o) => o.code)).toEqual(['unsuccessful-full', 'base-full-unusable', 'after-unsuccessful-full']);
    });
  });

  describe('a realistic history', () => {
    it('groups two weeks of jobs, with failures, into cycles with verdicts', () => {
      const history = [
        diff(3, undefined, { complete: false, status: JobStatus.Failed }), // before any FULL
        full(10),
        diff(11, 10),
        failedDiff(12),
        diff(13, 10),
        full(14, { status: JobStatus.Failed }),
        diff(15, 10),
        full(16),
        diff(17, 16),
        failedDiff(18),
        full(19, { status: JobStatus.CompletedWithErrors }),
        diff(20, 19),
        diff(21, undefined, { status: RUNNING, complete: false }),
      ];
      const report = buildCycles(history);
      expect(report.cycles.map((c) => ({ id: c.cycleId, d: ids(c.differentials), complete: c.complete, successful: c.successful, point: c.restorablePoint.jobId }))).toEqual([
        { id: 10, d: [11, 12, 13, 15], complete: true, successful: true, point: 15 },
        { id: 16, d: [17, 18], complete: true, successful: false, point: 17 },
        { id: 19, d: [20, 21], complete: false, successful: false, point: 20 },
      ]);
      expect(report.openCycle?.cycleId).toBe(19);
      expect(report.orphans.map((o) => [o.set.jobId, o.code])).toEqual([
        [3, 'before-first-full'],
        [14, 'unsuccessful-full'],
      ]);
      expect(ids(report.newestRestorablePoint!.sets)).toEqual([19, 20]);
    });
  });

  describe('input', () => {
    it('the order of the input does not matter (sorted by job id)', () => {
      const history = [full(1), diff(2, 1), failedDiff(3), full(1000), diff(1001, 1000), full(999, { status: JobStatus.Failed })];
      const reversed = [...history].reverse();
      expect(buildCycles(reversed)).toEqual(buildCycles(history));
      expect(buildCycles(reversed).cycles.map((c) => c.cycleId)).toEqual([1, 1000]);
    });

    it('an empty list gives no cycles, no orphans and no restorable point', () => {
      expect(buildCycles([])).toEqual({ cycles: [], openCycle: undefined, orphans: [], newestRestorablePoint: undefined });
    });

    it('duplicate job ids are refused with a clear error', () => {
      const call = () => buildCycles([full(1), diff(2, 1), diff(2, 1, { status: JobStatus.Failed })]);
      expect(call).toThrow(CycleInputError);
      expect(call).toThrow('duplicate job id 2: each SET must be listed once (SET_0000002)');
      try {
        call();
      } catch (error) {
        expect(error).toMatchObject({ code: 'DUPLICATE_JOB_ID', context: { jobIds: [2] } });
      }
    });

    it.each([
      ['a job id that is not a positive integer', { ...full(1), jobId: 0 }, /invalid job id 0/],
      ['a SET name that does not match the job id', { ...full(1), setName: 'SET_0000002' }, /SET name SET_0000002 does not match job id 1/],
      ['an unknown status', { ...full(1), status: 'Done' as SetStatus }, /unknown status Done/],
      ['an unknown backup type', { ...full(1), backupType: 'INCREMENTAL' as 'FULL' }, /unknown backup type INCREMENTAL/],
      ['a FULL whose cycle id is not its own job id', full(5, { cycleId: 4 }), /a FULL starts its own cycle/],
      ['a DIFFERENTIAL whose cycle id is not earlier than its job id', diff(5, 5), /belongs to an earlier FULL/],
    ])('refuses %s', (_title, set, message) => {
      expect(() => buildCycles([set])).toThrow(CycleInputError);
      expect(() => buildCycles([set])).toThrow(message);
    });

    it('returns the caller’s SET summaries as they are (extra fields such as endTime and bytes pass through)', () => {
      const f = { ...full(1), endTime: '2024-05-01T17:05:00Z', bytes: 1234 };
      expect(buildCycles([f]).cycles[0].full).toBe(f);
    });
  });

  describe('isSuccessfulSet', () => {
    it('needs a manifest and a status that produced a usable SET', () => {
      expect(isSuccessfulSet(full(1))).toBe(true);
      expect(isSuccessfulSet(full(1, { status: JobStatus.CompletedWithErrors }))).toBe(true);
      expect(isSuccessfulSet(full(1, { complete: false }))).toBe(false);
      expect(isSuccessfulSet(full(1, { status: JobStatus.Failed }))).toBe(false);
      // Killed after its manifest was committed: the SET is complete and verified (issue 16); killed before: never counts.
      expect(isSuccessfulSet(full(1, { status: JobStatus.Killed }))).toBe(true);
      expect(isSuccessfulSet(full(1, { status: JobStatus.Killed, complete: false }))).toBe(false);
      expect(isSuccessfulSet(full(1, { status: RUNNING }))).toBe(false);
    });
  });
});
