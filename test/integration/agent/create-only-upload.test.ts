/**
 * The agent only creates committed data at the hot-site (issue 21 item 1), against moto (which implements
 * `If-None-Match: *` on PutObject and CompleteMultipartUpload: 412 PreconditionFailed when the key exists):
 * every write of a SET file or manifest carries the conditional header, a retried upload of the same bytes after a
 * crash counts as "already there" once its checksum matches, and different bytes at the key are never replaced.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { setObjectKey } from '#core/hotsite-layout';
import { MiB } from '#core/transfer-plan';
import { setName } from '#core/set-id';
import { HotSiteError } from '#core/errors';
import { isPreconditionFailed, uploadManifest } from '#agent/hotsite/hot-site';
import { SetUploadSession, streamSetFile } from '#agent/hotsite/stream-upload';
import type { Manifest } from '#core/manifest';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const BUCKET = 'create-only-upload';
const PART = 5 * MiB;

function recordingClient(): { s3: S3Client; sent: Array<{ command: string; input: Record<string, unknown> }> } {
  const s3 = motoS3Client();
  const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push({ command: context.commandName ?? '', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize', name: 'record' },
  );
  return { s3, sent };
}

async function body(s3: S3Client, key: string): Promise<Buffer> {
  return Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
}

const openUploads = async (s3: S3Client) => (await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads?.length ?? 0;

describe('create-only writes of committed data: If-None-Match on every PUT and CompleteMultipartUpload (moto)', () => {
  useMoto();
  const tempDir = useTempDirs('commserve-dr-create-only-');
  const sessions: SetUploadSession[] = [];
  const open = (s3: S3Client) => {
    const session = new SetUploadSession(s3, BUCKET, { requestRetry: { attempts: 1, baseDelayMs: 0 } });
    sessions.push(session);
    return session;
  };
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.close();
  });
  beforeEach(async () => {
    await motoS3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  it('moto refuses a second If-None-Match PutObject of an existing key with 412 PreconditionFailed (what the rest relies on)', async () => {
    const s3 = motoS3Client();
    const key = setObjectKey('sets', 1, 'probe.txt');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'first', IfNoneMatch: '*' }));
    const error = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'second', IfNoneMatch: '*' })).catch((e: unknown) => e);
    expect(isPreconditionFailed(error)).toBe(true);
    expect((await body(s3, key)).toString()).toBe('first');
  });

  it('a single-PUT file and a multipart file are sent with If-None-Match: * (PutObject, CompleteMultipartUpload); parts and CreateMultipartUpload take no header', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'small.reg'), 'REGEDIT4\r\n');
    writeFileSync(join(dir, 'big.dmp'), Buffer.alloc(11 * MiB, 7));
    const { s3, sent } = recordingClient();
    const session = open(s3);
    await streamSetFile(session, { source: join(dir, 'small.reg'), name: 'small.reg', role: 'registry', key: setObjectKey('sets', 2, 'small.reg') });
    await streamSetFile(session, { source: join(dir, 'big.dmp'), name: 'big.dmp', role: 'database', key: setObjectKey('sets', 2, 'big.dmp'), partSize: PART });
    expect(session.failure).toBeUndefined();
    const writes = sent.filter((s) => s.command === 'PutObjectCommand' || s.command === 'CompleteMultipartUploadCommand');
    expect(writes.map((w) => [w.command, w.input.IfNoneMatch])).toEqual([
      ['PutObjectCommand', '*'],
      ['CompleteMultipartUploadCommand', '*'],
    ]);
    expect(sent.filter((s) => s.command === 'UploadPartCommand').every((s) => s.input.IfNoneMatch === undefined)).toBe(true);
  });

  it('a retried upload after a crash (the same bytes already there): 412 → checksum matches → "already there", uploaded, no open multipart upload', async () => {
    const dir = tempDir();
    const data = Buffer.alloc(11 * MiB, 3);
    writeFileSync(join(dir, 'big.dmp'), data);
    writeFileSync(join(dir, 'small.reg'), 'REGEDIT4\r\n');
    const s3 = motoS3Client();
    const key = setObjectKey('sets', 3, 'big.dmp');
    const smallKey = setObjectKey('sets', 3, 'small.reg');
    await streamSetFile(open(s3), { source: join(dir, 'big.dmp'), name: 'big.dmp', role: 'database', key, partSize: PART });
    await streamSetFile(open(s3), { source: join(dir, 'small.reg'), name: 'small.reg', role: 'registry', key: smallKey });
    const session = open(s3);
    const again = await streamSetFile(session, { source: join(dir, 'big.dmp'), name: 'big.dmp', role: 'database', key, partSize: PART });
    const smallAgain = await streamSetFile(session, { source: join(dir, 'small.reg'), name: 'small.reg', role: 'registry', key: smallKey });
    expect(session.failure).toBeUndefined();
    expect([again.uploaded, smallAgain.uploaded]).toEqual([true, true]);
    expect((await body(s3, key)).equals(data)).toBe(true);
    expect(await openUploads(s3)).toBe(0);
  });

  it('different bytes at the key (single PUT and multipart): never replaced; the session fails with HOTSITE_OBJECT_EXISTS naming the key; no open multipart upload', async () => {
    const dir = tempDir();
    const s3 = motoS3Client();
    const bigKey = setObjectKey('sets', 4, 'big.dmp');
    const smallKey = setObjectKey('sets', 4, 'small.reg');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bigKey, Body: 'committed before', ChecksumAlgorithm: 'SHA256' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: smallKey, Body: 'committed before', ChecksumAlgorithm: 'SHA256' }));
    writeFileSync(join(dir, 'big.dmp'), Buffer.alloc(11 * MiB, 9));
    writeFileSync(join(dir, 'small.reg'), 'REGEDIT4\r\n');
    const big = open(s3);
    const result = await streamSetFile(big, { source: join(dir, 'big.dmp'), name: 'big.dmp', role: 'database', key: bigKey, partSize: PART });
    expect(result.uploaded).toBe(false);
    expect(big.failure).toBeInstanceOf(HotSiteError);
    expect(big.failure!.code).toBe('HOTSITE_OBJECT_EXISTS');
    expect(big.failure!.message).toContain(`s3://${BUCKET}/${bigKey} already exists`);
    const small = open(s3);
    await streamSetFile(small, { source: join(dir, 'small.reg'), name: 'small.reg', role: 'registry', key: smallKey });
    expect(small.failure!.code).toBe('HOTSITE_OBJECT_EXISTS');
    expect((await body(s3, bigKey)).toString()).toBe('committed before');
    expect((await body(s3, smallKey)).toString()).toBe('committed before');
    expect(await openUploads(s3)).toBe(0);
  });

  it('the manifest (the SET commit): created with If-None-Match; the same manifest again is already there; another manifest at the key is refused and kept', async () => {
    const dir = tempDir();
    const name = setName(5);
    const manifest = { jobId: 5, setName: name } as Manifest;
    writeFileSync(join(dir, 'manifest.json'), '{"jobId":5}\n');
    const { s3, sent } = recordingClient();
    await uploadManifest(s3, BUCKET, dir, manifest);
    await uploadManifest(s3, BUCKET, dir, manifest);
    expect(sent.filter((s) => s.command === 'PutObjectCommand').map((s) => s.input.IfNoneMatch)).toEqual(['*', '*']);
    writeFileSync(join(dir, 'manifest.json'), '{"jobId":5,"forged":true}\n');
    await expect(uploadManifest(s3, BUCKET, dir, manifest)).rejects.toMatchObject({ code: 'HOTSITE_OBJECT_EXISTS' });
    expect((await body(s3, setObjectKey('sets', 5, 'manifest.json'))).toString()).toBe('{"jobId":5}\n');
  });
});
