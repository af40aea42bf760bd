import { runWithCallback, type TaskCallback } from '#agent/commands/backup/callback';
import { CommserveDrError } from '#core/errors';
import { setName } from '#core/set-id';
import type { Phase1Result } from '#core/job';
import { JobStatus } from '#core/job-status';

const name = setName(9);
const result: Phase1Result = {
  jobId: 9,
  setName: name,
  backupType: 'FULL',
  requestedType: 'FULL',
  cycleId: 9,
  bucket: 'hot',
  setPrefix: `sets/${name}/`,
  manifestKey: `sets/${name}/manifest.json`,
  files: 5,
  bytes: 1000,
  phase1Destination: `/dr/${name}`,
  integrity: 'ok',
  status: JobStatus.Completed,
  startTime: '2026-11-29T17:00:00.000Z',
  endTime: '2026-11-29T17:01:00.000Z',
  durationsMs: {},
  events: [],
};

/** A callback recording what it was asked to send; `fail` makes the named call throw like an unreachable Step Functions endpoint. */
function recordingCallback(fail: Partial<Record<'success' | 'failure', Error>> = {}) {
  const sent: string[] = [];
  const callback: TaskCallback = {
    async heartbeat() {
      sent.push('heartbeat');
    },
    async success() {
      sent.push('success');
      if (fail.success) throw fail.success;
    },
    async failure(error) {
      sent.push(`failure:${error}`);
      if (fail.failure) throw fail.failure;
    },
  };
  return { callback, sent };
}

describe('runWithCallback (the task-token protocol; Step Functions replaced by a recording callback)', () => {
  it('reports success and returns the result', async () => {
    const { callback, sent } = recordingCallback();
    await expect(runWithCallback(callback, async () => result)).resolves.toBe(result);
    expect(sent).toEqual(['success']);
  });

  it('reports a failed phase 1 with its error code and rethrows the same error', async () => {
    const { callback, sent } = recordingCallback();
    const error = new CommserveDrError('DB_NOT_FOUND', 'no database at /x/commserv.db');
    await expect(runWithCallback(callback, async () => Promise.reject(error))).rejects.toBe(error);
    expect(sent).toEqual(['failure:DB_NOT_FOUND']);
  });

  it('reports an error thrown before the work\'s first await (a refused setting) the same way', async () => {
    const { callback, sent } = recordingCallback();
    const error = new CommserveDrError('CONFIG_INVALID', 'relative paths are refused: Phase1Destination: "DR"');
    const work = (): Promise<Phase1Result> => {
      throw error;
    };
    await expect(runWithCallback(callback, work)).rejects.toBe(error);
    expect(sent).toEqual(['failure:CONFIG_INVALID']);
  });

  it('when SendTaskFailure itself fails, the job\'s own error is still what the command reports, and the callback error is passed on', async () => {
    const { callback, sent } = recordingCallback({ failure: new Error('connect ECONNREFUSED states.eu-west-1.amazonaws.com') });
    const error = new CommserveDrError('DB_NOT_FOUND', 'no database at /x/commserv.db');
    const passedOn: unknown[] = [];
    await expect(runWithCallback(callback, async () => Promise.reject(error), (e) => passedOn.push(e))).rejects.toBe(error);
    expect(sent).toEqual(['failure:DB_NOT_FOUND']);
    expect(passedOn).toEqual([expect.objectContaining({ message: 'connect ECONNREFUSED states.eu-west-1.amazonaws.com' })]);
  });

  it('when SendTaskSuccess fails after phase 1 finished: no failure is sent, CALLBACK_FAILED names the job, its SET and the reason', async () => {
    const { callback, sent } = recordingCallback({ success: new Error('TaskTimedOut: Task Timed Out') });
    const thrown = await runWithCallback(callback, async () => result).catch((e: unknown) => e);
    expect(sent).toEqual(['success']);
    expect(thrown).toBeInstanceOf(CommserveDrError);
    expect((thrown as CommserveDrError).code).toBe('CALLBACK_FAILED');
    expect((thrown as Error).message).toContain(`phase 1 of job 9 finished (${name}, Completed), but the state machine could not be told`);
    expect((thrown as Error).message).toContain('TaskTimedOut: Task Timed Out');
    expect((thrown as Error).message).toContain('The SET is committed; the next job finishes its phase 2.');
  });

  it('a failing heartbeat does not stop the work and is passed on', async () => {
    const callback: TaskCallback = {
      heartbeat: async () => Promise.reject(new Error('throttled')),
      success: async () => undefined,
      failure: async () => undefined,
    };
    const passedOn: unknown[] = [];
    const out = await runWithCallback(
      callback,
      async (beat) => {
        await beat();
        await beat();
        return result;
      },
      (e) => passedOn.push(e),
    );
    expect(out).toBe(result);
    expect(passedOn).toHaveLength(2);
  });
});
