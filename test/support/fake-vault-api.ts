import * as http from 'http';
import { LoopbackServer, readBody, send } from './loopback-server';

// A stateful loopback stand-in for the parts of Vault's API that vault-setup uses, answering as Vault does (see
// ../shared/notes/reference.md, "Vault's configuration API" and "What ESO reads from Vault KV v2"): a mount made as
// kv-v2 reads back as kv + version "2", role TTLs read back as seconds, LIST is GET with ?list=true, absent policies
// and roles answer 404, mounting a used path 400, a wrong token 403 and a sealed Vault 503. The Kubernetes auth
// method follows vault-plugin-auth-kubernetes: a POST to the config rebuilds it from the request (path_config.go: a
// field not sent returns to its default, an unknown one is ignored with a warning, the reviewer JWT is never read
// back); a POST to a role merges, except the namespace selector, which every write takes from the request
// (path_role.go), and a role's audience is read back only when set. 127.0.0.1 only, on a free port.

export interface ApiRequest {
  readonly method: string;
  /** The decoded path, without the query, such as "/v1/sys/mounts/secret". */
  readonly path: string;
  readonly list: boolean;
  readonly query?: Record<string, string>;
  readonly body: any;
  readonly token?: string;
}

export interface MountEntry {
  type: string;
  options?: Record<string, string> | null;
}

/** One KV v2 secret: its fields (values included: the stand-in holds them so the CLI can prove it never prints one). */
export interface KvSecret {
  data: Record<string, unknown>;
  custom_metadata?: Record<string, string>;
}

export interface FakeVaultApiOptions {
  /** The token Vault accepts. */
  readonly token: string;
  readonly sealed?: boolean;
  /** Accepts connections, reads the request and never answers. */
  readonly hang?: boolean;
  /**
   * Raft storage: serves sys/storage/raft/autopilot/configuration as Vault does (vault/logical_system_raft.go): a
   * read returns every field, an update sets the fields given, and cleanup without a min_quorum of 3 is refused.
   * Without it the path answers 400 "raft storage is not in use".
   */
  readonly raft?: boolean;
  /**
   * Config fields of a newer auth plugin than this stand-in models, by name with their default: read back, and
   * rebuilt from each write like the others.
   */
  readonly newerConfigFields?: Record<string, unknown>;
}

/** The config's fields and their defaults, as path_config.go declares them; `token_reviewer_jwt` is write-only. */
const CONFIG_FIELDS: Record<string, unknown> = {
  kubernetes_host: '', kubernetes_ca_cert: '', token_reviewer_jwt: '', pem_keys: [], issuer: '', disable_iss_validation: true,
  disable_local_ca_jwt: false, use_annotations_as_alias_metadata: false,
};

const PEM_BLOCK = /-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Vault parses a TTL given as seconds or as a duration ("1h"), and stores seconds. */
function seconds(value: unknown): number {
  if (typeof value === 'number') return value;
  const text = String(value ?? '0');
  if (/^\d+$/.test(text)) return Number(text);
  return [...text.matchAll(/(\d+)([smhd])/g)].reduce((sum, m) => sum + Number(m[1]) * UNITS[m[2]], 0);
}

function names(value: unknown): string[] {
  return (Array.isArray(value) ? value : String(value ?? '').split(',')).map((v) => String(v).trim()).filter((v) => v !== '');
}

/** Subkeys: the secret's structure with every leaf value replaced by null. */
function nulled(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v && typeof v === 'object' && !Array.isArray(v) ? nulled(v as Record<string, unknown>) : null]));
}

export class FakeVaultApi extends LoopbackServer {
  public readonly received: ApiRequest[] = [];
  public sealed: boolean;
  public readonly mounts: Record<string, MountEntry> = {
    'cubbyhole/': { type: 'cubbyhole' }, 'identity/': { type: 'identity' }, 'sys/': { type: 'system' },
  };
  public readonly auths: Record<string, MountEntry> = { 'token/': { type: 'token' } };
  /** By auth mount path without its slash. */
  public readonly authConfigs: Record<string, Record<string, unknown>> = {};
  public readonly policies: Record<string, string> = { default: '# the default policy\n', root: '' };
  /** By auth mount path, then role name: the role as stored (TTLs in seconds). */
  public readonly roles: Record<string, Record<string, Record<string, unknown>>> = {};
  /** By KV mount path without its slash, then key. */
  public readonly kv: Record<string, Record<string, KvSecret>> = {};

  constructor(protected readonly options: FakeVaultApiOptions) {
    super();
    this.sealed = options.sealed ?? false;
  }

  /** Requests that could change Vault: anything but GET. */
  get writes(): ApiRequest[] { return this.received.filter((r) => r.method !== 'GET'); }

  /** Mounts KV v2 at `path` as `vault secrets enable -path=<path> kv-v2` would, with these secrets. */
  kvV2(path: string, secrets: Record<string, KvSecret> = {}): this {
    this.mounts[`${path}/`] = { type: 'kv', options: { version: '2' } };
    this.kv[path] = { ...secrets };
    return this;
  }

  /**
   * A request made by hand (as `vault write` would), through the same handling but not recorded in `received`: sets
   * up a Vault configured the way the README's manual commands did.
   */
  byHand(method: string, path: string, body?: unknown): number {
    const [status] = this.answer({ method, path: `/v1/${path}`, list: false, body, token: this.options.token });
    if (status >= 300) throw new Error(`${method} ${path} answered ${status}`);
    return status;
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const token = req.headers['x-vault-token'];
      const request: ApiRequest = {
        method: req.method ?? '', path: decodeURIComponent(url.pathname), list: url.searchParams.get('list') === 'true', body,
        ...(url.search !== '' && { query: Object.fromEntries(url.searchParams) }),
        ...(typeof token === 'string' && { token }),
      };
      this.received.push(request);
      if (this.options.hang) return;
      const [status, json] = this.answer(request);
      send(res, status, json, this.answerDelayMs(request));
    });
  }

  /** How late the answer to `request` goes out, once Vault has acted on it (fake-vault-lifecycle.ts stalls one). */
  protected answerDelayMs(_request: ApiRequest): number { return 0; }
  protected answer(r: ApiRequest): [number, unknown?] {
    if (r.path === '/v1/sys/seal-status' && r.method === 'GET') {
      return [200, { type: 'shamir', initialized: true, sealed: this.sealed, t: 1, n: 1, progress: 0, nonce: '', version: '2.0.4', storage_type: 'file' }];
    }
    if (this.sealed) return [503, { errors: ['Vault is sealed'] }];
    if (r.token !== this.options.token) return [403, { errors: ['permission denied'] }];
    const path = r.path.replace(/^\/v1\//, '');
    if (path === 'auth/token/lookup-self' && r.method === 'GET') {
      return [200, { data: { id: this.options.token, policies: ['root'], display_name: 'root', ttl: 0 } }];
    }
    if (path === 'sys/mounts' && r.method === 'GET') return [200, { ...this.mounts, data: this.mounts }];
    if (path === 'sys/auth' && r.method === 'GET') return [200, { ...this.auths, data: this.auths }];
    const enable = path.match(/^sys\/(mounts|auth)\/(.+)$/);
    if (enable && r.method === 'POST') return this.enable(enable[1] === 'mounts' ? this.mounts : this.auths, enable[2], r.body);
    if (path === 'sys/storage/raft/autopilot/configuration') return this.autopilotAnswer(r);
    if (path === 'sys/policies/acl' && r.list) return [200, { data: { keys: Object.keys(this.policies).sort() } }];
    const policy = path.match(/^sys\/policies\/acl\/([^/]+)$/);
    if (policy) return this.policy(policy[1], r);
    const auth = path.match(/^auth\/(.+?)\/(config|role|role\/[^/]+)$/);
    if (auth && this.auths[`${auth[1]}/`]?.type === 'kubernetes') return this.kubernetesAuth(auth[1], auth[2], r);
    const mount = Object.keys(this.mounts).filter((m) => path.startsWith(m)).sort((a, b) => b.length - a.length)[0];
    if (mount && this.mounts[mount].type === 'kv' && this.mounts[mount].options?.version === '2') {
      return this.kvV2Read(mount.slice(0, -1), path.slice(mount.length), r);
    }
    return [404, { errors: [] }];
  }

  /** Autopilot's configuration, with Vault's defaults. */
  public readonly autopilot: Record<string, unknown> = {
    cleanup_dead_servers: false, dead_server_last_contact_threshold: '24h0m0s', disable_upgrade_migration: false,
    last_contact_threshold: '10s', max_trailing_logs: 1000, min_quorum: 0, server_stabilization_time: '10s',
  };

  private autopilotAnswer(r: ApiRequest): [number, unknown?] {
    if (!this.options.raft) return [400, { errors: ['raft storage is not in use'] }];
    if (r.method === 'GET') return [200, { data: { ...this.autopilot } }];
    if (r.method !== 'POST' && r.method !== 'PUT') return [405, { errors: [] }];
    const next = { ...this.autopilot };
    for (const [field, value] of Object.entries(r.body ?? {})) if (field in next) next[field] = value;
    if (next.cleanup_dead_servers === true && Number(next.min_quorum) < 3) {
      return [400, { errors: ['min_quorum must be set when cleanup_dead_servers is set and it should at least be 3'] }];
    }
    Object.assign(this.autopilot, next);
    return [204];
  }

  private enable(table: Record<string, MountEntry>, path: string, body: any): [number, unknown?] {
    const key = `${path.replace(/\/+$/, '')}/`;
    if (table[key]) return [400, { errors: [`path is already in use at ${key}`] }];
    if (typeof body?.type !== 'string') return [400, { errors: ['backend type must be specified as a string'] }];
    table[key] = body.type === 'kv-v2' ? { type: 'kv', options: { version: '2' } } : { type: body.type, options: body.options ?? null };
    if (table === this.mounts && table[key].type === 'kv' && table[key].options?.version === '2') this.kv[key.slice(0, -1)] = {};
    return [204];
  }

  private policy(name: string, r: ApiRequest): [number, unknown?] {
    if (r.method === 'GET') {
      const text = this.policies[name];
      return text === undefined ? [404, { errors: [] }] : [200, { name, rules: text, data: { name, policy: text } }];
    }
    if (r.method === 'PUT' || r.method === 'POST') {
      if (typeof r.body?.policy !== 'string') return [400, { errors: ["'policy' parameter not supplied or empty"] }];
      this.policies[name.toLowerCase()] = r.body.policy;
      return [204];
    }
    return [405, { errors: ['unsupported operation'] }];
  }

  private kubernetesAuth(mount: string, what: string, r: ApiRequest): [number, unknown?] {
    if (what === 'config') {
      if (r.method === 'GET') {
        const config = this.authConfigs[mount];
        if (!config) return [404, { errors: [] }];
        const { token_reviewer_jwt: jwt, ...readable } = config;
        return [200, { data: { ...readable, token_reviewer_jwt_set: typeof jwt === 'string' && jwt !== '' } }];
      }
      if (r.method === 'POST') return this.writeConfig(mount, r.body ?? {});
    }
    const roles = (this.roles[mount] ??= {});
    if (what === 'role' && r.list) {
      const keys = Object.keys(roles).sort();
      return keys.length === 0 ? [404, { errors: [] }] : [200, { data: { keys } }];
    }
    const name = what.startsWith('role/') ? what.slice('role/'.length) : undefined;
    if (name && r.method === 'GET') return roles[name] ? [200, { data: this.roleView(roles[name]) }] : [404, { errors: [] }];
    if (name && r.method === 'POST') {
      const role = this.mergeRole(roles[name] ?? {}, r.body ?? {});
      if (names(role.bound_service_account_names).length === 0) return [400, { errors: ['"bound_service_account_names" can not be empty'] }];
      if (names(role.bound_service_account_namespaces).length === 0 && !role.bound_service_account_namespace_selector) {
        return [400, { errors: ['"bound_service_account_namespaces" can not be empty if "bound_service_account_namespace_selector" is not set'] }];
      }
      roles[name] = role;
      return role.audience ? [204] : [200, { warnings: [`Role ${name} does not have an audience configured.`] }];
    }
    return [405, { errors: ['unsupported operation'] }];
  }

  /** Rebuilds the config from the request: a field not sent takes its default, an unknown one is ignored. */
  private writeConfig(mount: string, body: Record<string, unknown>): [number, unknown?] {
    const fields = { ...CONFIG_FIELDS, ...this.options.newerConfigFields };
    if (!body.kubernetes_host) return [400, { errors: ['no host provided'] }];
    const config = Object.fromEntries(Object.entries(fields).map(([field, fallback]) => {
      if (!(field in body)) return [field, fallback];
      const value = body[field];
      if (typeof fallback === 'boolean') return [field, value === true || value === 'true'];
      if (Array.isArray(fallback)) return [field, names(value)];
      return [field, value];
    }));
    if (config.kubernetes_ca_cert !== '' && !PEM_BLOCK.test(String(config.kubernetes_ca_cert))) {
      return [400, { errors: ['The provided CA PEM data contains no valid certificates'] }];
    }
    if ((config.pem_keys as string[]).some((key) => !PEM_BLOCK.test(key))) {
      return [400, { errors: ['data does not contain any valid RSA or ECDSA public keys'] }];
    }
    this.authConfigs[mount] = config;
    const ignored = Object.keys(body).filter((field) => !(field in fields)).sort();
    return ignored.length === 0 ? [204] : [200, { warnings: [`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`] }];
  }

  /** A POST merges into the role: only the fields sent change. The older policies/ttl names fill token_*. */
  private mergeRole(role: Record<string, unknown>, body: Record<string, unknown>): Record<string, unknown> {
    const merged = { ...role };
    for (const field of ['bound_service_account_names', 'bound_service_account_namespaces']) {
      if (field in body) merged[field] = names(body[field]);
    }
    for (const field of ['audience', 'alias_name_source', 'token_type']) {
      if (field in body) merged[field] = String(body[field]);
    }
    for (const field of ['token_max_ttl', 'token_explicit_max_ttl', 'token_period']) {
      if (field in body) merged[field] = seconds(body[field]);
    }
    // Not merged: every write sets the selector from the request, '' when absent.
    merged.bound_service_account_namespace_selector = String(body.bound_service_account_namespace_selector ?? '');
    if ('token_policies' in body) {
      merged.token_policies = names(body.token_policies);
      delete merged.policies;
    } else if ('policies' in body) {
      merged.policies = names(body.policies);
      merged.token_policies = merged.policies;
    }
    if ('token_ttl' in body) {
      merged.token_ttl = seconds(body.token_ttl);
      delete merged.ttl;
    } else if ('ttl' in body) {
      merged.ttl = seconds(body.ttl);
      merged.token_ttl = merged.ttl;
    }
    return merged;
  }

  /** The role as a read returns it: the audience only when set. */
  private roleView(role: Record<string, unknown>): Record<string, unknown> {
    const { audience, ...rest } = role;
    return {
      alias_name_source: 'serviceaccount_uid', bound_service_account_names: [], bound_service_account_namespaces: [],
      bound_service_account_namespace_selector: '', token_policies: [], token_ttl: 0, token_max_ttl: 0, token_type: 'default',
      ...rest, ...(typeof audience === 'string' && audience !== '' && { audience }),
    };
  }

  private kvV2Read(mount: string, rest: string, r: ApiRequest): [number, unknown?] {
    if (r.method !== 'GET') return [405, { errors: ['unsupported operation'] }];
    const secrets = this.kv[mount] ?? {};
    const match = rest.match(/^(data|metadata|subkeys)\/(.*)$/);
    if (!match) return [404, { errors: [] }];
    const [, endpoint, key] = match;
    const metadata = { created_time: '2026-11-25T18:00:00Z', deletion_time: '', destroyed: false, version: 1 };
    if (endpoint === 'metadata' && r.list) {
      const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
      const keys = [...new Set(Object.keys(secrets).filter((k) => k.startsWith(prefix)).map((k) => {
        const rest = k.slice(prefix.length);
        return rest.includes('/') ? `${rest.split('/')[0]}/` : rest;
      }))].sort();
      return keys.length === 0 ? [404, { errors: [] }] : [200, { data: { keys } }];
    }
    const secret = secrets[key];
    if (!secret) return [404, { errors: [] }];
    if (endpoint === 'data') return [200, { data: { data: secret.data, metadata } }];
    if (endpoint === 'subkeys') return [200, { data: { subkeys: nulled(secret.data), metadata } }];
    return [200, { data: { custom_metadata: secret.custom_metadata ?? null, current_version: 1, created_time: metadata.created_time, versions: { 1: metadata } } }];
  }
}
