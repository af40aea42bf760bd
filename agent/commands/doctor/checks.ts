/**
 * The checks of `commserve-dr doctor` (issue 22 item 6): each answers one question a scheduled job depends on with
 * a verdict — `pass`, `fail` (the job would fail or lose data: named path/endpoint and reason) or `skip` (not
 * checkable here, or not needed by a scheduled job; the reason says which).
 *
 * Every AWS probe is harmless: reads, listings, a HEAD of a key that does not exist (S3 answers 404 when the read
 * is allowed, 403 when it is not), DescribeStateMachine, and one write the agent's role is meant to make anyway — a
 * new key `state/doctor/<UTC time>-<host>.json` (the agent's `state/*` area; created with `If-None-Match: *`, since
 * the bucket policy refuses the agent any write that could replace an object, issue 21; read back to prove the KMS key
 * decrypts; the lifecycle expires these after 7 days). Nothing is written under `sets/`, `jobs/` or `archive/`, and
 * nothing is deleted (the agent's role may not delete).
 */
import { HeadBucketCommand, HeadObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeStateMachineCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { hostname } from 'node:os';
import { describeError } from '#core/errors';
import type { Settings } from '#core/settings';

/** A check's verdict. */
export type Verdict = 'pass' | 'fail' | 'skip';

/** One line of the doctor's screen. */
export interface DoctorCheck {
  /** What is checked, e.g. `hot-site bucket`. */
  check: string;
  verdict: Verdict;
  /** What was found: the path, endpoint, identity or reason. Never a secret. */
  detail: string;
}

/** The S3 error name / HTTP status of a failed call, for "allowed but absent" (404) versus "denied" (403). */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** Runs `probe`; a thrown error becomes a `fail` line naming `what` and the reason. */
async function probe(check: string, what: string, run: () => Promise<string>): Promise<DoctorCheck> {
  try {
    return { check, verdict: 'pass', detail: await run() };
  } catch (error) {
    return { check, verdict: 'fail', detail: `${what}: ${describeError(error)}` };
  }
}

/** Prefix of the one object each doctor run creates (the agent's `state/*` area; `DOCTOR_PROBES_PREFIX` of infra/hot-site-bucket.ts). */
export const DOCTOR_PROBE_PREFIX = 'state/doctor/';

/** The key one doctor run creates: `state/doctor/<UTC time>-<host>.json` (a new key each run: create-only). */
export function doctorProbeKey(now: Date, host: string): string {
  return `${DOCTOR_PROBE_PREFIX}${now.toISOString().replace(/:/g, '-')}-${host.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}.json`;
}

/** AWS clients the checks use. */
export interface AwsProbeClients {
  s3: S3Client;
  sts: STSClient;
  sfn: SFNClient;
}

/**
 * The AWS checks: credentials (STS GetCallerIdentity), the bucket (HeadBucket), each permission of the scheduled job
 * (list `sets/`, list multipart uploads, read `sets/` and `jobs/`, write + read back `state/`: the KMS key), and the
 * state machine of jobs run by hand (DescribeStateMachine). Permissions without a harmless form are `skip` lines.
 */
export async function awsChecks(settings: Settings, clients: AwsProbeClients): Promise<DoctorCheck[]> {
  const { bucket } = settings.HotSite;
  const { s3, sts, sfn } = clients;
  const identity = await probe('credentials', 'STS GetCallerIdentity', async () => {
    const who = await sts.send(new GetCallerIdentityCommand({}));
    return `${who.Arn ?? '(no ARN)'} (account ${who.Account ?? '?'})`;
  });
  if (identity.verdict === 'fail') {
    identity.detail += ' — no usable AWS credentials: on the CommServe they come from the SSM Agent (hybrid activation) or the instance profile';
    return [identity, { check: 'hot-site bucket', verdict: 'skip', detail: 'no credentials' }];
  }
  const head = await probe('hot-site bucket', `HeadBucket s3://${bucket} (${settings.HotSite.region})`, async () => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return `s3://${bucket} in ${settings.HotSite.region} reachable`;
  });
  if (head.verdict === 'fail') return [identity, head];
  const absentRead = (area: string) =>
    probe(`read ${area}/`, `HeadObject s3://${bucket}/${area}/…`, async () => {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: `${area}/commserve-dr-doctor-absent-key` }));
        return `s3:GetObject on ${area}/* allowed`;
      } catch (error) {
        if (statusOf(error) === 404) return `s3:GetObject on ${area}/* allowed (HEAD of an absent key: 404, not 403)`;
        throw error;
      }
    });
  const checks = [
    identity,
    head,
    await probe('list sets/', `ListObjectsV2 s3://${bucket}/sets/`, async () => {
      await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/', MaxKeys: 1 }));
      return 's3:ListBucket allowed';
    }),
    await probe('stale uploads', `ListMultipartUploads s3://${bucket}/sets/`, async () => {
      await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'sets/', MaxUploads: 1 }));
      return 's3:ListBucketMultipartUploads allowed (phase 1 aborts stale uploads first)';
    }),
    await absentRead('sets'),
    await absentRead('jobs'),
    await probe('write state/ + KMS key', `PutObject/GetObject s3://${bucket}/${DOCTOR_PROBE_PREFIX}…`, async () => {
      const now = new Date();
      const key = doctorProbeKey(now, hostname());
      const body = JSON.stringify({ doctor: now.toISOString(), host: hostname() });
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', IfNoneMatch: '*' }));
      const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const text = await back.Body!.transformToString();
      if (text !== body) throw new Error('the object read back differs from the one written');
      return `written and read back (the bucket's KMS key encrypts and decrypts for this identity)${back.SSEKMSKeyId ? `: ${back.SSEKMSKeyId}` : ''}`;
    }),
    { check: 'write sets/, jobs/', verdict: 'skip', detail: 'no harmless form (committed data is create-only); granted together with state/ in the agent role' } as DoctorCheck,
    { check: 'task callback, metrics', verdict: 'skip', detail: 'SendTask* need a live task token, PutMetricData has no dry run; granted in the agent role' } as DoctorCheck,
  ];
  if (!settings.StateMachineArn) {
    checks.push({ check: 'state machine', verdict: 'skip', detail: 'StateMachineArn not set: a job run by hand could not start phase 2 (scheduled jobs do not need it)' });
  } else {
    const arn = settings.StateMachineArn;
    checks.push(
      await probe('state machine', `DescribeStateMachine ${arn}`, async () => {
        const machine = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }));
        return `${machine.name ?? arn} ${machine.status ?? ''}`.trim();
      }),
    );
  }
  return checks;
}
