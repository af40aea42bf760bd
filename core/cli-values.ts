/**
 * Values operators type on the command line: dates and moments, counts. One parser each, shared by every command
 * (newcomer review finding 6: `history --since 2026-02-30` and `report --history abc` were accepted), each refusing
 * what is not a real value with the reason and an example — `Date.parse` rolls 2026-02-30 over to 2026-03-02 and
 * `parseInt('abc')` is NaN, so neither is trusted alone. Pure: no I/O.
 */
/** Whether year-month-day hh:mm:ss name a real calendar moment (the day checked against the month's length). */
export function isCalendarMoment(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59;
}

/** `YYYY-MM-DD`, optionally `THH:MM[:SS[.fff]]`, optionally a zone (`Z`, `±hh:mm`). */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * Parses a date or date-time (`2026-11-29`, `2026-11-29T17:00:00Z`, `2026-11-29T18:00:00+01:00`); a date alone is
 * midnight UTC and a time without a zone is UTC (the history's times are UTC).
 * @returns the moment, or a reason in words when the text is not a real date (`2026-02-30`: February has 28 days).
 */
export function parseIsoDate(text: string): { date: Date } | { reason: string } {
  const m = ISO_DATE.exec(text.trim());
  if (!m) return { reason: 'not an ISO-8601 date' };
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => (m[i] === undefined ? 0 : Number(m[i])));
  if (!isCalendarMoment(year, month, day, hour, minute, second)) return { reason: `no such ${m[4] === undefined ? 'day' : 'moment'} in the calendar` };
  const withTime = m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : `${text.trim()}${m[8] === undefined ? 'Z' : ''}`;
  const ms = Date.parse(withTime);
  return Number.isFinite(ms) ? { date: new Date(ms) } : { reason: 'not an ISO-8601 date' };
}

/**
 * Parses a whole number ≥ `min` (digits only: `12`, not `12abc`, `1e3` or `-1`; at most 2^53 − 1). Plain code, not a
 * zod schema: `cli.ts` parses options before any command loads, and `--help` must not load more than commander.
 * @returns the number, or a reason in words.
 */
export function parseWholeNumber(text: string, min = 1): { value: number } | { reason: string } {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) && value >= min ? { value } : { reason: `expected a whole number of at least ${min}, got ${JSON.stringify(text)}` };
}
