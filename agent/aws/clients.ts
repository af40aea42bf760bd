/**
 * The one place the agent builds its AWS SDK clients (S3, SSM, Step Functions, CloudWatch, STS), so that
 * every client shares the same region, stand-in endpoint, retries and proxy.
 *
 * Proxy: the AWS SDK v3 ignores `HTTPS_PROXY` by itself. Here `HTTPS_PROXY`/`https_proxy` (for https
 * endpoints, i.e. AWS) and `HTTP_PROXY`/`http_proxy` (for an http stand-in) are honoured through a
 * request handler with a proxy agent (https-proxy-agent: HTTP CONNECT tunnel; http-proxy-agent:
 * absolute-URI requests), unless `NO_PROXY`/`no_proxy` matches the endpoint's host. `NO_PROXY` is read as
 * curl does: comma- or space-separated host names, `.example.com` or `example.com` matching the domain
 * and its subdomains, an optional `:port`, `*` for everything. Credentials in a proxy URL
 * (`http://user:pass@proxy:3128`) are sent as Proxy-Authorization and never logged.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';

/** Where the clients go: the hot-site settings (`region`, and `endpoint` for a local stand-in such as moto). */
export interface AwsTarget {
  region: string;
  endpoint?: string;
}

/** Options of one client. */
export interface ClientOptions {
  /** SDK attempts per request (default 3, the SDK's). */
  maxAttempts?: number;
  /** Environment the proxy variables and credentials are read from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The proxy URL for `endpoint` from the environment, or undefined for a direct connection. */
export function proxyFor(endpoint: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = new URL(endpoint);
  const proxy = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (!proxy) return undefined;
  return bypassesProxy(url, env.NO_PROXY ?? env.no_proxy ?? '') ? undefined : proxy;
}

/** Whether `NO_PROXY` (curl's reading) exempts `url`. */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (raw === '*') return true;
    const match = /^(.*?)(?::(\d+))?$/.exec(raw.toLowerCase().replace(/^\[|\]$/g, ''));
    const entry = (match?.[1] ?? '').replace(/^\*?\./, '');
    if (match?.[2] && match[2] !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/** AWS's regional endpoint of a service, used only to decide on the proxy (the SDK builds its own). */
function awsEndpoint(service: string, region: string): string {
  return `https://${service}.${region}.amazonaws.com`;
}

/** The shared part of every client's configuration. */
export function clientConfig(target: AwsTarget, service: string, options: ClientOptions = {}) {
  const env = options.env ?? process.env;
  const endpoint = target.endpoint ?? awsEndpoint(service, target.region);
  const proxy = proxyFor(endpoint, env);
  const local = target.endpoint !== undefined && isLoopback(target.endpoint);
  return {
    region: target.region,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    // A local stand-in accepts any credentials: do not make the operator configure AWS for it.
    ...(local && !env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(proxy
      ? {
          requestHandler: new NodeHttpHandler(
            endpoint.startsWith('https:') ? { httpsAgent: new HttpsProxyAgent(proxy) } : { httpAgent: new HttpProxyAgent(proxy) },
          ),
        }
      : {}),
  };
}

/** Whether an endpoint is on this machine. */
export function isLoopback(endpoint: string): boolean {
  const host = new URL(endpoint).hostname;
  return host === 'localhost' || host === '::1' || host === '[::1]' || host.startsWith('127.');
}

/** S3 client of the hot-site (path-style addressing on a stand-in). */
export function s3Client(target: AwsTarget, options: ClientOptions = {}): S3Client {
  return new S3Client({ ...clientConfig(target, 's3', options), ...(target.endpoint ? { forcePathStyle: true } : {}) });
}

/** SSM client (settings path, SQL Server credential). */
export function ssmClient(target: AwsTarget, options: ClientOptions = {}): SSMClient {
  return new SSMClient(clientConfig(target, 'ssm', options));
}

/** Step Functions client (phase-1 callback, starting phase 2 of a job run by hand). */
export function sfnClient(target: AwsTarget, options: ClientOptions = {}): SFNClient {
  return new SFNClient(clientConfig(target, 'states', options));
}

/** STS client (`commserve-dr doctor`: which identity the credentials are). On a stand-in, the stand-in's endpoint. */
export function stsClient(target: AwsTarget, options: ClientOptions = {}): STSClient {
  return new STSClient(clientConfig(target, 'sts', options));
}

/** CloudWatch client (the agent's metrics). */
export function cloudWatchClient(target: AwsTarget, options: ClientOptions = {}): CloudWatchClient {
  return new CloudWatchClient(clientConfig(target, 'monitoring', options));
}
