import { emptyScrubState, jobsPerFullScrub, mergeScrubStates, parseScrubState, planScrub, retainScrubState, scrubRequestsForSet, unrepairedFiles, type ScrubCandidate, type ScrubState } from '#core/scrub';
import { setName } from '#core/set-id';

const candidate = (jobId: number, requests = 9): ScrubCandidate => ({ setName: setName(jobId), jobId, requests });
const checkedAt = (entries: Record<number, string>): ScrubState => ({
  version: 1,
  sets: Object.fromEntries(Object.entries(entries).map(([id, t]) => [setName(Number(id)), { lastChecked: t, verdict: 'intact' as const, findings: [] }])),
});

describe('planScrub', () => {
  it('never-checked SETs first (newest job first), then the least recently checked, within the budget', () => {
    const state = checkedAt({ 1: '2026-12-03T00:00:00Z', 2: '2026-12-01T00:00:00Z', 3: '2026-12-02T00:00:00Z' });
    const plan = planScrub([1, 2, 3, 4, 5].map((id) => candidate(id)), state, 36);
    expect(plan).toEqual({ check: ['SET_0000005', 'SET_0000004', 'SET_0000002', 'SET_0000003'], requests: 36, deferred: 1 });
  });

  it('a SET larger than the budget is still checked when it comes first (one per job), never skipped for ever', () => {
    expect(planScrub([candidate(1, 500), candidate(2, 5)], emptyScrubState(), 100)).toEqual({ check: ['SET_0000002'], requests: 5, deferred: 1 });
    expect(planScrub([candidate(1, 500)], emptyScrubState(), 100)).toEqual({ check: ['SET_0000001'], requests: 500, deferred: 0 });
  });

  it('SETs found damaged at their last check go first (tried again every job), within half the budget, so they never starve the rest', () => {
    const state = checkedAt({ 1: '2026-12-01T00:00:00Z', 2: '2026-12-05T00:00:00Z', 3: '2026-12-05T00:00:00Z', 4: '2026-12-05T00:00:00Z', 5: '2026-12-02T00:00:00Z' });
    for (const id of [2, 3, 4]) state.sets[setName(id)] = { ...state.sets[setName(id)]!, verdict: 'damaged', findings: ['commserv_FULL.dmp missing: no copy'] };
    // Budget 36 (4 SETs of 9): 18 for damaged SETs (2 of the 3), then the least recently checked of the others.
    expect(planScrub([1, 2, 3, 4, 5].map((id) => candidate(id)), state, 36)).toEqual({ check: ['SET_0000004', 'SET_0000003', 'SET_0000001', 'SET_0000005'], requests: 36, deferred: 1 });
    // Budget 18: half of it takes one damaged SET.
    expect(planScrub([1, 2, 3, 4, 5].map((id) => candidate(id)), state, 18).check).toEqual(['SET_0000004', 'SET_0000001']);
    // Budget 9: a damaged SET costs more than half of it, so none goes first — the rotation alone (damage is carried).
    expect(planScrub([1, 2, 3, 4, 5].map((id) => candidate(id)), state, 9).check).toEqual(['SET_0000001']);
    // Without damage the order is the plain least-recently-checked one.
    expect(planScrub([1, 2, 3, 4, 5].map((id) => candidate(id)), checkedAt({ 1: '2026-12-01T00:00:00Z', 2: '2026-12-05T00:00:00Z', 3: '2026-12-05T00:00:00Z', 4: '2026-12-05T00:00:00Z', 5: '2026-12-02T00:00:00Z' }), 36).check).toEqual([
      'SET_0000001',
      'SET_0000005',
      'SET_0000004',
      'SET_0000003',
    ]);
  });

  it('unrepairedFiles: the recorded list, else the files of the finding lines not repaired (states written before the list), none unless damaged', () => {
    expect(unrepairedFiles({ lastChecked: 't', verdict: 'damaged', findings: ['a.dmp missing: x', 'b.reg missing: y'], unrepaired: ['b.reg'] })).toEqual(['b.reg']);
    expect(unrepairedFiles({ lastChecked: 't', verdict: 'damaged', findings: ['a.dmp missing: repaired from the local copy', 'b.reg has SHA-256 checksum q: versions: none'] })).toEqual(['b.reg']);
    expect(unrepairedFiles({ lastChecked: 't', verdict: 'repaired', findings: ['a.dmp missing: repaired from the local copy'] })).toEqual([]);
    expect(unrepairedFiles(undefined)).toEqual([]);
  });

  it('budget 0 turns the checksum check off', () => {
    expect(planScrub([candidate(1)], emptyScrubState(), 0)).toEqual({ check: [], requests: 0, deferred: 1 });
  });

  /** Jobs until every SET was checked once, and the requests each job spent. */
  function fullPass(sets: ScrubCandidate[], budget: number): number[] {
    let state = emptyScrubState();
    const perJob: number[] = [];
    const seen = new Set<string>();
    for (let day = 0; seen.size < sets.length; day++) {
      const plan = planScrub(sets, state, budget);
      perJob.push(plan.requests);
      for (const name of plan.check) seen.add(name);
      state = mergeScrubStates(state, checkedAt(Object.fromEntries(plan.check.map((n) => [Number(n.slice(4)), new Date(Date.UTC(2026, 11, 1 + day)).toISOString()]))));
    }
    return perJob;
  }
  /** Cycles of 7 SETs: a FULL (8 files: dump, page hashes, hive, 2 module exports, 3 firewall files) and 6 DIFFERENTIALs (7 files). */
  const cycles = (n: number) => Array.from({ length: n * 7 }, (_, i) => candidate(i + 1, scrubRequestsForSet(i % 7 === 0 ? 8 : 7, true)));

  it('successive jobs cover every SET: 5 kept cycles of 7 SETs in 2 jobs at the default 150 requests, 3 with a full open cycle too', () => {
    expect(cycles(5).reduce((sum, c) => sum + c.requests, 0)).toBe(285);
    expect(fullPass(cycles(5), 150)).toEqual([146, 147]);
    expect(fullPass(cycles(6), 150)).toEqual([146, 147, 146]);
    expect(jobsPerFullScrub(35, 8, 150)).toBe(2);
  });
});

describe('scrub state', () => {
  it('merges local and hot-site states (newer check wins), drops SETs no longer kept, and reads anything unreadable as empty', () => {
    const a = checkedAt({ 1: '2026-12-01T00:00:00Z', 2: '2026-12-03T00:00:00Z' });
    const b = checkedAt({ 1: '2026-12-02T00:00:00Z', 3: '2026-12-01T00:00:00Z' });
    const merged = mergeScrubStates(a, b);
    expect(Object.fromEntries(Object.entries(merged.sets).map(([k, v]) => [k, v.lastChecked]))).toEqual({
      SET_0000001: '2026-12-02T00:00:00Z',
      SET_0000002: '2026-12-03T00:00:00Z',
      SET_0000003: '2026-12-01T00:00:00Z',
    });
    expect(Object.keys(retainScrubState(merged, ['SET_0000002']).sets)).toEqual(['SET_0000002']);
    expect(parseScrubState('not json')).toEqual(emptyScrubState());
    expect(parseScrubState(JSON.stringify({ version: 9, sets: {} }))).toEqual(emptyScrubState());
    expect(parseScrubState(JSON.stringify(merged))).toEqual(merged);
  });
});
