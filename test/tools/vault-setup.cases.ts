import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { root } from '../../build/bundle';
import { realDist } from '../support/vault-setup-fixtures';
import { desiredConfig } from '../../runtime/common/vault-config/desired';
import { manifestsFrom } from '../../runtime/common/vault-config/manifests';
import { readManifests } from '../../tools/vault-setup/manifests';
import { deriveRules, diffLines, policyLines } from '../../runtime/common/vault-config/policy';

// Unit tests of what vault-setup wants, from the manifests alone: the stores and ExternalSecrets it reads, the desired
// state and the policy it derives, and the dists it refuses. Comparing that with what Vault holds (normalization, the
// plan), apply and the command line are in vault-setup.plan.cases.ts; the CLI against a stand-in for Vault is in
// vault-setup.integration.cases.ts.

/** The audiences the fixture's store asks for, as EsoStore writes them (none before it wrote any). */
const realAudiences = (): string[] => realDist().find((d: any) => d.kind === 'ClusterSecretStore')!.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences ?? [];

const store = (name = 'k8s-secrets', vault: Record<string, unknown> = {}) => ({
  apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name },
  spec: {
    provider: {
      vault: {
        server: 'http://vault.security.svc.cluster.local:8200', path: 'secret', version: 'v2',
        auth: { kubernetes: { mountPath: 'kubernetes', role: 'eso-reader', serviceAccountRef: { name: 'eso-vault-auth', namespace: 'security' } } },
        ...vault,
      },
    },
  },
});

const externalSecret = (name: string, spec: Record<string, unknown>, storeRef: unknown = { kind: 'ClusterSecretStore', name: 'k8s-secrets' }) => ({
  apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name, namespace: 'apps' },
  spec: { secretStoreRef: storeRef, target: { name }, ...spec },
});

const linesFor = (docs: any[]) => desiredConfig(manifestsFrom(docs)).policies.map((p) => ({ name: p.name, lines: p.lines }));

test('the project\'s own dist/, whatever main.ts declares: each store\'s role reads exactly the paths of the ExternalSecrets naming it', () => {
  const docs = readManifests(join(root, 'dist'));
  const policies = desiredConfig(manifestsFrom(docs)).policies;
  const stores = docs.filter((d: any) => d.kind === 'ClusterSecretStore');
  expect(stores.length).toBeGreaterThan(0);
  for (const store of stores) {
    const { path: mount, auth } = store.spec.provider.vault;
    const expected = new Set<string>();
    for (const es of docs.filter((d: any) => d.kind === 'ExternalSecret' && d.spec.secretStoreRef.name === store.metadata.name)) {
      const refs = [...(es.spec.data ?? []).map((d: any) => d.remoteRef), ...(es.spec.dataFrom ?? []).map((d: any) => d.extract).filter(Boolean)];
      // metadataPolicy Fetch reads the metadata instead of the data.
      for (const ref of refs.filter((r: any) => r.metadataPolicy !== 'Fetch')) expected.add(`path "${mount}/data/${ref.key}" { capabilities = ["read"] }`);
    }
    expect(expected.size).toBeGreaterThan(0);
    const policy = policies.find((p) => p.name === auth.kubernetes.role)!;
    expect({ store: store.metadata.name, lines: policy.lines.filter((l: string) => l.startsWith(`path "${mount}/data/`)) }).toEqual({ store: store.metadata.name, lines: [...expected].sort() });
  }
});

describe('desired state from the seed\'s four secrets (a fixture)', () => {
  test('one store per app namespace: kv v2 at secret, kubernetes auth, a role of its own, admitting its namespace only', () => {
    const stores = manifestsFrom(realDist()).stores;
    expect(stores.map((s) => [s.name, s.role, s.admits])).toEqual([
      ['k8s-secrets-db', 'eso-reader-db', ['db']],
      ['k8s-secrets-authentik', 'eso-reader-authentik', ['authentik']],
      ['k8s-secrets-monitoring', 'eso-reader-monitoring', ['monitoring']],
    ]);
    expect(stores[0]).toEqual({
      name: 'k8s-secrets-db', mount: 'secret', authMount: 'kubernetes', role: 'eso-reader-db', serviceAccount: 'eso-vault-auth', namespace: 'security',
      audiences: realAudiences(), server: 'https://vault.security.svc.cluster.local:8200', file: 'eso-store.k8s.yaml', admits: ['db'],
    });
  });

  test("each namespace's policy grants read on exactly its own secrets' data paths", () => {
    expect(linesFor(realDist())).toEqual([
      { name: 'eso-reader-authentik', lines: ['path "secret/data/authentik-db" { capabilities = ["read"] }', 'path "secret/data/authentik-secret" { capabilities = ["read"] }'] },
      { name: 'eso-reader-db', lines: ['path "secret/data/postgres-secret" { capabilities = ["read"] }'] },
      { name: 'eso-reader-monitoring', lines: ['path "secret/data/grafana-admin" { capabilities = ["read"] }'] },
    ]);
  });

  test('the secrets to check: postgres-secret with its two fields, the extracted ones whole', () => {
    const want = desiredConfig(manifestsFrom(realDist()));
    expect(want.secrets.map((s) => [`${s.mount}/${s.key}`, s.source, s.fields, s.readers])).toEqual([
      ['secret/authentik-db', 'data', [], ['externalsecret authentik/authentik-db']],
      ['secret/authentik-secret', 'data', [], ['externalsecret authentik/authentik-secret']],
      ['secret/grafana-admin', 'data', [], ['externalsecret monitoring/grafana-admin']],
      ['secret/postgres-secret', 'data', ['POSTGRES_PASSWORD', 'POSTGRES_USER'], ['externalsecret db/postgres-secret']],
    ]);
    expect(want.kvMounts).toEqual(['secret']);
    expect(want.authMounts).toEqual(['kubernetes']);
    // Every role binds ESO's one ServiceAccount: the fence is each store's conditions and its role's policy.
    expect(want.roles.map((r) => [r.name, r.policies, r.stores])).toEqual([
      ['eso-reader-authentik', ['eso-reader-authentik'], [{ name: 'k8s-secrets-authentik', file: 'eso-store.k8s.yaml' }]],
      ['eso-reader-db', ['eso-reader-db'], [{ name: 'k8s-secrets-db', file: 'eso-store.k8s.yaml' }]],
      ['eso-reader-monitoring', ['eso-reader-monitoring'], [{ name: 'k8s-secrets-monitoring', file: 'eso-store.k8s.yaml' }]],
    ]);
    expect(want.roles[0]).toMatchObject({ authMount: 'kubernetes', serviceAccounts: ['eso-vault-auth'], namespaces: ['security'], ttlSeconds: 3600, audience: realAudiences()[0] });
  });

  test('an extra ExternalSecret through a store adds its path to that store\'s role, and only that', () => {
    const extra = { ...externalSecret('new-app', { dataFrom: [{ extract: { key: 'apps/new-app' } }] }, { kind: 'ClusterSecretStore', name: 'k8s-secrets-db' }), metadata: { name: 'new-app', namespace: 'db' } };
    const before = linesFor(realDist());
    const after = linesFor([...realDist(), extra]);
    expect(after.map((p, i) => [p.name, diffLines(before[i].lines, p.lines)])).toEqual([
      ['eso-reader-authentik', []], ['eso-reader-db', ['+ path "secret/data/apps/new-app" { capabilities = ["read"] }']], ['eso-reader-monitoring', []],
    ]);
  });

  test('reads the .yaml files of a folder, and fails on a missing folder saying what to do', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dist-'));
    writeFileSync(join(dir, 'a.k8s.yaml'), `${JSON.stringify(store())}\n---\n${JSON.stringify(externalSecret('x', { data: [] }))}\n`);
    writeFileSync(join(dir, 'notes.txt'), 'not yaml: [');
    expect(readManifests(dir).map((d) => d.kind)).toEqual(['ClusterSecretStore', 'ExternalSecret']);
    expect(() => readManifests(join(dir, 'absent'))).toThrow(/cannot read the manifests in .*absent \(ENOENT\): run `npm run synth`, or pass --dist DIR/);
  });
});

describe('policy derivation', () => {
  const rulesOf = (spec: Record<string, unknown>, storeRef?: unknown) => linesFor([store(), externalSecret('x', spec, storeRef)])[0].lines;

  test('data and dataFrom.extract: read on the data path; the same path twice is one line', () => {
    expect(rulesOf({
      data: [{ secretKey: 'a', remoteRef: { key: 'db', property: 'a' } }, { secretKey: 'b', remoteRef: { key: 'db', property: 'b', version: '3' } }],
      dataFrom: [{ extract: { key: 'db' } }],
    })).toEqual(['path "secret/data/db" { capabilities = ["read"] }']);
  });

  test('metadataPolicy Fetch: read on the metadata path only', () => {
    expect(rulesOf({ data: [{ secretKey: 'owner', remoteRef: { key: 'db', property: 'owner', metadataPolicy: 'Fetch' } }] }))
      .toEqual(['path "secret/metadata/db" { capabilities = ["read"] }']);
  });

  test('dataFrom.find by name: list on the metadata glob and read on the data glob; by tags also read on metadata', () => {
    expect(rulesOf({ dataFrom: [{ find: { path: 'apps/', name: { regexp: '.*' } } }] })).toEqual([
      'path "secret/data/apps/*" { capabilities = ["read"] }',
      'path "secret/metadata/apps/*" { capabilities = ["list"] }',
    ]);
    expect(rulesOf({ dataFrom: [{ find: { tags: { team: 'a' } } }] })).toEqual([
      'path "secret/data/*" { capabilities = ["read"] }',
      'path "secret/metadata/*" { capabilities = ["list", "read"] }',
    ]);
  });

  test('only reads through this ClusterSecretStore count; sourceRef overrides the store per entry', () => {
    const other = { kind: 'ClusterSecretStore', name: 'other' };
    const ours = { kind: 'ClusterSecretStore', name: 'k8s-secrets' };
    expect(rulesOf({ data: [{ secretKey: 'a', remoteRef: { key: 'a' } }] }, { name: 'k8s-secrets' })).toEqual([]); // kind defaults to SecretStore
    expect(rulesOf({ data: [{ secretKey: 'a', remoteRef: { key: 'a' } }] }, other)).toEqual([]);
    expect(rulesOf({
      data: [
        { secretKey: 'a', remoteRef: { key: 'via-override' }, sourceRef: { storeRef: ours } },
        { secretKey: 'b', remoteRef: { key: 'elsewhere' } },
      ],
      dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'p' } } }],
    }, other)).toEqual(['path "secret/data/via-override" { capabilities = ["read"] }']);
    expect(rulesOf({ data: [{ secretKey: 'a', remoteRef: { key: 'overridden' }, sourceRef: { storeRef: other } }] })).toEqual([]);
  });

  test('a ClusterExternalSecret counts like an ExternalSecret', () => {
    const ces = { apiVersion: 'external-secrets.io/v1', kind: 'ClusterExternalSecret', metadata: { name: 'shared' },
      spec: { externalSecretSpec: externalSecret('shared', { dataFrom: [{ extract: { key: 'shared' } }] }).spec } };
    expect(linesFor([store(), ces])[0].lines).toEqual(['path "secret/data/shared" { capabilities = ["read"] }']);
  });

  test.each([
    ['a key starting with the mount', [externalSecret('x', { dataFrom: [{ extract: { key: 'secret/db' } }] })], /externalsecret apps\/x reads key "secret\/db", which starts with the store's mount "secret": write it relative to the mount \("db"\)/],
    ['an empty segment', [externalSecret('x', { dataFrom: [{ extract: { key: 'a//b' } }] })], /reads key "a\/\/b": write it as a relative vault path/],
    ['a PushSecret through the store', [{ apiVersion: 'external-secrets.io/v1alpha1', kind: 'PushSecret', metadata: { name: 'p', namespace: 'apps' },
      spec: { secretStoreRefs: [{ kind: 'ClusterSecretStore', name: 'k8s-secrets' }] } }], /pushsecret apps\/p writes through k8s-secrets: vault-setup derives read-only policies/],
  ])('refused: %s', (_what, docs, message) => {
    expect(() => manifestsFrom([store(), ...docs])).toThrow(message);
  });

  test.each([
    ['kv v1', { version: 'v1' }, /clustersecretstore k8s-secrets reads kv v1: vault-setup sets up kv v2 stores only/],
    ['no path', { path: undefined }, /has no spec.provider.vault.path/],
    ['a referent service account', { auth: { kubernetes: { role: 'r', serviceAccountRef: { name: 'sa' } } } }, /has no auth.kubernetes.serviceAccountRef.namespace/],
    ['token auth', { auth: { tokenSecretRef: { name: 't', key: 'k' } } }, /does not log in with kubernetes auth/],
  ])('a store vault-setup cannot set up is refused: %s', (_what, vault, message) => {
    expect(() => manifestsFrom([store('k8s-secrets', vault)])).toThrow(message);
  });

  test('no vault store at all: an error, not an empty plan', () => {
    expect(() => manifestsFrom([])).toThrow(/no ClusterSecretStore with a vault provider/);
  });

  test('two stores sharing a role with different service accounts are refused', () => {
    const other = store('other', { auth: { kubernetes: { role: 'eso-reader', serviceAccountRef: { name: 'x', namespace: 'y' } } } });
    expect(() => desiredConfig(manifestsFrom([store(), other]))).toThrow(/clustersecretstores k8s-secrets and other both use role eso-reader/);
  });

  test('the policy text is stable: sorted paths, sorted and deduplicated capabilities', () => {
    const rules = deriveRules('kv', [
      { kind: 'find', store: 's', tags: true, by: 'x' }, { kind: 'data', store: 's', key: 'b', by: 'x' },
      { kind: 'find', store: 's', tags: false, by: 'y' }, { kind: 'data', store: 's', key: 'a', by: 'x' },
    ]);
    expect(policyLines(rules)).toEqual([
      'path "kv/data/*" { capabilities = ["read"] }',
      'path "kv/data/a" { capabilities = ["read"] }',
      'path "kv/data/b" { capabilities = ["read"] }',
      'path "kv/metadata/*" { capabilities = ["list", "read"] }',
    ]);
  });
});
