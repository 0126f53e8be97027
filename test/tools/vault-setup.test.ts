import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { root } from '../../build/bundle';
import { homelabDist } from '../support/homelab-dist';
import { applyItems } from '../../tools/vault-setup/apply';
import { desiredConfig, KUBERNETES_HOST } from '../../tools/vault-setup/desired';
import { manifestsFrom, readManifests } from '../../tools/vault-setup/manifests';
import { nameSet, normalUrl, ttlSeconds } from '../../tools/vault-setup/normalize';
import { makePlan } from '../../tools/vault-setup/plan';
import { deriveRules, diffLines, normalizedPolicy, parsePolicy, policyLines } from '../../tools/vault-setup/policy';
import { parseArgs, readToken } from '../../tools/vault-setup/settings';
import { kvKind, VaultState } from '../../tools/vault-setup/state';
import { VaultClient } from '../../tools/vault-setup/vault-client';

// Unit tests of vault-setup's pure parts: desired state from manifests, the derived policy, normalization and the
// plan's comparisons. The CLI against a stand-in for Vault is in vault-setup.integration.test.ts.

// The seed's four secrets, from a fixture: the project's dist/ grows as apps are added to main.ts.
const realDist = () => readManifests(homelabDist());
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

test('the project\'s own dist/, whatever main.ts declares: data read on exactly the paths its ExternalSecrets read', () => {
  const docs = readManifests(join(root, 'dist'));
  const mount = docs.find((d: any) => d.kind === 'ClusterSecretStore')!.spec.provider.vault.path;
  const expected = new Set<string>();
  for (const es of docs.filter((d: any) => d.kind === 'ExternalSecret')) {
    const refs = [...(es.spec.data ?? []).map((d: any) => d.remoteRef), ...(es.spec.dataFrom ?? []).map((d: any) => d.extract).filter(Boolean)];
    // metadataPolicy Fetch reads the metadata instead of the data.
    for (const ref of refs.filter((r: any) => r.metadataPolicy !== 'Fetch')) expected.add(`path "${mount}/data/${ref.key}" { capabilities = ["read"] }`);
  }
  expect(expected.size).toBeGreaterThan(0);
  expect(linesFor(docs)[0].lines.filter((l: string) => l.startsWith(`path "${mount}/data/`))).toEqual([...expected].sort());
});

describe('desired state from the committed dist/', () => {
  test('one store: kv v2 at secret, kubernetes auth, role eso-reader bound to security/eso-vault-auth', () => {
    expect(manifestsFrom(realDist()).stores).toEqual([{
      name: 'k8s-secrets', mount: 'secret', authMount: 'kubernetes', role: 'eso-reader', serviceAccount: 'eso-vault-auth', namespace: 'security',
      audiences: realAudiences(), server: 'http://vault.security.svc.cluster.local:8200', file: 'eso-store.k8s.yaml',
    }]);
  });

  test("the policy for the homelab's four secrets grants read on exactly their four data paths", () => {
    expect(linesFor(realDist())).toEqual([{
      name: 'eso-reader',
      lines: [
        'path "secret/data/authentik-db" { capabilities = ["read"] }',
        'path "secret/data/authentik-secret" { capabilities = ["read"] }',
        'path "secret/data/grafana-admin" { capabilities = ["read"] }',
        'path "secret/data/postgres-secret" { capabilities = ["read"] }',
      ],
    }]);
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
    expect(want.roles).toEqual([{
      authMount: 'kubernetes', name: 'eso-reader', serviceAccounts: ['eso-vault-auth'], namespaces: ['security'], policies: ['eso-reader'], ttlSeconds: 3600,
      audience: realAudiences()[0], stores: [{ name: 'k8s-secrets', file: 'eso-store.k8s.yaml' }],
    }]);
  });

  test('an extra ExternalSecret through the store adds its path, and only that', () => {
    const extra = externalSecret('new-app', { dataFrom: [{ extract: { key: 'apps/new-app' } }] });
    const [policy] = linesFor([...realDist(), extra]);
    expect(diffLines(linesFor(realDist())[0].lines, policy.lines)).toEqual(['+ path "secret/data/apps/new-app" { capabilities = ["read"] }']);
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

describe('normalization', () => {
  test('a policy read back from vault in another layout, with comments, parses to the canonical lines', () => {
    const text = `# written by hand
path "secret/data/b" {
  capabilities = [ "read" ]
}
/* a block comment */
path "secret/metadata/*" { capabilities = ["read", "list",] }
path "secret/data/b" { capabilities = ["read"] }   // again
`;
    expect(parsePolicy(text)).toEqual([
      'path "secret/data/b" { capabilities = ["read"] }',
      'path "secret/metadata/*" { capabilities = ["list", "read"] }',
    ]);
  });

  test('a policy with anything but path/capabilities is compared line by line', () => {
    const text = 'path "secret/data/a" {\n  capabilities = ["read"]\n  allowed_parameters = { "x" = [] }\n}\n';
    expect(parsePolicy(text)).toBeUndefined();
    expect(normalizedPolicy(text)).toEqual(['path "secret/data/a" {', 'capabilities = ["read"]', 'allowed_parameters = { "x" = [] }', '}']);
  });

  test('the policy diff: removed lines then added lines', () => {
    expect(diffLines(['a', 'wide', 'b'], ['b', 'a', 'c'])).toEqual(['- wide', '+ c']);
  });

  test.each([
    [3600, 3600], ['3600', 3600], ['1h', 3600], ['60m', 3600], ['1h30m', 5400], ['90s', 90], ['', undefined], ['soon', undefined], [undefined, undefined],
  ])('ttl %p is %p seconds', (value, seconds) => {
    expect(ttlSeconds(value)).toBe(seconds);
  });

  test('names as sorted sets; URLs without default port or trailing slash', () => {
    expect(nameSet(['b', 'a', 'b'])).toEqual(['a', 'b']);
    expect(nameSet(null)).toEqual([]);
    expect(nameSet('a, b')).toEqual(['a', 'b']);
    expect(normalUrl('https://kubernetes.default.svc:443/')).toBe(normalUrl(KUBERNETES_HOST));
    expect(normalUrl('https://kubernetes.default.svc:6443')).not.toBe(normalUrl(KUBERNETES_HOST));
  });

  test.each([
    [{ type: 'kv', options: { version: '2' } }, 'kv v2'], [{ type: 'kv-v2' }, 'kv v2'], [{ type: 'kv', options: null }, 'kv v1'],
    [{ type: 'kv', options: { version: '1' } }, 'kv v1'], [{ type: 'generic' }, 'kv v1'], [{ type: 'transit' }, 'transit'],
  ])('mount %p is %s', (entry, kind) => {
    expect(kvKind(entry)).toBe(kind);
  });
});

describe('plan against a state', () => {
  const want = desiredConfig(manifestsFrom(realDist()));
  // The role's audience as the fixture's store asks for it: set in Vault's state, so only the tested field drifts.
  const audience = want.roles[0].audience === undefined ? {} : { audience: want.roles[0].audience };
  const state = (overrides: Partial<VaultState> = {}): VaultState => ({
    mounts: { 'secret/': { type: 'kv', options: { version: '2' } } },
    auths: { 'kubernetes/': { type: 'kubernetes' } },
    authConfigs: new Map([['kubernetes', { kubernetes_host: 'https://kubernetes.default.svc', disable_local_ca_jwt: false, token_reviewer_jwt_set: false }]]),
    roles: new Map([['kubernetes/eso-reader', {
      // As the README's manual `policies=eso-reader ttl=1h` left it: older field names, TTL in seconds, names reordered.
      bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'],
      policies: ['eso-reader'], token_policies: ['eso-reader'], ttl: 3600, token_ttl: 3600, ...audience,
    }]]),
    roleNames: new Map([['kubernetes', ['eso-reader', 'other-app']]]),
    policies: new Map([['eso-reader', `${want.policies[0].lines.join('\n\n')}\n`]]),
    policyNames: ['default', 'eso-reader', 'root', 'admin'],
    secrets: new Map(),
    ...overrides,
  });

  test("vault's normal form plans no change; other policies and roles are listed as not managed", () => {
    const plan = makePlan(want, state());
    expect(plan.items.map((i) => `${i.label}: ${i.state}`)).toEqual([
      'mount secret/ (kv v2): in sync', 'auth kubernetes/: in sync', 'auth kubernetes/ config: in sync',
      'policy eso-reader: in sync', 'role kubernetes/eso-reader: in sync',
    ]);
    expect(plan.unmanaged).toEqual(['policy admin', 'role kubernetes/other-app']);
  });

  test('a config with a reviewer JWT and a CA: the replacing write keeps the CA and says the JWT goes', () => {
    const plan = makePlan(want, state({
      authConfigs: new Map([['kubernetes', { kubernetes_host: 'https://10.0.0.1:6443', kubernetes_ca_cert: 'PEM', token_reviewer_jwt_set: true, issuer: '' }]]),
    }));
    const config = plan.items.find((i) => i.label === 'auth kubernetes/ config')!;
    expect(config.state).toBe('change');
    expect(config.details).toEqual([
      `~ kubernetes_host: "https://10.0.0.1:6443" -> "${KUBERNETES_HOST}"`,
      expect.stringMatching(/^- token_reviewer_jwt: vault never returns it, so this replacing write drops it/),
    ]);
    // Every field read back goes back but the managed ones and the read-only token_reviewer_jwt_set.
    expect(config.write?.body).toEqual({ kubernetes_ca_cert: 'PEM', issuer: '', kubernetes_host: KUBERNETES_HOST, disable_local_ca_jwt: false });
  });

  test('a role with another TTL and an extra policy: one change line each, the write sends every managed field', () => {
    const plan = makePlan(want, state({
      roles: new Map([['kubernetes/eso-reader', { bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: ['eso-reader', 'admin'], token_ttl: 86400, ...audience }]]),
    }));
    const role = plan.items.find((i) => i.label === 'role kubernetes/eso-reader')!;
    expect(role.details).toEqual(['~ token_policies: ["admin", "eso-reader"] -> ["eso-reader"]', '~ token_ttl: 86400 (24h) -> 3600 (1h)']);
    expect(role.write).toEqual({
      method: 'POST', path: '/v1/auth/kubernetes/role/eso-reader',
      body: { bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: ['eso-reader'], token_ttl: 3600, ...audience },
    });
  });

  test('secrets: missing, missing fields by name, ok', () => {
    const plan = makePlan(want, state({
      secrets: new Map<string, Record<string, unknown> | undefined>([
        ['data secret/postgres-secret', { POSTGRES_USER: null }],
        ['data secret/grafana-admin', { 'admin-user': null, 'admin-password': null }],
      ]),
    }));
    expect(plan.secrets.map((s) => [s.label, s.state, s.missingFields])).toEqual([
      ['secret secret/authentik-db', 'missing', []],
      ['secret secret/authentik-secret', 'missing', []],
      ['secret secret/grafana-admin', 'ok', []],
      ['secret secret/postgres-secret', 'missing fields', ['POSTGRES_PASSWORD']],
    ]);
  });
});

test('apply stops at the first failed write and names what it wrote before', async () => {
  const written: string[] = [];
  const vault: VaultClient = {
    addr: 'http://vault', sealStatus: async () => ({ status: 200, json: {} }), read: async () => undefined, list: async () => [],
    write: async (method, path) => {
      if (path.includes('role')) throw new Error('POST /v1/auth/kubernetes/role/eso-reader answered HTTP 500 (internal error)');
      written.push(`${method} ${path}`);
    },
  };
  const plan = makePlan(desiredConfig(manifestsFrom(realDist())), {
    mounts: {}, auths: {}, authConfigs: new Map(), roles: new Map(), roleNames: new Map(), policies: new Map(), policyNames: [], secrets: new Map(),
  });
  await expect(applyItems(vault, plan.items)).rejects.toThrow(
    'apply stopped at role kubernetes/eso-reader: POST /v1/auth/kubernetes/role/eso-reader answered HTTP 500 (internal error) '
    + '(written before it: mount secret/ (kv v2): created, auth kubernetes/: created, auth kubernetes/ config: created, policy eso-reader: created)');
  expect(written).toHaveLength(4);
});

describe('command line and token', () => {
  test.each([
    [['plan'], { command: 'plan', help: false }],
    [['apply', '--dist', '/x/dist'], { command: 'apply', distDir: '/x/dist' }],
    [['--dist=/y', 'plan'], { command: 'plan', distDir: '/y' }],
    [['--help'], { help: true }],
  ])('%p parses', (argv, expected) => {
    expect(parseArgs(argv)).toMatchObject(expected);
  });

  test.each([[[]], [['destroy']], [['plan', 'apply']], [['plan', '--dist']]])('%p is refused', (argv) => {
    expect(() => parseArgs(argv)).toThrow(/missing the command|unexpected argument|--dist needs a directory/);
  });

  test('VAULT_TOKEN first, else $HOME/.vault-token, else one clear error', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    expect(() => readToken({ HOME: home })).toThrow(`no vault token: run \`vault login\` (it writes ${home}/.vault-token) or set VAULT_TOKEN`);
    writeFileSync(join(home, '.vault-token'), 'from-file\n');
    expect(readToken({ HOME: home })).toBe('from-file');
    expect(readToken({ HOME: home, VAULT_TOKEN: 'from-env' })).toBe('from-env');
  });
});
