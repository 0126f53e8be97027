import {
  actions, expectRun, FILE_DIST, HA_DIST, KUBE_TOKEN, lines, NEW, OLD, runRollout, standInsForThisFile,
} from '../support/rollout-harness';
import { until } from '../support/run-script';
import { bundleRollout, running, runRolloutProcess } from '../support/rollout-process';
import { PKI, tlsDist } from '../support/tls-fixtures';

// `vault-rollout` against stand-ins for the Kubernetes API (the StatefulSet controller recreating a deleted pod from
// the update revision) and for each pod's Vault (a Raft cluster: its leader, autopilot, step-down, the unseal CronJob),
// its main in this process (rollout-harness.ts). Every run checks its exit code, its last line and that neither token
// reaches the output; what the stand-ins recorded shows what was deleted, in which order, and how many unsealed voters
// there were at every moment. Last, the command as the operator runs it (rollout-process.ts): the npm script's bundle
// as a process, the real kubectl reading and deleting through the stand-in API server with the kubeconfig's token over
// TLS, and a port-forward per pod (a relay standing in for kubectl's): the real kubectl makes the same requests, and
// the command ends every port-forward it starts. A jest file of its own (test/support/cases.ts): its scenarios mostly
// wait (pods coming back, 5 s bounds running out) and its process test on kubectl's processes, beside the other files'
// work rather than after it.

let bundle: string;
beforeAll(() => { bundle = bundleRollout(); });
const start = standInsForThisFile();
const ha = (...args: string[]) => ['--dist', HA_DIST, ...args];
const RESUME = 'fix it, then run npm run vault-rollout again: it resumes with the pods still out of date';

test.concurrent('a rollout of three pods: the standbys one at a time, then the leader steps down and is replaced last; never fewer than two unsealed voters', async () => {
  const s = await start();
  const run = await runRollout(s, ha());
  expectRun(run, 0);
  expect(actions(s)).toEqual(['delete vault-2', 'delete vault-1', 'step down vault-0', 'delete vault-0']);
  expect(s.vault.fewestUnsealedVoters()).toBeGreaterThanOrEqual(2);
  expect([...s.kube.pods.values()].map((p) => p.revision)).toEqual([NEW, NEW, NEW]);
  // The new leader ran the update revision when it took over: vault-1 or vault-2, both replaced by then.
  expect(['vault-1', 'vault-2']).toContain(s.vault.leader);
  expect(s.vault.stepDowns).toEqual(['vault-0']);
  expect(lines(run)).toEqual(expect.arrayContaining([
    `statefulset security/vault: update revision ${NEW}; raft storage, 3 pods; autopilot healthy, failure tolerance 1, leader vault-0`,
    'plan:',
    expect.stringMatching(/^ {2}1\. replace vault-2 \(standby\)/),
    expect.stringMatching(/^ {2}2\. replace vault-1 \(standby\)/),
    '  3. step down vault-0 (the leader), wait for another leader',
    expect.stringMatching(/^ {2}4\. replace vault-0 \(the former leader\)/),
    expect.stringMatching(/^vault-2: back after \d+\.\d s on vault-7f4b9c8d2, Running, unsealed, a healthy voter \(failure tolerance 1\)$/),
    expect.stringMatching(/^vault-0: stepped down after \d+\.\d s; vault-[12] leads$/),
  ]));
  expect(lines(run).pop()).toMatch(/^rollout done: vault-0, vault-1, vault-2 on vault-7f4b9c8d2; leader vault-[12] \(vault-2 replaced, vault-1 replaced, vault-0 stepped down, vault-0 replaced\)$/);
  // Only what the command needs: reads, and the three deletions with their uid preconditions.
  expect(s.kube.received.filter((r) => r.method !== 'GET').map((r) => [r.method, r.path, r.body?.preconditions?.uid !== undefined])).toEqual([
    ['DELETE', '/api/v1/namespaces/security/pods/vault-2', true], ['DELETE', '/api/v1/namespaces/security/pods/vault-1', true],
    ['DELETE', '/api/v1/namespaces/security/pods/vault-0', true],
  ]);
});

test.concurrent('a leader that is already on the update revision is neither stepped down nor replaced', async () => {
  const s = await start({ revisions: [NEW, OLD, OLD] });
  expectRun(await runRollout(s, ha()), 0);
  expect(actions(s)).toEqual(['delete vault-2', 'delete vault-1']);
  expect(s.vault.leader).toBe('vault-0');
});

test.concurrent('every pod up to date: nothing to do, exit 0, nothing deleted', async () => {
  const s = await start({ revisions: [NEW, NEW, NEW] });
  const run = await runRollout(s, ha());
  expectRun(run, 0);
  expect(lines(run).pop()).toBe(`nothing to do: every pod runs the update revision ${NEW}`);
  expect(s.kube.deleted).toEqual([]);
});

test.concurrent.each([
  ['autopilot is unhealthy (five pods, one lagging: failure tolerance still 1)', { revisions: [OLD, OLD, OLD, OLD, OLD], vault: { unhealthy: ['vault-3'] } },
    'refused, nothing changed: autopilot reports the cluster unhealthy with failure tolerance 1, unhealthy: vault-3: replacing a pod now could lose quorum;'],
  ["autopilot's failure tolerance is 0 (three pods, one lagging)", { vault: { unhealthy: ['vault-1'] } },
    'refused, nothing changed: autopilot reports the cluster unhealthy with failure tolerance 0, unhealthy: vault-1:'],
  ['a pod is sealed', { vault: { sealed: ['vault-1'] } }, 'refused, nothing changed: vault-1 is sealed: a rollout starts only with every pod up and unsealed;'],
])('refuses to start when %s: one line, exit 1, nothing deleted', async (_, options, line) => {
  const s = await start(options);
  const run = await runRollout(s, ha());
  expectRun(run, 1);
  expect(run.stderr.startsWith(line)).toBe(true);
  expect(s.kube.deleted).toEqual([]);
  expect(s.vault.stepDowns).toEqual([]);
});

/** Every wait of a run: long enough for the stand-in pods (about 0.7 s each) on a busy machine; the cases run concurrently. */
const TIMEOUT = '5s';

test.concurrent.each([
  ['never unsealed', { vault: { neverUnsealed: ['vault-2'] } }, `vault-2 did not come back unsealed within ${TIMEOUT}: its vault reports sealed (the vault-auto-unseal CronJob unseals it: read its last Job's log)`],
  ['never started', { kube: { neverStart: ['vault-2'] } }, `vault-2 did not start within ${TIMEOUT}: it is Pending (ImagePullBackOff)`],
])('a pod that never comes back (%s): stops with one line saying where, exit 1, no further pod deleted', async (_, options, why) => {
  const s = await start(options);
  const run = await runRollout(s, ha('--timeout', TIMEOUT));
  expectRun(run, 1);
  expect(run.stderr).toBe(`stopped at the replacement of vault-2: ${why}; ${RESUME}\n`);
  expect(s.kube.deleted.map((d) => d.pod)).toEqual(['vault-2']);
  expect(s.vault.stepDowns).toEqual([]);
});

test.concurrent('a leader that does not hand over: stops with one line, exit 1, the leader not deleted', async () => {
  const s = await start({ vault: { stepDown: 'ignored' } });
  const run = await runRollout(s, ha('--timeout', TIMEOUT));
  expectRun(run, 1);
  expect(run.stderr).toBe(`stopped at the step-down of vault-0: vault-0 did not hand over leadership within ${TIMEOUT} of sys/step-down: `
    + `autopilot still reports vault-0 as the leader; it was not deleted (done before it: vault-2 replaced, vault-1 replaced); ${RESUME}\n`);
  expect(actions(s)).toEqual(['delete vault-2', 'delete vault-1']);
  expect(s.vault.stepDowns).toEqual(['vault-0']);
  expect(s.vault.leader).toBe('vault-0');
});

test.concurrent('a token without sudo on sys/step-down: stops at once naming the policy, the leader not deleted', async () => {
  const s = await start({ vault: { stepDown: 'forbidden' } });
  const run = await runRollout(s, ha());
  expectRun(run, 1);
  expect(run.stderr).toMatch(/^stopped at the step-down of vault-0: vault on vault-0 denied PUT \/v1\/sys\/step-down \(HTTP 403 .*\): the token is wrong, expired or lacks update and sudo on sys\/step-down \(docs\/rollout\.md gives the policy\)/);
  expect(s.kube.deleted.map((d) => d.pod)).toEqual(['vault-2', 'vault-1']);
});

test.concurrent('--dry-run prints the plan, which pods in which order and which leads, and changes nothing', async () => {
  const s = await start({ revisions: [OLD, NEW, OLD] });
  const run = await runRollout(s, ha('--dry-run'));
  expectRun(run, 0);
  expect(lines(run)).toEqual([
    `statefulset security/vault: update revision ${NEW}; raft storage, 3 pods; autopilot healthy, failure tolerance 1, leader vault-0`,
    `  vault-0  leader   ${OLD}  out of date, unsealed`,
    `  vault-1  standby  ${NEW}  up to date, unsealed`,
    `  vault-2  standby  ${OLD}  out of date, unsealed`,
    'plan:',
    '  1. replace vault-2 (standby): delete it, wait until its new pod runs the update revision, unsealed, a healthy voter',
    '  2. step down vault-0 (the leader), wait for another leader',
    '  3. replace vault-0 (the former leader): delete it, wait until its new pod runs the update revision, unsealed, a healthy voter',
    'dry run: nothing changed',
  ]);
  expect(s.kube.received.filter((r) => r.method !== 'GET')).toEqual([]);
  expect(s.vault.stepDowns).toEqual([]);
});

test.concurrent('a second run after a stop resumes with the pods still out of date', async () => {
  const s = await start({ vault: { neverUnsealed: ['vault-2'] } });
  const first = await runRollout(s, ha('--timeout', TIMEOUT));
  expectRun(first, 1);
  // The operator unseals vault-2 by hand (the job's Secret was wrong, say), then runs the command again.
  s.vault.unseal('vault-2');
  const second = await runRollout(s, ha());
  expectRun(second, 0);
  expect(lines(second)).toEqual(expect.arrayContaining([`  vault-2  standby  ${NEW}  up to date, unsealed`, 'plan:']));
  expect(actions(s)).toEqual(['delete vault-2', 'delete vault-1', 'step down vault-0', 'delete vault-0']);
  expect(s.vault.fewestUnsealedVoters()).toBeGreaterThanOrEqual(2);
});

describe('a single pod (file storage): the downtime stated, replaced only on confirmation', () => {
  const single = (...args: string[]) => ['--dist', FILE_DIST(), ...args];
  const file = { revisions: [OLD], vault: { storage: 'file' as const } };

  test.concurrent('answered no: nothing deleted, exit 1', async () => {
    const s = await start(file);
    const run = await runRollout(s, single(), { answer: false });
    expectRun(run, 1);
    expect(run.asked).toEqual(["vault-0 is Vault's only pod (file storage): while it is replaced, Vault answers no one (ESO cannot read secrets) until the new pod is unsealed, which the unseal CronJob does within a minute or two. Replace it now?"]);
    expect(run.stderr).toMatch(/^not confirmed, nothing changed: vault-0 is Vault's only pod .*; run again with --yes \(or answer y on a terminal\) to accept it\n$/);
    expect(s.kube.deleted).toEqual([]);
  });

  test.concurrent('answered yes: replaced, back unsealed, exit 0', async () => {
    const s = await start(file);
    const run = await runRollout(s, single(), { answer: true });
    expectRun(run, 0);
    expect(run.asked).toHaveLength(1);
    expect(s.kube.deleted.map((d) => d.pod)).toEqual(['vault-0']);
    expect(lines(run).pop()).toBe(`rollout done: vault-0 on ${NEW} (vault-0 replaced)`);
  });

  test.concurrent('--yes: replaced without a question; no terminal and no --yes: refused', async () => {
    const s = await start(file);
    const run = await runRollout(s, single('--yes'), { answer: false });
    expectRun(run, 0);
    expect(run.asked).toEqual([]);
    const t = await start(file);
    // The command's own question: the tests' stdin is no terminal, so it asks nothing and the answer is no.
    expectRun(await runRollout(t, single()), 1);
    expect(t.kube.deleted).toEqual([]);
  });
});

test.concurrent('bad arguments print the usage and exit 1; --help exits 0', async () => {
  const s = await start({ revisions: [NEW, NEW, NEW] });
  const bad = await runRollout(s, ['--timeout', 'soon']);
  expect(bad.code).toBe(1);
  expect(bad.stderr.split('\n')[0]).toBe('--timeout "soon": expected a duration such as 90s, 10m or 1h (1s to 24h)');
  const help = await runRollout(s, ['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run vault-rollout -- \[--dry-run\]/);
});

// The standbys already updated, so that the run is short (each kubectl is a process of its own) and still takes each
// path: reads, a step-down through a port-forward, a delete, a pod that comes back behind a new port-forward.
test.concurrent('the bundle with the real kubectl: the leader stepped down and replaced, every port-forward ended', async () => {
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
  await until(() => run.forwards.every((pid) => !running(pid)), 30_000);
}, 90_000);

// TLS on Vault's listener (issue 26): the command's own port-forward URLs are https, verified against VAULT_CACERT.
test('the bundle with TLS in dist/: a dry run reads every pod and autopilot over https through the port-forwards', async () => {
  const s = await start({ tls: true });
  const run = await runRolloutProcess(s, bundle, ['--dist', tlsDist(HA_DIST), '--dry-run'], { VAULT_CACERT: PKI.caFile });
  expectRun(run, 0);
  expect(lines(run)[0]).toMatch(/^statefulset \S+: update revision \S+; raft storage, 3 pods; autopilot healthy, failure tolerance 1, leader vault-0$/);
  expect(s.kube.deleted).toEqual([]);
  await until(() => run.forwards.every((pid) => !running(pid)), 30_000);
}, 90_000);
