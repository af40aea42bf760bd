/**
 * RepairObject (issue 21 item 2): the cloud-side writer that puts a damaged or missing object of a committed SET back
 * at `sets/SET_n/<file>`, so the agent itself never needs to overwrite committed data (its writes are create-only).
 * Invoked synchronously by the agent's scrub (`agent/hotsite/repair.ts`), with its own narrow role.
 *
 * What the object must be is decided here, never taken from the caller: a SET file must match its entry in the SET's
 * manifest at the hot-site (size and SHA-256 — the manifest itself can only be created, never replaced, by the agent);
 * the manifest must match the SHA-256 its successor's manifest recorded (the manifest hash chain), else the one the
 * caller gives — and then only sources from the bucket's own history (its versions, the archive copy) are accepted,
 * never bytes the caller staged.
 *
 * Sources, in order (the first intact one wins; each is checked with HeadObject `ChecksumMode` before it is copied,
 * the result after):
 * 1. `versions`: the newest noncurrent version of the key whose size and checksum match (an overwrite or a delete
 *    leaves the committed version behind; lifecycle keeps noncurrent versions as long as retention keeps the SET);
 * 2. `staging`: a copy the agent uploaded under `repair/` from its phase-1 destination (a new key: create-only);
 * 3. `archive`: `archive/SET_n/<file>` — readable classes are copied, GLACIER/DEEP_ARCHIVE get a restore request and
 *    the answer "pending" (the next job copies it).
 * Copies are server-side CopyObject (≤ 5 GiB; larger ones are reported, not attempted).
 */
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  RestoreObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { isSafeFileName, MANIFEST_FILE, setObjectKey } from '#core/hotsite-layout';
import { parseManifest } from '#core/manifest';
import { parseSetName, setName } from '#core/set-id';
import { hotSiteBucketFromEnv } from './shared/env';
import { InvalidInputError } from './shared/errors';
import { lazyHandler } from './shared/lazy';
import { copySource, describeS3Error, hexToBase64, isNotFound, s3ClientFromEnv, sameS3Checksum } from './shared/s3';

/** Prefix of the agent's staged repair copies (new keys; the function copies them into place). */
export const REPAIR_STAGING_PREFIX = 'repair/';
/** CopyObject's limit (bytes): 5 GiB. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;
/** Noncurrent versions looked at per object (newest first). */
const MAX_VERSIONS = 50;

/** The request: which object of which SET, and optionally the agent's staged copy and the manifest's expected SHA-256. */
export const RepairRequestSchema = z
  .object({
    jobId: z.number().int().positive(),
    /** The SET's folder name as written (legacy `SET_007` or new `SET_0000007`: core/set-id.ts); default the new name of `jobId`. */
    setName: z.string().refine((n) => parseSetName(n) !== undefined, 'must be a SET name').optional(),
    file: z.string().refine(isSafeFileName, 'must be a plain file name'),
    /** `repair/<SET>/…` key of a copy the agent uploaded from its phase-1 destination. */
    stagingKey: z.string().startsWith(REPAIR_STAGING_PREFIX).optional(),
    /** For `manifest.json` only: SHA-256 (hex) of the manifest as the agent keeps it, when no successor recorded it. */
    manifestSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    /** Sources to try, in this order of preference (default all): the caller asks one at a time to put its local copy between them. */
    sources: z.array(z.enum(['versions', 'staging', 'archive'])).min(1).optional(),
  })
  .strict()
  .refine((r) => r.setName === undefined || parseSetName(r.setName) === r.jobId, { message: 'setName must be the SET of jobId', path: ['setName'] });
export type RepairRequest = z.infer<typeof RepairRequestSchema>;

/** The answer: repaired (from where), or not with the reason per source; `pending` while an archive restore runs. */
export type RepairResponse =
  | { repaired: true; from: 'version' | 'staging' | 'archive'; versionId?: string; key: string }
  | { repaired: false; reason: string; pending?: boolean; key: string };

/** What the object must be: size (when known) and base64 SHA-256 checksums accepted. */
interface Expected {
  size?: number;
  checksums: string[];
  /** Where the expectation came from (for messages). */
  basis: string;
}

function problemOf(head: HeadObjectCommandOutput, expected: Expected): string | null {
  if (expected.size !== undefined && head.ContentLength !== expected.size) return `is ${head.ContentLength} bytes, expected ${expected.size}`;
  if (!head.ChecksumSHA256) return 'has no SHA-256 checksum to compare';
  if (!expected.checksums.some((c) => sameS3Checksum(head.ChecksumSHA256!, c))) return `has checksum ${head.ChecksumSHA256}, expected ${expected.checksums.at(-1)} (${expected.basis})`;
  return null;
}

/** Dependencies of the handler. */
export interface RepairObjectDeps {
  s3: S3Client;
  bucket: string;
}

/** Builds the RepairObject handler. The handler never throws for a repair that fails: the response says why. */
export function makeRepairObjectHandler(deps: RepairObjectDeps): (event: unknown) => Promise<RepairResponse> {
  return async (event) => {
    const parsed = RepairRequestSchema.safeParse(event);
    if (!parsed.success) throw new InvalidInputError(`RepairObject: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return repair(deps, parsed.data);
  };
}

/** The SET's folder name: as the caller recorded it, else the new name of its job id. */
function folderOf(request: RepairRequest): string {
  return request.setName ?? setName(request.jobId);
}

async function repair(deps: RepairObjectDeps, request: RepairRequest): Promise<RepairResponse> {
  const key = setObjectKey('sets', folderOf(request), request.file);
  let expected: Expected;
  try {
    expected = await expectationOf(deps, request);
  } catch (error) {
    return { repaired: false, reason: `no trustworthy expectation for ${key}: ${(error as Error).message}`, key };
  }
  const reasons: string[] = [];
  const attempt = async (from: 'version' | 'staging' | 'archive', run: () => Promise<{ ok: true; versionId?: string } | { ok: false; reason: string; pending?: boolean }>) => {
    try {
      return await run();
    } catch (error) {
      return { ok: false as const, reason: `${from}: ${describeS3Error(error)}` };
    }
  };
  const sources = new Set(request.sources ?? ['versions', 'staging', 'archive']);
  if (sources.has('versions')) {
    const fromVersion = await attempt('version', () => copyFromVersion(deps, key, expected));
    if (fromVersion.ok) return { repaired: true, from: 'version', key, ...(fromVersion.versionId ? { versionId: fromVersion.versionId } : {}) };
    reasons.push(fromVersion.reason);
  }
  if (sources.has('staging') && request.stagingKey) {
    const staged = request.stagingKey;
    const trusted = request.file !== MANIFEST_FILE;
    const fromStaging = trusted ? await attempt('staging', () => copyChecked(deps, staged, undefined, key, expected, 'staged copy')) : { ok: false as const, reason: 'staged copy: a manifest is only restored from the bucket’s own history' };
    if (fromStaging.ok) return { repaired: true, from: 'staging', key };
    reasons.push(fromStaging.reason);
  }
  if (!sources.has('archive')) return { repaired: false, reason: reasons.join('; '), key };
  const archive = setObjectKey('archive', folderOf(request), request.file);
  const fromArchive = await attempt('archive', () => copyFromArchive(deps, archive, key, expected));
  if (fromArchive.ok) return { repaired: true, from: 'archive', key };
  reasons.push(fromArchive.reason);
  return { repaired: false, reason: reasons.join('; '), key, ...('pending' in fromArchive && fromArchive.pending ? { pending: true } : {}) };
}

async function readManifest(deps: RepairObjectDeps, set: string) {
  const key = setObjectKey('sets', set, MANIFEST_FILE);
  const response = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
  return parseManifest(Buffer.from(await response.Body!.transformToByteArray()), `s3://${deps.bucket}/${key}`);
}

/** What the object must be (see the module comment). @throws when there is no trustworthy expectation. */
async function expectationOf(deps: RepairObjectDeps, request: RepairRequest): Promise<Expected> {
  if (request.file !== MANIFEST_FILE) {
    const manifest = await readManifest(deps, folderOf(request));
    const file = manifest.files.find((f) => f.name === request.file);
    if (!file) throw new Error(`${folderOf(request)}'s manifest lists no ${request.file}`);
    return { size: file.size, checksums: [hexToBase64(file.sha256), ...(file.s3 ? [file.s3.checksumSHA256] : [])], basis: `${folderOf(request)}'s manifest` };
  }
  const recorded = await successorRecord(deps, request.jobId, folderOf(request));
  if (recorded) return { checksums: [hexToBase64(recorded.sha256)], basis: `recorded by ${recorded.by}` };
  if (request.manifestSha256) return { checksums: [hexToBase64(request.manifestSha256)], basis: 'the agent’s copy' };
  throw new Error('no successor recorded this manifest and the caller gave no SHA-256');
}

/** The SHA-256 the next SET's manifest recorded for this one (the manifest hash chain), when there is such a SET. */
async function successorRecord(deps: RepairObjectDeps, jobId: number, name: string): Promise<{ sha256: string; by: string } | undefined> {
  let token: string | undefined;
  let next: { id: number; name: string } | undefined;
  do {
    const page = await deps.s3.send(new ListObjectsV2Command({ Bucket: deps.bucket, Prefix: 'sets/', Delimiter: '/', ContinuationToken: token }));
    for (const p of page.CommonPrefixes ?? []) {
      const folder = p.Prefix!.slice('sets/'.length, -1);
      const id = parseSetName(folder); // either spelling (core/set-id.ts): the successor by job id, as listed
      if (id !== undefined && id > jobId && (next === undefined || id < next.id)) next = { id, name: folder };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (next === undefined) return undefined;
  try {
    const successor = await readManifest(deps, next.name);
    return successor.previousManifest?.setName === name ? { sha256: successor.previousManifest.sha256, by: `${next.name}'s manifest` } : undefined;
  } catch {
    return undefined; // the successor is not committed (no manifest) or unreadable: no record
  }
}

/** Copies `source` (a key, or one of its versions) onto `target` if it matches, then checks the result. */
async function copyChecked(
  deps: RepairObjectDeps,
  source: string,
  versionId: string | undefined,
  target: string,
  expected: Expected,
  label: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  let head: HeadObjectCommandOutput;
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: source, VersionId: versionId, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    return { ok: false, reason: `${label}: ${isNotFound(error) ? `${source} does not exist` : describeS3Error(error)}` };
  }
  const problem = problemOf(head, expected);
  if (problem) return { ok: false, reason: `${label} ${problem}` };
  if ((head.ContentLength ?? 0) > MAX_COPY_BYTES) return { ok: false, reason: `${label} is over the 5 GiB CopyObject limit` };
  const from = copySource(deps.bucket, source) + (versionId ? `?versionId=${encodeURIComponent(versionId)}` : '');
  await deps.s3.send(
    new CopyObjectCommand({ Bucket: deps.bucket, Key: target, CopySource: from, CopySourceIfMatch: head.ETag, StorageClass: 'STANDARD', MetadataDirective: 'COPY', ChecksumAlgorithm: 'SHA256' }),
  );
  const after = problemOf(await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: target, ChecksumMode: 'ENABLED' })), expected);
  return after === null ? { ok: true } : { ok: false, reason: `${label} copied, but ${target} ${after}` };
}

/** The newest noncurrent version of `key` that matches, copied back as the current version. */
async function copyFromVersion(deps: RepairObjectDeps, key: string, expected: Expected): Promise<{ ok: true; versionId: string } | { ok: false; reason: string }> {
  const listed = await deps.s3.send(new ListObjectVersionsCommand({ Bucket: deps.bucket, Prefix: key, MaxKeys: MAX_VERSIONS }));
  const versions = (listed.Versions ?? [])
    .filter((v) => v.Key === key && !v.IsLatest && v.VersionId && v.VersionId !== 'null')
    .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
  if (versions.length === 0) return { ok: false, reason: 'versions: no earlier version of the object' };
  const problems: string[] = [];
  for (const v of versions) {
    const copied = await copyChecked(deps, key, v.VersionId, key, expected, `version ${v.VersionId}`);
    if (copied.ok) return { ok: true, versionId: v.VersionId! };
    problems.push(copied.reason);
  }
  return { ok: false, reason: `versions: none intact (${problems.join('; ')})` };
}

async function copyFromArchive(deps: RepairObjectDeps, archive: string, target: string, expected: Expected): Promise<{ ok: true } | { ok: false; reason: string; pending?: boolean }> {
  let head: HeadObjectCommandOutput;
  try {
    head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: archive, ChecksumMode: 'ENABLED' }));
  } catch (error) {
    return { ok: false, reason: `archive: ${isNotFound(error) ? `${archive} does not exist` : describeS3Error(error)}` };
  }
  const problem = problemOf(head, expected);
  if (problem) return { ok: false, reason: `archive: ${archive} ${problem}` };
  const cold = head.StorageClass === 'GLACIER' || head.StorageClass === 'DEEP_ARCHIVE';
  const restored = head.Restore?.includes('ongoing-request="false"');
  if (cold && !restored) {
    if (!head.Restore) {
      await deps.s3.send(new RestoreObjectCommand({ Bucket: deps.bucket, Key: archive, RestoreRequest: { Days: 1, GlacierJobParameters: { Tier: 'Standard' } } }));
      const now = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: archive }));
      if (now.Restore?.includes('ongoing-request="false"')) return copyChecked(deps, archive, undefined, target, expected, 'archive copy');
    }
    return { ok: false, reason: `archive: ${archive} (${head.StorageClass}) is being restored; the next job copies it back`, pending: true };
  }
  return copyChecked(deps, archive, undefined, target, expected, 'archive copy');
}

/** The Lambda entry point (`HOT_SITE_BUCKET` from the environment). */
export const handler = lazyHandler(() => makeRepairObjectHandler({ s3: s3ClientFromEnv(), bucket: hotSiteBucketFromEnv() }));
