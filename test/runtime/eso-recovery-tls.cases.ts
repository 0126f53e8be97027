import { cluster, expectRun, patched, recover, stopServers, WAITING } from '../support/eso-recovery-harness';
import { closedPort } from '../support/fake-vault';
import { CA_SETTING_FAILURES, inScheme, PKI, TLS_FAILURES } from '../support/tls-fixtures';

// The recovery script asking Vault's health over https (issue 26): it trusts the CA VAULT_CACERT names and nothing
// else, and a certificate problem ends the run with exit 2 and one line naming it, nothing woken. The Kubernetes API
// stand-in stays plain here: its CA (KUBE_CA_FILE) is the cluster's, not Vault's.
afterAll(stopServers);

test.concurrent('https with the right CA: Vault ready, the store woken as over http', async () => {
  const { vault, api } = await cluster({ sealed: false }, { externalSecrets: { 'db/postgres-secret': { ready: false }, 'monitoring/grafana-admin': { ready: true } } }, PKI.serving());
  const run = await recover(vault, api, { ...WAITING, VAULT_CACERT: PKI.caFile });
  expectRun(run, 0);
  expect(vault.url).toMatch(/^https:/);
  expect(vault.received.map((r) => `${r.method} ${r.path}`)).toContain('GET /v1/sys/health?standbyok=true');
  expect(run.stdout).toMatch(/woke 1 ExternalSecret not Ready: db\/postgres-secret\n$/);
  expect(patched(api)).toEqual(['clustersecretstores/k8s-secrets', 'namespaces/db/externalsecrets/postgres-secret']);
});

describe('a certificate problem: exit 2 with one line naming it, nothing woken', () => {
  test.concurrent.each(TLS_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const listener = f.listener();
    const { vault, api } = await cluster({ sealed: false }, {}, listener === 'plain' ? undefined : listener.tls);
    const run = await recover({ url: inScheme(vault.url, f.scheme) }, api, f.caFile ? { VAULT_CACERT: f.caFile } : {});
    expectRun(run, 2);
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(run.stderr).toMatch(new RegExp(`^store k8s-secrets not ready \\(InvalidProviderConfig\\) since \\S+; vault: GET /v1/sys/health: ${f.line.source}`));
    expect(vault.received).toEqual([]);
    expect(api.patches).toEqual([]);
  });
});

describe('a CA setting that cannot work: exit 2 with one line before any call', () => {
  test.concurrent.each(CA_SETTING_FAILURES.map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const { vault, api } = await cluster({ sealed: false }, {}, PKI.serving());
    const run = await recover(vault, api, f.caFile ? { VAULT_CACERT: f.caFile } : {});
    expectRun(run, 2);
    expect(run.stderr).toMatch(f.line);
    expect(vault.received).toEqual([]);
    expect(api.received).toEqual([]);
  });
});

test.concurrent('https to a closed port: still a retry (exit 1), not a certificate problem', async () => {
  const { api } = await cluster({ sealed: false }, {});
  const run = await recover({ url: `https://127.0.0.1:${await closedPort()}` }, api, { VAULT_CACERT: PKI.caFile });
  expectRun(run, 1);
  expect(run.stderr).toMatch(/; vault: GET \/v1\/sys\/health failed: ECONNREFUSED\n$/);
  expect(api.patches).toEqual([]);
});
