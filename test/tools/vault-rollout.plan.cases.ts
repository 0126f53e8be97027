import { readManifests } from '../../tools/vault-setup/manifests';
import { kubeVia, KubectlResult } from '../../tools/vault-rollout/kubectl';
import { ClusterView, planLines, planRollout, PodView } from '../../tools/vault-rollout/plan';
import { parseArgs, parseDuration } from '../../tools/vault-rollout/settings';
import { targetOf } from '../../tools/vault-rollout/target';
import { Autopilot, autopilotOf } from '../../tools/vault-rollout/vault-pods';
import { FILE_DIST, HA_DIST } from '../support/rollout-harness';

// The plan as data: what vault-rollout does for a given state of the cluster, without a cluster. The same function
// decides before every step of a real run (vault-rollout.integration.test.ts), so these cases are also what a run does midway.

const OLD = 'vault-aaa';
const NEW = 'vault-bbb';

const pod = (n: number, revision = OLD, more: Partial<PodView> = {}): PodView => ({
  name: `vault-${n}`, uid: `uid-${n}`, revision, phase: 'Running', terminating: false, sealed: false, ...more,
});
const autopilot = (leader: string, more: Partial<Autopilot> = {}, names = ['vault-0', 'vault-1', 'vault-2']): Autopilot => ({
  healthy: true, failureTolerance: 1, leader,
  servers: Object.fromEntries(names.map((n) => [n, { status: n === leader ? 'leader' : 'voter', healthy: true }])), ...more,
});
/** `null`: autopilot could not be read. */
const raft = (pods: PodView[], ap: Autopilot | null = autopilot('vault-0')): ClusterView => ({
  namespace: 'security', statefulSet: 'vault', storage: 'raft', updateRevision: NEW, pods, ...(ap ? { autopilot: ap } : { autopilotError: 'GET /v1/sys/storage/raft/autopilot/state got no answer within 10 s' }),
});
const steps = (view: ClusterView) => planRollout(view).steps.map((s) => (s.kind === 'step-down' ? `step down ${s.pod}` : `replace ${s.pod} (${s.role})`));

describe('the order', () => {
  test('the standbys first, highest ordinal first, then the leader steps down and is replaced last', () => {
    expect(steps(raft([pod(0), pod(1), pod(2)], autopilot('vault-1')))).toEqual([
      'replace vault-2 (standby)', 'replace vault-0 (standby)', 'step down vault-1', 'replace vault-1 (leader)',
    ]);
  });

  test('pods on the update revision drop out (a resumed run); a leader on it stays the leader', () => {
    expect(steps(raft([pod(0, NEW), pod(1), pod(2, NEW)]))).toEqual(['replace vault-1 (standby)']);
    expect(steps(raft([pod(0), pod(1, NEW), pod(2, NEW)]))).toEqual(['step down vault-0', 'replace vault-0 (leader)']);
  });

  test('nothing out of date: no step, and no refusal even when the cluster is unhealthy', () => {
    const plan = planRollout(raft([pod(0, NEW), pod(1, NEW), pod(2, NEW)], autopilot('vault-0', { healthy: false, failureTolerance: 0 })));
    expect(plan).toEqual({ steps: [], upToDate: ['vault-0', 'vault-1', 'vault-2'], leader: 'vault-0' });
  });
});

describe('what refuses a start (and stops a run between steps)', () => {
  const refusal = (view: ClusterView) => {
    const plan = planRollout(view);
    expect(plan.steps).toEqual([]);
    return plan.refusal;
  };

  test.each([
    ['healthy, failure tolerance 0', autopilot('vault-0', { failureTolerance: 0 }), /^autopilot reports the cluster healthy with failure tolerance 0: replacing a pod now could lose quorum/],
    ['unhealthy, tolerance 1', autopilot('vault-0', { healthy: false, servers: { ...autopilot('vault-0').servers, 'vault-2': { status: 'voter', healthy: false } } }), /^autopilot reports the cluster unhealthy with failure tolerance 1, unhealthy: vault-2:/],
    ['a non-voter', autopilot('vault-0', { servers: { ...autopilot('vault-0').servers, 'vault-2': { status: 'non-voter', healthy: true } } }), /^vault-2 is a non-voter in autopilot's state, not a voter/],
    ['a pod that never joined', autopilot('vault-0', {}, ['vault-0', 'vault-1']), /^vault-2 is not a server in autopilot's state/],
    ['no leader among the pods', autopilot('vault-9', {}), /^autopilot names no pod of vault as the leader \(leader "vault-9"\)/],
    ['autopilot unreadable', null, /^cannot read autopilot's state \(GET \/v1\/sys\/storage\/raft\/autopilot\/state got no answer within 10 s\): the rollout needs it/],
  ])('autopilot: %s', (_, ap, message) => {
    expect(refusal(raft([pod(0), pod(1), pod(2)], ap))).toMatch(message);
  });

  test.each([
    ['absent', { uid: undefined }, 'vault-1 does not exist'],
    ['Pending', { phase: 'Pending', waiting: 'ImagePullBackOff' }, 'vault-1 is Pending (ImagePullBackOff)'],
    ['sealed', { sealed: true }, 'vault-1 is sealed'],
    ['unreachable', { sealed: undefined }, 'vault-1 cannot be asked whether its vault is sealed'],
  ])('a pod %s', (_, more, start) => {
    expect(refusal(raft([pod(0), pod(1, OLD, more), pod(2)]))).toMatch(new RegExp(`^${start.replace(/[()]/g, '\\$&')}: a rollout starts only with every pod up and unsealed`));
  });

  test('a StatefulSet whose controller replaces its pods itself (RollingUpdate below its partition): refused', () => {
    expect(refusal({ ...raft([pod(0), pod(1), pod(2)]), controllerRolls: true }))
      .toMatch(/^the StatefulSet's updateStrategy is RollingUpdate: its controller replaces out-of-date pods itself, .* set updateStrategy OnDelete/);
  });

  test('a pod being deleted already: refused, on any storage', () => {
    expect(refusal(raft([pod(0), pod(1, OLD, { terminating: true }), pod(2)]))).toMatch(/^vault-1 is being deleted already/);
  });
});

test('a single pod: replaced after the downtime is accepted, whatever autopilot says', () => {
  const single = (storage: 'raft' | 'file'): ClusterView => ({ namespace: 'security', statefulSet: 'vault', storage, updateRevision: NEW, pods: [pod(0, OLD, { sealed: true })] });
  for (const storage of ['raft', 'file'] as const) {
    const plan = planRollout(single(storage));
    expect(plan.refusal).toBeUndefined();
    expect(plan.steps).toEqual([{ kind: 'replace', pod: 'vault-0', role: 'only', from: OLD }]);
    expect(plan.downtime).toBe(`vault-0 is Vault's only pod (${storage} storage): while it is replaced, Vault answers no one (ESO cannot read secrets) until the new pod is unsealed, which the unseal CronJob does within a minute or two`);
  }
  // A pod that does not exist is the controller's to create, not this command's to delete.
  expect(planRollout({ ...single('file'), pods: [{ name: 'vault-0' }] }).refusal).toMatch(/^vault-0 does not exist: the StatefulSet controller creates it/);
});

test('the plan as printed: the StatefulSet, each pod with its role and revision, then the steps', () => {
  const view = raft([pod(0), pod(1, NEW), pod(2, OLD, { sealed: undefined, unreachable: 'kubectl port-forward pod/vault-2 ended: error: lost connection to pod' })], autopilot('vault-1'));
  expect(planLines(view, planRollout(view))).toEqual([
    `statefulset security/vault: update revision ${NEW}; raft storage, 3 pods; autopilot healthy, failure tolerance 1, leader vault-1`,
    `  vault-0  standby  ${OLD}  out of date, unsealed`,
    `  vault-1  leader   ${NEW}  up to date, unsealed`,
    `  vault-2  standby  ${OLD}  out of date, cannot be asked whether its vault is sealed (kubectl port-forward pod/vault-2 ended: error: lost connection to pod)`,
  ]);
});

describe('what it reads', () => {
  test('the target from dist/: the HA example is Raft over three pods, the seed one file-storage pod', () => {
    expect(targetOf(readManifests(HA_DIST))).toEqual({ namespace: 'security', statefulSet: 'vault', replicas: 3, storage: 'raft' });
    expect(targetOf(readManifests(FILE_DIST()))).toEqual({ namespace: 'security', statefulSet: 'vault', replicas: 1, storage: 'file' });
    expect(() => targetOf([])).toThrow('expected one StatefulSet of Vault in the manifests, found 0: pass the folder npm run synth writes (--dist DIR)');
  });

  test("autopilot's answer only in Vault's shape", () => {
    const data = { healthy: true, failure_tolerance: 1, leader: 'vault-0', voters: ['vault-0'], servers: { 'vault-0': { id: 'vault-0', status: 'leader', healthy: true, last_contact: '0s' } } };
    expect(autopilotOf({ data })).toEqual({ healthy: true, failureTolerance: 1, leader: 'vault-0', servers: { 'vault-0': { status: 'leader', healthy: true } } });
    for (const bad of [undefined, {}, { data: { ...data, healthy: 'true' } }, { data: { ...data, servers: null } }, { data: { ...data, failure_tolerance: 1.5 } }]) {
      expect(autopilotOf(bad)).toBeUndefined();
    }
  });

  test("kubectl's answers: the JSON, a missing object, and one line for each failure", async () => {
    const answering = (result: KubectlResult) => kubeVia(async () => result, 3000);
    expect(await answering({ code: 0, stdout: '{"kind":"Pod"}', stderr: '' }).get('/p', 'pod x')).toEqual({ kind: 'Pod' });
    expect(await answering({ code: 1, stdout: '', stderr: 'Error from server (NotFound): pods "x" not found\n' }).get('/p', 'pod x')).toBeUndefined();
    await expect(answering({ code: 1, stdout: '', stderr: 'Error from server (Forbidden): pods "x" is forbidden: ...\n' }).remove('/p', {}, 'pod x'))
      .rejects.toThrow(/^kubectl delete pod x: Error from server \(Forbidden\): .*: your kubeconfig's user lacks what docs\/rollout\.md lists \(RBAC\)/);
    await expect(answering({ code: null, stdout: '', stderr: '' }).get('/p', 'pod x')).rejects.toThrow('kubectl get pod x did not finish within 3 s');
    await expect(answering({ code: 0, stdout: '<html>', stderr: '' }).get('/p', 'pod x')).rejects.toThrow("kubectl get pod x printed something that is not JSON: not the API's answer");
    await expect(answering({ code: 1, stdout: '', stderr: 'Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout\n' }).get('/p', 'pod x'))
      .rejects.toThrow('kubectl get pod x failed: Unable to connect to the server: dial tcp 10.0.0.1:6443: i/o timeout');
  });

  test('the command line: durations, flags, and what it refuses', () => {
    expect([parseDuration('90s'), parseDuration('10m'), parseDuration('1h'), parseDuration('45')]).toEqual([90_000, 600_000, 3_600_000, 45_000]);
    expect(parseArgs(['--dry-run', '--timeout=2m', '--dist', 'x'])).toMatchObject({ dryRun: true, yes: false, timeoutMs: 120_000 });
    expect(parseArgs([])).toMatchObject({ dryRun: false, yes: false, timeoutMs: 600_000, help: false });
    expect(() => parseArgs(['apply'])).toThrow('unexpected argument "apply"');
    expect(() => parseArgs(['--timeout', '0s'])).toThrow('--timeout "0s": expected a duration');
    expect(() => parseArgs(['--dist'])).toThrow('--dist needs a value');
  });
});
