import { decideJobRecord, type Phase1Result } from '#core/job';
import { exitCodeForStatus, JobStatus, worseStatus } from '#core/job-status';

const phase1: Phase1Result = {
  jobId: 9,
  setName: 'SET_009',
  backupType: 'FULL',
  requestedType: 'FULL',
  cycleId: 9,
  bucket: 'hot',
  setPrefix: 'sets/SET_009/',
  manifestKey: 'sets/SET_009/manifest.json',
  files: 5,
  bytes: 1000,
  phase1Destination: '/dr/SET_009',
  integrity: 'ok',
  status: JobStatus.Completed,
  startTime: '2026-11-29T17:00:00.000Z',
  endTime: '2026-11-29T17:01:00.000Z',
  durationsMs: {},
  events: [],
};
const now = '2026-11-29T17:05:00.000Z';
const archive = { storageClass: 'GLACIER', prefix: 'archive/SET_009/', objects: 6, bytes: 1200, multipartCopies: 0 };

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
    expect(r).toMatchObject({ status: 'Completed', phase2: 'archived', copies: { hotSite: 's3://hot/sets/SET_009/', archive: 's3://hot/archive/SET_009/', phase1Destination: '/dr/SET_009' } });
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
});
