import { until } from '../support/run-script';
import { actions, expectRun, HA_DIST, KUBE_TOKEN, lines, NEW, OLD, standInsForThisFile } from '../support/rollout-harness';
import { bundleRollout, running, runRolloutProcess } from '../support/rollout-process';
import { PKI, tlsDist } from '../support/tls-fixtures';

// vault-rollout as the operator runs it (rollout-process.ts): the npm script's bundle as a process, the real kubectl
// reading and deleting through the stand-in API server with the kubeconfig's token over TLS, and a port-forward per
// pod (a relay standing in for kubectl's). The scenario tables run main in the test's process with a kubectl stand-in
// (vault-rollout.cases.ts); this shows that the real kubectl makes the same requests and that the command ends every
// port-forward it starts. A jest file of its own (test/support/cases.ts): its runs mostly wait on kubectl's processes,
// and beside the other files' work rather than after it.

let bundle: string;
beforeAll(() => { bundle = bundleRollout(); });
const start = standInsForThisFile();

// The standbys already updated, so that the run is short (each kubectl is a process of its own) and still takes each
// path: reads, a step-down through a port-forward, a delete, a pod that comes back behind a new port-forward.
test('the bundle with the real kubectl: the leader stepped down and replaced, every port-forward ended', async () => {
  const s = await start({ revisions: [OLD, NEW, NEW] });
  const run = await runRolloutProcess(s, bundle, ['--dist', HA_DIST]);
  expectRun(run, 0);
  expect(actions(s)).toEqual(['step down vault-0', 'delete vault-0']);
  expect(s.vault.fewestUnsealedVoters()).toBeGreaterThanOrEqual(2);
  expect(lines(run).pop()).toMatch(new RegExp(`^rollout done: vault-0, vault-1, vault-2 on ${NEW}; leader vault-[12] `));
  // What the real kubectl sent: the token over TLS, the exact paths, each delete with its uid precondition.
  expect(s.kube.received.filter((r) => r.authorization !== `Bearer ${KUBE_TOKEN}`)).toEqual([]);
  expect(s.kube.received.filter((r) => r.method === 'DELETE').map((r) => [r.path.split('?')[0], r.body?.preconditions?.uid])).toEqual([
    ['/api/v1/namespaces/security/pods/vault-0', expect.stringMatching(/^0{8}-/)],
  ]);
  // One per pod, and one more for vault-0's new pod.
  expect(run.forwards.length).toBeGreaterThanOrEqual(4);
  await until(() => run.forwards.every((pid) => !running(pid)), 10_000);
}, 90_000);

// TLS on Vault's listener (issue 26): the command's own port-forward URLs are https, verified against VAULT_CACERT.
test('the bundle with TLS in dist/: a dry run reads every pod and autopilot over https through the port-forwards', async () => {
  const s = await start({ tls: true });
  const run = await runRolloutProcess(s, bundle, ['--dist', tlsDist(HA_DIST), '--dry-run'], { VAULT_CACERT: PKI.caFile });
  expectRun(run, 0);
  expect(lines(run)[0]).toMatch(/^statefulset \S+: update revision \S+; raft storage, 3 pods; autopilot healthy, failure tolerance 1, leader vault-0$/);
  expect(s.kube.deleted).toEqual([]);
  await until(() => run.forwards.every((pid) => !running(pid)), 10_000);
}, 90_000);
