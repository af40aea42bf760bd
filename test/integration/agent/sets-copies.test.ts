/**
 * `sets` per SET and per copy, from the copies themselves (issue 16 item 4, issue 15 item 1 `sets --from`): SETs made
 * by the real phase 1 (SQLite, file hive), the hot-site and its archive on moto, a phase-1 destination on disk; the CLI
 * in-process. A deleted or changed object shows as a damaged copy (exit 3), an unreachable hot-site is a clear line
 * and exit 3, `--from DIR` reads only the folder.
 */
import { CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { runSets } from '#agent/commands/sets/run';
import { scrubHotSite } from '#agent/hotsite/scrub';
import { freeLoopbackPort } from '#agent/local/moto-server';
import { setName } from '#core/set-id';
import type { Settings } from '#core/settings';
import { capture } from '../../support/cli';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, type RecoverFixture } from './recover-fixture';

const FULL = 'commserv_FULL.dmp';
const diffFile = (n: number) => `commserv_DIFF_${n}.dmp`;

interface CopyStateJson {
  copy: string;
  where: string;
  files: number;
  storageClasses: string[];
  verdict: string;
  damaged: string[];
  lastChecked: { at: string; method: string; by: string } | null;
}
interface SetRowJson {
  setName: string;
  copies: string[];
  copyStates: CopyStateJson[];
}

describe('sets per SET and per copy, from the copies themselves (real SQLite, moto, phase-1 folder)', () => {
  const tempDir = useTempDirs('commserve-dr-sets-copies-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  });

  /** A bucket with the SETs under `sets/` and `archive/` (GLACIER), a phase-1 destination holding them, a config file. */
  async function setup(opts: { archive?: boolean } = { archive: true }) {
    const cwd = tempDir();
    const hot = await freshHotSite(fixture, join(cwd, 'state'));
    cpSync(fixture.phase1, hot.settings.Phase1Destination, { recursive: true });
    if (opts.archive) await archiveCopy(hot.s3, hot.bucket);
    writeConfig(cwd, hot.settings);
    return { cwd, ...hot };
  }

  function writeConfig(cwd: string, settings: Settings, endpoint = settings.HotSite.endpoint): void {
    const config = { HotSite: { bucket: settings.HotSite.bucket, endpoint }, Phase1Destination: settings.Phase1Destination, StateDirectory: settings.StateDirectory };
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify(config));
  }

  async function sets(cwd: string, ...args: string[]) {
    const io = capture(cwd);
    const code = await exec(['sets', ...args], io);
    return { code, out: io.out(), err: io.err() };
  }

  async function setsJson(cwd: string, ...args: string[]) {
    const result = await sets(cwd, '--json', ...args);
    const doc = JSON.parse(result.out);
    const rows: SetRowJson[] = doc.cycles.flatMap((c: { sets: SetRowJson[] }) => c.sets);
    return { code: result.code, doc, row: (n: number) => rows.find((r) => r.setName === setName(n))!, state: (n: number, copy: string) => rows.find((r) => r.setName === setName(n))!.copyStates.find((c) => c.copy === copy) };
  }

  async function archiveCopy(s3: S3Client, bucket: string): Promise<void> {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'sets/' }));
    for (const object of listed.Contents ?? []) {
      await s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `archive/${object.Key!.slice('sets/'.length)}`, CopySource: `${bucket}/${object.Key}`, StorageClass: 'GLACIER' }));
    }
  }

  it('every SET in three copies → one state per copy, where it is, its storage class, sizes compared now, no content check on record yet; exit 0', async () => {
    const { cwd, bucket, settings } = await setup();
    const { code, doc, row, state } = await setsJson(cwd);
    expect(code).toBe(0);
    expect(doc.copiesRead).toEqual([`local ${settings.Phase1Destination}`, `hot-site s3://${bucket}/sets/`, `archive s3://${bucket}/archive/`]);
    expect(doc.copiesUnreachable).toEqual([]);
    expect(doc.damagedCopies).toEqual([]);
    for (const n of [1, 2, 3]) {
      expect(row(n).copies).toEqual(['local', 'hot-site', 'archive']);
      expect(state(n, 'local')).toMatchObject({ where: join(settings.Phase1Destination, setName(n)), storageClasses: ['LOCAL'], verdict: 'sizes-ok', damaged: [], lastChecked: null });
      expect(state(n, 'hot-site')).toMatchObject({ where: `s3://${bucket}/sets/${setName(n)}/`, storageClasses: ['STANDARD'], verdict: 'sizes-ok', lastChecked: null });
      expect(state(n, 'archive')).toMatchObject({ where: `s3://${bucket}/archive/${setName(n)}/`, storageClasses: ['GLACIER'], verdict: 'sizes-ok', lastChecked: null });
    }
    // The hot-site copy has exactly the files the local one has (the local folder may hold more: none today).
    expect(state(1, 'hot-site')!.files).toBe(state(1, 'local')!.files);
    const text = await sets(cwd);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`    local sizes ok (no content check on record) · hot-site STANDARD sizes ok (no content check on record) · archive GLACIER sizes ok (no content check on record)`);
    expect(text.out).toContain(`Copies read: local ${settings.Phase1Destination}, hot-site s3://${bucket}/sets/, archive s3://${bucket}/archive/`);
  });

  it("after a job's scrub, the hot-site copy shows when its content was last checked (S3 checksum) and is intact", async () => {
    const { cwd, s3, bucket, settings } = await setup({ archive: false });
    const before = Date.now();
    const scrub = await scrubHotSite({ s3, bucket, phase1Destination: settings.Phase1Destination, stateDirectory: settings.StateDirectory, budget: 1000, repair: false });
    expect(scrub.checked.sort()).toEqual([setName(1), setName(2), setName(3)]);
    const { code, state } = await setsJson(cwd);
    expect(code).toBe(0);
    const hot = state(2, 'hot-site')!;
    expect(hot).toMatchObject({ verdict: 'intact', damaged: [], lastChecked: { method: 's3-checksum', by: 'scrub' } });
    expect(Date.parse(hot.lastChecked!.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(state(2, 'local')).toMatchObject({ verdict: 'sizes-ok', lastChecked: null });
    expect((await sets(cwd)).out).toMatch(new RegExp(`hot-site STANDARD intact \\(S3 checksum checked \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} UTC by scrub\\)`));
  });

  it('an archive object removed → that archive copy is DAMAGED (file missing), named in --json and the table, exit 3; the other copies stay sound', async () => {
    const { cwd, s3, bucket } = await setup();
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `archive/${setName(1)}/${FULL}` }));
    const { code, doc, row, state } = await setsJson(cwd);
    expect(code).toBe(3);
    expect(row(1).copies).toEqual(['local', 'hot-site', 'archive']);
    expect(state(1, 'archive')).toMatchObject({ verdict: 'damaged', damaged: [`${FULL}: missing`] });
    expect(state(1, 'hot-site')!.verdict).toBe('sizes-ok');
    expect(doc.damagedCopies).toEqual([{ setName: setName(1), copy: 'archive', damaged: [`${FULL}: missing`] }]);
    const text = await sets(cwd);
    expect(text.code).toBe(3);
    expect(text.out).toContain(`archive GLACIER DAMAGED: ${FULL}: missing`);
    expect(text.out).toContain(`DAMAGED copies: ${setName(1)} archive (exit 3`);
  });

  it('a hot-site object deleted → no longer shown as a copy there is whole: DAMAGED, whatever the job records say', async () => {
    const { cwd, s3, bucket } = await setup({ archive: false });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `sets/${setName(3)}/${diffFile(3)}` }));
    const { code, state } = await setsJson(cwd);
    expect(code).toBe(3);
    expect(state(3, 'hot-site')).toMatchObject({ verdict: 'damaged', damaged: [`${diffFile(3)}: missing`] });
    expect(state(3, 'local')!.verdict).toBe('sizes-ok');
  });

  it('--check: a changed byte is found in the local copy (SHA-256) and at the hot-site (stored checksum); the sound copies are intact, checked now', async () => {
    const { cwd, s3, bucket, settings } = await setup({ archive: false });
    const local = join(settings.Phase1Destination, setName(2), diffFile(2));
    const bytes = readFileSync(local);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(local, bytes);
    const key = `sets/${setName(3)}/${diffFile(3)}`;
    const remote = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());
    remote[0] ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: remote, ChecksumAlgorithm: 'SHA256' }));
    // Without --check the sizes agree: nothing to see.
    expect((await setsJson(cwd)).code).toBe(0);
    const before = Date.now();
    const { code, doc, state } = await setsJson(cwd, '--check');
    expect(code).toBe(3);
    expect(state(2, 'local')).toMatchObject({ verdict: 'damaged', damaged: [expect.stringMatching(new RegExp(`^${diffFile(2)}: SHA-256 [0-9a-f]{16}… ≠ manifest [0-9a-f]{16}…$`))], lastChecked: { method: 'sha256', by: 'sets --check' } });
    expect(state(3, 'hot-site')).toMatchObject({ verdict: 'damaged', damaged: [expect.stringMatching(new RegExp(`^${diffFile(3)}: S3 checksum \\S+ ≠ manifest \\S+$`))] });
    expect(state(2, 'hot-site')).toMatchObject({ verdict: 'intact', damaged: [], lastChecked: { method: 's3-checksum', by: 'sets --check' } });
    expect(state(3, 'local')).toMatchObject({ verdict: 'intact', lastChecked: { method: 'sha256' } });
    expect(Date.parse(state(3, 'local')!.lastChecked!.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(doc.damagedCopies.map((d: { setName: string; copy: string }) => `${d.setName} ${d.copy}`)).toEqual([`${setName(2)} local`, `${setName(3)} hot-site`]);
    // Read-only: the damaged files are where they were, as they were.
    expect(readFileSync(local)).toEqual(bytes);
  });

  it('hot-site unreachable (closed port) → the local copies are shown, one clear line names the copies not reached and why, exit 3', async () => {
    const { cwd, settings } = await setup({ archive: false });
    const closed = await freeLoopbackPort();
    writeConfig(cwd, settings, `http://127.0.0.1:${closed}`);
    const { code, doc, row } = await setsJson(cwd);
    expect(code).toBe(3);
    expect(row(3).copies).toEqual(['local']);
    expect(doc.copiesRead).toEqual([`local ${settings.Phase1Destination}`]);
    expect(doc.copiesUnreachable).toEqual([
      { copy: 'hot-site', label: `hot-site s3://${settings.HotSite.bucket}/sets/`, reason: expect.stringContaining(`127.0.0.1:${closed}`) },
      { copy: 'archive', label: `archive s3://${settings.HotSite.bucket}/archive/`, reason: expect.stringMatching(new RegExp(`^archive/ not listed: listing sets/ in the same bucket failed first \\(.*127\\.0\\.0\\.1:${closed}`)) },
    ]);
    expect(doc.newestRestorablePoint).toEqual({ sets: [setName(1), setName(3)], jobId: 3 });
    const text = await sets(cwd);
    expect(text.code).toBe(3);
    expect(text.out).toMatch(new RegExp(`COPY NOT REACHED: hot-site s3://${settings.HotSite.bucket}/sets/: .*127\\.0\\.0\\.1:${closed}.* — its copies are not shown \\(exit 3\\)`));
    // The archive line names archive/ and says it was not asked (the hot-site's reason names sets/, which was tried).
    expect(text.out).toMatch(new RegExp(`COPY NOT REACHED: archive s3://${settings.HotSite.bucket}/archive/: archive/ not listed: listing sets/ in the same bucket failed first \\(`));
    // --local-only is a choice, not a failure.
    expect((await sets(cwd, '--local-only')).code).toBe(0);
  });

  it('--from DIR (a USB disk), endpoint on a closed port → only the folder is read, its cycles and point, exit 0; a missing folder is exit 1', async () => {
    const cwd = tempDir();
    const closed = await freeLoopbackPort();
    writeFileSync(join(cwd, 'commserve-dr.config.json'), JSON.stringify({ HotSite: { bucket: 'offline-bucket', endpoint: `http://127.0.0.1:${closed}` }, StateDirectory: join(cwd, 'state') }));
    const usb = join(cwd, 'usb-disk');
    cpSync(fixture.phase1, usb, { recursive: true });
    const { code, doc, row, state } = await setsJson(cwd, '--from', 'usb-disk');
    expect(code).toBe(0);
    expect(doc.copiesRead).toEqual([`local ${usb}`]);
    expect(doc.copiesUnreachable).toEqual([]);
    expect(doc.hotSiteUnavailable).toBe(`not looked at (--from ${usb}: only that folder is read)`);
    expect(doc.cycles.map((c: { setName: string; complete: boolean }) => [c.setName, c.complete])).toEqual([[setName(1), false]]);
    expect(doc.newestRestorablePoint).toEqual({ sets: [setName(1), setName(3)], jobId: 3 });
    expect(row(2).copies).toEqual(['local']);
    expect(state(2, 'local')).toMatchObject({ where: join(usb, setName(2)), verdict: 'sizes-ok' });
    expect(doc.manifestChain).toEqual([expect.objectContaining({ copy: `folder ${usb}`, status: 'intact' })]);
    const checked = await setsJson(cwd, '--from', usb, '--check');
    expect(checked.code).toBe(0);
    expect(checked.state(1, 'local')).toMatchObject({ verdict: 'intact', lastChecked: { method: 'sha256', by: 'sets --check' } });
    const missing = await sets(cwd, '--from', join(cwd, 'no-such-disk'));
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`cannot list the SETs in ${join(cwd, 'no-such-disk')}`);
  });

  it('each copy is listed once per run: one ListObjectsV2 pass over sets/ and one over archive/ (was: sets/ twice — the inventory and the per-copy states — and again for the manifest chain); each hot-site manifest read once', async () => {
    const { s3, bucket, settings } = await setup();
    const requests: Array<{ command: string; prefix?: string; key?: string }> = [];
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Prefix?: string; Key?: string };
        requests.push({ command: context.commandName!, ...(input.Prefix !== undefined ? { prefix: input.Prefix } : {}), ...(input.Key !== undefined ? { key: input.Key } : {}) });
        return next(args);
      },
      { step: 'initialize', name: 'countRequests' },
    );
    const { document, exitCode } = await runSets({ settings, s3 });
    expect(exitCode).toBe(0);
    expect(document.copiesRead).toEqual([`local ${settings.Phase1Destination}`, `hot-site s3://${bucket}/sets/`, `archive s3://${bucket}/archive/`]);
    expect(document.cycles.flatMap((c) => c.sets.map((r) => [r.setName, r.copies]))).toEqual([1, 2, 3].map((n) => [setName(n), ['local', 'hot-site', 'archive']]));
    const listings = requests.filter((r) => r.command === 'ListObjectsV2Command').map((r) => r.prefix);
    expect(listings).toEqual(['sets/', 'archive/']);
    // The chain reads every hot-site manifest once; every SET is local too, so the inventory reads none of them.
    const manifestGets = requests.filter((r) => r.command === 'GetObjectCommand' && r.key!.endsWith('/manifest.json')).map((r) => r.key).sort();
    expect(manifestGets).toEqual([1, 2, 3].map((n) => `sets/${setName(n)}/manifest.json`));
    expect(document.manifestChain!.map((c) => [c.copy, c.status])).toEqual([
      ['phase-1 destination', 'intact'],
      ['hot-site', 'intact'],
    ]);
  });
});
