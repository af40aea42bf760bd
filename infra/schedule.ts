/**
 * The DR job schedule (SPEC §4.1): EventBridge Scheduler starts the DR job state machine
 * - every day at `ScheduleTime` (default 17:00) in `ScheduleTimeZone` (IANA name, default UTC) with
 *   input `{"backupType":"FULL"}` — Scheduler evaluates the cron expression in that time zone, so
 *   daylight-saving changes do not move the job;
 * - optionally on extra cron/rate expressions (same time zone) with `{"backupType":"DIFFERENTIAL"}`;
 * - every `LogBackupIntervalMinutes` (default 15; null: no schedule) with `{"backupType":"LOG"}` (SPEC §4.5, issue 17
 *   item 2): a LOG point through the same state machine — same trigger, one-job lock, job record and alarms as the
 *   daily job. Its start is kept for at most one interval (`maxEventAge`, at least the 60 s Scheduler allows) and
 *   retried 3 times: a LOG start later than that is superseded by the next one. A LOG due while a FULL or
 *   DIFFERENTIAL runs waits for the lock, then is skipped with a record (agent/commands/backup/log-wait.ts); the
 *   RPO alarm covers LOGs that stop arriving.
 *
 * The flexible time window is off (the job starts at the set minute). Scheduler assumes one role,
 * trusted by `scheduler.amazonaws.com` for this account only, whose only permission is
 * `states:StartExecution` on the DR job state machine. A start that fails is retried for at most
 * `maxEventAge` (default 1 h); a start that never happens shows up as the "no successful DR backup"
 * alarm.
 *
 * Pick DIFFERENTIAL times outside the FULL's usual run: the agent allows one job in phase 1 at a time
 * and refuses a second start (that job then fails and raises the job-failed alarm).
 */
import { Duration, Stack, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SettingsSchema } from '#core/settings';

const DEFAULTS = SettingsSchema.parse({});

/** Properties of the DR job schedule. */
export interface DrJobScheduleProps {
  /** The DR job state machine to start. */
  readonly stateMachine: sfn.IStateMachine;
  /** Time of the daily FULL, `HH:MM` (24-hour). Default `ScheduleTime`'s default (17:00). */
  readonly scheduleTime?: string;
  /** IANA time zone of every schedule (e.g. `Europe/Paris`). Default `ScheduleTimeZone`'s default (UTC). */
  readonly scheduleTimeZone?: string;
  /**
   * Extra DIFFERENTIAL schedules: EventBridge Scheduler expressions, `cron(0 5,11,23 * * ? *)` or
   * `rate(6 hours)`; a bare six-field cron (`0 5,11,23 * * ? *`) is accepted too. Default none.
   */
  readonly differentialSchedules?: readonly string[];
  /**
   * Minutes between LOG points (`LogBackupIntervalMinutes`, 1–1440); null: no LOG schedule. Default the setting's
   * default (15).
   */
  readonly logBackupIntervalMinutes?: number | null;
  /** Whether the schedules are enabled. Default true (false for a stack that must not run jobs yet). */
  readonly enabled?: boolean;
  /** How long Scheduler keeps retrying a start that failed. Default 1 hour (60 s to 24 h). */
  readonly maxEventAge?: Duration;
}

/** Normalises a DIFFERENTIAL schedule expression, or throws naming it. */
export function normaliseScheduleExpression(expression: string): string {
  const text = expression.trim();
  const cron = /^cron\((.*)\)$/.exec(text);
  const fields = (cron ? cron[1] : text).trim().split(/\s+/);
  if (/^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/.test(text)) return text;
  if (fields.length === 6 && fields.every((f) => /^[0-9A-Za-z*?,/#L W-]+$/.test(f))) return `cron(${fields.join(' ')})`;
  throw new Error(`schedule expression ${JSON.stringify(expression)} must be cron(<6 fields>) or rate(<n> minutes|hours|days)`);
}

/** Checks an IANA time-zone name (the runtime's time-zone database). */
export function assertTimeZone(name: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    throw new Error(`scheduleTimeZone ${JSON.stringify(name)} is not an IANA time-zone name (e.g. UTC, Europe/Paris, America/New_York)`);
  }
  return name;
}

/** The EventBridge Scheduler schedules of the DR job. */
export class DrJobSchedule extends Construct {
  /** The daily FULL. */
  readonly full: scheduler.Schedule;
  /** The extra DIFFERENTIAL schedules, in the order given. */
  readonly differentials: readonly scheduler.Schedule[];
  /** The LOG schedule (every `LogBackupIntervalMinutes`), or undefined when LOG backups are off. */
  readonly log?: scheduler.Schedule;
  /** The role Scheduler assumes: `states:StartExecution` on the state machine, nothing else. */
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: DrJobScheduleProps) {
    super(scope, id);
    const time = SettingsSchema.shape.ScheduleTime.parse(props.scheduleTime ?? DEFAULTS.ScheduleTime);
    const timeZone = TimeZone.of(assertTimeZone(props.scheduleTimeZone ?? DEFAULTS.ScheduleTimeZone));
    const [hour, minute] = time.split(':').map(Number);
    const account = Stack.of(this).account;

    this.role = new iam.Role(this, 'Role', {
      description: 'EventBridge Scheduler: starts the commserve-dr DR job state machine',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': account } } }),
    });
    const target = (backupType: 'FULL' | 'DIFFERENTIAL' | 'LOG', retry: { maxEventAge: Duration; retryAttempts: number } = { maxEventAge: props.maxEventAge ?? Duration.hours(1), retryAttempts: 20 }) =>
      new targets.StepFunctionsStartExecution(props.stateMachine, {
        role: this.role,
        input: scheduler.ScheduleTargetInput.fromObject({ backupType }),
        ...retry,
      });

    this.full = new scheduler.Schedule(this, 'Full', {
      description: `commserve-dr: daily FULL DR backup at ${time} (${timeZone.timezoneName})`,
      schedule: scheduler.ScheduleExpression.cron({ minute: String(minute), hour: String(hour), timeZone }),
      timeWindow: scheduler.TimeWindow.off(),
      enabled: props.enabled ?? true,
      target: target('FULL'),
    });
    this.differentials = (props.differentialSchedules ?? []).map((expression, index) => {
      const normalised = normaliseScheduleExpression(expression);
      return new scheduler.Schedule(this, `Differential${index + 1}`, {
        description: `commserve-dr: DIFFERENTIAL DR backup, ${normalised} (${timeZone.timezoneName})`,
        schedule: scheduler.ScheduleExpression.expression(normalised, timeZone),
        timeWindow: scheduler.TimeWindow.off(),
        enabled: props.enabled ?? true,
        target: target('DIFFERENTIAL'),
      });
    });
    const interval = props.logBackupIntervalMinutes === undefined ? DEFAULTS.LogBackupIntervalMinutes : props.logBackupIntervalMinutes;
    if (interval !== null) {
      if (!Number.isInteger(interval) || interval < 1 || interval > 1440) throw new Error(`logBackupIntervalMinutes must be an integer from 1 to 1440, or null, got ${interval}`);
      this.log = new scheduler.Schedule(this, 'Log', {
        description: `commserve-dr: LOG point every ${interval} minute(s) (LogBackupIntervalMinutes)`,
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(interval)),
        timeWindow: scheduler.TimeWindow.off(),
        enabled: props.enabled ?? true,
        target: target('LOG', { maxEventAge: Duration.minutes(interval), retryAttempts: 3 }),
      });
    }
  }
}
