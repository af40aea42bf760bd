/**
 * LOG SETs are visible and usable everywhere a SET is (issue 17, the newcomer's findings): `sets` lists them in their
 * cycle with their moment and predecessor and shows a chain gap, `recover --set <LOG>` gets the whole chain (not
 * "belongs to no cycle"), the default point is the newest whole LOG point, the RPO is that point's age, and the
 * bytes counted as protected include them. Pure: the inventory is built in memory.
 */
import type { SetSummary } from '#core/cycles';
import { JobStatus } from '#core/job-status';
import { choosePoint } from '#core/recovery';
import { setName } from '#core/set-id';
import type { Inventory, InventoryEntry } from '#agent/commands/sets/inventory';
import { formatSets, setsDocument } from '#agent/commands/sets/sets';

const T0 = Date.parse('2026-12-01T17:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const summary = (jobId: number, backupType: SetSummary['backupType'], minutes: number, previousJobId?: number): SetSummary => ({
  jobId,
  setName: setName(jobId),
  backupType,
  status: JobStatus.Completed,
  complete: true,
  cycleId: 1,
  endTime: at(minutes + 1),
  pointTime: at(minutes),
  bytes: 1000 * jobId,
  ...(previousJobId ? { previousJobId } : {}),
});
// FULL 1 @0, LOG 2 @15, LOG 3 @30, DIFF 4 @60, LOG 5 @75, LOG 6 @90.
const day = [summary(1, 'FULL', 0), summary(2, 'LOG', 15, 1), summary(3, 'LOG', 30, 2), summary(4, 'DIFFERENTIAL', 60), summary(5, 'LOG', 75, 4), summary(6, 'LOG', 90, 5)];
const entry = (s: SetSummary): InventoryEntry => ({ summary: s, locations: { local: { path: `/dr/${s.setName}`, complete: true, bytes: s.bytes! }, hotSite: null }, integrity: 'ok', record: null, problems: [] });
const inventory = (sets: SetSummary[]): Inventory => ({ entries: sets.map(entry), hotSiteUnavailable: null });
const names = (sets: readonly { setName: string }[]) => sets.map((s) => s.setName);

describe('LOG SETs in sets, recover --set and the default point', () => {
  test('sets lists every LOG in its cycle in job order, with its moment and predecessor; the RPO is the newest LOG point’s age', () => {
    const now = new Date(T0 + 95 * 60_000);
    const { document } = setsDocument(inventory(day), new Map(), now);
    expect(document.cycles).toHaveLength(1);
    expect(document.cycles[0].sets.map((r) => [r.setName, r.backupType])).toEqual(day.map((s) => [s.setName, s.backupType]));
    expect(document.cycles[0].sets[2]).toMatchObject({ pointTime: at(30), previousSet: setName(2) });
    expect(document.newestRestorablePoint).toEqual({ sets: [setName(1), setName(4), setName(5), setName(6)], jobId: 6 });
    expect(document.gaps).toEqual([]);
    expect(document.rpo).toEqual({ point: { set: setName(6), time: at(90), exact: true }, ageMs: 5 * 60_000, at: now.toISOString() });
    const text = formatSets(document);
    expect(text).toContain(`${setName(3)}`);
    expect(text).toContain(`at ${at(30)} after ${setName(2)}`);
    expect(text).toContain(`RPO: 5 min 0 s (newest restorable point ${setName(6)} at ${at(90)})`);
    // Every SET's bytes are in the document (report --html "Protected" sums these rows).
    expect(document.cycles[0].sets.reduce((n, r) => n + (r.bytes ?? 0), 0)).toBe(day.reduce((n, s) => n + s.bytes!, 0));
  });

  test('a missing LOG shows as a gap naming the newest reachable moment; the default point stops before it', () => {
    const withGap = day.filter((s) => s.jobId !== 5);
    const { document } = setsDocument(inventory(withGap), new Map(), new Date(T0 + 95 * 60_000));
    expect(document.gaps).toEqual([
      { cycleId: 1, firstUnreachable: setName(6), unreachable: [setName(6)], newestReachable: { set: setName(4), time: at(60) }, reason: expect.stringContaining(`LOG ${setName(6)} cannot be rebuilt`) },
    ]);
    expect(document.newestRestorablePoint?.sets).toEqual([setName(1), setName(4)]);
    expect(document.rpo.point).toEqual({ set: setName(4), time: at(60), exact: true });
    expect(formatSets(document)).toMatch(new RegExp(`GAP in the LOG chain: .*${setName(6)} cannot be restored\\n +newest reachable moment before it: ${at(60).replace(/\./g, '\\.')} \\(${setName(4)}\\)`));
  });

  test('recover --set <LOG> restores its whole chain; one behind a gap is refused with the reason', () => {
    expect(names(choosePoint(day, setName(3)).sets)).toEqual([setName(1), setName(2), setName(3)]);
    const point = choosePoint(day, setName(6));
    expect(names(point.sets)).toEqual([setName(1), setName(4), setName(5), setName(6)]);
    expect(point).toMatchObject({ cycleId: 1, jobId: 6, differential: { jobId: 4 } });
    expect(names(point.logs!)).toEqual([setName(5), setName(6)]);
    expect(names(choosePoint(day).sets)).toEqual([setName(1), setName(4), setName(5), setName(6)]);
    const withGap = day.filter((s) => s.jobId !== 5);
    expect(() => choosePoint(withGap, setName(6))).toThrow(expect.objectContaining({ code: 'SET_NOT_RESTORABLE', message: expect.stringContaining(`newest reachable point before it is ${setName(4)} at ${at(60)}`) }));
  });
});
