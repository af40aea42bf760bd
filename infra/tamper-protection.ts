/**
 * Tamper protection of the hot-site (issue "A compromised CommServe cannot destroy its own DR backups";
 * SPEC §4.3, §6.1, §8). Two halves:
 *
 * **Create-only writers (prevention).** Statements in the hot-site bucket policy that apply to the
 * CommServe's own principals (the agent role, the hybrid-activated managed node's credentials) whatever
 * their identity policies say:
 * - `s3:PutObject` is denied unless the request carries `If-None-Match` (condition key
 *   `s3:if-none-match` present) — except for the multipart steps that take no conditional header
 *   (`s3:ObjectCreationOperation` false: CreateMultipartUpload, UploadPart, UploadPartCopy). So
 *   PutObject and CompleteMultipartUpload can only **create** a key; an existing SET file, manifest or
 *   job record can never be replaced with the agent's credentials. S3 documents that such a statement
 *   also refuses CopyObject into the same prefix (403 without a conditional header, 501 with one):
 *   the agent never copies, so nothing is lost. Source: Amazon S3 User Guide, "Enforce conditional
 *   writes on Amazon S3 buckets".
 * - every destructive or protection-weakening action is denied outright: deleting objects or
 *   versions, changing retention or legal holds, bypassing governance retention, and changing the
 *   bucket's policy, versioning, lifecycle, Object Lock, encryption, replication or ownership.
 *
 * **Tamper alarm (detection).** Deletes and overwrites are API calls, so they are CloudTrail events:
 * a trail logs the hot-site bucket's **write data events** (reads are not logged: they are most of
 * the requests and none of the risk), and EventBridge matches them against the rule below. Bucket
 * configuration changes are management events, which EventBridge receives without a trail. The rule
 * fires on
 * 1. any write or delete S3 refused (`AccessDenied` — e.g. the create-only statement — or
 *    `PreconditionFailed` — an `If-None-Match` write of a key that exists): an attempt is already news;
 * 2. a delete or legal-hold change by anyone but the prune function, a retention change by anyone but the roles
 *    that lock (ArchiveSet, PruneSets);
 * 3. a create or overwrite (PutObject, CopyObject, CompleteMultipartUpload) by anyone but the known
 *    writers (agent, phase-2 functions, repair);
 * 4. a change of the bucket's policy, versioning, lifecycle, Object Lock or encryption by anyone;
 * and a CloudWatch alarm on the rule's `AWS/Events` `TriggeredRules` metric notifies the existing alarm
 * topic within minutes (CloudTrail delivers data events to EventBridge within about 5 minutes). Each
 * matched event itself (principal, call, key, error) is also published to that topic, and the trail
 * keeps every write event in the access-logs bucket (`cloudtrail/`) for the investigation.
 *
 * Why CloudTrail rather than S3 event notifications: an S3 notification names the requester's account,
 * not the role, so it cannot tell the prune function's deletes from an attacker's, and it is never
 * sent for a refused request. Cost: CloudTrail data events are $0.10 per 100,000 events; a day of jobs
 * with LOG points every 15 minutes writes a few hundred objects (well under $0.01/day), EventBridge
 * rules on AWS events are free, one alarm is $0.10/month.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { HotSiteBucket } from './hot-site-bucket';

/**
 * Days noncurrent versions are kept so a SET's overwritten or deleted object can be restored from its version for as
 * long as retention keeps the SET (issue 21 item 2): the longer of the failed-DR lifespan and the kept cycles plus the
 * open one (`(RetainCycles + 1) × cycleDays`, a cycle being a day with the daily FULL of SPEC §4.1), plus 7 days for
 * cycles that do not count (a failed last DIFFERENTIAL) and jobs that did not run.
 * @param retention the retention settings (SPEC §9).
 * @param cycleDays days between FULLs (default 1).
 */
export function noncurrentVersionDaysFor(retention: { RetainCycles: number; SetLifeSpanForFailedDR: number }, cycleDays = 1): number {
  return Math.max(retention.SetLifeSpanForFailedDR, (retention.RetainCycles + 1) * cycleDays) + 7;
}

/** Object actions that create or replace an object (what the create-only statement governs). */
export const OBJECT_WRITE_EVENTS = ['PutObject', 'CopyObject', 'CompleteMultipartUpload'] as const;

/** Object actions that remove data or weaken its protection (CloudTrail event names). */
export const OBJECT_DESTRUCTIVE_EVENTS = ['DeleteObject', 'DeleteObjects', 'PutObjectLegalHold'] as const;

/**
 * Object Lock retention changes (CloudTrail event name). Expected only from the roles that lock (ArchiveSet for
 * `archive/`, PruneSets for `sets/`: extend only, neither has `s3:BypassGovernanceRetention`); from anyone else —
 * an administrator shortening a GOVERNANCE lock with the bypass, say — it is an alarm.
 */
export const OBJECT_RETENTION_EVENTS = ['PutObjectRetention'] as const;

/** Bucket configuration changes that could switch the protection off (CloudTrail management events). */
export const BUCKET_PROTECTION_EVENTS = [
  'PutBucketPolicy',
  'DeleteBucketPolicy',
  'PutBucketVersioning',
  'PutBucketLifecycle',
  'DeleteBucketLifecycle',
  'PutBucketObjectLockConfiguration',
  'PutBucketEncryption',
  'DeleteBucketEncryption',
  'PutBucketReplication',
  'DeleteBucketReplication',
  'PutBucketOwnershipControls',
  'DeleteBucket',
] as const;

/**
 * IAM actions denied outright to the create-only principals, on the bucket and its objects: every way
 * to delete data or weaken its protection (IAM action names; several CloudTrail events map to one).
 */
export const CREATE_ONLY_DENIED_ACTIONS = [
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:BypassGovernanceRetention',
  's3:PutObjectAcl',
  's3:PutObjectVersionAcl',
  's3:DeleteBucket',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:PutBucketVersioning',
  's3:PutLifecycleConfiguration',
  's3:PutBucketObjectLockConfiguration',
  's3:PutEncryptionConfiguration',
  's3:PutReplicationConfiguration',
  's3:PutBucketOwnershipControls',
  's3:PutBucketAcl',
  's3:PutBucketPublicAccessBlock',
] as const;

/** The roles whose writes are expected, by kind of write. */
export interface TrustedWriters {
  /** Create new objects (with `If-None-Match`): the agent. */
  readonly creators: readonly iam.IRole[];
  /** Write objects as part of phase 2 / reporting / repair (archive copies, job records, restored versions). */
  readonly cloudWriters: readonly iam.IRole[];
  /** Delete objects: the prune function only. */
  readonly deleters: readonly iam.IRole[];
  /** Set or extend Object Lock retention: ArchiveSet (archive lock), PruneSets (hot-site lock). Default none. */
  readonly lockers?: readonly iam.IRole[];
}

/** Properties of the tamper protection. */
export interface TamperProtectionProps {
  readonly hotSite: HotSiteBucket;
  /** Principals that may only create objects at the hot-site and never delete (the CommServe's role). */
  readonly createOnlyPrincipals: readonly iam.IRole[];
  readonly writers: TrustedWriters;
  /** The alarm topic (the existing DR alarms topic). */
  readonly alarmTopic: sns.ITopic;
  /** The KMS key of the alarm topic: EventBridge is allowed to use it to publish the matched events. */
  readonly alarmTopicKey?: kms.IKey;
  /**
   * Enforce create-only writes (deny PutObject/CompleteMultipartUpload without `If-None-Match`) for the
   * create-only principals. Default **true**: the agent sends `If-None-Match: *` on every write, writes its scrub
   * state and break-glass guide to a new key per job (`state/scrub/<SET>.json`, `recovery/<SET>.md`), and
   * repairs through the RepairObject function (which also publishes `RECOVERY.md`). The delete/protection deny
   * is always on.
   */
  readonly enforceCreateOnly?: boolean;
  /** Log the bucket's write data events with a CloudTrail trail. Default true (the alarm needs it for object events). */
  readonly dataEventTrail?: boolean;
}

/** Create-only bucket policy for the CommServe's principals, and the tamper rule + alarm. */
export class TamperProtection extends Construct {
  /** The EventBridge rule that matches tamper attempts. */
  readonly rule: events.Rule;
  /** Fires when the rule matched at least once in 5 minutes. */
  readonly alarm: cloudwatch.Alarm;
  /** The data-event trail, when enabled. */
  readonly trail?: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: TamperProtectionProps) {
    super(scope, id);
    const bucket = props.hotSite.bucket;
    const principals = props.createOnlyPrincipals.map((role) => new iam.ArnPrincipal(role.roleArn));

    if (props.enforceCreateOnly ?? true) bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CreateOnlyCommServeWritesNeedIfNoneMatch',
        effect: iam.Effect.DENY,
        principals,
        actions: ['s3:PutObject'],
        resources: [bucket.arnForObjects('*')],
        conditions: {
          Null: { 's3:if-none-match': 'true' },
          Bool: { 's3:ObjectCreationOperation': 'true' },
        },
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CommServeNeverDeletesOrWeakensProtection',
        effect: iam.Effect.DENY,
        principals,
        actions: [...CREATE_ONLY_DENIED_ACTIONS],
        resources: [bucket.bucketArn, bucket.arnForObjects('*')],
      }),
    );

    if (props.dataEventTrail ?? true) {
      this.trail = new cloudtrail.Trail(this, 'WriteDataEvents', {
        bucket: props.hotSite.accessLogsBucket,
        s3KeyPrefix: 'cloudtrail',
        isMultiRegionTrail: false,
        includeGlobalServiceEvents: false,
        managementEvents: cloudtrail.ReadWriteType.NONE,
        enableFileValidation: true,
      });
      this.trail.addS3EventSelector([{ bucket }], { readWriteType: cloudtrail.ReadWriteType.WRITE_ONLY, includeManagementEvents: false });
    }

    // EventBridge publishes each matched event (who, what key, which call) to the encrypted alarm topic.
    props.alarmTopicKey?.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.rule = new events.Rule(this, 'Rule', {
      description: 'commserve-dr: a write or delete at the hot-site that no DR component should make (tamper attempt)',
      eventPattern: tamperEventPattern({
        bucketName: bucket.bucketName,
        deleterArns: props.writers.deleters.map((r) => r.roleArn),
        lockerArns: (props.writers.lockers ?? []).map((r) => r.roleArn),
        writerArns: [...props.writers.creators, ...props.writers.cloudWriters, ...props.writers.deleters].map((r) => r.roleArn),
      }),
      targets: [new targets.SnsTopic(props.alarmTopic)],
    });

    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription:
        'Hot-site tamper attempt: a write or delete of DR copies (sets/, archive/, jobs/) or a bucket protection change by a principal that should not make it, or a write S3 refused. Each matched CloudTrail event was sent to this topic too; see docs/SECURITY.md.',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'TriggeredRules',
        dimensionsMap: { RuleName: this.rule.ruleName },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(5),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
    this.alarm.addOkAction(new actions.SnsAction(props.alarmTopic));
  }
}

/** Inputs of {@link tamperEventPattern}: names and ARNs, tokens allowed. */
export interface TamperPatternInput {
  readonly bucketName: string;
  /** Roles whose deletes are expected (prune). */
  readonly deleterArns: readonly string[];
  /** Roles whose object writes are expected (agent, phase-2 functions, repair, prune's plan records). */
  readonly writerArns: readonly string[];
  /** Roles whose retention changes are expected (ArchiveSet, PruneSets); default none: every retention change alarms. */
  readonly lockerArns?: readonly string[];
}

/**
 * The EventBridge pattern of tamper attempts on the hot-site bucket (CloudTrail "AWS API Call via
 * CloudTrail" events). A principal that is not an assumed role (root, an IAM user) has no
 * `sessionIssuer`, and `anything-but` never matches a missing field, so each "anyone but" branch has
 * a twin for `userIdentity.type` other than `AssumedRole`.
 */
export function tamperEventPattern(input: TamperPatternInput): events.EventPattern {
  const notAssumedRole = { type: [{ 'anything-but': ['AssumedRole'] }] };
  const issuerNotIn = (arns: readonly string[]) => ({ sessionContext: { sessionIssuer: { arn: [{ 'anything-but': [...arns] }] } } });
  return {
    source: ['aws.s3'],
    detailType: ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['s3.amazonaws.com'],
      requestParameters: { bucketName: [input.bucketName] },
      $or: [
        { eventName: [...OBJECT_WRITE_EVENTS, ...OBJECT_DESTRUCTIVE_EVENTS, ...OBJECT_RETENTION_EVENTS], errorCode: ['AccessDenied', 'PreconditionFailed'] },
        { eventName: [...OBJECT_DESTRUCTIVE_EVENTS], userIdentity: issuerNotIn(input.deleterArns) },
        { eventName: [...OBJECT_DESTRUCTIVE_EVENTS], userIdentity: notAssumedRole },
        ...(input.lockerArns?.length
          ? [{ eventName: [...OBJECT_RETENTION_EVENTS], userIdentity: issuerNotIn(input.lockerArns) }]
          : [{ eventName: [...OBJECT_RETENTION_EVENTS] }]),
        { eventName: [...OBJECT_RETENTION_EVENTS], userIdentity: notAssumedRole },
        { eventName: [...OBJECT_WRITE_EVENTS], userIdentity: issuerNotIn(input.writerArns) },
        { eventName: [...OBJECT_WRITE_EVENTS], userIdentity: notAssumedRole },
        { eventName: [...BUCKET_PROTECTION_EVENTS] },
      ],
    },
  } as events.EventPattern;
}
