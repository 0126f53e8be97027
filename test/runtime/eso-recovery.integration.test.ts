import { randomBytes } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeKube, FakeKubeOptions } from '../support/fake-kube';
import { FakeVault } from '../support/fake-vault';
import { Run, runNode, scriptFromDist } from '../support/run-script';

// The bundled script exactly as dist/ ships it, run as a real process against loopback stand-ins for Vault and the
// Kubernetes API.
const script = scriptFromDist('eso-recovery-script');
const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
writeFileSync(tokenFile, `${token}\n`);
const ALL = ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook'];

let servers: Array<FakeVault | FakeKube> = [];
afterEach(async () => { await Promise.all(servers.map((s) => s.stop())); servers = []; });

async function cluster(vaultOptions: ConstructorParameters<typeof FakeVault>[0], kube: Partial<FakeKubeOptions>) {
  const vault = await new FakeVault(vaultOptions).start();
  const api = await new FakeKube({
    token, store: { ready: false }, deployments: Object.fromEntries(ALL.map((d) => [d, {}])), ...kube,
  }).start();
  servers.push(vault, api);
  return { vault, api };
}

function recover(vault: FakeVault, api: FakeKube, env: Record<string, string> = {}): Promise<Run> {
  return runNode(script, {
    VAULT_ADDR: vault.url, KUBE_API_URL: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: '/nonexistent/ca.crt',
    VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '0', ...env,
  });
}

/** What every run must show: its exit code, that it ended within `maxMs`, and no token in its output. */
function expectRun(run: Run, code: number, maxMs = 2000): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  expect(run.ms).toBeLessThan(maxMs);
  expect(run.stdout + run.stderr).not.toContain(token);
}

test('all healthy: exits 0 at once, restarting nothing', async () => {
  const { vault, api } = await cluster({ sealed: false }, { store: { ready: true } });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets is Ready: nothing to do\n');
  expect(api.patches).toEqual([]);
  expect(vault.received).toEqual([]);
});

test('Vault sealed and the store degraded: waits for Vault, restarts nothing', async () => {
  const { vault, api } = await cluster({ sealed: true }, {});
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets not ready (InvalidProviderConfig); vault sealed (HTTP 503): waiting for vault\n');
  expect(api.patches).toEqual([]);
});

test('Vault ready and the store degraded: restarts exactly the configured Deployments, with the bearer token', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const before = Date.now();
  const run = await recover(vault, api, { ESO_DEPLOYMENTS: 'external-secrets,external-secrets-webhook' });
  expectRun(run, 0);
  expect(run.stdout).toBe('vault ready, store k8s-secrets not ready (InvalidProviderConfig): restarted external-secrets, external-secrets-webhook\n');
  expect(api.patches.map((p) => p.path)).toEqual([
    '/apis/apps/v1/namespaces/security/deployments/external-secrets',
    '/apis/apps/v1/namespaces/security/deployments/external-secrets-webhook',
  ]);
  for (const p of api.patches) {
    expect(p.contentType).toBe('application/strategic-merge-patch+json');
    const stamp = Date.parse(p.body.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']);
    expect(stamp).toBeGreaterThanOrEqual(before - 1000);
    expect(stamp).toBeLessThanOrEqual(Date.now());
  }
  expect(api.received.every((r) => r.authorization === `Bearer ${token}`)).toBe(true);
  expect(vault.received.map((r) => r.path)).toEqual(['/v1/sys/health?standbyok=true']);
});

test('inside the cooldown: a recently restarted Deployment is left alone', async () => {
  const recently = new Date(Date.now() - 60_000).toISOString();
  const { vault, api } = await cluster({ sealed: false }, {
    deployments: { 'external-secrets': { restartedAt: recently }, 'external-secrets-cert-controller': {}, 'external-secrets-webhook': { restartedAt: '2026-01-01T00:00:00Z' } },
  });
  const run = await recover(vault, api, { RESTART_COOLDOWN_SECONDS: '300' });
  expectRun(run, 0);
  expect(api.patches.map((p) => p.path.split('/').pop())).toEqual(['external-secrets-cert-controller', 'external-secrets-webhook']);
  expect(run.stdout).toMatch(/skipped inside the cooldown: external-secrets \(restarted 60 s ago\)/);
});

test('every Deployment inside the cooldown: no restart at all, so a store degraded for another reason never loops', async () => {
  const recently = new Date(Date.now() - 30_000).toISOString();
  const { vault, api } = await cluster({ sealed: false }, { deployments: Object.fromEntries(ALL.map((d) => [d, { restartedAt: recently }])) });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(api.patches).toEqual([]);
  expect(run.stdout).toMatch(/restarted nothing; skipped inside the cooldown/);
});

test('a store without status yet is left alone', async () => {
  const { vault, api } = await cluster({ sealed: false }, { store: 'no-status' });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets has no Ready condition yet: left alone\n');
  expect(api.patches).toEqual([]);
  expect(vault.received).toEqual([]);
});

test('the API forbidding the patch: exits 2 naming the Deployment', async () => {
  const { vault, api } = await cluster({ sealed: false }, { forbidPatch: true });
  const run = await recover(vault, api);
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^PATCH deployment security\/external-secrets answered HTTP 403: deployments.apps "external-secrets" is forbidden/);
});

test('a store that does not exist: exits 2 naming it', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { ESO_STORE_NAME: 'vault-kv' });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^GET clustersecretstore vault-kv answered HTTP 404/);
});

test('a wrong token: exits 2 with 401, without printing the token', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const other = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(other, 'not-the-token-123');
  const run = await recover(vault, api, { KUBE_TOKEN_FILE: other });
  expectRun(run, 2);
  expect(run.stderr).toBe('GET clustersecretstore k8s-secrets answered HTTP 401: Unauthorized\n');
  expect(run.stderr).not.toContain('not-the-token-123');
});

test('Vault hanging: gives up after the timeout and exits 1 with the reason', async () => {
  const { vault, api } = await cluster({ hang: true }, {});
  const run = await recover(vault, api);
  expectRun(run, 1, 3000);
  expect(run.stderr).toMatch(/store k8s-secrets not ready \(InvalidProviderConfig\); vault: GET \/v1\/sys\/health got no answer within 1 s/);
  expect(run.ms).toBeGreaterThanOrEqual(1000);
  expect(api.patches).toEqual([]);
});

test('the API hanging: gives up after the timeout and exits 1 naming the resource', async () => {
  const { vault, api } = await cluster({ sealed: false }, { hang: true });
  const run = await recover(vault, api);
  expectRun(run, 1, 3000);
  expect(run.stderr).toBe('GET clustersecretstore k8s-secrets got no answer within 1 s\n');
  expect(run.ms).toBeGreaterThanOrEqual(1000);
});

test('no token file: exits 2 naming the file and the variable', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { KUBE_TOKEN_FILE: '/nonexistent/token' });
  expectRun(run, 2);
  expect(run.stderr).toBe('cannot read the service account token at /nonexistent/token (ENOENT): set KUBE_TOKEN_FILE or mount it\n');
  expect(api.received).toEqual([]);
});

test('Vault becoming ready in the middle of a run: restarts within the retry interval plus one second', async () => {
  const { vault, api } = await cluster({ sealed: true }, {});
  const running = recover(vault, api, { RETRY_WINDOW_SECONDS: '15', RETRY_INTERVAL_SECONDS: '1' });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  vault.sealed = false;
  const readyAt = Date.now();
  const run = await running;
  expectRun(run, 0, 6000);
  expect(run.stdout).toMatch(/^waiting: store k8s-secrets not ready \(InvalidProviderConfig\); vault sealed \(HTTP 503\): waiting for vault\nvault ready, .*: restarted external-secrets, external-secrets-cert-controller, external-secrets-webhook\n$/);
  expect(api.patches).toHaveLength(3);
  expect(api.patches[0].at - readyAt).toBeLessThan(1000 + 1000);
});

test.each([
  ['RESTART_COOLDOWN_SECONDS', 'five', /invalid RESTART_COOLDOWN_SECONDS: got "five", expected a number of seconds/],
  ['KUBE_API_URL', 'kubernetes.default.svc', /invalid KUBE_API_URL: got "kubernetes.default.svc", expected an http\(s\) URL/],
  ['ESO_DEPLOYMENTS', 'External-Secrets', /invalid ESO_DEPLOYMENTS: got "External-Secrets"/],
  ['VAULT_TIMEOUT_SECONDS', '1s', /invalid VAULT_TIMEOUT_SECONDS: got "1s"/],
])('a malformed %s ends the run at once naming it', async (name, value, message) => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { [name]: value });
  expectRun(run, 2);
  expect(run.stderr).toMatch(message);
  expect(api.received).toEqual([]);
});
