/**
 * The configuration of the sample CommCell: commcell identity, clients, media agents, libraries,
 * storage and schedule policies, subclients, users and alerts. It is small (a few thousand rows
 * at most), built in memory from the seed and the requested size, and shared by the database
 * generator, the job-history stream, the registry hive and the firewall files, so all of them
 * describe the same CommCell.
 *
 * Times are Unix seconds (UTC) derived from fixed epochs, never from the clock.
 */
import { Prng } from './prng';

/** 2021-03-01T00:00:00Z: the earliest install time of the sample CommCell. */
export const CONFIG_EPOCH = 1614556800;
/** 2024-01-01T00:00:00Z (a Monday): the first day of the generated job history. */
export const JOB_EPOCH = 1704067200;
/** DNS domain of every sample host. */
export const SAMPLE_DOMAIN = 'corp.example';

const DAY = 86400;
const GB = 1024 ** 3;
const TB = 1024 ** 4;

/** Who the CommServe is; derived from the seed only (the registry hive uses it too). */
export interface CommCellIdentity {
  commcellName: string;
  guid: string;
  commserveClientName: string;
  commserveHostname: string;
  commserveIp: string;
  version: string;
  featureRelease: number;
  maintenanceRelease: number;
  installTime: number;
  timeZone: string;
  /** Standard-time offset of `timeZone` from UTC, in seconds (schedules ignore daylight saving). */
  utcOffsetSeconds: number;
  sqlInstance: string;
  installDir: string;
}

const TIME_ZONES: ReadonlyArray<readonly [string, number]> = [
  ['Europe/Berlin', 3600],
  ['America/New_York', -18000],
  ['America/Chicago', -21600],
  ['Europe/London', 0],
  ['Asia/Singapore', 28800],
  ['Australia/Sydney', 36000],
];

function guidFrom(rng: Prng): string {
  const h = rng.hex(16).toUpperCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-A${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The CommCell's identity for a seed. Pure and deterministic. */
export function sampleCommCellIdentity(seed: number): CommCellIdentity {
  const rng = new Prng(seed, 0);
  const site = rng.pick(['hq', 'dc1', 'prod', 'emea', 'nyc']);
  const commserveClientName = `cs-${site}-0${rng.int(1, 3)}`;
  const featureRelease = rng.pick([32, 34, 36]);
  const maintenanceRelease = rng.int(8, 64);
  const [timeZone, utcOffsetSeconds] = rng.pick(TIME_ZONES);
  return {
    commcellName: `CC-${site.toUpperCase()}`,
    guid: guidFrom(rng),
    commserveClientName,
    commserveHostname: `${commserveClientName}.${SAMPLE_DOMAIN}`,
    commserveIp: `10.10.0.${rng.int(10, 40)}`,
    version: `11.${featureRelease}.${maintenanceRelease}`,
    featureRelease,
    maintenanceRelease,
    installTime: CONFIG_EPOCH + rng.int(0, 60) * DAY + rng.int(0, DAY - 1),
    timeZone,
    utcOffsetSeconds,
    sqlInstance: 'COMMVAULT',
    installDir: 'C:\\Program Files\\Commvault\\ContentStore',
  };
}

// ---------------------------------------------------------------------------------------------
// Row shapes (column names as in schema.ts)

export interface ClientGroupRow { id: number; name: string; description: string; created_time: number }
export type ClientRole =
  | 'cs' | 'ma' | 'fs' | 'sql' | 'ora' | 'exch' | 'app' | 'web' | 'pg' | 'mysql' | 'vsa' | 'sap' | 'dc' | 'nas';
export interface ClientRow {
  id: number; commcell_id: number; name: string; hostname: string; ip_address: string;
  os_type: 'Windows' | 'Linux' | 'Unix'; os_version: string; cv_version: string; install_time: number;
  client_group_id: number | null; is_virtual: number; cpu_cores: number; memory_gb: number;
  status: 'Online' | 'Offline' | 'Decommissioned'; description: string | null;
  /** Not a column: what the machine does. */
  role: ClientRole;
  /** Not a column: production or not. */
  env: string;
}
export interface ClientGroupMemberRow { client_group_id: number; client_id: number; added_time: number }
export interface MediaAgentRow {
  id: number; client_id: number; name: string; index_cache_path: string; index_cache_bytes: number;
  ddb_path: string | null; max_streams: number; is_online: number; created_time: number;
}
export interface LibraryRow {
  id: number; name: string; library_type: 'disk' | 'tape' | 'cloud'; vendor: string; model: string;
  capacity_bytes: number | null; used_bytes: number; drive_count: number | null; slot_count: number | null;
  cloud_bucket: string | null; cloud_region: string | null; created_time: number;
}
export interface MountPathRow {
  id: number; library_id: number; media_agent_id: number; path: string; capacity_bytes: number;
  free_bytes: number; reserve_space_bytes: number; enabled: number;
}
export interface StoragePolicyRow {
  id: number; name: string; description: string; dedup_enabled: number; block_size_kb: number; created_time: number;
}
export interface StoragePolicyCopyRow {
  id: number; storage_policy_id: number; name: string; copy_precedence: number;
  copy_type: 'primary' | 'secondary' | 'aux'; retention_days: number; retention_cycles: number;
  media_agent_id: number; library_id: number; encryption: string; is_active: number;
}
export type ScheduleKind = 'fs-daily' | 'db-daily' | 'db-weekly' | 'vm-daily' | 'nonprod' | 'aux' | 'aging' | 'dr';
export interface SchedulePolicyRow {
  id: number; name: string; policy_type: 'Data Protection' | 'Auxiliary Copy' | 'Data Aging' | 'Disaster Recovery';
  description: string; enabled: number;
  /** Not a column: which job pattern the policy produces. */
  kind: ScheduleKind;
}
export interface ScheduleRow {
  id: number; schedule_policy_id: number; name: string; backup_level: string | null; frequency: string;
  repeat_hours: number | null; start_time: string; days_of_week: string | null; day_of_month: number | null;
  time_zone: string; enabled: number;
}
export interface SubclientRow {
  id: number; client_id: number; agent_type: string; backup_set: string; name: string; content_paths: string;
  filters: string; storage_policy_id: number; schedule_policy_id: number | null; data_streams: number;
  created_time: number; enabled: number;
  /** Not a column: application size of a full backup on the first day of history, in bytes. */
  baseBytes: number;
  /** Not a column: number of objects (files, database files, VMs) in a full backup. */
  baseFiles: number;
  /** Not a column: typical daily change rate (0..1). */
  changeRate: number;
}
export interface UserRow {
  id: number; login: string; full_name: string; email: string; domain: string | null; enabled: number;
  created_time: number; last_login_time: number | null;
}
export interface UserGroupRow { id: number; name: string; description: string; domain: string | null; permissions: string }
export interface UserGroupMemberRow { user_group_id: number; user_id: number }
export interface AlertRow {
  id: number; name: string; category: string; alert_type: string; severity: string; criteria: string;
  notify_via: string; enabled: number; created_by_user_id: number | null; created_time: number;
}
export interface AlertRecipientRow {
  id: number; alert_id: number; user_id: number | null; user_group_id: number | null; email: string | null;
}
export interface DrSettingRow { name: string; value: string; description: string }

/** The whole configuration of the sample CommCell. */
export interface SampleCatalog {
  identity: CommCellIdentity;
  commcell: Record<string, string | number | null>;
  clientGroups: ClientGroupRow[];
  clients: ClientRow[];
  clientGroupMembers: ClientGroupMemberRow[];
  mediaAgents: MediaAgentRow[];
  libraries: LibraryRow[];
  mountPaths: MountPathRow[];
  storagePolicies: StoragePolicyRow[];
  storagePolicyCopies: StoragePolicyCopyRow[];
  schedulePolicies: SchedulePolicyRow[];
  schedules: ScheduleRow[];
  subclients: SubclientRow[];
  users: UserRow[];
  userGroups: UserGroupRow[];
  userGroupMembers: UserGroupMemberRow[];
  alerts: AlertRow[];
  alertRecipients: AlertRecipientRow[];
  drSettings: DrSettingRow[];
}

// ---------------------------------------------------------------------------------------------

interface RoleSpec {
  role: ClientRole;
  weight: number;
  os: ReadonlyArray<readonly [ClientRow['os_type'], string, number]>;
  description: string;
}

const WINDOWS: ReadonlyArray<readonly [ClientRow['os_type'], string, number]> = [
  ['Windows', 'Windows Server 2016 Standard', 2],
  ['Windows', 'Windows Server 2019 Standard', 4],
  ['Windows', 'Windows Server 2022 Datacenter', 4],
];
const LINUX: ReadonlyArray<readonly [ClientRow['os_type'], string, number]> = [
  ['Linux', 'Red Hat Enterprise Linux 8.8', 4],
  ['Linux', 'Red Hat Enterprise Linux 9.2', 3],
  ['Linux', 'Ubuntu 22.04.3 LTS', 3],
  ['Linux', 'SUSE Linux Enterprise Server 15 SP4', 1],
];

const ROLES: readonly RoleSpec[] = [
  { role: 'fs', weight: 24, os: [...WINDOWS, ...LINUX.slice(0, 2)], description: 'File server' },
  { role: 'sql', weight: 14, os: WINDOWS, description: 'Microsoft SQL Server' },
  { role: 'ora', weight: 6, os: [['Linux', 'Oracle Linux 8.9', 3], ['Unix', 'AIX 7.2 TL5', 1]], description: 'Oracle Database' },
  { role: 'exch', weight: 3, os: WINDOWS.slice(1), description: 'Exchange mailbox server' },
  { role: 'app', weight: 15, os: [...WINDOWS, ...LINUX], description: 'Application server' },
  { role: 'web', weight: 10, os: LINUX, description: 'Web front end' },
  { role: 'pg', weight: 5, os: LINUX, description: 'PostgreSQL' },
  { role: 'mysql', weight: 4, os: LINUX, description: 'MySQL' },
  { role: 'vsa', weight: 4, os: WINDOWS.slice(1), description: 'VMware backup proxy (Virtual Server Agent)' },
  { role: 'sap', weight: 2, os: [['Linux', 'SUSE Linux Enterprise Server 15 SP4', 1]], description: 'SAP HANA' },
  { role: 'dc', weight: 3, os: WINDOWS.slice(1), description: 'Active Directory domain controller' },
  { role: 'nas', weight: 2, os: [['Unix', 'NetApp ONTAP 9.13.1', 1]], description: 'NAS filer (NDMP)' },
];

const ENVS: ReadonlyArray<readonly [string, number]> = [
  ['prod', 55], ['dev', 14], ['test', 12], ['uat', 8], ['dr', 11],
];

const FIRST_NAMES = [
  'James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
  'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Charles', 'Karen',
  'Daniel', 'Lisa', 'Matthew', 'Nancy', 'Anthony', 'Sandra', 'Mark', 'Ashley', 'Paul', 'Emily', 'Steven',
  'Michelle', 'Andrew', 'Amanda', 'Kenneth', 'Melissa', 'Priya', 'Rahul', 'Wei', 'Mei', 'Lukas', 'Anna',
  'Jonas', 'Sofia', 'Mateo', 'Lucia', 'Hiroshi', 'Yuki', 'Olivier', 'Camille', 'Ahmed', 'Fatima',
];
const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee',
  'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Walker', 'Young', 'Allen', 'King', 'Wright', 'Patel',
  'Sharma', 'Chen', 'Wang', 'Mueller', 'Schmidt', 'Schneider', 'Fischer', 'Rossi', 'Bianchi', 'Dubois',
  'Moreau', 'Tanaka', 'Suzuki', 'Kowalski', 'Novak', 'Jensen', 'Larsen', 'OBrien', 'Murphy',
];

const pad3 = (n: number): string => String(n).padStart(3, '0');
const pad2 = (n: number): string => String(n).padStart(2, '0');
const json = (v: unknown): string => JSON.stringify(v);

/** How many clients a sample of `sizeBytes` has: grows with the square root of the size (20…1,500). */
export function clientCountForSize(sizeBytes: number): number {
  const mb = sizeBytes / 1_000_000;
  return Math.max(20, Math.min(1500, Math.round(25 * Math.sqrt(mb))));
}

/**
 * Builds the configuration of the sample CommCell for a seed and a target database size in
 * bytes (bigger databases have more clients). Pure and deterministic.
 */
export function buildSampleCatalog(seed: number, sizeBytes: number): SampleCatalog {
  const rng = new Prng(seed, 1);
  const identity = sampleCommCellIdentity(seed);
  const t0 = identity.installTime;
  const later = (minDays: number, maxDays: number): number => t0 + rng.int(minDays, maxDays) * DAY + rng.int(0, DAY - 1);
  const beforeHistory = JOB_EPOCH - 7 * DAY;
  const configTime = (): number => rng.int(t0 + DAY, beforeHistory);

  const commcell = {
    id: 2,
    name: identity.commcellName,
    guid: identity.guid,
    commserve_client_name: identity.commserveClientName,
    commserve_hostname: identity.commserveHostname,
    version: identity.version,
    feature_release: identity.featureRelease,
    maintenance_release: identity.maintenanceRelease,
    install_time: identity.installTime,
    time_zone: identity.timeZone,
    license_type: rng.pick(['Capacity (Front-end TB)', 'Per Virtual Machine', 'Commvault Complete Backup & Recovery']),
    license_expiry_time: JOB_EPOCH + rng.int(400, 1200) * DAY,
  };

  // --- client groups ------------------------------------------------------------------------
  const groupDefs: ReadonlyArray<readonly [string, string]> = [
    ['Infrastructure', 'CommServe, MediaAgents and backup proxies'],
    ['File Servers', 'Windows and Linux file servers, home and project shares'],
    ['SQL Servers', 'Microsoft SQL Server instances (DBA team)'],
    ['Oracle Servers', 'Oracle databases, RMAN through the Oracle iDataAgent'],
    ['Exchange', 'Exchange mailbox servers'],
    ['Application Servers', 'Line-of-business application servers'],
    ['Web Servers', 'Web front ends (DMZ and internal)'],
    ['Open Source Databases', 'PostgreSQL and MySQL'],
    ['SAP', 'SAP HANA systems'],
    ['Domain Controllers', 'Active Directory domain controllers'],
    ['NAS', 'NDMP filers'],
    ['Production', 'All production clients (SLA: RPO 24 h)'],
    ['Non-Production', 'Development, test and UAT clients'],
    ['DR Site', 'Clients in the secondary data centre'],
    ['Windows Servers', 'All Windows clients'],
    ['Linux and Unix Servers', 'All Linux and Unix clients'],
  ];
  const clientGroups: ClientGroupRow[] = groupDefs.map(([name, description], i) => ({
    id: i + 1, name, description, created_time: later(1, 60),
  }));
  const groupId = (name: string): number => clientGroups.find((g) => g.name === name)!.id;
  const roleGroup: Record<ClientRole, string> = {
    cs: 'Infrastructure', ma: 'Infrastructure', vsa: 'Infrastructure', fs: 'File Servers', sql: 'SQL Servers',
    ora: 'Oracle Servers', exch: 'Exchange', app: 'Application Servers', web: 'Web Servers',
    pg: 'Open Source Databases', mysql: 'Open Source Databases', sap: 'SAP', dc: 'Domain Controllers', nas: 'NAS',
  };

  // --- clients ------------------------------------------------------------------------------
  const clientCount = clientCountForSize(sizeBytes);
  const mediaAgentCount = Math.max(2, Math.min(40, Math.round(clientCount / 25)));
  const clients: ClientRow[] = [];
  const hostCounters = new Map<string, number>();
  let ipCounter = 0;
  const cvVersion = (): string => {
    const fr = rng.weighted<number>([[identity.featureRelease, 6], [identity.featureRelease - 2, 3], [identity.featureRelease - 4, 1]]);
    return fr === identity.featureRelease ? identity.version : `11.${fr}.${rng.int(20, 80)}`;
  };
  const addClient = (role: ClientRole, env: string, name: string, osType: ClientRow['os_type'], osVersion: string, description: string): ClientRow => {
    ipCounter++;
    const subnet = env === 'dr' ? 20 : env === 'prod' ? 10 : 30;
    const row: ClientRow = {
      id: clients.length + 2,
      commcell_id: commcell.id,
      name,
      hostname: `${name}.${SAMPLE_DOMAIN}`,
      ip_address: role === 'cs' ? identity.commserveIp : `10.${subnet}.${1 + Math.floor(ipCounter / 200)}.${10 + (ipCounter % 200)}`,
      os_type: osType,
      os_version: osVersion,
      cv_version: role === 'cs' ? identity.version : cvVersion(),
      install_time: role === 'cs' ? identity.installTime : later(2, 900),
      client_group_id: groupId(roleGroup[role]),
      is_virtual: role === 'nas' ? 0 : rng.chance(role === 'ma' ? 0.2 : 0.75) ? 1 : 0,
      cpu_cores: rng.pick(role === 'ma' || role === 'cs' ? [16, 24, 32] : [2, 4, 4, 8, 8, 16]),
      memory_gb: rng.pick(role === 'ma' || role === 'cs' ? [64, 128, 256] : [8, 16, 16, 32, 64, 128]),
      status: 'Online',
      description,
      role,
      env,
    };
    clients.push(row);
    return row;
  };
  const hostName = (role: string, env: string): string => {
    const key = `${role}-${env}`;
    const n = (hostCounters.get(key) ?? 0) + rng.weighted([[1, 8], [2, 2], [3, 1]]);
    hostCounters.set(key, n);
    return `${role}-${env}-${pad3(n)}`;
  };

  addClient('cs', 'prod', identity.commserveClientName, 'Windows', 'Windows Server 2022 Datacenter', 'CommServe');
  for (let i = 1; i <= mediaAgentCount; i++) {
    const dc = i % 3 === 0 ? 'dc2' : 'dc1';
    const linux = rng.chance(0.35);
    addClient('ma', 'prod', `ma-${dc}-${pad2(i)}`, linux ? 'Linux' : 'Windows',
      linux ? 'Red Hat Enterprise Linux 8.8' : 'Windows Server 2022 Datacenter', `MediaAgent (${dc.toUpperCase()})`);
  }
  while (clients.length < clientCount) {
    const spec = rng.weighted(ROLES.map((r) => [r, r.weight] as const));
    const env = spec.role === 'dc' || spec.role === 'vsa' || spec.role === 'nas' ? 'prod' : rng.weighted(ENVS);
    const [osType, osVersion] = rng.weighted(spec.os.map(([t, v, w]) => [[t, v] as const, w] as const));
    const row = addClient(spec.role, env, hostName(spec.role, env), osType, osVersion, `${spec.description} (${env})`);
    row.status = rng.weighted<ClientRow['status']>([['Online', 93], ['Offline', 4], ['Decommissioned', 3]]);
  }

  const clientGroupMembers: ClientGroupMemberRow[] = [];
  const seen = new Set<string>();
  const addMember = (gid: number, c: ClientRow): void => {
    const key = `${gid}:${c.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    clientGroupMembers.push({ client_group_id: gid, client_id: c.id, added_time: Math.max(c.install_time, t0) + rng.int(0, 3 * DAY) });
  };
  for (const c of clients) {
    addMember(c.client_group_id!, c);
    addMember(groupId(c.env === 'prod' ? 'Production' : c.env === 'dr' ? 'DR Site' : 'Non-Production'), c);
    addMember(groupId(c.os_type === 'Windows' ? 'Windows Servers' : 'Linux and Unix Servers'), c);
  }
  clientGroupMembers.sort((a, b) => a.client_group_id - b.client_group_id || a.client_id - b.client_id);

  // --- media agents ---------------------------------------------------------------------------
  const maClients = clients.filter((c) => c.role === 'ma');
  const mediaAgents: MediaAgentRow[] = maClients.map((c, i) => {
    const win = c.os_type === 'Windows';
    return {
      id: i + 1,
      client_id: c.id,
      name: c.name,
      index_cache_path: win ? 'E:\\Commvault\\IndexCache' : '/opt/commvault/IndexCache',
      index_cache_bytes: rng.pick([500, 1000, 2000]) * GB,
      ddb_path: win ? `F:\\DDB\\Partition${pad2(i + 1)}` : `/ddb/partition${pad2(i + 1)}`,
      max_streams: rng.pick([100, 200, 300, 500]),
      is_online: 1,
      created_time: c.install_time,
    };
  });

  // --- libraries and mount paths ----------------------------------------------------------------
  const libraries: LibraryRow[] = [];
  const mountPaths: MountPathRow[] = [];
  const libraryMa = new Map<number, number>();
  const diskVendors: ReadonlyArray<readonly [string, string]> = [
    ['Dell', 'PowerScale H7000'], ['NetApp', 'E-Series E5760'], ['HPE', 'Apollo 4510 Gen10'], ['Pure Storage', 'FlashBlade//S200'],
  ];
  const diskCount = Math.max(1, Math.min(12, Math.ceil(mediaAgents.length / 2)));
  for (let i = 1; i <= diskCount; i++) {
    const [vendor, model] = rng.pick(diskVendors);
    const capacity = rng.int(100, 800) * TB;
    const lib: LibraryRow = {
      id: libraries.length + 1, name: `DiskLib-${i % 3 === 0 ? 'DC2' : 'DC1'}-${pad2(i)}`, library_type: 'disk', vendor, model,
      capacity_bytes: capacity, used_bytes: Math.round(capacity * (0.35 + rng.next() * 0.5)), drive_count: null, slot_count: null,
      cloud_bucket: null, cloud_region: null, created_time: later(3, 120),
    };
    libraries.push(lib);
    const owners = rng.sample(mediaAgents, Math.min(2, mediaAgents.length));
    libraryMa.set(lib.id, owners[0]!.id);
    const mpCount = rng.int(2, 6);
    for (let m = 1; m <= mpCount; m++) {
      const ma = owners[(m - 1) % owners.length]!;
      const win = clients.find((c) => c.id === ma.client_id)!.os_type === 'Windows';
      const mpCapacity = Math.round(capacity / mpCount);
      mountPaths.push({
        id: mountPaths.length + 1, library_id: lib.id, media_agent_id: ma.id,
        path: win ? `${String.fromCharCode(70 + m)}:\\DiskLib${pad2(i)}\\MP${pad2(m)}` : `/mnt/disklib${pad2(i)}/mp${pad2(m)}`,
        capacity_bytes: mpCapacity, free_bytes: Math.round(mpCapacity * (0.05 + rng.next() * 0.6)),
        reserve_space_bytes: rng.pick([2, 5, 10]) * GB * 100, enabled: rng.chance(0.95) ? 1 : 0,
      });
    }
  }
  const tapeModels: ReadonlyArray<readonly [string, string]> = [['IBM', 'TS4500'], ['Quantum', 'Scalar i6000'], ['HPE', 'StoreEver MSL6480']];
  const tapeCount = rng.int(1, 2);
  for (let i = 1; i <= tapeCount; i++) {
    const [vendor, model] = rng.pick(tapeModels);
    const slots = rng.int(4, 16) * 50;
    const lib: LibraryRow = {
      id: libraries.length + 1, name: `TapeLib-DC${i}-${model.replace(/[^A-Za-z0-9]/g, '')}`, library_type: 'tape', vendor, model,
      capacity_bytes: slots * 18 * 1000 ** 4, used_bytes: Math.round(slots * 18 * 1000 ** 4 * (0.3 + rng.next() * 0.5)),
      drive_count: rng.pick([4, 6, 8, 12, 16]), slot_count: slots, cloud_bucket: null, cloud_region: null, created_time: later(30, 300),
    };
    libraries.push(lib);
    libraryMa.set(lib.id, mediaAgents[(i - 1) % mediaAgents.length]!.id);
  }
  const cloudKinds: ReadonlyArray<readonly [string, string, string]> = [
    ['Amazon', 'S3 Standard-IA', 'us-east-1'], ['Amazon', 'S3 Glacier Instant Retrieval', 'eu-central-1'], ['Microsoft', 'Azure Blob (Cool tier)', 'westeurope'],
  ];
  const cloudCount = rng.int(1, 2);
  for (let i = 1; i <= cloudCount; i++) {
    const [vendor, model, region] = cloudKinds[(i - 1 + rng.int(0, 2)) % cloudKinds.length]!;
    const bucket = `cv-${identity.commcellName.toLowerCase()}-${vendor === 'Microsoft' ? 'blob' : 's3'}-${pad2(i)}-${rng.hex(3)}`;
    const lib: LibraryRow = {
      id: libraries.length + 1, name: `CloudLib-${vendor === 'Microsoft' ? 'Azure' : 'AWS'}-${pad2(i)}`, library_type: 'cloud', vendor, model,
      capacity_bytes: null, used_bytes: rng.int(20, 900) * TB, drive_count: null, slot_count: null,
      cloud_bucket: bucket, cloud_region: region, created_time: later(200, 700),
    };
    libraries.push(lib);
    const ma = mediaAgents[i % mediaAgents.length]!;
    libraryMa.set(lib.id, ma.id);
    mountPaths.push({
      id: mountPaths.length + 1, library_id: lib.id, media_agent_id: ma.id, path: `${vendor === 'Microsoft' ? 'azure' : 's3'}://${bucket}/CV_MAGNETIC`,
      capacity_bytes: 2 ** 50, free_bytes: 2 ** 50 - lib.used_bytes, reserve_space_bytes: 0, enabled: 1,
    });
  }
  const diskLibs = libraries.filter((l) => l.library_type === 'disk');
  const tapeLibs = libraries.filter((l) => l.library_type === 'tape');
  const cloudLibs = libraries.filter((l) => l.library_type === 'cloud');

  // --- storage policies -------------------------------------------------------------------------
  const policyDefs: ReadonlyArray<readonly [string, string, number, number, boolean, boolean]> = [
    // name, description, primary retention days, cycles, secondary (cloud), aux (tape)
    ['SP-FS-Prod-30d', 'Production file systems', 30, 2, true, true],
    ['SP-FS-NonProd-14d', 'Non-production file systems', 14, 1, false, false],
    ['SP-SQL-Prod-35d', 'Production SQL Server databases and logs', 35, 4, true, true],
    ['SP-Oracle-Prod-35d', 'Production Oracle databases (RMAN)', 35, 4, true, true],
    ['SP-Exchange-30d', 'Exchange mailbox databases', 30, 2, true, false],
    ['SP-VM-Gold-30d', 'Tier-1 virtual machines', 30, 4, true, true],
    ['SP-VM-Silver-14d', 'Tier-2 virtual machines', 14, 2, false, false],
    ['SP-OpenSourceDB-30d', 'PostgreSQL and MySQL', 30, 2, true, false],
    ['SP-SAP-HANA-30d', 'SAP HANA data and log backups', 30, 2, true, true],
    ['SP-NAS-NDMP-60d', 'NDMP backups of NAS volumes', 60, 2, false, true],
    ['SP-DB-NonProd-7d', 'Non-production databases', 7, 1, false, false],
    ['CommServeDR', 'CommServe disaster-recovery backups (metadata)', 60, 5, true, false],
  ];
  const storagePolicies: StoragePolicyRow[] = [];
  const storagePolicyCopies: StoragePolicyCopyRow[] = [];
  for (const [name, description, days, cycles, secondary, aux] of policyDefs) {
    const sp: StoragePolicyRow = {
      id: storagePolicies.length + 1, name, description, dedup_enabled: name === 'CommServeDR' ? 0 : 1,
      block_size_kb: name.startsWith('SP-NAS') ? 512 : 128, created_time: configTime(),
    };
    storagePolicies.push(sp);
    const addCopy = (copyName: string, type: StoragePolicyCopyRow['copy_type'], lib: LibraryRow, d: number, c: number): void => {
      storagePolicyCopies.push({
        id: storagePolicyCopies.length + 1, storage_policy_id: sp.id, name: copyName,
        copy_precedence: storagePolicyCopies.filter((x) => x.storage_policy_id === sp.id).length + 1, copy_type: type,
        retention_days: d, retention_cycles: c, media_agent_id: libraryMa.get(lib.id)!, library_id: lib.id,
        encryption: type === 'primary' ? rng.pick(['None', 'AES-256']) : 'AES-256', is_active: 1,
      });
    };
    addCopy('Primary', 'primary', rng.pick(diskLibs), days, cycles);
    if (secondary) addCopy('Secondary-Cloud', 'secondary', rng.pick(cloudLibs), Math.max(90, days * 3), cycles * 2);
    if (aux && tapeLibs.length) addCopy('Aux-Tape-Monthly', 'aux', rng.pick(tapeLibs), 365, 12);
    if (name === 'SP-FS-Prod-30d' && tapeLibs.length) addCopy('Aux-Tape-7y', 'aux', tapeLibs[tapeLibs.length - 1]!, 2555, 84);
  }
  const policyId = (name: string): number => storagePolicies.find((p) => p.name === name)!.id;

  // --- schedule policies and schedules --------------------------------------------------------------
  const schedulePolicies: SchedulePolicyRow[] = [];
  const schedules: ScheduleRow[] = [];
  const addSchedulePolicy = (
    name: string, policyType: SchedulePolicyRow['policy_type'], kind: ScheduleKind, description: string,
    items: ReadonlyArray<readonly [string, string | null, string, number | null, string, string | null, number | null]>,
  ): void => {
    const sp: SchedulePolicyRow = { id: schedulePolicies.length + 1, name, policy_type: policyType, description, enabled: 1, kind };
    schedulePolicies.push(sp);
    for (const [sName, level, frequency, repeat, start, days, dom] of items) {
      schedules.push({
        id: schedules.length + 1, schedule_policy_id: sp.id, name: sName, backup_level: level, frequency,
        repeat_hours: repeat, start_time: start, days_of_week: days, day_of_month: dom, time_zone: identity.timeZone, enabled: 1,
      });
    }
  };
  addSchedulePolicy('SchPol-FS-Daily', 'Data Protection', 'fs-daily', 'File systems: daily incremental, weekly synthetic full', [
    ['Daily Incremental', 'Incremental', 'Daily', null, '22:00', 'Mon,Tue,Wed,Thu,Fri,Sat', null],
    ['Weekly Synthetic Full', 'Synthetic Full', 'Weekly', null, '08:00', 'Sun', null],
  ]);
  addSchedulePolicy('SchPol-DB-Daily', 'Data Protection', 'db-daily', 'Databases: daily full, transaction logs every 6 hours', [
    ['Daily Full', 'Full', 'Daily', null, '20:00', null, null],
    ['Log Backup every 6h', 'Transaction Log', 'Hourly', 6, '00:30', null, null],
  ]);
  addSchedulePolicy('SchPol-DB-Weekly', 'Data Protection', 'db-weekly', 'Large databases: weekly full, daily differential, logs every 6 hours', [
    ['Weekly Full', 'Full', 'Weekly', null, '02:00', 'Sun', null],
    ['Daily Differential', 'Differential', 'Daily', null, '21:00', 'Mon,Tue,Wed,Thu,Fri,Sat', null],
    ['Log Backup every 6h', 'Transaction Log', 'Hourly', 6, '03:15', null, null],
  ]);
  addSchedulePolicy('SchPol-VM-Daily', 'Data Protection', 'vm-daily', 'Virtual machines: daily incremental, weekly synthetic full', [
    ['Daily Incremental', 'Incremental', 'Daily', null, '23:00', null, null],
    ['Weekly Synthetic Full', 'Synthetic Full', 'Weekly', null, '10:00', 'Sat', null],
  ]);
  addSchedulePolicy('SchPol-NonProd', 'Data Protection', 'nonprod', 'Non-production: daily incremental, monthly full', [
    ['Daily Incremental', 'Incremental', 'Daily', null, '01:00', null, null],
    ['Monthly Full', 'Full', 'Monthly', null, '04:00', null, 1],
  ]);
  addSchedulePolicy('SchPol-AuxCopy', 'Auxiliary Copy', 'aux', 'Auxiliary copies to cloud and tape', [
    ['Daily Aux Copy', null, 'Daily', null, '06:00', null, null],
  ]);
  addSchedulePolicy('SchPol-DataAging', 'Data Aging', 'aging', 'Prunes jobs past retention', [
    ['Daily Data Aging', null, 'Daily', null, '12:00', null, null],
  ]);
  addSchedulePolicy('SchPol-DR-Backup', 'Disaster Recovery', 'dr', 'CommServe DR backup (metadata) to the hot-site', [
    ['Daily DR Backup', 'Full', 'Daily', null, '17:00', null, null],
  ]);
  const scheduleId = (kind: ScheduleKind): number => schedulePolicies.find((p) => p.kind === kind)!.id;

  // --- subclients --------------------------------------------------------------------------------
  const subclients: SubclientRow[] = [];
  const vmNames = clients.filter((c) => c.is_virtual && c.status !== 'Decommissioned').map((c) => c.name);
  const addSubclient = (
    c: ClientRow, agentType: string, backupSet: string, name: string, content: string[], filters: string[],
    policy: string, schedule: ScheduleKind | null, medianGb: number, filesPerGb: number, changeRate: number,
  ): void => {
    const baseBytes = Math.round(Math.max(1, rng.logNormal(medianGb, 2.5)) * GB);
    subclients.push({
      id: subclients.length + 1, client_id: c.id, agent_type: agentType, backup_set: backupSet, name,
      content_paths: json(content), filters: json(filters),
      storage_policy_id: policyId(policy), schedule_policy_id: schedule === null ? null : scheduleId(schedule),
      data_streams: rng.pick([1, 2, 4, 4, 8]), created_time: Math.max(c.install_time, t0) + rng.int(1, 10) * DAY,
      enabled: c.status === 'Decommissioned' ? 0 : 1,
      baseBytes,
      baseFiles: Math.max(1, Math.round((baseBytes / GB) * filesPerGb * (0.5 + rng.next()))),
      changeRate: Math.min(0.25, rng.logNormal(changeRate, 1.8)),
    });
  };
  for (const c of clients) {
    const prod = c.env === 'prod' || c.env === 'dr';
    const win = c.os_type === 'Windows';
    const fsPolicy = prod ? 'SP-FS-Prod-30d' : 'SP-FS-NonProd-14d';
    const fsSchedule: ScheduleKind = prod ? 'fs-daily' : 'nonprod';
    const dbPolicy = (p: string): string => (prod ? p : 'SP-DB-NonProd-7d');
    const fsFilters = win ? ['*.tmp', '*\\Temp\\*', 'C:\\pagefile.sys', 'C:\\hiberfil.sys'] : ['/tmp/*', '/proc', '/sys', '*.swp'];
    const fsRoot = win ? ['C:\\', 'D:\\'] : ['/'];
    if (c.role !== 'nas') addSubclient(c, win ? 'Windows File System' : c.os_type === 'Unix' ? 'Unix File System' : 'Linux File System', 'defaultBackupSet', 'default', fsRoot, fsFilters, fsPolicy, fsSchedule, c.role === 'fs' ? 40 : 25, 9000, 0.02);
    switch (c.role) {
      case 'fs':
        if (rng.chance(0.7)) {
          const shares = win
            ? rng.sample(['E:\\Shares\\Finance', 'E:\\Shares\\HR', 'E:\\Shares\\Engineering', 'E:\\Shares\\Marketing', 'F:\\Projects', 'F:\\Archive'], rng.int(1, 4))
            : rng.sample(['/srv/shares/engineering', '/srv/shares/finance', '/export/projects', '/export/archive', '/data/media'], rng.int(1, 3));
          addSubclient(c, win ? 'Windows File System' : 'Linux File System', 'defaultBackupSet', 'Shares', shares, ['*.tmp', '~$*', '*.lock'], fsPolicy, fsSchedule, 600, 6000, 0.015);
        }
        if (win && rng.chance(0.4)) addSubclient(c, 'Windows File System', 'defaultBackupSet', 'UserProfiles', ['E:\\Profiles', 'E:\\HomeDirs'], ['*\\AppData\\Local\\Temp\\*', '*.ost'], fsPolicy, fsSchedule, 300, 12000, 0.03);
        break;
      case 'sql': {
        const dbs = rng.sample(['Payroll', 'CRM', 'Inventory', 'ReportServer', 'SharePoint_Content', 'ERP_Prod', 'Billing', 'DWH_Stage'], rng.int(2, 5));
        addSubclient(c, 'SQL Server', 'MSSQLSERVER', 'default', dbs.map((d) => `[MSSQLSERVER].[${d}]`), [], dbPolicy('SP-SQL-Prod-35d'), prod ? 'db-daily' : 'nonprod', 150, 0.05, 0.04);
        addSubclient(c, 'SQL Server', 'MSSQLSERVER', 'SystemDBs', ['[MSSQLSERVER].[master]', '[MSSQLSERVER].[model]', '[MSSQLSERVER].[msdb]'], [], dbPolicy('SP-SQL-Prod-35d'), prod ? 'db-daily' : 'nonprod', 2, 2, 0.05);
        break;
      }
      case 'ora': {
        const sid = `${rng.pick(['ERP', 'FIN', 'HRM', 'SCM', 'BI'])}${c.env === 'prod' ? 'PRD' : c.env.toUpperCase()}`;
        addSubclient(c, 'Oracle', sid, 'default', [`${sid}: whole database (RMAN)`], [], dbPolicy('SP-Oracle-Prod-35d'), prod ? 'db-weekly' : 'nonprod', 900, 0.08, 0.03);
        addSubclient(c, 'Oracle', sid, 'ArchiveLog', [`${sid}: archived redo logs`], [], dbPolicy('SP-Oracle-Prod-35d'), null, 50, 2, 0.2);
        break;
      }
      case 'exch':
        addSubclient(c, 'Exchange Database', 'defaultBackupSet', 'default', ['DAG01-DB01', 'DAG01-DB02', 'DAG01-DB03'].slice(0, rng.int(1, 3)), [], 'SP-Exchange-30d', 'db-weekly', 1500, 0.01, 0.03);
        break;
      case 'pg':
        addSubclient(c, 'PostgreSQL', 'FSBasedBackupSet', 'default', ['/var/lib/pgsql/15/data'], ['pg_wal/*'], dbPolicy('SP-OpenSourceDB-30d'), prod ? 'db-daily' : 'nonprod', 120, 30, 0.05);
        break;
      case 'mysql':
        addSubclient(c, 'MySQL', `${c.name}_3306`, 'default', ['/var/lib/mysql'], [], dbPolicy('SP-OpenSourceDB-30d'), prod ? 'db-daily' : 'nonprod', 60, 20, 0.05);
        break;
      case 'sap':
        addSubclient(c, 'SAP HANA', `${rng.pick(['HDB', 'H01', 'S4P'])}`, 'default', ['SYSTEMDB', 'TENANT DB'], [], dbPolicy('SP-SAP-HANA-30d'), 'db-daily', 1200, 0.02, 0.05);
        break;
      case 'dc':
        addSubclient(c, 'Active Directory', 'defaultBackupSet', 'default', ['System State', 'NTDS'], [], 'SP-FS-Prod-30d', 'fs-daily', 20, 50, 0.02);
        break;
      case 'vsa':
        for (const [tier, policy] of [['VMG-Prod-Tier1', 'SP-VM-Gold-30d'], ['VMG-Prod-Tier2', 'SP-VM-Silver-14d'], ['VMG-NonProd', 'SP-VM-Silver-14d']] as const) {
          if (tier !== 'VMG-Prod-Tier1' && rng.chance(0.4)) continue;
          const vms = rng.sample(vmNames, rng.int(5, 25)).map((n) => `vm:${n}`);
          addSubclient(c, 'Virtual Server', `vCenter-${pad2(rng.int(1, 3))}`, tier, vms, ['*.vswp', 'Hard disk 3 (scratch)'], policy, 'vm-daily', 4000, 0.005, 0.03);
        }
        break;
      case 'nas': {
        const vols = rng.sample(['/vol/vol_home', '/vol/vol_projects', '/vol/vol_eng', '/vol/vol_scans', '/vol/vol_media'], rng.int(2, 3));
        for (const v of vols) addSubclient(c, 'NDMP', 'defaultBackupSet', v.slice(5), [v], [], 'SP-NAS-NDMP-60d', 'fs-daily', 8000, 8000, 0.01);
        break;
      }
      default:
        break;
    }
  }

  // --- users and groups --------------------------------------------------------------------------
  const userCount = Math.max(12, Math.min(150, Math.round(clientCount / 6)));
  const users: UserRow[] = [];
  const logins = new Set<string>();
  const addUser = (login: string, fullName: string, email: string, domain: string | null): void => {
    const created = configTime();
    users.push({
      id: users.length + 1, login, full_name: fullName, email, domain, enabled: rng.chance(0.92) ? 1 : 0,
      created_time: created, last_login_time: rng.chance(0.85) ? rng.int(created, JOB_EPOCH + 30 * DAY) : null,
    });
  };
  addUser('admin', 'CommCell Administrator', `backup-admins@${SAMPLE_DOMAIN}`, null);
  addUser('svc_commserve', 'CommServe service account', `svc_commserve@${SAMPLE_DOMAIN}`, 'CORP');
  while (users.length < userCount) {
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    let login = `CORP\\${first[0]!.toLowerCase()}${last.toLowerCase()}`;
    for (let n = 2; logins.has(login); n++) login = `CORP\\${first[0]!.toLowerCase()}${last.toLowerCase()}${n}`;
    logins.add(login);
    addUser(login, `${first} ${last}`, `${first.toLowerCase()}.${last.toLowerCase()}@${SAMPLE_DOMAIN}`, 'CORP');
  }
  const groupPerms: ReadonlyArray<readonly [string, string, string | null, string[]]> = [
    ['master', 'Built-in: all permissions on the CommCell', null, ['Administrative Management']],
    ['Backup Admins', 'Backup team: full administration', 'CORP', ['Administrative Management', 'Agent Management', 'Storage Policy Management', 'Library Management', 'MediaAgent Management', 'Alert Management']],
    ['Backup Operators', 'Operations desk: run and monitor jobs', 'CORP', ['Data Protection/Management Operations', 'Job Management', 'View']],
    ['DBA Team', 'Database administrators: database backups and restores', 'CORP', ['Data Protection/Management Operations', 'In Place Recover', 'Out-of-Place Recover', 'Browse']],
    ['Windows Admins', 'Windows server team', 'CORP', ['Browse', 'In Place Recover', 'Out-of-Place Recover']],
    ['Linux Admins', 'Linux server team', 'CORP', ['Browse', 'In Place Recover', 'Out-of-Place Recover']],
    ['Helpdesk Restore', 'Service desk: end-user file restores', 'CORP', ['Browse', 'Out-of-Place Recover']],
    ['Storage Team', 'SAN/NAS and tape', 'CORP', ['Library Management', 'MediaAgent Management', 'View']],
    ['Auditors', 'Read-only access for audit', 'CORP', ['View', 'Report Management']],
  ];
  const userGroups: UserGroupRow[] = groupPerms.map(([name, description, domain, perms], i) => ({
    id: i + 1, name, description, domain, permissions: json(perms),
  }));
  const userGroupMembers: UserGroupMemberRow[] = [{ user_group_id: 1, user_id: 1 }];
  for (const u of users.slice(2)) {
    for (const g of rng.sample(userGroups.slice(1), rng.weighted([[1, 6], [2, 3], [3, 1]]))) userGroupMembers.push({ user_group_id: g.id, user_id: u.id });
  }
  userGroupMembers.push({ user_group_id: 2, user_id: 2 });
  userGroupMembers.sort((a, b) => a.user_group_id - b.user_group_id || a.user_id - b.user_id);

  // --- alerts ------------------------------------------------------------------------------------------
  const alertDefs: ReadonlyArray<readonly [string, string, string, string, string]> = [
    ['Backup Job Failed - Production', 'Job Management', 'Data Protection', 'Critical', 'Job failed or killed; client group = Production'],
    ['Backup Job Failed - Non-Production', 'Job Management', 'Data Protection', 'Major', 'Job failed; client group = Non-Production'],
    ['Job Completed with Errors', 'Job Management', 'Data Protection', 'Minor', 'Job completed with one or more errors'],
    ['Backup SLA Missed (24h)', 'Job Management', 'Data Protection', 'Major', 'No successful backup within 24 hours'],
    ['DR Backup Failed', 'Job Management', 'Disaster Recovery Backup', 'Critical', 'CommServe DR backup failed or phase 2 copy failed'],
    ['Auxiliary Copy Fallen Behind', 'Job Management', 'Auxiliary Copy', 'Major', 'Unprocessed data older than 3 days'],
    ['Disk Library Low Space', 'Media Management', 'Library Management', 'Major', 'Free space below 10% on any mount path'],
    ['Mount Path Offline', 'Media Management', 'Library Management', 'Critical', 'Mount path not accessible'],
    ['Tape Scratch Pool Low', 'Media Management', 'Library Management', 'Minor', 'Fewer than 20 spare media in Default Scratch'],
    ['Tape Drive Offline', 'Media Management', 'Device Status', 'Major', 'Drive marked offline or needs cleaning'],
    ['DDB Disk Space Low', 'Media Management', 'Deduplication', 'Major', 'DDB volume free space below 15%'],
    ['Index Cache Low Space', 'Media Management', 'MediaAgent Management', 'Minor', 'Index cache free space below 20%'],
    ['Client Offline', 'Configuration', 'Client Management', 'Minor', 'Client not reachable for more than 24 hours'],
    ['CommServe Database Corruption', 'Configuration', 'CommServe', 'Critical', 'DBCC/integrity check reported errors'],
    ['License Usage above 90%', 'Configuration', 'License Management', 'Minor', 'Capacity usage above 90% of licensed'],
    ['Certificate Expiring', 'Configuration', 'Security', 'Minor', 'Client certificate expires within 30 days'],
    ['Failed Login Attempts', 'Security', 'Security', 'Major', 'More than 5 failed logins in 10 minutes'],
    ['Anomalous File Activity', 'Security', 'Ransomware Protection', 'Critical', 'Unusual number of modified or encrypted files'],
  ];
  const alerts: AlertRow[] = alertDefs.map(([name, category, type, severity, criteria], i) => ({
    id: i + 1, name, category, alert_type: type, severity, criteria,
    notify_via: rng.pick(['Email', 'Email, Event Viewer', 'Email, SNMP', 'Email, Console']), enabled: rng.chance(0.9) ? 1 : 0,
    created_by_user_id: rng.pick(users.slice(0, Math.min(5, users.length))).id, created_time: configTime(),
  }));
  const alertRecipients: AlertRecipientRow[] = [];
  for (const a of alerts) {
    alertRecipients.push({ id: alertRecipients.length + 1, alert_id: a.id, user_id: null, user_group_id: 2, email: null });
    if (rng.chance(0.6)) alertRecipients.push({ id: alertRecipients.length + 1, alert_id: a.id, user_id: rng.pick(users).id, user_group_id: null, email: null });
    if (a.severity === 'Critical') alertRecipients.push({ id: alertRecipients.length + 1, alert_id: a.id, user_id: null, user_group_id: null, email: `noc@${SAMPLE_DOMAIN}` });
    if (a.name.includes('SQL') || rng.chance(0.15)) alertRecipients.push({ id: alertRecipients.length + 1, alert_id: a.id, user_id: null, user_group_id: rng.pick(userGroups.slice(2)).id, email: null });
  }

  const drSettings: DrSettingRow[] = [
    ['RetainCycles', '5', 'Successful complete DR cycles kept at the hot-site'],
    ['SetLifeSpanForFailedDR', '90', 'Days a SET whose phase-2 copy failed is kept'],
    ['DisableActivityOnDbCorruption', 'false', 'When true, job activity stays enabled on database corruption'],
    ['ArchiveStorageClass', 'GLACIER', 'Storage class of phase-2 archive copies'],
    ['ArchiveRetainCycles', 'unlimited', 'FULL cycles kept in the archive'],
    ['Phase1Destination', `\\\\nas-dr-01.${SAMPLE_DOMAIN}\\CommServeDR\\${identity.commcellName}`, 'Phase-1 destination (network path)'],
    ['DbRetryCount', '10', 'Retries when the database server does not answer'],
    ['DbRetryIntervalMinutes', '30', 'Minutes between database retries'],
    ['ArchiveRetryCount', '10', 'Retries of a failed phase-2 copy'],
    ['ArchiveRetryIntervalMinutes', '30', 'Minutes between phase-2 retries'],
    ['ScheduleTime', '17:00', 'Daily FULL DR backup time'],
    ['ScheduleTimeZone', identity.timeZone, 'IANA time zone of the schedule'],
    ['UploadToHotSite', 'true', 'Upload every SET to the hot-site S3 bucket'],
    ['HotSiteBucket', `commserve-dr-${identity.guid.slice(0, 8).toLowerCase()}`, 'Hot-site bucket name'],
  ].map(([name, value, description]) => ({ name: name!, value: value!, description: description! }));

  return {
    identity, commcell, clientGroups, clients, clientGroupMembers, mediaAgents, libraries, mountPaths,
    storagePolicies, storagePolicyCopies, schedulePolicies, schedules, subclients, users, userGroups,
    userGroupMembers, alerts, alertRecipients, drSettings,
  };
}
