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
 *
 * A failure of the proxy itself is said in words (the SDK would say `UnknownError` for a 407): every client made here
 * rewrites the message of an error the proxy caused — credentials refused (407), proxy not reachable — naming the
 * proxy (without credentials) and the variable; the error keeps its name, code and `$metadata`.
 * Tested against moto over TLS through a local CONNECT proxy: test/integration/agent/proxy.test.ts.
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

/** A proxy URL as it may be shown: scheme, host and port, never the user:password part. */
export function shownProxy(proxy: string): string {
  const url = new URL(proxy);
  return `${url.protocol}//${url.host}`;
}

/** Network error codes that mean the proxy itself could not be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

/**
 * The message of an error the proxy caused, or undefined when the proxy is not to blame.
 * @param variable `HTTPS_PROXY` or `HTTP_PROXY` (named in the message).
 */
export function proxyFailure(error: unknown, proxy: string, endpoint: string, variable: string): string | undefined {
  const e = error as { $metadata?: { httpStatusCode?: number }; code?: string; address?: string; hostname?: string; port?: number; message?: string };
  const url = new URL(proxy);
  const target = new URL(endpoint).host;
  if (e?.$metadata?.httpStatusCode === 407) {
    return `the proxy ${shownProxy(proxy)} (${variable}) refused to connect to ${target}: 407 Proxy Authentication Required — check the user and password in ${variable} (http://user:password@host:port, URL-encoded)`;
  }
  const proxyPort = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const atProxy = e?.port === proxyPort || e?.hostname === url.hostname || e?.address === url.hostname;
  if (e?.code && UNREACHABLE.has(e.code) && atProxy && e.$metadata?.httpStatusCode === undefined) {
    return `the proxy ${shownProxy(proxy)} (${variable}) cannot be reached to connect to ${target}: ${e.message ?? e.code}`;
  }
  return undefined;
}

type Handler = (args: unknown) => Promise<unknown>;

/** Adds the proxy-failure wording (see {@link proxyFailure}) to a client's requests. */
function explainProxyFailures<C extends { middlewareStack: unknown }>(client: C, target: AwsTarget, service: string, env: NodeJS.ProcessEnv): C {
  const endpoint = target.endpoint ?? awsEndpoint(service, target.region);
  const proxy = proxyFor(endpoint, env);
  if (!proxy) return client;
  const variable = endpoint.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  const stack = client.middlewareStack as { add: (middleware: (next: Handler) => Handler, options: { step: 'initialize'; name: string }) => void };
  stack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const message = proxyFailure(error, proxy, endpoint, variable);
        if (message && error instanceof Error) error.message = message;
        throw error;
      }
    },
    { step: 'initialize', name: 'explainProxyFailures' },
  );
  return client;
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
  const client = new S3Client({ ...clientConfig(target, 's3', options), ...(target.endpoint ? { forcePathStyle: true } : {}) });
  return explainProxyFailures(client, target, 's3', options.env ?? process.env);
}

/** SSM client (settings path, SQL Server credential). */
export function ssmClient(target: AwsTarget, options: ClientOptions = {}): SSMClient {
  return explainProxyFailures(new SSMClient(clientConfig(target, 'ssm', options)), target, 'ssm', options.env ?? process.env);
}

/** Step Functions client (phase-1 callback, starting phase 2 of a job run by hand). */
export function sfnClient(target: AwsTarget, options: ClientOptions = {}): SFNClient {
  return explainProxyFailures(new SFNClient(clientConfig(target, 'states', options)), target, 'states', options.env ?? process.env);
}

/** STS client (`commserve-dr doctor`: which identity the credentials are). On a stand-in, the stand-in's endpoint. */
export function stsClient(target: AwsTarget, options: ClientOptions = {}): STSClient {
  return explainProxyFailures(new STSClient(clientConfig(target, 'sts', options)), target, 'sts', options.env ?? process.env);
}

/** CloudWatch client (the agent's metrics). */
export function cloudWatchClient(target: AwsTarget, options: ClientOptions = {}): CloudWatchClient {
  return explainProxyFailures(new CloudWatchClient(clientConfig(target, 'monitoring', options)), target, 'monitoring', options.env ?? process.env);
}
