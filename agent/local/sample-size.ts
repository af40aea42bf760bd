/** Size of the sample CommServe `commserve-dr start` creates on its first run (bytes); in its own module so `--help` can show it without loading the local run. */
export const DEFAULT_SAMPLE_BYTES = 100 * 1024 * 1024;
