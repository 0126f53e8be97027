import * as http from 'http';
import { AddressInfo } from 'net';
import { LoopbackServer, readBody } from './loopback-server';

/** A request the stand-in received. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly body: any;
}

export interface FakeVaultOptions {
  /** false: answers `initialized: false` (newer Vaults); 'http-400': the older HTTP 400 answer. */
  readonly initialized?: boolean | 'http-400';
  readonly sealed?: boolean;
  /** The shares of this Vault: a set of `threshold` of them unseals it; a set with any other share is rejected. */
  readonly shares?: string[];
  /** Shares someone else submitted before the run (unseal progress it did not make). */
  readonly progress?: string[];
  /** Every answer comes after this pause. */
  readonly delayMs?: number;
  /** The threshold of shares that unseals. */
  readonly threshold?: number;
  /** Every answer is this HTTP status with an error body. */
  readonly failWith?: number;
  /** Accepts connections and never answers. */
  readonly hang?: boolean;
  /** Listen on this port (for a port that opens in the middle of a run). */
  readonly port?: number;
  /**
   * A Raft node joining through retry_join: it reports `initialized: false` to this many seal-status requests (it has
   * not found the leader yet), then `initialized: true` while sealed, and takes the cluster's shares (vault/init.go
   * `Initialized` is true once `isRaftUnseal()`). Counted in requests, not time, so a slow machine sees both states.
   */
  readonly joinAfterRequests?: number;
  /** `storage_type` in seal-status. */
  readonly storageType?: string;
  /**
   * A Raft node that has just joined: the share completing a valid set is answered at once with sealed true, progress
   * 0, and the node turns unsealed this many ms later (vault/core.go unsealWithRaft unseals in a goroutine;
   * http/sys_seal.go answers with the seal status of that moment).
   */
  readonly backgroundUnsealMs?: number;
}

/**
 * A loopback stand-in for Vault's unauthenticated sys endpoints, answering as Vault does (api/sys_seal.go,
 * http/sys_health.go): seal-status, unseal with Shamir progress, and health's status codes.
 */
export class FakeVault extends LoopbackServer {
  public readonly received: Received[] = [];
  /** When the first request arrived (ms since the epoch; 0 before any). */
  public firstRequestAt = 0;
  public sealed: boolean;
  private readonly submitted: Set<string>;

  constructor(private readonly options: FakeVaultOptions = {}) {
    super();
    this.sealed = options.sealed ?? true;
    this.submitted = new Set(options.progress ?? []);
  }


  start(): Promise<this> {
    return super.start(this.options.port ?? 0);
  }

  private initialized(): boolean {
    const asked = this.received.filter((r) => r.path.startsWith('/v1/sys/seal-status')).length;
    if (this.options.joinAfterRequests !== undefined && asked <= this.options.joinAfterRequests) return false;
    return (this.options.initialized ?? true) === true;
  }

  private status() {
    const shares = this.options.shares ?? [];
    return {
      type: 'shamir', initialized: this.initialized(), sealed: this.sealed, t: this.options.threshold ?? 1, n: shares.length,
      progress: this.submitted.size, nonce: this.submitted.size ? 'nonce-1' : '', version: '2.0.4', build_date: '2026-10-01T00:00:00Z',
      migration: false, recovery_seal: false, storage_type: this.options.storageType ?? 'file',
    };
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.firstRequestAt ||= Date.now();
    readBody(req, (body) => {
      this.received.push({ method: req.method ?? '', path: req.url ?? '', body });
      if (this.options.hang) return;
      const send = (status: number, json: unknown) => {
        const answer = () => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (this.options.delayMs) setTimeout(answer, this.options.delayMs);
        else answer();
      };
      if (this.options.failWith) return send(this.options.failWith, { errors: ['internal error'] });
      const path = (req.url ?? '').split('?')[0];
      if (this.options.initialized === 'http-400' && path !== '/v1/sys/health') {
        return send(400, { errors: ['server is not yet initialized'] });
      }
      if (path === '/v1/sys/seal-status' && req.method === 'GET') return send(200, this.status());
      if (path === '/v1/sys/unseal' && req.method === 'PUT') return this.unseal(body, send);
      if (path === '/v1/sys/health' && req.method === 'GET') {
        const s = this.status();
        const code = !s.initialized ? 501 : s.sealed ? 503 : 200;
        return send(code, { initialized: s.initialized, sealed: s.sealed, standby: false });
      }
      send(404, { errors: [] });
    });
  }

  // As Vault's barrier does: a share alone is checked only for its encoding; the set is checked when it reaches the
  // threshold, and a bad set resets the progress. A share already submitted does not advance it.
  private unseal(body: any, send: (status: number, json: unknown) => void): void {
    if (!this.initialized() && this.options.initialized !== 'http-400') return send(400, { errors: ['Vault is not initialized'] });
    if (body?.reset === true) {
      this.submitted.clear();
      return send(200, this.status());
    }
    if (!this.sealed) return send(200, this.status());
    const key = body?.key;
    if (typeof key !== 'string' || !/^([0-9a-f]+|[A-Za-z0-9+/]+={0,2})$/.test(key)) {
      return send(400, { errors: ["'key' must be a valid hex or base64 string"] });
    }
    this.submitted.add(key);
    if (this.submitted.size < (this.options.threshold ?? 1)) return send(200, this.status());
    const valid = [...this.submitted].every((k) => (this.options.shares ?? []).includes(k));
    this.submitted.clear();
    if (!valid) return send(400, { errors: ['Unseal failed, invalid key'] });
    if (this.options.backgroundUnsealMs !== undefined) {
      setTimeout(() => { this.sealed = false; }, this.options.backgroundUnsealMs).unref();
      return send(200, this.status());
    }
    this.sealed = false;
    send(200, this.status());
  }
}

/** A loopback port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
