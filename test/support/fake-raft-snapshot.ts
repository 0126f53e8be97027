import { createHash, randomBytes } from 'crypto';
import { once } from 'events';
import * as http from 'http';
import { createGzip } from 'zlib';
import { LoopbackServer, readBody } from './loopback-server';

// A loopback stand-in for the two calls of the snapshot script, answering as free Vault does: Kubernetes auth's
// login (vault-plugin-auth-kubernetes: 400 for an unknown role, 403 when the token review refuses the JWT) and GET
// sys/storage/raft/snapshot (vault/logical_system_raft.go and physical/raft: a gzip stream written as it is read, with
// no Content-Length; 400 "raft storage is not in use" on other storage; 403 without read on the path; 503 sealed).
// The snapshot is a real one in raft-snapshot's format (archive.go): a gzipped tar of meta.json, state.bin and
// SHA256SUMS, generated on the fly so that a GiB costs no memory. Ways to fail mid-answer are options.

const BLOCK = 512;

/** A ustar header for a regular file, as Go's archive/tar writes one. */
export function tarHeader(name: string, size: number, type = '0'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write('0000600\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(Date.UTC(2026, 10, 27) / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const pad = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

export interface SnapshotShape {
  /** The bytes of state.bin. */
  readonly dataBytes: number;
  /** Write a wrong SHA-256 for state.bin into SHA256SUMS. */
  readonly badSum?: boolean;
  /** Leave SHA256SUMS out. */
  readonly noSums?: boolean;
  /** Leave SHA256SUMS.sealed out (Vault always writes it; its client refuses an archive without it). */
  readonly noSealedSums?: boolean;
  /** An extra file Vault never writes. */
  readonly extraFile?: string;
  /** gzip level: 0 (stored) generates a GiB quickly; Vault's data is encrypted and barely compresses anyway. */
  readonly level?: number;
}

/** Writes a snapshot archive to `out` (a gzip stream), honouring backpressure; resolves when all is written. */
export async function writeSnapshot(out: NodeJS.WritableStream, shape: SnapshotShape): Promise<void> {
  const put = async (chunk: Buffer) => {
    if (!out.write(chunk)) await once(out as any, 'drain');
  };
  const meta = Buffer.from(`${JSON.stringify({ Version: 1, ID: '3-120-1764201600000', Index: 120, Term: 3, Peers: null, Configuration: { Servers: [] }, ConfigurationIndex: 1, Size: shape.dataBytes })}\n`);
  const sums = new Map<string, string>([['meta.json', createHash('sha256').update(meta).digest('hex')]]);
  await put(tarHeader('meta.json', meta.length));
  await put(meta);
  await put(pad(meta.length));
  await put(tarHeader('state.bin', shape.dataBytes));
  const block = randomBytes(64 * 1024);
  const hash = createHash('sha256');
  for (let left = shape.dataBytes; left > 0;) {
    const part = left >= block.length ? block : block.subarray(0, left);
    hash.update(part);
    await put(part);
    left -= part.length;
  }
  await put(pad(shape.dataBytes));
  sums.set('state.bin', shape.badSum ? '0'.repeat(64) : hash.digest('hex'));
  if (shape.extraFile) {
    await put(tarHeader(shape.extraFile, 2));
    await put(Buffer.concat([Buffer.from('{}'), pad(2)]));
  }
  if (!shape.noSums) {
    const text = Buffer.from([...sums].map(([file, sum]) => `${sum}  ${file}\n`).join(''));
    await put(tarHeader('SHA256SUMS', text.length));
    await put(text);
    await put(pad(text.length));
  }
  if (!shape.noSealedSums) {
    // The sums sealed by Vault's barrier: opaque bytes to anyone but Vault.
    const sealed = randomBytes(97);
    await put(tarHeader('SHA256SUMS.sealed', sealed.length));
    await put(Buffer.concat([sealed, pad(sealed.length)]));
  }
  await put(Buffer.alloc(2 * BLOCK));
}

/** How the snapshot answer goes wrong, or not. */
export type SnapshotBody =
  | 'ok'
  /** The connection is cut after `cutAfterBytes` of the body. */
  | 'cut'
  /** A chunked answer that ends cleanly after `cutAfterBytes`: the gzip stream is incomplete. */
  | 'clean-end-early'
  /** Sends `cutAfterBytes`, then nothing more, keeping the connection open. */
  | 'stall'
  /** A Content-Length larger than the body, then the end of the connection. */
  | 'long-content-length'
  /** A 200 with an HTML page (a proxy's login page). */
  | 'html';

export interface FakeRaftSnapshotOptions {
  /** The service account token that logs in. */
  readonly jwt: string;
  /** The role that binds it. */
  readonly role?: string;
  readonly mount?: string;
  readonly sealed?: boolean;
  /** The storage is not Raft: the snapshot answers 400. */
  readonly fileStorage?: boolean;
  /** The login's token lacks read on sys/storage/raft/snapshot. */
  readonly denySnapshot?: boolean;
  readonly shape?: SnapshotShape;
  readonly body?: SnapshotBody;
  readonly cutAfterBytes?: number;
  /** Pauses this long between chunks of `chunkBytes` (a slow but steady server). */
  readonly chunkDelayMs?: number;
  readonly chunkBytes?: number;
  /** Answers after this pause, as Vault does once it has written the whole snapshot to its own temporary file. */
  readonly firstByteDelayMs?: number;
}

export class FakeRaftSnapshot extends LoopbackServer {
  public readonly requests: Array<{ method: string; path: string; token?: string; body?: any }> = [];
  /** Body bytes sent by the last snapshot answer. */
  public sentBytes = 0;
  public readonly token = `hvs.${randomBytes(12).toString('hex')}`;
  /** Sealed: every call answers 503. Starts as the option says; a test may unseal it mid-run. */
  public sealed: boolean;

  constructor(private readonly options: FakeRaftSnapshotOptions) {
    super();
    this.sealed = options.sealed ?? false;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      const path = (req.url ?? '').split('?')[0];
      const token = req.headers['x-vault-token'] as string | undefined;
      this.requests.push({ method: req.method ?? '', path, token, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const o = this.options;
      if (this.sealed) return json(503, { errors: ['Vault is sealed'] });
      if (req.method === 'POST' && path === `/v1/auth/${o.mount ?? 'kubernetes'}/login`) {
        if (body?.role !== (o.role ?? 'vault-raft-snapshot')) return json(400, { errors: [`invalid role name "${body?.role}"`] });
        if (body?.jwt !== o.jwt) return json(403, { errors: ['permission denied'] });
        return json(200, { auth: { client_token: this.token, policies: ['vault-raft-snapshot'], lease_duration: 900 } });
      }
      if (req.method === 'POST' && path === '/v1/auth/token/revoke-self') return token === this.token ? json(204, {}) : json(403, { errors: ['permission denied'] });
      if (req.method === 'GET' && path === '/v1/sys/storage/raft/snapshot') {
        if (token !== this.token || o.denySnapshot) return json(403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] });
        if (o.fileStorage) return json(400, { errors: ['raft storage is not in use'] });
        if (o.firstByteDelayMs) return void setTimeout(() => this.snapshot(res), o.firstByteDelayMs);
        return void this.snapshot(res);
      }
      json(404, { errors: [] });
    });
  }

  private snapshot(res: http.ServerResponse): void {
    const o = this.options;
    const mode = o.body ?? 'ok';
    this.sentBytes = 0;
    if (mode === 'html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html><body>Sign in</body></html>');
    }
    const headers: Record<string, string> = { 'content-type': 'application/gzip', 'content-disposition': 'attachment' };
    if (mode === 'long-content-length') headers['content-length'] = String(10 * 1024 * 1024 * 1024);
    res.writeHead(200, headers);
    const gzip = createGzip({ level: o.shape?.level ?? 1 });
    const limit = mode === 'ok' || mode === 'long-content-length' ? Infinity : o.cutAfterBytes ?? 4096;
    let stopped = false;
    const stop = () => {
      stopped = true;
      gzip.destroy();
      if (mode === 'cut') res.socket?.destroy();
      else if (mode === 'clean-end-early') res.end();
      // 'stall': keep the connection open and silent.
    };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const pump = async () => {
      for await (const chunk of gzip) {
        if (stopped) return;
        let rest = chunk as Buffer;
        while (rest.length > 0 && !stopped) {
          const step = o.chunkDelayMs ? Math.min(rest.length, o.chunkBytes ?? 1024) : rest.length;
          let part = rest.subarray(0, step);
          rest = rest.subarray(step);
          if (this.sentBytes + part.length >= limit) part = part.subarray(0, limit - this.sentBytes);
          this.sentBytes += part.length;
          if (!res.write(part)) await once(res, 'drain');
          if (this.sentBytes >= limit) return stop();
          if (o.chunkDelayMs) await sleep(o.chunkDelayMs);
        }
      }
      if (!stopped) {
        if (mode === 'long-content-length') res.socket?.end();
        else res.end();
      }
    };
    res.on('close', () => { stopped = true; gzip.destroy(); });
    pump().catch(() => undefined);
    writeSnapshot(gzip, o.shape ?? { dataBytes: 100 * 1024 }).then(() => gzip.end(), () => undefined);
  }
}
