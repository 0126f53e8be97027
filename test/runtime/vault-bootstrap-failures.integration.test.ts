import { ageDecrypt } from '../support/age-decrypt';
import { startedClusters, configWrites, expectNoSecretOutside, lastLine, vaultCall } from '../support/bootstrap-cluster';
import { FakeVaultLifecycle } from '../support/fake-vault-lifecycle';
import { until } from '../support/run-script';
import { main as vaultSetup } from '../../tools/vault-setup/main';

// The bootstrap's acceptance, its failures and edge cases: each scenario a cluster of its own (test/support/
// bootstrap-cluster.ts) whose Vault, API server or Secrets are set up to fail as the scenario says; the happy path,
// round by round, is vault-bootstrap.integration.test.ts.

jest.setTimeout(120_000);

const cluster = startedClusters();

test.concurrent('a 500 on a config write after init: the shares are stored, no root token is left, and a generated root finishes', async () => {
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

test.concurrent('the Job\'s deadline (SIGTERM) right after sys/init waits until the shares are stored and every root token revoked', async () => {
  const c = await cluster();
  c.vault.stallNext('PUT', /^sys\/unseal$/, 1500);
  const bootstrap = await c.runBootstrap({}, (child) => child.stdout!.on('data', (text) => { if (/initializing/.test(String(text))) child.kill('SIGTERM'); }));
  expect([bootstrap.code, bootstrap.stderr]).toEqual([143, 'SIGTERM while storing the new vault\'s shares and revoking its root tokens: stopping as soon as that is done\n'
    + 'stopped by SIGTERM after storing the new vault\'s shares and revoking its root tokens: the next run goes on from there\n']);
  const stored = c.kube.secrets[`${c.namespace}/${c.unsealSecret}`];
  expect(Object.keys(stored).sort().map((k) => stored[k])).toEqual(c.vault.sharesIssued);
  expect(c.vault.rootTokensValid()).toEqual([]);
});

test.concurrent('the Secret write refused after init (its dry run passed): Vault unsealed, its root revoked, the escrow printed and in a Warning Event; the next run points there', async () => {
  const c = await cluster();
  c.kube.forbid({ verbs: ['create'], resources: ['secrets'], dryRun: false });
  const bootstrap = await c.runBootstrap({ RETRY_WINDOW_SECONDS: '0' });
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/could not be stored in the Secret .*: vault is unsealed now and will not unseal after its next restart; their escrow is printed above and in the Warning Event VaultSharesNotStored$/)]);
  expect([c.vault.initialized, c.vault.sealed, c.vault.rootTokensValid()]).toEqual([true, false, []]);
  const opened = (text: string) => ageDecrypt(Buffer.from(text.match(/age -d -i <key>`\): (\S+)/)![1], 'base64'), c.escrowKey.identity).toString('utf8');
  const shares = c.vault.sharesIssued.map((s, i) => `share-${i + 1}: ${s}\n`).join('');
  expect(opened(bootstrap.stdout)).toBe(shares);
  const event = c.kube.events.find((e) => e.reason === 'VaultSharesNotStored');
  expect([event?.type, opened(event?.message ?? '')]).toEqual(['Warning', shares]);
  const next = await c.runBootstrap({ RETRY_WINDOW_SECONDS: '0' });
  expect([next.code, lastLine(next.stderr)]).toEqual([2, expect.stringMatching(/its Warning Event VaultSharesNotStored holds them, encrypted to the escrow's key$/)]);
  expectNoSecretOutside(c);
});

test.concurrent('a root token it cannot revoke is marked on the unseal Secret: every later run fails, naming it, until a human clears the mark', async () => {
  const c = await cluster();
  c.vault.failNext('POST', /^auth\/token\/revoke-self$/, 500);
  const first = await c.runBootstrap({ RETRY_WINDOW_SECONDS: '0' });
  expect([first.code, lastLine(first.stderr)]).toEqual([2, expect.stringMatching(/revoking the root token from sys\/init answered HTTP 500.*nobody holds it, yet vault honours it/)]);
  expect(c.vault.rootTokensValid()).toContain(c.vault.initAnswered!.root_token);
  expect(c.kube.secret(c.namespace, c.unsealSecret)!.metadata.annotations['vault-bootstrap/unrevoked-root-token']).toMatch(/root token from sys\/init$/);
  expect(c.kube.events.map((e) => e.reason)).toContain('RootTokenNotRevoked');
  const next = await c.runBootstrap({ RETRY_WINDOW_SECONDS: '0' });
  expect([next.code, lastLine(next.stderr)]).toEqual([2, expect.stringMatching(/^a root token this job held was never revoked .* then remove the mark/)]);
});

test.concurrent('the API refusing the Secret write: sys/init is never called, and the run says why', async () => {
  const c = await cluster();
  c.kube.forbid({ verbs: ['create'], resources: ['secrets'] });
  const round = await c.round();
  expect([round.bootstrap.code, lastLine(round.bootstrap.stderr)]).toEqual([2, expect.stringMatching(/dry run of writing secret .* answered HTTP 403.*needs create on secrets/)]);
  expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')).toEqual([]);
  expect(c.vault.initialized).toBe(false);
});

test.concurrent('a Vault a human initialized (no shares stored, no job identity): exit 2 naming vault-setup apply, never sys/init; after that apply the job runs as itself', async () => {
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

test.concurrent('shares a human stored, no job identity: a generated root creates it and is revoked; the shares are escrowed', async () => {
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

test.concurrent('report mode: drift is reported (exit 2, a Warning Event) and nothing is written', async () => {
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

test.concurrent('sys/init that gets no answer in time is never retried: Vault may hold shares nobody has, and the run says to look', async () => {
  const c = await cluster();
  c.vault.stallNext('PUT', /^sys\/init$/, 6000);
  const bootstrap = await c.runBootstrap({ VAULT_TIMEOUT_SECONDS: '1' });
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/^PUT \/v1\/sys\/init got no answer .*vault may now be initialized with shares nobody holds/)]);
  // Vault finishes the init it was asked for, late: the one request, never a second.
  await until(() => c.vault.initialized);
  expect(c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method === 'PUT')).toHaveLength(1);
});

test.concurrent('a login Vault denies (403: the role does not admit the pod) mints no root token, even with shares stored', async () => {
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

test.concurrent('on Raft only pod 0 is initialized: the others join it', async () => {
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

test.concurrent('on Raft a pod 0 that answers not initialized while a peer is initialized rejoins: it is never initialized on its own', async () => {
  const c = await cluster();
  const peer = new FakeVaultLifecycle({ initialized: { shares: 5, threshold: 3 } });
  await peer.start();
  try {
    const bootstrap = await c.runBootstrap({ VAULT_PODS: `${c.vault.url},${peer.url.replace('127.0.0.1', 'localhost')}`, RETRY_WINDOW_SECONDS: '0' });
    expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([1, expect.stringMatching(/^127 is not initialized while localhost may be: it rejoins the cluster/)]);
    expect([c.vault.initialized, c.vault.received.filter((r) => r.path === '/v1/sys/init' && r.method !== 'GET')]).toEqual([false, []]);
  } finally {
    await peer.stop();
  }
});

test.concurrent('an uninitialized Vault beside a Secret holding shares: nothing initialized over them', async () => {
  const c = await cluster();
  c.kube.put(c.namespace, c.unsealSecret, { 'share-1': 'ab'.repeat(33) });
  const bootstrap = await c.runBootstrap();
  expect([bootstrap.code, lastLine(bootstrap.stderr)]).toEqual([2, expect.stringMatching(/not initialized, yet the Secret .* holds 1 key\(s\): the job never initializes over stored shares/)]);
  expect(c.vault.initialized).toBe(false);
});
