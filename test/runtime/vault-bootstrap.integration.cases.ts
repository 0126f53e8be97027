import { ageDecrypt } from '../support/age-decrypt';
import { BootstrapCluster, pieces } from '../support/bootstrap-cluster';
import { until } from '../support/run-script';
import { PKI } from '../support/tls-fixtures';
import { request } from '../../runtime/common/http';
import { main as writeSecrets } from '../../tools/write-secrets/main';
import { main as vaultSetup } from '../../tools/vault-setup/main';
import { FakeVaultLifecycle } from '../support/fake-vault-lifecycle';

// The bootstrap's acceptance: the CronJobs of examples/zero-touch/dist that talk to Vault, round by round against a
// stand-in Vault that starts empty and a stand-in API server (test/support/bootstrap-cluster.ts). Whatever the round,
// no root token is valid at its end, and no share or token, nor a 16-character piece of one, reaches any output, Event
// or object but the unseal Secret and the escrow.

jest.setTimeout(120_000);

const clusters: BootstrapCluster[] = [];
async function cluster(...args: ConstructorParameters<typeof BootstrapCluster>): Promise<BootstrapCluster> {
  const c = await new BootstrapCluster(...args).start();
  clusters.push(c);
  return c;
}
afterAll(() => Promise.all(clusters.map((c) => c.stop())));

const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';
/** Vault's configuration writes: anything but logins, token revocation and the seal's own calls. */
const configWrites = (c: BootstrapCluster, from = 0) => c.vault.writes.slice(from)
  .filter((r) => !/\/login$|\/token\/(revoke|lookup)-self$|sys\/(unseal|init|generate-root)/.test(r.path)).map((r) => `${r.method} ${r.path}`);

/** A call to the stand-in Vault as a client would make it, trusting the test's CA when it serves https. */
async function vaultCall(c: BootstrapCluster, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const answer = await request(`${c.vault.url}/v1/${path}`, {
    name: `${method} ${path}`, method, body, timeoutMs: 10_000, headers: token ? { 'x-vault-token': token } : {},
    ...(c.vault.url.startsWith('https:') && { ca: PKI.ca.cert }),
  });
  return { status: answer.status, json: answer.json };
}

/** What each store's login may read, as ESO logs in: by path, 'read' or 'denied'. */
async function storeReach(c: BootstrapCluster): Promise<Record<string, Record<string, string>>> {
  const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
  const reach: Record<string, Record<string, string>> = {};
  for (const store of c.docs.filter((d) => d.kind === 'ClusterSecretStore')) {
    const k8s = store.spec.provider.vault.auth.kubernetes;
    const jwt = c.vault.serviceAccountToken(k8s.serviceAccountRef.namespace, k8s.serviceAccountRef.name, k8s.serviceAccountRef.audiences ?? []);
    const login = await vaultCall(c, 'POST', `auth/${k8s.mountPath ?? 'kubernetes'}/login`, undefined, { role: k8s.role, jwt });
    expect({ store: store.metadata.name, status: login.status }).toEqual({ store: store.metadata.name, status: 200 });
    reach[store.metadata.name] = {};
    for (const secret of want.secrets) {
      const read = await vaultCall(c, 'GET', `${secret.mount}/data/${secret.key}`, login.json.auth.client_token);
      reach[store.metadata.name][`${secret.mount}/${secret.key}`] = read.status === 403 ? 'denied' : 'read';
    }
  }
  return reach;
}

/** Each store may read exactly the secrets its namespace's ExternalSecrets read. */
function expectedReach(c: BootstrapCluster): Record<string, Record<string, string>> {
  const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
  return Object.fromEntries(c.docs.filter((d) => d.kind === 'ClusterSecretStore').map((store) => {
    const admitted: string[] = store.spec.conditions.flatMap((cond: any) => cond.namespaces);
    return [store.metadata.name, Object.fromEntries(want.secrets.map((s: any) => [`${s.mount}/${s.key}`,
      s.readers.some((r: string) => admitted.includes(r.split(' ')[1].split('/')[0])) ? 'read' : 'denied']))];
  }));
}

function expectNoSecretOutside(c: BootstrapCluster): void {
  const kept = new Set([`${c.namespace}/${c.unsealSecret}`, `${c.namespace}/vault-unseal-escrow`]);
  const objects = Object.entries(c.kube.secrets).filter(([name]) => !kept.has(name)).map(([, data]) => JSON.stringify(data));
  const everywhere = [...c.outputs, JSON.stringify(c.kube.events), ...objects].join('\n');
  for (const secret of c.secretsIssued()) for (const piece of pieces(secret)) expect(everywhere.includes(piece) ? piece : 'absent').toBe('absent');
}

describe('from an empty cluster', () => {
  let c: BootstrapCluster;
  const rounds: Array<Awaited<ReturnType<BootstrapCluster['round']>>> = [];
  beforeAll(async () => {
    c = await cluster();
    for (let i = 0; i < 5; i++) {
      rounds.push(await c.round());
      expect({ round: i + 1, rootTokens: c.vault.rootTokensValid() }).toEqual({ round: i + 1, rootTokens: [] });
    }
  });

  test('the first round initializes, stores the shares where the unseal job reads them, escrows them and configures Vault', () => {
    expect([rounds[0].unseal.code, lastLine(rounds[0].unseal.stderr)]).toEqual([2, expect.stringMatching(/not initialized/)]);
    expect([rounds[0].bootstrap.code, lastLine(rounds[0].bootstrap.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares \(\d+ written, read back\)/)]);
    expect(c.vault.initialized && !c.vault.sealed).toBe(true);
    const stored = c.kube.secrets[`${c.namespace}/${c.unsealSecret}`];
    expect(Object.keys(stored).sort()).toEqual(['share-1', 'share-2', 'share-3', 'share-4', 'share-5']);
    expect(Object.keys(stored).sort().map((k) => stored[k])).toEqual(c.vault.sharesIssued);
    const escrow = Buffer.from(c.kube.secret(c.namespace, 'vault-unseal-escrow')!.data['shares.age'], 'base64');
    expect(ageDecrypt(escrow, c.escrowKey.identity).toString('utf8')).toBe(c.vault.sharesIssued.map((s, i) => `share-${i + 1}: ${s}\n`).join(''));
    expect(Object.values(c.vault.auditDevices).map((d) => [d.path, d.type, d.options.file_path])).toEqual([['stdout/', 'file', 'stdout']]);
  });

  test('ESO\'s recovery wakes every store in the first round, once Vault is configured, and has nothing to do after', () => {
    expect([rounds[0].recovery.code, rounds[0].recovery.stderr]).toEqual([0, '']);
    const stores = c.docs.filter((d) => d.kind === 'ClusterSecretStore').map((d) => d.metadata.name);
    for (const store of stores) expect({ store, woken: c.eso.annotationsOf[store]?.['eso-recovery/woken-at'] !== undefined }).toEqual({ store, woken: true });
    for (const round of rounds.slice(1)) expect(round.recovery.code).toBe(0);
  });

  test('sys/init is called once; its root token is exchanged for one that expires in 5 minutes, and both are revoked in the same run', () => {
    expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method === 'PUT')).toHaveLength(1);
    const [init, short] = c.vault.rootTokensIssued;
    expect([c.vault.rootTokensIssued.length, init]).toEqual([2, c.vault.initAnswered!.root_token]);
    const exchange = c.vault.received.find((r) => r.path === '/v1/auth/token/create-orphan')!;
    expect([exchange.token, exchange.body.explicit_max_ttl, exchange.body.policies]).toEqual([init, '300s', ['root']]);
    // The init root goes before the work starts: every configuration write is made with the short-lived token.
    const configuring = (r: { method: string; path: string }) => r.method !== 'GET' && /sys\/(audit|mounts|auth|policies)\//.test(r.path);
    const revokedInit = c.vault.received.findIndex((r) => r.path === '/v1/auth/token/revoke-self' && r.token === init);
    expect(revokedInit).toBeLessThan(c.vault.received.findIndex(configuring));
    expect(c.vault.received.filter(configuring).every((r) => r.token === short)).toBe(true);
    expect(c.vault.rootTokensValid()).toEqual([]);
  });

  test('every store\'s login reads exactly its ExternalSecrets\' paths', async () => {
    expect(await storeReach(c)).toEqual(expectedReach(c));
  });

  test('later rounds log in as the job\'s own identity and change nothing: two more rounds write nothing', () => {
    for (const round of rounds.slice(1)) {
      expect([round.unseal.code, round.bootstrap.code]).toEqual([0, 0]);
      expect(lastLine(round.bootstrap.stdout)).toMatch(/is as dist\/ declares \(0 written, read back\)/);
    }
    const firstRoundWrites = c.vault.writes.findIndex((r) => r.path.endsWith('/login'));
    expect(configWrites(c, firstRoundWrites)).toEqual([]);
    expect(c.vault.rootTokensIssued).toHaveLength(2);
  });

  test('the writer identity writes the apps\' values; the stores then read them; missing secrets are listed until then', async () => {
    expect(lastLine(rounds[4].bootstrap.stdout)).toMatch(/secrets? missing/);
    const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
    const values = Object.fromEntries(want.secrets.map((s: any) => [`${s.mount}/${s.key}`,
      Object.fromEntries((s.fields.length ? s.fields : ['value']).map((f: string) => [f, `v-${f}-of-${s.key}`]))]));
    const out: string[] = [];
    const writer = c.vault.serviceAccountToken(c.namespace, 'vault-secret-writer', []);
    const code = await writeSecrets(['--dist', 'examples/zero-touch/dist'], { VAULT_ADDR: c.vault.url }, {
      stdout: (t) => out.push(t), stderr: (t) => out.push(t), values: async () => values,
      kubectl: async (args) => ({ code: args.includes('vault-secret-writer') ? 0 : 1, stdout: `${writer}\n`, stderr: '' }),
    });
    expect([code, out.join('')]).toEqual([0, expect.stringMatching(/secrets? written as kubernetes\/secret-writer; its token revoked\n$/)]);
    expect(out.join('')).not.toMatch(/v-\w+-of-/);
    const round = await c.round();
    expect([round.bootstrap.code, lastLine(round.bootstrap.stdout)]).toEqual([0, expect.not.stringMatching(/missing/)]);
    expect(await storeReach(c)).toEqual(expectedReach(c));
  });

  test('a restart seals Vault, and the next round unseals it without a human', async () => {
    c.vault.restart();
    const round = await c.round();
    expect([round.unseal.code, lastLine(round.unseal.stdout)]).toEqual([0, expect.stringMatching(/unsealed with 3 of 5 shares/)]);
    expect(round.bootstrap.code).toBe(0);
    expect(c.vault.rootTokensValid()).toEqual([]);
  });

  test('hand-made drift of a store\'s policy is restored; of the job\'s own policy, reported with a Warning Event', async () => {
    const store = c.find('ClusterSecretStore', c.docs.find((d) => d.kind === 'ClusterSecretStore')!.metadata.name).spec.provider.vault.auth.kubernetes.role;
    const declared = c.vault.policies[store];
    c.vault.byHand('PUT', `sys/policies/acl/${store}`, { policy: `${declared}path "secret/data/*" { capabilities = ["read"] }\n` });
    const restored = await c.round();
    expect([restored.bootstrap.code, c.vault.policies[store]]).toEqual([0, declared]);
    expect(restored.bootstrap.stdout).toContain(`applied policy ${store}: changed`);

    c.vault.byHand('PUT', 'sys/policies/acl/vault-bootstrap', { policy: `${c.vault.policies['vault-bootstrap']}path "sys/*" { capabilities = ["sudo"] }\n` });
    const reported = await c.round();
    expect([reported.bootstrap.code, lastLine(reported.bootstrap.stderr)]).toEqual([2, expect.stringMatching(/^vault differs from dist\/ at policy vault-bootstrap \(change\) \(the job may not write it\)/)]);
    expect(c.kube.events.map((e) => [e.type, e.reason, e.involvedObject?.name])).toContainEqual(['Warning', 'VaultDrift', 'vault-bootstrap']);
  });

  test('no share or token, nor a 16-character piece of one, in any output, Event or other object', () => {
    expect(c.secretsIssued().length).toBeGreaterThan(10);
    expectNoSecretOutside(c);
  });
});

test('over TLS as dist/ sets it (https, the CA VAULT_CACERT names): the first round initializes and configures, the next unseals after a restart', async () => {
  const c = await cluster({}, true);
  expect(c.vault.url).toMatch(/^https:/);
  const first = await c.round();
  expect([first.bootstrap.code, lastLine(first.bootstrap.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares/)]);
  expect(first.recovery.code).toBe(0);
  c.vault.restart();
  const second = await c.round();
  expect([second.unseal.code, second.bootstrap.code, c.vault.rootTokensValid()]).toEqual([0, 0, []]);
  expect(await storeReach(c)).toEqual(expectedReach(c));
});

test('a 500 on a config write after init: the shares are stored, no root token is left, and a generated root finishes', async () => {
  const c = await cluster();
  c.vault.failNext('PUT', /^sys\/policies\/acl\//, 500);
  const round = await c.round();
  expect(c.vault.rootTokensValid()).toEqual([]);
  const stored = c.kube.secrets[`${c.namespace}/${c.unsealSecret}`];
  expect(Object.keys(stored).sort().map((k) => stored[k])).toEqual(c.vault.sharesIssued);
  // The window's next attempt found no identity (the config stopped before it) and minted a root from the shares.
  expect(c.vault.received.some((r) => r.path === '/v1/sys/generate-root/update')).toBe(true);
  // init's root and its short-lived exchange, then the generated root and its own.
  expect(c.vault.rootTokensIssued).toHaveLength(4);
  expect([round.bootstrap.code, lastLine(round.bootstrap.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares/)]);
  expect(round.bootstrap.stdout).toMatch(/generating a root token from the stored shares, for this run only/);
  expectNoSecretOutside(c);
});

test('the Job\'s deadline (SIGTERM) right after sys/init waits until the shares are stored and every root token revoked', async () => {
  const c = await cluster();
  c.vault.stallNext('PUT', /^sys\/unseal$/, 1500);
  const bootstrap = await c.runBootstrap({}, (child) => child.stdout!.on('data', (text) => { if (/initializing/.test(String(text))) child.kill('SIGTERM'); }));
  expect([bootstrap.code, bootstrap.stderr]).toEqual([143, expect.stringMatching(/^SIGTERM while the new vault's shares and root token are held in memory only: stopping as soon as that is done\n/)]);
  const stored = c.kube.secrets[`${c.namespace}/${c.unsealSecret}`];
  expect(Object.keys(stored).sort().map((k) => stored[k])).toEqual(c.vault.sharesIssued);
  expect(c.vault.rootTokensValid()).toEqual([]);
});

test('the API refusing the Secret write: sys/init is never called, and the run says why', async () => {
  const c = await cluster();
  c.kube.forbid({ verbs: ['create'], resources: ['secrets'] });
  const round = await c.round();
  expect([round.bootstrap.code, lastLine(round.bootstrap.stderr)]).toEqual([2, expect.stringMatching(/dry run of writing secret .* answered HTTP 403.*needs create on secrets/)]);
  expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')).toEqual([]);
  expect(c.vault.initialized).toBe(false);
});

test('a Vault a human initialized (no shares stored, no job identity): exit 2 naming vault-setup apply, never sys/init; after that apply the job runs as itself', async () => {
  const c = await cluster({ initialized: { shares: 5, threshold: 3 } });
  for (const key of c.vault.sharesIssued.slice(0, 3)) await vaultCall(c, 'PUT', 'sys/unseal', undefined, { key });
  const bootstrap = await c.runBootstrap();
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/initialized outside this job .* run `npm run vault-setup -- apply`/)]);
  expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')).toEqual([]);

  // The human's apply, with their root token, creates the job's identity from the same dist/.
  const out: string[] = [];
  const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => out.push(t) };
  const env = { VAULT_ADDR: c.vault.url, VAULT_TOKEN: c.vault.initAnswered!.root_token, HOME: '/nonexistent' };
  expect([await vaultSetup(['apply', '--dist', 'examples/zero-touch/dist'], env, io), out.join('')]).toEqual([0, expect.stringMatching(/applied role kubernetes\/vault-bootstrap: created/)]);
  const after = await c.runBootstrap();
  expect([after.code, lastLine(after.stdout)]).toEqual([0, expect.stringMatching(/is as dist\/ declares \(0 written, read back\)/)]);
  expect(c.vault.received.some((r) => r.path.startsWith('/v1/sys/generate-root'))).toBe(false);
});

test('shares a human stored, no job identity: a generated root creates it and is revoked; the shares are escrowed', async () => {
  const c = await cluster({ initialized: { shares: 5, threshold: 3 } });
  // A Vault the README's manual steps set up: Kubernetes auth enabled, no role of the job's.
  for (const key of c.vault.sharesIssued.slice(0, 3)) await vaultCall(c, 'PUT', 'sys/unseal', undefined, { key });
  c.vault.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  c.vault.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc:443' });
  c.vault.restart();
  c.kube.put(c.namespace, c.unsealSecret, Object.fromEntries(c.vault.sharesIssued.slice(0, 3).map((s, i) => [`key${i}`, s])));
  const round = await c.round();
  expect([round.unseal.code, round.bootstrap.code]).toEqual([0, 0]);
  expect(round.bootstrap.stdout).toMatch(/generating a root token from the stored shares, for this run only/);
  expect(c.vault.rootTokensValid()).toEqual([c.vault.initAnswered!.root_token]);
  const escrow = Buffer.from(c.kube.secret(c.namespace, 'vault-unseal-escrow')!.data['shares.age'], 'base64');
  expect(ageDecrypt(escrow, c.escrowKey.identity).toString('utf8')).toBe(c.vault.sharesIssued.slice(0, 3).map((s, i) => `share-${i + 1}: ${s}\n`).join(''));
  expect((await c.round()).bootstrap.stdout).not.toMatch(/generating/);
});

test('report mode: drift is reported (exit 2, a Warning Event) and nothing is written', async () => {
  const c = await cluster();
  expect((await c.round()).bootstrap.code).toBe(0);
  const role = c.docs.find((d) => d.kind === 'ClusterSecretStore')!.spec.provider.vault.auth.kubernetes.role;
  c.vault.byHand('PUT', `sys/policies/acl/${role}`, { policy: 'path "secret/data/*" { capabilities = ["read"] }\n' });
  const writes = c.vault.writes.length;
  const report = await c.runBootstrap({ BOOTSTRAP_MODE: 'report' });
  expect([report.code, lastLine(report.stderr)]).toEqual([2, expect.stringMatching(new RegExp(`^vault differs from dist/ at policy ${role} \\(change\\) \\(report mode writes nothing\\)`))]);
  expect(configWrites(c, writes)).toEqual([]);
  expect(c.kube.events.filter((e) => e.reason === 'VaultDrift')).toHaveLength(1);
});

test('sys/init that gets no answer in time is never retried: Vault may hold shares nobody has, and the run says to look', async () => {
  const c = await cluster();
  c.vault.stallNext('PUT', /^sys\/init$/, 6000);
  const bootstrap = await c.runBootstrap({ VAULT_TIMEOUT_SECONDS: '1' });
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/^PUT \/v1\/sys\/init got no answer .*vault may now be initialized with shares nobody holds/)]);
  // Vault finishes the init it was asked for, late: the one request, never a second.
  await until(() => c.vault.initialized);
  expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method === 'PUT')).toHaveLength(1);
});

test('a login Vault denies (403: the role does not admit the pod) mints no root token, even with shares stored', async () => {
  const c = await cluster({ initialized: { shares: 5, threshold: 3 } });
  for (const key of c.vault.sharesIssued.slice(0, 3)) await vaultCall(c, 'PUT', 'sys/unseal', undefined, { key });
  c.vault.byHand('POST', 'sys/auth/kubernetes', { type: 'kubernetes' });
  c.vault.byHand('POST', 'auth/kubernetes/config', { kubernetes_host: 'https://kubernetes.default.svc:443' });
  c.vault.byHand('POST', 'auth/kubernetes/role/vault-bootstrap', { bound_service_account_names: ['someone-else'], bound_service_account_namespaces: [c.namespace], token_policies: ['vault-bootstrap'] });
  c.kube.put(c.namespace, c.unsealSecret, Object.fromEntries(c.vault.sharesIssued.slice(0, 3).map((s, i) => [`key${i}`, s])));
  const bootstrap = await c.runBootstrap({ RETRY_WINDOW_SECONDS: '0' });
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([1, expect.stringMatching(/^vault denied the job's login as kubernetes\/vault-bootstrap \(HTTP 403: service account name not authorized\)/)]);
  expect(c.vault.received.some((r) => r.path.startsWith('/v1/sys/generate-root'))).toBe(false);
});

test('on Raft only pod 0 is initialized: the others join it', async () => {
  const c = await cluster();
  const other = new FakeVaultLifecycle();
  await other.start();
  try {
    const pods = `${c.vault.url},${other.url.replace('127.0.0.1', 'localhost')}`;
    const bootstrap = await c.runBootstrap({ VAULT_PODS: pods });
    expect(bootstrap.code).toBe(0);
    expect([c.vault.initialized, other.initialized]).toEqual([true, false]);
    expect(other.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')).toEqual([]);
  } finally {
    await other.stop();
  }
});

test('on Raft a pod 0 that answers not initialized while a peer is initialized rejoins: it is never initialized on its own', async () => {
  const c = await cluster();
  const peer = new FakeVaultLifecycle({ initialized: { shares: 5, threshold: 3 } });
  await peer.start();
  try {
    const bootstrap = await c.runBootstrap({ VAULT_PODS: `${c.vault.url},${peer.url.replace('127.0.0.1', 'localhost')}`, RETRY_WINDOW_SECONDS: '0' });
    expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([1, expect.stringMatching(/^127 is not initialized while localhost is: it rejoins the cluster/)]);
    expect([c.vault.initialized, c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')]).toEqual([false, []]);
  } finally {
    await peer.stop();
  }
});

test('an uninitialized Vault beside a Secret holding shares: nothing initialized over them', async () => {
  const c = await cluster();
  c.kube.put(c.namespace, c.unsealSecret, { 'share-1': 'ab'.repeat(33) });
  const bootstrap = await c.runBootstrap();
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/not initialized, yet the Secret .* holds 1 key\(s\): the job never initializes over stored shares/)]);
  expect(c.vault.initialized).toBe(false);
});
