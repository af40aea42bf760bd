/**
 * Phase 2 of a job run by hand (`commserve-dr backup` without `--task-token`): the agent starts an
 * execution of the DR job state machine with the phase-1 result, so ValidateSet, ArchiveSet, PruneSets
 * and ReportJob run in AWS under their own roles — exactly as for a scheduled job. The agent's role
 * needs only `states:StartExecution` for this (never `archive/`, `prune/` or deletes).
 */
import { ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { CommserveDrError, ConfigError, describeError, ExitCode } from '#core/errors';
import type { DrJobInput, Phase1Result } from '#core/job';
import type { Settings } from '#core/settings';

/** How phase 2 of a job run by hand is done. */
export type Phase2Route = { kind: 'state-machine'; stateMachineArn: string } | { kind: 'local' };

/**
 * Decides where phase 2 of a job run by hand runs, before phase 1 starts (so a misconfiguration costs
 * no dump): the state machine when `StateMachineArn` is set; in-process for a local stand-in
 * (`HotSite.endpoint`, e.g. moto); otherwise refused.
 * @throws ConfigError naming the setting and where to find its value.
 */
export function phase2Route(settings: Settings): Phase2Route {
  if (settings.StateMachineArn) return { kind: 'state-machine', stateMachineArn: settings.StateMachineArn };
  if (settings.HotSite.endpoint) return { kind: 'local' };
  throw new ConfigError(
    'StateMachineArn is not set: a job run by hand starts its phase 2 on the DR job state machine. Set it in the config file, or read it from Parameter Store with SettingsParameterPath (the stack publishes <path>/StateMachineArn; stack output DrJobStateMachineArn)',
  );
}

/** A failed StartExecution: the phase-1 SET is in the phase-1 destination and at the hot-site, but not archived. Exit code 3. */
export class Phase2StartError extends CommserveDrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PHASE2_NOT_STARTED', message, { ...options, exitCode: ExitCode.CompletedWithErrors });
  }
}

/**
 * Starts phase 2 for `phase1` on the state machine; the execution is named `hand-run-job-<jobId>-<ms>`
 * so it is easy to find in the console.
 * @returns the execution ARN.
 * @throws Phase2StartError naming the state machine and the reason.
 */
export async function startPhase2(sfn: SFNClient, stateMachineArn: string, backupType: DrJobInput['backupType'], phase1: Phase1Result): Promise<string> {
  const input: DrJobInput = { backupType, phase1 };
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: `hand-run-job-${phase1.jobId}-${Date.now()}`, input: JSON.stringify(input) }));
    if (!started.executionArn) throw new Error('no execution ARN in the answer');
    return started.executionArn;
  } catch (error) {
    throw new Phase2StartError(`phase 1 of job ${phase1.jobId} is done (${phase1.setName}), but phase 2 could not be started on ${stateMachineArn}: ${describeError(error)}`, { cause: error });
  }
}

/**
 * Name of the execution that finishes phase 2 of a half-finished SET (agent/upkeep/half-finished.ts): one name per
 * SET, so a second start (a later job finding the SET still unarchived) is refused by Step Functions
 * (`ExecutionAlreadyExists`, names are unique per state machine for 90 days) instead of archiving it twice.
 */
export function finishingExecutionName(setName: string): string {
  return `finish-phase2-${setName}`;
}

/** A started (or earlier started) execution finishing a half-finished SET. */
export interface FinishingExecution {
  executionArn: string;
  /** True when an earlier job had started it already (this start was refused as a duplicate). */
  alreadyStarted: boolean;
}

/**
 * Starts phase 2 of a half-finished SET on the DR job state machine (ValidateSet → ArchiveSet → PruneSets →
 * ReportJob under the Lambdas' roles), so the agent's role never needs `archive/` writes for it.
 * @throws Phase2StartError naming the state machine and the reason (other than the execution existing already).
 */
export async function startFinishingPhase2(sfn: SFNClient, stateMachineArn: string, phase1: Phase1Result): Promise<FinishingExecution> {
  const name = finishingExecutionName(phase1.setName);
  const input: DrJobInput = { backupType: phase1.requestedType, phase1 };
  try {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
    if (!started.executionArn) throw new Error('no execution ARN in the answer');
    return { executionArn: started.executionArn, alreadyStarted: false };
  } catch (error) {
    if (error instanceof ExecutionAlreadyExists || (error as { name?: string }).name === 'ExecutionAlreadyExists') {
      return { executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`, alreadyStarted: true };
    }
    throw new Phase2StartError(`phase 2 of ${phase1.setName} could not be started on ${stateMachineArn}: ${describeError(error)}`, { cause: error });
  }
}
