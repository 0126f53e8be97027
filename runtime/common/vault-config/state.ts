// What Vault holds now, read with only the calls the desired configuration needs. Reading never changes Vault, and
// secrets are checked through KV v2's `subkeys` endpoint, which answers the field names with every value nulled: the
// tool never receives a secret value, so it cannot print one.
import { isUninitialized } from '../vault';
import { DesiredConfig } from './desired';
import { nameSet } from './normalize';
import { AUTOPILOT_PATH } from './raft';
import { encodePath, sealedError, VaultAnswerError, VaultClient } from './vault-client';

/** A row of `GET /v1/sys/mounts` or `/v1/sys/auth`. */
export interface MountEntry {
  readonly type: string;
  readonly options?: Record<string, unknown> | null;
}

export interface VaultState {
  /** Secrets engines by path with its trailing slash ("secret/"), as Vault lists them. */
  readonly mounts: Record<string, MountEntry>;
  readonly auths: Record<string, MountEntry>;
  /** Auth config by auth mount; undefined when the method has no config yet. */
  readonly authConfigs: Map<string, Record<string, any> | undefined>;
  /** Role by "<auth mount>/<name>"; undefined when absent. */
  readonly roles: Map<string, Record<string, any> | undefined>;
  /**
   * The other roles of the managed Kubernetes auth mounts, by "<auth mount>/<name>", and the text of the policies they
   * name that are not managed either: what a retired store role left behind (retire.ts).
   */
  readonly otherRoles?: Map<string, Record<string, any> | undefined>;
  readonly otherPolicies?: Map<string, string | undefined>;
  /** Every role of each managed Kubernetes auth mount. */
  readonly roleNames: Map<string, string[]>;
  /** Policy text by name; undefined when absent. */
  readonly policies: Map<string, string | undefined>;
  readonly policyNames: string[];
  /** By "<source> <mount>/<key>": the field tree (leaves null) or the custom metadata; undefined when absent. */
  readonly secrets: Map<string, Record<string, unknown> | undefined>;
  /** With Raft: autopilot's configuration as Vault reads it back; undefined when not asked for or not answered. */
  readonly autopilot?: Record<string, any>;
  /** The audit devices by path with its trailing slash, when the desired configuration has one. */
  readonly audits?: Record<string, MountEntry>;
}

export interface ReadOptions {
  /**
   * KV v2 mounts whose secrets are not read: a mount created a moment ago by apply holds none, and Vault may still be
   * initializing it.
   */
  readonly emptyMounts?: string[];
  /**
   * Whether the other roles of the managed mounts and their policies are read, to offer what `retire` may delete;
   * the bootstrap job, whose policy names exact paths, neither may nor needs to.
   * @default true
   */
  readonly others?: boolean;
}

export const secretId = (source: string, mount: string, key: string) => `${source} ${mount}/${key}`;

/** The mount table of a sys/mounts or sys/auth answer: Vault sends it under `data` and, for old clients, at the top. */
function mountTable(json: any): Record<string, MountEntry> {
  const table = json?.data && typeof json.data === 'object' ? json.data : json ?? {};
  return Object.fromEntries(Object.entries(table).filter(([path, entry]) => path.endsWith('/') && typeof (entry as any)?.type === 'string')) as Record<string, MountEntry>;
}

/** "kv v2", "kv v1", or the engine's type: Vault reads a mount made as `kv-v2` back as `kv` with option version "2". */
export function kvKind(entry: MountEntry): string {
  if (entry.type === 'kv-v2') return 'kv v2';
  if (entry.type === 'kv' || entry.type === 'generic') return String(entry.options?.version ?? '1') === '2' ? 'kv v2' : 'kv v1';
  return entry.type;
}

/** Seal status first (no token needed), then the token itself: each failure is one clear line. */
export async function checkVault(vault: VaultClient): Promise<void> {
  const status = await vault.sealStatus();
  if (isUninitialized(status)) throw new Error(`vault at ${vault.addr} is not initialized: run \`vault operator init\` first`);
  if (status.status !== 200) throw new Error(`GET /v1/sys/seal-status answered HTTP ${status.status}: is ${vault.addr} a vault server?`);
  if (status.json?.sealed !== false) throw sealedError(vault.addr);
  try {
    await vault.read('/v1/auth/token/lookup-self');
  } catch (error) {
    if (error instanceof VaultAnswerError && error.status === 403) {
      throw new Error(`vault rejected the token (HTTP 403 permission denied): run \`vault login\`, or set VAULT_TOKEN to a valid admin token`);
    }
    throw error;
  }
}

/** Reads what `want` needs. */
export async function readState(vault: VaultClient, want: DesiredConfig, { emptyMounts = [], others = true }: ReadOptions = {}): Promise<VaultState> {
  const mounts = mountTable(await vault.read('/v1/sys/mounts'));
  const auths = mountTable(await vault.read('/v1/sys/auth'));
  const isKubernetes = (mount: string) => auths[`${mount}/`]?.type === 'kubernetes';

  const authConfigs = new Map<string, Record<string, any> | undefined>();
  const roleNames = new Map<string, string[]>();
  for (const mount of want.authMounts.filter(isKubernetes)) {
    authConfigs.set(mount, (await vault.read(`/v1/auth/${encodePath(mount)}/config`))?.data);
    roleNames.set(mount, await vault.list(`/v1/auth/${encodePath(mount)}/role`));
  }
  const roles = new Map<string, Record<string, any> | undefined>();
  for (const role of want.roles.filter((r) => isKubernetes(r.authMount))) {
    roles.set(`${role.authMount}/${role.name}`, (await vault.read(`/v1/auth/${encodePath(role.authMount)}/role/${encodePath(role.name)}`))?.data);
  }

  const otherRoles = new Map<string, Record<string, any> | undefined>();
  for (const [mount, names] of others ? roleNames : []) {
    for (const name of names.filter((n) => !roles.has(`${mount}/${n}`))) {
      otherRoles.set(`${mount}/${name}`, (await vault.read(`/v1/auth/${encodePath(mount)}/role/${encodePath(name)}`))?.data);
    }
  }

  const policyNames = await vault.list('/v1/sys/policies/acl');
  const readPolicy = async (name: string) => {
    const text = (await vault.read(`/v1/sys/policies/acl/${encodePath(name)}`))?.data?.policy;
    return typeof text === 'string' ? text : undefined;
  };
  const policies = new Map<string, string | undefined>();
  for (const policy of want.policies) policies.set(policy.name, await readPolicy(policy.name));
  const otherPolicies = new Map<string, string | undefined>();
  const named = [...otherRoles.values()].flatMap((role) => nameSet(role?.token_policies ?? role?.policies));
  for (const name of [...new Set(named)].filter((n) => !policies.has(n) && policyNames.includes(n))) otherPolicies.set(name, await readPolicy(name));

  const secrets = new Map<string, Record<string, unknown> | undefined>();
  const readable = (mount: string) => mounts[`${mount}/`] && kvKind(mounts[`${mount}/`]) === 'kv v2' && !emptyMounts.includes(mount);
  for (const secret of want.secrets.filter((s) => readable(s.mount))) {
    const endpoint = secret.source === 'data' ? 'subkeys' : 'metadata';
    const answer = await vault.read(`/v1/${encodePath(secret.mount)}/${endpoint}/${encodePath(secret.key)}`);
    const fields = secret.source === 'data' ? answer?.data?.subkeys : answer && (answer.data?.custom_metadata ?? {});
    secrets.set(secretId(secret.source, secret.mount, secret.key), fields && typeof fields === 'object' ? fields : undefined);
  }
  const autopilot = want.autopilot ? (await vault.read(AUTOPILOT_PATH))?.data : undefined;
  const audits = want.audit ? mountTable(await vault.read('/v1/sys/audit')) : undefined;
  return {
    mounts, auths, authConfigs, roles, roleNames, otherRoles, policies, otherPolicies, policyNames, secrets,
    ...(autopilot && { autopilot }), ...(audits && { audits }),
  };
}
