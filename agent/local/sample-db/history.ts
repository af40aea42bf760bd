/**
 * The job history of the sample CommCell, produced one day at a time so that memory stays
 * bounded whatever the database size: each day yields that day's jobs (backups by schedule,
 * auxiliary copies, data aging, the DR backup), their events, a few events not tied to a job,
 * and the data-aging work (which older jobs that day's Data Aging job marks as aged).
 *
 * Rows are positional arrays in the column order of {@link JOB_COLUMNS} and {@link EVENT_COLUMNS},
 * which is what the prepared statements bind fastest.
 */
import {
  JOB_EPOCH,
  type ClientRow,
  type MediaAgentRow,
  type SampleCatalog,
  type ScheduleKind,
  type StoragePolicyRow,
  type SubclientRow,
} from './catalog';
import { Prng } from './prng';
import type { BackupLevel, EventSeverity, JobStatus, JobType } from './schema';

const DAY = 86400;
const GB = 1024 ** 3;

/** Column order of a job row. */
export const JOB_COLUMNS = [
  'job_id', 'job_type', 'client_id', 'subclient_id', 'agent_type', 'backup_level', 'status', 'start_time', 'end_time',
  'size_bytes', 'media_bytes', 'files_count', 'failed_files', 'media_agent_id', 'storage_policy_id', 'error_code',
  'failure_reason', 'is_aged', 'aged_time', 'last_update_time',
] as const;
/** A `job_history` row, positional (see {@link JOB_COLUMNS}). */
export type JobRowValues = [
  number, JobType, number, number | null, string | null, BackupLevel | null, JobStatus, number, number | null,
  number, number, number, number, number | null, number | null, string | null, string | null, number, number | null, number,
];

/** Column order of an event row (`id` is assigned by SQLite). */
export const EVENT_COLUMNS = ['event_time', 'severity', 'event_code', 'program', 'computer', 'job_id', 'client_id', 'message'] as const;
/** An `events` row without its id, positional (see {@link EVENT_COLUMNS}). */
export type EventRowValues = [number, EventSeverity, string, string, string, number | null, number | null, string];

/** Jobs of one storage policy started in `[fromTime, toTime)` become aged at `agedTime`. */
export interface AgingWork {
  storagePolicyId: number;
  fromTime: number;
  toTime: number;
  agedTime: number;
}

/** One day of history. Jobs are in job-id order; events in time order. */
export interface HistoryDay {
  /** 0 for the first day ({@link JOB_EPOCH}). */
  day: number;
  jobs: JobRowValues[];
  events: EventRowValues[];
  aging: AgingWork[];
}

interface PendingJob {
  type: JobType;
  client: ClientRow;
  subclient: SubclientRow | null;
  level: BackupLevel | null;
  start: number;
  policy: StoragePolicyRow;
  mediaAgent: MediaAgentRow;
}

const LOG_AGENTS = new Set(['SQL Server', 'Oracle', 'SAP HANA', 'PostgreSQL', 'MySQL']);
const FS_AGENTS = new Set(['Windows File System', 'Linux File System', 'Unix File System', 'NDMP', 'Active Directory']);

function fmtGb(bytes: number): string {
  return `${(bytes / GB).toFixed(2)} GB`;
}
function fmtDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

/** Parses `HH:MM` into seconds after midnight. */
function clock(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 3600 + Number(hhmm.slice(3, 5)) * 60;
}

/**
 * The job history of `catalog`, one {@link HistoryDay} at a time, starting on {@link JOB_EPOCH}
 * and going on for as long as the caller keeps pulling (the caller stops when the database
 * has reached its size). Deterministic for a seed and catalog.
 */
export function* sampleHistory(catalog: SampleCatalog, seed: number): Generator<HistoryDay, never, void> {
  const rng = new Prng(seed, 2);
  const { identity } = catalog;
  const commserve = catalog.clients[0]!;
  const clientById = new Map(catalog.clients.map((c) => [c.id, c]));
  const maById = new Map(catalog.mediaAgents.map((m) => [m.id, m]));
  const policyById = new Map(catalog.storagePolicies.map((p) => [p.id, p]));
  const primaryMa = new Map<number, MediaAgentRow>();
  const primaryRetention = new Map<number, number>();
  const libraryName = new Map(catalog.libraries.map((l) => [l.id, l.name]));
  for (const copy of catalog.storagePolicyCopies) {
    if (copy.copy_type === 'primary') {
      primaryMa.set(copy.storage_policy_id, maById.get(copy.media_agent_id)!);
      primaryRetention.set(copy.storage_policy_id, copy.retention_days);
    }
  }
  const auxCopies = catalog.storagePolicyCopies.filter((c) => c.copy_type !== 'primary');
  const kindBySchedule = new Map(catalog.schedulePolicies.map((p) => [p.id, p.kind]));
  const drPolicy = catalog.storagePolicies.find((p) => p.name === 'CommServeDR')!;
  const offlineClients = catalog.clients.filter((c) => c.status === 'Offline');
  const activeSubclients = catalog.subclients.filter((s) => s.enabled && s.schedule_policy_id !== null);
  const mountPaths = catalog.mountPaths;
  const usersForKill = catalog.users.filter((u) => u.domain !== null).slice(0, 12);
  const offset = identity.utcOffsetSeconds;
  const csName = identity.commserveClientName;
  let nextJobId = 1_000_000 + rng.int(0, 3_000_000);
  const lastFullDay = new Map<number, number>();
  let drDbBytes = Math.round(rng.logNormal(6, 1.5) * GB);

  for (let day = 0; ; day++) {
    const dayUtc = JOB_EPOCH + day * DAY;
    const localMidnight = dayUtc - offset;
    const date = new Date(dayUtc * 1000);
    const weekday = date.getUTCDay();
    const dayOfMonth = date.getUTCDate();
    const growth = 1 + 0.0004 * day;
    const pending: PendingJob[] = [];
    const at = (hhmm: string, maxJitterMin: number): number =>
      localMidnight + clock(hhmm) + Math.floor(rng.next() * rng.next() * maxJitterMin * 60);

    for (const sc of activeSubclients) {
      const client = clientById.get(sc.client_id)!;
      const policy = policyById.get(sc.storage_policy_id)!;
      const ma = rng.chance(0.92) ? primaryMa.get(policy.id)! : rng.pick(catalog.mediaAgents);
      const add = (level: BackupLevel, hhmm: string, jitter = 45): void => {
        pending.push({ type: 'Backup', client, subclient: sc, level, start: at(hhmm, jitter), policy, mediaAgent: ma });
      };
      const kind = kindBySchedule.get(sc.schedule_policy_id!) as ScheduleKind;
      const logs = LOG_AGENTS.has(sc.agent_type) && sc.name !== 'SystemDBs';
      switch (kind) {
        case 'fs-daily':
          if (weekday === 0) add(sc.agent_type === 'NDMP' ? 'Full' : 'Synthetic Full', '08:00');
          else add('Incremental', '22:00');
          break;
        case 'vm-daily':
          if (weekday === 6) add('Synthetic Full', '10:00');
          add('Incremental', '23:00');
          break;
        case 'db-daily':
          add('Full', '20:00', 60);
          if (logs) for (const h of ['00:30', '06:30', '12:30', '18:30']) add('Transaction Log', h, 10);
          break;
        case 'db-weekly':
          if (weekday === 0) add('Full', '02:00', 60);
          else add(lastFullDay.has(sc.id) ? 'Differential' : 'Full', '21:00', 60);
          if (logs) for (const h of ['03:15', '09:15', '15:15', '21:15']) add('Transaction Log', h, 10);
          break;
        case 'nonprod':
          if (dayOfMonth === 1 || !lastFullDay.has(sc.id)) add('Full', '04:00', 90);
          else add('Incremental', '01:00', 90);
          break;
        default:
          break;
      }
    }
    for (const copy of auxCopies) {
      if (copy.retention_days >= 365 && weekday !== 6) continue; // long-term tape copies run weekly
      pending.push({
        type: 'Auxiliary Copy', client: commserve, subclient: null, level: null, start: at('06:00', 30),
        policy: policyById.get(copy.storage_policy_id)!, mediaAgent: maById.get(copy.media_agent_id)!,
      });
    }
    const agingStart = at('12:00', 5);
    pending.push({ type: 'Data Aging', client: commserve, subclient: null, level: null, start: agingStart, policy: drPolicy, mediaAgent: primaryMa.get(drPolicy.id)! });
    pending.push({ type: 'Disaster Recovery Backup', client: commserve, subclient: null, level: 'Full', start: at('17:00', 2), policy: drPolicy, mediaAgent: primaryMa.get(drPolicy.id)! });

    pending.sort((a, b) => a.start - b.start);
    const jobs: JobRowValues[] = [];
    const events: EventRowValues[] = [];

    for (const p of pending) {
      const jobId = nextJobId++;
      jobs.push(makeJob(p, jobId));
    }

    // Events not tied to a job: logins, unreachable clients, storage warnings.
    const logins = Math.max(1, Math.round(catalog.users.length / 5));
    for (let i = 0; i < logins; i++) {
      const u = rng.pick(catalog.users);
      const t = localMidnight + rng.int(7 * 3600, 19 * 3600);
      if (rng.chance(0.03)) {
        events.push([t, 'Major', '32:1040', 'CvAuth', csName, null, null, `Failed login attempt for user [${u.login}] from [${rng.pick(catalog.clients).hostname}]: invalid credentials.`]);
      } else {
        events.push([t, 'Information', '32:1001', 'CvAuth', csName, null, null, `User [${u.login}] logged in to the Command Center from [${rng.pick(catalog.clients).ip_address}].`]);
      }
    }
    for (const c of offlineClients) {
      events.push([localMidnight + rng.int(0, DAY - 1), 'Minor', '19:857', 'CVD', csName, null, c.id,
        `Client [${c.name}] is not reachable. Please check the network connectivity and that the Commvault services are running on the client.`]);
    }
    if (mountPaths.length && rng.chance(0.3)) {
      const mp = rng.pick(mountPaths);
      events.push([localMidnight + rng.int(0, DAY - 1), 'Major', '62:468', 'MediaManager', maById.get(mp.media_agent_id)!.name, null, maById.get(mp.media_agent_id)!.client_id,
        `Mount path [${mp.path}] in library [${libraryName.get(mp.library_id)}] has [${rng.int(3, 9)}%] free space, below the threshold of 10%.`]);
    }
    if (rng.chance(0.1)) {
      const c = rng.pick(catalog.clients);
      events.push([localMidnight + rng.int(0, DAY - 1), 'Information', '19:1002', 'CVD', c.name, null, c.id,
        `Commvault services restarted on client [${c.name}] (version ${c.cv_version}).`]);
    }
    events.sort((a, b) => a[0] - b[0]);

    const aging: AgingWork[] = [];
    for (const [policyId, days] of primaryRetention) {
      aging.push({ storagePolicyId: policyId, fromTime: agingStart - (days + 1) * DAY, toTime: agingStart - days * DAY, agedTime: agingStart + rng.int(30, 600) });
    }
    drDbBytes = Math.round(drDbBytes * 1.0015);

    yield { day, jobs, events, aging };

    // -----------------------------------------------------------------------------------------
    function makeJob(p: PendingJob, jobId: number): JobRowValues {
      const sc = p.subclient;
      const agent = sc?.agent_type ?? null;
      const log = p.level === 'Transaction Log';
      const offline = p.client.status === 'Offline';
      const isFs = agent !== null && FS_AGENTS.has(agent);
      let status: JobStatus;
      if (p.type !== 'Backup') {
        status = rng.weighted<JobStatus>([['Completed', 97], ['Completed w/ one or more errors', 1.5], ['Failed', 1], ['Killed', 0.5]]);
      } else if (offline) {
        status = rng.weighted<JobStatus>([['Failed', 85], ['Completed', 15]]);
      } else if (log) {
        status = rng.weighted<JobStatus>([['Completed', 97.5], ['Completed w/ one or more errors', 0.5], ['Failed', 1.5], ['Killed', 0.5]]);
      } else {
        status = rng.weighted<JobStatus>([
          ['Completed', 89], ['Completed w/ one or more errors', isFs || agent === 'Virtual Server' ? 5 : 1],
          ['Completed w/ one or more warnings', 2], ['Failed', 2.8], ['Killed', 1.2],
        ]);
      }

      // What a full run of this job would process.
      let size: number;
      let files: number;
      let mediaRatio: number;
      if (p.type === 'Data Aging') {
        size = 0; files = 0; mediaRatio = 0;
      } else if (p.type === 'Disaster Recovery Backup') {
        size = drDbBytes; files = 4 + rng.int(0, 3); mediaRatio = 0.35;
      } else if (p.type === 'Auxiliary Copy') {
        size = Math.round(rng.logNormal(800, 2.5) * GB); files = rng.int(40, 4000); mediaRatio = 1;
      } else {
        const s = sc!;
        const full = s.baseBytes * growth;
        const change = Math.min(0.5, rng.logNormal(s.changeRate, 1.6));
        switch (p.level) {
          case 'Full':
            size = full; files = s.baseFiles; mediaRatio = s.agent_type === 'NDMP' ? 0.6 : 0.08 + rng.next() * 0.17;
            lastFullDay.set(s.id, day);
            break;
          case 'Synthetic Full':
            size = full; files = s.baseFiles; mediaRatio = 0.002 + rng.next() * 0.004;
            lastFullDay.set(s.id, day);
            break;
          case 'Differential':
            size = full * Math.min(0.8, change * (day - (lastFullDay.get(s.id) ?? day) + 1)); files = Math.max(1, Math.round(s.baseFiles * 0.5)); mediaRatio = 0.3 + rng.next() * 0.2;
            break;
          case 'Transaction Log':
            size = full * change * 0.25; files = rng.int(1, 24); mediaRatio = 0.45 + rng.next() * 0.15;
            break;
          default: // Incremental
            size = full * change; files = Math.max(1, Math.round(s.baseFiles * change * (0.5 + rng.next()))); mediaRatio = 0.3 + rng.next() * 0.3;
            break;
        }
      }
      size = Math.round(size);
      const throughputGbPerHour = Math.min(4000, Math.max(20, rng.logNormal(450, 1.8)));
      const transferred = p.level === 'Synthetic Full' ? size / 4 : size;
      let duration = 45 + rng.int(0, 180) + Math.round((transferred / GB / throughputGbPerHour) * 3600);
      if (isFs && p.level === 'Incremental') duration += Math.round(sc!.baseFiles / 20000);
      if (p.type === 'Data Aging') duration = rng.int(40, 900);

      let errorCode: string | null = null;
      let reason: string | null = null;
      let failedFiles = 0;
      let doneFraction = 1;
      const clientName = p.client.name;
      const scLabel = sc ? `${sc.backup_set}\\${sc.name}` : '';
      switch (status) {
        case 'Completed w/ one or more errors':
          if (agent === 'Virtual Server') {
            const vms = JSON.parse(sc!.content_paths) as string[];
            failedFiles = 1;
            errorCode = '91:400';
            reason = `Failed to back up 1 of ${vms.length} virtual machines: [${rng.pick(vms).slice(3)}] snapshot creation failed: An error occurred while quiescing the virtual machine.`;
          } else if (isFs) {
            failedFiles = Math.max(1, Math.round(rng.logNormal(12, 4)));
            errorCode = '14:68';
            reason = `[${failedFiles}] items failed to back up: The process cannot access the file because it is being used by another process.`;
          } else {
            errorCode = '7:105';
            reason = p.type === 'Auxiliary Copy' ? `Some jobs could not be copied to copy [Secondary-Cloud] of storage policy [${p.policy.name}]; they will be picked up by the next run.` : 'One or more objects could not be backed up; see the job details.';
          }
          break;
        case 'Completed w/ one or more warnings':
          errorCode = '14:88';
          reason = isFs ? `[${rng.int(1, 40)}] files were skipped because they were locked or changed during backup.` : 'Job completed with warnings: the previous job did not complete; the next backup will be converted to full.';
          break;
        case 'Failed': {
          doneFraction = 0.02 + rng.next() * 0.5;
          [errorCode, reason] = failure(p, offline, agent);
          break;
        }
        case 'Killed':
          doneFraction = 0.1 + rng.next() * 0.8;
          errorCode = '7:47';
          reason = rng.chance(0.7)
            ? `Job was killed by user [${usersForKill.length ? rng.pick(usersForKill).login : 'admin'}].`
            : 'Job was killed by the system: it exceeded the maximum run time of 24 hours for this schedule.';
          break;
        default:
          break;
      }
      if (doneFraction < 1) {
        duration = Math.max(5, Math.round(duration * doneFraction));
        size = Math.round(size * doneFraction);
        files = Math.round(files * doneFraction);
      }
      const end = p.start + duration;
      const media = Math.round(size * mediaRatio);
      const maName = p.mediaAgent.name;

      // Events of this job.
      const what = p.type === 'Backup'
        ? `Client [${clientName}] Agent Type [${agent}] Subclient [${scLabel}] Backup Level [${p.level}] Storage Policy [${p.policy.name}] MediaAgent [${maName}]`
        : p.type === 'Data Aging' ? 'Data Aging for all storage policies' : `${p.type} Storage Policy [${p.policy.name}] MediaAgent [${maName}]`;
      events.push([p.start, 'Information', '7:211', 'JobManager', csName, jobId, p.client.id, `Job [${jobId}] started. ${what}.`]);
      if (isFs && (p.level === 'Incremental' || p.level === 'Full') && status !== 'Failed') {
        events.push([p.start + Math.min(duration - 1, 30 + Math.round(sc!.baseFiles / 20000)), 'Information', '17:40', 'clBackup', clientName, jobId, p.client.id,
          `Scan phase completed for job [${jobId}]: [${files}] items to back up, [${sc!.baseFiles}] items in the collect file.`]);
      }
      switch (status) {
        case 'Failed':
          events.push([end, p.client.env === 'prod' ? 'Critical' : 'Major', errorCode!, p.type === 'Backup' ? 'clBackup' : 'JobManager', p.type === 'Backup' ? clientName : csName, jobId, p.client.id,
            `Error Code: [${errorCode}] Description: ${reason} Source: ${clientName}, Process: ${p.type === 'Backup' ? 'clBackup' : 'JobManager'}`]);
          break;
        case 'Killed':
          events.push([end, 'Minor', errorCode!, 'JobManager', csName, jobId, p.client.id, `Job [${jobId}]: ${reason}`]);
          break;
        case 'Completed w/ one or more errors':
        case 'Completed w/ one or more warnings':
          events.push([end - 1, 'Minor', errorCode!, p.type === 'Backup' ? 'clBackup' : 'AuxCopyMgr', p.type === 'Backup' ? clientName : maName, jobId, p.client.id, `Job [${jobId}]: ${reason}`]);
          break;
        default:
          break;
      }
      if (p.type === 'Data Aging') {
        events.push([end, 'Information', '7:301', 'DataAging', csName, jobId, p.client.id,
          `Data Aging job [${jobId}] finished: [${rng.int(20, 4000)}] jobs aged, [${fmtGb(rng.logNormal(900, 2) * GB)}] of data pruned from [${catalog.libraries.length}] libraries.`]);
      } else if (status !== 'Failed' && status !== 'Killed') {
        events.push([end, 'Information', '7:227', 'JobManager', csName, jobId, p.client.id,
          `Job [${jobId}] ${status === 'Completed' ? 'completed' : status.toLowerCase()}. Size of application [${fmtGb(size)}], data written to media [${fmtGb(media)}], objects [${files}], duration [${fmtDuration(duration)}], throughput [${(size / GB / Math.max(1, duration) * 3600).toFixed(2)} GB/hr].`]);
      }

      return [
        jobId, p.type, p.client.id, sc?.id ?? null, agent, p.level, status, p.start, end,
        size, media, files, failedFiles, p.type === 'Data Aging' ? null : p.mediaAgent.id, p.type === 'Data Aging' ? null : p.policy.id,
        errorCode, reason, 0, null, end,
      ];
    }

    function failure(p: PendingJob, offline: boolean, agent: string | null): [string, string] {
      const clientName = p.client.name;
      if (offline || rng.chance(0.25)) {
        return ['19:857', `Client [${clientName}] is not reachable. Please check the network connectivity and that the Commvault services are running on the client.`];
      }
      if (rng.chance(0.2)) {
        const mp = mountPaths.find((m) => m.media_agent_id === p.mediaAgent.id) ?? mountPaths[0];
        return ['13:138', `Error occurred while writing to media in library [${mp ? libraryName.get(mp.library_id) : 'unknown'}], mount path [${mp?.path ?? 'unknown'}] on MediaAgent [${p.mediaAgent.name}]: The specified network name is no longer available.`];
      }
      if (rng.chance(0.15)) return ['62:2483', `MediaAgent [${p.mediaAgent.name}] is not available for the job: the index cache on [${p.mediaAgent.index_cache_path}] is full.`];
      switch (agent) {
        case 'SQL Server':
          return ['30:325', `SQL Server backup failed for [${rng.pick(JSON.parse(p.subclient!.content_paths) as string[])}]: Msg 3201, Cannot open backup device. Operating System error 5 (Access is denied.).`];
        case 'Oracle':
          return ['18:134', `RMAN-03009: failure of backup command on ch1 channel at ${new Date(p.start * 1000).toISOString().slice(0, 19).replace('T', ' ')}; ORA-19502: write error on file "/dev/null", block number ${rng.int(1000, 999999)} (block size=8192).`];
        case 'Virtual Server':
          return ['91:326', `Unable to connect to vCenter [vcenter-0${rng.int(1, 3)}.corp.example]: Cannot complete login due to an incorrect user name or password.`];
        case 'Windows File System':
        case 'Active Directory':
          return ['19:1131', 'Scan phase failed: Volume Shadow Copy creation failed on volume [C:\\] (0x80042306). The shadow copy provider had an error.'];
        case 'PostgreSQL':
        case 'MySQL':
          return ['94:12', `Failed to connect to the database server on [${clientName}]: connection refused (is the instance running?).`];
        default:
          if (p.type === 'Auxiliary Copy') return ['13:172', `No drives available in library for copy of storage policy [${p.policy.name}]: all drives are offline or in use.`];
          return ['7:60', `Job failed: the data transfer was interrupted on [${clientName}] (connection reset by peer). The job will be retried by the next schedule.`];
      }
    }
  }
}

