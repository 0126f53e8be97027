import { needsHuman, notYet } from './failure';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import { Lookup } from './io';
import { SOME_SERVER, tlsOnlyProblem, tlsProblem, TlsPeer } from './tls';

// Every call settles: with an answer, an error or its deadline. A promise that never settles would let Node's event
// loop empty and the process exit 0 with nothing done, so each way a connection can end is an outcome here.

/** The most a call reads: Vault's and the API's answers here are a few KB, and the pod's memory limit is small. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface HttpResponse {
  readonly status: number;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: any;
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** The deadline of the whole call: connect, headers and body. */
  readonly timeoutMs: number;
  /** PEM certificates to trust for https, in place of the default roots (Vault's CA, the cluster's CA). */
  readonly ca?: string;
  /** Who answers, as a failed handshake's message names it and what to check. */
  readonly peer?: TlsPeer;
  /** How the call is named in errors, such as "GET /v1/sys/seal-status". */
  readonly name: string;
  /** A larger answer fails the call. */
  readonly maxBodyBytes?: number;
  /** Resolves the host's name; dns.lookup when absent. */
  readonly lookup?: Lookup;
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
  const maxBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: { answer: HttpResponse } | { error: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if ('answer' in outcome) resolve(outcome.answer);
      else {
        reject(outcome.error);
        req.destroy();
      }
    };
    const fail = (why: string) => settle({ error: notYet(`${options.name} ${why}`) });
    const req = client.request(target, { method: options.method ?? 'GET', headers, ca: options.ca, agent: false, lookup: options.lookup });
    const timer = setTimeout(() => fail(`got no answer within ${options.timeoutMs / 1000} s`), options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      const tls = tlsProblem(error, target, options.peer ?? SOME_SERVER);
      if (tls) settle({ error: needsHuman(`${options.name}: ${tls}`) });
      else fail(`failed: ${error.code ?? error.message}`);
    });
    // Node hands a 101 answer to 'upgrade' listeners and emits no 'response': without this the call would never settle.
    req.on('upgrade', (res) => fail(`answered HTTP ${res.statusCode} (switching protocols): not an HTTP API answer`));
    // A clean close (FIN) after the headers or part of the body emits no error: only 'close' tells.
    const closedEarly = () => fail('failed: the connection closed before the answer was complete');
    req.on('close', closedEarly);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return fail(`answered with more than ${maxBytes / 1024} KB: not the expected answer`);
        chunks.push(chunk);
      });
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const tls = tlsOnlyProblem(target, res.statusCode ?? 0, text, options.peer ?? SOME_SERVER);
        if (tls) return settle({ error: needsHuman(`${options.name}: ${tls}`) });
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        settle({ answer: { status: res.statusCode ?? 0, json } });
      });
      res.on('error', closedEarly);
      res.on('close', closedEarly);
    });
    req.end(body);
  });
}

/** A short description of an answer that is not what was expected, without echoing its body. */
export function describeAnswer(response: HttpResponse): string {
  const body = response.json === undefined ? 'a body that is not JSON' : 'JSON of another shape';
  return `HTTP ${response.status} with ${body}`;
}

/**
 * Resolves when a TCP connection to the URL's host and port opens within the timeout; rejects with the reason. The
 * host's name is resolved by `lookup`, dns.lookup when absent.
 */
export function checkPort(url: string, timeoutMs: number, lookup?: Lookup): Promise<void> {
  const target = new URL(url);
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, lookup });
    const done = (error?: Error) => {
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(notYet(`port ${host}:${port} did not answer within ${timeoutMs / 1000} s`)));
    socket.once('connect', () => done());
    socket.once('error', (error: NodeJS.ErrnoException) => done(notYet(`port ${host}:${port} is unreachable: ${error.code ?? error.message}`)));
  });
}
