/**
 * Newcomer review finding 6: impossible dates and counts on the command line are usage errors (exit 2) with the
 * reason, like `recover --at` — one parser (core/cli-values.ts) for every command. The CLI runs in-process on a
 * fresh working directory (local history only: nothing at the hot-site is contacted).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '#agent/cli';
import { parseIsoDate, parseWholeNumber } from '#core/cli-values';
import { capture } from '../../support/cli';
import { useTempDirs } from '../../support/tmp';

describe('dates and counts typed on the command line', () => {
  const tempDir = useTempDirs();

  const run = async (...args: string[]) => {
    const cwd = tempDir();
    const io = capture(cwd);
    const code = await exec(args, io);
    return { code, out: io.out(), err: io.err(), cwd };
  };

  it('history --since 2026-02-30 / --until 2026-13-01 / abc → exit 2 with the reason; 2026-02-28 is accepted', async () => {
    const feb30 = await run('history', '--local-only', '--since', '2026-02-30');
    expect(feb30.code).toBe(2);
    expect(feb30.err).toContain('--since expects a date like 2026-11-29 or 2026-11-29T17:00:00Z, got "2026-02-30": no such day in the calendar');
    const month13 = await run('history', '--local-only', '--until', '2026-13-01');
    expect(month13.code).toBe(2);
    expect(month13.err).toContain('got "2026-13-01": no such day in the calendar');
    const words = await run('history', '--local-only', '--since', 'yesterday');
    expect(words.code).toBe(2);
    expect(words.err).toContain('got "yesterday": not an ISO-8601 date');
    const json = await run('--json', 'history', '--local-only', '--since', '2026-02-30');
    expect(JSON.parse(json.out)).toMatchObject({ exitCode: 2, error: { message: expect.stringContaining('no such day in the calendar') } });
    const ok = await run('--json', 'history', '--local-only', '--since', '2026-02-28', '--until', '2026-03-01T12:00:00+01:00');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out).jobs).toEqual([]);
  });

  it('report --history abc / 0 / 12abc → exit 2 naming the option and the reason; nothing written', async () => {
    for (const value of ['abc', '0', '12abc', '-3']) {
      const result = await run('report', '--html', 'readiness.html', '--local-only', '--history', value);
      expect({ value, code: result.code }).toEqual({ value, code: 2 });
      expect(result.err).toContain(`option '--history <n>' argument '${value}' is invalid. expected a whole number of at least 1, got "${value}"`);
      expect(existsSync(join(result.cwd, 'readiness.html'))).toBe(false);
    }
  });

  it('parseIsoDate: real dates and moments only; a date alone is midnight UTC, a time without a zone is UTC', () => {
    expect(parseIsoDate('2028-02-29')).toEqual({ date: new Date('2028-02-29T00:00:00Z') });
    expect(parseIsoDate('2026-02-29')).toEqual({ reason: 'no such day in the calendar' });
    expect(parseIsoDate('2026-04-31')).toEqual({ reason: 'no such day in the calendar' });
    expect(parseIsoDate('2026-12-05T24:00:00Z')).toEqual({ reason: 'no such moment in the calendar' });
    expect(parseIsoDate('2026-12-05T17:00')).toEqual({ date: new Date('2026-12-05T17:00:00Z') });
    expect(parseIsoDate('2026-12-05T18:00:00+01:00')).toEqual({ date: new Date('2026-12-05T17:00:00Z') });
    expect(parseIsoDate('05/12/2026')).toEqual({ reason: 'not an ISO-8601 date' });
    expect(parseWholeNumber('20')).toEqual({ value: 20 });
    expect(parseWholeNumber('1e3')).toEqual({ reason: 'expected a whole number of at least 1, got "1e3"' });
  });
});
