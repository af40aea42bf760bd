/**
 * `npm start`'s "rows changed since the last DR backup" (issue 19): runs that wrote no SET (interrupted, killed,
 * failed) still changed the sample CommServe, so the next run reports their rows too, with another mutation seed;
 * a newer committed SET starts a new count; an incomplete SET folder (no manifest) is no DR backup. Real SQLite.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setName } from '#core/set-id';
import { generateSampleCommServe } from '#agent/local/sample-db/index';
import {
  activitySeed,
  describeSampleActivity,
  forgetSampleActivity,
  newestCommittedSetId,
  readSampleActivity,
  SAMPLE_ACTIVITY_FILE,
  simulateSampleActivity,
} from '#agent/local/sample-activity';
import { tableDigests } from '../../support/sqlite';
import { useTempDirs } from '../../support/tmp';

const FRACTION = 0.01;

describe('sample CommServe activity between DR backups', () => {
  const tempDir = useTempDirs();

  async function arrange() {
    const root = tempDir();
    const sampleDir = join(root, 'sample');
    await generateSampleCommServe({ dir: sampleDir, sizeBytes: 1024 * 1024 });
    const dest = join(root, 'dr-backups');
    const state = join(root, 'state');
    const commit = (id: number) => {
      mkdirSync(join(dest, setName(id)), { recursive: true });
      writeFileSync(join(dest, setName(id), 'manifest.json'), '{}');
    };
    return { db: join(sampleDir, 'commserv.db'), dest, state, commit };
  }

  it('a run after runs that wrote no SET reports their rows too, and changes other rows (another seed)', async () => {
    const { db, dest, state, commit } = await arrange();
    commit(1);
    // Job 2 was killed mid-dump: its folder has no manifest, so SET 1 stays the last DR backup.
    mkdirSync(join(dest, setName(2)));
    writeFileSync(join(dest, setName(2), 'commserv_FULL.dmp'), 'partial');
    expect(newestCommittedSetId(dest)).toBe(1);

    const first = simulateSampleActivity(db, state, dest, FRACTION);
    expect(first).toMatchObject({ lastSetId: 1, lastSet: setName(1), runs: 1 });
    expect(first.thisRun).toBeGreaterThan(0);
    expect(first.rowsChanged).toBe(first.thisRun);
    expect(describeSampleActivity(first)).toBe(`the sample CommServe changed ${first.thisRun} rows since the last DR backup (${setName(1)})`);
    const afterFirst = tableDigests(db);

    // That run's job was interrupted (no SET): the next run adds its rows to the first one's.
    const second = simulateSampleActivity(db, state, dest, FRACTION);
    expect(second).toMatchObject({ lastSetId: 1, runs: 2, rowsChanged: first.thisRun + second.thisRun });
    expect(describeSampleActivity(second)).toBe(
      `the sample CommServe changed ${second.thisRun} rows; ${first.thisRun + second.thisRun} since the last DR backup (${setName(1)}), as 1 earlier run(s) wrote no SET`,
    );
    expect(activitySeed(1, 1)).not.toBe(activitySeed(1, 0));
    expect(activitySeed(1, 0)).toBe(2); // the first run after SET 1 keeps the seed it always had (the next job id)
    expect(tableDigests(db)).not.toEqual(afterFirst);
    expect(JSON.parse(readFileSync(join(state, SAMPLE_ACTIVITY_FILE), 'utf8'))).toEqual({ lastSetId: 1, rowsChanged: first.thisRun + second.thisRun, runs: 2 });

    // A job commits SET 3: a new count starts.
    commit(3);
    const third = simulateSampleActivity(db, state, dest, FRACTION);
    expect(third).toMatchObject({ lastSetId: 3, lastSet: setName(3), runs: 1, rowsChanged: third.thisRun });
  });

  it('no DR backup yet, a damaged or foreign record, a new sample: the count starts from this run', async () => {
    const { db, dest, state } = await arrange();
    const first = simulateSampleActivity(db, state, dest, FRACTION);
    expect(first).toMatchObject({ lastSetId: 0, lastSet: null, runs: 1 });
    expect(describeSampleActivity(first)).toBe(`the sample CommServe changed ${first.thisRun} rows since it was created (no DR backup yet)`);

    writeFileSync(join(state, SAMPLE_ACTIVITY_FILE), '{"lastSetId": 0, "rowsChanged": -5, "runs": 1}');
    expect(readSampleActivity(state, 0)).toEqual({ lastSetId: 0, rowsChanged: 0, runs: 0 });
    writeFileSync(join(state, SAMPLE_ACTIVITY_FILE), 'not json');
    expect(readSampleActivity(state, 0)).toEqual({ lastSetId: 0, rowsChanged: 0, runs: 0 });
    writeFileSync(join(state, SAMPLE_ACTIVITY_FILE), '{"lastSetId": 4, "rowsChanged": 10, "runs": 1}');
    expect(readSampleActivity(state, 0)).toEqual({ lastSetId: 0, rowsChanged: 0, runs: 0 });
    expect(readSampleActivity(state, 4)).toEqual({ lastSetId: 4, rowsChanged: 10, runs: 1 });

    forgetSampleActivity(state);
    expect(readSampleActivity(state, 4)).toEqual({ lastSetId: 4, rowsChanged: 0, runs: 0 });
  });

  it('a state directory that cannot hold the record: an error naming the file and the reason', async () => {
    const { db, dest } = await arrange();
    const notADir = join(tempDir(), 'state-is-a-file');
    writeFileSync(notADir, 'x');
    expect(() => simulateSampleActivity(db, notADir, dest, FRACTION)).toThrow(
      expect.objectContaining({ code: 'STATE_UNWRITABLE', message: expect.stringContaining(`cannot record the sample CommServe's activity in ${join(notADir, SAMPLE_ACTIVITY_FILE)}: `) }),
    );
  });
});
