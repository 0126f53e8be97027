// What ESO will ask of Vault, read from manifests as JSON documents (the YAML GitOps applies, parsed by the tool; the
// synthesized objects, at synthesis): an ExternalSecret written by hand, without AppSecret, counts too.

/** A ClusterSecretStore that reads a KV v2 mount of Vault, logging in with Kubernetes auth. */
export interface VaultStore {
  readonly name: string;
  /** The KV v2 mount path, such as "secret". */
  readonly mount: string;
  /** The Kubernetes auth method's mount path, such as "kubernetes". */
  readonly authMount: string;
  readonly role: string;
  readonly serviceAccount: string;
  readonly namespace: string;
  /** `serviceAccountRef.audiences`: the audiences of the tokens ESO presents to Vault; none when unset. */
  readonly audiences: string[];
  /** `spec.provider.vault.server`, such as "http://vault.security.svc.cluster.local:8200". */
  readonly server?: string;
  /** The file of dist/ that declares the store, relative to dist/ (such as "eso/eso-store.k8s.yaml"). */
  readonly file?: string;
  /**
   * The namespaces whose ExternalSecrets ESO lets use the store (`spec.conditions[].namespaces`); undefined when any
   * namespace may, or one vault-setup cannot tell from dist/ (no conditions, a namespaceSelector, namespaceRegexes).
   */
  readonly admits?: string[];
  /** Why `admits` is undefined, such as "no spec.conditions". */
  readonly open?: string;
}

/** One read that ESO makes through a store for an ExternalSecret. */
export type SecretRead =
  /** `data[].remoteRef` or `dataFrom[].extract`: the secret's data, or with metadataPolicy Fetch its custom metadata. */
  | { readonly kind: 'data' | 'metadata'; readonly store: string; readonly key: string; readonly property?: string; readonly by: string; readonly namespace?: string }
  /** `dataFrom[].find`: every secret under `path` (the whole mount when absent), by name or by metadata tags. */
  | { readonly kind: 'find'; readonly store: string; readonly path?: string; readonly tags: boolean; readonly by: string; readonly namespace?: string };

export interface Manifests {
  readonly stores: VaultStore[];
  readonly reads: SecretRead[];
}

type Doc = Record<string, any>;

/** The file each document came from, relative to the dist/ folder read: a plan line can say which file to sync. */
const sourceFiles = new WeakMap<Doc, string>();

/** Records the file of dist/ a document came from (relative to dist/), for the messages that name it. */
export function recordSource(doc: Doc, file: string): void {
  sourceFiles.set(doc, file);
}

const isEso = (doc: Doc, kind: string) => doc.kind === kind && String(doc.apiVersion ?? '').startsWith('external-secrets.io/');
/** A mount path without leading or trailing slashes, as Vault names it. */
export const trimSlashes = (path: string) => path.replace(/^\/+|\/+$/g, '');
/** The containers of a CronJob's or a StatefulSet's pods. */
export const containersOf = (doc: Doc): any[] => doc?.spec?.jobTemplate?.spec?.template?.spec?.containers ?? doc?.spec?.template?.spec?.containers ?? [];
/** A container's environment, by name (literal values only). */
export const envOf = (container: any): Record<string, string> => Object.fromEntries((container?.env ?? []).map((e: any) => [e.name, e.value]));

function refuse(message: string): never {
  throw new Error(message);
}

/** The namespaces a store's conditions admit (shouldProcessSecret in ESO's client_manager.go), when dist/ tells them. */
function admitted(conditions: unknown): { admits: string[] } | { open: string } {
  if (!Array.isArray(conditions) || conditions.length === 0) return { open: 'no spec.conditions' };
  const opener = conditions.find((c: any) => c?.namespaceSelector || (c?.namespaceRegexes ?? []).length > 0);
  if (opener) return { open: opener.namespaceSelector ? 'a spec.conditions namespaceSelector' : 'spec.conditions namespaceRegexes' };
  return { admits: [...new Set<string>(conditions.flatMap((c: any) => (Array.isArray(c?.namespaces) ? c.namespaces : [])))].sort() };
}

/** The ClusterSecretStores with a Vault provider; anything vault-setup cannot set up is refused, naming the field. */
export function vaultStores(docs: Doc[]): VaultStore[] {
  const stores: VaultStore[] = [];
  for (const doc of docs.filter((d) => isEso(d, 'ClusterSecretStore') && d.spec?.provider?.vault)) {
    const what = `clustersecretstore ${doc.metadata?.name}`;
    const vault = doc.spec.provider.vault;
    if (typeof vault.path !== 'string' || trimSlashes(vault.path) === '') {
      refuse(`${what} has no spec.provider.vault.path: set the kv mount path (such as "secret") so vault-setup knows which mount to manage`);
    }
    if ((vault.version ?? 'v2') !== 'v2') refuse(`${what} reads kv ${vault.version}: vault-setup sets up kv v2 stores only`);
    if (vault.namespace) refuse(`${what} sets a vault namespace: vault-setup does not support vault enterprise namespaces`);
    const kubernetes = vault.auth?.kubernetes;
    if (!kubernetes) refuse(`${what} does not log in with kubernetes auth: vault-setup sets up kubernetes auth only`);
    if (typeof kubernetes.role !== 'string' || kubernetes.role === '') refuse(`${what} has no auth.kubernetes.role: set the vault role ESO logs in as`);
    const account = kubernetes.serviceAccountRef;
    if (!account?.name) refuse(`${what} has no auth.kubernetes.serviceAccountRef: vault-setup binds the role to that service account`);
    if (!account.namespace) {
      refuse(`${what} has no auth.kubernetes.serviceAccountRef.namespace: set it (without it the store is referent and the role cannot name one namespace)`);
    }
    const audiences = account.audiences ?? [];
    if (!Array.isArray(audiences) || audiences.some((a: unknown) => typeof a !== 'string' || a.trim() === '')) {
      refuse(`${what} has auth.kubernetes.serviceAccountRef.audiences ${JSON.stringify(audiences)}: expected a list of audiences such as ["vault"]`);
    }
    stores.push({
      ...admitted(doc.spec.conditions),
      name: doc.metadata.name,
      mount: trimSlashes(vault.path),
      authMount: trimSlashes(kubernetes.mountPath ?? 'kubernetes'),
      role: kubernetes.role,
      serviceAccount: account.name,
      namespace: account.namespace,
      audiences: [...new Set<string>(audiences)],
      ...(typeof vault.server === 'string' && { server: vault.server }),
      ...(sourceFiles.has(doc) && { file: sourceFiles.get(doc) }),
    });
  }
  return stores;
}

/** The store a reference names, when it is one of `stores`: a reference without a kind names a namespaced SecretStore. */
function storeOf(ref: any, stores: VaultStore[]): VaultStore | undefined {
  if (!ref || (ref.kind ?? 'SecretStore') !== 'ClusterSecretStore') return undefined;
  return stores.find((s) => s.name === ref.name);
}

/**
 * A key relative to the store's mount. ESO strips a leading "<mount>/" from a data key but not from every metadata
 * read, so such a key is refused rather than guessed at.
 */
function checkKey(key: unknown, store: VaultStore, by: string): string {
  if (typeof key !== 'string' || key === '') refuse(`${by} has a remoteRef without a key: set the vault path to read`);
  const segments = key.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    refuse(`${by} reads key "${key}": write it as a relative vault path such as "postgres-secret" (no leading, trailing or empty segments)`);
  }
  if (segments[0] === store.mount) {
    refuse(`${by} reads key "${key}", which starts with the store's mount "${store.mount}": write it relative to the mount ("${segments.slice(1).join('/')}")`);
  }
  return key;
}

/**
 * An ExternalSecret's spec, how to name it, and its namespace: ClusterExternalSecrets carry the same spec, stamped into
 * namespaces dist/ does not tell.
 */
function externalSecretSpecs(docs: Doc[]): { spec: any; by: string; namespace?: string }[] {
  const specs: { spec: any; by: string; namespace?: string }[] = [];
  for (const doc of docs) {
    const namespace = doc.metadata?.namespace ?? 'default';
    if (isEso(doc, 'ExternalSecret')) specs.push({ spec: doc.spec, by: `externalsecret ${namespace}/${doc.metadata?.name}`, namespace });
    if (isEso(doc, 'ClusterExternalSecret')) specs.push({ spec: doc.spec?.externalSecretSpec, by: `clusterexternalsecret ${doc.metadata?.name}` });
  }
  return specs;
}

/**
 * Every read the ExternalSecrets make through `stores`. An entry's `sourceRef.storeRef` overrides the spec's
 * `secretStoreRef` (ESO's per-entry store); an entry with a `sourceRef.generatorRef` reads no store.
 */
export function secretReads(docs: Doc[], stores: VaultStore[]): SecretRead[] {
  const reads: SecretRead[] = [];
  for (const { spec, by, namespace } of externalSecretSpecs(docs)) {
    const storeFor = (entry: any) => {
      if (entry?.sourceRef?.generatorRef) return undefined;
      return storeOf(entry?.sourceRef?.storeRef ?? spec?.secretStoreRef, stores);
    };
    const refRead = (ref: any, store: VaultStore): SecretRead => ({
      kind: ref?.metadataPolicy === 'Fetch' ? 'metadata' : 'data',
      store: store.name,
      key: checkKey(ref?.key, store, by),
      ...(typeof ref?.property === 'string' && ref.property !== '' && { property: ref.property }),
      by,
      ...(namespace !== undefined && { namespace }),
    });
    for (const entry of spec?.data ?? []) {
      const store = storeFor(entry);
      if (store) reads.push(refRead(entry.remoteRef, store));
    }
    for (const entry of spec?.dataFrom ?? []) {
      const store = storeFor(entry);
      if (!store) continue;
      if (entry.extract) reads.push(refRead(entry.extract, store));
      if (entry.find) {
        const path = typeof entry.find.path === 'string' && trimSlashes(entry.find.path) !== '' ? trimSlashes(entry.find.path) : undefined;
        reads.push({ kind: 'find', store: store.name, ...(path && { path }), tags: !!entry.find.tags, by, ...(namespace !== undefined && { namespace }) });
      }
    }
  }
  return reads;
}

/**
 * A PushSecret writes through its stores, which a read-only derived policy would break without a word: refused until
 * vault-setup derives write rules.
 */
function refusePushSecrets(docs: Doc[], stores: VaultStore[]): void {
  for (const doc of docs.filter((d) => isEso(d, 'PushSecret'))) {
    const store = (doc.spec?.secretStoreRefs ?? []).map((ref: any) => storeOf(ref, stores)).find(Boolean);
    if (store) {
      refuse(`pushsecret ${doc.metadata?.namespace}/${doc.metadata?.name} writes through ${store.name}: vault-setup derives read-only policies; grant its writes by hand and leave it out of dist/`);
    }
  }
}

/**
 * The Vault stores and the reads through them that the manifests declare; none is an error unless `allowNone` (the
 * bootstrap's plan of a site with no AppSecret yet still has its audit device and identities).
 */
export function manifestsFrom(docs: Doc[], allowNone = false): Manifests {
  const stores = vaultStores(docs);
  if (stores.length === 0 && !allowNone) throw new Error('no ClusterSecretStore with a vault provider in the manifests: nothing to set up (check --dist)');
  refusePushSecrets(docs, stores);
  return { stores, reads: secretReads(docs, stores) };
}
