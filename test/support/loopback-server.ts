import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { AddressInfo } from 'net';

/** A serving certificate and its key, PEM (test-certificate.ts makes them). */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * What Go's net/http writes, and then closes, when the first bytes on a TLS listener are a plain HTTP request
 * (net/http/server.go, `tlsRecordHeaderLooksLikeHTTP`): Vault's listener is Go's. Node's own TLS server only closes.
 */
export const GO_PLAIN_ON_TLS_ANSWER = 'HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';
const LOOKS_LIKE_HTTP = ['GET /', 'HEAD ', 'POST ', 'PUT /', 'OPTIO'];

/** A stand-in HTTP server on 127.0.0.1, started and stopped by the test; subclasses answer the requests. */
export abstract class LoopbackServer {
  /** When the server started listening (ms since the epoch). */
  public listeningAt = 0;
  private server!: http.Server;
  /** With TLS: the listener clients reach, which hands TLS to `server` and answers a plain request as Go does. */
  private front?: net.Server;
  private readonly frontSockets = new Set<net.Socket>();
  private tls?: ServerTls;

  get port(): number {
    return ((this.front ?? this.server).address() as AddressInfo).port;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /** Serves https with this certificate from `start` on, as Vault's TLS listener does. */
  withTls(tls: ServerTls): this {
    this.tls = tls;
    return this;
  }

  /** Listens on `port` (0: any free one). */
  async start(port = 0): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => this.handle(req, res);
    this.server = this.tls ? https.createServer({ cert: this.tls.cert, key: this.tls.key }, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => this.server.listen(this.tls ? 0 : port, '127.0.0.1', resolve));
    if (this.tls) {
      this.front = net.createServer((socket) => this.frontConnection(socket));
      await new Promise<void>((resolve) => this.front!.listen(port, '127.0.0.1', resolve));
    }
    this.listeningAt = Date.now();
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.frontSockets) socket.destroy();
    if (this.front?.listening) await new Promise<void>((resolve) => this.front!.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void;

  /** A TLS client is passed through to the https server; a plain request is answered as Go answers it. */
  private frontConnection(socket: net.Socket): void {
    const track = (s: net.Socket) => {
      this.frontSockets.add(s);
      s.on('close', () => this.frontSockets.delete(s));
      s.on('error', () => undefined);
    };
    track(socket);
    socket.once('data', (first: Buffer) => {
      if (LOOKS_LIKE_HTTP.includes(first.subarray(0, 5).toString('latin1'))) {
        socket.end(GO_PLAIN_ON_TLS_ANSWER);
        return;
      }
      const inner = net.connect((this.server.address() as AddressInfo).port, '127.0.0.1');
      track(inner);
      inner.write(first);
      socket.pipe(inner).pipe(socket);
      socket.on('close', () => inner.destroy());
      inner.on('close', () => socket.destroy());
    });
  }
}

/** Calls `then` with the request's body, parsed as JSON when it is JSON, else as the raw text. */
export function readBody(req: http.IncomingMessage, then: (body: any) => void): void {
  let raw = '';
  req.on('data', (c) => { raw += c; });
  req.on('end', () => {
    let body: any;
    try { body = raw ? JSON.parse(raw) : undefined; } catch { body = raw; }
    then(body);
  });
}

/**
 * Answers with `status` and `json` (no body when `json` is undefined), after `delayMs` when given: a stand-in's slow
 * server. The delay applies to the answer only; the request has already been recorded.
 */
export function send(res: http.ServerResponse, status: number, json?: unknown, delayMs = 0): void {
  const answer = () => {
    res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' });
    res.end(json === undefined ? undefined : JSON.stringify(json));
  };
  if (delayMs > 0) setTimeout(answer, delayMs);
  else answer();
}
