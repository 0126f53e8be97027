import { randomBytes } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeKube, FakeKubeOptions } from '../support/fake-kube';
import { FakeVault, FakeVaultOptions } from '../support/fake-vault';
import { HostileAnswer, HostileServer } from '../support/hostile-server';
import { main } from '../../runtime/eso-recovery';
import { runInProcess } from '../support/run-in-process';
import { ProcessRunOptions, Run, runNode, scriptFromDist, until } from '../support/run-script';

// The recovery script against loopback stand-ins for Vault and the Kubernetes API, faithful or hostile. The scenarios
// run its main in this process (run-in-process.ts); the bundle exactly as dist/ ships it runs as a real process where
// the process matters (its exit, a signal).
const script = scriptFromDist('eso-recovery-script');
const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
writeFileSync(tokenFile, `${token}\n`);
// Kubernetes stamps times to the second.
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
const EXTERNAL_SECRETS = 'db/postgres-secret,monitoring/grafana-admin';
const WAKE = 'eso-recovery/woken-at';
/** A run that waits for ESO's verdict on the store it woke (the stand-in's ESO answers within 50 ms). */
const WAITING = { RETRY_WINDOW_SECONDS: '10' };

// The scenarios run concurrently (most of their time is spent waiting), each against
// stand-ins of its own; all are stopped when the file ends.
const servers: Array<FakeVault | FakeKube | HostileServer> = [];
afterAll(() => Promise.all(servers.map((s) => s.stop())));

async function cluster(vaultOptions: FakeVaultOptions, kube: Partial<FakeKubeOptions>) {
  const vault = await new FakeVault(vaultOptions).start();
  const api = await new FakeKube({
    token, store: { ready: false },
    externalSecrets: { 'db/postgres-secret': { ready: false }, 'monitoring/grafana-admin': { ready: false } },
    ...kube,
  }).start();
  servers.push(vault, api);
  return { vault, api };
}

async function hostile(answer: HostileAnswer): Promise<HostileServer> {
  const h = await new HostileServer(answer).start();
  servers.push(h);
  return h;
}

function variables(vault: { url: string }, api: { url: string }, env: Record<string, string>): Record<string, string> {
  // 5 s per call: far above a loopback answer, even with the other scenarios running; the hang tests set their own bound.
  return {
    VAULT_ADDR: vault.url, KUBE_API_URL: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: '/nonexistent/ca.crt',
    ESO_EXTERNAL_SECRETS: EXTERNAL_SECRETS, VAULT_TIMEOUT_SECONDS: '5', RETRY_WINDOW_SECONDS: '0', RETRY_INTERVAL_SECONDS: '0.2', ...env,
  };
}

function recover(vault: { url: string }, api: { url: string }, env: Record<string, string> = {}): Promise<Run> {
  return runInProcess(main, variables(vault, api, env));
}

/** The bundle as dist/ ships it, as the CronJob's container runs it. */
function recoverProcess(vault: { url: string }, api: { url: string }, env: Record<string, string> = {}, onSpawn?: ProcessRunOptions['onSpawn']): Promise<Run> {
  return runNode(script, variables(vault, api, env), { onSpawn });
}

/** What every run must show: its exit code, its outcome as its last line, and no token in its output. */
function expectRun(run: Run, code: number): void {
  expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toMatchObject({ code });
  expect((code === 0 ? run.stdout : run.stderr).endsWith('\n')).toBe(true);
  expect(run.stdout + run.stderr).not.toContain(token);
}

const patched = (api: FakeKube) => api.patches.map((p) => p.path.replace('/apis/external-secrets.io/v1/', ''));
/** Nothing the job has no business with: no Deployment, no pod, no other verb than get, list, patch and create. */
function expectOnlyItsOwn(api: FakeKube): void {
  for (const r of api.received) {
    expect(`${r.method} ${r.path}`).toMatch(/^(GET|PATCH) \/apis\/external-secrets\.io\/v1\/(clustersecretstores\/k8s-secrets|namespaces\/[a-z-]+\/externalsecrets\/[a-z-]+)$|^(GET|POST) \/api\/v1\/namespaces\/default\/events/);
  }
}

test.concurrent('all healthy: exits 0 at once, waking nothing, Vault not asked', async () => {
  const { vault, api } = await cluster({ sealed: false }, {
    store: { ready: true }, externalSecrets: { 'db/postgres-secret': { ready: true }, 'monitoring/grafana-admin': { ready: true } },
  });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets is Ready: nothing to do\n');
  expect(api.patches).toEqual([]);
  expect(vault.received).toEqual([]);
});

test.concurrent('Vault sealed and the store degraded: waits for Vault, wakes nothing', async () => {
  const { vault, api } = await cluster({ sealed: true }, { store: { ready: false, since: '2026-11-25T18:00:00Z' } });
  const run = await recover(vault, api, { RETRY_WINDOW_SECONDS: '0' });
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T18:00:00.000Z; vault sealed (HTTP 503): waiting for vault\n');
  expect(api.patches).toEqual([]);
});

describe('Vault ready and the store not: the wake-up', () => {
  test.concurrent('annotates the store with a merge patch, waits for Ready, then annotates the ExternalSecrets not Ready; nothing else', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      externalSecrets: { 'db/postgres-secret': { ready: false }, 'monitoring/grafana-admin': { ready: true } },
    });
    const run = await recover(vault, api, WAITING);
    expectRun(run, 0);
    expect(run.stdout).toMatch(/^vault ready, store k8s-secrets not ready \(InvalidProviderConfig\) since \S+: woke it \(eso-recovery\/woken-at\)\n(waiting: [^\n]*\n)?woke store k8s-secrets, Ready \d+\.\d s later; woke 1 ExternalSecret not Ready: db\/postgres-secret\n$/);
    expect(patched(api)).toEqual(['clustersecretstores/k8s-secrets', 'namespaces/db/externalsecrets/postgres-secret']);
    for (const p of api.patches) {
      expect(p.contentType).toBe('application/merge-patch+json');
      expect(p.authorization).toBe(`Bearer ${token}`);
      expect(Object.keys(p.body)).toEqual(['metadata']);
      expect(Date.parse(p.body.metadata.annotations[WAKE])).toBeGreaterThan(Date.now() - 60_000);
    }
    // The ExternalSecrets only once the store is Ready: ESO's flood gate refuses a store that is not.
    expect(api.patches[1].at).toBeGreaterThanOrEqual(api.storeReadyAt!);
    await until(() => api.options.externalSecrets!['db/postgres-secret'].ready);
    expectOnlyItsOwn(api);
  });

  test.concurrent('ESO re-checks the store and it is still not ready: exit 2 quoting ESO\'s Warning, recorded once per outage', async () => {
    const cause = 'unable to log in to auth method: unable to log in with Kubernetes auth: Error making API request. URL: PUT http://vault.security.svc:8200/v1/auth/kubernetes/login Code: 403. Errors: * permission denied';
    const since = minutesAgo(5);
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: false, since }, validation: cause, warnings: [{ name: 'k8s-secrets.1', message: cause, count: 7 }] });
    for (let i = 0; i < 2; i++) {
      const run = await recover(vault, api, WAITING);
      expectRun(run, 2);
      expect(run.stderr).toMatch(new RegExp(`vault ready, store k8s-secrets not ready \\(InvalidProviderConfig\\) since ${new Date(Date.parse(since)).toISOString()}: `
        + `ESO re-checked it after the wake-up at \\S+ and it is still not ready; fix the cause: ${cause.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n$`));
    }
    const ours = [...api.events.values()].filter((e) => e.source.component === 'eso-recovery');
    expect(ours.map((e) => [e.reason, e.type])).toEqual([['WokeESO', 'Normal'], ['WakeDidNotHelp', 'Warning']]);
    expect(ours[1].message).toContain(cause);
    expect(ours[0].involvedObject).toMatchObject({ kind: 'ClusterSecretStore', name: 'k8s-secrets', uid: '6f1c2a4e-0000-4000-8000-000000000001' });
    expect(ours.every((e) => e.metadata.namespace === 'default')).toBe(true);
    // Woken once: the second run, within five minutes, reads ESO's verdict on that wake-up instead of draining ESO's
    // event budget (client-go's spam filter: 25 Events per object, then one per 5 minutes). No ExternalSecret is woken.
    expect(patched(api)).toEqual(['clustersecretstores/k8s-secrets']);
  });

  test.concurrent('a verdict from a reconcile under way at the wake-up is not taken for ESO\'s answer to it', async () => {
    const { vault, api } = await cluster({ sealed: false }, { staleVerdict: 'vault is sealed', reconcileMs: 300 });
    const run = await recover(vault, api, WAITING);
    expectRun(run, 0);
    expect(run.stdout).toMatch(/woke store k8s-secrets, Ready \d+\.\d s later; woke 2 ExternalSecrets not Ready/);
  });

  test.concurrent('ESO does not re-check the store within the run (down, or its events rate-limited): exit 1, the next run wakes it again', async () => {
    const { vault, api } = await cluster({ sealed: false }, { validation: 'silent' });
    const run = await recover(vault, api, { RETRY_WINDOW_SECONDS: '1' });
    expectRun(run, 1);
    expect(run.stderr).toMatch(/^store k8s-secrets not ready \(InvalidProviderConfig\) since \S+: woken at \S+, ESO has not re-checked it yet\n$/);
    expect(patched(api)).toEqual(['clustersecretstores/k8s-secrets']);
  });

  test.concurrent('ESO\'s webhook down: the patch is refused, one line naming the webhook, exit 1', async () => {
    const { vault, api } = await cluster({ sealed: false }, { webhookDown: true });
    const run = await recover(vault, api, { RETRY_WINDOW_SECONDS: '0' });
    expectRun(run, 1);
    expect(run.stderr).toBe('PATCH clustersecretstore k8s-secrets was refused: the admission webhook validate.clustersecretstore.external-secrets.io is not answering (ESO\'s webhook is down; it admits every change to ESO\'s objects): the next run tries again\n');
  });

  test.concurrent('Vault becoming ready in the middle of a run: wakes in that run, within one retry interval', async () => {
    const { vault, api } = await cluster({ sealed: true }, {});
    const running = recover(vault, api, { RETRY_WINDOW_SECONDS: '15', RETRY_INTERVAL_SECONDS: '0.2' });
    await until(() => vault.received.length > 0);
    vault.sealed = false;
    const run = await running;
    expectRun(run, 0);
    expect(run.stdout).toMatch(/^waiting: store k8s-secrets not ready \(InvalidProviderConfig\) since \S+; vault sealed \(HTTP 503\): waiting for vault\nvault ready, .*: woke it \(eso-recovery\/woken-at\)\n(waiting: [^\n]*\n)?woke store .*; woke 2 ExternalSecrets not Ready: db\/postgres-secret, monitoring\/grafana-admin\n$/);
    expect(patched(api)).toHaveLength(3);
  });
});

describe('the store Ready and ExternalSecrets not (still in ESO\'s backoff)', () => {
  test.concurrent('one that cannot be read (its namespace or Role not synced yet) does not keep the others asleep: exit 1 naming it', async () => {
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: true }, externalSecrets: { 'monitoring/grafana-admin': { ready: false } } });
    const run = await recover(vault, api);
    expectRun(run, 1);
    expect(run.stderr).toMatch(/^store k8s-secrets is Ready; woke 1 ExternalSecret not Ready: monitoring\/grafana-admin; could not read 1: GET externalsecret db\/postgres-secret answered HTTP 403/);
    expect(patched(api)).toEqual(['namespaces/monitoring/externalsecrets/grafana-admin']);
  });

  test.concurrent('a short Vault outage the store never noticed: an ExternalSecret that failed since its last wake-up is woken again', async () => {
    const { vault, api } = await cluster({ sealed: false }, {
      store: { ready: true, since: minutesAgo(600) },
      externalSecrets: {
        'db/postgres-secret': { ready: false, since: minutesAgo(3), wokenAt: minutesAgo(300) },
        'monitoring/grafana-admin': { ready: true },
      },
    });
    const run = await recover(vault, api);
    expectRun(run, 0);
    expect(run.stdout).toBe('store k8s-secrets is Ready; woke 1 ExternalSecret not Ready: db/postgres-secret\n');
  });

  test.concurrent('wakes each one once per store recovery, only while Vault is ready', async () => {
    const { vault, api } = await cluster({ sealed: true }, {
      store: { ready: true, since: minutesAgo(2) }, validation: 'silent',
      externalSecrets: {
        'db/postgres-secret': { ready: false },
        // Woken before the store last became Ready: a new chance.
        'monitoring/grafana-admin': { ready: false, wokenAt: minutesAgo(10) },
      },
    });
    const sealedRun = await recover(vault, api);
    expectRun(sealedRun, 0);
    expect(sealedRun.stdout).toBe('store k8s-secrets is Ready; vault is not ready: 2 ExternalSecret(s) not Ready left alone\n');
    expect(api.patches).toEqual([]);

    vault.sealed = false;
    // ESO finds a field missing in Vault: they stay not Ready, whatever the wake.
    for (const e of Object.values(api.options.externalSecrets!)) e.failing = true;
    const first = await recover(vault, api);
    expectRun(first, 0);
    expect(first.stdout).toBe('store k8s-secrets is Ready; woke 2 ExternalSecrets not Ready: db/postgres-secret, monitoring/grafana-admin\n');
    const second = await recover(vault, api);
    expectRun(second, 0);
    expect(second.stdout).toBe('store k8s-secrets is Ready: nothing to do\n');
    expect(api.patches).toHaveLength(2);
  });
});

describe('Events on the store, for kubectl describe and kubectl get events', () => {
  test.concurrent('an API that refuses the Event: logged on one line, the run\'s outcome unchanged', async () => {
    const { vault, api } = await cluster({ sealed: false }, { forbidEvents: true });
    const run = await recover(vault, api, WAITING);
    expectRun(run, 0);
    expect(run.stdout).toMatch(/^could not record the event WokeESO on clustersecretstore k8s-secrets: POST event default\/k8s-secrets\.eso-woken\.\d+ answered HTTP 403: events is forbidden/m);
    expect(run.stdout).toMatch(/woke 2 ExternalSecrets not Ready/);
  });

  test.concurrent('nothing woken, nothing recorded', async () => {
    const { vault, api } = await cluster({ sealed: true }, {});
    await recover(vault, api, { RETRY_WINDOW_SECONDS: '0' });
    expect(api.events.size).toBe(0);
  });
});

test.concurrent('a store without status yet is left alone', async () => {
  const { vault, api } = await cluster({ sealed: false }, { store: 'no-status' });
  const run = await recover(vault, api);
  expectRun(run, 0);
  expect(run.stdout).toBe('store k8s-secrets has no Ready condition yet: left alone\n');
  expect(api.patches).toEqual([]);
  expect(vault.received).toEqual([]);
});

test.concurrent('the API forbidding the patch: exits 2 naming the store', async () => {
  const { vault, api } = await cluster({ sealed: false }, { forbidPatch: true });
  const run = await recover(vault, api);
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^PATCH clustersecretstore k8s-secrets answered HTTP 403: clustersecretstores.external-secrets.io is forbidden/);
});

test.concurrent('another store than the one its ClusterRole names: exits 2 naming it', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { ESO_STORE_NAME: 'vault-kv' });
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^GET clustersecretstore vault-kv answered HTTP 403/);
});

test.concurrent('a wrong token: exits 2 with 401, without printing the token', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const other = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(other, 'not-the-token-123');
  const run = await recover(vault, api, { KUBE_TOKEN_FILE: other });
  expectRun(run, 2);
  expect(run.stderr).toBe('GET clustersecretstore k8s-secrets answered HTTP 401: Unauthorized\n');
  expect(run.stderr).not.toContain('not-the-token-123');
});

test.concurrent('Vault hanging: gives up after the timeout and exits 1 with the reason', async () => {
  const { vault, api } = await cluster({ hang: true }, {});
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '0.2' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/store k8s-secrets not ready \(InvalidProviderConfig\) since \S+; vault: GET \/v1\/sys\/health got no answer within 0\.2 s/);
  expect(run.ms).toBeGreaterThanOrEqual(200);
  expect(api.patches).toEqual([]);
});

test.concurrent('Vault answering 500: a failed call, exit 1, not "waiting"', async () => {
  const { vault, api } = await cluster({ failWith: 500 }, {});
  const run = await recover(vault, api);
  expectRun(run, 1);
  expect(run.stderr).toMatch(/; GET \/v1\/sys\/health answered HTTP 500\n$/);
  expect(api.patches).toEqual([]);
});

test.concurrent('the API hanging: gives up after the timeout and exits 1 naming the resource', async () => {
  const { vault, api } = await cluster({ sealed: false }, { hang: true });
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '0.2' });
  expectRun(run, 1);
  expect(run.stderr).toBe('GET clustersecretstore k8s-secrets got no answer within 0.2 s\n');
  expect(run.ms).toBeGreaterThanOrEqual(200);
});

test.concurrent('no token file: exits 2 naming the file and the variable', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { KUBE_TOKEN_FILE: '/nonexistent/token' });
  expectRun(run, 2);
  expect(run.stderr).toBe('cannot read the service account token at /nonexistent/token (ENOENT): set KUBE_TOKEN_FILE or mount it\n');
  expect(api.received).toEqual([]);
});

describe('an API or a Vault that answers wrongly: exit 1 with one line, never 0, nothing woken', () => {
  test.concurrent.each<[string, HostileAnswer, RegExp]>([
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

  test.concurrent.each<[string, HostileAnswer, RegExp]>([
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

test.concurrent('a slow API: the run stops at its deadline, exit 1', async () => {
  // Each call of the API takes 0.2 s, each within the 5 s timeout; the run's deadline is 0.5 s.
  const { vault, api } = await cluster({ sealed: false }, { delayMs: 200 });
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '5', RUN_DEADLINE_SECONDS: '0.5' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/(got no answer within 0\.\d+ s|reached its deadline of 0\.5 s)\n$/);
});

test.concurrent('SIGTERM (the Job\'s deadline): exits promptly, non-zero, naming the signal', async () => {
  const { vault, api } = await cluster({ sealed: false }, { hang: true });
  const run = await recoverProcess(vault, api, { VAULT_TIMEOUT_SECONDS: '30', RUN_DEADLINE_SECONDS: '60' }, (child) => {
    void until(() => api.received.length > 0).then(() => child.kill('SIGTERM'));
  });
  expectRun(run, 143);
  expect(run.stderr).toMatch(/^stopped by SIGTERM before the run finished/);
  expect(run.ms).toBeLessThan(15000); // far below the 30 s the hanging call would take: the signal ended the run
});

test.concurrent.each([
  ['RETRY_WINDOW_SECONDS', 'five', /invalid RETRY_WINDOW_SECONDS: got "five", expected a number of seconds/],
  ['KUBE_API_URL', 'kubernetes.default.svc', /invalid KUBE_API_URL: got "kubernetes.default.svc", expected an http\(s\) URL/],
  ['ESO_EXTERNAL_SECRETS', 'postgres-secret', /invalid ESO_EXTERNAL_SECRETS: got "postgres-secret"/],
  ['VAULT_TIMEOUT_SECONDS', '1s', /invalid VAULT_TIMEOUT_SECONDS: got "1s"/],
])('a malformed %s ends the run at once naming it', async (name, value, message) => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { [name]: value });
  expectRun(run, 2);
  expect(run.stderr).toMatch(message);
  expect(api.received).toEqual([]);
});

describe('the bundle as dist/ ships it, run by node as the CronJob runs it', () => {
  test.concurrent('a store degraded, Vault ready: wakes it, exits 0 with its outcome on stdout', async () => {
    const { vault, api } = await cluster({ sealed: false }, {});
    const run = await recoverProcess(vault, api, WAITING);
    expectRun(run, 0);
    expect(run.stdout).toMatch(/woke store k8s-secrets, Ready \d+\.\d s later; woke 2 ExternalSecrets not Ready/);
    expectOnlyItsOwn(api);
  });

  test.concurrent('a human needed: exit 2 with its reason on stderr, nothing woken', async () => {
    const { vault, api } = await cluster({ sealed: false }, { forbidPatch: true });
    const run = await recoverProcess(vault, api);
    expectRun(run, 2);
    expect(run.stderr).toMatch(/^PATCH clustersecretstore k8s-secrets answered HTTP 403/);
  });
});
