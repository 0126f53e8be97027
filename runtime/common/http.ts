import * as http from 'http';
import * as https from 'https';
import * as net from 'net';

// Every call has one deadline covering connect, headers and body: a Vault whose volume is still reattaching can accept
// connections and then hang at the HTTP layer.

export interface HttpResponse {
  readonly status: number;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly timeoutMs: number;
  /** PEM certificates to trust for https (the cluster's CA). */
  readonly ca?: string;
  /** How the call is named in errors, such as "GET /v1/sys/seal-status". */
  readonly name: string;
}

export function request(url: string, options: RequestOptions): Promise<HttpResponse> {
  const target = new URL(url);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (body !== undefined) {
    headers['content-type'] = headers['content-type'] ?? 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, { method: options.method ?? 'GET', headers, ca: options.ca, agent: false });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${options.name} got no answer within ${options.timeoutMs / 1000} s`));
    }, options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code ? new Error(`${options.name} failed: ${error.code}`) : error);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', () => undefined); // reported through req's error, with the deadline's message
      res.on('end', () => {
        clearTimeout(timer);
        let json: any;
        try {
          json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.end(body);
  });
}

/** Resolves when a TCP connection to the URL's host and port opens within the timeout; rejects with the reason. */
export function checkPort(url: string, timeoutMs: number): Promise<void> {
  const target = new URL(url);
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const done = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`port ${host}:${port} did not answer within ${timeoutMs / 1000} s`)));
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(new Error(`port ${host}:${port} is unreachable: ${error.code ?? error.message}`)));
  });
}
