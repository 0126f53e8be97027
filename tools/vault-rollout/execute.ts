// The steps against the cluster: observe (Kubernetes, then each running pod's Vault, then autopilot), replace a pod
// (delete it, then wait for its successor through four stages under one deadline) and step the leader down (then wait
// for another). A wait polls; a failed poll is a reason to wait, not to stop, until the deadline: a pod that restarts
// is unreachable for a while by nature. A permanent failure (no permission, no kubectl) stops at once.
import { RunError, notYet } from '../../runtime/common/failure';
import { reason } from '../../runtime/common/log';
import { podPath, readKube, readPod } from './cluster';
import { Kube } from './kubectl';
import { ClusterView, PodView } from './plan';
import { showMs, showTimeout } from './settings';
import { Target } from './target';
import { Autopilot, VaultPods } from './vault-pods';

export interface Rollout {
  readonly kube: Kube;
  readonly vault: VaultPods;
  readonly target: Target;
  readonly timeoutMs: number;
  readonly pollMs: number;
  /** Where the run's lines go (its main's output). */
  readonly log: (line: string) => void;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

const permanent = (error: unknown) => error instanceof RunError && error.exitCode === 2;
const rethrowPermanent = (error: unknown) => { if (permanent(error)) throw error; };
const isVoter = (status?: string) => status === 'leader' || status === 'voter';

/** Autopilot's state from the first pod that answers: `prefer` first (the leader answers without forwarding). */
async function readAutopilot(r: Rollout, pods: PodView[], prefer?: string): Promise<Autopilot> {
  const candidates = pods.filter((p) => p.uid !== undefined && p.sealed === false && !p.terminating)
    .sort((a, b) => Number(b.name === prefer) - Number(a.name === prefer));
  let last: unknown = notYet('no pod is unsealed to ask');
  for (const pod of candidates) {
    try {
      return await r.vault.autopilot({ name: pod.name, uid: pod.uid! });
    } catch (error) {
      rethrowPermanent(error);
      last = error;
    }
  }
  throw last;
}

export async function observe(r: Rollout, prefer?: string): Promise<ClusterView> {
  const k = await readKube(r.kube, r.target);
  const pods = await Promise.all(k.pods.map(async (pod, i): Promise<PodView> => {
    const name = `${r.target.statefulSet}-${i}`;
    if (!pod) return { name };
    const view: PodView = { name, uid: pod.uid, revision: pod.revision, phase: pod.phase, waiting: pod.waiting, terminating: pod.terminating };
    if (pod.phase !== 'Running' || pod.terminating) return view;
    try {
      return { ...view, sealed: await r.vault.sealed(pod) };
    } catch (error) {
      rethrowPermanent(error);
      return { ...view, unreachable: reason(error) };
    }
  }));
  const base = {
    namespace: r.target.namespace, statefulSet: r.target.statefulSet, storage: r.target.storage, updateRevision: k.updateRevision,
    controllerRolls: k.controllerRolls, pods,
  };
  if (r.target.storage !== 'raft') return base;
  try {
    return { ...base, autopilot: await readAutopilot(r, pods, prefer) };
  } catch (error) {
    rethrowPermanent(error);
    return { ...base, autopilotError: reason(error) };
  }
}

/** Polls `check` until it returns a result or the deadline passes; a failed check is the reason it is still waiting. */
async function waitFor<T>(r: Rollout, deadline: number, check: () => Promise<T | { waiting: string }>, timedOut: (last: string) => string): Promise<T> {
  for (;;) {
    let last: string;
    try {
      const result = await check();
      if (!(result && typeof result === 'object' && 'waiting' in result)) return result as T;
      last = result.waiting;
    } catch (error) {
      rethrowPermanent(error);
      if (error instanceof Stop) throw error;
      last = reason(error);
    }
    const left = deadline - r.now();
    if (left <= 0) throw new Stop(timedOut(last));
    await r.sleep(Math.min(r.pollMs, left));
  }
}

/** Where the rollout stopped: the one line the operator reads. */
export class Stop extends Error {}

type Stage = 'recreated' | 'started' | 'unsealed' | 'voter';
const STAGES: Record<Stage, string> = {
  recreated: 'was not recreated',
  started: 'did not start',
  unsealed: 'did not come back unsealed',
  voter: 'did not become a healthy voter',
};

/**
 * Deletes `pod` (only the very pod observed: a precondition on its uid) and waits until its successor runs the update
 * revision, unsealed and, on Raft, a healthy voter again with the cluster back to a failure tolerance of one or more.
 */
export async function replacePod(r: Rollout, view: ClusterView, pod: PodView, ha: boolean): Promise<void> {
  const { updateRevision } = view;
  // While the pod restarts the others answer for autopilot, the leader first (it answers without forwarding).
  const others = view.pods.filter((p) => p.name !== pod.name && p.sealed === false);
  const started = r.now();
  const deadline = started + r.timeoutMs;
  await r.kube.remove(podPath(r.target, pod.name), { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pod.uid } }, `pod ${r.target.namespace}/${pod.name}`);
  r.vault.drop(pod.name);
  r.log(`${pod.name}: deleted (it ran ${pod.revision}); waiting up to ${showTimeout(r.timeoutMs)} for its new pod`);
  let stage: Stage = 'recreated';
  let tolerance = 0;
  await waitFor(r, deadline, async () => {
    const now = await readPod(r.kube, r.target, pod.name);
    stage = 'recreated';
    if (!now) return { waiting: 'there is no pod of that name yet' };
    if (now.uid === pod.uid) return { waiting: 'the old pod is still shutting down' };
    if (now.terminating) return { waiting: 'its new pod is being deleted too' };
    if (now.revision !== updateRevision) {
      throw new Stop(`${pod.name} came back on revision ${now.revision}, not the update revision ${updateRevision} (did the StatefulSet change meanwhile?)`);
    }
    stage = 'started';
    if (now.phase !== 'Running') return { waiting: `it is ${now.phase}${now.waiting ? ` (${now.waiting})` : ''}` };
    stage = 'unsealed';
    if (await r.vault.sealed(now)) return { waiting: "its vault reports sealed (the vault-auto-unseal CronJob unseals it: read its last Job's log)" };
    if (r.target.storage !== 'raft') return true;
    stage = 'voter';
    const ap = await readAutopilot(r, [...others, { name: pod.name, uid: now.uid, sealed: false }], view.autopilot?.leader);
    const server = ap.servers[pod.name];
    if (!server) return { waiting: `autopilot does not list ${pod.name} (it has not rejoined)` };
    if (!server.healthy || !isVoter(server.status)) return { waiting: `autopilot reports it ${server.status}, ${server.healthy ? 'healthy' : 'not healthy'}` };
    if (ha && (!ap.healthy || ap.failureTolerance < 1)) return { waiting: `autopilot reports the cluster ${ap.healthy ? 'healthy' : 'unhealthy'}, failure tolerance ${ap.failureTolerance}` };
    tolerance = ap.failureTolerance;
    return true;
  }, (last) => `${pod.name} ${STAGES[stage]} within ${showTimeout(r.timeoutMs)}: ${last}`);
  const voter = r.target.storage === 'raft' ? `, a healthy voter (failure tolerance ${tolerance})` : '';
  r.log(`${pod.name}: back after ${showMs(r.now() - started)} on ${updateRevision}, Running, unsealed${voter}`);
}

/** Asks the leader to step down, then waits until another pod leads and the cluster tolerates a failure again. */
export async function stepDown(r: Rollout, view: ClusterView, leader: PodView): Promise<string> {
  const started = r.now();
  await r.vault.stepDown({ name: leader.name, uid: leader.uid! });
  r.log(`${leader.name}: asked to step down (PUT sys/step-down); waiting up to ${showTimeout(r.timeoutMs)} for another leader`);
  const pods = view.pods.filter((p) => p.sealed === false);
  const next = await waitFor(r, started + r.timeoutMs, async () => {
    // Another pod first: it forwards to whichever node now leads.
    const ap = await readAutopilot(r, pods, pods.find((p) => p.name !== leader.name)?.name);
    if (ap.leader === leader.name) return { waiting: `autopilot still reports ${leader.name} as the leader` };
    if (!ap.leader) return { waiting: 'autopilot reports no leader yet' };
    if (!ap.healthy || ap.failureTolerance < 1) return { waiting: `${ap.leader} leads, autopilot reports the cluster ${ap.healthy ? 'healthy' : 'unhealthy'}, failure tolerance ${ap.failureTolerance}` };
    return ap.leader;
  }, (last) => `${leader.name} did not hand over leadership within ${showTimeout(r.timeoutMs)} of sys/step-down: ${last}; it was not deleted`);
  r.log(`${leader.name}: stepped down after ${showMs(r.now() - started)}; ${next} leads`);
  return next;
}
