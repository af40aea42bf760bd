/**
 * Generates a realistic sample CommServe for the local run and the tests (SPEC §7): the
 * CommServe database in SQLite, the CommServe's registry as a portable `.reg` hive, and the
 * three firewall files. Everything is deterministic from the seed and the requested size: the
 * same seed and size give a byte-identical database file.
 *
 * The database grows by whole days of job history (jobs and events) until it reaches the
 * requested size; the configuration tables keep realistic sizes (they grow slowly with the
 * size: a bigger CommServe database has more clients). Rows are produced one day at a time and
 * inserted with prepared statements in batched transactions, so memory stays bounded.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { writeReg } from '#agent/registry/reg-format';
import { CommserveDrError, DatabaseError, LocalRunError, UsageError } from '#core/errors';
import { buildSampleCatalog, type SampleCatalog } from './catalog';
import { FIREWALL_FILE_NAMES, sampleFirewallFiles } from './firewall';
import { EVENT_COLUMNS, JOB_COLUMNS, sampleHistory } from './history';
import { SAMPLE_REGISTRY_MODULE_KEYS, SAMPLE_REGISTRY_ROOT, sampleRegistryOperations } from './registry';
import {
  SAMPLE_DB_APPLICATION_ID,
  SAMPLE_DB_PAGE_SIZE,
  SAMPLE_DB_SCHEMA_VERSION,
  SAMPLE_SCHEMA_SQL,
  SAMPLE_TABLES,
  type SampleTable,
} from './schema';

/** Default size of the sample database: 100 MiB (104,857,600 bytes). */
export const DEFAULT_SAMPLE_SIZE_BYTES = 100 * 1024 * 1024;
/** Smallest size accepted: 1 MiB (the configuration tables alone take a few hundred KiB). */
export const MIN_SAMPLE_SIZE_BYTES = 1024 * 1024;
/** Default seed. */
export const DEFAULT_SAMPLE_SEED = 1;

/** File name of the sample database inside `dir`. */
export const SAMPLE_DB_FILE = 'commserv.db';
/** Path of the registry hive relative to `dir`. */
export const SAMPLE_REGISTRY_HIVE_FILE = join('registry', 'commserv_hive.reg');
/** Folder of the firewall files relative to `dir`. */
export const SAMPLE_FIREWALL_DIR = 'firewall';

/** Rows per transaction while the history is inserted (a transaction always holds whole days). */
const ROWS_PER_TRANSACTION = 40_000;

/** Options of {@link generateSampleCommServe}. */
export interface GenerateSampleOptions {
  /** Directory to create the sample in (created if missing). Existing sample files in it are replaced. */
  dir: string;
  /** Target size of `commserv.db` in bytes (default {@link DEFAULT_SAMPLE_SIZE_BYTES}, at least {@link MIN_SAMPLE_SIZE_BYTES}); the file ends within ±10 %. */
  sizeBytes?: number;
  /** Seed of the generator, any safe integer (default 1). */
  seed?: number;
  /** Called after each committed batch and at the end with the database size so far, in bytes. */
  onProgress?: (bytesWritten: number) => void;
}

/** What {@link generateSampleCommServe} created. */
export interface SampleCommServe {
  /** Absolute or `dir`-relative path of the SQLite CommServe database (`<dir>/commserv.db`). */
  dbPath: string;
  /** Path of the registry hive (`<dir>/registry/commserv_hive.reg`, REGEDIT5: UTF-16LE with BOM). */
  registryHivePath: string;
  /** Root key of the CommServe's registry, e.g. `HKEY_LOCAL_MACHINE\SOFTWARE\CommServeDR-Sample\CommServe`. */
  registryRoot: string;
  /** Module keys to export as separate `<module>.reg` files (MediaAgent, Cvd), under `registryRoot`. */
  moduleKeys: string[];
  /** Directory holding `FwPeers.txt`, `FwHosts.txt` and `FwPorts.txt` (`<dir>/firewall`). */
  firewallDir: string;
  /** Actual size of the database file, in bytes. */
  sizeBytes: number;
  /** Row count of every table of the sample schema. */
  tables: Record<SampleTable, number>;
  /** Seed used. */
  seed: number;
}

let partialCounter = 0;

/**
 * Creates a sample CommServe in `options.dir`: `commserv.db` (SQLite, page size 4096, journal
 * mode DELETE, foreign keys declared, closed cleanly), `registry/commserv_hive.reg` and
 * `firewall/Fw{Peers,Hosts,Ports}.txt`. The database is written under a temporary name and
 * renamed when complete, so a crash never leaves a half-written `commserv.db`.
 *
 * Same seed and size → byte-identical database, registry and firewall files.
 *
 * @throws UsageError when `sizeBytes` is not an integer ≥ {@link MIN_SAMPLE_SIZE_BYTES}, when
 *   `seed` is not a safe integer, or `dir` is empty.
 * @throws DatabaseError (`SAMPLE_DB_FAILED`) when SQLite fails while writing the database.
 * @throws LocalRunError (`SAMPLE_GENERATE_FAILED`) when a file or directory cannot be written.
 */
export async function generateSampleCommServe(options: GenerateSampleOptions): Promise<SampleCommServe> {
  const { dir, onProgress } = options;
  const sizeBytes = options.sizeBytes ?? DEFAULT_SAMPLE_SIZE_BYTES;
  const seed = options.seed ?? DEFAULT_SAMPLE_SEED;
  if (typeof dir !== 'string' || dir.length === 0) throw new UsageError('the sample CommServe needs a directory');
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < MIN_SAMPLE_SIZE_BYTES) {
    throw new UsageError(`sample database size must be a whole number of bytes ≥ ${MIN_SAMPLE_SIZE_BYTES} (1 MiB), got ${String(sizeBytes)}`, { context: { sizeBytes } });
  }
  if (!Number.isSafeInteger(seed)) throw new UsageError(`sample seed must be an integer, got ${String(seed)}`, { context: { seed } });

  const dbPath = join(dir, SAMPLE_DB_FILE);
  const registryHivePath = join(dir, SAMPLE_REGISTRY_HIVE_FILE);
  const firewallDir = join(dir, SAMPLE_FIREWALL_DIR);
  const partialPath = join(dir, `.${SAMPLE_DB_FILE}.${process.pid}.${++partialCounter}.partial`);
  const catalog = buildSampleCatalog(seed, sizeBytes);

  try {
    await mkdir(join(dir, 'registry'), { recursive: true });
    await mkdir(firewallDir, { recursive: true });
    await removeDatabaseFiles(partialPath);

    const tables = await writeDatabase(partialPath, catalog, seed, sizeBytes, onProgress);
    // Never leave a stale hot journal next to the new file: SQLite would "roll it back" into it.
    await removeDatabaseFiles(dbPath);
    await rename(partialPath, dbPath);

    const hive = writeReg({ format: 'REGEDIT5', operations: sampleRegistryOperations(seed) });
    await writeFile(registryHivePath, hive);
    const firewall = sampleFirewallFiles(catalog, seed);
    for (const name of FIREWALL_FILE_NAMES) await writeFile(join(firewallDir, name), firewall[name], 'latin1');

    const actual = (await stat(dbPath)).size;
    onProgress?.(actual);
    return {
      dbPath,
      registryHivePath,
      registryRoot: SAMPLE_REGISTRY_ROOT,
      moduleKeys: [...SAMPLE_REGISTRY_MODULE_KEYS],
      firewallDir,
      sizeBytes: actual,
      tables,
      seed,
    };
  } catch (error) {
    await removeDatabaseFiles(partialPath).catch(() => undefined);
    throw asSampleError(error, dir);
  }
}

async function removeDatabaseFiles(path: string): Promise<void> {
  for (const suffix of ['', '-journal', '-wal', '-shm']) await rm(path + suffix, { force: true });
}

function asSampleError(error: unknown, dir: string): Error {
  if (error instanceof CommserveDrError) return error;
  if (error instanceof Database.SqliteError) {
    return new DatabaseError('SAMPLE_DB_FAILED', `cannot write the sample CommServe database in ${dir}: ${error.message}`, {
      cause: error, context: { dir, sqliteCode: error.code },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LocalRunError('SAMPLE_GENERATE_FAILED', `cannot generate the sample CommServe in ${dir}: ${message}`, { cause: error, context: { dir } });
}

/** Lets timers, progress output and heartbeats run between batches. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function writeDatabase(
  path: string,
  catalog: SampleCatalog,
  seed: number,
  targetBytes: number,
  onProgress: ((bytes: number) => void) | undefined,
): Promise<Record<SampleTable, number>> {
  const db = new Database(path);
  try {
    db.pragma(`page_size = ${SAMPLE_DB_PAGE_SIZE}`);
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF'); // a crash leaves only the .partial file, which is discarded
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('cache_size = -32768'); // 32 MiB
    db.pragma('foreign_keys = ON');
    db.pragma(`application_id = ${SAMPLE_DB_APPLICATION_ID}`);
    db.pragma(`user_version = ${SAMPLE_DB_SCHEMA_VERSION}`);

    db.transaction(() => {
      db.exec(SAMPLE_SCHEMA_SQL);
      insertCatalog(db, catalog);
    })();

    const pageBytes = (): number => (db.pragma('page_count', { simple: true }) as number) * SAMPLE_DB_PAGE_SIZE;
    const configBytes = pageBytes();
    if (configBytes >= targetBytes) {
      throw new UsageError(`sample database size ${targetBytes} bytes is too small: the configuration alone takes ${configBytes} bytes`, {
        context: { sizeBytes: targetBytes, configBytes },
      });
    }

    const insertJob = db.prepare(`INSERT INTO job_history (${JOB_COLUMNS.join(', ')}) VALUES (${JOB_COLUMNS.map(() => '?').join(', ')})`);
    const insertEvent = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')})`);
    const ageJobs = db.prepare(
      'UPDATE job_history SET is_aged = 1, aged_time = ?, last_update_time = ? WHERE start_time >= ? AND start_time < ? AND storage_policy_id = ? AND is_aged = 0',
    );

    let days = 0;
    let rowsInTransaction = 0;
    db.exec('BEGIN');
    for (const day of sampleHistory(catalog, seed)) {
      for (const w of day.aging) ageJobs.run(w.agedTime, w.agedTime, w.fromTime, w.toTime, w.storagePolicyId);
      for (const job of day.jobs) insertJob.run(job);
      for (const event of day.events) insertEvent.run(event);
      rowsInTransaction += day.jobs.length + day.events.length;
      days++;
      // Stop at the day boundary closest to the target: half a day's growth is the tolerance.
      const bytes = pageBytes();
      const bytesPerDay = (bytes - configBytes) / days;
      if (bytes + bytesPerDay / 2 >= targetBytes) break;
      if (rowsInTransaction >= ROWS_PER_TRANSACTION) {
        db.exec('COMMIT');
        onProgress?.(bytes);
        await yieldToEventLoop();
        db.exec('BEGIN');
        rowsInTransaction = 0;
      }
    }
    db.exec('COMMIT');

    const tables = {} as Record<SampleTable, number>;
    for (const table of SAMPLE_TABLES) tables[table] = (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return tables;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

/** Inserts every configuration row; columns are read from the table, extra row fields are ignored. */
function insertCatalog(db: Database.Database, catalog: SampleCatalog): void {
  const insert = (table: SampleTable, rows: ReadonlyArray<object>): void => {
    const columns = (db.pragma(`table_info(${table})`) as Array<{ name: string }>).map((c) => c.name);
    const statement = db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
    for (const row of rows) {
      const record = row as Record<string, unknown>;
      statement.run(columns.map((c) => record[c] ?? null));
    }
  };
  insert('commcell', [catalog.commcell]);
  insert('client_groups', catalog.clientGroups);
  insert('clients', catalog.clients);
  insert('client_group_members', catalog.clientGroupMembers);
  insert('media_agents', catalog.mediaAgents);
  insert('libraries', catalog.libraries);
  insert('mount_paths', catalog.mountPaths);
  insert('storage_policies', catalog.storagePolicies);
  insert('storage_policy_copies', catalog.storagePolicyCopies);
  insert('schedule_policies', catalog.schedulePolicies);
  insert('schedules', catalog.schedules);
  insert('subclients', catalog.subclients);
  insert('users', catalog.users);
  insert('user_groups', catalog.userGroups);
  insert('user_group_members', catalog.userGroupMembers);
  insert('alerts', catalog.alerts);
  insert('alert_recipients', catalog.alertRecipients);
  insert('dr_settings', catalog.drSettings);
}
