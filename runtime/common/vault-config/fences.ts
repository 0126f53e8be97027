// The fence between app namespaces, checked on dist/ before Vault is asked anything. ESO serves a ClusterSecretStore
// only to the namespaces its conditions admit (shouldProcessSecret in ESO's client_manager.go), and the store's token
// reads whatever its role's policy grants: every namespace a store admits reaches every path of that policy. So each
// path and capability of the policy must be one that the ExternalSecrets of each admitted namespace read themselves,
// through the stores that namespace may name. A dist/ that would let a namespace reach another's path is refused as a
// whole, in one line naming the first such path: vault-setup then neither reads nor writes anything.
import { DesiredConfig } from './desired';
import { Manifests } from './manifests';
import { deriveRules, mergeRules, parseRules, Rules } from './policy';

/** dist/ would let a namespace read another's paths: a human must change the manifests (exit 2). */
export class FenceError extends Error {}

/** What the ExternalSecrets of `namespace` read through the stores that admit it. */
function ownRules(namespace: string, { stores, reads }: Manifests): Rules {
  const admitting = stores.filter((s) => s.admits?.includes(namespace));
  return mergeRules(...admitting.map((s) => deriveRules(s.mount, reads.filter((r) => r.store === s.name && r.namespace === namespace))));
}

const pairs = (rules: Rules) => [...rules].flatMap(([path, capabilities]) => [...capabilities].sort().map((c) => ({ path, capability: c })));

/** Throws a FenceError when a store's role would let a namespace it admits read beyond that namespace's own paths. */
export function checkFences(manifests: Manifests, want: DesiredConfig): void {
  const breaches: string[] = [];
  for (const store of manifests.stores) {
    const policy = want.policies.find((p) => p.name === store.role);
    const granted = pairs(parseRules(policy?.lines.join('\n') ?? '') ?? new Map());
    const role = `role ${store.role}`;
    if (store.admits === undefined) {
      breaches.push(...granted.map(({ path, capability }) => `clustersecretstore ${store.name} admits every namespace (${store.open}), `
        + `so any namespace may ${capability} ${path} through its ${role}`));
      continue;
    }
    for (const namespace of store.admits) {
      const own = ownRules(namespace, manifests);
      breaches.push(...granted.filter(({ path, capability }) => !own.get(path)?.has(capability)).map(({ path, capability }) =>
        `namespace ${namespace} may name clustersecretstore ${store.name}, whose ${role} may ${capability} ${path}, which no ExternalSecret in ${namespace} reads`));
    }
  }
  if (breaches.length === 0) return;
  const more = breaches.length > 1 ? ` (and ${breaches.length - 1} more such grant${breaches.length > 2 ? 's' : ''})` : '';
  throw new FenceError(`refused: ${breaches[0]}${more}; give each app namespace a store admitting only it and a role of its own `
    + '(EsoStore does), then run again: nothing was read from or written to vault');
}
