/**
 * A forward HTTP proxy on 127.0.0.1 for tests, as a corporate proxy in front of AWS behaves: `CONNECT host:port`
 * opens a TCP tunnel (the TLS session runs end to end through it; the proxy sees only encrypted bytes), and an
 * absolute-URI request (`GET http://host:port/path`) is forwarded as plain HTTP. With `credentials` it demands
 * `Proxy-Authorization: Basic …` and answers 407 otherwise, as Squid with basic auth does. Every request is recorded
 * (method, target, whether it was authorised) so a test can prove which traffic went through it.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

/** One request the proxy saw. */
export interface ProxiedRequest {
  /** `CONNECT` for a tunnel, else the HTTP method of an absolute-URI request. */
  method: string;
  /** `host:port` of a tunnel, or the absolute URI. */
  target: string;
  /** Whether it carried the expected `Proxy-Authorization` (always true when the proxy asks for none). */
  authorised: boolean;
}

/** A running proxy. */
export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` (without credentials). */
  url: string;
  port: number;
  requests: ProxiedRequest[];
  stop(): Promise<void>;
}

/**
 * Starts the proxy on a free loopback port.
 * @param options.credentials user and password the proxy demands (Basic); default none.
 */
export async function startForwardProxy(options: { credentials?: { user: string; password: string } } = {}): Promise<ForwardProxy> {
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const expected = options.credentials ? `Basic ${Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString('base64')}` : undefined;
  const authorised = (req: IncomingMessage) => expected === undefined || req.headers['proxy-authorization'] === expected;
  const server: Server = createServer((req, res) => {
    const ok = authorised(req);
    requests.push({ method: req.method ?? '', target: req.url ?? '', authorised: ok });
    if (!ok) {
      res.writeHead(407, { 'Proxy-Authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const url = new URL(req.url ?? '');
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest({ host: url.hostname, port: url.port || 80, method: req.method, path: `${url.pathname}${url.search}`, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const ok = authorised(req);
    requests.push({ method: 'CONNECT', target: req.url ?? '', authorised: ok });
    if (!ok) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
    const upstream = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
