/**
 * The agent's process-wide memory settings (issue 20: peak RSS ≤ 128 MiB for FULL, DIFFERENTIAL, LOG and recovery,
 * flat in the database size).
 *
 * V8 starts each isolate's young generation with two 1 MiB semi-spaces and doubles them (up to 16 MiB each on 64-bit
 * Node 20) as objects keep surviving scavenges — which every long job does, so after a minute of streaming the main
 * thread holds 32 MiB of new space and each worker its own, most of it resident, whatever the database size. The
 * agent's garbage is short-lived (request objects, promise chains, small Buffers' wrappers); the bytes themselves
 * live outside the V8 heap (part buffers, SQLite's caches). So the young generation stays at its initial size:
 * measured on the bench child (64 MB sample, FULL): new space 32 → 2 MiB, peak RSS −15 to −25 MiB.
 *
 * `--semi-space-growth-factor` is read by V8 each time it considers growing the new space, so setting it at run time
 * works (unlike `--max-semi-space-size`, which V8 reads once when the isolate is created and which would need a flag
 * on the `node` command line — something neither npm's bin shim on every platform nor SSM's command line carries).
 * V8 flags are process-wide: workers started afterwards inherit it.
 */
import { setFlagsFromString } from 'node:v8';

/** The V8 flag {@link keepYoungGenerationSmall} sets (factor 1: the semi-spaces never grow past their initial 1 MiB). */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';

/**
 * Keeps V8's young generation at its initial size for the rest of the process (see the module comment). Call once, at
 * the start of the process, before the heavy work. Never throws (V8 ignores a flag it does not know).
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString(YOUNG_GENERATION_FLAG);
}
