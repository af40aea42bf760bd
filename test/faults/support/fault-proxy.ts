/**
 * A small fault-injecting HTTP proxy for the hot-site fault tests: it listens on 127.0.0.1 only, forwards
 * every request to a target (a moto server) and, per request, lets a rule decide to pass it through,
 * answer an S3-style 500/503 itself, delay it, or cut the connection (optionally also stopping listening).
 *
 * Bounded by construction: every forwarded request has an upstream timeout, `stop()` destroys every open
 * socket, and the server is unref'ed so it never keeps a test process alive.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the S3 request looks like to the rules. */
export interface ProxiedRequest {
  /** 1-based index of this request since the proxy started (all methods). */
  readonly seq: number;
  readonly method: string;
  /** Path without query, e.g. `/bucket/sets/SET_0000001/commserv_FULL.dmp`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The S3 operation as far as it can be told from the method and query. */
  readonly operation: S3Operation;
}

export type S3Operation =
  | 'UploadPart'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'AbortMultipartUpload'
  | 'ListMultipartUploads'
  | 'PutObject'
  | 'HeadObject'
  | 'GetObject'
  | 'ListObjects'
  | 'DeleteObjects'
  | 'CopyObject'
  | 'Other';

/** What to do with one request. */
export type FaultAction =
  | { kind: 'pass' }
  /** Answer with this status and an S3 error body (the request body is read and dropped first). */
  | { kind: 'error'; status: 500 | 503 }
  /** Forward after waiting `ms`, then relay the response. */
  | { kind: 'delay'; ms: number }
  /** Destroy the client's connection (after reading nothing more); with `stopListening`, also close the listener and every socket. */
  | { kind: 'cut'; stopListening?: boolean }
  /** Hold the request (`hold` resolves), then decide again with the same rule. */
  | { kind: 'hold'; until: Promise<unknown> };

export type FaultRule = (request: ProxiedRequest) => FaultAction;

/** One line of the proxy's log: what each request met. */
export interface ProxyLogEntry {
  seq: number;
  operation: S3Operation;
  path: string;
  action: FaultAction['kind'] | 'upstream-error';
  status?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>` (the port stays the same across `stop()`/`listen()`). */
  readonly endpoint: string;
  readonly port: number;
  /** Replace the rule (default: pass everything through). */
  setRule(rule: FaultRule): void;
  /** Point the proxy at another upstream (e.g. a restarted moto). */
  setTarget(target: string): void;
  /** Every request seen, in order. */
  readonly log: readonly ProxyLogEntry[];
  /** Whether the listener is up. */
  listening(): boolean;
  /** Start listening again on the same port (after a `cut` with `stopListening`, or `stop()`). */
  listen(): Promise<void>;
  /** Stop listening and destroy every open connection. Idempotent. */
  stop(): Promise<void>;
}

/** Longest an upstream request may take before the proxy gives up on it (ms). */
const UPSTREAM_TIMEOUT_MS = 30_000;

function operationOf(method: string, path: string, query: URLSearchParams, headers: IncomingMessage['headers']): S3Operation {
  const isObject = path.split('/').filter(Boolean).length > 1;
  if (method === 'PUT' && query.has('partNumber') && query.has('uploadId')) return 'UploadPart';
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (method === 'POST' && query.has('uploadId')) return 'CompleteMultipartUpload';
  if (method === 'DELETE' && query.has('uploadId')) return 'AbortMultipartUpload';
  if (method === 'GET' && query.has('uploads')) return 'ListMultipartUploads';
  if (method === 'POST' && query.has('delete')) return 'DeleteObjects';
  if (method === 'PUT' && isObject && headers['x-amz-copy-source']) return 'CopyObject';
  if (method === 'PUT' && isObject) return 'PutObject';
  if (method === 'HEAD' && isObject) return 'HeadObject';
  if (method === 'GET' && isObject) return 'GetObject';
  if (method === 'GET') return 'ListObjects';
  return 'Other';
}

function s3ErrorBody(status: 500 | 503): string {
  const code = status === 503 ? 'SlowDown' : 'InternalError';
  const message = status === 503 ? 'Please reduce your request rate.' : 'We encountered an internal error. Please try again.';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

/**
 * Starts the proxy on a free port of 127.0.0.1 in front of `target` (e.g. moto's endpoint).
 */
export async function startFaultProxy(target: string, rule: FaultRule = () => ({ kind: 'pass' })): Promise<FaultProxy> {
  let upstream = new URL(target);
  let currentRule = rule;
  let seq = 0;
  const log: ProxyLogEntry[] = [];
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const stopListening = (): Promise<void> =>
    new Promise((resolve) => {
      const s = server;
      server = undefined;
      destroyAll();
      if (!s) return resolve();
      s.close(() => resolve());
      destroyAll();
    });

  const forward = (req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry) => {
    const headers = { ...req.headers, host: upstream.host };
    // The proxy relays the body as it comes; the upstream need not negotiate 100-continue again.
    delete headers.expect;
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, timeout: UPSTREAM_TIMEOUT_MS },
      (upstreamRes) => {
        entry.status = upstreamRes.statusCode;
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
        upstreamRes.on('error', () => res.destroy());
      },
    );
    out.on('timeout', () => out.destroy(new Error('upstream timeout')));
    out.on('error', () => {
      // The upstream is gone (moto killed) or timed out: the client sees its connection cut.
      entry.action = 'upstream-error';
      req.socket.destroy();
    });
    req.pipe(out);
    req.on('aborted', () => out.destroy());
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const request: ProxiedRequest = {
      seq: ++seq,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      operation: operationOf(req.method ?? 'GET', url.pathname, url.searchParams, req.headers),
    };
    let action = currentRule(request);
    // A bounded number of re-decisions after holds.
    for (let i = 0; i < 10 && action.kind === 'hold'; i++) {
      await action.until;
      action = currentRule(request);
    }
    const entry: ProxyLogEntry = { seq: request.seq, operation: request.operation, path: request.path, action: action.kind };
    log.push(entry);
    switch (action.kind) {
      case 'error': {
        const body = s3ErrorBody(action.status);
        entry.status = action.status;
        req.resume();
        const answer = () => {
          if (res.headersSent || res.destroyed) return;
          res.writeHead(action.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body), 'x-amz-request-id': 'fault-proxy' });
          res.end(body);
        };
        if (req.complete) answer();
        else req.once('end', answer);
        return;
      }
      case 'cut':
        if (action.stopListening) await stopListening();
        else req.socket.destroy();
        return;
      case 'delay':
        await new Promise((r) => setTimeout(r, action.ms));
        if (req.socket.destroyed) return;
        forward(req, res, entry);
        return;
      default:
        forward(req, res, entry);
    }
  };

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (server) return resolve();
      const s = createServer((req, res) => {
        handle(req, res).catch(() => req.socket.destroy());
      });
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      s.keepAliveTimeout = 2_000;
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        port = typeof address === 'object' && address ? address.port : port;
        s.unref();
        server = s;
        resolve();
      });
    });

  await listen();
  return {
    get endpoint() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    setRule(next) {
      currentRule = next;
    },
    setTarget(next) {
      upstream = new URL(next);
    },
    log,
    listening: () => server !== undefined,
    listen,
    stop: stopListening,
  };
}
