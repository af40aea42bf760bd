/**
 * SIGINT/SIGTERM during `fetch` and `verify` (issue 19): the clean-ups main.ts runs on a signal remove what the command
 * was writing — fetch's partial download in `--to`, verify's trial-restore scratch copy in the state directory — and
 * the line printed says so. The clean-ups are run in process at a known moment (the first download once that folder
 * exists), exactly as main.ts runs them; test/faults/interruptions.test.ts sends real signals to `start` and `recover`.
 * Real SQLite SETs, moto.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runFetch } from '#agent/commands/recover/fetch';
import { runVerify } from '#agent/commands/recover/verify';
import { interruptMessage, interruptNotes, runInterruptCleanups } from '#agent/shutdown';
import { setName } from '#core/set-id';
import { useTempDirs } from '../../support/tmp';
import { buildFixture, freshHotSite, logger, type RecoverFixture } from './recover-fixture';

/**
 * Makes `s3` run the interrupt clean-ups before the first GetObject sent once `ready()` holds, then `after()` (the
 * state right after the clean-ups, before the command goes on).
 */
function interruptAtFirstDownload(s3: S3Client, ready: () => boolean, after: () => void): { fired: () => boolean } {
  const send = s3.send.bind(s3) as (command: unknown, ...rest: unknown[]) => Promise<unknown>;
  let fired = false;
  (s3 as unknown as { send: typeof send }).send = async (command, ...rest) => {
    if (!fired && command instanceof GetObjectCommand && ready()) {
      fired = true;
      await runInterruptCleanups();
      after();
    }
    return send(command, ...rest);
  };
  return { fired: () => fired };
}

describe('interrupted fetch and verify remove what they were writing (real SQLite, moto)', () => {
  const tempDir = useTempDirs('commserve-dr-interrupt-cleanups-');
  let fixture: RecoverFixture;

  beforeAll(async () => {
    fixture = await buildFixture(tempDir());
  }, 180_000); // three real jobs: a generous limit on a shared machine (no speed asserted)

  it('fetch: the partial download in --to is removed, nothing else is left, and the line names it', async () => {
    const dir = tempDir();
    const { s3, settings } = await freshHotSite(fixture, join(dir, 'state'));
    const to = join(dir, 'fetched');
    const partial = join(to, `.${setName(3)}.partial`);
    let leftThen: string[] | undefined;
    const hook = interruptAtFirstDownload(s3, () => existsSync(partial), () => {
      leftThen = readdirSync(to);
    });
    await runFetch({ settings, s3, logger, setName: setName(3), to });
    expect(hook.fired()).toBe(true);
    expect(leftThen).toEqual([]);
    const note = `the fetch of ${setName(3)} did not complete: its partial download ${partial} was removed (nothing at the hot-site was changed); fetch it again`;
    expect(interruptNotes()).toContain(note);
    expect(interruptMessage('fetch', [note])).toBe(note);
  });

  it('verify: the trial-restore scratch copy is removed and the line names it', async () => {
    const dir = tempDir();
    const { s3, settings } = await freshHotSite(fixture, join(dir, 'state'));
    const verifyDir = join(settings.StateDirectory, 'verify');
    const scratch = () => (existsSync(verifyDir) ? readdirSync(verifyDir).filter((n) => n.startsWith('scratch-')) : []);
    let scratchBefore: string[] = [];
    let scratchThen: string[] | undefined;
    const hook = interruptAtFirstDownload(
      s3,
      () => {
        scratchBefore = scratch();
        return scratchBefore.length > 0;
      },
      () => {
        scratchThen = scratch();
      },
    );
    await runVerify({ settings, s3, logger });
    expect(hook.fired()).toBe(true);
    expect(scratchBefore).toEqual([`scratch-${setName(3)}-${process.pid}`]);
    expect(scratchThen).toEqual([]);
    const note = interruptNotes().find((n) => n.startsWith('the verification did not complete'))!;
    expect(note).toBe(
      `the verification did not complete (no result recorded; nothing at the hot-site was changed): its trial-restore scratch copy ${join(verifyDir, scratchBefore[0])} was removed`,
    );
  });
});
