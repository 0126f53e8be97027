import { randomBytes } from 'crypto';
import { FakeVaultApi } from '../support/fake-vault-api';
import { expectRun as expectRunOf } from '../support/run-script';
import { closedPort } from '../support/fake-vault';
import { CliRun, runCli, writeDist } from '../support/run-cli';

// vault-setup's main (in this process: run-cli.ts) against the loopback stand-in for Vault's API, on what
// issue 14 asks of it: the role's audience from the store with a warning before it is added, no admin token over
// plain http to another host, replacing writes that keep every setting Vault returned, and a port-forward hint that
// names the Service from dist/.

const TOKEN = `hvs.${randomBytes(18).toString('base64url')}`;
// Without a trailing newline: the plugin trims each entry of a comma-separated list.
const KEY_PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';

/** A dist/ with one store (its `serviceAccountRef.audiences` and `server` as given) and one ExternalSecret through it. */
function dist({ audiences, server = 'http://vault.security.svc.cluster.local:8200' }: { audiences?: string[]; server?: string } = {}): string {
  const store = {
    apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name: 'k8s-secrets' },
    spec: { conditions: [{ namespaces: ['db'] }], provider: { vault: {
      server, path: 'secret', version: 'v2',
      auth: { kubernetes: { mountPath: 'kubernetes', role: 'eso-reader', serviceAccountRef: { name: 'eso-vault-auth', namespace: 'security', ...(audiences && { audiences }) } } },
    } } },
  };
  const es = {
    apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret', metadata: { name: 'db', namespace: 'db' },
    spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'k8s-secrets' }, target: { name: 'db' }, dataFrom: [{ extract: { key: 'db' } }] },
  };
  return writeDist({ 'eso-store.k8s.yaml': [store], 'app-secrets.k8s.yaml': [es] });
}

// The scenarios run concurrently (most of their time is spent waiting), each against a Vault
// of its own; all are stopped when the file ends.
const vaults: FakeVaultApi[] = [];
afterAll(() => Promise.all(vaults.map((v) => v.stop())));

async function start(options: Partial<ConstructorParameters<typeof FakeVaultApi>[0]> = {}): Promise<FakeVaultApi> {
  const vault = await new FakeVaultApi({ token: TOKEN, ...options }).start();
  vaults.push(vault);
  vault.kvV2('secret', { db: { data: { password: randomBytes(8).toString('hex') } } });
  return vault;
}

function vaultSetup(addr: string, args: string[]): Promise<CliRun> {
  // 5 s per call: far above a loopback answer, even with the other scenarios running.
  return runCli(args, { HOME: '/nonexistent', VAULT_ADDR: addr, VAULT_TOKEN: TOKEN, VAULT_SETUP_TIMEOUT_SECONDS: '5' });
}

const expectRun = (run: CliRun, code: number) => expectRunOf(run, code, [TOKEN], false);

const lines = (run: CliRun) => run.stdout.split('\n').filter((l) => l !== '');

test.concurrent('an audience added to the store: plan shows the drift and warns to sync the store first, apply sets it and keeps the rest of the role', async () => {
  const v = await start();
  // Set up from the store as it was, without an audience; then someone set a namespace selector and an alias source.
  expectRun(await vaultSetup(v.url, ['apply', '--dist', dist()]), 0);
  expect(v.roles.kubernetes['eso-reader']).not.toHaveProperty('audience', expect.stringMatching(/./));
  v.byHand('POST', 'auth/kubernetes/role/eso-reader', {
    bound_service_account_namespace_selector: '{"matchLabels":{"eso":"true"}}', alias_name_source: 'serviceaccount_name',
  });

  const upgraded = dist({ audiences: ['vault'] });
  v.received.length = 0;
  const plan = await vaultSetup(v.url, ['plan', '--dist', upgraded]);
  expectRun(plan, 2);
  expect(lines(plan)).toEqual([
    'mount secret/ (kv v2): in sync', 'auth kubernetes/: in sync', 'auth kubernetes/ config: in sync', 'policy eso-reader: in sync',
    'role kubernetes/eso-reader: change',
    '  ~ audience: unset -> "vault"',
    'warning: role kubernetes/eso-reader has no audience in vault and apply sets "vault": from then on vault refuses ESO\'s tokens without it, '
    + 'so sync clustersecretstore k8s-secrets (dist/eso-store.k8s.yaml) to the cluster before apply; check that '
    + '`kubectl get clustersecretstore k8s-secrets -o jsonpath=\'{.spec.provider.vault.auth.kubernetes.serviceAccountRef.audiences}\'` prints ["vault"]',
    'secret secret/db: ok',
    'plan: 0 to create, 1 to change, 4 in sync; secrets: 1 ok, 0 missing: run `npm run vault-setup -- apply` to make these changes',
  ]);
  expect(v.writes).toEqual([]);

  const apply = await vaultSetup(v.url, ['apply', '--dist', upgraded]);
  expectRun(apply, 0);
  expect(v.writes.map((w) => [w.path, w.body.audience])).toEqual([['/v1/auth/kubernetes/role/eso-reader', 'vault']]);
  // path_role.go takes the selector from every write: vault-setup sent it back, so it survived; the rest merged.
  expect(v.roles.kubernetes['eso-reader']).toMatchObject({
    audience: 'vault', bound_service_account_namespace_selector: '{"matchLabels":{"eso":"true"}}', alias_name_source: 'serviceaccount_name',
  });
  const clean = await vaultSetup(v.url, ['plan', '--dist', upgraded]);
  expectRun(clean, 0);
  expect(clean.stdout).not.toMatch(/warning/);
});

test.concurrent('a store listing two audiences: one line naming them, exit 1, nothing sent', async () => {
  const v = await start();
  const run = await vaultSetup(v.url, ['plan', '--dist', dist({ audiences: ['vault', 'https://kubernetes.default.svc'] })]);
  expectRun(run, 1);
  expect(run.stderr).toBe('clustersecretstore k8s-secrets lists audiences "vault", "https://kubernetes.default.svc" in auth.kubernetes.serviceAccountRef.audiences: vault\'s role eso-reader checks one audience, keep one\n');
  expect(v.received).toEqual([]);
});

test.concurrent('the auth config rewrite carries back every field vault returned, those vault-setup knows and those it has never heard of', async () => {
  const v = await start({ newerConfigFields: { a_newer_plugin_setting: '' } });
  expectRun(await vaultSetup(v.url, ['apply', '--dist', dist()]), 0);
  const settings = {
    use_annotations_as_alias_metadata: true, disable_iss_validation: false, issuer: 'https://kubernetes.default.svc.cluster.local',
    pem_keys: [KEY_PEM], a_newer_plugin_setting: 'on',
  };
  v.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://10.0.0.1:6443', ...settings });

  v.received.length = 0;
  const run = await vaultSetup(v.url, ['apply', '--dist', dist()]);
  expectRun(run, 0);
  expect(v.writes.map((w) => w.path)).toEqual(['/v1/auth/kubernetes/config']);
  expect(v.authConfigs.kubernetes).toEqual({
    ...settings, kubernetes_host: 'https://kubernetes.default.svc:443', kubernetes_ca_cert: '', token_reviewer_jwt: '', disable_local_ca_jwt: false,
  });
  // The write sent only what the plugin takes: nothing it ignored with a warning.
  expect(Object.keys(v.writes[0].body)).not.toContain('token_reviewer_jwt_set');
});

test.concurrent('a role write keeps the namespace selector vault holds (every role write takes it from the request) and merges the rest', async () => {
  const v = await start();
  expectRun(await vaultSetup(v.url, ['apply', '--dist', dist()]), 0);
  v.byHand('POST', 'auth/kubernetes/role/eso-reader', {
    token_ttl: '24h', bound_service_account_namespace_selector: '{"matchLabels":{"eso":"true"}}', token_max_ttl: '48h',
  });
  v.received.length = 0;
  const run = await vaultSetup(v.url, ['apply', '--dist', dist()]);
  expectRun(run, 0);
  expect(lines(run).slice(4, 6)).toEqual(['role kubernetes/eso-reader: change', '  ~ token_ttl: 86400 (24h) -> 3600 (1h)']);
  expect(v.writes.map((w) => w.path)).toEqual(['/v1/auth/kubernetes/role/eso-reader']);
  expect(v.roles.kubernetes['eso-reader']).toMatchObject({
    token_ttl: 3600, token_max_ttl: 172800, bound_service_account_namespace_selector: '{"matchLabels":{"eso":"true"}}',
  });
});

describe('plain http only to this machine', () => {
  test.concurrent('http to a host that is not loopback: refused in one line before anything is sent, exit 1', async () => {
    const v = await start();
    // 0.0.0.0 reaches this machine's listeners on Linux, so the test sends nothing off the machine even if the check
    // were missing, but it is not a loopback address: the check refuses it.
    const addr = v.url.replace('127.0.0.1', '0.0.0.0');
    const run = await vaultSetup(addr, ['plan', '--dist', dist()]);
    expectRun(run, 1);
    expect(run.stderr).toBe(`VAULT_ADDR ${addr} is plain http to 0.0.0.0, not this machine: the admin token would cross the network in cleartext; `
      + 'use https (with VAULT_CACERT), or a port-forward and http://127.0.0.1:8200, or pass --allow-http if that network is trusted\n');
    expect(v.received).toEqual([]);
  });

  test.concurrent('--allow-http: the operator opted in, the run goes ahead', async () => {
    const v = await start();
    const run = await vaultSetup(v.url.replace('127.0.0.1', '0.0.0.0'), ['plan', '--dist', dist(), '--allow-http']);
    expectRun(run, 2);
    expect(v.received.map((r) => r.path).slice(0, 2)).toEqual(['/v1/sys/seal-status', '/v1/auth/token/lookup-self']);
  });
});

describe('the port-forward hint follows the store\'s server in dist/', () => {
  test.concurrent('a Vault in another namespace, behind another Service and port', async () => {
    const port = await closedPort();
    const run = await vaultSetup(`http://127.0.0.1:${port}`, ['plan', '--dist', dist({ server: 'http://openbao.secrets.svc.cluster.local:8300' })]);
    expectRun(run, 1);
    expect(run.stderr).toBe(`cannot talk to vault at http://127.0.0.1:${port} (GET /v1/sys/seal-status failed: ECONNREFUSED): `
      + `start the port-forward (\`kubectl -n secrets port-forward svc/openbao ${port}:8300\`) or set VAULT_ADDR\n`);
  });

  test.concurrent('a server that names no Service: where to look instead', async () => {
    const port = await closedPort();
    const run = await vaultSetup(`http://127.0.0.1:${port}`, ['plan', '--dist', dist({ server: 'https://vault.example.com' })]);
    expectRun(run, 1);
    expect(run.stderr).toContain("start the port-forward (`kubectl port-forward to vault's Service, whose namespace and name are in the stores' "
      + 'spec.provider.vault.server in dist/ (clustersecretstore k8s-secrets has server "https://vault.example.com")`) or set VAULT_ADDR');
  });
});
