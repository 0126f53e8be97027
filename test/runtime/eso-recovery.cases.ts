import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { needsHuman } from '../../runtime/common/failure';
import { KubeApi, kubeApi } from '../../runtime/common/kube';
import { HttpResponse } from '../../runtime/common/http';
import { VaultApi } from '../../runtime/common/vault';
import { runBudget } from '../../runtime/common/budget';
import { readiness, readRecoverySettings, recovery, WAKE_ANNOTATION, wokenAt } from '../../runtime/eso-recovery';

const settings = readRecoverySettings({ ESO_EXTERNAL_SECRETS: 'db/a,db/b' });
const NOW = Date.parse('2026-11-25T18:00:00Z');

function vault(health: HttpResponse | Error): VaultApi {
  return {
    addr: 'http://vault:8200',
    checkPort: async () => undefined,
    sealStatus: async () => { throw new Error('not used'); },
    unseal: async () => { throw new Error('not used'); },
    health: async () => { if (health instanceof Error) throw health; return health; },
  };
}

const condition = (ready: boolean, since: string) => ({ conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Valid' : 'InvalidProviderConfig', lastTransitionTime: since }] });
const storeObject = (ready: boolean, since = '2026-11-25T17:50:00Z') => ({ kind: 'ClusterSecretStore', metadata: { name: 'k8s-secrets', uid: 'u' }, status: condition(ready, since) });
const secret = (name: string, ready: boolean, woken?: string) => ({
  kind: 'ExternalSecret', metadata: { name, ...(woken && { annotations: { [WAKE_ANNOTATION]: woken } }) }, status: condition(ready, '2026-11-25T17:00:00Z'),
});

/** An API answering from `objects` by the last part of the path, recording the paths patched. */
function kube(objects: Record<string, any>, patchError?: Error): KubeApi & { patched: string[] } {
  const patched: string[] = [];
  return {
    patched,
    get: async (path) => (path.includes('/events?') ? { kind: 'EventList', items: [] } : objects[path.split('/').pop()!]),
    create: async () => undefined,
    update: async () => { throw new Error('the recovery job never replaces an object'); },
    patch: async (path, body: any) => {
      if (patchError) throw patchError;
      expect(body).toEqual({ metadata: { annotations: { [WAKE_ANNOTATION]: '2026-11-25T18:00:00.000Z' } } });
      patched.push(path.split('/').pop()!);
    },
  };
}
const healthy: HttpResponse = { status: 200, json: { initialized: true, sealed: false, standby: false } };
const fatal = (message: string) => needsHuman(message, 403);
const said: string[] = [];
const attempt = (v: VaultApi, k: KubeApi) => recovery(settings, v, k, () => NOW, (line) => said.push(line)).attempt();

describe('one attempt', () => {
  test('store and ExternalSecrets Ready: done at once, Vault not asked', async () => {
    const k = kube({ 'k8s-secrets': storeObject(true), a: secret('a', true), b: secret('b', true) });
    expect(await attempt(vault(new Error('must not be called')), k)).toEqual({ done: true, exitCode: 0, message: 'store k8s-secrets is Ready: nothing to do' });
    expect(k.patched).toEqual([]);
  });

  test('store degraded, Vault sealed, uninitialized or standby: wait, exit 0 if the window closes so, nothing patched', async () => {
    for (const [status, word] of [[503, 'sealed'], [501, 'not initialized'], [429, 'standby']] as const) {
      const k = kube({ 'k8s-secrets': storeObject(false) });
      expect(await attempt(vault({ status, json: {} }), k)).toEqual({
        done: false, exitCode: 0, message: `store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z; vault ${word} (HTTP ${status}): waiting for vault`,
      });
      expect(k.patched).toEqual([]);
    }
  });

  test('store degraded, Vault unreachable: retry, exit 1 if the window closes so', async () => {
    expect(await attempt(vault(new Error('port closed')), kube({ 'k8s-secrets': storeObject(false) }))).toEqual({
      done: false, exitCode: 1, message: 'store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z; vault: port closed',
    });
  });

  test('store degraded, Vault ready: wakes the store, then polls for ESO\'s verdict sooner than the interval', async () => {
    const k = kube({ 'k8s-secrets': storeObject(false) });
    // The wake-up is logged as it happens (through the injected logger: a passing run prints nothing).
    expect(await attempt(vault(healthy), k)).toEqual({
      done: false, exitCode: 1, againInMs: 500,
      message: 'store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z: woken at 2026-11-25T18:00:00.000Z, ESO has not re-checked it yet',
    });
    expect(k.patched).toEqual(['k8s-secrets']);
    expect(said.pop()).toBe('vault ready, store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z: woke it (eso-recovery/woken-at)');
  });

  test('store degraded and woken during this outage less than 5 minutes ago: not woken again, ESO\'s verdict awaited', async () => {
    const store = { ...storeObject(false), metadata: { name: 'k8s-secrets', annotations: { [WAKE_ANNOTATION]: '2026-11-25T17:58:00Z' } } };
    const k = kube({ 'k8s-secrets': store });
    expect(await attempt(vault(healthy), k)).toMatchObject({ done: false, message: expect.stringContaining('woken at 2026-11-25T17:58:00.000Z, ESO has not re-checked it yet') });
    expect(k.patched).toEqual([]);
  });

  test('store Ready: wakes the ExternalSecrets not Ready and not woken since the store became Ready', async () => {
    const k = kube({
      'k8s-secrets': storeObject(true, '2026-11-25T17:50:00Z'),
      a: secret('a', false, '2026-11-25T17:40:00Z'), // woken before the store recovered: a new chance
      b: secret('b', false, '2026-11-25T17:55:00Z'), // woken since: its failure is its own
    });
    expect(await attempt(vault(healthy), k)).toEqual({ done: true, exitCode: 0, message: 'store k8s-secrets is Ready; woke 1 ExternalSecret not Ready: db/a' });
    expect(k.patched).toEqual(['a']);
  });

  test('a forbidden resource: done, exit 2; a failed call: retry', async () => {
    const objects = { 'k8s-secrets': storeObject(false) };
    expect(await attempt(vault(healthy), kube(objects, fatal('PATCH clustersecretstore k8s-secrets answered HTTP 403'))))
      .toEqual({ done: true, exitCode: 2, message: 'PATCH clustersecretstore k8s-secrets answered HTTP 403' });
    expect(await attempt(vault(healthy), kube(objects, new Error('PATCH clustersecretstore k8s-secrets got no answer within 5 s'))))
      .toEqual({ done: false, exitCode: 1, message: 'PATCH clustersecretstore k8s-secrets got no answer within 5 s' });
  });
});

test('readiness reads the Ready condition and when it last changed', () => {
  const since = Date.parse('2026-11-25T17:50:00Z');
  expect(readiness(storeObject(true), 'store')).toEqual({ ready: true, reason: 'Valid', since });
  expect(readiness(storeObject(false), 'store')).toEqual({ ready: false, reason: 'InvalidProviderConfig', since });
  expect(readiness({ status: { conditions: [] } }, 'store')).toBeUndefined();
  expect(readiness({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, 'store')).toBeUndefined();
  expect(readiness(undefined, 'store')).toBeUndefined();
  expect(() => readiness({ status: { conditions: 'Ready' } }, 'store')).toThrow('status.conditions that is not a list');
  expect(() => readiness({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }, 'store')).toThrow('without a lastTransitionTime');
});

test('wokenAt reads the job\'s own annotation; a stamp in the future is no wake-up', () => {
  const at = (stamp: string) => ({ metadata: { annotations: { [WAKE_ANNOTATION]: stamp } } });
  expect(wokenAt(at('2026-11-25T17:59:30Z'), NOW)).toBe(NOW - 30_000);
  expect(wokenAt(at('2026-11-25T18:00:01Z'), NOW)).toBeUndefined();
  expect(wokenAt(at('garbage'), NOW)).toBeUndefined();
  expect(wokenAt({}, NOW)).toBeUndefined();
});

test('settings default to the in-cluster values and the seed\'s names; no ExternalSecrets is an empty list', () => {
  expect(readRecoverySettings({ ESO_EXTERNAL_SECRETS: '' })).toEqual({
    vaultAddr: 'http://vault.security.svc.cluster.local:8200', stores: [{ name: 'k8s-secrets', externalSecrets: [] }],
    kubeUrl: 'https://kubernetes.default.svc', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', timeoutMs: 5000, windowMs: 40000, intervalMs: 3000, deadlineMs: 50000,
  });
  expect(settings.stores).toEqual([{ name: 'k8s-secrets', externalSecrets: [{ namespace: 'db', name: 'a' }, { namespace: 'db', name: 'b' }] }]);
  expect(readRecoverySettings({ ESO_STORE_NAMES: '', ESO_EXTERNAL_SECRETS: '' }).stores).toEqual([]);
});

test('several stores: each ExternalSecret goes with the store it names; one naming none, or another, is a malformed setting', () => {
  const env = { ESO_STORE_NAMES: 's-db,s-wiki', ESO_EXTERNAL_SECRETS: 's-db:db/a,s-wiki:wiki/w,s-db:db/b' };
  expect(readRecoverySettings(env).stores).toEqual([
    { name: 's-db', externalSecrets: [{ namespace: 'db', name: 'a' }, { namespace: 'db', name: 'b' }] },
    { name: 's-wiki', externalSecrets: [{ namespace: 'wiki', name: 'w' }] },
  ]);
  for (const entry of ['db/a', 's-other:db/a']) {
    expect(() => readRecoverySettings({ ...env, ESO_EXTERNAL_SECRETS: entry })).toThrow(expect.objectContaining({
      exitCode: 2, message: `invalid ESO_EXTERNAL_SECRETS: got "${entry}", expected <store>:<namespace>/<name> naming one of the stores of ESO_STORE_NAMES (s-db, s-wiki)`,
    }));
  }
});

test('an https API URL needs the cluster CA: a missing one is a fatal error naming KUBE_CA_FILE', async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  // A token's value is registered for redaction in this jest file's log module: a word such as "token" would be
  // redacted from every later run's output.
  writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.ca-test-service-account');
  const api = kubeApi({ url: 'https://127.0.0.1:1', tokenFile, caFile: '/nonexistent/ca.crt', budget: runBudget(1000, 5000) });
  await expect(api.get('/api', 'api')).rejects.toMatchObject({
    exitCode: 2, message: 'cannot read the cluster CA at /nonexistent/ca.crt (ENOENT): set KUBE_CA_FILE or mount it',
  });
});
