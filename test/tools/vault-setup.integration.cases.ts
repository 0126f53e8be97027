import { randomBytes } from 'crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  apply, AUDIENCE, configuredByHand, DERIVED, expectRun, HOMELAB_SECRETS, lines, plan, REAL_DIST, ROLES, sent, TOKEN,
  vaultSetup, vaultsForThisFile,
} from '../support/vault-setup-harness';
import { FakeVaultApi } from '../support/fake-vault-api';
import { bundleCli, writeDist } from '../support/run-cli';

// `vault-setup plan|apply` against a stateful loopback stand-in for Vault's API (vault-setup-harness.ts), on the way
// it is meant to go: a fresh Vault's first plan and apply as the operator runs them (the npm script's bundle, run by
// node), a Vault set up by hand, drift put back, and other dists. What it refuses and how it fails are in
// vault-setup.failures.integration.cases.ts. Every run checks its exit code, what Vault received, and that neither the
// token nor any secret value reaches stdout or stderr.

/** A CA as `kubectl config view --raw` shows one: the plugin refuses a CA without a PEM block. */
const CA_PEM = '-----BEGIN CERTIFICATE-----\n'
  + 'MIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy\n-----END CERTIFICATE-----\n';

let cli: string;
beforeAll(() => { cli = bundleCli(); });

const start = vaultsForThisFile();
const planProcess = (v: FakeVaultApi) => vaultSetup(v.url, ['plan', '--dist', REAL_DIST], {}, cli);
const applyProcess = (v: FakeVaultApi) => vaultSetup(v.url, ['apply', '--dist', REAL_DIST], {}, cli);

test.concurrent('fresh vault: plan shows the creations, a policy and a role per namespace (exit 2), apply makes them, the next plan is clean, a second apply writes nothing', async () => {
  const v = await start();
  const created = 3 + 2 * ROLES.length;
  // The first plan and apply as the operator runs them: the bundle, in a process of its own.
  const first = await planProcess(v);
  expectRun(first, 2);
  expect(lines(first).filter((l) => !l.startsWith(' '))).toEqual([
    'mount secret/ (kv v2): create',
    'auth kubernetes/: create',
    'auth kubernetes/ config: create',
    ...ROLES.map((r) => `policy ${r}: create`),
    ...ROLES.map((r) => `role kubernetes/${r}: create`),
    'secret secret/authentik-db: missing (read by externalsecret authentik/authentik-db)',
    'secret secret/authentik-secret: missing (read by externalsecret authentik/authentik-secret)',
    'secret secret/grafana-admin: missing (read by externalsecret monitoring/grafana-admin)',
    'secret secret/postgres-secret: missing, needs fields POSTGRES_PASSWORD, POSTGRES_USER (read by externalsecret db/postgres-secret)',
    `plan: ${created} to create, 0 to change, 0 in sync; secrets: 0 ok, 4 missing: run \`npm run vault-setup -- apply\` to make these changes`,
  ]);
  for (const [role, policyLines] of Object.entries(DERIVED)) expect(first.stdout).toContain(`policy ${role}: create\n${policyLines.map((l) => `  + ${l}`).join('\n')}\n`);
  expect(v.writes).toEqual([]);

  const applied = await applyProcess(v);
  expectRun(applied, 0);
  expect(sent(v)).toEqual([
    'POST /v1/sys/mounts/secret', 'POST /v1/sys/auth/kubernetes', 'POST /v1/auth/kubernetes/config',
    ...ROLES.map((r) => `PUT /v1/sys/policies/acl/${r}`), ...ROLES.map((r) => `POST /v1/auth/kubernetes/role/${r}`),
  ]);
  expect(v.writes.map((w) => w.body)).toEqual([
    { type: 'kv', options: { version: '2' } },
    { type: 'kubernetes' },
    { kubernetes_host: 'https://kubernetes.default.svc:443', disable_local_ca_jwt: false },
    ...ROLES.map((r) => ({ policy: expect.stringContaining(`\n${DERIVED[r].join('\n')}\n`) })),
    // Every role binds ESO's one ServiceAccount; each has its own policy.
    ...ROLES.map((r) => ({ bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: [r], token_ttl: 3600, ...AUDIENCE })),
  ]);
  expect(v.received.filter((r) => r.path !== '/v1/sys/seal-status').every((r) => r.token === TOKEN)).toBe(true);
  // The mount apply just created holds no secrets yet (and Vault may still be initializing it): not read back.
  expect(v.received.filter((r) => r.path.startsWith('/v1/secret/'))).toEqual([]);
  expect(lines(applied).slice(-1)[0]).toBe(`apply: ${created} written, vault's configuration is in sync (read back); secrets: 0 ok, 4 missing: write the missing secrets with \`vault kv put\` (see the README)`);

  Object.assign(v.kv.secret, HOMELAB_SECRETS()); // the operator's `vault kv put`s
  const clean = await plan(v);
  expectRun(clean, 0);
  expect(lines(clean).slice(-1)[0]).toBe(`plan: 0 to create, 0 to change, ${created} in sync; secrets: 4 ok, 0 missing`);

  const again = await apply(v);
  expectRun(again, 0);
  expect(v.writes).toHaveLength(created);
  expect(lines(again).slice(-1)[0]).toBe("apply: nothing to write, vault's configuration is in sync (read back); secrets: 4 ok, 0 missing");
});

test.concurrent("a vault set up by hand in vault's normal forms plans no change, and apply writes nothing", async () => {
  const v = configuredByHand(await start());
  const run = await plan(v);
  expectRun(run, 0);
  expect(lines(run)).toEqual([
    'mount secret/ (kv v2): in sync', 'auth kubernetes/: in sync', 'auth kubernetes/ config: in sync',
    ...ROLES.map((r) => `policy ${r}: in sync`), ...ROLES.map((r) => `role kubernetes/${r}: in sync`),
    'secret secret/authentik-db: ok', 'secret secret/authentik-secret: ok', 'secret secret/grafana-admin: ok',
    'secret secret/postgres-secret: ok', `plan: 0 to create, 0 to change, ${3 + 2 * ROLES.length} in sync; secrets: 4 ok, 0 missing`,
  ]);
  expectRun(await apply(v), 0);
  expect(v.writes).toEqual([]);
});

test.concurrent('drift: a widened policy and a role bound to another service account are shown, then put back; others left alone', async () => {
  const v = configuredByHand(await start());
  const [role] = ROLES;
  v.byHand('PUT', `sys/policies/acl/${role}`, { policy: `${DERIVED[role].join('\n')}\npath "secret/data/*" { capabilities = ["read", "list"] }\n` });
  v.byHand('POST', `auth/kubernetes/role/${role}`, { bound_service_account_names: ['default'] });
  v.byHand('PUT', 'sys/policies/acl/admin', { policy: 'path "*" { capabilities = ["sudo"] }' });
  v.byHand('POST', 'auth/kubernetes/role/grafana', { bound_service_account_names: ['grafana'], bound_service_account_namespaces: ['monitoring'] });

  const run = await plan(v);
  expectRun(run, 2);
  expect(lines(run).filter((l) => / (change|not managed here \(left alone\))$|^ {2}/.test(l))).toEqual([
    `policy ${role}: change`,
    '  - path "secret/data/*" { capabilities = ["list", "read"] }',
    `role kubernetes/${role}: change`,
    '  ~ bound_service_account_names: ["default"] -> ["eso-vault-auth"]',
    'policy admin: not managed here (left alone)',
    'role kubernetes/grafana: not managed here (left alone)',
  ]);
  expect(v.writes).toEqual([]);

  const applied = await apply(v);
  expectRun(applied, 0);
  expect(sent(v)).toEqual([`PUT /v1/sys/policies/acl/${role}`, `POST /v1/auth/kubernetes/role/${role}`]);
  expect(v.roles.kubernetes[role].bound_service_account_names).toEqual(['eso-vault-auth']);
  expect(v.policies.admin).toBe('path "*" { capabilities = ["sudo"] }');
  expect(v.roles.kubernetes.grafana).toBeDefined();
  expectRun(await plan(v), 0);
});

test.concurrent('an extra ExternalSecret in dist adds its path to its namespace\'s policy in the plan', async () => {
  const v = configuredByHand(await start());
  const dist = mkdtempSync(join(tmpdir(), 'dist-'));
  cpSync(REAL_DIST, dist, { recursive: true });
  writeFileSync(join(dist, 'new-app.k8s.yaml'), [
    'apiVersion: external-secrets.io/v1', 'kind: ExternalSecret', 'metadata: { name: new-app, namespace: db }',
    'spec:', '  secretStoreRef: { kind: ClusterSecretStore, name: k8s-secrets-db }', '  target: { name: new-app }',
    '  data:', '    - secretKey: API_KEY', '      remoteRef: { key: new-app, property: API_KEY }', '',
  ].join('\n'));
  const run = await vaultSetup(v.url, ['plan', '--dist', dist]);
  expectRun(run, 2);
  expect(run.stdout).toMatch(/^policy eso-reader-db: change\n {2}\+ path "secret\/data\/new-app" \{ capabilities = \["read"\] \}\npolicy eso-reader-monitoring: in sync$/m);
  expect(run.stdout).toMatch(/^secret secret\/new-app: missing, needs fields API_KEY \(read by externalsecret db\/new-app\)$/m);
});

test.concurrent('a drifted auth config: the replacing write sends back the CA it found, and the plan says the reviewer JWT goes', async () => {
  const v = configuredByHand(await start());
  const jwt = `eyJ.${randomBytes(16).toString('hex')}`;
  v.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://10.0.0.1:6443', kubernetes_ca_cert: CA_PEM, token_reviewer_jwt: jwt });
  const run = await plan(v);
  expectRun(run, 2);
  expect(lines(run).slice(2, 6)).toEqual([
    'auth kubernetes/ config: change',
    '  ~ kubernetes_host: "https://10.0.0.1:6443" -> "https://kubernetes.default.svc:443"',
    '  - token_reviewer_jwt: vault never returns it, so this replacing write drops it (vault then reviews tokens with its own service account token)',
    `policy ${ROLES[0]}: in sync`,
  ]);
  expectRun(await apply(v), 0);
  expect(v.writes.map((w) => [w.method, w.path, w.body])).toEqual([
    ['POST', '/v1/auth/kubernetes/config', {
      kubernetes_ca_cert: CA_PEM, pem_keys: [], issuer: '', disable_iss_validation: true, use_annotations_as_alias_metadata: false,
      kubernetes_host: 'https://kubernetes.default.svc:443', disable_local_ca_jwt: false,
    }],
  ]);
  expect(v.authConfigs.kubernetes).toMatchObject({ kubernetes_host: 'https://kubernetes.default.svc:443', kubernetes_ca_cert: CA_PEM });
  expect(v.authConfigs.kubernetes.token_reviewer_jwt).toBe(''); // back to its default: unset, as the plan said
  expect(run.stdout + run.stderr).not.toContain(jwt);
});

test.concurrent('a fixture dist: another mount, auth path and role; metadataPolicy Fetch and find derive their rules', async () => {
  const store = {
    apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name: 'apps' },
    spec: {
      conditions: [{ namespaces: ['team'] }],
      provider: { vault: { server: 'http://vault:8200', path: 'kv', version: 'v2', auth: { kubernetes: { mountPath: 'k8s', role: 'apps-reader', serviceAccountRef: { name: 'eso', namespace: 'eso' } } } } },
    },
  };
  const es = {
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'team', namespace: 'team' },
    spec: {
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'apps' }, target: { name: 'team' },
      data: [{ secretKey: 'owner', remoteRef: { key: 'team/db', property: 'owner', metadataPolicy: 'Fetch' } }],
      dataFrom: [{ find: { path: 'team', name: { regexp: '^api-' } } }],
    },
  };
  const dist = writeDist({ 'apps.k8s.yaml': [store, es] });
  const v = await start();
  const run = await vaultSetup(v.url, ['apply', '--dist', dist]);
  expectRun(run, 0);
  expect(sent(v)).toEqual([
    'POST /v1/sys/mounts/kv', 'POST /v1/sys/auth/k8s', 'POST /v1/auth/k8s/config', 'PUT /v1/sys/policies/acl/apps-reader', 'POST /v1/auth/k8s/role/apps-reader',
  ]);
  expect(v.policies['apps-reader'].split('\n').slice(1)).toEqual([
    'path "kv/data/team/*" { capabilities = ["read"] }',
    'path "kv/metadata/team/*" { capabilities = ["list"] }',
    'path "kv/metadata/team/db" { capabilities = ["read"] }',
    '',
  ]);
  expect(run.stdout).toMatch(/^secret kv\/team\/db \(custom metadata\): missing, needs fields owner \(read by externalsecret team\/team\)$/m);
  expect(run.stdout).toMatch(/^secrets kv\/team\/\* \(find\): not checked, ESO decides at sync time which secrets match/m);
});
