import { randomBytes } from 'crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { homelabDist } from '../support/homelab-dist';
import { readManifests } from '../../tools/vault-setup/manifests';
import { FakeVaultApi } from '../support/fake-vault-api';
import { closedPort } from '../support/fake-vault';
import { bundleCli, CliRun, runCli, runCliProcess, writeDist } from '../support/run-cli';

// `vault-setup plan|apply` against a stateful loopback stand-in for Vault's API: its main in this process (run-cli.ts),
// and as the operator runs it (the npm script's bundle, run by node) for the first plan and apply of a fresh Vault.
// Every run checks its exit code, what Vault received, and that neither the token nor any secret value reaches stdout
// or stderr.

const TOKEN = `hvs.${randomBytes(18).toString('base64url')}`;
const value = () => `value-${randomBytes(12).toString('hex')}`;
const VALUES = { pgUser: value(), pgPassword: value(), authentikDb: value(), authentikSecret: value(), grafana: value() };
// The seed's four secrets, from a fixture: the project's dist/ grows as apps are added to main.ts.
const REAL_DIST = homelabDist();
const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'home-'));
/** The role's audience as the fixture's store asks for it (EsoStore's audience), or none. */
const AUDIENCE: { audience?: string } = (() => {
  const store = readManifests(REAL_DIST).find((d: any) => d.kind === 'ClusterSecretStore')!;
  const [audience] = store.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences ?? [];
  return audience === undefined ? {} : { audience };
})();
/** A CA as `kubectl config view --raw` shows one: the plugin refuses a CA without a PEM block. */
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy\n-----END CERTIFICATE-----\n';

/** What `vault kv put` would have written for the homelab's four secrets. */
const HOMELAB_SECRETS = () => ({
  'postgres-secret': { data: { POSTGRES_USER: VALUES.pgUser, POSTGRES_PASSWORD: VALUES.pgPassword } },
  'authentik-db': { data: { password: VALUES.authentikDb } },
  'authentik-secret': { data: { secret_key: VALUES.authentikSecret } },
  'grafana-admin': { data: { 'admin-password': VALUES.grafana } },
});

const DERIVED_LINES = [
  'path "secret/data/authentik-db" { capabilities = ["read"] }',
  'path "secret/data/authentik-secret" { capabilities = ["read"] }',
  'path "secret/data/grafana-admin" { capabilities = ["read"] }',
  'path "secret/data/postgres-secret" { capabilities = ["read"] }',
];

let cli: string;
beforeAll(() => { cli = bundleCli(); });

// The scenarios run concurrently (most of their time is spent waiting), each against a Vault
// of its own; all are stopped when the file ends.
const vaults: FakeVaultApi[] = [];
afterAll(() => Promise.all(vaults.map((v) => v.stop())));

async function start(options: Partial<ConstructorParameters<typeof FakeVaultApi>[0]> = {}): Promise<FakeVaultApi> {
  const vault = await new FakeVaultApi({ token: TOKEN, ...options }).start();
  vaults.push(vault);
  return vault;
}

/**
 * Vault as the README's manual commands left it, with the derived policy laid out by hand: Vault's normal forms
 * (kv-v2 read back as kv + version 2, `ttl=1h` read back as 3600, the host's default port) must plan no change.
 */
function configuredByHand(v: FakeVaultApi): FakeVaultApi {
  v.byHand('POST', 'sys/mounts/secret', { type: 'kv-v2' });
  v.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  v.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc' });
  v.byHand('PUT', 'sys/policies/acl/eso-reader', {
    policy: DERIVED_LINES.map((l) => l.replace('{ capabilities', '{\n  capabilities').replace(' }', '\n}')).reverse().join('\n\n'),
  });
  v.byHand('POST', 'auth/kubernetes/role/eso-reader', {
    bound_service_account_names: 'eso-vault-auth', bound_service_account_namespaces: 'security', policies: 'eso-reader', ttl: '1h', ...AUDIENCE,
  });
  Object.assign(v.kv.secret, HOMELAB_SECRETS());
  return v;
}

/** vault-setup's main in this process; as the bundle the npm script runs, in a process of its own, when `asProcess`. */
function vaultSetup(addr: string, args: string[], env: Record<string, string> = {}, asProcess = false): Promise<CliRun> {
  // 5 s per call: far above a loopback answer, even with the other scenarios running; the hang test sets its own bound.
  const vars = { HOME: EMPTY_HOME, VAULT_ADDR: addr, VAULT_TOKEN: TOKEN, VAULT_SETUP_TIMEOUT_SECONDS: '5', ...env };
  return asProcess ? runCliProcess(cli, args, vars) : runCli(args, vars);
}

const plan = (v: FakeVaultApi, ...args: string[]) => vaultSetup(v.url, ['plan', '--dist', REAL_DIST, ...args]);
const apply = (v: FakeVaultApi, ...args: string[]) => vaultSetup(v.url, ['apply', '--dist', REAL_DIST, ...args]);
const planProcess = (v: FakeVaultApi) => vaultSetup(v.url, ['plan', '--dist', REAL_DIST], {}, true);
const applyProcess = (v: FakeVaultApi) => vaultSetup(v.url, ['apply', '--dist', REAL_DIST], {}, true);

/** Exit code, and no token or secret value in the output. The whole output shows when the code is wrong. */
function expectRun(run: CliRun, code: number): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  for (const secret of [TOKEN, ...Object.values(VALUES)]) expect(run.stdout + run.stderr).not.toContain(secret);
}

const lines = (run: CliRun) => run.stdout.split('\n').filter((l) => l !== '');
const sent = (v: FakeVaultApi) => v.writes.map((r) => `${r.method} ${r.path}`);

test.concurrent('fresh vault: plan shows five creations (exit 2), apply makes them, the next plan is clean, a second apply writes nothing', async () => {
  const v = await start();
  // The first plan and apply as the operator runs them: the bundle, in a process of its own.
  const first = await planProcess(v);
  expectRun(first, 2);
  expect(lines(first).filter((l) => !l.startsWith(' '))).toEqual([
    'mount secret/ (kv v2): create',
    'auth kubernetes/: create',
    'auth kubernetes/ config: create',
    'policy eso-reader: create',
    'role kubernetes/eso-reader: create',
    'secret secret/authentik-db: missing (read by externalsecret authentik/authentik-db)',
    'secret secret/authentik-secret: missing (read by externalsecret authentik/authentik-secret)',
    'secret secret/grafana-admin: missing (read by externalsecret monitoring/grafana-admin)',
    'secret secret/postgres-secret: missing, needs fields POSTGRES_PASSWORD, POSTGRES_USER (read by externalsecret db/postgres-secret)',
    'plan: 5 to create, 0 to change, 0 in sync; secrets: 0 ok, 4 missing: run `npm run vault-setup -- apply` to make these changes',
  ]);
  expect(first.stdout).toContain(DERIVED_LINES.map((l) => `  + ${l}`).join('\n'));
  expect(v.writes).toEqual([]);

  const applied = await applyProcess(v);
  expectRun(applied, 0);
  expect(sent(v)).toEqual([
    'POST /v1/sys/mounts/secret', 'POST /v1/sys/auth/kubernetes', 'POST /v1/auth/kubernetes/config',
    'PUT /v1/sys/policies/acl/eso-reader', 'POST /v1/auth/kubernetes/role/eso-reader',
  ]);
  expect(v.writes.map((w) => w.body)).toEqual([
    { type: 'kv', options: { version: '2' } },
    { type: 'kubernetes' },
    { kubernetes_host: 'https://kubernetes.default.svc:443', disable_local_ca_jwt: false },
    { policy: expect.stringContaining(`\n${DERIVED_LINES.join('\n')}\n`) },
    { bound_service_account_names: ['eso-vault-auth'], bound_service_account_namespaces: ['security'], token_policies: ['eso-reader'], token_ttl: 3600, ...AUDIENCE },
  ]);
  expect(v.received.filter((r) => r.path !== '/v1/sys/seal-status').every((r) => r.token === TOKEN)).toBe(true);
  // The mount apply just created holds no secrets yet (and Vault may still be initializing it): not read back.
  expect(v.received.filter((r) => r.path.startsWith('/v1/secret/'))).toEqual([]);
  expect(lines(applied).slice(-1)[0]).toBe("apply: 5 written, vault's configuration is in sync (read back); secrets: 0 ok, 4 missing: write the missing secrets with `vault kv put` (see the README)");

  Object.assign(v.kv.secret, HOMELAB_SECRETS()); // the operator's `vault kv put`s
  const clean = await plan(v);
  expectRun(clean, 0);
  expect(lines(clean).slice(-1)[0]).toBe('plan: 0 to create, 0 to change, 5 in sync; secrets: 4 ok, 0 missing');

  const again = await apply(v);
  expectRun(again, 0);
  expect(v.writes).toHaveLength(5);
  expect(lines(again).slice(-1)[0]).toBe("apply: nothing to write, vault's configuration is in sync (read back); secrets: 4 ok, 0 missing");
});

test.concurrent("a vault set up by hand in vault's normal forms plans no change, and apply writes nothing", async () => {
  const v = configuredByHand(await start());
  const run = await plan(v);
  expectRun(run, 0);
  expect(lines(run)).toEqual([
    'mount secret/ (kv v2): in sync', 'auth kubernetes/: in sync', 'auth kubernetes/ config: in sync', 'policy eso-reader: in sync',
    'role kubernetes/eso-reader: in sync', 'secret secret/authentik-db: ok', 'secret secret/authentik-secret: ok', 'secret secret/grafana-admin: ok',
    'secret secret/postgres-secret: ok', 'plan: 0 to create, 0 to change, 5 in sync; secrets: 4 ok, 0 missing',
  ]);
  expectRun(await apply(v), 0);
  expect(v.writes).toEqual([]);
});

test.concurrent('drift: a widened policy and a role bound to another service account are shown, then put back; others left alone', async () => {
  const v = configuredByHand(await start());
  v.byHand('PUT', 'sys/policies/acl/eso-reader', { policy: `${DERIVED_LINES.join('\n')}\npath "secret/data/*" { capabilities = ["read", "list"] }\n` });
  v.byHand('POST', 'auth/kubernetes/role/eso-reader', { bound_service_account_names: ['default'] });
  v.byHand('PUT', 'sys/policies/acl/admin', { policy: 'path "*" { capabilities = ["sudo"] }' });
  v.byHand('POST', 'auth/kubernetes/role/grafana', { bound_service_account_names: ['grafana'], bound_service_account_namespaces: ['monitoring'] });

  const run = await plan(v);
  expectRun(run, 2);
  expect(lines(run).slice(3, 10)).toEqual([
    'policy eso-reader: change',
    '  - path "secret/data/*" { capabilities = ["list", "read"] }',
    'role kubernetes/eso-reader: change',
    '  ~ bound_service_account_names: ["default"] -> ["eso-vault-auth"]',
    'policy admin: not managed here (left alone)',
    'role kubernetes/grafana: not managed here (left alone)',
    'secret secret/authentik-db: ok',
  ]);
  expect(v.writes).toEqual([]);

  const applied = await apply(v);
  expectRun(applied, 0);
  expect(sent(v)).toEqual(['PUT /v1/sys/policies/acl/eso-reader', 'POST /v1/auth/kubernetes/role/eso-reader']);
  expect(v.roles.kubernetes['eso-reader'].bound_service_account_names).toEqual(['eso-vault-auth']);
  expect(v.policies.admin).toBe('path "*" { capabilities = ["sudo"] }');
  expect(v.roles.kubernetes.grafana).toBeDefined();
  expectRun(await plan(v), 0);
});

test.concurrent('a kv v1 mount at secret/: refused with the manual step, exit 1, nothing written', async () => {
  const v = configuredByHand(await start());
  v.mounts['secret/'] = { type: 'kv', options: { version: '1' } };
  for (const run of [await plan(v), await apply(v)]) {
    expectRun(run, 1);
    expect(run.stdout).toMatch(/^mount secret\/ \(kv v2\): conflict$/m);
    expect(run.stderr).toMatch(/^mount secret\/ is kv version 1, the stores need version 2: vault-setup never replaces a mount \(that deletes its secrets\); back it up, run `vault kv enable-versioning secret\/` \(an in-place upgrade\), then plan again\nnothing written/);
  }
  expect(v.writes).toEqual([]);
});

test.concurrent('another auth method at kubernetes/: refused, exit 1, nothing written', async () => {
  const v = await start();
  v.auths['kubernetes/'] = { type: 'userpass' };
  const run = await apply(v);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^auth kubernetes\/ is a userpass auth method, not kubernetes: vault-setup never disables one/);
  expect(v.writes).toEqual([]);
});

test.concurrent('a missing secret and a missing field are named, values never printed, exit 2', async () => {
  const v = configuredByHand(await start());
  delete v.kv.secret['authentik-db'];
  v.kv.secret['postgres-secret'] = { data: { POSTGRES_USER: VALUES.pgUser } };
  const run = await plan(v);
  expectRun(run, 2);
  expect(lines(run).slice(5)).toEqual([
    'secret secret/authentik-db: missing (read by externalsecret authentik/authentik-db)',
    'secret secret/authentik-secret: ok',
    'secret secret/grafana-admin: ok',
    'secret secret/postgres-secret: missing fields POSTGRES_PASSWORD (read by externalsecret db/postgres-secret)',
    'plan: 0 to create, 0 to change, 5 in sync; secrets: 2 ok, 2 missing: write the missing secrets with `vault kv put` (see the README)',
  ]);
  // Fields are checked through subkeys, which carries no values; the data endpoint is never read.
  expect(v.received.filter((r) => /^\/v1\/secret\//.test(r.path)).map((r) => r.path.split('/')[3])).toEqual(['subkeys', 'subkeys', 'subkeys', 'subkeys']);
  const applied = await apply(v);
  expectRun(applied, 0);
  expect(v.writes).toEqual([]);
});

test.concurrent('an extra ExternalSecret in dist adds its path to the plan', async () => {
  const v = configuredByHand(await start());
  const dist = mkdtempSync(join(tmpdir(), 'dist-'));
  cpSync(REAL_DIST, dist, { recursive: true });
  writeFileSync(join(dist, 'new-app.k8s.yaml'), [
    'apiVersion: external-secrets.io/v1', 'kind: ExternalSecret', 'metadata: { name: new-app, namespace: apps }',
    'spec:', '  secretStoreRef: { kind: ClusterSecretStore, name: k8s-secrets }', '  target: { name: new-app }',
    '  data:', '    - secretKey: API_KEY', '      remoteRef: { key: new-app, property: API_KEY }', '',
  ].join('\n'));
  const run = await vaultSetup(v.url, ['plan', '--dist', dist]);
  expectRun(run, 2);
  expect(run.stdout).toMatch(/^policy eso-reader: change\n {2}\+ path "secret\/data\/new-app" \{ capabilities = \["read"\] \}\nrole kubernetes\/eso-reader: in sync$/m);
  expect(run.stdout).toMatch(/^secret secret\/new-app: missing, needs fields API_KEY \(read by externalsecret apps\/new-app\)$/m);
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
    'policy eso-reader: in sync',
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
    spec: { provider: { vault: { server: 'http://vault:8200', path: 'kv', version: 'v2', auth: { kubernetes: { mountPath: 'k8s', role: 'apps-reader', serviceAccountRef: { name: 'eso', namespace: 'eso' } } } } } },
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

test.concurrent('a wrong token: one clear line, exit 1, nothing written', async () => {
  const v = configuredByHand(await start());
  const wrong = `hvs.${randomBytes(18).toString('base64url')}`;
  const run = await vaultSetup(v.url, ['apply', '--dist', REAL_DIST], { VAULT_TOKEN: wrong });
  expectRun(run, 1);
  expect(run.stderr).toBe('vault rejected the token (HTTP 403 permission denied): run `vault login`, or set VAULT_TOKEN to a valid admin token\n');
  expect(run.stdout + run.stderr).not.toContain(wrong);
  expect(v.received.map((r) => `${r.method} ${r.path} ${r.token === wrong ? 'wrong' : r.token}`)).toEqual([
    'GET /v1/sys/seal-status undefined', 'GET /v1/auth/token/lookup-self wrong',
  ]);
});

test.concurrent('the token from ~/.vault-token when VAULT_TOKEN is unset; no token at all is one clear line', async () => {
  const v = configuredByHand(await start());
  const home = mkdtempSync(join(tmpdir(), 'home-'));
  writeFileSync(join(home, '.vault-token'), `${TOKEN}\n`);
  const withFile = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_TOKEN: '', HOME: home });
  expectRun(withFile, 0);
  expect(v.received.find((r) => r.path === '/v1/auth/token/lookup-self')?.token).toBe(TOKEN);

  v.received.length = 0;
  const none = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_TOKEN: '' });
  expectRun(none, 1);
  expect(none.stderr).toBe(`no vault token: run \`vault login\` (it writes ${EMPTY_HOME}/.vault-token) or set VAULT_TOKEN\n`);
  expect(v.received).toEqual([]);
});

test.concurrent('a sealed vault: one clear line, exit 1, nothing but the seal status asked', async () => {
  const v = configuredByHand(await start());
  v.sealed = true; // as after a reboot
  const run = await apply(v);
  expectRun(run, 1);
  expect(run.stderr).toBe(`vault at ${v.url} is sealed: unseal it (the vault-auto-unseal CronJob, or \`vault operator unseal\`), then run again\n`);
  expect(v.received.map((r) => r.path)).toEqual(['/v1/sys/seal-status']);
});

test.concurrent('a hanging vault: exit 1 after the call timeout', async () => {
  const v = await start({ hang: true });
  const run = await vaultSetup(v.url, ['plan', '--dist', REAL_DIST], { VAULT_SETUP_TIMEOUT_SECONDS: '0.5' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(new RegExp(`^cannot talk to vault at ${v.url} \\(GET /v1/sys/seal-status .*\\): start the port-forward`));
  // Only catches a hang: the run ends after one 0.5 s timeout, far below this generous bound on any machine.
  expect(run.ms).toBeLessThan(10000);
  expect(v.received.map((r) => r.path)).toEqual(['/v1/sys/seal-status']);
});

test.concurrent('an unreachable vault: one clear line naming the port-forward from VAULT_ADDR\'s port to the Service in dist/, exit 1', async () => {
  const port = await closedPort();
  const addr = `http://127.0.0.1:${port}`;
  const run = await vaultSetup(addr, ['plan', '--dist', REAL_DIST]);
  expectRun(run, 1);
  expect(run.stderr).toBe(`cannot talk to vault at ${addr} (GET /v1/sys/seal-status failed: ECONNREFUSED): start the port-forward (\`kubectl -n security port-forward svc/vault ${port}:8200\`) or set VAULT_ADDR\n`);
});

test.concurrent.each([[['destroy']], [[]], [['plan', '--dist']]])('a bad argument %p prints the usage, exit 1, nothing sent', async (args) => {
  const v = await start();
  const run = await vaultSetup(v.url, args);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/\nusage: npm run vault-setup -- plan\|apply \[--dist DIR\] \[--allow-http\]\n/);
  expect(v.received).toEqual([]);
});
