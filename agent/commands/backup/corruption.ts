/**
 * What phase 1 does when the integrity check finds damage (SPEC §4.2 step 1): the manifest records it
 * (the caller), `DatabaseCorruptionDetected` is published, and job activity on the CommServe is disabled
 * unless `DisableActivityOnDbCorruption` is true. The backup still proceeds.
 *
 * Job activity is switched off by the engine when it is configured to (SQL Server:
 * `jobActivityDisableStatement`), else through the CommServe registry: `JobActivityDisabled` (REG_DWORD 1) and
 * `JobActivityDisabledReason` (REG_SZ) under the first configured CommServe key, written through the
 * configured RegistryStore (the Windows registry, or the portable hive).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '#core/errors';
import type { Integrity, JobEvent } from '#core/manifest';
import { MetricName } from '#core/metrics';
import type { Settings } from '#core/settings';
import type { MetricsPublisher } from '#agent/metrics/metrics';
import { writeReg } from '#agent/registry/reg-format';
import type { RegistryStore } from '#agent/registry/types';
import type { DatabaseEngine } from '#agent/engines/types';
import { describeIntegrityFindings } from '#core/integrity-findings';

/** Registry value names of the job-activity switch. */
export const JOB_ACTIVITY_DISABLED_VALUE = 'JobActivityDisabled';
export const JOB_ACTIVITY_REASON_VALUE = 'JobActivityDisabledReason';

/** Sets the job-activity switch in the CommServe's registry. @throws RegistryError when the store cannot be written. */
export async function disableJobActivity(store: RegistryStore, commServeKey: string, reason: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commserve-dr-activity-'));
  try {
    const file = join(dir, 'disable-job-activity.reg');
    writeFileSync(
      file,
      writeReg({
        format: 'REGEDIT5',
        operations: [
          {
            op: 'setKey',
            key: commServeKey,
            values: [
              { name: JOB_ACTIVITY_DISABLED_VALUE, type: 'REG_DWORD', data: 1 },
              { name: JOB_ACTIVITY_REASON_VALUE, type: 'REG_SZ', data: reason },
            ],
          },
        ],
      }),
    );
    await store.importFile(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Publishes the corruption metric (1 or 0) and, on damage, disables job activity unless the setting
 * says not to. Returns the events to record. Never throws: a failure here is an error event.
 */
export async function handleIntegrityResult(options: {
  integrity: Integrity;
  settings: Settings;
  store: RegistryStore;
  metrics: MetricsPublisher;
  jobId: number;
  /** The engine, when it can switch job activity itself (SQL Server with `jobActivityDisableStatement`). */
  engine?: Pick<DatabaseEngine, 'disableJobActivity'>;
}): Promise<JobEvent[]> {
  const { integrity, settings } = options;
  const events: JobEvent[] = [];
  const event = (level: JobEvent['level'], code: string, message: string) => events.push({ time: new Date().toISOString(), level, code, message });
  if (integrity.status === 'ok' || integrity.status === 'corrupt') {
    await options.metrics.publish(MetricName.DatabaseCorruptionDetected, integrity.status === 'corrupt' ? 1 : 0);
  }
  if (integrity.status !== 'corrupt') return events;
  if (settings.DisableActivityOnDbCorruption) {
    event('warning', 'JOB_ACTIVITY_KEPT', 'job activity stays enabled despite the corruption (DisableActivityOnDbCorruption is true)');
    return events;
  }
  const key = settings.Registry.commServeKeys[0];
  const reason = `DR backup job ${options.jobId} found database corruption: ${describeIntegrityFindings(integrity.messages)}`.slice(0, 1000);
  try {
    if (await options.engine?.disableJobActivity?.(reason)) {
      event('error', 'JOB_ACTIVITY_DISABLED', 'job activity disabled on the CommServe (the configured jobActivityDisableStatement ran) because of database corruption');
      return events;
    }
  } catch (error) {
    event('error', 'JOB_ACTIVITY_DISABLE_FAILED', `the jobActivityDisableStatement failed: ${describeError(error)}; setting the registry switch instead`);
  }
  try {
    await disableJobActivity(options.store, key, reason);
    event('error', 'JOB_ACTIVITY_DISABLED', `job activity disabled on the CommServe (${key}\\${JOB_ACTIVITY_DISABLED_VALUE} = 1) because of database corruption`);
  } catch (error) {
    event('error', 'JOB_ACTIVITY_DISABLE_FAILED', `database corruption found, but job activity could not be disabled: ${describeError(error)}`);
  }
  return events;
}
