import { decideJobRecord, ReportJobInputSchema, type Phase1Result } from '#core/job';
import { exitCodeForStatus, JobStatus, worseStatus } from '#core/job-status';
import { setName } from '#core/set-id';
import { describeRpo, formatJobSummary } from '#agent/commands/backup/summary';

const phase1: Phase1Result = {
  jobId: 9,
  setName: 'SET_0000009',
  backupType: 'FULL',
  requestedType: 'FULL',
  cycleId: 9,
  bucket: 'hot',
  setPrefix: 'sets/SET_0000009/',
  manifestKey: 'sets/SET_0000009/manifest.json',
  files: 5,
  bytes: 1000,
  phase1Destination: '/dr/SET_0000009',
  integrity: 'ok',
  status: JobStatus.Completed,
  startTime: '2026-11-29T17:00:00.000Z',
  endTime: '2026-11-29T17:01:00.000Z',
  durationsMs: {},
  events: [],
};
const now = '2026-11-29T17:05:00.000Z';
const archive = { storageClass: 'GLACIER', prefix: 'archive/SET_0000009/', objects: 6, bytes: 1200, multipartCopies: 0 };

describe('job status', () => {
  it('maps statuses to SPEC §11 exit codes', () => {
    expect(exitCodeForStatus(JobStatus.Completed)).toBe(0);
    expect(exitCodeForStatus(JobStatus.CompletedWithErrors)).toBe(3);
    expect(exitCodeForStatus(JobStatus.Failed)).toBe(1);
    expect(exitCodeForStatus(JobStatus.Killed)).toBe(1);
  });
  it('orders severity Failed > Killed > with errors > Completed', () => {
    expect(worseStatus(JobStatus.Completed, JobStatus.CompletedWithErrors)).toBe(JobStatus.CompletedWithErrors);
    expect(worseStatus(JobStatus.Failed, JobStatus.Killed)).toBe(JobStatus.Failed);
  });
});

describe('decideJobRecord', () => {
  it('is Completed when phase 1, validation and archive succeeded', () => {
    const r = decideJobRecord({ backupType: 'FULL', phase1, validation: { files: 5, bytes: 1000, checkedBy: { s3Checksum: 5, streamedHash: 0 } }, archive }, 'hot', now);
    expect(r).toMatchObject({ status: 'Completed', phase2: 'archived', copies: { hotSite: 's3://hot/sets/SET_0000009/', archive: 's3://hot/archive/SET_0000009/', phase1Destination: '/dr/SET_0000009' } });
  });

  it('is Completed With One or More Errors, phase 2 failed, when the archive copy failed after its retries', () => {
    const r = decideJobRecord({ backupType: 'FULL', phase1, archiveError: { Error: 'ArchiveCopyError', Cause: '{"errorMessage":"copy of commserv_FULL.dmp failed"}' } }, 'hot', now);
    expect(r.status).toBe('Completed With One or More Errors');
    expect(r.phase2).toBe('failed');
    expect(r.events.at(-1)?.message).toBe('phase 2 archive copy failed: copy of commserv_FULL.dmp failed');
  });

  it('is Failed with the phase-1 error when phase 1 failed', () => {
    const r = decideJobRecord({ backupType: 'FULL', error: { Error: 'DB_NOT_FOUND', Cause: 'CommServe database not found: /x.db' } }, 'hot', now);
    expect(r).toMatchObject({ status: 'Failed', jobId: null, phase2: 'not-run', copies: { hotSite: null } });
    expect(r.events[0]).toMatchObject({ code: 'DB_NOT_FOUND', message: 'phase 1 failed: CommServe database not found: /x.db' });
  });

  it('is Failed when the uploaded SET does not validate', () => {
    const r = decideJobRecord({ backupType: 'FULL', phase1, error: { Error: 'SetValidationError', Cause: 'size mismatch' } }, 'hot', now);
    expect(r.status).toBe('Failed');
    expect(r.events.at(-1)?.message).toBe('SET validation failed: size mismatch');
  });

  it('keeps phase 1 ending with errors (e.g. a missing registry key) as Completed With One or More Errors', () => {
    const r = decideJobRecord({ backupType: 'FULL', phase1: { ...phase1, status: JobStatus.CompletedWithErrors }, archive }, 'hot', now);
    expect(r.status).toBe('Completed With One or More Errors');
    expect(r.phase2).toBe('archived');
  });

  describe('pruning (never changes the status)', () => {
    const validation = { files: 5, bytes: 1000, checkedBy: { s3Checksum: 5, streamedHash: 0 } };
    const pruned = {
      outcome: 'pruned' as const,
      jobId: 9,
      planKey: 'prune/009.json',
      hotSite: { sets: 9, kept: 5, expired: 4, setsDeleted: 4, objectsDeleted: 28, foreignKeys: 0 },
      archive: null,
      failedKeys: 0,
      failureSample: [],
      requests: { ListObjectsV2: 3 },
    };

    it('adds an info event with the counts and the plan key', () => {
      const r = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune: pruned }, 'hot', now);
      expect(r.status).toBe('Completed');
      expect(r.events).toEqual([
        {
          time: now,
          level: 'info',
          code: 'PRUNED',
          message: 'retention applied: hot-site: 4 of 9 SET(s) expired, 4 deleted (28 object(s)), 5 kept; archive: kept in full; plan prune/009.json',
        },
      ]);
    });

    it('names archive deletions and early-deletion warnings', () => {
      const prune = { ...pruned, archive: { sets: 9, kept: 7, expired: 2, setsDeleted: 1, objectsDeleted: 7, earlyDeletionWarnings: 1 } };
      const r = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune }, 'hot', now);
      expect(r.events.at(-1)?.message).toContain('archive: 2 expired, 1 deleted (7 object(s)), 1 early-deletion warning(s)');
    });

    it('adds a warning, status unchanged, when some keys could not be deleted', () => {
      const prune = { ...pruned, outcome: 'pruned-with-errors' as const, failedKeys: 2, failureSample: ['archive/SET_0000001/manifest.json: AccessDenied locked'] };
      const r = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune }, 'hot', now);
      expect(r.status).toBe('Completed');
      expect(r.events.at(-1)).toMatchObject({ level: 'warning', code: 'PRUNE_INCOMPLETE' });
      expect(r.events.at(-1)?.message).toMatch(/^retention applied with 2 key\(s\) not deleted \(e\.g\. archive\/SET_0000001\/manifest\.json: AccessDenied locked\)/);
    });

    it('names hot-site Object Lock: SETs locked, expired SETs kept while locked; a lock failure is a warning, status unchanged', () => {
      const locks = { sets: 5, setsLocked: 5, objectsExtended: 4, failedObjects: 0, failureSample: [], keptWhileLocked: 1 };
      const ok = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune: { ...pruned, locks } }, 'hot', now);
      expect(ok.events.at(-1)).toMatchObject({ level: 'info', code: 'PRUNED' });
      expect(ok.events.at(-1)?.message).toContain('; Object Lock: 5 of 5 kept SET(s) locked, 1 expired SET(s) kept while still locked; plan prune/009.json');
      const failed = { ...locks, setsLocked: 4, failedObjects: 1, failureSample: [`AccessDenied cannot lock sets/${setName(9)}/manifest.json until 2026-12-10T00:00:00.000Z: AccessDenied`] };
      const r = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune: { ...pruned, outcome: 'pruned-with-errors' as const, locks: failed } }, 'hot', now);
      expect(r.status).toBe('Completed');
      expect(r.events.at(-1)).toMatchObject({ level: 'warning', code: 'PRUNE_INCOMPLETE' });
      expect(r.events.at(-1)?.message.startsWith(`retention applied, but 1 object(s) could not be locked (e.g. AccessDenied cannot lock sets/${setName(9)}/manifest.json`)).toBe(true);
    });

    it('adds a warning, status unchanged, when PruneSets failed', () => {
      const r = decideJobRecord(
        { backupType: 'FULL', phase1, validation, archive, pruneError: { Error: 'PruneError', Cause: '{"errorMessage":"cannot list s3://hot/sets/: AccessDenied"}' } },
        'hot',
        now,
      );
      expect(r.status).toBe('Completed');
      expect(r.phase2).toBe('archived');
      expect(r.events.at(-1)).toMatchObject({ level: 'warning', code: 'PRUNE_FAILED' });
      expect(r.events.at(-1)?.message).toMatch(/^retention not applied \(PruneError\): cannot list s3:\/\/hot\/sets\/: AccessDenied;/);
    });

    it('keeps Completed With One or More Errors as it was', () => {
      const r = decideJobRecord({ backupType: 'FULL', phase1: { ...phase1, status: JobStatus.CompletedWithErrors }, archive, prune: pruned }, 'hot', now);
      expect(r.status).toBe('Completed With One or More Errors');
    });

    it('records a skipped prune with its reason', () => {
      const prune = { ...pruned, outcome: 'skipped' as const, planKey: null, reason: 'phase 1 reported no SET' };
      const r = decideJobRecord({ backupType: 'FULL', phase1, validation, archive, prune }, 'hot', now);
      expect(r.events.at(-1)).toMatchObject({ level: 'info', code: 'PRUNE_SKIPPED', message: 'retention not applied: phase 1 reported no SET' });
    });

    it('parses the prune summary loosely: extra fields pass, a wrong outcome is refused', () => {
      const parsed = ReportJobInputSchema.parse({ backupType: 'FULL', phase1, archive, prune: { ...pruned, futureField: 1 } });
      expect(parsed.prune).toMatchObject({ outcome: 'pruned', futureField: 1 });
      expect(ReportJobInputSchema.safeParse({ backupType: 'FULL', phase1, archive, prune: { ...pruned, outcome: 'done' } }).success).toBe(false);
    });
  });
});

describe('RPO in the job record and summary (issue 17 item 4)', () => {
  const pointTime = '2026-11-29T17:00:40.000Z';
  const name = setName(9);
  const p1 = { ...phase1, setName: name, pointTime };
  const validation = { files: 5, bytes: 1000, checkedBy: { s3Checksum: 5, streamedHash: 0 } };

  it("records this job's point and its age at the end of the job when the SET reached the hot-site", () => {
    const r = decideJobRecord({ backupType: 'FULL', phase1: p1, validation, archive }, 'hot', now);
    expect(r.rpo).toEqual({ setName: name, pointTime, seconds: 260 });
    expect(formatJobSummary(r)).toMatch(new RegExp(`\\n  RPO +${describeRpo(r).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n`));
    expect(describeRpo(r)).toBe(`4 min 20 s at the end of the job (newest restorable point ${name}, ${pointTime})`);
  });

  it('records the RPO of a LOG point (no archive copy of its own) and of a job whose archive copy failed', () => {
    const log = decideJobRecord({ backupType: 'LOG', phase1: { ...p1, backupType: 'LOG', requestedType: 'LOG' }, validation }, 'hot', now);
    expect(log.rpo).toEqual({ setName: name, pointTime, seconds: 260 });
    expect(formatJobSummary(log)).toMatch(/\n  phase 2: archive +— +with its cycle: by the next FULL or DIFFERENTIAL \(no archive job per LOG point\)\n/);
    const archiveFailed = decideJobRecord({ backupType: 'FULL', phase1: p1, archiveError: { Error: 'ArchiveCopyError', Cause: 'x' } }, 'hot', now);
    expect(archiveFailed.rpo?.seconds).toBe(260);
  });

  it('a phase-2 step that was not run shows no duration, even when its state passed through (LOG point; SET not at the hot-site)', () => {
    const durationsMs = { RunPhase1: 61_000, ValidateSet: 1_500, ArchiveSet: 40, PruneSets: 30, ReportJob: 200 };
    const rowOf = (text: string, label: string) => text.split('\n').find((l) => l.startsWith(`  ${label}`))!;
    const log = decideJobRecord({ backupType: 'LOG', phase1: { ...p1, backupType: 'LOG', requestedType: 'LOG' }, validation }, 'hot', now);
    const logText = formatJobSummary(log, { durationsMs });
    expect(rowOf(logText, 'phase 2: validate')).toMatch(/^  phase 2: validate +1\.5 s +every file checked against the manifest$/);
    expect(rowOf(logText, 'phase 2: archive')).toMatch(/^  phase 2: archive +— +with its cycle: /);
    expect(rowOf(logText, 'phase 2: prune')).toMatch(/^  phase 2: prune +— +not run \(no archive copy\)$/);
    const localOnly = decideJobRecord({ backupType: 'FULL', phase1: { ...p1, hotSiteUploaded: false } }, 'hot', now);
    const localText = formatJobSummary(localOnly, { durationsMs });
    for (const label of ['phase 2: validate', 'phase 2: archive', 'phase 2: prune']) expect(rowOf(localText, label)).toMatch(new RegExp(`^  ${label} +— +not run`));
    const archived = decideJobRecord({ backupType: 'FULL', phase1: p1, validation, archive }, 'hot', now);
    expect(rowOf(formatJobSummary(archived, { durationsMs }), 'phase 2: archive')).toMatch(/^  phase 2: archive +40 ms +→ /);
  });

  it('states no RPO, and says why, when the job added no restorable point at the hot-site', () => {
    const failed = decideJobRecord({ backupType: 'FULL', phase1: p1, error: { Error: 'SetValidationError', Cause: 'size mismatch' } }, 'hot', now);
    expect(failed.rpo).toBeUndefined();
    expect(describeRpo(failed)).toBe('not improved by this job (the job left no SET): the previous point\'s age, see `commserve-dr sets`');
    const localOnly = decideJobRecord({ backupType: 'FULL', phase1: { ...p1, hotSiteUploaded: false } }, 'hot', now);
    expect(localOnly.rpo).toBeUndefined();
    expect(describeRpo(localOnly)).toBe('not improved by this job (its SET is not at the hot-site): the previous point\'s age, see `commserve-dr sets`');
    const corrupt = decideJobRecord({ backupType: 'FULL', phase1: { ...p1, integrity: 'corrupt', status: JobStatus.CompletedWithErrors }, validation, archive }, 'hot', now);
    expect(corrupt.rpo).toBeUndefined();
    expect(describeRpo(corrupt)).toContain('its database was found corrupt');
    const older = decideJobRecord({ backupType: 'FULL', phase1, validation, archive }, 'hot', now);
    expect(older.rpo).toBeUndefined();
    expect(describeRpo(older)).toContain('its point time is not known');
  });
});
