import { randomBytes } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeKube, FakeKubeOptions } from '../support/fake-kube';
import { FakeVault, FakeVaultOptions } from '../support/fake-vault';
import { HostileAnswer, HostileServer } from '../support/hostile-server';
import { Run, runNode, RunOptions, scriptFromDist, until } from '../support/run-script';

// The bundled script exactly as dist/ ships it, run as a real process against loopback stand-ins for Vault and the
// Kubernetes API, faithful or hostile.
const script = scriptFromDist('eso-recovery-script');
const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
writeFileSync(tokenFile, `${token}\n`);
const ALL = ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook'];
// Kubernetes stamps times to the second.
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

let servers: Array<FakeVault | FakeKube | HostileServer> = [];
afterEach(async () => { await Promise.all(servers.map((s) => s.stop())); servers = []; });

async function cluster(vaultOptions: FakeVaultOptions, kube: Partial<FakeKubeOptions>) {
  const vault = await new FakeVault(vaultOptions).start();
  const api = await new FakeKube({
    token, store: { ready: false }, deployments: Object.fromEntries(ALL.map((d) => [d, {}])), ...kube,
  }).start();
  servers.push(vault, api);
  return { vault, api };
}

async function hostile(answer: HostileAnswer): Promise<HostileServer> {
  const h = await new HostileServer(answer).start();
  servers.push(h);
  return h;
}

function recover(vault: { url: string }, api: { url: string }, env: Record<string, string> = {}, onSpawn?: RunOptions['onSpawn']): Promise<Run> {
  return runNode(script, {
    VAULT_ADDR: vault.url, KUBE_API_URL: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: '/nonexistent/ca.crt',
    VAULT_TIMEOUT_SECONDS: '1', RETRY_WINDOW_SECONDS: '0', ...env,
  }, { onSpawn });
}

/** What every run must show: its exit code, its outcome as its last line, and no token in its output. */
function expectRun(run: Run, code: number): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  expect((code === 0 ? run.stdout : run.stderr).endsWith('\n')).toBe(true);
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
  const { vault, api } = await cluster({ sealed: true }, { store: { ready: false, since: '2026-11-25T18:00:00Z' } });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T18:00:00.000Z; vault sealed (HTTP 503): waiting for vault\n');
  expect(api.patches).toEqual([]);
});

test('Vault ready and the store degraded: restarts exactly the configured Deployments, with the bearer token', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const before = Date.now();
  const run = await recover(vault, api, { ESO_DEPLOYMENTS: 'external-secrets,external-secrets-webhook' });
  expectRun(run, 0);
  expect(run.stdout).toMatch(/^vault ready, store k8s-secrets not ready \(InvalidProviderConfig\) since \S+: restarted external-secrets, external-secrets-webhook\n$/);
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

describe('Events on the store, for kubectl describe and kubectl get events', () => {
  test('a restart records a Normal event RestartedESO on the ClusterSecretStore, in namespace default', async () => {
    const { vault, api } = await cluster({ sealed: false }, {});
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.events.size).toBe(1);
    const [[key, event]] = [...api.events];
    expect(key).toMatch(/^default\/k8s-secrets\.eso-restarted\.\d+$/);
    expect(event).toMatchObject({
      apiVersion: 'v1', kind: 'Event', type: 'Normal', reason: 'RestartedESO',
      involvedObject: { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: 'k8s-secrets', uid: '6f1c2a4e-0000-4000-8000-000000000001' },
      message: 'vault ready and the store not ready (InvalidProviderConfig): restarted external-secrets, external-secrets-cert-controller, external-secrets-webhook to clear ESO\'s backoff',
      source: { component: 'eso-recovery' }, count: 1,
    });
    expect(event.message).not.toContain('\n');
    expect(Date.parse(event.firstTimestamp)).not.toBeNaN();
  });

  test('a restart that did not help records a Warning event once per outage, whatever the number of runs', async () => {
    const since = minutesAgo(30);
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: false, message: 'permission denied', since },
      deployments: Object.fromEntries(ALL.map((d) => [d, { restartedAt: minutesAgo(20) }])),
    });
    expectRun(await recover(vault, api), 2);
    const second = await recover(vault, api);
    expectRun(second, 2);
    expect(second.stdout).toBe('');
    expect([...api.events.keys()]).toEqual([`default/k8s-secrets.restart-did-not-help.${Date.parse(since) / 1000}`]);
    expect([...api.events.values()][0]).toMatchObject({ type: 'Warning', reason: 'RestartDidNotHelp', message: expect.stringContaining('a human is needed (permission denied)') });
  });

  test('an API that refuses the Event: logged on one line, the run\'s outcome unchanged', async () => {
    const { vault, api } = await cluster({ sealed: false }, { forbidEvents: true });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toHaveLength(3);
    expect(run.stdout).toMatch(/^could not record the event RestartedESO on clustersecretstore k8s-secrets: POST event default\/k8s-secrets\.eso-restarted\.\d+ answered HTTP 403: events is forbidden.*\nvault ready, .*: restarted external-secrets, external-secrets-cert-controller, external-secrets-webhook\n$/);
  });

  test('nothing restarted, nothing recorded', async () => {
    const { vault, api } = await cluster({ sealed: true }, {});
    expectRun(await recover(vault, api), 0);
    expect(api.events.size).toBe(0);
  });
});

describe('at most one restart per outage', () => {
  const restarted = (at: string) => Object.fromEntries(ALL.map((d) => [d, { restartedAt: at }]));

  test('restarted during this outage, longer ago than the cooldown, still not ready: no restart, exit 2 with the store\'s message', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: false, reason: 'InvalidProviderConfig', message: 'unable to log in: permission denied', since: minutesAgo(30) },
      deployments: restarted(minutesAgo(20)),
    });
    const run = await recover(vault, api);
    expectRun(run, 2);
    expect(api.patches).toEqual([]);
    expect(run.stderr).toMatch(/^vault ready, store k8s-secrets not ready \(InvalidProviderConfig\) since \S+: ESO was restarted at \S+, during this outage, and the store is still not ready, so another restart will not help; fix the cause: unable to log in: permission denied\n$/);
  });

  test('restarted during this outage, within the cooldown: waits for ESO to reconcile, exit 0', async () => {
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: false, since: minutesAgo(30) }, deployments: restarted(minutesAgo(1)) });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toEqual([]);
    expect(run.stdout).toMatch(/: ESO restarted \d+ s ago, waiting for it to reconcile\n$/);
  });

  test('restarted before this outage began (a new outage): restarts again', async () => {
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: false, since: minutesAgo(10) }, deployments: restarted(minutesAgo(60)) });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toHaveLength(3);
  });

  test('an earlier run cut short after one restart: restarts only the others', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: false, since: minutesAgo(10) },
      deployments: { 'external-secrets': { restartedAt: minutesAgo(9) }, 'external-secrets-cert-controller': {}, 'external-secrets-webhook': { restartedAt: minutesAgo(60) } },
    });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches.map((p) => p.path.split('/').pop())).toEqual(['external-secrets-cert-controller', 'external-secrets-webhook']);
  });

  test('a restart made before Vault last became ready (by hand while sealed, or before Vault went away again) is no attempt: restarts', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: false, since: minutesAgo(30) }, deployments: restarted(minutesAgo(20)), vaultPod: { ready: true, since: minutesAgo(12) },
    });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toHaveLength(3);
    expect(api.received.map((r) => r.path)).toContain('/api/v1/namespaces/security/pods/vault-0');
  });

  test('Vault answering but its pod not ready yet: waits, restarts nothing', async () => {
    const { vault, api } = await cluster({ sealed: false }, { vaultPod: { ready: false } });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toEqual([]);
    expect(run.stdout).toMatch(/vault answers but its pod vault-0 is not ready yet: waiting for it\n$/);
  });

  test('a restartedAt in the future is no recent restart', async () => {
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: false, since: minutesAgo(10) }, deployments: restarted('2099-01-01T00:00:00Z') });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(api.patches).toHaveLength(3);
  });

  test('the cooldown stays a second guard: a Deployment restarted just before this outage is left alone', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: false, since: minutesAgo(1) },
      deployments: { 'external-secrets': { restartedAt: minutesAgo(2) }, 'external-secrets-cert-controller': {}, 'external-secrets-webhook': {} },
    });
    const run = await recover(vault, api, { RESTART_COOLDOWN_SECONDS: '300' });
    expectRun(run, 0);
    expect(api.patches.map((p) => p.path.split('/').pop())).toEqual(['external-secrets-cert-controller', 'external-secrets-webhook']);
    expect(run.stdout).toMatch(/skipped inside the cooldown: external-secrets \(restarted \d+ s ago\)/);
  });
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
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '0.2' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/store k8s-secrets not ready \(InvalidProviderConfig\) since \S+; vault: GET \/v1\/sys\/health got no answer within 0\.2 s/);
  expect(run.ms).toBeGreaterThanOrEqual(200);
  expect(api.patches).toEqual([]);
});

test('Vault answering 500: a failed call, exit 1, not "waiting"', async () => {
  const { vault, api } = await cluster({ failWith: 500 }, {});
  const run = await recover(vault, api);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/; GET \/v1\/sys\/health answered HTTP 500\n$/);
  expect(api.patches).toEqual([]);
});

test('the API hanging: gives up after the timeout and exits 1 naming the resource', async () => {
  const { vault, api } = await cluster({ sealed: false }, { hang: true });
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '0.2' });
  expectRun(run, 1);
  expect(run.stderr).toBe('GET clustersecretstore k8s-secrets got no answer within 0.2 s\n');
  expect(run.ms).toBeGreaterThanOrEqual(200);
});

test('no token file: exits 2 naming the file and the variable', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { KUBE_TOKEN_FILE: '/nonexistent/token' });
  expectRun(run, 2);
  expect(run.stderr).toBe('cannot read the service account token at /nonexistent/token (ENOENT): set KUBE_TOKEN_FILE or mount it\n');
  expect(api.received).toEqual([]);
});

describe('an API or a Vault that answers wrongly: exit 1 with one line, never 0, nothing restarted', () => {
  test.each<[string, HostileAnswer, RegExp]>([
    ['headers, then a clean close', 'headers-then-fin', /^GET clustersecretstore k8s-secrets failed: the connection closed before the answer was complete\n$/],
    ['part of the body, then a clean close', 'partial-body-then-fin', /^GET clustersecretstore k8s-secrets failed: the connection closed/],
    ['101 Switching Protocols', 'switching-protocols', /^GET clustersecretstore k8s-secrets answered HTTP 101/],
    ['an endless body', 'endless-body', /^GET clustersecretstore k8s-secrets answered with more than 256 KB/],
    ['200 with HTML', { status: 200, body: '<html></html>', contentType: 'text/html' }, /^GET clustersecretstore k8s-secrets answered HTTP 200 with a body that is not JSON: not the API's answer\n$/],
    ['another object', { status: 200, body: '{"kind":"Status","metadata":{}}' }, /^GET clustersecretstore k8s-secrets answered an object that is not ClusterSecretStore k8s-secrets/],
    ['conditions that are not a list', { status: 200, body: '{"kind":"ClusterSecretStore","metadata":{"name":"k8s-secrets"},"status":{"conditions":{}}}' }, /status\.conditions that is not a list/],
  ])('the API: %s', async (_case, answer, message) => {
    const api = await hostile(answer);
    const { vault } = await cluster({ sealed: false }, {});
    const run = await recover(vault, api);
    expectRun(run, 1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(api.bodyBytesSent).toBeLessThan(32 * 1024 * 1024);
  });

  test.each<[string, HostileAnswer, RegExp]>([
    ['headers, then a clean close', 'headers-then-fin', /vault: GET \/v1\/sys\/health failed: the connection closed/],
    ['101 Switching Protocols', 'switching-protocols', /vault: GET \/v1\/sys\/health answered HTTP 101/],
    ['200 with HTML', { status: 200, body: '<html></html>', contentType: 'text/html' }, /GET \/v1\/sys\/health answered HTTP 200 with a body that is not JSON, not Vault's health/],
    ['200 with {}', { status: 200, body: '{}' }, /GET \/v1\/sys\/health answered HTTP 200 with JSON of another shape/],
  ])('Vault: %s', async (_case, answer, message) => {
    const vault = await hostile(answer);
    const { api } = await cluster({}, {});
    const run = await recover(vault, api);
    expectRun(run, 1);
    expect(run.stderr).toMatch(message);
    expect(api.patches).toEqual([]);
  });
});

test('a slow API: the run stops at its deadline, exit 1, naming what it had restarted', async () => {
  // Each call of the API takes 0.2 s: the store, then a get and a patch for each Deployment, 1.4 s in all, each
  // within the 5 s timeout; the run's deadline is 0.5 s.
  const { vault, api } = await cluster({ sealed: false }, { delayMs: 200 });
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '5', RUN_DEADLINE_SECONDS: '0.5' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/(got no answer within 0\.\d+ s|reached its deadline of 0\.5 s)( \(restarted [-a-z, ]+ before that\))?\n$/);
  expect(api.patches.length).toBeLessThan(3);
});

test('SIGTERM (the Job\'s deadline): exits promptly, non-zero, naming the signal', async () => {
  const { vault, api } = await cluster({ sealed: false }, { hang: true });
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '30', RUN_DEADLINE_SECONDS: '60' }, (child) => {
    void until(() => api.received.length > 0).then(() => child.kill('SIGTERM'));
  });
  expectRun(run, 143);
  expect(run.stderr).toMatch(/^stopped by SIGTERM before the run finished/);
  expect(run.ms).toBeLessThan(15000); // far below the 30 s the hanging call would take: the signal ended the run
});

test('Vault becoming ready in the middle of a run: restarts in that run', async () => {
  const { vault, api } = await cluster({ sealed: true }, {});
  const running = recover(vault, api, { RETRY_WINDOW_SECONDS: '15', RETRY_INTERVAL_SECONDS: '0.2' });
  await until(() => vault.received.length > 0);
  vault.sealed = false;
  const run = await running;
  expectRun(run, 0);
  expect(run.stdout).toMatch(/^waiting: store k8s-secrets not ready \(InvalidProviderConfig\) since \S+; vault sealed \(HTTP 503\): waiting for vault\nvault ready, .*: restarted external-secrets, external-secrets-cert-controller, external-secrets-webhook\n$/);
  expect(api.patches).toHaveLength(3);
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
