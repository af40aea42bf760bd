/**
 * The Killed record of an interrupted or killed job says what it leaves (SPEC §4.4, issue 19): nothing of a job that
 * committed no SET counts; a committed SET stays; interrupted during phase 2 the archive copy is not complete (it may
 * have begun), so the record says phase 2 did not finish rather than that it did not run.
 */
import { killedRecord, type JobJournalEntry } from '#agent/history/job-journal';
import { setName } from '#core/set-id';

function entry(update: Partial<JobJournalEntry>): JobJournalEntry {
  return {
    jobId: 7,
    setName: setName(7),
    backupType: 'FULL',
    requestedType: 'FULL',
    startTime: '2026-12-05T10:00:00.000Z',
    pid: 4242,
    hostname: 'cs01',
    stage: 'dump',
    phase1Destination: null,
    hotSite: null,
    bytes: 1000,
    events: [],
    ...update,
  };
}

const killedEvent = (e: JobJournalEntry) => killedRecord(e, 'was interrupted by SIGINT', '2026-12-05T10:05:00.000Z').events.find((x) => x.code === 'JOB_KILLED')!.message;

describe('killedRecord', () => {
  it('no SET committed: nothing of the job counts, 0 bytes', () => {
    const e = entry({ stage: 'dump' });
    expect(killedEvent(e)).toBe(
      'job 7 was interrupted by SIGINT during dump: no SET of this job was committed (an unfinished SET folder or upload never counts; the next job aborts an unfinished upload and prune removes the folder after SetLifeSpanForFailedDR days)',
    );
    expect(killedRecord(e, 'x', '2026-12-05T10:05:00.000Z')).toMatchObject({ status: 'Killed', bytes: 0, phase2: 'not-run' });
  });

  it('committed locally and at the hot-site before phase 2: the SET stays, phase 2 did not run', () => {
    const e = entry({ stage: 'committed', phase1Destination: `/dr/${setName(7)}`, hotSite: `s3://b/sets/${setName(7)}/` });
    expect(killedEvent(e)).toBe(`job 7 was interrupted by SIGINT during committed: the SET committed in /dr/${setName(7)} and at the hot-site (s3://b/sets/${setName(7)}/) stays (phase 2 did not run: no archive copy)`);
    expect(killedRecord(e, 'x', '2026-12-05T10:05:00.000Z').bytes).toBe(1000);
  });

  it('interrupted during phase 2: the SET stays, phase 2 did not finish (no complete archive copy)', () => {
    const e = entry({ stage: 'phase 2', phase1Destination: `/dr/${setName(7)}`, hotSite: `s3://b/sets/${setName(7)}/` });
    expect(killedEvent(e)).toMatch(/stays \(phase 2 did not finish: no complete archive copy\)$/);
  });

  it('found dead later (SIGKILL, power loss): no end time is claimed — endTime is the journal\'s last write, "at or after" it, and when it was found', () => {
    const e = entry({ stage: 'upload', updatedAt: '2026-12-05T10:02:30.000Z' });
    const record = killedRecord(e, 'was killed (its agent process, pid 4242 on cs01, ended without finishing it)', '2026-12-06T02:00:00.000Z', true);
    expect(record).toMatchObject({ status: 'Killed', startTime: '2026-12-05T10:00:00.000Z', endTime: '2026-12-05T10:02:30.000Z', endUnknown: { lastSeenAlive: '2026-12-05T10:02:30.000Z', foundAt: '2026-12-06T02:00:00.000Z' } });
    expect(record.events.find((x) => x.code === 'JOB_KILLED')!.message).toBe(
      'job 7 was killed (its agent process, pid 4242 on cs01, ended without finishing it) during upload, at or after 2026-12-05T10:02:30.000Z (the last time its journal was written; the exact end is not known), found dead at 2026-12-06T02:00:00.000Z by the next job: no SET of this job was committed (an unfinished SET folder or upload never counts; the next job aborts an unfinished upload and prune removes the folder after SetLifeSpanForFailedDR days)',
    );
    // Interrupted (the process records itself): its end is known, nothing is marked unknown.
    expect(killedRecord(e, 'was interrupted by SIGINT', '2026-12-05T10:05:00.000Z')).not.toHaveProperty('endUnknown');
    expect(killedRecord(e, 'was interrupted by SIGINT', '2026-12-05T10:05:00.000Z').endTime).toBe('2026-12-05T10:05:00.000Z');
  });
});
