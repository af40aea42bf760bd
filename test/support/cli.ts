/** Runs the CLI in-process (`exec`) with captured stdout and stderr. */
import type { CliIo } from '#agent/cli';

/** A CliIo for `cwd` that keeps what the command printed. */
export function capture(cwd: string): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { cwd, stdout: (t) => (out += t), stderr: (t) => (err += t), out: () => out, err: () => err };
}
