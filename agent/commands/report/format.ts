/** Formatting shared by the report's data, summary and page. */
import { DAY_MS } from '#core/retention';

/** Milliseconds in an hour. */
export const HOUR_MS = 3_600_000;

/** An age for people: `45 min`, `5 h 12 min`, `3 d 4 h`; `unknown` for null. */
export function formatAge(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return 'unknown';
  const negative = ms < 0;
  const abs = Math.abs(ms);
  let text: string;
  if (abs < 60_000) text = `${Math.round(abs / 1000)} s`;
  else if (abs < HOUR_MS) text = `${Math.floor(abs / 60_000)} min`;
  else if (abs < DAY_MS) text = `${Math.floor(abs / HOUR_MS)} h ${String(Math.floor((abs % HOUR_MS) / 60_000)).padStart(2, '0')} min`;
  else text = `${Math.floor(abs / DAY_MS)} d ${Math.floor((abs % DAY_MS) / HOUR_MS)} h`;
  return negative ? `-${text}` : text;
}

