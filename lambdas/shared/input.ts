/**
 * Input validation of the phase-2 handlers with the zod schemas of `core/job.ts`.
 */
import type { z } from 'zod';
import { DrJobInputSchema, type Phase1Result } from '#core/job';
import { InvalidInputError } from './errors';

/** zod issues as `path: message` strings (at most `max`, then a count of the rest). */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
  return lines.slice(0, max).join('; ') + (lines.length > max ? ` (+${lines.length - max} more)` : '');
}

/**
 * The phase-1 result of a phase-2 state's input (a `DrJobInput` whose `phase1` is present).
 * @param state the state's name, for the message.
 * @throws InvalidInputError naming the state and every offending field (e.g. `phase1.jobId: …`),
 *   or saying that `phase1` is missing.
 */
export function phase1FromInput(event: unknown, state: string): Phase1Result {
  const parsed = DrJobInputSchema.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(`${state} input is invalid: ${describeIssues(parsed.error)}`, { context: { issues: parsed.error.issues.length } });
  }
  if (!parsed.data.phase1) {
    throw new InvalidInputError(`${state} input has no phase1 result: phase 1 must complete before ${state} runs`);
  }
  return parsed.data.phase1;
}
