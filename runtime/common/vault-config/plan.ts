// The plan: desired configuration against Vault's state, item by item in dependency order (mounts, auth methods,
// auth config, policies, roles), each "in sync", "create", "change" or "conflict", with the write apply would make.
// Nothing here is ever removed: no unmount, no disable, no delete; a conflict needs a human and blocks every write.
import { DesiredAudit, DesiredConfig, DesiredPolicy, DesiredRole, DesiredSecret, KUBERNETES_HOST } from './desired';
import { nameSet, normalUrl, quoteList, showTtl, ttlSeconds } from './normalize';
import { diffLines, normalizedPolicy, policyText } from './policy';
import { autopilotItem } from './raft';
import { Retirement, retirements } from './retirable';
import { kvKind, secretId, VaultState } from './state';
import { encodePath } from './vault-client';

export type ItemState = 'in sync' | 'create' | 'change' | 'conflict';

export interface Write {
  readonly method: 'POST' | 'PUT';
  readonly path: string;
  readonly body: unknown;
}

export interface PlanItem {
  /** Such as "mount secret/ (kv v2)" or "policy eso-reader". */
  readonly label: string;
  readonly state: ItemState;
  /** "+ ...", "- ..." and "~ ..." lines showing the change. */
  readonly details: string[];
  /** The write that makes a "create" or "change" item in sync. */
  readonly write?: Write;
  /** For a "conflict": what is wrong and the manual step. */
  readonly conflict?: string;
  /** What the change may break that Vault cannot tell, and how to check it first: printed, not an error. */
  readonly warning?: string;
}

export type SecretState = 'ok' | 'missing' | 'missing fields' | 'not checked';

export interface SecretCheck {
  /** Such as "secret secret/postgres-secret". */
  readonly label: string;
  readonly state: SecretState;
  /** The fields ExternalSecrets name (none: the whole secret is read). Names only, never values. */
  readonly fields: string[];
  /** Those the secret lacks. */
  readonly missingFields: string[];
  readonly readers: string[];
  readonly note?: string;
}

export interface Plan {
  readonly items: PlanItem[];
  /** Policies and roles Vault holds that no manifest mentions: listed, left alone. */
  readonly unmanaged: string[];
  /** vault-setup's own store roles and policies that dist/ no longer uses: deleted only by `retire --confirm <name>`. */
  readonly retirable: Retirement[];
  readonly secrets: SecretCheck[];
}

/** Vault's built-in policies: neither managed here nor worth listing. */
const BUILTIN_POLICIES = ['default', 'root'];
/** Keys ESO adds to custom metadata from KV v2's own metadata (providers/v1/vault/client_get.go). */
const SYSTEM_METADATA_KEYS = ['created_time', 'current_version', 'delete_version_after'];

const inSync = (label: string): PlanItem => ({ label, state: 'in sync', details: [] });

function mountItem(path: string, state: VaultState): PlanItem {
  const label = `mount ${path}/ (kv v2)`;
  const current = state.mounts[`${path}/`];
  if (!current) return { label, state: 'create', details: [], write: { method: 'POST', path: `/v1/sys/mounts/${encodePath(path)}`, body: { type: 'kv', options: { version: '2' } } } };
  const kind = kvKind(current);
  if (kind === 'kv v2') return inSync(label);
  const conflict = kind === 'kv v1'
    ? `mount ${path}/ is kv version 1, the stores need version 2: vault-setup never replaces a mount (that deletes its secrets); back it up, run \`vault kv enable-versioning ${path}/\` (an in-place upgrade), then plan again`
    : `mount ${path}/ is a ${current.type} engine, not kv v2: vault-setup never unmounts; move that engine by hand or point the store's spec.provider.vault.path elsewhere, then plan again`;
  return { label, state: 'conflict', details: [], conflict };
}

function authItem(path: string, state: VaultState): PlanItem {
  const label = `auth ${path}/`;
  const current = state.auths[`${path}/`];
  if (!current) return { label, state: 'create', details: [], write: { method: 'POST', path: `/v1/sys/auth/${encodePath(path)}`, body: { type: 'kubernetes' } } };
  if (current.type === 'kubernetes') return inSync(label);
  return {
    label, state: 'conflict', details: [],
    conflict: `auth ${path}/ is a ${current.type} auth method, not kubernetes: vault-setup never disables one; if nothing uses it run \`vault auth disable ${path}\`, or set the store's auth.kubernetes.mountPath to a free path`,
  };
}

/** What a config read returns that no write takes: whether a reviewer JWT is set (the JWT itself is never returned). */
const READ_ONLY_CONFIG_FIELDS = ['token_reviewer_jwt_set'];

function authConfigItem(path: string, state: VaultState): PlanItem {
  const label = `auth ${path}/ config`;
  const current = state.authConfigs.get(path);
  const write = (body: Record<string, unknown>): Write => ({ method: 'POST', path: `/v1/auth/${encodePath(path)}/config`, body });
  const managed: Record<string, unknown> = { kubernetes_host: KUBERNETES_HOST, disable_local_ca_jwt: false };
  if (!current || typeof current.kubernetes_host !== 'string' || current.kubernetes_host === '') {
    return { label, state: 'create', details: [`+ kubernetes_host = "${KUBERNETES_HOST}"`, '+ disable_local_ca_jwt = false'], write: write(managed) };
  }
  const details: string[] = [];
  if (normalUrl(current.kubernetes_host) !== normalUrl(KUBERNETES_HOST)) {
    details.push(`~ kubernetes_host: "${current.kubernetes_host}" -> "${KUBERNETES_HOST}"`);
  }
  if (current.disable_local_ca_jwt === true) details.push('~ disable_local_ca_jwt: true -> false');
  if (details.length === 0) return inSync(label);
  // The plugin rebuilds the whole config from each write (path_config.go), a field left out returning to its default:
  // every field the read returned that this tool does not manage goes back as it is, including ones it has never
  // heard of (a newer plugin's), so apply never turns a setting off. A null is an unset field: left out, it stays unset.
  const kept = Object.fromEntries(Object.entries(current).filter(([field, value]) => !(field in managed)
    && !READ_ONLY_CONFIG_FIELDS.includes(field) && value !== null && value !== undefined));
  if (current.token_reviewer_jwt_set === true) {
    details.push('- token_reviewer_jwt: vault never returns it, so this replacing write drops it (vault then reviews tokens with its own service account token)');
  }
  return { label, state: 'change', details, write: write({ ...kept, ...managed }) };
}

/** The audit device: enabled when absent; one of another type or options at its path is a human's to move. */
function auditItem(want: DesiredAudit, state: VaultState): PlanItem {
  const options = Object.entries(want.options).map(([k, v]) => `${k}=${v}`).join(' ');
  const label = `audit ${want.path}/ (${want.type} ${options})`;
  const current = state.audits?.[`${want.path}/`];
  if (!current) {
    return { label, state: 'create', details: [], write: { method: 'PUT', path: `/v1/sys/audit/${encodePath(want.path)}`, body: { type: want.type, options: want.options } } };
  }
  const differs = current.type !== want.type || Object.entries(want.options).some(([k, v]) => String(current.options?.[k] ?? '') !== v);
  if (!differs) return inSync(label);
  return {
    label, state: 'conflict', details: [],
    conflict: `audit ${want.path}/ is a ${current.type} device with options ${JSON.stringify(current.options ?? {})}: vault-setup never disables an audit device; `
      + `move it with \`vault audit disable ${want.path}\` and enable it at another path, then plan again`,
  };
}

function policyItem(policy: DesiredPolicy, state: VaultState): PlanItem {
  const label = `policy ${policy.name}`;
  const write: Write = { method: 'PUT', path: `/v1/sys/policies/acl/${encodePath(policy.name)}`, body: { policy: policyText(policy.name, policy.stores, policy.lines, policy.source) } };
  const current = state.policies.get(policy.name);
  if (current === undefined) return { label, state: 'create', details: policy.lines.map((l) => `+ ${l}`), write };
  const details = diffLines(normalizedPolicy(current), policy.lines);
  return details.length === 0 ? inSync(label) : { label, state: 'change', details, write };
}

const showAudience = (audience: unknown) => (typeof audience === 'string' && audience !== '' ? JSON.stringify(audience) : 'unset');

/**
 * A role that gets an audience refuses, from the write on, every token without it: the stores in the cluster must
 * already ask for it, which only the cluster can tell.
 */
function audienceWarning(label: string, role: DesiredRole): string {
  const stores = role.stores.map((s) => `clustersecretstore ${s.name}${s.file ? ` (dist/${s.file})` : ''}`).join(', ');
  const checks = role.stores.map((s) => `\`kubectl get clustersecretstore ${s.name} -o jsonpath='{.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences}'\``).join(', ');
  return `${label} has no audience in vault and apply sets ${showAudience(role.audience)}: from then on vault refuses ESO's tokens without it, so sync ${stores} to the cluster before apply; check that ${checks} prints ["${role.audience}"]`;
}

function roleItem(role: DesiredRole, state: VaultState): PlanItem {
  const label = `role ${role.authMount}/${role.name}`;
  const want: [string, string][] = [
    ['bound_service_account_names', quoteList(role.serviceAccounts)],
    ['bound_service_account_namespaces', quoteList(role.namespaces)],
    ['token_policies', quoteList(role.policies)],
    ['token_ttl', showTtl(role.ttlSeconds)],
    ['audience', showAudience(role.audience)],
  ];
  const current = state.roles.get(`${role.authMount}/${role.name}`);
  // POST merges into the role (path_role.go sets a field only when the request has it), so anything else set on the
  // role is kept; the exception is the namespace selector, taken from every request, which is sent back as it is.
  // An audience the stores no longer ask for is cleared: left in place, Vault would refuse their tokens.
  const selector = current?.bound_service_account_namespace_selector;
  const write: Write = {
    method: 'POST',
    path: `/v1/auth/${encodePath(role.authMount)}/role/${encodePath(role.name)}`,
    body: {
      bound_service_account_names: role.serviceAccounts, bound_service_account_namespaces: role.namespaces,
      token_policies: role.policies, token_ttl: role.ttlSeconds,
      ...(role.audience !== undefined ? { audience: role.audience } : showAudience(current?.audience) !== 'unset' && { audience: '' }),
      ...(typeof selector === 'string' && selector !== '' && { bound_service_account_namespace_selector: selector }),
    },
  };
  if (!current) {
    return { label, state: 'create', details: want.filter(([, value]) => value !== 'unset').map(([field, value]) => `+ ${field} = ${value}`), write };
  }
  // Roles written with the older `policies`/`ttl` names read back under those names too.
  const have: Record<string, string> = {
    bound_service_account_names: quoteList(nameSet(current.bound_service_account_names)),
    bound_service_account_namespaces: quoteList(nameSet(current.bound_service_account_namespaces)),
    token_policies: quoteList(nameSet(current.token_policies ?? current.policies)),
    token_ttl: showTtl(ttlSeconds(current.token_ttl) || ttlSeconds(current.ttl)),
    audience: showAudience(current.audience),
  };
  const details = want.filter(([field, value]) => have[field] !== value).map(([field, value]) => `~ ${field}: ${have[field]} -> ${value}`);
  if (details.length === 0) return inSync(label);
  const warning = have.audience === 'unset' && role.audience !== undefined ? audienceWarning(label, role) : undefined;
  return { label, state: 'change', details, write, ...(warning && { warning }) };
}

function hasField(tree: Record<string, unknown>, field: string): boolean {
  if (Object.prototype.hasOwnProperty.call(tree, field)) return true;
  // ESO also takes a gjson path ("a.b"); nested keys show in subkeys as nested objects.
  let node: unknown = tree;
  for (const part of field.split('.')) {
    if (!node || typeof node !== 'object' || !Object.prototype.hasOwnProperty.call(node, part)) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return true;
}

function secretCheck(secret: DesiredSecret, state: VaultState): SecretCheck {
  const label = `secret ${secret.mount}/${secret.key}${secret.source === 'metadata' ? ' (custom metadata)' : ''}`;
  const base = { label, fields: secret.fields, readers: secret.readers, missingFields: [] as string[] };
  const mount = state.mounts[`${secret.mount}/`];
  if (mount && kvKind(mount) !== 'kv v2') return { ...base, state: 'not checked', note: `mount ${secret.mount}/ is not kv v2` };
  const tree = state.secrets.get(secretId(secret.source, secret.mount, secret.key));
  if (!tree) return { ...base, state: 'missing' };
  const present = secret.source === 'metadata' ? { ...Object.fromEntries(SYSTEM_METADATA_KEYS.map((k) => [k, null])), ...tree } : tree;
  const missingFields = secret.fields.filter((f) => !hasField(present, f));
  return { ...base, state: missingFields.length > 0 ? 'missing fields' : 'ok', missingFields };
}

export function makePlan(want: DesiredConfig, state: VaultState): Plan {
  const kubernetesAuth = (mount: string) => !state.auths[`${mount}/`] || state.auths[`${mount}/`].type === 'kubernetes';
  const items = [
    // First, so that Vault audits every write after it.
    ...(want.audit ? [auditItem(want.audit, state)] : []),
    ...want.kvMounts.map((m) => mountItem(m, state)),
    ...want.authMounts.map((m) => authItem(m, state)),
    // Under an auth method of another type there is nothing to configure: its conflict says what to do.
    ...want.authMounts.filter(kubernetesAuth).map((m) => authConfigItem(m, state)),
    ...want.policies.map((p) => policyItem(p, state)),
    ...want.roles.filter((r) => kubernetesAuth(r.authMount)).map((r) => roleItem(r, state)),
    ...(want.autopilot ? [autopilotItem(want.autopilot, state.autopilot)] : []),
  ];
  const retirable = retirements(want, state);
  const managedPolicies = new Set([...want.policies.map((p) => p.name), ...retirable.map((r) => r.name), ...BUILTIN_POLICIES]);
  const retiring = (mount: string, name: string) => retirable.some((r) => r.authMount === mount && r.name === name);
  const unmanaged = [
    ...state.policyNames.filter((n) => !managedPolicies.has(n)).sort().map((n) => `policy ${n}`),
    ...[...state.roleNames].flatMap(([mount, names]) => names
      .filter((n) => !want.roles.some((r) => r.authMount === mount && r.name === n) && !retiring(mount, n)).sort().map((n) => `role ${mount}/${n}`)),
  ];
  const secrets = [
    ...want.secrets.map((s) => secretCheck(s, state)),
    ...want.finds.map((f): SecretCheck => ({
      label: `secrets ${f.mount}/${f.path ? `${f.path}/` : ''}* (find)`, state: 'not checked', fields: [], missingFields: [], readers: f.readers,
      note: 'ESO decides at sync time which secrets match',
    })),
  ];
  return { items, unmanaged, retirable, secrets };
}

export const pending = (plan: Plan) => plan.items.filter((i) => i.state === 'create' || i.state === 'change');
export const conflicts = (plan: Plan) => plan.items.filter((i) => i.state === 'conflict');
export const missing = (plan: Plan) => plan.secrets.filter((s) => s.state === 'missing' || s.state === 'missing fields');
