/**
 * Simulates a day of CommServe activity on a sample database, so differential backups have
 * something to capture: job statuses change (running jobs finish, old jobs are aged), new jobs
 * and events are recorded, and the oldest events are pruned.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { CommserveDrError, DatabaseError, UsageError } from '#core/errors';
import { Prng } from './prng';

const GB = 1024 ** 3;

/** Options of {@link mutateSampleCommServe}. */
export interface MutateSampleOptions {
  /** Share of all rows of the database to change, in (0, 1]; e.g. `0.05` changes about 5 % of the rows. */
  fraction: number;
  /** Seed of this mutation (integer): the same seed on the same database makes the same changes. */
  seed: number;
}

interface SubclientInfo { id: number; client_id: number; agent_type: string; storage_policy_id: number; client_name: string; media_agent_id: number | null }

/**
 * Changes about `fraction` of all rows of a sample CommServe database, in one transaction:
 * - ~50 % updates of `job_history` rows (a Running/Waiting/Pending job moves on; other jobs are
 *   marked aged), each with a new `last_update_time`, spread over the whole table;
 * - ~35 % inserts: new backup jobs after the newest one (a few still Running), each with its
 *   start (and end) event, then stand-alone events;
 * - ~15 % deletes of the oldest events.
 *
 * Synchronous (better-sqlite3); the database is closed cleanly before it returns.
 *
 * @param dbPath path of a database made by `generateSampleCommServe`.
 * @returns the number of rows changed (updated + inserted + deleted), at least 1.
 * @throws UsageError when `fraction` is not in (0, 1] or `seed` is not an integer.
 * @throws DatabaseError `DB_NOT_FOUND` when the file does not exist, `SAMPLE_DB_FAILED` when SQLite fails
 *   (for instance the file is not a sample CommServe database); nothing is changed then.
 */
export function mutateSampleCommServe(dbPath: string, options: MutateSampleOptions): number {
  const { fraction, seed } = options;
  if (!(typeof fraction === 'number' && fraction > 0 && fraction <= 1)) {
    throw new UsageError(`mutation fraction must be in (0, 1], got ${String(fraction)}`, { context: { fraction } });
  }
  if (!Number.isSafeInteger(seed)) throw new UsageError(`mutation seed must be an integer, got ${String(seed)}`, { context: { seed } });
  if (!existsSync(dbPath)) throw new DatabaseError('DB_NOT_FOUND', `sample CommServe database not found: ${dbPath}`, { context: { dbPath } });

  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { fileMustExist: true });
    db.pragma('foreign_keys = ON');
    return applyMutation(db, fraction, seed);
  } catch (error) {
    if (error instanceof CommserveDrError) throw error;
    throw new DatabaseError('SAMPLE_DB_FAILED', `cannot mutate the sample CommServe database ${dbPath}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error, context: { dbPath },
    });
  } finally {
    db?.close();
  }
}

function applyMutation(db: Database.Database, fraction: number, seed: number): number {
  const rng = new Prng(seed, 7);
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>).map((t) => t.name);
  let totalRows = 0;
  for (const t of tables) totalRows += (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
  const target = Math.max(1, Math.round(fraction * totalRows));
  const updatesWanted = Math.round(target * 0.5);
  const deletesWanted = Math.round(target * 0.15);

  const jobs = db.prepare('SELECT min(job_id) AS lo, max(job_id) AS hi, count(*) AS n, max(coalesce(end_time, start_time)) AS last FROM job_history').get() as {
    lo: number | null; hi: number | null; n: number; last: number | null;
  };
  const events = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
  const subclients = db.prepare(`
    SELECT s.id, s.client_id, s.agent_type, s.storage_policy_id, c.name AS client_name,
           (SELECT media_agent_id FROM storage_policy_copies WHERE storage_policy_id = s.storage_policy_id ORDER BY copy_precedence LIMIT 1) AS media_agent_id
    FROM subclients s JOIN clients c ON c.id = s.client_id
    WHERE s.enabled = 1 ORDER BY s.id`).all() as SubclientInfo[];
  const commserve = (db.prepare('SELECT commserve_client_name AS name FROM commcell LIMIT 1').get() as { name: string } | undefined)?.name ?? 'commserve';
  if (subclients.length === 0 || jobs.hi === null) {
    throw new DatabaseError('SAMPLE_DB_FAILED', 'the database has no subclients or no job history: not a sample CommServe database');
  }
  // "Now" for this mutation: an hour after the newest recorded activity.
  const now = (jobs.last ?? 0) + 3600 + rng.int(0, 3599);

  const update = db.prepare(`
    UPDATE job_history SET
      status = CASE status WHEN 'Running' THEN 'Completed' WHEN 'Waiting' THEN 'Running' WHEN 'Pending' THEN 'Waiting' ELSE status END,
      end_time = CASE WHEN status = 'Running' THEN ? ELSE end_time END,
      is_aged = CASE WHEN status IN ('Running', 'Waiting', 'Pending') THEN is_aged ELSE 1 END,
      aged_time = CASE WHEN status IN ('Running', 'Waiting', 'Pending') THEN aged_time ELSE coalesce(aged_time, ?) END,
      last_update_time = ?
    WHERE job_id = ?`);
  const insertJob = db.prepare(`
    INSERT INTO job_history (job_id, job_type, client_id, subclient_id, agent_type, backup_level, status, start_time, end_time,
      size_bytes, media_bytes, files_count, failed_files, media_agent_id, storage_policy_id, error_code, failure_reason, is_aged, aged_time, last_update_time)
    VALUES (?, 'Backup', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, NULL, 0, NULL, ?)`);
  const insertEvent = db.prepare('INSERT INTO events (event_time, severity, event_code, program, computer, job_id, client_id, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const deleteOldest = db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)');

  return db.transaction(() => {
    let changed = 0;

    // Updates, spread over the whole history.
    const span = jobs.hi! - jobs.lo! + 1;
    const maxUpdates = Math.min(updatesWanted, jobs.n);
    const picked = new Set<number>();
    for (let attempts = 0; picked.size < maxUpdates && attempts < maxUpdates * 4 + 100; attempts++) {
      const jobId = jobs.lo! + Math.floor(rng.next() * span);
      if (picked.has(jobId)) continue;
      picked.add(jobId);
      changed += update.run(now, now, now + picked.size, jobId).changes;
    }

    // Inserts: new jobs with their events, then stand-alone events.
    const deletesPlanned = Math.min(deletesWanted, events.n);
    let toInsert = target - changed - deletesPlanned;
    let jobId = jobs.hi! + 1;
    let t = now;
    while (toInsert >= 3) {
      const sc = rng.pick(subclients);
      const running = rng.chance(0.05);
      const level = rng.weighted([['Incremental', 6], ['Transaction Log', 3], ['Full', 1]] as const);
      const size = Math.round(rng.logNormal(level === 'Full' ? 120 : 4, 3) * GB);
      const duration = 60 + rng.int(0, 3600);
      const end = running ? null : t + duration;
      changed += insertJob.run(jobId, sc.client_id, sc.id, sc.agent_type, level, running ? 'Running' : 'Completed', t, end,
        size, Math.round(size * 0.3), rng.int(1, 50000), sc.media_agent_id, sc.storage_policy_id, end ?? t).changes;
      changed += insertEvent.run(t, 'Information', '7:211', 'JobManager', commserve, jobId, sc.client_id,
        `Job [${jobId}] started. Client [${sc.client_name}] Agent Type [${sc.agent_type}] Backup Level [${level}].`).changes;
      changed += insertEvent.run(end ?? t + 5, 'Information', running ? '7:214' : '7:227', 'JobManager', commserve, jobId, sc.client_id, running
        ? `Job [${jobId}] is running: phase [Backup], ${rng.int(1, 99)}% complete.`
        : `Job [${jobId}] completed. Size of application [${(size / GB).toFixed(2)} GB], duration [${duration} s].`).changes;
      toInsert -= 3;
      jobId++;
      t += rng.int(5, 120);
    }
    for (; toInsert > 0; toInsert--) {
      const sc = rng.pick(subclients);
      changed += insertEvent.run(t, 'Information', '32:1001', 'CvAuth', commserve, null, null, `User [admin] viewed the job history of client [${sc.client_name}].`).changes;
      t += rng.int(1, 60);
    }

    // Deletes: the oldest events (event pruning).
    changed += deleteOldest.run(deletesPlanned).changes;
    return changed;
  })();
}
