/**
 * What IAM authorises for each SDK command the project sends: the action(s), the resource ARN and the
 * request context keys our policies' conditions test. Sources: the Service Authorization Reference
 * (Amazon S3, AWS KMS, Systems Manager, Step Functions, CloudWatch) and the S3 user guide's pages
 * "Required permissions for Amazon S3 API operations" and "Protecting data with SSE-KMS" (multipart
 * uploads and copies of SSE-KMS objects need kms:GenerateDataKey and kms:Decrypt).
 *
 * A command this table does not know throws: a new SDK call in the code must be added here (and to a
 * policy) before the IAM test passes — never silently allowed.
 */
import type { RecordedCommand } from './recorder';

/** Account and partition the template is resolved into (any fixed values do). */
export const ACCOUNT = '123456789012';

/** One authorisation request. */
export interface IamRequest {
  action: string;
  resource: string;
  /** Context keys (e.g. `kms:ViaService`, `aws:SecureTransport`). */
  context: Record<string, string>;
}

/** Facts about the deployment the requests are resolved in. */
export interface RequestEnvironment {
  /** ARN of the hot-site bucket's KMS key (the bucket is SSE-KMS, so S3 calls KMS on the caller's behalf). */
  hotSiteKeyArn: string;
  /** ARN of the DR job state machine (task tokens belong to its executions). */
  stateMachineArn: string;
}

const s3Object = (bucket: unknown, key: unknown) => `arn:aws:s3:::${String(bucket)}/${String(key)}`;
const s3Bucket = (bucket: unknown) => `arn:aws:s3:::${String(bucket)}`;

/** The IAM requests one recorded command makes. */
export function iamRequests(command: RecordedCommand, env: RequestEnvironment): IamRequest[] {
  const i = command.input;
  const base = { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': command.region };
  const req = (action: string, resource: string, context: Record<string, string> = {}): IamRequest => ({ action, resource, context: { ...base, ...context } });
  const viaS3 = { 'kms:ViaService': `s3.${command.region}.amazonaws.com` };
  const kmsDecrypt = () => req('kms:Decrypt', env.hotSiteKeyArn, viaS3);
  const kmsWrite = () => [req('kms:GenerateDataKey', env.hotSiteKeyArn, viaS3), req('kms:Decrypt', env.hotSiteKeyArn, viaS3)];
  const objectRead = (bucket: unknown, key: unknown, versionId: unknown) => [req(versionId ? 's3:GetObjectVersion' : 's3:GetObject', s3Object(bucket, key)), kmsDecrypt()];
  const lockActions = (key: unknown) => (i.ObjectLockMode || i.ObjectLockRetainUntilDate ? [req('s3:PutObjectRetention', s3Object(i.Bucket, key))] : []);
  // Conditional writes (S3 user guide, "Enforce conditional writes"): `s3:ObjectCreationOperation` is true for the requests
  // that create the object (PutObject, CompleteMultipartUpload, CopyObject), false for the multipart steps, which take no
  // conditional header; `s3:if-none-match` is present when the request carries If-None-Match.
  const creation = (creates: boolean): Record<string, string> => ({
    's3:ObjectCreationOperation': String(creates),
    ...(creates && i.IfNoneMatch !== undefined ? { 's3:if-none-match': String(i.IfNoneMatch) } : {}),
  });
  const copySource = () => {
    const text = decodeURIComponent(String(i.CopySource)).replace(/^\//, '');
    const [path, query] = text.split('?versionId=');
    const slash = path.indexOf('/');
    return objectRead(path.slice(0, slash), path.slice(slash + 1), query);
  };

  const key = `${command.service}:${command.command}`;
  switch (key) {
    case 'S3:HeadBucket':
      return [req('s3:ListBucket', s3Bucket(i.Bucket))];
    case 'S3:ListObjectsV2':
    case 'S3:ListObjects':
      return [req('s3:ListBucket', s3Bucket(i.Bucket), i.Prefix ? { 's3:prefix': String(i.Prefix) } : {})];
    case 'S3:ListObjectVersions':
      return [req('s3:ListBucketVersions', s3Bucket(i.Bucket), i.Prefix ? { 's3:prefix': String(i.Prefix) } : {})];
    case 'S3:ListMultipartUploads':
      return [req('s3:ListBucketMultipartUploads', s3Bucket(i.Bucket))];
    case 'S3:GetObject':
    case 'S3:HeadObject':
      return objectRead(i.Bucket, i.Key, i.VersionId);
    case 'S3:GetObjectAttributes':
      return [req(i.VersionId ? 's3:GetObjectVersionAttributes' : 's3:GetObjectAttributes', s3Object(i.Bucket, i.Key)), ...objectRead(i.Bucket, i.Key, i.VersionId)];
    case 'S3:PutObject':
    case 'S3:CompleteMultipartUpload':
      return [req('s3:PutObject', s3Object(i.Bucket, i.Key), creation(true)), ...kmsWrite(), ...lockActions(i.Key)];
    case 'S3:CreateMultipartUpload':
    case 'S3:UploadPart':
      return [req('s3:PutObject', s3Object(i.Bucket, i.Key), creation(false)), ...kmsWrite(), ...lockActions(i.Key)];
    case 'S3:CopyObject':
      return [req('s3:PutObject', s3Object(i.Bucket, i.Key), creation(true)), ...kmsWrite(), ...lockActions(i.Key), ...copySource()];
    case 'S3:UploadPartCopy':
      return [req('s3:PutObject', s3Object(i.Bucket, i.Key), creation(false)), ...kmsWrite(), ...copySource()];
    case 'Lambda:Invoke':
      return [req('lambda:InvokeFunction', String(i.FunctionName).startsWith('arn:') ? String(i.FunctionName) : `arn:aws:lambda:${command.region}:${ACCOUNT}:function:${String(i.FunctionName)}`)];
    case 'S3:AbortMultipartUpload':
      return [req('s3:AbortMultipartUpload', s3Object(i.Bucket, i.Key))];
    case 'S3:ListParts':
      return [req('s3:ListMultipartUploadParts', s3Object(i.Bucket, i.Key))];
    case 'S3:DeleteObject':
      return [req(i.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', s3Object(i.Bucket, i.Key))];
    case 'S3:DeleteObjects': {
      const objects = ((i.Delete as { Objects?: Array<{ Key: string; VersionId?: string }> })?.Objects ?? []);
      return objects.map((o) => req(o.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject', s3Object(i.Bucket, o.Key)));
    }
    case 'S3:RestoreObject':
      return [req('s3:RestoreObject', s3Object(i.Bucket, i.Key))];
    case 'S3:PutObjectRetention':
      return [req('s3:PutObjectRetention', s3Object(i.Bucket, i.Key))];
    case 'S3:GetObjectRetention':
      return [req('s3:GetObjectRetention', s3Object(i.Bucket, i.Key))];
    case 'S3:CreateBucket':
      return [req('s3:CreateBucket', s3Bucket(i.Bucket))];
    case 'SSM:GetParametersByPath':
      return [req('ssm:GetParametersByPath', ssmParameter(command.region, String(i.Path).replace(/\/+$/, '')))];
    case 'SSM:GetParameter':
      return [req('ssm:GetParameter', ssmParameter(command.region, String(i.Name)))];
    case 'SSM:GetParameters':
      return ((i.Names as string[]) ?? []).map((n) => req('ssm:GetParameters', ssmParameter(command.region, n)));
    case 'SFN:SendTaskSuccess':
    case 'SFN:SendTaskFailure':
    case 'SFN:SendTaskHeartbeat':
      return [req(`states:${command.command}`, env.stateMachineArn)];
    case 'SFN:StartExecution':
      return [req('states:StartExecution', String(i.stateMachineArn))];
    case 'SFN:DescribeStateMachine':
      return [req('states:DescribeStateMachine', String(i.stateMachineArn))];
    case 'CloudWatch:PutMetricData':
      return [req('cloudwatch:PutMetricData', '*', { 'cloudwatch:namespace': String(i.Namespace) })];
    case 'STS:GetCallerIdentity':
      return []; // never needs a permission
    default:
      throw new Error(`no IAM mapping for ${key} (sent by ${command.principal} in "${command.step}"): add it to test/support/iam/requests.ts`);
  }
}

function ssmParameter(region: string, name: string): string {
  return `arn:aws:ssm:${region}:${ACCOUNT}:parameter/${name.replace(/^\/+/, '')}`;
}
