/**
 * Both deploy orders of docs/DEPLOY.md work (issue 22 item 4):
 * - **deploy first**: the stack is deployed before the CommServe is registered (the activation needs the role the stack
 *   creates). The parameter `CommServeInstanceId` may then stay empty (its default): every schedule of the stack is
 *   created DISABLED, and the output `SchedulesEnabled` says `false (CommServeInstanceId not set)`. Registering the
 *   CommServe and deploying again with `--parameters CommServeInstanceId=mi-…` enables them (unless
 *   `scheduleEnabled=false`);
 * - **register first**: the CommServe is already a managed node (registered earlier, or an EC2 instance): the stack is
 *   deployed with its id at once (parameter or context `commServeInstanceId`) and the schedules are enabled.
 *
 * A job started by hand on the state machine while the id is empty fails in RunPhase1 (SendCommand refuses the empty
 * id) and is recorded by ReportJob as a Failed job — nothing runs on any machine.
 */
import { Aspects, CfnCondition, CfnOutput, CfnParameter, Fn, Stack, type IAspect } from 'aws-cdk-lib';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct, type IConstruct } from 'constructs';

/** Pattern of the parameter: empty (not registered yet) or a managed-node id. */
export const COMMSERVE_INSTANCE_ID_PATTERN = '^((mi|i)-[0-9a-f]{8,17})?$';
/** Logical id of the condition "the CommServe's id is set". */
export const COMMSERVE_REGISTERED_CONDITION = 'CommServeRegistered';

/** Properties of the deploy order. */
export interface DeployOrderProps {
  /** The id given as context (fixed in the template); undefined: a deploy-time parameter. */
  readonly commServeInstanceId?: string;
  /** Logical id of the deploy-time parameter (a stack-level element). */
  readonly parameterId: string;
}

/** The CommServe's id (context or parameter) and the condition that holds the schedules until it is set. */
export class DeployOrder extends Construct {
  /** The id to send commands to: the context value, or a reference to the parameter. */
  readonly commServeInstanceId: string;
  /** Set when the id is a parameter: true once it is not empty. */
  readonly registered?: CfnCondition;

  constructor(scope: Construct, id: string, props: DeployOrderProps) {
    super(scope, id);
    if (props.commServeInstanceId !== undefined) {
      this.commServeInstanceId = props.commServeInstanceId;
      return;
    }
    const stack = Stack.of(this);
    // Stack-level elements, so their logical ids stay `CommServeInstanceId` and `CommServeRegistered`.
    const parameter = new CfnParameter(stack, props.parameterId, {
      type: 'String',
      default: '',
      allowedPattern: COMMSERVE_INSTANCE_ID_PATTERN,
      constraintDescription: 'empty (the CommServe is not registered yet: the schedules stay disabled) or an SSM managed-node id: mi-… (on premises) or i-… (EC2)',
      description:
        'The CommServe SSM managed node that runs phase 1 (commserve-dr backup --task-token …). Leave empty to deploy before registering it: the schedules stay disabled until it is set.',
    });
    this.registered = new CfnCondition(stack, COMMSERVE_REGISTERED_CONDITION, { expression: Fn.conditionNot(Fn.conditionEquals(parameter.valueAsString, '')) });
    this.commServeInstanceId = parameter.valueAsString;
  }

  /**
   * Makes every enabled EventBridge Scheduler schedule under `scope` enabled only when the CommServe's id is set (a
   * no-op when the id is fixed in the template), and adds the output `SchedulesEnabled`.
   */
  holdSchedulesUntilRegistered(scope: Construct): void {
    const registered = this.registered;
    if (!registered) return;
    Aspects.of(scope).add(new HoldSchedules(registered));
    new CfnOutput(Stack.of(this), 'SchedulesEnabled', {
      description: 'whether the DR job schedules run: they are held disabled while the parameter CommServeInstanceId is empty',
      value: Fn.conditionIf(registered.logicalId, 'true', 'false (CommServeInstanceId not set)').toString(),
    });
  }
}

/** The aspect: `State: ENABLED` → `Fn::If [CommServeRegistered, ENABLED, DISABLED]`; DISABLED schedules stay disabled. */
class HoldSchedules implements IAspect {
  constructor(private readonly registered: CfnCondition) {}

  visit(node: IConstruct): void {
    if (!(node instanceof scheduler.CfnSchedule)) return;
    const state = node.state;
    // A schedule created disabled (scheduleEnabled=false) or already conditional is left as it is.
    if (state !== undefined && state !== 'ENABLED') return;
    node.state = Fn.conditionIf(this.registered.logicalId, 'ENABLED', 'DISABLED').toString();
  }
}
