// Vault's configuration as the manifests need it: the KV mounts, the Kubernetes auth methods and their config, one
// policy and one role per store role, and the secrets (with their fields) that ExternalSecrets read.
import { Manifests, SecretRead, VaultStore } from './manifests';
import { deriveRules, mergeRules, policyLines } from './policy';

/**
 * Vault runs in the cluster: it reaches the API server through the default Service and, given neither a reviewer JWT
 * nor a CA, reviews ESO's tokens with its own ServiceAccount token and CA.
 */
export const KUBERNETES_HOST = 'https://kubernetes.default.svc:443';
/** The role's token TTL: 1h, as the README's manual `ttl=1h` set it; Vault reads TTLs back as seconds. */
export const ROLE_TTL_SECONDS = 3600;

export interface DesiredPolicy {
  readonly name: string;
  readonly stores: string[];
  /** What the policy is derived from, in its header: the ExternalSecrets of `stores` unless said. */
  readonly source?: string;
  /** Canonical policy lines, sorted. */
  readonly lines: string[];
}

export interface DesiredRole {
  readonly authMount: string;
  readonly name: string;
  readonly serviceAccounts: string[];
  readonly namespaces: string[];
  readonly policies: string[];
  readonly ttlSeconds: number;
  /**
   * The one audience Vault checks in ESO's tokens, from the stores' `serviceAccountRef.audiences`; undefined when the
   * stores ask for none (the role then checks none).
   */
  readonly audience?: string;
  /** The stores that log in with this role, and the file of dist/ that declares each (when known). */
  readonly stores: { readonly name: string; readonly file?: string }[];
}

/** One Vault secret that ExternalSecrets read, with every field they name. */
export interface DesiredSecret {
  readonly mount: string;
  readonly key: string;
  /** `data`: the secret's fields; `metadata`: its custom metadata (metadataPolicy Fetch). */
  readonly source: 'data' | 'metadata';
  readonly fields: string[];
  /** Who reads it, such as "externalsecret db/postgres-secret". */
  readonly readers: string[];
}

/** A `dataFrom[].find`: what it matches is only known when ESO runs, so it is listed, not checked. */
export interface DesiredFind {
  readonly mount: string;
  readonly path?: string;
  readonly readers: string[];
}

export interface DesiredConfig {
  readonly kvMounts: string[];
  readonly authMounts: string[];
  readonly policies: DesiredPolicy[];
  readonly roles: DesiredRole[];
  readonly secrets: DesiredSecret[];
  readonly finds: DesiredFind[];
  /** With Raft storage: autopilot's configuration (raft.ts). */
  readonly autopilot?: DesiredAutopilot;
  /** With a bootstrap CronJob: the audit device it enables (bootstrap.ts). */
  readonly audit?: DesiredAudit;
}

/** An audit device, as `sys/audit/<path>` takes it. */
export interface DesiredAudit {
  readonly path: string;
  readonly type: string;
  readonly options: Record<string, string>;
}

/** Autopilot's fields that vault-setup manages (with Raft storage). */
export interface DesiredAutopilot {
  readonly cleanup_dead_servers: boolean;
  /** Absent: left as Vault has it (one pod, no cleanup). */
  readonly min_quorum?: number;
  /** Where it comes from, such as "statefulset security/vault (3 replicas)". */
  readonly source: string;
}

const unique = (items: string[]) => [...new Set(items)].sort();

const showAudience = (audience: string | undefined) => (audience === undefined ? 'no audience' : `audience ${JSON.stringify(audience)}`);

/**
 * The audience of a role: Vault's role holds one (a string), so a store listing several, or stores sharing the role
 * with different ones, cannot be set up and are refused.
 */
function roleAudience(role: string, sharing: VaultStore[]): string | undefined {
  for (const store of sharing.filter((s) => s.audiences.length > 1)) {
    throw new Error(`clustersecretstore ${store.name} lists audiences ${store.audiences.map((a) => JSON.stringify(a)).join(', ')} in auth.kubernetes.serviceAccountRef.audiences: vault's role ${role} checks one audience, keep one`);
  }
  const [first, ...others] = sharing;
  const differing = others.find((s) => s.audiences[0] !== first.audiences[0]);
  if (differing) {
    throw new Error(`clustersecretstores ${first.name} (${showAudience(first.audiences[0])}) and ${differing.name} (${showAudience(differing.audiences[0])}) both use role ${role}: vault's role checks one audience, give them the same audience or each its own role`);
  }
  return first.audiences[0];
}

/** Stores may share a role only when they log in identically; its policy then grants what all of them read. */
function rolesAndPolicies(stores: VaultStore[], reads: SecretRead[]): { roles: DesiredRole[]; policies: DesiredPolicy[] } {
  const byRole = new Map<string, VaultStore[]>();
  for (const store of stores) byRole.set(store.role, [...(byRole.get(store.role) ?? []), store]);
  const roles: DesiredRole[] = [];
  const policies: DesiredPolicy[] = [];
  for (const [role, sharing] of [...byRole].sort(([a], [b]) => a.localeCompare(b))) {
    const [first, ...others] = sharing;
    const differing = others.find((s) => s.authMount !== first.authMount || s.serviceAccount !== first.serviceAccount || s.namespace !== first.namespace);
    if (differing) {
      throw new Error(`clustersecretstores ${first.name} and ${differing.name} both use role ${role} with a different auth mount or service account: give each its own role`);
    }
    const audience = roleAudience(role, sharing);
    const rules = mergeRules(...sharing.map((s) => deriveRules(s.mount, reads.filter((r) => r.store === s.name))));
    policies.push({ name: role, stores: sharing.map((s) => `clustersecretstore ${s.name}`), lines: policyLines(rules) });
    roles.push({
      authMount: first.authMount, name: role, serviceAccounts: [first.serviceAccount], namespaces: [first.namespace],
      policies: [role], ttlSeconds: ROLE_TTL_SECONDS, ...(audience !== undefined && { audience }),
      stores: sharing.map((s) => ({ name: s.name, ...(s.file !== undefined && { file: s.file }) })),
    });
  }
  return { roles, policies };
}

function secretsRead(stores: VaultStore[], reads: SecretRead[]): { secrets: DesiredSecret[]; finds: DesiredFind[] } {
  const secrets = new Map<string, { mount: string; key: string; source: 'data' | 'metadata'; fields: string[]; readers: string[] }>();
  const finds = new Map<string, { mount: string; path?: string; readers: string[] }>();
  for (const read of reads) {
    const mount = stores.find((s) => s.name === read.store)!.mount;
    if (read.kind === 'find') {
      const id = `${mount}/${read.path ?? ''}`;
      const find = finds.get(id) ?? { mount, ...(read.path && { path: read.path }), readers: [] };
      find.readers.push(read.by);
      finds.set(id, find);
      continue;
    }
    const id = `${read.kind} ${mount}/${read.key}`;
    const secret = secrets.get(id) ?? { mount, key: read.key, source: read.kind, fields: [], readers: [] };
    if (read.property !== undefined) secret.fields.push(read.property);
    secret.readers.push(read.by);
    secrets.set(id, secret);
  }
  const sorted = <T extends { mount: string }>(items: T[], id: (t: T) => string) => items.sort((a, b) => id(a).localeCompare(id(b)));
  return {
    secrets: sorted([...secrets.values()].map((s) => ({ ...s, fields: unique(s.fields), readers: unique(s.readers) })), (s) => `${s.mount}/${s.key} ${s.source}`),
    finds: sorted([...finds.values()].map((f) => ({ ...f, readers: unique(f.readers) })), (f) => `${f.mount}/${f.path ?? ''}`),
  };
}

export function desiredConfig({ stores, reads }: Manifests): DesiredConfig {
  return {
    kvMounts: unique(stores.map((s) => s.mount)),
    authMounts: unique(stores.map((s) => s.authMount)),
    ...rolesAndPolicies(stores, reads),
    ...secretsRead(stores, reads),
  };
}
