/**
 * `fetch` (restore to disk without applying) and `verify` (hot-site checksums + trial restore, recorded) on real
 * SQLite SETs from phase 1 and moto.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFetch } from '#agent/commands/recover/fetch';
import { readVerifications, runVerify } from '#agent/commands/recover/verify';
import { useTempDirs } from '../../support/tmp';
import { archiveOnly, buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

describe('fetch and verify (real SQLite, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-fetch-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  });

  async function setup() {
    const dir = tempDir();
    const hot = await freshHotSite(fixture, join(dir, 'state'));
    return { ...hot, to: join(dir, 'fetched') };
  }

  it('fetch downloads and verifies a SET into DIR/SET_n without applying it', async () => {
    const { s3, settings, to } = await setup();
    const result = await runFetch({ settings, s3, logger, setName: 'SET_0000003', to });
    expect(result.exitCode).toBe(0);
    expect(result.document.status).toBe('fetched');
    const dir = join(to, 'SET_0000003');
    expect(readdirSync(dir).sort()).toEqual(readdirSync(join(fixture.phase1, 'SET_0000003')).sort());
    for (const name of readdirSync(dir)) expect(readFileSync(join(dir, name))).toEqual(readFileSync(join(fixture.phase1, 'SET_0000003', name)));
    expect(readdirSync(to)).toEqual(['SET_0000003']);
    expect(existsSync(join(to, 'commserv.db'))).toBe(false);
    // A second fetch into the same place is refused (exit 2).
    expect((await runFetch({ settings, s3, logger, setName: 'SET_0000003', to })).exitCode).toBe(2);
  });

  it('fetch of a tampered SET fails and leaves no SET folder', async () => {
    const { s3, bucket, settings, to } = await setup();
    const key = 'sets/SET_0000001/commserv_FULL.dmp';
    const bytes = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes.subarray(0, bytes.length - 1) }));
    const result = await runFetch({ settings, s3, logger, setName: 'SET_0000001', to });
    expect(result.exitCode).toBe(1);
    // The only copy read (no phase-1 destination here) is damaged: no intact copy, the hot-site's size named.
    expect(result.document.error!.code).toBe('NO_INTACT_COPY');
    expect(result.document.error!.skipped).toEqual([{ copy: 'hot-site', key, detail: `size ${bytes.length - 1}, manifest ${bytes.length}`, code: 'SIZE_MISMATCH' }]);
    expect(result.document.error!.message).toMatch(new RegExp(`SET_0000001/commserv_FULL\\.dmp has no intact copy: hot-site ${key}: size ${bytes.length - 1}, manifest ${bytes.length}`));
    expect(readdirSync(to)).toEqual([]);
  });

  it('fetch from archive/ only (DEEP_ARCHIVE): objects restored, then read and verified', async () => {
    const { s3, bucket, settings, to } = await setup();
    await archiveOnly(s3, bucket, 'DEEP_ARCHIVE');
    // moto restores instantly, so the pending path (exit 3) is covered in recover.test.ts with a stubbed slow restore.
    const result = await runFetch({ settings, s3, logger, setName: 'SET_0000002', to, wait: true, tier: 'Expedited', waitOptions: { pollIntervalMs: 1 } });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.plan!.objects.every((o) => o.area === 'archive' && o.storageClass === 'DEEP_ARCHIVE' && o.state === 'restored')).toBe(true);
    expect(existsSync(join(to, 'SET_0000002', 'manifest.json'))).toBe(true);
  });

  it('verify checks hot-site checksums, does a trial restore and records the result locally and at the hot-site', async () => {
    const { s3, bucket, settings } = await setup();
    const result = await runVerify({ settings, s3, logger });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    const v = result.document.verification!;
    expect(v).toMatchObject({ setName: 'SET_0000003', sets: ['SET_0000001', 'SET_0000003'], result: 'restorable' });
    expect(v.checksums.length).toBeGreaterThan(4);
    expect(v.checksums.every((c) => c.ok && c.method === 's3-checksum')).toBe(true);
    expect(v.trialRestore).toMatchObject({ integrity: 'ok' });
    // The measured recovery time is the whole trial (download + rebuild + check), labelled so, with the rebuild + check beside it.
    expect(result.text).toMatch(/\n  measured recovery time: \d+\.\d s \(whole trial: download \+ rebuild \+ check\); rebuild \+ check \d+\.\d s\n/);
    expect(v.durationMs).toBeGreaterThanOrEqual(v.trialRestore!.durationMs);
    expect(readVerifications(settings).get('SET_0000003')).toMatchObject({ result: 'restorable' });
    const remote = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'verify/SET_0000003.json' }))).Body!.transformToString());
    expect(remote.result).toBe('restorable');
    // No scratch left behind.
    expect(readdirSync(join(settings.StateDirectory, 'verify'))).toEqual(['SET_0000003.json']);
  });

  it('verify records a tampered object (S3 checksum or streamed re-hash) as failed, without a trial restore', async () => {
    const { s3, bucket, settings } = await setup();
    const key = 'sets/SET_0000001/commserv_FULL.dmp';
    const bytes = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    bytes[5000] ^= 0xff;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ChecksumAlgorithm: undefined }));
    const result = await runVerify({ settings, s3, logger, setName: 'SET_0000001' });
    expect(result.exitCode).toBe(1);
    const v = result.document.verification!;
    expect(v.result).toBe('failed');
    const entry = v.checksums.find((c) => c.file === 'commserv_FULL.dmp')!;
    expect(entry.ok).toBe(false);
    expect(v.trialRestore).toBeNull();
    expect(readVerifications(settings).get('SET_0000001')).toMatchObject({ result: 'failed' });
  });
});
