import { AppSecret, EsoStore, EsoStoreProps, VaultTls } from '../../lib';
import { find, Manifest, schemaErrors } from '../support/manifests';
import { synthWithVault } from '../support/with-vault';

function store(props: Partial<EsoStoreProps> = {}): Manifest[] {
  return synthWithVault((chart, vault) => new EsoStore(chart, 'store', { vault, ...props }));
}

const manifests = store();

describe('EsoStore defaults', () => {
  test('reproduces the seed ClusterSecretStore field for field, with the seed\'s plain-HTTP Vault', () => {
    const seed = synthWithVault((chart, vault) => new EsoStore(chart, 'store', { vault }), { tls: VaultTls.none() });
    expect(find(seed, 'ClusterSecretStore', 'k8s-secrets')).toEqual({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ClusterSecretStore',
      // ArgoCD tolerates ESO's CRDs not being there yet, and applies the store before the ExternalSecrets.
      metadata: { name: 'k8s-secrets', annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '1' } },
      spec: {
        provider: {
          vault: {
            server: 'http://vault.security.svc.cluster.local:8200',
            path: 'secret',
            version: 'v2',
            auth: {
              kubernetes: {
                mountPath: 'kubernetes',
                role: 'eso-reader',
                serviceAccountRef: { name: 'eso-vault-auth', namespace: 'security', audiences: ['vault'] },
              },
            },
          },
        },
        // No AppSecret reads through it: it serves no namespace at all.
        conditions: [{ namespaces: [] }],
      },
    });
  });

  test('defines the ServiceAccount eso-vault-auth in security', () => {
    expect(find(manifests, 'ServiceAccount', 'eso-vault-auth').metadata).toEqual({ name: 'eso-vault-auth', namespace: 'security' });
    expect(manifests).toHaveLength(2);
  });

  test('trusts the CA of a Vault that serves TLS, only: the CA in its certificate\'s Secret, read from Vault\'s namespace', () => {
    const vault = find(manifests, 'ClusterSecretStore', 'k8s-secrets').spec.provider.vault;
    expect(vault.server).toBe('https://vault.security.svc.cluster.local:8200');
    expect(vault.caProvider).toEqual({ type: 'Secret', name: 'vault-server-tls', key: 'ca.crt', namespace: 'security' });
    expect(vault.caBundle).toBeUndefined();
    const moved = synthWithVault((chart, v) => new EsoStore(chart, 'store', { vault: v, namespace: 'eso' }), { namespace: 'vault-system' });
    expect(find(moved, 'ClusterSecretStore', 'k8s-secrets').spec.provider.vault.caProvider.namespace).toBe('vault-system');
  });

  test('matches the snapshot', () => {
    expect(manifests).toMatchSnapshot();
  });

  test('every object is valid against the Kubernetes API and ESO v1 CRD schemas', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });
});

describe('EsoStore props', () => {
  test('takes the server from a VaultStack, so the two cannot drift', () => {
    const out = synthWithVault((chart, vault) => new EsoStore(chart, 'store', { vault }), { namespace: 'vault-system', clusterDomain: 'home.arpa' });
    const spec = find(out, 'ClusterSecretStore', 'k8s-secrets').spec.provider.vault;
    expect(spec.server).toBe('https://vault.vault-system.svc.home.arpa:8200');
  });

  test('every prop reaches the output, and the namespace is always written', () => {
    const out = store({
      namespace: 'eso', storeName: 'vault-kv', serviceAccountName: 'eso-auth',
      path: 'kv', kvVersion: 'v1', authMountPath: 'k8s/homelab', role: 'reader',
    });
    expect(find(out, 'ServiceAccount', 'eso-auth').metadata.namespace).toBe('eso');
    expect(find(out, 'ClusterSecretStore', 'vault-kv').spec.provider.vault).toEqual({
      server: 'https://vault.security.svc.cluster.local:8200', path: 'kv', version: 'v1',
      caProvider: { type: 'Secret', name: 'vault-server-tls', key: 'ca.crt', namespace: 'security' },
      auth: { kubernetes: { mountPath: 'k8s/homelab', role: 'reader', serviceAccountRef: { name: 'eso-auth', namespace: 'eso', audiences: ['vault'] } } },
    });
  });

  test('tokens are asked for the audience, so one sent to Vault is useless against the Kubernetes API', () => {
    const ref = find(store({ audience: 'vault.lan' }), 'ClusterSecretStore', 'k8s-secrets').spec.provider.vault.auth.kubernetes.serviceAccountRef;
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
    ['extra namespace', { namespaces: ['Apps'] }, /invalid EsoStore namespaces: got "Apps", expected a DNS-1123 label/],
  ])('rejects a wrong %s', (_case, props, message) => {
    expect(() => store(props)).toThrow(message);
  });
});

describe('EsoStore serves only the namespaces it was meant for', () => {
  const conditions = (out: any[]) => find(out, 'ClusterSecretStore', 'k8s-secrets').spec.conditions;

  test('the namespaces of the AppSecrets reading through it, each once, whenever they are added', () => {
    const out = synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault });
      for (const [id, namespace] of [['b', 'monitoring'], ['a', 'db'], ['c', 'db']]) {
        new AppSecret(chart, id, { namespace, store: s, dataFrom: [{ path: id }] });
      }
    });
    expect(conditions(out)).toEqual([{ namespaces: ['db', 'monitoring'] }]);
  });

  test('plus the namespaces given for ExternalSecrets managed elsewhere; another store\'s readers do not count', () => {
    const out = synthWithVault((chart, vault) => {
      const s = new EsoStore(chart, 'store', { vault, namespaces: ['legacy'] });
      const other = new EsoStore(chart, 'other', { vault, storeName: 'other' });
      new AppSecret(chart, 'app', { namespace: 'db', store: s, dataFrom: [{ path: 'app' }] });
      new AppSecret(chart, 'elsewhere', { namespace: 'wiki', store: other, dataFrom: [{ path: 'wiki' }] });
    });
    expect(conditions(out)).toEqual([{ namespaces: ['db', 'legacy'] }]);
    expect(find(out, 'ClusterSecretStore', 'other').spec.conditions).toEqual([{ namespaces: ['wiki'] }]);
  });
});
