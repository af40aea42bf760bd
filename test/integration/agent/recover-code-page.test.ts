/**
 * `recover` without `--registry-hive` (the default file hive under the recovery directory) reads a SET's REGEDIT4
 * registry export in the `AnsiCodePage` setting, as regedit reads it in the system code page (issue 18): the
 * default store, the staged hive it is built in, the pre-install parse and the dry-run diff all take the setting.
 *
 * The SETs come from the real phase 1 (SQLite, file hive, moto: the recovery fixture); the point SET's registry
 * export is then replaced by a REGEDIT4 file (bytes 0xC0 0x80 in a string and in hex(2) ANSI data) and its manifest
 * entry rewritten, before everything is uploaded to a bucket of each test's own.
 */
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from '#core/manifest';
import { setName } from '#core/set-id';
import { parseSettings } from '#core/settings';
import { runRecover } from '#agent/commands/recover/recover';
import { FileHiveStore } from '#agent/registry/index';
import { motoEndpoint, motoS3Client } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, logger, type RecoverFixture } from './recover-fixture';

const noProcesses = { processNames: [] as string[] };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const KEY = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\CommServe\\CodePage';
/** A REGEDIT4 export: "Name" = bytes C0 80 (1251: "АЂ", 1252: "À€"), "Path" = hex(2) of the same bytes + NUL. */
const REGEDIT4_EXPORT = Buffer.concat([
  Buffer.from(`REGEDIT4\r\n\r\n[${KEY}]\r\n"Name"="`, 'latin1'),
  Buffer.from([0xc0, 0x80]),
  Buffer.from('"\r\n"Path"=hex(2):c0,80,00\r\n\r\n', 'latin1'),
]);
let bucketCounter = 0;

describe('recover without --registry-hive reads REGEDIT4 exports in the AnsiCodePage setting (real SQLite, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-recover-codepage-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  });

  /** A bucket with the fixture's SETs, the newest SET's registry export replaced by {@link REGEDIT4_EXPORT}. */
  async function hotSiteWithRegedit4Export(ansiCodePage: number) {
    const s3 = motoS3Client();
    const bucket = `recover-codepage-${process.pid}-${++bucketCounter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sets = readdirSync(fixture.phase1).filter((n) => n.startsWith('SET_')).sort();
    const point = sets.at(-1)!;
    expect(point).toBe(setName(3));
    for (const set of sets) {
      const dir = join(fixture.phase1, set);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      for (const file of manifest.files) {
        let body = readFileSync(join(dir, file.name));
        if (set === point && file.role === 'registry') {
          body = REGEDIT4_EXPORT;
          file.size = body.length;
          file.sha256 = sha(body);
          delete file.s3;
        }
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sets/${set}/${file.name}`, Body: body, ChecksumAlgorithm: 'SHA256' }));
      }
      // Rewritten after the job: stored as a pre-chain manifest (see recover-compressed.test.ts).
      delete manifest.previousManifest;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `sets/${set}/manifest.json`, Body: JSON.stringify(manifest, null, 2) }));
    }
    const stateDir = join(tempDir(), `state-${bucketCounter}`);
    const settings = parseSettings({ HotSite: { bucket, endpoint: motoEndpoint() }, StateDirectory: stateDir, Phase1Destination: join(stateDir, 'dr'), AnsiCodePage: ansiCodePage }, 'test');
    return { s3, settings, to: join(tempDir(), `new-commserve-${bucketCounter}`) };
  }

  /** The values of {@link KEY} in the recovered default hive. */
  async function recoveredValues(to: string) {
    const hive = await new FileHiveStore(join(to, 'registry', 'commserv_hive.reg')).load();
    return hive.getKey(KEY)?.values;
  }

  it('AnsiCodePage 1251: bytes C0 80 of the REGEDIT4 export become "АЂ" in the recovered hive (string and hex(2))', async () => {
    const { s3, settings, to } = await hotSiteWithRegedit4Export(1251);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.document.error).toBeNull();
    expect(result.exitCode).toBe(0);
    expect(result.document.registry).toMatchObject({ store: `file hive ${join(to, 'registry', 'commserv_hive.reg')}`, imported: [{ set: setName(3), operations: 1 }] });
    expect(await recoveredValues(to)).toEqual([
      { name: 'Name', type: 'REG_SZ', data: 'АЂ' },
      { name: 'Path', type: 'REG_EXPAND_SZ', data: 'АЂ' },
    ]);
  });

  it('default AnsiCodePage (1252): the same bytes become "À€", as regedit on a Western system reads them', async () => {
    const { s3, settings, to } = await hotSiteWithRegedit4Export(1252);
    const result = await runRecover({ settings, s3, logger, to, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(await recoveredValues(to)).toEqual([
      { name: 'Name', type: 'REG_SZ', data: 'À€' },
      { name: 'Path', type: 'REG_EXPAND_SZ', data: 'À€' },
    ]);
  });

  it('--registry-hive with its own code page (1251): the staged hive the recovery builds keeps it (the setting is 1252)', async () => {
    const { s3, settings, to } = await hotSiteWithRegedit4Export(1252);
    const hiveFile = join(to, 'registry', 'commserv_hive.reg');
    const result = await runRecover({ settings, s3, logger, to, registryStore: new FileHiveStore({ hiveFile, ansiCodePage: 1251 }), preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(await recoveredValues(to)).toEqual([
      { name: 'Name', type: 'REG_SZ', data: 'АЂ' },
      { name: 'Path', type: 'REG_EXPAND_SZ', data: 'АЂ' },
    ]);
  });

  it('--dry-run: the registry diff reads the export in AnsiCodePage 1251 too (nothing written)', async () => {
    const { s3, settings, to } = await hotSiteWithRegedit4Export(1251);
    const result = await runRecover({ settings, s3, logger, to, dryRun: true, preflight: noProcesses });
    expect(result.exitCode).toBe(0);
    expect(result.document.registryDiff).toEqual(
      expect.arrayContaining([
        { kind: 'value-added', key: KEY, name: 'Name', after: { type: 'REG_SZ', data: 'АЂ' } },
        { kind: 'value-added', key: KEY, name: 'Path', after: { type: 'REG_EXPAND_SZ', data: 'АЂ' } },
      ]),
    );
  });
});
