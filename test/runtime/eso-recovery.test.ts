import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { KubeApi, kubeApi } from '../../runtime/common/kube';
import { HttpResponse } from '../../runtime/common/http';
import { VaultApi } from '../../runtime/common/vault';
import { runBudget } from '../../runtime/common/budget';
import { attemptRecovery, readRecoverySettings, RESTARTED_AT, restartedAt, storeReadiness } from '../../runtime/eso-recovery';

const settings = readRecoverySettings({ ESO_DEPLOYMENTS: 'a,b', RESTART_COOLDOWN_SECONDS: '300' });
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

function kube(store: any, deployments: Record<string, any> = {}, patchError?: Error): KubeApi & { patched: string[] } {
  const patched: string[] = [];
  return {
    patched,
    get: async (path) => {
      const name = path.split('/').pop()!;
      if (path.includes('/pods/')) {
        return { kind: 'Pod', metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-25T17:00:00Z' }] } };
      }
      return path.includes('clustersecretstores') ? store : { kind: 'Deployment', metadata: { name }, ...deployments[name] };
    },
    create: async () => undefined,
    patch: async (path, body: any) => {
      if (patchError) throw patchError;
      expect(body.spec.template.metadata.annotations[RESTARTED_AT]).toBe('2026-11-25T18:00:00.000Z');
      patched.push(path.split('/').pop()!);
    },
  };
}
const storeWith = (status: string, reason: string, message: string) => ({
  kind: 'ClusterSecretStore', metadata: { name: 'k8s-secrets' },
  status: { conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: '2026-11-25T17:50:00Z' }] },
});
const degraded = storeWith('False', 'InvalidProviderConfig', 'unable to create client');
const ready = storeWith('True', 'Valid', 'store validated');
const healthy: HttpResponse = { status: 200, json: { initialized: true, sealed: false, standby: false } };
const fatal = (message: string) => Object.assign(new Error(message), { fatal: true });

describe('attemptRecovery', () => {
  test('store Ready: done at once, Vault not asked', async () => {
    const v = vault(new Error('must not be called'));
    expect(await attemptRecovery(settings, v, kube(ready), () => NOW)).toEqual({ done: true, exitCode: 0, message: 'store k8s-secrets is Ready: nothing to do' });
  });

  test('store without status: left alone', async () => {
    expect(await attemptRecovery(settings, vault(new Error('x')), kube({ kind: 'ClusterSecretStore', metadata: { name: 'k8s-secrets' } }), () => NOW)).toMatchObject({ done: true, exitCode: 0, message: expect.stringContaining('no Ready condition') });
  });

  test('store degraded, Vault sealed or uninitialized: wait, and exit 0 if the window closes so', async () => {
    for (const [status, word] of [[503, 'sealed'], [501, 'not initialized'], [429, 'standby']] as const) {
      const k = kube(degraded);
      expect(await attemptRecovery(settings, vault({ status, json: {} }), k, () => NOW)).toEqual({
        done: false, exitCode: 0, message: `store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z; vault ${word} (HTTP ${status}): waiting for vault`,
      });
      expect(k.patched).toEqual([]);
    }
  });

  test('store degraded, Vault unreachable: retry, exit 1 if the window closes so', async () => {
    expect(await attemptRecovery(settings, vault(new Error('port closed')), kube(degraded), () => NOW)).toEqual({
      done: false, exitCode: 1, message: 'store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z; vault: port closed',
    });
  });

  test('store degraded, Vault ready: restarts the Deployments not restarted in this outage, outside the cooldown', async () => {
    const k = kube(degraded, { a: { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: '2026-11-25T17:48:00Z' } } } } } });
    const longCooldown = readRecoverySettings({ ESO_DEPLOYMENTS: 'a,b', RESTART_COOLDOWN_SECONDS: '900' });
    const outcome = await attemptRecovery(longCooldown, vault(healthy), k, () => NOW);
    expect(k.patched).toEqual(['b']);
    expect(outcome).toEqual({
      done: true, exitCode: 0,
      message: 'vault ready, store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z: restarted b; skipped inside the cooldown: a (restarted 720 s ago)',
    });
  });

  test('every Deployment restarted during the outage, past the cooldown, store still degraded: exit 2, no restart', async () => {
    const at = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: '2026-11-25T17:52:00Z' } } } } };
    const k = kube(degraded, { a: at, b: at });
    expect(await attemptRecovery(settings, vault(healthy), k, () => NOW)).toEqual({
      done: true, exitCode: 2,
      message: 'vault ready, store k8s-secrets not ready (InvalidProviderConfig) since 2026-11-25T17:50:00.000Z: ESO was restarted at '
        + '2026-11-25T17:52:00.000Z, during this outage, and the store is still not ready, so another restart will not help; fix the cause: unable to create client',
    });
    expect(k.patched).toEqual([]);
  });

  test('a forbidden or missing resource: done, exit 2; a failed call: retry', async () => {
    const forbidden = kube(degraded, {}, fatal('PATCH deployment security/a answered HTTP 403'));
    expect(await attemptRecovery(settings, vault(healthy), forbidden, () => NOW))
      .toEqual({ done: true, exitCode: 2, message: 'PATCH deployment security/a answered HTTP 403' });
    const hung = kube(degraded, {}, new Error('PATCH deployment security/a got no answer within 5 s'));
    expect(await attemptRecovery(settings, vault(healthy), hung, () => NOW))
      .toEqual({ done: false, exitCode: 1, message: 'PATCH deployment security/a got no answer within 5 s' });
  });
});

test('storeReadiness reads the Ready condition and when it last changed', () => {
  const since = Date.parse('2026-11-25T17:50:00Z');
  expect(storeReadiness(ready)).toEqual({ ready: true, reason: 'Valid', message: 'store validated', since });
  expect(storeReadiness(degraded)).toEqual({ ready: false, reason: 'InvalidProviderConfig', message: 'unable to create client', since });
  expect(storeReadiness({ status: { conditions: [] } })).toBeUndefined();
  expect(storeReadiness({ status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } })).toBeUndefined();
  expect(storeReadiness(undefined)).toBeUndefined();
  expect(() => storeReadiness({ status: { conditions: 'Ready' } })).toThrow('status.conditions that is not a list');
  expect(() => storeReadiness({ status: { conditions: [{ type: 'Ready', status: 'False' }] } })).toThrow('without a lastTransitionTime');
});

test('restartedAt reads kubectl\'s annotation; a stamp in the future is no restart', () => {
  const at = (stamp: string) => ({ spec: { template: { metadata: { annotations: { [RESTARTED_AT]: stamp } } } } });
  expect(restartedAt(at('2026-11-25T17:59:30Z'), NOW)).toBe(NOW - 30_000);
  expect(restartedAt(at('2026-11-25T18:00:01Z'), NOW)).toBeUndefined();
  expect(restartedAt(at('garbage'), NOW)).toBeUndefined();
  expect(restartedAt({}, NOW)).toBeUndefined();
});

test('settings default to the in-cluster values and the seed\'s names', () => {
  expect(readRecoverySettings({})).toEqual({
    vaultAddr: 'http://vault.security.svc.cluster.local:8200', namespace: 'security', storeName: 'k8s-secrets',
    deployments: ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook'], vaultPod: { namespace: 'security', name: 'vault-0' }, cooldownMs: 300000,
    kubeUrl: 'https://kubernetes.default.svc', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', timeoutMs: 5000, windowMs: 40000, intervalMs: 3000, deadlineMs: 50000,
  });
});

test('an https API URL needs the cluster CA: a missing one is a fatal error naming KUBE_CA_FILE', async () => {
  const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
  writeFileSync(tokenFile, 'token');
  const api = kubeApi({ url: 'https://127.0.0.1:1', tokenFile, caFile: '/nonexistent/ca.crt', budget: runBudget(1000, 5000) });
  await expect(api.get('/api', 'api')).rejects.toMatchObject({
    fatal: true, message: 'cannot read the cluster CA at /nonexistent/ca.crt (ENOENT): set KUBE_CA_FILE or mount it',
  });
});
