import { randomBytes } from 'crypto';
import { ApiRequest, FakeVaultApiOptions } from './fake-vault-api';
import { FakeVaultWithLogin } from './fake-vault-login';
import { Answer, base62, InitAnswer, VaultSeal } from './fake-vault-seal';

// A stateful stand-in for a Vault from its first start: uninitialized, then initialized (sealed), unsealed, configured
// with the root token, its root tokens revoked, restarted, a root generated again from the shares. The seal lifecycle
// is fake-vault-seal.ts's; the configuration API, Kubernetes-auth logins and the ACL (with `sudo` on Vault's root
// paths) are fake-vault-login.ts's. Tokens follow vault/token_store.go: the root token from init and each one from
// sys/generate-root carry the `root` policy and no TTL and pass every check (acl.go: a root ACL allows all, sudo
// included); `auth/token/lookup-self` answers 403 for a token the store does not hold, `auth/token/revoke-self`
// answers 204 and the token is gone. A sealed (or uninitialized) Vault answers 503 to every call that needs a token,
// revoke-self included. Audit devices follow vault/logical_system.go and vault/audit.go (a root path: `sudo`; a path
// that is a prefix of a used one, or the reverse, 400 "path already in use"); only the file device is modelled,
// with its required file_path (builtin/audit/file: "stdout" writes to Vault's standard output). Tokens, configuration
// and audit devices are storage: a restart keeps them. 127.0.0.1 only, on a free port (LoopbackServer).

export interface FakeVaultLifecycleOptions extends Partial<Omit<FakeVaultApiOptions, 'sealed'>> {
  /**
   * Initialized at start, as a human's `vault operator init` would leave it: sealed, its shares in `sharesIssued`
   * and its root token valid.
   * @default uninitialized
   */
  readonly initialized?: { readonly shares: number; readonly threshold: number };
}

/** An audit device as `GET sys/audit` lists it, under its path with a trailing slash. */
export interface AuditDevice {
  readonly type: string;
  readonly description: string;
  readonly options: Record<string, string>;
  readonly local: boolean;
  readonly path: string;
}

interface RootToken { readonly accessor: string; readonly createdAt: number; readonly expiresAt?: number }

interface Fault { readonly method: string; readonly path: RegExp; readonly status: number; remaining: number }

export class FakeVaultLifecycle extends FakeVaultWithLogin {
  /** By path with its trailing slash, as `GET sys/audit` answers them. */
  public readonly auditDevices: Record<string, AuditDevice> = {};
  private readonly seal: VaultSeal;
  private readonly rootTokens = new Map<string, RootToken>();
  private readonly faults: Fault[] = [];
  private readonly stalls: Array<{ readonly method: string; readonly path: RegExp; readonly ms: number }> = [];
  private initAnswer?: InitAnswer;
  /** Every root token minted (init's, generate-root's), revoked or not. */
  public readonly rootTokensIssued: string[] = [];

  /**
   * `options.token` is the stand-in's own admin credential, for `byHand` only (random by default): it is no Vault
   * token, is never listed by `rootTokensValid` and is not subject to `failNext`.
   */
  constructor(options: FakeVaultLifecycleOptions = {}) {
    super({ ...options, token: options.token ?? `stand-in-admin.${randomBytes(12).toString('hex')}`, sealed: true });
    this.seal = new VaultSeal(this, () => this.mintRoot());
    if (options.initialized) {
      const [status, answer] = this.seal.init({ secret_shares: options.initialized.shares, secret_threshold: options.initialized.threshold });
      if (status !== 200) throw new Error(`initialized: ${JSON.stringify(answer)}`);
      this.initAnswer = answer as InitAnswer;
    }
  }

  get initialized(): boolean {
    return this.seal.config !== undefined;
  }

  /** The shares init issued, hex, in order (empty before init). */
  get sharesIssued(): string[] {
    return this.initAnswer?.keys ?? [];
  }

  /** The answer of the one successful `sys/init` (or of the `initialized` option). */
  get initAnswered(): InitAnswer | undefined {
    return this.initAnswer;
  }

  /** Every token Vault would accept whose policies include root: init's, generate-root's, and any client's with root. */
  rootTokensValid(): string[] {
    for (const [token, entry] of this.rootTokens) if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) this.rootTokens.delete(token);
    const clients = [...this.clients].filter(([, c]) => c.policies.includes('root')).map(([token]) => token);
    return [...this.rootTokens.keys(), ...clients];
  }

  /**
   * The next `times` requests with this method whose path after /v1/ matches `path` are answered `status` (before
   * any other check), as a Vault failing a write would.
   */
  failNext(method: string, path: RegExp, status: number, times = 1): this {
    this.faults.push({ method: method.toUpperCase(), path, status, remaining: times });
    return this;
  }

  /**
   * The next request with this method whose path after /v1/ matches `path` is answered `ms` late, as a Vault slow to
   * answer (its storage busy): the request takes effect at once, whether or not the client waits for the answer.
   */
  stallNext(method: string, path: RegExp, ms: number): this {
    this.stalls.push({ method: method.toUpperCase(), path, ms });
    return this;
  }

  protected answerDelayMs(r: ApiRequest): number {
    const path = r.path.replace(/^\/v1\//, '');
    const stall = this.stalls.findIndex((st) => st.method === r.method && st.path.test(path));
    return stall < 0 ? 0 : this.stalls.splice(stall, 1)[0].ms;
  }

  /** Vault restarted: sealed again, attempts in memory (unseal, root generation) gone; storage kept. */
  restart(): void {
    this.seal.restart();
  }

  protected answer(r: ApiRequest): Answer {
    const path = r.path.replace(/^\/v1\//, '');
    const admin = r.token === this.options.token;
    const fault = admin ? undefined : this.faults.find((f) => f.remaining > 0 && f.method === r.method && f.path.test(path));
    if (fault) {
      fault.remaining -= 1;
      return [fault.status, { errors: [`injected by the test: ${fault.status}`] }];
    }
    const open = this.unauthenticated(path, r);
    if (open) return open;
    if (this.sealed) return [503, { errors: ['Vault is sealed'] }];
    for (const [token, entry] of this.rootTokens) if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) this.rootTokens.delete(token);
    const root = r.token !== undefined && this.rootTokens.has(r.token);
    if (root && path === 'auth/token/create-orphan' && (r.method === 'POST' || r.method === 'PUT')) return this.createOrphan(r.body);
    if (path === 'auth/token/revoke-self' && (r.method === 'POST' || r.method === 'PUT')) {
      if (r.token === undefined || !(this.rootTokens.delete(r.token) || this.clients.delete(r.token))) return [403, { errors: ['permission denied'] }];
      return [204];
    }
    if (root && path === 'auth/token/lookup-self' && (r.method === 'GET' || r.method === 'POST')) return this.lookupRoot(r.token!);
    if (root || admin) return this.audit(path, r) ?? this.kvWrite(path, r) ?? super.answer({ ...r, token: this.options.token });
    return super.answer(r);
  }

  /** A client token's request its policies allow (sudo included): audit devices here, the rest as before. */
  protected authorized(r: ApiRequest): Answer {
    const path = r.path.replace(/^\/v1\//, '');
    return this.audit(path, r) ?? this.kvWrite(path, r) ?? super.authorized(r);
  }

  /** The endpoints Vault serves without a token: init, seal status, health, unseal, root generation. */
  private unauthenticated(path: string, r: ApiRequest): Answer | undefined {
    if (path === 'sys/init') {
      if (r.method === 'GET') return [200, { initialized: this.initialized }];
      if (r.method !== 'PUT' && r.method !== 'POST') return [405, { errors: [] }];
      const answer = this.seal.init(r.body);
      if (answer[0] === 200) this.initAnswer = answer[1] as InitAnswer;
      return answer;
    }
    if (path === 'sys/seal-status' && r.method === 'GET') return this.seal.sealStatus();
    if (path === 'sys/health' && r.method === 'GET') return this.seal.health(r.query);
    if (path === 'sys/unseal' && (r.method === 'PUT' || r.method === 'POST')) return this.seal.unseal(r.body);
    const generate = path.match(/^sys\/generate-root\/(attempt|update)$/);
    if (generate) return this.seal.generateRoot(r.method, generate[1], r.body);
    return undefined;
  }

  private mintRoot(): string {
    const token = `hvs.${base62(24)}`;
    this.rootTokensIssued.push(token);
    this.rootTokens.set(token, { accessor: base62(24), createdAt: Math.floor(Date.now() / 1000) });
    return token;
  }

  /**
   * `auth/token/create-orphan` by a root token (vault/token_store.go handleCreateOrphan: sudo, which root has; a token
   * with the root policy only from a root token): an orphan, so revoking its creator leaves it; with `explicit_max_ttl`
   * it expires on its own. Only root-policy tokens are modelled here (others are the login's client tokens).
   */
  private createOrphan(body: any): Answer {
    const policies: string[] = Array.isArray(body?.policies) ? body.policies : [];
    if (!policies.includes('root')) return [400, { errors: ['the stand-in models orphan tokens with the root policy only'] }];
    const seconds = Number(String(body?.explicit_max_ttl ?? body?.ttl ?? '0').replace(/s$/, ''));
    const token = this.mintRoot();
    const entry = this.rootTokens.get(token)!;
    if (seconds > 0) this.rootTokens.set(token, { ...entry, expiresAt: Date.now() + seconds * 1000 });
    return [200, { auth: { client_token: token, accessor: entry.accessor, policies: ['root'], token_policies: ['root'], lease_duration: seconds, renewable: false, orphan: true } }];
  }

  /** lookup-self of a root token, as the token store answers it. */
  private lookupRoot(token: string): Answer {
    const entry = this.rootTokens.get(token)!;
    const ttl = entry.expiresAt === undefined ? 0 : Math.max(0, Math.round((entry.expiresAt - Date.now()) / 1000));
    return [200, { data: {
      accessor: entry.accessor, creation_time: entry.createdAt, creation_ttl: ttl, display_name: 'root', entity_id: '', expire_time: null,
      explicit_max_ttl: ttl, id: token, meta: null, num_uses: 0, orphan: true, path: 'auth/token/root', policies: ['root'], ttl, type: 'service',
    } }];
  }

  /** A KV v2 write (`<mount>/data/<key>` with `data`), for a request already authorized: a new version, the fields replaced. */
  private kvWrite(path: string, r: ApiRequest): Answer | undefined {
    if (r.method !== 'POST' && r.method !== 'PUT') return undefined;
    const mount = Object.keys(this.kv).find((m) => path.startsWith(`${m}/data/`));
    if (mount === undefined) return undefined;
    if (!r.body?.data || typeof r.body.data !== 'object') return [400, { errors: ['no data provided'] }];
    const key = path.slice(mount.length + '/data/'.length);
    this.kv[mount][key] = { ...this.kv[mount][key], data: r.body.data };
    return [200, { data: { created_time: new Date().toISOString(), deletion_time: '', destroyed: false, version: 1 } }];
  }

  /** sys/audit and sys/audit/<path>, for a request already authorized; undefined for any other path. */
  private audit(path: string, r: ApiRequest): Answer | undefined {
    if (path === 'sys/audit') {
      if (r.method !== 'GET') return [405, { errors: ['unsupported operation'] }];
      return [200, { ...this.auditDevices, data: { ...this.auditDevices } }];
    }
    const device = path.match(/^sys\/audit\/(.+)$/);
    if (!device) return undefined;
    const key = `${device[1].replace(/\/+$/, '')}/`;
    if (r.method === 'DELETE') {
      delete this.auditDevices[key];
      return [204];
    }
    if (r.method !== 'PUT' && r.method !== 'POST') return [405, { errors: ['unsupported operation'] }];
    if (Object.keys(this.auditDevices).some((used) => used.startsWith(key) || key.startsWith(used))) return [400, { errors: ['path already in use'] }];
    const type = r.body?.type;
    if (type !== 'file') return [400, { errors: [`the stand-in models the file audit device only, not ${JSON.stringify(type)}`] }];
    const options: Record<string, string> = Object.fromEntries(Object.entries(r.body?.options ?? {}).map(([k, v]) => [k, String(v)]));
    if (!options.file_path) return [400, { errors: ['file_path is required'] }];
    this.auditDevices[key] = { type, description: String(r.body?.description ?? ''), options, local: r.body?.local === true, path: key };
    return [204];
  }
}
