import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  cluster, expectOnlyItsOwn, expectRun, hostile, recover, recoverProcess, stopServers, WAITING,
} from '../support/eso-recovery-harness';
import { HostileAnswer } from '../support/hostile-server';
import { until } from '../support/run-script';

// The recovery script against an API or a Vault that refuses, hangs or answers wrongly, and against malformed
// settings: each ends the run with one line and the exit code that says who must act. The scenarios run its main in
// this process (run-in-process.ts); the bundle exactly as dist/ ships it runs as a real process where the process
// matters (its exit, a signal).
afterAll(stopServers);

test.concurrent('the API forbidding the patch: exits 2 naming the store', async () => {
  const { vault, api } = await cluster({ sealed: false }, { forbidPatch: true });
  const run = await recover(vault, api);
  expectRun(run, 2);
  expect(run.stderr).toMatch(/^PATCH clustersecretstore k8s-secrets answered HTTP 403: clustersecretstores.external-secrets.io is forbidden/);
});

test.concurrent('another store than the one its ClusterRole names: exits 2 naming it', async () => {
  const { vault, api } = await cluster({ sealed: false }, {});
  const run = await recover(vault, api, { ESO_STORE_NAMES: 'vault-kv' });
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
  // The timeout bounds the API's calls too, which answer: long enough for them on a busy machine.
  const run = await recover(vault, api, { VAULT_TIMEOUT_SECONDS: '2' });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/store k8s-secrets not ready \(InvalidProviderConfig\) since \S+; vault: GET \/v1\/sys\/health got no answer within 2 s/);
  expect(run.ms).toBeGreaterThanOrEqual(2000);
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
