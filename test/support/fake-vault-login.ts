import { randomBytes } from 'crypto';
import { Acl, Operation, parsePolicy } from './fake-vault-acl';
import { ApiRequest, FakeVaultApi } from './fake-vault-api';

// The stand-in for Vault's API (fake-vault-api.ts) with what a client of a store needs: the Kubernetes auth method's
// login, client tokens carrying their role's policies, and every request of such a token checked against those
// policies (fake-vault-acl.ts) before the stand-in answers it. The login follows vault-plugin-auth-kubernetes
// (path_login.go): the role must exist (400 "invalid role name"); the JWT is parsed without a signature check when the
// config has no pem_keys; a role with an audience refuses a token without it (403); the token's ServiceAccount name and
// namespace must be bound to the role ("*" or a glob; 403 "service account name not authorized", "namespace not
// authorized"); then the API server's TokenReview must accept it: here, the token must be one this stand-in's API server
// issued (`serviceAccountToken`, a TokenRequest as ESO makes it: providers/v1/vault/auth.go), for the role's audience
// (403 "permission denied"). A client token gets the role's token_policies and `default`. Policies written through the
// API are parsed as Vault parses them (400 on what the ACL cannot read).

/** A ServiceAccount token issued by the stand-in's API server. */
interface Issued { readonly namespace: string; readonly name: string; readonly audiences: string[] }

const glob = (patterns: unknown, value: string) => (Array.isArray(patterns) ? patterns : []).some((p: string) =>
  p === '*' || new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value));

const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

export class FakeVaultWithLogin extends FakeVaultApi {
  private readonly issued = new Map<string, Issued>();
  /** Client tokens from logins, with their policies. */
  protected readonly clients = new Map<string, { policies: string[]; role: string }>();
  /** Every client token a login issued, revoked or not: what a test checks never reaches an output. */
  public readonly clientTokensIssued: string[] = [];
  /** Every login, as "<auth mount>/<role>: <status>". */
  public readonly logins: string[] = [];

  /** A TokenRequest for a ServiceAccount, as ESO makes one for a store's serviceAccountRef: a projected token's claims. */
  serviceAccountToken(namespace: string, name: string, audiences: string[]): string {
    const uid = randomBytes(8).toString('hex');
    const claims = {
      aud: audiences, iss: 'https://kubernetes.default.svc.cluster.local', sub: `system:serviceaccount:${namespace}:${name}`,
      exp: Math.floor(Date.now() / 1000) + 600, 'kubernetes.io': { namespace, serviceaccount: { name, uid } },
    };
    const jwt = `${b64({ alg: 'RS256' })}.${b64(claims)}.${randomBytes(16).toString('base64url')}`;
    this.issued.set(jwt, { namespace, name, audiences });
    return jwt;
  }

  protected answer(r: ApiRequest): [number, unknown?] {
    if (this.sealed) return super.answer(r);
    const path = r.path.replace(/^\/v1\//, '');
    const login = path.match(/^auth\/(.+)\/login$/);
    if (login && (r.method === 'POST' || r.method === 'PUT')) {
      const answer = this.login(login[1], r.body ?? {});
      this.logins.push(`${login[1]}/${r.body?.role}: ${answer[0]}`);
      return answer;
    }
    const client = r.token === undefined ? undefined : this.clients.get(r.token);
    if (client) return this.asClient(client.policies, path, r);
    if (/^sys\/policies\/acl\/[^/]+$/.test(path) && (r.method === 'PUT' || r.method === 'POST') && typeof r.body?.policy === 'string') {
      try {
        parsePolicy(r.body.policy);
      } catch (error) {
        return [400, { errors: [`failed to parse policy: ${(error as Error).message}`] }];
      }
    }
    if (r.method === 'DELETE') return this.remove(path);
    return super.answer(r);
  }

  /** A DELETE by the admin token: a policy (sys/policies/acl/<name>) or a role of a Kubernetes auth mount; 204 either way. */
  private remove(path: string): [number, unknown?] {
    const policy = path.match(/^sys\/policies\/acl\/([^/]+)$/);
    if (policy) {
      if (['default', 'root'].includes(policy[1])) return [400, { errors: [`cannot delete "${policy[1]}" policy`] }];
      delete this.policies[policy[1]];
      return [204];
    }
    const role = path.match(/^auth\/(.+)\/role\/([^/]+)$/);
    if (role && this.auths[`${role[1]}/`]?.type === 'kubernetes') {
      delete this.roles[role[1]]?.[role[2]];
      return [204];
    }
    return [405, { errors: ['unsupported operation'] }];
  }

  private login(mount: string, body: Record<string, unknown>): [number, unknown?] {
    // No such mount: the path is no login path, so Vault asks for a token it was not given (router, then ACL): 403.
    if (this.auths[`${mount}/`]?.type !== 'kubernetes') return [403, { errors: ['permission denied'] }];
    if (typeof body.role !== 'string' || body.role === '') return [400, { errors: ['missing role'] }];
    if (typeof body.jwt !== 'string' || body.jwt === '') return [400, { errors: ['missing jwt'] }];
    const role = this.roles[mount]?.[body.role];
    if (!role) return [400, { errors: [`invalid role name "${body.role}"`] }];
    if (!this.authConfigs[mount]) return [500, { errors: ['could not load backend configuration'] }];
    let claims: any;
    try {
      claims = JSON.parse(Buffer.from(body.jwt.split('.')[1], 'base64url').toString('utf8'));
    } catch {
      return [403, { errors: ['failed to parse the token'] }];
    }
    const audience = typeof role.audience === 'string' && role.audience !== '' ? role.audience : undefined;
    const aud: string[] = Array.isArray(claims?.aud) ? claims.aud : [claims?.aud];
    if (audience !== undefined && !aud.includes(audience)) return [403, { errors: ['invalid audience (aud) claim: audience claim does not match any expected audience'] }];
    const name = claims?.['kubernetes.io']?.serviceaccount?.name ?? claims?.['kubernetes.io/serviceaccount/service-account.name'];
    const namespace = claims?.['kubernetes.io']?.namespace ?? claims?.['kubernetes.io/serviceaccount/namespace'];
    if (!glob(role.bound_service_account_names, name)) return [403, { errors: ['service account name not authorized'] }];
    if (!glob(role.bound_service_account_namespaces, namespace)) return [403, { errors: ['namespace not authorized'] }];
    // TokenReview with the role's audience: the API server knows the token, and issued it for that audience.
    const issued = this.issued.get(body.jwt);
    if (!issued || issued.name !== name || issued.namespace !== namespace || (audience !== undefined && !issued.audiences.includes(audience))) {
      return [403, { errors: ['permission denied'] }];
    }
    const tokenPolicies = (role.token_policies ?? role.policies ?? []) as string[];
    const token = `hvs.${randomBytes(18).toString('base64url')}`;
    this.clients.set(token, { policies: ['default', ...tokenPolicies], role: body.role });
    this.clientTokensIssued.push(token);
    return [200, { auth: {
      client_token: token, policies: ['default', ...tokenPolicies].sort(), token_policies: ['default', ...tokenPolicies].sort(),
      metadata: { role: body.role, service_account_name: name, service_account_namespace: namespace }, lease_duration: role.token_ttl ?? 0, renewable: true,
    } }];
  }

  /** A client token's request: the default policy's self-lookup, else the ACL of its policies, then the stand-in's answer. */
  private asClient(policies: string[], path: string, r: ApiRequest): [number, unknown?] {
    if (path === 'auth/token/lookup-self' && r.method === 'GET') return [200, { data: { policies, ttl: 3600 } }];
    const operation: Operation = r.method === 'GET' ? (r.list ? 'list' : 'read') : r.method === 'DELETE' ? 'delete' : r.method === 'PATCH' ? 'patch' : 'update';
    const acl = new Acl(policies.map((p) => this.policies[p]).filter((t): t is string => t !== undefined));
    if (!acl.allows(operation, path)) return [403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] }];
    return this.authorized({ ...r, token: this.options.token });
  }

  /** A client's request that its policies allow, with the admin token: the stand-in's answer. */
  protected authorized(r: ApiRequest): [number, unknown?] {
    return super.answer(r);
  }
}
