/**
 * The PowerShell command line RunPhase1 sends to the CommServe (SSM Run Command, `AWS-RunPowerShellScript`).
 *
 * The SSM Agent runs it as Local System in a per-command working folder, so the command must not depend on the
 * working directory: it names the settings path (`--settings-parameter-path /commserve-dr/<cell>`, the stack's own
 * prefix) and, when the deployment gives one, the config file (`--config <absolute path>`); without it the agent reads
 * its machine-wide config file (`%ProgramData%\commserve-dr\commserve-dr.config.json`, agent/config-location.ts).
 * `--task-token` makes the agent refuse relative paths in its settings (they would land in the per-command folder).
 *
 * The executable is `commserve-dr` (found on Local System's PATH) unless the deployment gives an absolute path
 * (`agentCommand`, e.g. `C:\Program Files\nodejs\commserve-dr.cmd`), run with PowerShell's call operator.
 */

/** What the command line is built from. */
export interface Phase1CommandOptions {
  /** `commserve-dr` (default) or the absolute path of the agent's launcher on the CommServe. */
  readonly agentCommand?: string;
  /** Absolute path of the agent's config file on the CommServe; default none (the agent's machine-wide location). */
  readonly configFile?: string;
  /** The settings path (`/commserve-dr/<cell>`), sent as `--settings-parameter-path`. */
  readonly settingsParameterPath: string;
}

/** The default executable: `commserve-dr` on Local System's PATH. */
export const DEFAULT_AGENT_COMMAND = 'commserve-dr';

/** A Windows (`C:\…`, `\\server\share\…`) or POSIX (`/…`) absolute path. */
export function isAbsoluteAgentPath(path: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(path) || /^\\\\[^\\]+\\[^\\]+/.test(path) || path.startsWith('/');
}

/** A PowerShell single-quoted string (`'` doubled): no variable expansion, no escapes. */
export function powerShellQuote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Checks a deploy-time path for the command line.
 * @throws Error naming the context key when the path is relative, has a line break, or holds `{`/`}` (they would be
 *   placeholders of the state machine's States.Format).
 */
export function checkAgentPath(key: string, path: string): string {
  if (!isAbsoluteAgentPath(path)) throw new Error(`${key} must be an absolute path on the CommServe (C:\\…, \\\\server\\share\\… or /…), got ${JSON.stringify(path)}`);
  if (/[\r\n{}]/.test(path)) throw new Error(`${key} must not contain line breaks, '{' or '}', got ${JSON.stringify(path)}`);
  return path;
}

/**
 * The command line as a States.Format template: the two `{}` are the backup type and the task token, in that order.
 * @throws Error as {@link checkAgentPath} for a bad `agentCommand` or `configFile`, and for a settings path that is not
 *   an absolute SSM path.
 */
export function phase1CommandTemplate(options: Phase1CommandOptions): string {
  const command = options.agentCommand ?? DEFAULT_AGENT_COMMAND;
  const executable = command === DEFAULT_AGENT_COMMAND ? command : `& ${powerShellQuote(checkAgentPath('agentCommand', command))}`;
  if (!/^\/[A-Za-z0-9_.\-/]+$/.test(options.settingsParameterPath)) {
    throw new Error(`the settings path must be an absolute SSM path, got ${JSON.stringify(options.settingsParameterPath)}`);
  }
  const config = options.configFile ? ` --config ${powerShellQuote(checkAgentPath('agentConfigFile', options.configFile))}` : '';
  return `${executable}${config} --settings-parameter-path ${options.settingsParameterPath} backup --type {} --task-token {}`;
}
