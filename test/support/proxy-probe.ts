/**
 * Child-process probe for test/integration/agent/proxy.test.ts: builds every AWS client of the agent through its one
 * factory (agent/aws/clients.ts) for the endpoint in argv[2] and sends one harmless request with each, then prints
 * `{ "<client>": "ok" | "<error>" }` as JSON. Run with `node bin/run-ts.js test/support/proxy-probe.ts <endpoint>`
 * and the proxy variables in its environment (NODE_EXTRA_CA_CERTS trusting the endpoint's certificate).
 */
import { ListMetricsCommand } from '@aws-sdk/client-cloudwatch';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListStateMachinesCommand } from '@aws-sdk/client-sfn';
import { GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { cloudWatchClient, s3Client, sfnClient, ssmClient, stsClient } from '#agent/aws/clients';

async function main(): Promise<void> {
  const target = { region: 'us-east-1', endpoint: process.argv[2] };
  const options = { maxAttempts: 1 };
  const probes: Record<string, () => Promise<unknown>> = {
    s3: () => s3Client(target, options).send(new ListBucketsCommand({})),
    ssm: () => ssmClient(target, options).send(new GetParametersByPathCommand({ Path: '/commserve-dr/default' })),
    sfn: () => sfnClient(target, options).send(new ListStateMachinesCommand({})),
    sts: () => stsClient(target, options).send(new GetCallerIdentityCommand({})),
    cloudwatch: () => cloudWatchClient(target, options).send(new ListMetricsCommand({ Namespace: 'CommServeDR' })),
  };
  const results: Record<string, string> = {};
  for (const [name, probe] of Object.entries(probes)) {
    results[name] = await probe().then(
      () => 'ok',
      (error: Error) => `${error.name}: ${error.message}`,
    );
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
