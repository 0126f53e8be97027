import {
  cluster, expectOnlyItsOwn, expectRun, minutesAgo, patched, recover, stopServers, token, WAITING, WAKE,
} from '../support/eso-recovery-harness';
import { until } from '../support/run-script';

// The recovery script's wake-up against loopback stand-ins for Vault and the Kubernetes API: when it wakes the store
// and the ExternalSecrets, when it leaves them alone, and the Events it records. The scenarios run its main in this
// process (run-in-process.ts); APIs and Vaults that fail, and the bundle run as a process, are in
// eso-recovery-failures.integration.cases.ts.
afterAll(stopServers);

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

  test.concurrent('a 20 KB Warning from ESO is quoted bounded: its start, how much was cut, no line over 4 KB', async () => {
    const cause = `unable to log in: ${'x'.repeat(20_000)}`;
    const { vault, api } = await cluster({ sealed: false }, { store: { ready: false, since: minutesAgo(5) }, validation: cause, warnings: [{ name: 'k8s-secrets.1', message: cause, count: 1 }] });
    const run = await recover(vault, api, WAITING);
    expectRun(run, 2);
    expect(run.stderr).toContain(`fix the cause: ${cause.slice(0, 1000)}... (${cause.length - 1000} more characters)\n`);
    for (const line of (run.stdout + run.stderr).split('\n')) expect(line.length).toBeLessThanOrEqual(4096);
    const ours = [...api.events.values()].filter((e) => e.source.component === 'eso-recovery');
    for (const event of ours) expect(event.message.length).toBeLessThanOrEqual(1024);
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

describe('one store per app namespace: each woken on its own, its ExternalSecrets after it', () => {
  const STORES = { ESO_STORE_NAMES: 'k8s-secrets-db,k8s-secrets-wiki', ESO_EXTERNAL_SECRETS: 'k8s-secrets-db:db/postgres-secret,k8s-secrets-wiki:wiki/wiki' };
  const twoStores = (db: object, wiki: object, extra: object = {}) => cluster({ sealed: false }, {
    stores: { 'k8s-secrets-db': db as any, 'k8s-secrets-wiki': wiki as any },
    externalSecrets: { 'db/postgres-secret': { ready: false, store: 'k8s-secrets-db' }, 'wiki/wiki': { ready: false, store: 'k8s-secrets-wiki' } },
    ...extra,
  });

  test.concurrent('both not Ready, Vault ready: both woken in one run, each ExternalSecret once its own store is Ready, Vault asked once an attempt', async () => {
    const { vault, api } = await twoStores({ ready: false }, { ready: false });
    const run = await recover(vault, api, { ...STORES, ...WAITING });
    expectRun(run, 0);
    expect(patched(api).sort()).toEqual([
      'clustersecretstores/k8s-secrets-db', 'clustersecretstores/k8s-secrets-wiki', 'namespaces/db/externalsecrets/postgres-secret', 'namespaces/wiki/externalsecrets/wiki',
    ]);
    const at = (suffix: string) => api.patches.find((p) => p.path.endsWith(suffix))!.at;
    expect(at('/postgres-secret')).toBeGreaterThanOrEqual(api.readyAt['k8s-secrets-db']);
    expect(at('/wiki')).toBeGreaterThanOrEqual(api.readyAt['k8s-secrets-wiki']);
    expect(run.stdout.split('\n').slice(-2)[0]).toMatch(/^woke store k8s-secrets-db, Ready \d+\.\d s later; woke 1 ExternalSecret not Ready: db\/postgres-secret; woke store k8s-secrets-wiki, Ready \d+\.\d s later; woke 1 ExternalSecret not Ready: wiki\/wiki$/);
    // The first attempt found both stores not ready and asked Vault once for both.
    expect(vault.received.filter((r) => r.path.startsWith('/v1/sys/health')).length).toBe(1);
    // The other store (k8s-secrets, the stand-in's default) is neither read nor patched: the job names only its own.
    expect(api.received.filter((r) => r.path.endsWith('/clustersecretstores/k8s-secrets'))).toEqual([]);
  });

  test.concurrent('one Ready, the other needing a human: exit 2, the healthy one said in the same line, its ExternalSecrets still woken', async () => {
    const cause = 'unable to log in to auth method: Code: 403. Errors: * permission denied';
    const { vault, api } = await twoStores({ ready: true }, { ready: false }, { validation: cause });
    const run = await recover(vault, api, { ...STORES, ...WAITING });
    expectRun(run, 2);
    expect(run.stderr).toMatch(new RegExp('^store k8s-secrets-db is Ready; woke 1 ExternalSecret not Ready: db/postgres-secret; vault ready, store k8s-secrets-wiki not ready '
      + '\\(InvalidProviderConfig\\) since \\S+: ESO re-checked it after the wake-up at \\S+ and it is still not ready; fix the cause: unable to log in'));
    const ours = [...api.events.values()].filter((e) => e.source.component === 'eso-recovery');
    expect(ours.map((e) => [e.reason, e.involvedObject.name])).toEqual([['WokeESO', 'k8s-secrets-wiki'], ['WakeDidNotHelp', 'k8s-secrets-wiki']]);
    expect(patched(api)).not.toContain('namespaces/wiki/externalsecrets/wiki');
  });

  test.concurrent('all Ready: one line naming every store, nothing patched, Vault not asked', async () => {
    const { vault, api } = await twoStores({ ready: true }, { ready: true }, {
      externalSecrets: { 'db/postgres-secret': { ready: true, store: 'k8s-secrets-db' }, 'wiki/wiki': { ready: true, store: 'k8s-secrets-wiki' } },
    });
    const run = await recover(vault, api, STORES);
    expectRun(run, 0);
    expect(run.stdout).toBe('stores k8s-secrets-db, k8s-secrets-wiki are Ready: nothing to do\n');
    expect(api.patches).toEqual([]);
    expect(vault.received).toEqual([]);
  });
});
