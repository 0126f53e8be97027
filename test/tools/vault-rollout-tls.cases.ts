import { DEFAULTS } from '../../runtime/common/variables';
import { actions, expectRun, HA_DIST, runRollout, standInsForThisFile } from '../support/rollout-harness';
import { CA_SECRET, PKI, TLS_FAILURES, tlsDist } from '../support/tls-fixtures';

// vault-rollout reaching each pod's Vault over https through its port-forward (issue 26): dist/ says the listener
// speaks TLS, so each link is https://127.0.0.1:<port>, verified against VAULT_CACERT and the name 127.0.0.1 (Vault's
// Certificate lists it). A certificate problem stops the rollout before any pod is deleted, with one line naming it.
const start = standInsForThisFile();
const TLS_DIST = tlsDist(HA_DIST);
const args = ['--dist', TLS_DIST];

test.concurrent('TLS on every pod, the right CA: the same rollout as over http', async () => {
  const s = await start({ tls: true });
  const run = await runRollout(s, args, { env: { VAULT_CACERT: PKI.caFile } });
  expectRun(run, 0);
  expect(s.vault.urlOf('vault-0')).toMatch(/^https:\/\/127\.0\.0\.1:/);
  expect(actions(s)).toEqual(['delete vault-2', 'delete vault-1', 'step down vault-0', 'delete vault-0']);
  expect(s.vault.fewestUnsealedVoters()).toBeGreaterThanOrEqual(2);
});

test.concurrent('TLS in dist/ and no VAULT_CACERT: stopped before any change, saying how to fetch the CA', async () => {
  const s = await start({ tls: true });
  const run = await runRollout(s, args, { env: { VAULT_CACERT: '' } });
  expectRun(run, 1);
  const fetch = `kubectl -n ${DEFAULTS.namespace} get secret ${CA_SECRET} -o jsonpath='{.data.ca\\.crt}' | base64 -d > vault-ca.crt`;
  expect(run.stderr).toBe('stopped before any change: dist/ says vault\'s listener speaks TLS: its pods are reached over https at 127.0.0.1 through '
    + `port-forwards, and VAULT_CACERT is not set: no public CA vouches for 127.0.0.1; fetch the CA vault's certificate chains to with \`${fetch}\`, `
    + 'then export VAULT_CACERT=$PWD/vault-ca.crt\n');
  expect(s.kube.received).toEqual([]);
});

describe('a certificate problem on the pods: stopped with one line naming it, nothing deleted', () => {
  test.concurrent.each(TLS_FAILURES.filter((f) => f.scheme === 'https').map((f) => [f.title, f] as const))('%s', async (_title, f) => {
    const listener = f.listener();
    const s = await start(listener === 'plain' ? { tls: false } : { vault: { tls: listener.tls } });
    const run = await runRollout(s, args, { env: { VAULT_CACERT: f.caFile! } });
    expectRun(run, 1);
    expect(run.stderr).toMatch(new RegExp(`vault on vault-\\d: GET /v1/sys/seal-status: ${f.line.source.replace('VAULT_ADDR', 'the port-forward')}`));
    if (run.stderr.includes('get certificate')) expect(run.stderr).toContain(`(kubectl -n ${DEFAULTS.namespace} get certificate)`);
    expect(s.kube.deleted).toEqual([]);
    expect(s.vault.stepDowns).toEqual([]);
  });
});
