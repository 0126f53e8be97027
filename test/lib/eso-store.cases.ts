import { Chart, Testing } from 'cdk8s';
import { AppSecret, EsoStore, EsoStoreProps, VaultTls } from '../../lib';
import { find, Manifest, schemaErrors } from '../support/manifests';
import { synthWithVault, testVault } from '../support/with-vault';

/** An EsoStore with these props, read through by one AppSecret in each of `namespaces`. */
function store(props: Partial<EsoStoreProps> = {}, namespaces = ['db'], vaultProps?: Parameters<typeof synthWithVault>[1]): Manifest[] {
  return synthWithVault((chart, vault) => {
    const s = new EsoStore(chart, 'store', { vault, ...props });
    for (const namespace of namespaces) new AppSecret(chart, `app-${namespace}`, { namespace, store: s, dataFrom: [{ path: `${namespace}-secret` }] });
  }, vaultProps).filter((m) => m.kind !== 'ExternalSecret');
}

const manifests = store();

describe('EsoStore defaults', () => {
  test('one AppSecret\'s namespace gets the seed ClusterSecretStore\'s fields (the seed\'s plain-HTTP Vault), under a name, a role and conditions of its own', () => {
    expect(find(store({}, ['db'], { tls: VaultTls.none() }), 'ClusterSecretStore', 'k8s-secrets-db')).toEqual({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      // ArgoCD tolerates ESO's CRDs not being there yet, and applies the store before the ExternalSecrets.
      metadata: { name: 'k8s-secrets-db', annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '1' } },
      spec: {
        provider: {
          vault: {
            server: 'http://vault.security.svc.cluster.local:8200',
            path: 'secret',
            version: 'v2',
            auth: {
              kubernetes: {
                mountPath: 'kubernetes',
                role: 'eso-reader-db',
                serviceAccountRef: { name: 'eso-vault-auth', namespace: 'security', audiences: ['vault'] },
              },
            },
          },
        },
        conditions: [{ namespaces: ['db'] }],
      },
    });
  });

  test('defines the ServiceAccount eso-vault-auth in security; no AppSecret, no store at all', () => {
    expect(find(manifests, 'ServiceAccount', 'eso-vault-auth').metadata).toEqual({ name: 'eso-vault-auth', namespace: 'security' });
    expect(manifests).toHaveLength(2);
    expect(store({}, []).map((m) => m.kind)).toEqual(['ServiceAccount']);
  });

  test('trusts the CA of a Vault that serves TLS, only: the CA in its certificate\'s Secret, read from Vault\'s namespace', () => {
    const vault = find(manifests, 'ClusterSecretStore', 'k8s-secrets-db').spec.provider.vault;
    expect(vault.server).toBe('https://vault.security.svc.cluster.local:8200');
    expect(vault.caProvider).toEqual({ type: 'Secret', name: 'vault-server-tls', key: 'ca.crt', namespace: 'security' });
    expect(vault.caBundle).toBeUndefined();
    const moved = store({ namespace: 'eso' }, ['db'], { namespace: 'vault-system' });
    expect(find(moved, 'ClusterSecretStore', 'k8s-secrets-db').spec.provider.vault.caProvider.namespace).toBe('vault-system');
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });

  test('every object is valid against the Kubernetes API and ESO v1 CRD schemas', () => {
    expect(schemaErrors(store({}, ['db', 'monitoring']))).toEqual([]);
  });
});

describe('EsoStore props', () => {
  test('takes the server from a VaultStack, so the two cannot drift', () => {
    const out = synthWithVault((chart, vault) => {
      new AppSecret(chart, 'app', { namespace: 'db', store: new EsoStore(chart, 'store', { vault }), dataFrom: [{ path: 'x' }] });
    }, { namespace: 'vault-system', clusterDomain: 'home.arpa' });
    expect(find(out, 'ClusterSecretStore', 'k8s-secrets-db').spec.provider.vault.server).toBe('https://vault.vault-system.svc.home.arpa:8200');
  });

  test('every prop reaches the output, the prefixes name each store and role, and the namespace is always written', () => {
    const out = store({
      namespace: 'eso', storeName: 'vault-kv', serviceAccountName: 'eso-auth',
      path: 'kv', kvVersion: 'v1', authMountPath: 'k8s/homelab', role: 'reader',
    }, ['apps']);
    expect(find(out, 'ServiceAccount', 'eso-auth').metadata.namespace).toBe('eso');
    expect(find(out, 'ClusterSecretStore', 'vault-kv-apps').spec.provider.vault).toEqual({
      server: 'https://vault.security.svc.cluster.local:8200', path: 'kv', version: 'v1',
      caProvider: { type: 'Secret', name: 'vault-server-tls', key: 'ca.crt', namespace: 'security' },
      auth: { kubernetes: { mountPath: 'k8s/homelab', role: 'reader-apps', serviceAccountRef: { name: 'eso-auth', namespace: 'eso', audiences: ['vault'] } } },
    });
  });

  test('tokens are asked for the audience, so one sent to Vault is useless against the Kubernetes API', () => {
    const ref = find(store({ audience: 'vault.lan' }), 'ClusterSecretStore', 'k8s-secrets-db').spec.provider.vault.auth.kubernetes.serviceAccountRef;
    expect(ref.audiences).toEqual(['vault.lan']);
  });

  test.each<[string, Partial<EsoStoreProps>, RegExp]>([
    ['namespace', { namespace: 'ESO' }, /invalid EsoStore namespace: got "ESO", expected a DNS-1123 label/],
    ['store name', { storeName: 'k8s_secrets' }, /invalid EsoStore storeName: got "k8s_secrets"/],
    ['service account', { serviceAccountName: '' }, /invalid EsoStore serviceAccountName: got ""/],
    ['path with slashes', { path: '/secret/' }, /invalid EsoStore path: got "\/secret\/", expected a relative Vault path/],
    ['KV version', { kvVersion: 'v3' as any }, /invalid EsoStore kvVersion: got "v3", expected "v1" or "v2"/],
    ['auth mount', { authMountPath: 'kubernetes/' }, /invalid EsoStore authMountPath: got "kubernetes\/"/],
    ['role', { role: 'eso reader' }, /invalid EsoStore role: got "eso reader"/],
    ['audience', { audience: 'my vault' }, /invalid EsoStore audience: got "my vault", expected a token audience/],
  ])('rejects a wrong %s', (_case, props, message) => {
    expect(() => store(props)).toThrow(message);
  });

  test('a store name the namespace would make too long: one line naming the prefix, the namespace and the name', () => {
    expect(() => store({ storeName: 'x'.repeat(251) })).toThrow(
      new RegExp(`^test/app-db: invalid EsoStore storeName \\(for namespace "db"\\): got "x{251}-db", expected a DNS-1123 subdomain`),
    );
  });
});

describe('EsoStore fences each namespace', () => {
  const stores = (out: Manifest[]) => out.filter((m) => m.kind === 'ClusterSecretStore')
    .map((m) => [m.metadata.name, m.spec.conditions, m.spec.provider.vault.auth.kubernetes.role]);

  test('one store per namespace of the AppSecrets, made with its first, admitting it alone under a role of its own', () => {
    const out = synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault });
      for (const [id, namespace] of [['b', 'monitoring'], ['a', 'db'], ['c', 'db']]) {
        const secret = new AppSecret(chart, id, { namespace, store: s, dataFrom: [{ path: id }] });
        expect(s.stores.find((x) => x.namespace === namespace)).toBeDefined();
        expect(secret.namespace).toBe(namespace);
      }
      expect(s.stores).toEqual([
        { name: 'k8s-secrets-monitoring', namespace: 'monitoring', role: 'eso-reader-monitoring' },
        { name: 'k8s-secrets-db', namespace: 'db', role: 'eso-reader-db' },
      ]);
    });
    expect(stores(out)).toEqual([
      ['k8s-secrets-monitoring', [{ namespaces: ['monitoring'] }], 'eso-reader-monitoring'],
      ['k8s-secrets-db', [{ namespaces: ['db'] }], 'eso-reader-db'],
    ]);
    // Each ExternalSecret names its own namespace's store.
    expect(out.filter((m) => m.kind === 'ExternalSecret').map((m) => [m.metadata.namespace, m.spec.secretStoreRef.name]))
      .toEqual([['monitoring', 'k8s-secrets-monitoring'], ['db', 'k8s-secrets-db'], ['db', 'k8s-secrets-db']]);
    // No store admits a namespace without an AppSecret: the stores are the readers' namespaces, exactly.
    expect(stores(out).flatMap(([, conditions]) => (conditions as any)[0].namespaces).sort()).toEqual(['db', 'monitoring']);
  });

  test('an ExternalSecret written by hand names a namespace\'s store through storeFor, which refuses a namespace without an AppSecret', () => {
    synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault });
      expect(() => s.storeFor('db')).toThrow(/^invalid EsoStore storeFor namespace: got "db", expected a namespace with an AppSecret reading through this EsoStore \(none yet\): its store is made with the first$/);
      new AppSecret(chart, 'app', { namespace: 'db', store: s, dataFrom: [{ path: 'app' }] });
      expect(s.storeFor('db')).toEqual({ name: 'k8s-secrets-db', namespace: 'db', role: 'eso-reader-db' });
      expect(() => s.storeFor('wiki')).toThrow('(db)');
    });
  });

  test('two EsoStores of one app: each namespace once; another prefix, another store and role', () => {
    const out = synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault });
      const other = new EsoStore(chart, 'other', { vault, storeName: 'other', role: 'other-reader', path: 'kv' });
      new AppSecret(chart, 'app', { namespace: 'db', store: s, dataFrom: [{ path: 'app' }] });
      new AppSecret(chart, 'wiki', { namespace: 'wiki', store: other, dataFrom: [{ path: 'wiki' }] });
    });
    expect(stores(out)).toEqual([
      ['k8s-secrets-db', [{ namespaces: ['db'] }], 'eso-reader-db'],
      ['other-wiki', [{ namespaces: ['wiki'] }], 'other-reader-wiki'],
    ]);
  });

  test('a namespace fenced twice: one line naming the AppSecret, the namespace and the store that holds it', () => {
    expect(() => synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault });
      const other = new EsoStore(chart, 'other', { vault, storeName: 'other', role: 'other-reader' });
      new AppSecret(chart, 'app', { namespace: 'db', store: s, dataFrom: [{ path: 'app' }] });
      new AppSecret(chart, 'again', { namespace: 'db', store: other, dataFrom: [{ path: 'app' }] });
    })).toThrow(/^test\/again: invalid AppSecret again namespace: got "db", expected a namespace fenced once, but another EsoStore's clustersecretstore k8s-secrets-db already admits it: read each namespace's secrets through one EsoStore$/);
  });

  test('prefixes that meet (a + b-c, a-b + c): the second namespace is refused in one line, store and role alike', () => {
    const build = (second: Partial<EsoStoreProps>) => () => synthWithVault((chart, vault) => {
      new AppSecret(chart, 'first', { namespace: 'b-c', store: new EsoStore(chart, 'store', { vault, storeName: 'a', role: 'r' }), dataFrom: [{ path: 'x' }] });
      new AppSecret(chart, 'second', { namespace: 'c', store: new EsoStore(chart, 'other', { vault, ...second }), dataFrom: [{ path: 'y' }] });
    });
    expect(build({ storeName: 'a-b', role: 'other' })).toThrow(/^test\/second: invalid AppSecret second namespace: got "c", expected a namespace whose store a-b-c and role other-c are free, but namespace b-c's are a-b-c and r-b-c/);
    expect(build({ storeName: 'other', role: 'r-b' })).toThrow(/^test\/second: invalid AppSecret second namespace: got "c", expected a namespace whose store other-c and role r-b-c are free/);
  });

  test('a new app starts afresh: the names taken are those of one construct tree (an App), not of the process', () => {
    for (let i = 0; i < 2; i++) {
      const app = Testing.app();
      const s = new EsoStore(new Chart(app, 'eso'), 'store', { vault: testVault(new Chart(app, 'vault')) });
      new AppSecret(new Chart(app, 'apps'), 'app', { namespace: 'db', store: s, dataFrom: [{ path: 'app' }] });
      expect(s.stores.map((x) => x.name)).toEqual(['k8s-secrets-db']);
    }
  });
});
