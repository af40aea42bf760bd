import type { S3Client } from '@aws-sdk/client-s3';
import { makePruneSetsHandler } from '#lambdas/prune-sets';
import { EnvironmentError, InvalidInputError, PruneError } from '#lambdas/shared/errors';
import { pruneSettingsFromEnv } from '#lambdas/shared/prune-env';
import { deleteKeys, DELETE_BATCH_MAX } from '#lambdas/shared/prune-io';
import { BUCKET, defaultFiles, makeSet } from '../../integration/lambdas/fixtures';
import { setName } from '#core/set-id';

const DAY = 86_400_000;
const NOW = new Date('2026-12-31T12:00:00.000Z');

/** An in-memory S3 stand-in answering the commands pruning sends; `deleteErrors` makes chosen keys fail per key. */
function fakeS3(objects: Map<string, { body: Buffer; lastModified: Date }>, deleteErrors: Map<string, number> = new Map()) {
  const calls: string[] = [];
  const send = async (command: { constructor: { name: string }; input: Record<string, any> }) => {
    const name = command.constructor.name;
    calls.push(name);
    const input = command.input;
    if (name === 'ListObjectsV2Command') {
      const keys = [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).sort();
      const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
      const page = keys.slice(start, start + 1000);
      return {
        Contents: page.map((Key) => ({ Key, Size: objects.get(Key)!.body.length, LastModified: objects.get(Key)!.lastModified, ETag: `"${Key.length}"` })),
        IsTruncated: start + 1000 < keys.length,
        NextContinuationToken: String(start + 1000),
      };
    }
    if (name === 'GetObjectCommand') {
      const o = objects.get(input.Key);
      if (!o) throw Object.assign(new Error('no such key'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: (async function* () { yield o.body; })() };
    }
    if (name === 'PutObjectCommand') {
      objects.set(input.Key, { body: Buffer.from(input.Body), lastModified: NOW });
      return {};
    }
    if (name === 'DeleteObjectsCommand') {
      if (input.Delete.Objects.length > DELETE_BATCH_MAX) throw new Error('too many keys');
      const Errors: Array<{ Key: string; Code: string; Message: string }> = [];
      for (const { Key } of input.Delete.Objects) {
        const left = deleteErrors.get(Key) ?? 0;
        if (left > 0) {
          deleteErrors.set(Key, left - 1);
          Errors.push({ Key, Code: 'AccessDenied', Message: 'Access Denied' });
        } else objects.delete(Key);
      }
      return { Errors };
    }
    throw new Error(`unexpected ${name}`);
  };
  return { s3: { send } as unknown as S3Client, calls };
}

/** A tiny FULL SET's files: a dump and a registry export. */
const smallFiles = () => [
  { name: 'commserv_FULL.dmp', role: 'database' as const, content: Buffer.from('dump') },
  { name: 'commserv_hive.reg', role: 'registry' as const, content: Buffer.from('REGEDIT4\r\n') },
];

/** FULL SETs 1..n, one a day, the newest yesterday. */
function history(n: number) {
  const objects = new Map<string, { body: Buffer; lastModified: Date }>();
  for (let id = 1; id <= n; id++) {
    const set = makeSet(id, smallFiles(), { endTime: new Date(NOW.getTime() - (n - id + 1) * DAY).toISOString() });
    const lastModified = new Date(NOW.getTime() - (n - id + 1) * DAY);
    for (const f of set.files) objects.set(`sets/${setName(id)}/${f.name}`, { body: f.content, lastModified });
    objects.set(`sets/${setName(id)}/manifest.json`, { body: set.manifest, lastModified });
  }
  return objects;
}

const settings = { RetainCycles: 2, SetLifeSpanForFailedDR: 90, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false };

describe('PruneSets handler (stubbed S3)', () => {
  it('per-key DeleteObjects Errors in a 200 response are retried, then reported (moto cannot produce them: stubbed client)', async () => {
    const objects = history(5);
    // SET_0000001's manifest fails once (then succeeds on retry); SET_0000002's registry export always fails.
    const errors = new Map([
      ['sets/SET_0000001/manifest.json', 1],
      ['sets/SET_0000002/commserv_hive.reg', 99],
    ]);
    const { s3 } = fakeS3(objects, errors);
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => NOW, deleteAttempts: 3, retryDelayMs: 1 });
    const summary = await handler({ backupType: 'FULL', phase1: makeSet(5, defaultFiles()).phase1, archive: {} });
    expect(summary.outcome).toBe('pruned-with-errors');
    expect(summary.hotSite.expired).toBe(2);
    expect(summary.failedKeys).toBe(1);
    expect(summary.failureSample[0]).toContain('sets/SET_0000002/commserv_hive.reg: AccessDenied');
    expect([...objects.keys()].filter((k) => k.startsWith('sets/SET_0000001/'))).toEqual([]);
    expect([...objects.keys()].filter((k) => k.startsWith('sets/SET_0000002/'))).toEqual(['sets/SET_0000002/commserv_hive.reg']);
  });

  it('deleteKeys reports a key that keeps failing after every attempt (stubbed client)', async () => {
    const objects = new Map([['a', { body: Buffer.from('x'), lastModified: NOW }]]);
    const { s3, calls } = fakeS3(objects, new Map([['a', 10]]));
    const result = await deleteKeys(s3, BUCKET, ['a'], { attempts: 3, retryDelayMs: 1 });
    expect(result).toEqual({ deleted: 0, failed: [{ key: 'a', code: 'AccessDenied', message: 'Access Denied' }] });
    expect(calls.filter((c) => c === 'DeleteObjectsCommand')).toHaveLength(3);
  });

  it('skips pruning when phase 1 reported no SET or validation failed', async () => {
    const { s3, calls } = fakeS3(new Map());
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => NOW });
    expect((await handler({ backupType: 'FULL' })).outcome).toBe('skipped');
    expect((await handler({ backupType: 'FULL', phase1: makeSet(5, defaultFiles()).phase1, error: { Error: 'SetValidationError' } })).outcome).toBe('skipped');
    expect(calls).toEqual([]);
  });

  it('rejects an invalid input and a phase-1 result for another bucket', async () => {
    const { s3 } = fakeS3(new Map());
    const handler = makePruneSetsHandler({ s3, bucket: BUCKET, settings, now: () => NOW });
    await expect(handler({ phase1: { jobId: 'x' } })).rejects.toThrow(InvalidInputError);
    await expect(handler({ phase1: { ...makeSet(5, defaultFiles()).phase1, bucket: 'other-bucket' } })).rejects.toThrow(/other-bucket/);
  });

  it('writes nothing and deletes nothing when the plan record cannot be written', async () => {
    const objects = history(5);
    const fake = fakeS3(objects);
    const send = fake.s3.send.bind(fake.s3);
    (fake.s3 as unknown as { send: unknown }).send = async (c: { constructor: { name: string } }) => {
      if (c.constructor.name === 'PutObjectCommand') throw Object.assign(new Error('denied'), { name: 'AccessDenied' });
      return send(c as never);
    };
    const handler = makePruneSetsHandler({ s3: fake.s3, bucket: BUCKET, settings, now: () => NOW });
    await expect(handler({ phase1: makeSet(5, defaultFiles()).phase1, archive: {} })).rejects.toThrow(PruneError);
    expect(fake.calls).not.toContain('DeleteObjectsCommand');
    expect(objects.size).toBe(15); // 5 SETs × (2 files + manifest)
  });
});

describe('pruneSettingsFromEnv', () => {
  it('uses the core defaults when unset', () => {
    expect(pruneSettingsFromEnv({})).toEqual({ RetainCycles: 5, SetLifeSpanForFailedDR: 90, ArchiveRetainCycles: null, allowEarlyArchiveDeletion: false });
  });
  it('reads every variable', () => {
    expect(
      pruneSettingsFromEnv({ RETAIN_CYCLES: '3', SET_LIFESPAN_FOR_FAILED_DR_DAYS: '30', ARCHIVE_RETAIN_CYCLES: '12', ALLOW_EARLY_ARCHIVE_DELETION: 'true' }),
    ).toEqual({ RetainCycles: 3, SetLifeSpanForFailedDR: 30, ArchiveRetainCycles: 12, allowEarlyArchiveDeletion: true });
    expect(pruneSettingsFromEnv({ ARCHIVE_RETAIN_CYCLES: 'unlimited' }).ArchiveRetainCycles).toBeNull();
  });
  it('names the offending variable', () => {
    expect(() => pruneSettingsFromEnv({ RETAIN_CYCLES: '0' })).toThrow(EnvironmentError);
    expect(() => pruneSettingsFromEnv({ RETAIN_CYCLES: 'five' })).toThrow(/RETAIN_CYCLES/);
    expect(() => pruneSettingsFromEnv({ ALLOW_EARLY_ARCHIVE_DELETION: 'yes' })).toThrow(/ALLOW_EARLY_ARCHIVE_DELETION/);
  });
});
