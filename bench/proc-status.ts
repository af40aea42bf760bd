/** Reads a memory figure (KiB; `Threads`: a count) of a process from /proc/<pid>/status (Linux); 0 when unavailable. */
import { readFileSync } from 'node:fs';

export function procStatusKiB(field: 'VmHWM' | 'VmRSS' | 'RssAnon' | 'RssFile' | 'Threads', pid: number | 'self' = 'self'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.replace(/\D+/g, '')) : 0;
  } catch {
    return 0;
  }
}
