/**
 * Settings (SPEC §9): names, defaults and validation. Pure: reading them from a config file,
 * the environment or SSM Parameter Store is done by the agent and the Lambdas.
 *
 * Setting names are the SSM parameter names (`/commserve-dr/<cell>/<Name>`), so one vocabulary serves
 * the config file, the parameters and the docs.
 */
import { z } from 'zod';
import { ConfigError } from './errors';

/** Glacier-class storage classes allowed for phase-2 archive copies (SPEC §4.3). */
export const ArchiveStorageClass = z.enum(['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR']);
export type ArchiveStorageClass = z.infer<typeof ArchiveStorageClass>;

/** Minimum storage duration per archive class, in days (S3 pricing: early deletion is charged). */
export const ARCHIVE_MINIMUM_DAYS: Record<ArchiveStorageClass, number> = {
  GLACIER: 90,
  GLACIER_IR: 90,
  DEEP_ARCHIVE: 180,
};

const SqliteDatabase = z.object({
  engine: z.literal('sqlite'),
  /** Path of the CommServe SQLite database file. */
  path: z.string().min(1),
});
const SqlServerDatabase = z.object({
  engine: z.literal('sqlserver'),
  server: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(1433),
  database: z.string().min(1),
  /** SQL login name; the password comes from `passwordEnv` (local) or `passwordParameter` (SSM SecureString). */
  user: z.string().min(1).optional(),
  passwordEnv: z.string().min(1).optional(),
  passwordParameter: z.string().min(1).optional(),
  /**
   * Directory where the SQL Server service writes backup files, *as the server sees it* (`D:\\SQLBackup`,
   * `/var/opt/mssql/backup`). Recovery and `verify` copy the verified staged dumps here too, so the service can read
   * them. Default: the server's `SERVERPROPERTY('InstanceDefaultBackupPath')` (SQL Server 2019+).
   */
  backupDirectory: z.string().min(1).optional(),
  /**
   * The same backup directory *as the agent sees it* when it is not local to the agent (a share such as
   * `\\\\cs01\\SQLBackup$` or a mount). Default: `backupDirectory` (the agent runs on the SQL Server machine).
   */
  agentBackupDirectory: z.string().min(1).optional(),
  /**
   * T-SQL run in the CommServe database to disable job activity when the integrity check finds corruption
   * (SPEC §4.2 step 1), e.g. `EXEC dbo.DisableJobActivity @reason = {reason}`; `{reason}` becomes an N'…'
   * string. Unset (the default): the registry switch `JobActivityDisabled` is set instead, as for SQLite.
   */
  jobActivityDisableStatement: z.string().min(1).optional(),
  /** Backups `WITH COMPRESSION` (true) or `NO_COMPRESSION` (false); unset: the server's `backup compression default`. */
  compression: z.boolean().optional(),
  /**
   * Recovery: directory for the restored database's data files (`MOVE … TO`), as the target server sees it.
   * Default: the server's `SERVERPROPERTY('InstanceDefaultDataPath')`.
   */
  restoreDataDirectory: z.string().min(1).optional(),
  /**
   * Recovery: directory for the restored database's log files, as the target server sees it.
   * Default: the server's `SERVERPROPERTY('InstanceDefaultLogPath')`.
   */
  restoreLogDirectory: z.string().min(1).optional(),
  /**
   * Accept a server certificate the agent's machine does not trust (self-signed). TLS is requested either way;
   * this only disables the certificate check, so leave it false (default) outside test instances.
   */
  trustServerCertificate: z.boolean().default(false),
  /** Pin the server certificate: a PEM file of the server's certificate or its CA (docs/SQLSERVER.md, "TLS"). */
  tlsCaFile: z.string().min(1).optional(),
  /** Pin the server certificate by its SHA-1 (40 hex) or SHA-256 (64 hex) fingerprint instead of a CA file. */
  tlsCertificateThumbprint: z.string().regex(/^[0-9A-Fa-f: ]+$/, 'hex digits (colons and spaces allowed)').optional(),
  /** Name expected in the server certificate when `server` is an IP address or another name (tedious `serverName`). */
  tlsServerName: z.string().min(1).optional(),
  /** `sql` (SQL Server login; unset means sql) or `ntlm` (Windows domain account `domain\\user` with its password). */
  authentication: z.enum(['sql', 'ntlm']).optional(),
  /** Windows domain of `user` for `authentication: "ntlm"`. */
  domain: z.string().min(1).optional(),
});

/** Registry root of the generated sample CommServe (the local defaults export it). */
const SAMPLE_ROOT = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServeDR-Sample\\CommServe';

const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24-hour)');

/** Every setting, with its default. Durations carry their unit in the name. */
export const SettingsSchema = z
  .object({
    /** Successful complete FULL cycles kept at the hot-site (plus the open one). */
    RetainCycles: z.number().int().min(1).default(5),
    /** Days a SET whose phase-2 copy failed (or an incomplete SET) is kept. */
    SetLifeSpanForFailedDR: z.number().int().min(1).default(90),
    /** When true, job activity stays enabled even if the integrity check finds corruption. */
    DisableActivityOnDbCorruption: z.boolean().default(false),
    ArchiveStorageClass: ArchiveStorageClass.default('GLACIER'),
    /** FULL cycles kept in `archive/`; null keeps everything (default). */
    ArchiveRetainCycles: z.number().int().min(1).nullable().default(null),
    /** Phase-1 destination: local or network directory holding the SET folders. */
    Phase1Destination: z.string().min(1).default('.commserve-dr/dr-backups'),
    /** Attempts at creating the phase-1 destination before the local copy is skipped (SPEC §4.2 step 7). */
    DestinationRetryCount: z.number().int().min(1).default(3),
    DestinationRetryIntervalSeconds: z.number().min(0).default(5),
    DbRetryCount: z.number().int().min(0).default(10),
    DbRetryIntervalMinutes: z.number().min(0).default(30),
    ArchiveRetryCount: z.number().int().min(0).default(10),
    ArchiveRetryIntervalMinutes: z.number().min(0).default(30),
    /**
     * Requests each job may spend checking kept SETs at the hot-site against their manifests (HeadObject with the S3
     * checksum, no download; issue 16): least recently checked first. 0 turns the checksum check off (the listing still
     * finds missing and truncated objects). Default 150: a full pass over 5 kept cycles of 7 SETs in 2 daily jobs (3 with a full open cycle).
     */
    ScrubRequestsPerJob: z.number().int().min(0).default(150),
    /**
     * Minutes between LOG points (SPEC §4.5): the RPO target; the RPO alarm fires past twice this. `null` (parameter
     * text `off`) turns LOG points off. Default 15.
     */
    LogBackupIntervalMinutes: z.number().int().min(1).max(1440).nullable().default(15),
    /** Local run (`npm start` without `--type`): DIFFERENTIALs per cycle before the next FULL. */
    LocalDifferentialsPerCycle: z.number().int().min(0).default(6),
    ScheduleTime: HHMM.default('17:00'),
    ScheduleTimeZone: z.string().min(1).default('UTC'),
    /** The CommServe database. The local default is the generated sample CommServe. */
    Database: z.discriminatedUnion('engine', [SqliteDatabase, SqlServerDatabase]).default({
      engine: 'sqlite',
      path: '.commserve-dr/sample/commserv.db',
    }),
    /** Registry: where the hive is (file-backed store) and which keys to export. */
    Registry: z
      .object({
        /** `file-hive` (portable `.reg` hive file) or `windows` (`reg.exe`); default by platform. */
        store: z.enum(['file-hive', 'windows']).optional(),
        /** Hive file for the file-backed store. */
        hiveFile: z.string().min(1).default('.commserve-dr/sample/registry/commserv_hive.reg'),
        /** The CommServe's registry root(s), exported to `commserv_hive*.reg`. */
        commServeKeys: z.array(z.string().min(1)).min(1).default([SAMPLE_ROOT]),
        /** Extra module keys, each exported to `<module>.reg`; `required` ones missing make the job end with errors. */
        modules: z
          .array(z.object({ name: z.string().regex(/^[A-Za-z0-9_.-]+$/), key: z.string().min(1), required: z.boolean().default(false) }))
          .default([]),
      })
      .default({
        hiveFile: '.commserve-dr/sample/registry/commserv_hive.reg',
        commServeKeys: [SAMPLE_ROOT],
        modules: [
          { name: 'MediaAgent', key: `${SAMPLE_ROOT}\\MediaAgent`, required: false },
          { name: 'Cvd', key: `${SAMPLE_ROOT}\\Cvd`, required: false },
        ],
      }),
    /** Directory holding FwPeers.txt, FwHosts.txt, FwPorts.txt. */
    FirewallDirectory: z.string().min(1).default('.commserve-dr/sample/firewall'),
    /** The hot-site bucket. `endpoint` is for S3-compatible stand-ins (moto); omit for AWS. */
    HotSite: z
      .object({
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name'),
        region: z.string().min(1).default('us-east-1'),
        endpoint: z.url().optional(),
      })
      .default({ bucket: 'commserve-dr-hot-site', region: 'us-east-1' }),
    /** The CommCell / deployment name: the `Cell` dimension of the metrics (the stack's `cell` context). */
    Cell: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).default('default'),
    /** Publish metrics (DatabaseCorruptionDetected, JobFailed) to CloudWatch; the local run publishes to its stand-in. */
    PublishMetrics: z.boolean().default(true),
    /**
     * Compression of the database dumps (FULL, DIFFERENTIAL and LOG) as they are stored and uploaded: `brotli` (quality
     * `DumpCompressionLevel`; the default since issue 20: 4.1× fewer bytes sent and stored on the sample CommServe for
     * ~1.6 s of one core per 256 MB — docs/ARCHITECTURE.md, "Compression by default") or `none` (a FULL dump that opens
     * in `sqlite3` as it is; also for SQL Server backups already taken `WITH COMPRESSION`). Registry, firewall and
     * sidecar files are always stored as they are.
     */
    DumpCompression: z.enum(['none', 'brotli']).default('brotli'),
    /** Brotli quality 0–11 of `DumpCompression: brotli` (1: ~400 MB/s per core and ~4× on the sample CommServe). */
    DumpCompressionLevel: z.number().int().min(0).max(11).default(1),
    /**
     * Directory of the CommServe's own log files: its rotated (non-active) logs — `CVD_1.log`, `CVD.log.1`, compressed
     * ones — go into every SET with the job's own log (SPEC §4.2 step 8); the active logs are never taken. null (default;
     * `none` in Parameter Store): only the job's own log.
     */
    AgentLogDirectory: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .transform((v) => (v !== null && v.trim().toLowerCase() === 'none' ? null : v)),
    /** Bound of the agent logs in one SET, bytes (the job's log plus the newest rotated logs that fit; default 64 MiB). */
    AgentLogMaxBytes: z.number().int().min(0).default(64 * 1024 * 1024),
    /**
     * ARN of the DR job state machine (stack output `DrJobStateMachineArn`, also published as the parameter
     * `<settings path>/StateMachineArn`): a job run by hand starts its phase 2 there. Unset: a job run by hand
     * against a local stand-in (HotSite.endpoint) runs phase 2 in-process; against AWS it is refused.
     */
    StateMachineArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, 'must be a Step Functions state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)')
      .nullable()
      .default(null),
    /**
     * Name of the RepairObject function (stack output `RepairFunctionName`, also the parameter
     * `<settings path>/RepairFunctionName`): the scrub asks it to put damaged committed objects back, since the agent's
     * own writes are create-only (issue 21). Unset: the repair runs in-process with the agent's credentials (a local
     * stand-in; against a create-only bucket policy it is refused and reported as not repaired).
     */
    RepairFunctionName: z.string().regex(/^[A-Za-z0-9_:.-]{1,140}$/, 'must be a Lambda function name or ARN').nullable().default(null),
    /**
     * Windows ANSI code page of REGEDIT4 `.reg` files and of the ANSI bytes of their hex(1)/hex(2)/hex(7) strings
     * (regedit reads and writes them in the system code page): 1252 (Western) by default; 874 and 1250–1258
     * are supported (the single-byte ANSI code pages).
     */
    AnsiCodePage: z
      .number()
      .int()
      .refine((n) => n === 874 || (n >= 1250 && n <= 1258), 'must be a single-byte Windows ANSI code page: 874 or 1250–1258')
      .default(1252),
    /** Local state (job counter, lock) lives here. */
    StateDirectory: z.string().min(1).default('.commserve-dr/state'),
  })
  .strict();
export type Settings = z.infer<typeof SettingsSchema>;
export type SettingsInput = z.input<typeof SettingsSchema>;

/** Names of the settings (top-level keys). */
export const SETTING_NAMES = Object.keys(SettingsSchema.shape) as Array<keyof Settings>;

/** One problem with a settings object: where (`path`, e.g. `["HotSite", "bucket"]`), what, and unknown key names. */
export interface SettingsIssue {
  path: string[];
  message: string;
  /** For an unknown key: the keys not recognised at `path` (only the top level refuses unknown keys). */
  unknownKeys?: string[];
}

/** Every problem of `value` as settings (empty when valid), in the schema's order. */
export function settingsIssues(value: unknown): SettingsIssue[] {
  const result = SettingsSchema.safeParse(value ?? {});
  if (result.success) return [];
  return result.error.issues.map((i) => ({
    path: i.path.map(String),
    message: i.message,
    ...(i.code === 'unrecognized_keys' ? { unknownKeys: [...i.keys] } : {}),
  }));
}

/**
 * The keys the schema knows at `path` (`[]`: the settings; `["HotSite"]`: `bucket`, `region`, …; a union such as
 * `Database` gives the keys of every variant). Empty when `path` names no object.
 */
export function settingKeysAt(path: readonly string[]): string[] {
  type Def = { type: string; innerType?: { _zod: { def: Def } }; options?: Array<{ _zod: { def: Def } }>; shape?: Record<string, { _zod: { def: Def } }>; in?: { _zod: { def: Def } } };
  const keysOf = (def: Def, rest: readonly string[]): string[] => {
    if (def.innerType) return keysOf(def.innerType._zod.def, rest);
    if (def.type === 'pipe' && def.in) return keysOf(def.in._zod.def, rest);
    if (def.options) return [...new Set(def.options.flatMap((o) => keysOf(o._zod.def, rest)))];
    if (def.type !== 'object' || !def.shape) return [];
    if (rest.length === 0) return Object.keys(def.shape);
    const next = def.shape[rest[0]];
    return next ? keysOf(next._zod.def, rest.slice(1)) : [];
  };
  return keysOf((SettingsSchema as unknown as { _zod: { def: Def } })._zod.def, path);
}

/**
 * Validates settings, listing every problem at once with the offending key.
 * @throws ConfigError whose `context.issues` is `["RetainCycles: must be ≥ 1", …]`.
 */
export function parseSettings(value: unknown, source: string): Settings {
  const result = SettingsSchema.safeParse(value ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid settings in ${source}: ${issues.join('; ')}`, { context: { issues, source } });
  }
  return result.data;
}
