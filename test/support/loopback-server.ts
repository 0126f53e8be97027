import * as http from 'http';
import { AddressInfo } from 'net';

/** A stand-in HTTP server on 127.0.0.1, started and stopped by the test; subclasses answer the requests. */
export abstract class LoopbackServer {
  /** When the server started listening (ms since the epoch). */
  public listeningAt = 0;
  private server!: http.Server;

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Listens on `port` (0: any free one). */
  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.listeningAt = Date.now();
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): void;
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
