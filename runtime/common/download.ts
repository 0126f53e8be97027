import { needsHuman, notYet } from './failure';
import * as http from 'http';
import * as https from 'https';
import { Transform, Writable } from 'stream';
import { pipeline } from 'stream/promises';
import { MAX_BODY_BYTES } from './http';
import { SOME_SERVER, tlsOnlyProblem, tlsProblem, TlsPeer } from './tls';

// A GET whose body is streamed into a sink instead of held in memory (request() in http.ts caps bodies at 256 KB):
// for a Raft snapshot, which may be a GiB. The body flows at the pace the sink takes it (backpressure), so memory
// stays a few chunks whatever the size. Like request(), every call settles: with the answer, an error, a stall or
// its deadline.

export interface DownloadOptions {
  readonly headers?: Record<string, string>;
  /** PEM certificates to trust for https, in place of the default roots. */
  readonly ca?: string;
  /** Who answers, as a failed handshake's message names it and what to check. */
  readonly peer?: TlsPeer;
  /** How the call is named in errors, such as "GET /v1/sys/storage/raft/snapshot". */
  readonly name: string;
  /** The deadline of the whole transfer: connect, headers and the last byte of the body. */
  readonly deadlineMs: number;
  /**
   * The longest pause between two bytes of the body: a stalled server fails the call long before its deadline. Until
   * the answer begins only the deadline applies (Vault writes a whole snapshot to its own temporary file first).
   */
  readonly stallMs: number;
  /** Receives a 2xx answer's body; the call resolves once the sink has finished (its final callback included). */
  readonly sink: () => Writable;
}

export type Downloaded =
  /** A 2xx answer, its body written to the sink whole: `bytes` received, matching Content-Length when one was sent. */
  | { readonly ok: true; readonly status: number; readonly bytes: number }
  /** Any other status: the sink was never created; `json` is the (small) body parsed as JSON, if it is JSON. */
  | { readonly ok: false; readonly status: number; readonly json: any };

export function download(url: string, options: DownloadOptions): Promise<Downloaded> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (outcome: { answer: Downloaded } | { error: Error }) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(stall);
      if ('answer' in outcome) resolve(outcome.answer);
      else {
        req.destroy();
        reject(outcome.error);
      }
    };
    const fail = (why: string) => settle({ error: notYet(`${options.name} ${why}`) });
    const req = client.request(target, { method: 'GET', headers: { ...options.headers }, ca: options.ca, agent: false });
    const deadline = setTimeout(() => fail(`did not finish within ${options.deadlineMs / 1000} s`), options.deadlineMs);
    let stall: NodeJS.Timeout | undefined;
    const alive = () => {
      clearTimeout(stall);
      stall = setTimeout(() => fail(`stalled: no data for ${options.stallMs / 1000} s`), options.stallMs);
    };
    req.on('error', (error: NodeJS.ErrnoException) => {
      const tls = tlsProblem(error, target, options.peer ?? SOME_SERVER);
      if (tls) settle({ error: needsHuman(`${options.name}: ${tls}`) });
      else fail(`failed: ${error.code ?? error.message}`);
    });
    req.on('upgrade', (res) => fail(`answered HTTP ${res.statusCode} (switching protocols): not an HTTP API answer`));
    // Once the answer has begun, a close before its end is the body's error, which the pipeline below reports.
    let answered = false;
    req.on('close', () => { if (!answered) fail('failed: the connection closed before the answer came'); });
    req.on('response', (res) => {
      answered = true;
      const status = res.statusCode ?? 0;
      alive();
      // The sink's last steps (flush to disk) may take a while with no byte flowing: not a stall.
      res.on('end', () => clearTimeout(stall));
      if (status < 200 || status > 299) {
        let raw = '';
        res.on('data', (chunk: Buffer) => {
          alive();
          raw += chunk;
          if (raw.length > MAX_BODY_BYTES) fail(`answered HTTP ${status} with more than ${MAX_BODY_BYTES / 1024} KB: not Vault's error`);
        });
        res.on('end', () => {
          const tls = tlsOnlyProblem(target, status, raw, options.peer ?? SOME_SERVER);
          if (tls) return settle({ error: needsHuman(`${options.name}: ${tls}`) });
          let json: any;
          try { json = JSON.parse(raw); } catch { json = undefined; }
          settle({ answer: { ok: false, status, json } });
        });
        res.on('error', () => fail('failed: the connection closed before the answer was complete'));
        return;
      }
      const declared = res.headers['content-length'];
      const expected = declared === undefined ? undefined : Number(declared);
      let bytes = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          alive();
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      // The sink's own errors (a full disk, a body that is not what it expects) end the call with its message.
      pipeline(res, counter, options.sink()).then(() => {
        if (!res.complete) return fail('failed: the connection closed before the body was complete');
        if (expected !== undefined && bytes !== expected) return fail(`sent ${bytes} bytes where its Content-Length said ${expected}`);
        settle({ answer: { ok: true, status, bytes } });
      }, (error: NodeJS.ErrnoException) => {
        if (error.code === 'ERR_STREAM_PREMATURE_CLOSE' || error.code === 'ECONNRESET' || error.message === 'aborted') {
          return fail(`failed: the connection closed after ${bytes} bytes, before the body was complete`);
        }
        settle({ error });
      });
    });
    req.end();
  });
}
