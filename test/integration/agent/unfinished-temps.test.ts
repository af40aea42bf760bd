/**
 * Newcomer review finding 5: a job killed outright during a compressed FULL leaves `commserv_FULL.dmp.uncompressed`
 * (~4× the dump) in its unfinished SET folder; the next job removes such temporary files at once and says what and how
 * many bytes — never anything of a committed SET, never the rest of the unfinished folder (prune's, after
 * SetLifeSpanForFailedDR). Real SQLite, file hive, moto, the real phase 1.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPhase1 } from '#agent/commands/backup/phase1';
import { createLogger } from '#agent/log';
import { generateSampleCommServe, SAMPLE_REGISTRY_ROOT } from '#agent/local/sample-db/index';
import { parseSettings } from '#core/settings';
import { MiB } from '#core/transfer-plan';
import { motoS3Client, useMoto } from '../../support/moto';
import { useTempDirs } from '../../support/tmp';

const logger = createLogger({ level: 'silent' });

describe('leftover temporary files of an unfinished SET (real SQLite, moto, phase 1)', () => {
  const moto = useMoto();
  const tempDir = useTempDirs();

  it('the next job removes the .uncompressed and .partial files of a killed SET, with a line naming them and their bytes; a committed SET is never touched', async () => {
    const cwd = tempDir();
    await generateSampleCommServe({ dir: join(cwd, 'cs'), sizeBytes: 2 * MiB, seed: 9 });
    await motoS3Client().send(new CreateBucketCommand({ Bucket: 'temps-hot-site' }));
    const settings = parseSettings(
      {
        Database: { engine: 'sqlite', path: join(cwd, 'cs', 'commserv.db') },
        Registry: { store: 'file-hive', hiveFile: join(cwd, 'cs', 'registry', 'commserv_hive.reg'), commServeKeys: [SAMPLE_REGISTRY_ROOT] },
        FirewallDirectory: join(cwd, 'cs', 'firewall'),
        Phase1Destination: join(cwd, 'dr'),
        StateDirectory: join(cwd, 'state'),
        HotSite: { bucket: 'temps-hot-site', endpoint: moto.endpoint() },
        PublishMetrics: false,
      },
      'test',
    );
    const first = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });
    expect(first.status).toBe('Completed');
    // A committed SET holding a file that looks like a temp file: it has a manifest, so it is never touched.
    const committedLookalike = join(settings.Phase1Destination, first.setName, 'commserv_FULL.dmp.uncompressed');
    writeFileSync(committedLookalike, 'kept');
    // What a SIGKILL during the next compressed FULL leaves: the raw dump, a half-written stored dump, no manifest.
    const killed = join(settings.Phase1Destination, 'SET_0000002');
    mkdirSync(killed);
    copyFileSync(join(cwd, 'cs', 'commserv.db'), join(killed, 'commserv_FULL.dmp.uncompressed'));
    const rawBytes = statSync(join(killed, 'commserv_FULL.dmp.uncompressed')).size;
    writeFileSync(join(killed, 'commserv_FULL.dmp'), Buffer.alloc(1000, 1));
    writeFileSync(join(killed, 'commserv_hive.reg.partial'), Buffer.alloc(24, 2));

    const next = await runPhase1({ settings, requestedType: 'FULL', s3: motoS3Client(), logger });

    expect(next.status).toBe('Completed');
    expect(readdirSync(killed)).toEqual(['commserv_FULL.dmp']); // the rest is prune's (SetLifeSpanForFailedDR)
    expect(existsSync(committedLookalike)).toBe(true);
    const event = next.events.find((e) => e.code === 'UNFINISHED_TEMPS_REMOVED')!;
    expect(event.level).toBe('info');
    expect(event.message).toContain(`removed 2 temporary file(s) of unfinished SETs (no manifest: never restorable)`);
    expect(event.message).toContain(`(${rawBytes + 24} bytes)`);
    expect(event.message).toContain(`${join(killed, 'commserv_FULL.dmp.uncompressed')} (${rawBytes} bytes)`);
    expect(event.message).toContain(`${join(killed, 'commserv_hive.reg.partial')} (24 bytes)`);
  });
});
