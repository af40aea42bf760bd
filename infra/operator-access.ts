/**
 * The people's principals (issue 22): two roles an operator assumes for the commands that are not the
 * scheduled job. Both are trusted by this account (an IAM user, an SSO permission set or another role of
 * the account still needs `sts:AssumeRole` on them in its own policy), so a recovery machine at the
 * hot-site needs no long-term key of the CommServe.
 *
 * | role | commands | may |
 * |---|---|---|
 * | recovery | `recover`, `fetch`, `sets`, `history`, `report` | list the bucket; read `sets/*`, `archive/*`, `jobs/*`, `state/*` (scrub state: last checked); `s3:RestoreObject` on `archive/*`; decrypt through S3; read the settings path. Nothing that writes or deletes. |
 * | operator | `verify`, `prune` (by hand), and all the recovery role's commands | the recovery role's permissions, plus write `verify/*` (the trial-restore record), read and write `prune/*` (the plan record), delete in `sets/*` and `archive/*` (`s3:DeleteObject` without version ids: the versioned bucket keeps the data as noncurrent versions; locked archive versions stay), and with Object Lock on read retention (`s3:GetObjectRetention`) so it keeps what is still locked. |
 *
 * The agent's own role (AgentAccess) is deliberately not reused: it runs unattended on the CommServe,
 * and issue 21's bucket policy will make it create-only.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { HotSiteBucket } from './hot-site-bucket';
import type { SettingsParameters } from './settings-parameters';

/** Properties of the operator access. */
export interface OperatorAccessProps {
  readonly hotSite: HotSiteBucket;
  readonly settings: SettingsParameters;
  /** Longest session of an assumed role. Default 12 hours (a recovery with archive restores takes hours). */
  readonly maxSessionDuration?: Duration;
}

/** The recovery and operator roles. */
export class OperatorAccess extends Construct {
  /** Read-only recovery: recover, fetch, sets, history, report (hot-site and archive). */
  readonly recoveryRole: iam.Role;
  /** Recovery plus verify and a manual prune. */
  readonly operatorRole: iam.Role;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const maxSessionDuration = props.maxSessionDuration ?? Duration.hours(12);
    this.recoveryRole = new iam.Role(this, 'RecoveryRole', {
      description: 'commserve-dr recovery (recover, fetch, sets, history, report): read the hot-site and archive copies, restore archived objects; never writes or deletes',
      assumedBy: new iam.AccountRootPrincipal(),
      maxSessionDuration,
    });
    this.grantRecovery(this.recoveryRole, props);

    this.operatorRole = new iam.Role(this, 'OperatorRole', {
      description: 'commserve-dr operator (verify, prune by hand, and recovery): recovery plus the verify and prune records and retention deletes',
      assumedBy: new iam.AccountRootPrincipal(),
      maxSessionDuration,
    });
    this.grantRecovery(this.operatorRole, props);
    props.hotSite.grantWriteArea(this.operatorRole, 'verify');
    props.hotSite.grantReadArea(this.operatorRole, 'prune');
    props.hotSite.grantWriteArea(this.operatorRole, 'prune');
    props.hotSite.grantDeleteArea(this.operatorRole, 'sets');
    props.hotSite.grantDeleteArea(this.operatorRole, 'archive');
    // With Object Lock on, a manual prune reads the lock of what it would expire and keeps what is still locked.
    props.hotSite.grantReadRetention(this.operatorRole);
  }

  /** What every recovery command needs. */
  private grantRecovery(role: iam.Role, props: OperatorAccessProps): void {
    // state/: `sets` shows when each SET was last checked (the scrub state, state/scrub.json) — a read, found by test/iam.
    for (const area of ['sets', 'archive', 'jobs', 'state'] as const) props.hotSite.grantReadArea(role, area);
    props.hotSite.grantRestoreArea(role, 'archive');
    props.settings.grantRead(role);
  }
}
