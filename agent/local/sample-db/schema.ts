/**
 * Schema of the sample CommServe database (SQLite): the tables an operator of a Commvault-like
 * backup server recognises, with declared foreign keys and the indexes the console's reports use.
 *
 * Conventions: every `*_time` column is Unix time in seconds (UTC), every `*_bytes` column is a
 * size in bytes, every boolean is `0`/`1`.
 */

/** Value written to `PRAGMA application_id` ("CSDR"), so tools can recognise a sample CommServe. */
export const SAMPLE_DB_APPLICATION_ID = 0x43534452;

/** Value written to `PRAGMA user_version`: the version of this schema. */
export const SAMPLE_DB_SCHEMA_VERSION = 1;

/** Page size of the generated database, in bytes. */
export const SAMPLE_DB_PAGE_SIZE = 4096;

/** Job statuses as the CommServe records them. */
export const JOB_STATUSES = [
  'Completed',
  'Completed w/ one or more errors',
  'Completed w/ one or more warnings',
  'Failed',
  'Killed',
  'Running',
  'Waiting',
  'Pending',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Backup levels recorded in `job_history.backup_level` (NULL for administrative jobs). */
export const BACKUP_LEVELS = ['Full', 'Incremental', 'Differential', 'Synthetic Full', 'Transaction Log'] as const;
export type BackupLevel = (typeof BACKUP_LEVELS)[number];

/** Job types recorded in `job_history.job_type`. */
export const JOB_TYPES = ['Backup', 'Auxiliary Copy', 'Data Aging', 'Disaster Recovery Backup'] as const;
export type JobType = (typeof JOB_TYPES)[number];

/** Event severities, lowest first. */
export const EVENT_SEVERITIES = ['Information', 'Minor', 'Major', 'Critical'] as const;
export type EventSeverity = (typeof EVENT_SEVERITIES)[number];

const quoted = (values: readonly string[]): string => values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');

/**
 * Tables in creation order (parents before children). The generator inserts in this order too,
 * so foreign keys are satisfied at every statement.
 */
export const SAMPLE_TABLES = [
  'commcell',
  'client_groups',
  'clients',
  'client_group_members',
  'media_agents',
  'libraries',
  'mount_paths',
  'storage_policies',
  'storage_policy_copies',
  'schedule_policies',
  'schedules',
  'subclients',
  'users',
  'user_groups',
  'user_group_members',
  'alerts',
  'alert_recipients',
  'dr_settings',
  'job_history',
  'events',
] as const;
export type SampleTable = (typeof SAMPLE_TABLES)[number];

/** DDL of the whole schema: tables, then indexes. Run once in an empty database. */
export const SAMPLE_SCHEMA_SQL = `
CREATE TABLE commcell (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL,
  guid                  TEXT NOT NULL UNIQUE,
  commserve_client_name TEXT NOT NULL,
  commserve_hostname    TEXT NOT NULL,
  version               TEXT NOT NULL,
  feature_release       INTEGER NOT NULL,
  maintenance_release   INTEGER NOT NULL,
  install_time          INTEGER NOT NULL,
  time_zone             TEXT NOT NULL,
  license_type          TEXT NOT NULL,
  license_expiry_time   INTEGER
);

CREATE TABLE client_groups (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL,
  created_time INTEGER NOT NULL
);

CREATE TABLE clients (
  id               INTEGER PRIMARY KEY,
  commcell_id      INTEGER NOT NULL REFERENCES commcell(id),
  name             TEXT NOT NULL UNIQUE,
  hostname         TEXT NOT NULL UNIQUE,
  ip_address       TEXT NOT NULL,
  os_type          TEXT NOT NULL CHECK (os_type IN ('Windows', 'Linux', 'Unix')),
  os_version       TEXT NOT NULL,
  cv_version       TEXT NOT NULL,
  install_time     INTEGER NOT NULL,
  client_group_id  INTEGER REFERENCES client_groups(id),
  is_virtual       INTEGER NOT NULL DEFAULT 0,
  cpu_cores        INTEGER NOT NULL,
  memory_gb        INTEGER NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('Online', 'Offline', 'Decommissioned')),
  description      TEXT
);
CREATE INDEX ix_clients_group ON clients(client_group_id);

CREATE TABLE client_group_members (
  client_group_id INTEGER NOT NULL REFERENCES client_groups(id) ON DELETE CASCADE,
  client_id       INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  added_time      INTEGER NOT NULL,
  PRIMARY KEY (client_group_id, client_id)
) WITHOUT ROWID;
CREATE INDEX ix_client_group_members_client ON client_group_members(client_id);

CREATE TABLE media_agents (
  id                  INTEGER PRIMARY KEY,
  client_id           INTEGER NOT NULL UNIQUE REFERENCES clients(id),
  name                TEXT NOT NULL UNIQUE,
  index_cache_path    TEXT NOT NULL,
  index_cache_bytes   INTEGER NOT NULL,
  ddb_path            TEXT,
  max_streams         INTEGER NOT NULL,
  is_online           INTEGER NOT NULL DEFAULT 1,
  created_time        INTEGER NOT NULL
);

CREATE TABLE libraries (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  library_type    TEXT NOT NULL CHECK (library_type IN ('disk', 'tape', 'cloud')),
  vendor          TEXT NOT NULL,
  model           TEXT NOT NULL,
  capacity_bytes  INTEGER,            -- NULL: no fixed capacity (cloud)
  used_bytes      INTEGER NOT NULL,
  drive_count     INTEGER,            -- tape only
  slot_count      INTEGER,            -- tape only
  cloud_bucket    TEXT,               -- cloud only
  cloud_region    TEXT,               -- cloud only
  created_time    INTEGER NOT NULL
);
CREATE INDEX ix_libraries_type ON libraries(library_type);

CREATE TABLE mount_paths (
  id                   INTEGER PRIMARY KEY,
  library_id           INTEGER NOT NULL REFERENCES libraries(id) ON DELETE CASCADE,
  media_agent_id       INTEGER NOT NULL REFERENCES media_agents(id),
  path                 TEXT NOT NULL,
  capacity_bytes       INTEGER NOT NULL,
  free_bytes           INTEGER NOT NULL,
  reserve_space_bytes  INTEGER NOT NULL,
  enabled              INTEGER NOT NULL DEFAULT 1,
  UNIQUE (media_agent_id, path)
);
CREATE INDEX ix_mount_paths_library ON mount_paths(library_id);

CREATE TABLE storage_policies (
  id               INTEGER PRIMARY KEY,
  name             TEXT NOT NULL UNIQUE,
  description      TEXT NOT NULL,
  dedup_enabled    INTEGER NOT NULL,
  block_size_kb    INTEGER NOT NULL,
  created_time     INTEGER NOT NULL
);

CREATE TABLE storage_policy_copies (
  id                 INTEGER PRIMARY KEY,
  storage_policy_id  INTEGER NOT NULL REFERENCES storage_policies(id) ON DELETE CASCADE,
  name               TEXT NOT NULL,
  copy_precedence    INTEGER NOT NULL,
  copy_type          TEXT NOT NULL CHECK (copy_type IN ('primary', 'secondary', 'aux')),
  retention_days     INTEGER NOT NULL,
  retention_cycles   INTEGER NOT NULL,
  media_agent_id     INTEGER NOT NULL REFERENCES media_agents(id),
  library_id         INTEGER NOT NULL REFERENCES libraries(id),
  encryption         TEXT NOT NULL,
  is_active          INTEGER NOT NULL DEFAULT 1,
  UNIQUE (storage_policy_id, copy_precedence)
);
CREATE INDEX ix_sp_copies_library ON storage_policy_copies(library_id);
CREATE INDEX ix_sp_copies_media_agent ON storage_policy_copies(media_agent_id);

CREATE TABLE schedule_policies (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  policy_type  TEXT NOT NULL CHECK (policy_type IN ('Data Protection', 'Auxiliary Copy', 'Data Aging', 'Disaster Recovery')),
  description  TEXT NOT NULL,
  enabled      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE schedules (
  id                  INTEGER PRIMARY KEY,
  schedule_policy_id  INTEGER NOT NULL REFERENCES schedule_policies(id) ON DELETE CASCADE,
  name                TEXT NOT NULL,
  backup_level        TEXT CHECK (backup_level IS NULL OR backup_level IN (${quoted(BACKUP_LEVELS)})),
  frequency           TEXT NOT NULL CHECK (frequency IN ('Hourly', 'Daily', 'Weekly', 'Monthly')),
  repeat_hours        INTEGER,
  start_time          TEXT NOT NULL,          -- local wall-clock HH:MM
  days_of_week        TEXT,                   -- e.g. 'Mon,Tue,Wed'
  day_of_month        INTEGER,
  time_zone           TEXT NOT NULL,
  enabled             INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX ix_schedules_policy ON schedules(schedule_policy_id);

CREATE TABLE subclients (
  id                  INTEGER PRIMARY KEY,
  client_id           INTEGER NOT NULL REFERENCES clients(id),
  agent_type          TEXT NOT NULL,
  backup_set          TEXT NOT NULL,
  name                TEXT NOT NULL,
  content_paths       TEXT NOT NULL,          -- JSON array of paths / databases / VMs
  filters             TEXT NOT NULL,          -- JSON array of exclusion patterns
  storage_policy_id   INTEGER NOT NULL REFERENCES storage_policies(id),
  schedule_policy_id  INTEGER REFERENCES schedule_policies(id),
  data_streams        INTEGER NOT NULL,
  created_time        INTEGER NOT NULL,
  enabled             INTEGER NOT NULL DEFAULT 1,
  UNIQUE (client_id, agent_type, backup_set, name)
);
CREATE INDEX ix_subclients_storage_policy ON subclients(storage_policy_id);
CREATE INDEX ix_subclients_schedule_policy ON subclients(schedule_policy_id);

CREATE TABLE users (
  id               INTEGER PRIMARY KEY,
  login            TEXT NOT NULL UNIQUE,
  full_name        TEXT NOT NULL,
  email            TEXT NOT NULL,
  domain           TEXT,                      -- NULL: local CommCell user
  enabled          INTEGER NOT NULL DEFAULT 1,
  created_time     INTEGER NOT NULL,
  last_login_time  INTEGER
);

CREATE TABLE user_groups (
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  description  TEXT NOT NULL,
  domain       TEXT,
  permissions  TEXT NOT NULL                  -- JSON array of permission names
);

CREATE TABLE user_group_members (
  user_group_id  INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
  user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (user_group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX ix_user_group_members_user ON user_group_members(user_id);

CREATE TABLE alerts (
  id                  INTEGER PRIMARY KEY,
  name                TEXT NOT NULL UNIQUE,
  category            TEXT NOT NULL,
  alert_type          TEXT NOT NULL,
  severity            TEXT NOT NULL CHECK (severity IN (${quoted(EVENT_SEVERITIES)})),
  criteria            TEXT NOT NULL,
  notify_via          TEXT NOT NULL,
  enabled             INTEGER NOT NULL DEFAULT 1,
  created_by_user_id  INTEGER REFERENCES users(id),
  created_time        INTEGER NOT NULL
);

CREATE TABLE alert_recipients (
  id             INTEGER PRIMARY KEY,
  alert_id       INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
  user_id        INTEGER REFERENCES users(id),
  user_group_id  INTEGER REFERENCES user_groups(id),
  email          TEXT,
  CHECK (user_id IS NOT NULL OR user_group_id IS NOT NULL OR email IS NOT NULL)
);
CREATE INDEX ix_alert_recipients_alert ON alert_recipients(alert_id);

CREATE TABLE dr_settings (
  name         TEXT PRIMARY KEY,
  value        TEXT NOT NULL,
  description  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE job_history (
  job_id             INTEGER PRIMARY KEY,
  job_type           TEXT NOT NULL CHECK (job_type IN (${quoted(JOB_TYPES)})),
  client_id          INTEGER NOT NULL REFERENCES clients(id),
  subclient_id       INTEGER REFERENCES subclients(id),
  agent_type         TEXT,
  backup_level       TEXT CHECK (backup_level IS NULL OR backup_level IN (${quoted(BACKUP_LEVELS)})),
  status             TEXT NOT NULL CHECK (status IN (${quoted(JOB_STATUSES)})),
  start_time         INTEGER NOT NULL,
  end_time           INTEGER,                 -- NULL while running
  size_bytes         INTEGER NOT NULL,        -- application size processed
  media_bytes        INTEGER NOT NULL,        -- written to media after dedup and compression
  files_count        INTEGER NOT NULL,
  failed_files       INTEGER NOT NULL DEFAULT 0,
  media_agent_id     INTEGER REFERENCES media_agents(id),
  storage_policy_id  INTEGER REFERENCES storage_policies(id),
  error_code         TEXT,
  failure_reason     TEXT,
  is_aged            INTEGER NOT NULL DEFAULT 0,
  aged_time          INTEGER,
  last_update_time   INTEGER NOT NULL
);
CREATE INDEX ix_job_history_client_start ON job_history(client_id, start_time);
CREATE INDEX ix_job_history_subclient_start ON job_history(subclient_id, start_time);
CREATE INDEX ix_job_history_start ON job_history(start_time);
CREATE INDEX ix_job_history_status ON job_history(status, start_time);

CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  event_time  INTEGER NOT NULL,
  severity    TEXT NOT NULL CHECK (severity IN (${quoted(EVENT_SEVERITIES)})),
  event_code  TEXT NOT NULL,                  -- e.g. '19:857'
  program     TEXT NOT NULL,
  computer    TEXT NOT NULL,
  job_id      INTEGER REFERENCES job_history(job_id) ON DELETE CASCADE,
  client_id   INTEGER REFERENCES clients(id),
  message     TEXT NOT NULL
);
CREATE INDEX ix_events_time ON events(event_time);
CREATE INDEX ix_events_job ON events(job_id);
CREATE INDEX ix_events_severity_time ON events(severity, event_time);
`;
