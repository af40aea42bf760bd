/**
 * How the agent asks for a repair of committed data (issue 21 item 2): the RepairObject function
 * (`lambdas/repair-object.ts`) copies an intact source onto `sets/SET_n/<file>` with its own role, because the agent's
 * own writes are create-only. When the setting `RepairFunctionName` is set (the stack publishes it) it is the deployed
 * function, invoked synchronously with `lambda:InvokeFunction` on that function only (the Lambda client goes where the
 * agent's other clients go: `HotSite.endpoint` when one is set). Without the setting (the local sample against moto)
 * the same handler runs in-process with the agent's S3 client — which, against a bucket that enforces create-only
 * writes, is refused (AccessDenied) and reported as not repaired.
 *
 * Why the agent invokes it rather than the state machine: the scrub runs inside phase 1 and needs the answer at once
 * (repaired, or fall back to the next source, or promote a DIFFERENTIAL to FULL); a synchronous invoke of one function
 * is one narrow grant, while a state-machine round trip would add a callback and minutes to every repair.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { clientConfig } from '#agent/aws/clients';
import type { S3Client } from '@aws-sdk/client-s3';
import { HotSiteError } from '#core/errors';
import { makeRepairObjectHandler, type PublishGuideRequest, type PublishGuideResponse, type RepairRequest, type RepairResponse } from '#lambdas/repair-object';

/** Asks for one repair; resolves with the function's answer. @throws HotSiteError when the function cannot be invoked or fails. */
export type Repairer = (request: RepairRequest) => Promise<RepairResponse>;
/** Asks the function to publish a per-job guide as `RECOVERY.md`. @throws HotSiteError as {@link Repairer}. */
export type GuidePublisher = (guideKey: string) => Promise<PublishGuideResponse>;

/** Sends one request to the function (deployed or in-process) and returns its answer. */
type Invoker = (payload: RepairRequest | PublishGuideRequest) => Promise<unknown>;

function inProcessInvoker(s3: S3Client, bucket: string): Invoker {
  const handler = makeRepairObjectHandler({ s3, bucket });
  return (payload) => handler(payload);
}

function lambdaInvoker(functionName: string, client: LambdaClient): Invoker {
  return async (payload) => {
    let response;
    try {
      response = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(payload)) }));
    } catch (error) {
      throw new HotSiteError('REPAIR_FUNCTION_UNAVAILABLE', `cannot invoke the repair function ${functionName}: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
    const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '';
    if (response.FunctionError) throw new HotSiteError('REPAIR_FUNCTION_FAILED', `the repair function ${functionName} failed: ${text.slice(0, 500)}`);
    return JSON.parse(text) as unknown;
  };
}

/** Settings the choice of function depends on. */
type RepairSettings = { RepairFunctionName?: string | null; HotSite: { endpoint?: string; region: string; bucket: string } };

/** The deployed function when `RepairFunctionName` is set, else the handler in-process with `s3`. */
function invokerFor(settings: RepairSettings, s3: S3Client): Invoker {
  if (settings.RepairFunctionName) {
    // The agent's client factory: region, HTTPS_PROXY/NO_PROXY (clientConfig).
    return lambdaInvoker(settings.RepairFunctionName, new LambdaClient(clientConfig(settings.HotSite, 'lambda')));
  }
  return inProcessInvoker(s3, settings.HotSite.bucket);
}

/** The RepairObject handler in-process, with the given client (local stand-in, tests). */
export function inProcessRepairer(s3: S3Client, bucket: string): Repairer {
  const invoke = inProcessInvoker(s3, bucket);
  return (request) => invoke(request) as Promise<RepairResponse>;
}

/** The repairer the settings call for (see {@link invokerFor}). */
export function repairerFor(settings: RepairSettings, s3: S3Client): Repairer {
  const invoke = invokerFor(settings, s3);
  return (request) => invoke(request) as Promise<RepairResponse>;
}

/** The guide publisher the settings call for (see {@link invokerFor}). */
export function guidePublisherFor(settings: RepairSettings, s3: S3Client): GuidePublisher {
  const invoke = invokerFor(settings, s3);
  return (guideKey) => invoke({ publishRecoveryGuide: guideKey }) as Promise<PublishGuideResponse>;
}
