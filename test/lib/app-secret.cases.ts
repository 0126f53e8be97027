import { AppSecret, AppSecretProps, EsoStore } from '../../lib';
import { find, Manifest, schemaErrors } from '../support/manifests';
import { synthWithVault } from '../support/with-vault';

type Props = Omit<AppSecretProps, 'store'> & { store?: AppSecretProps['store'] };

/** The ExternalSecret of one AppSecret, reading through a default EsoStore unless props name one. */
function secret(props: Props, id = 'app'): Manifest {
  return synthWithVault((chart, vault) => new AppSecret(chart, id, { store: new EsoStore(chart, 'store', { vault }), ...props }))
    .find((m) => m.kind === 'ExternalSecret')!;
}

const postgres = secret({
  namespace: 'db',
  data: [{ secretKey: 'POSTGRES_USER', path: 'postgres-secret' }, { secretKey: 'POSTGRES_PASSWORD', path: 'postgres-secret' }],
}, 'postgres-secret');

describe('AppSecret', () => {
  test('reproduces the seed ExternalSecret postgres-secret field for field', () => {
    expect(postgres).toEqual({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'postgres-secret', namespace: 'db', annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '2' } },
      spec: {
        refreshInterval: '1h',
        // The store of the ExternalSecret's namespace: only db may name it, and its role reads only db's paths.
        secretStoreRef: { name: 'k8s-secrets-db', kind: 'ClusterSecretStore' },
        target: { name: 'postgres-secret', creationPolicy: 'Owner' },
        data: [
          { secretKey: 'POSTGRES_USER', remoteRef: { key: 'postgres-secret', property: 'POSTGRES_USER' } },
          { secretKey: 'POSTGRES_PASSWORD', remoteRef: { key: 'postgres-secret', property: 'POSTGRES_PASSWORD' } },
        ],
      },
    });
  });

  test('extracts a whole Vault path with dataFrom', () => {
    const es = secret({ namespace: 'monitoring', dataFrom: [{ path: 'grafana-admin' }] }, 'grafana-admin');
    expect(es.spec.dataFrom).toEqual([{ extract: { key: 'grafana-admin' } }]);
    expect(es.spec.data).toBeUndefined();
    expect(es.spec.target).toEqual({ name: 'grafana-admin', creationPolicy: 'Owner' });
  });

  test('matches the snapshot', () => {
    expect(postgres).toMatchSnapshot();
  });

  test('writes every prop: name, target, policies, template metadata, force-sync and a custom store', () => {
    const es = find(synthWithVault((chart, vault) => {
      const store = new EsoStore(chart, 'store', { vault, storeName: 'vault-kv', path: 'kv' });
      new AppSecret(chart, 'id', {
        name: 'api-keys', namespace: 'apps', store, refreshInterval: '15m', targetName: 'api-keys-secret',
        creationPolicy: 'Orphan', deletionPolicy: 'Retain', forceSync: '1764091234',
        targetLabels: { 'app.kubernetes.io/name': 'api' }, targetAnnotations: { 'reloader.stakater.com/match': 'true' },
        data: [{ secretKey: 'token', path: 'apps/api', property: 'api-token', decodingStrategy: 'Base64' }],
        dataFrom: [{ path: 'apps/shared', conversionStrategy: 'Unicode', metadataPolicy: 'Fetch' }],
      });
    }), 'ExternalSecret', 'api-keys');
    expect(es.metadata).toEqual({
      name: 'api-keys', namespace: 'apps',
      annotations: { 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true', 'argocd.argoproj.io/sync-wave': '2', 'force-sync': '1764091234' },
    });
    expect(es.spec).toEqual({
      refreshInterval: '15m',
      secretStoreRef: { name: 'vault-kv-apps', kind: 'ClusterSecretStore' },
      target: {
        name: 'api-keys-secret', creationPolicy: 'Orphan', deletionPolicy: 'Retain',
        template: { metadata: { labels: { 'app.kubernetes.io/name': 'api' }, annotations: { 'reloader.stakater.com/match': 'true' } } },
      },
      data: [{ secretKey: 'token', remoteRef: { key: 'apps/api', property: 'api-token', decodingStrategy: 'Base64' } }],
      dataFrom: [{ extract: { key: 'apps/shared', conversionStrategy: 'Unicode', metadataPolicy: 'Fetch' } }],
    });
    expect(schemaErrors([es])).toEqual([]);
  });

  test('writes no strategy, deletion policy or template unless set', () => {
    const text = JSON.stringify(postgres);
    for (const field of ['decodingStrategy', 'conversionStrategy', 'metadataPolicy', 'deletionPolicy', 'template', 'force-sync']) {
      expect(text).not.toContain(field);
    }
  });

  test('is valid against the ESO v1 CRD schema', () => {
    expect(schemaErrors([postgres])).toEqual([]);
  });

  test('the strict CRD check catches an unknown field', () => {
    const broken = { ...postgres, spec: { ...postgres.spec, target: { ...postgres.spec.target, nam: 'typo' } } };
    expect(schemaErrors([broken])).toEqual([expect.stringContaining('must NOT have additional properties')]);
  });
});

describe('AppSecret rejects', () => {
  const base: Props = { namespace: 'db', data: [{ secretKey: 'PASSWORD', path: 'postgres-secret' }] };
  test.each<[string, Partial<Props>, RegExp]>([
    ['no data at all', { data: [], dataFrom: [] }, /invalid AppSecret app data: got \[\], expected at least one key in data or one path in dataFrom/],
    ['no data or dataFrom props', { data: undefined }, /invalid AppSecret app data: got null, expected at least one key/],
    ['a duplicate Secret key', { data: [{ secretKey: 'A', path: 'x' }, { secretKey: 'A', path: 'y' }] }, /invalid AppSecret app data secretKey: got "A", expected each secretKey once/],
    ['an invalid Secret key', { data: [{ secretKey: 'MY KEY', path: 'x' }] }, /invalid AppSecret app data secretKey: got "MY KEY"/],
    ['an empty property', { data: [{ secretKey: 'A', path: 'x', property: '' }] }, /invalid AppSecret app data property: got ""/],
    ['an invalid name', { name: 'Postgres_Secret' }, /invalid AppSecret name: got "Postgres_Secret", expected a DNS-1123 subdomain/],
    ['an invalid namespace', { namespace: 'my.db' }, /invalid AppSecret app namespace: got "my.db", expected a DNS-1123 label/],
    ['an invalid target name', { targetName: 'UPPER' }, /invalid AppSecret app targetName: got "UPPER"/],
    ['an invalid duration', { refreshInterval: '1 hour' }, /invalid AppSecret app refreshInterval: got "1 hour", expected a duration/],
    ['a duration without unit', { refreshInterval: '60' }, /invalid AppSecret app refreshInterval: got "60"/],
    ['Delete without Owner', { creationPolicy: 'Orphan', deletionPolicy: 'Delete' }, /invalid AppSecret app deletionPolicy: got "Delete", expected "Merge" or "Retain" with creationPolicy "Orphan" \("Delete" needs creationPolicy "Owner"\)/],
    ['Merge with None', { creationPolicy: 'None', deletionPolicy: 'Merge' }, /invalid AppSecret app deletionPolicy: got "Merge", expected "Retain" or "Delete" with creationPolicy "None"/],
    ['an unknown creation policy', { creationPolicy: 'owner' as any }, /invalid AppSecret app creationPolicy: got "owner", expected one of "Owner", "Orphan", "Merge", "None", "CreateOrMerge"/],
    ['an unknown deletion policy', { deletionPolicy: 'Keep' as any }, /invalid AppSecret app deletionPolicy: got "Keep"/],
    ['target labels that are not a map', { targetLabels: 'app=api' } as any, /invalid AppSecret app targetLabels: got "app=api", expected a map of names to string values/],
    ['a path with a leading secret/', { data: [{ secretKey: 'A', path: 'secret/postgres-secret' }] }, /invalid AppSecret app path: got "secret\/postgres-secret", expected a path relative to the store's mount "secret" \(this would read secret\/secret\/postgres-secret\)/],
    ['a dataFrom path with a leading secret/', { dataFrom: [{ path: 'secret/grafana-admin' }] }, /invalid AppSecret app path: got "secret\/grafana-admin"/],
    ['a path with a leading /', { data: [{ secretKey: 'A', path: '/postgres-secret' }] }, /invalid AppSecret app path: got "\/postgres-secret", expected a relative Vault path/],
    ['a path with ..', { dataFrom: [{ path: 'apps/../db' }] }, /invalid AppSecret app path: got "apps\/..\/db"/],
    ['an unknown decoding strategy', { data: [{ secretKey: 'A', path: 'x', decodingStrategy: 'base64' as any }] }, /invalid AppSecret app decodingStrategy: got "base64"/],
    ['a label value too long', { targetLabels: { team: 'x'.repeat(64) } }, /invalid AppSecret app targetLabels: got "x{64}"/],
    ['an annotation key with spaces', { targetAnnotations: { 'my note': 'x' } }, /invalid AppSecret app targetAnnotations: got "my note"/],
    ['an empty force-sync token', { forceSync: '' }, /invalid AppSecret app forceSync: got "", expected a token/],
  ])('%s', (_case, props, message) => {
    expect(() => secret({ ...base, ...props } as Props)).toThrow(message);
  });

  test('a path with the store\'s own mount, whatever it is named', () => {
    expect(() => synthWithVault((chart, vault) => new AppSecret(chart, 'app', {
      namespace: 'db', store: new EsoStore(chart, 'store', { vault, path: 'kv' }), dataFrom: [{ path: 'kv/db' }],
    }))).toThrow(/invalid AppSecret app path: got "kv\/db", expected a path relative to the store's mount "kv"/);
  });
});
