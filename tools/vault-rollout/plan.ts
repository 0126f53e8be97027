// The plan as data, from what the cluster and Vault say (a ClusterView): which pods are out of date, in which order
// they go, and whether the rollout may start at all. Vault's upgrade guide: the standbys first, the active node last,
// after it steps down, so that leadership only ever moves to an updated node. The StatefulSet controller's order
// (highest ordinal first) among the standbys. A pure function: run again after every step, it is also how a second
// run resumes (the pods on the update revision drop out) and how the rollout notices a leader that moved.
import { Autopilot } from './vault-pods';

export interface PodView {
  readonly name: string;
  /** undefined: no such pod in the cluster. */
  readonly uid?: string;
  readonly revision?: string;
  readonly phase?: string;
  readonly waiting?: string;
  readonly terminating?: boolean;
  /** undefined: its Vault could not be asked. */
  readonly sealed?: boolean;
  /** Why its Vault could not be asked. */
  readonly unreachable?: string;
}

export interface ClusterView {
  readonly namespace: string;
  readonly statefulSet: string;
  readonly storage: 'raft' | 'file';
  readonly updateRevision: string;
  /** The StatefulSet controller replaces out-of-date pods itself (RollingUpdate below its partition). */
  readonly controllerRolls?: boolean;
  readonly pods: PodView[];
  readonly autopilot?: Autopilot;
  /** Why autopilot could not be read, when it could not. */
  readonly autopilotError?: string;
}

export type Step =
  | { readonly kind: 'replace'; readonly pod: string; readonly role: 'standby' | 'leader' | 'only'; readonly from: string }
  | { readonly kind: 'step-down'; readonly pod: string };

export interface Plan {
  readonly steps: Step[];
  readonly leader?: string;
  readonly upToDate: string[];
  /** Set when the rollout must not start: why, and what to do. */
  readonly refusal?: string;
  /** Set when replacing interrupts Vault: what the operator accepts by confirming. */
  readonly downtime?: string;
}

const RERUN = 'then run npm run vault-rollout again';
const isVoter = (status?: string) => status === 'leader' || status === 'voter';

/** Fewer pods than this cannot lose one and keep a majority: each replacement is downtime. */
export const HA_PODS = 3;

function describe(pod: PodView): string {
  if (pod.uid === undefined) return 'does not exist';
  if (pod.terminating) return 'is being deleted';
  if (pod.phase !== 'Running') return `is ${pod.phase}${pod.waiting ? ` (${pod.waiting})` : ''}`;
  if (pod.sealed === undefined) return `cannot be asked whether its vault is sealed${pod.unreachable ? ` (${pod.unreachable})` : ''}`;
  return pod.sealed ? 'is sealed' : 'is unsealed';
}

/** Why a Raft cluster of three or more may not lose a pod now; undefined when it may. */
function haRefusal(view: ClusterView): string | undefined {
  if (view.controllerRolls) {
    return `the StatefulSet's updateStrategy is RollingUpdate: its controller replaces out-of-date pods itself, and a deletion of this command's beside one of the controller's could lose quorum; `
      + `set updateStrategy OnDelete (VaultStorage.raft({ updateStrategy: 'OnDelete' })) and sync it, ${RERUN}`;
  }
  const down = view.pods.find((p) => p.uid === undefined || p.terminating || p.phase !== 'Running' || p.sealed !== false);
  if (down) return `${down.name} ${describe(down)}: a rollout starts only with every pod up and unsealed; wait for it or fix it, ${RERUN}`;
  const ap = view.autopilot;
  if (!ap) return `cannot read autopilot's state (${view.autopilotError ?? 'no pod answered'}): the rollout needs it to keep quorum; fix that, ${RERUN}`;
  const unhealthy = Object.entries(ap.servers).filter(([, s]) => !s.healthy).map(([id]) => id);
  if (!ap.healthy || ap.failureTolerance < 1) {
    const which = unhealthy.length > 0 ? `, unhealthy: ${unhealthy.join(', ')}` : '';
    return `autopilot reports the cluster ${ap.healthy ? 'healthy' : 'unhealthy'} with failure tolerance ${ap.failureTolerance}${which}: `
      + `replacing a pod now could lose quorum; bring every server back to healthy (\`vault operator raft autopilot state\`), ${RERUN}`;
  }
  const notVoter = view.pods.find((p) => !isVoter(ap.servers[p.name]?.status));
  if (notVoter) {
    const status = ap.servers[notVoter.name]?.status;
    return `${notVoter.name} is ${status ? `a ${status}` : 'not a server'} in autopilot's state, not a voter: this command rolls voters only; join or promote it, ${RERUN}`;
  }
  if (!view.pods.some((p) => p.name === ap.leader)) return `autopilot names no pod of ${view.statefulSet} as the leader (leader "${ap.leader}"): ${RERUN} once one leads`;
  return undefined;
}

export function planRollout(view: ClusterView): Plan {
  const outdated = view.pods.filter((p) => p.revision !== view.updateRevision);
  const upToDate = view.pods.filter((p) => p.revision === view.updateRevision).map((p) => p.name);
  const leader = view.autopilot?.leader || undefined;
  const base = { upToDate, ...(leader && { leader }) };
  if (outdated.length === 0) return { ...base, steps: [] };
  const terminating = view.pods.find((p) => p.terminating);
  if (terminating) return { ...base, steps: [], refusal: `${terminating.name} is being deleted already: wait until it is back, ${RERUN}` };
  if (view.pods.length < HA_PODS) {
    const absent = view.pods.find((p) => p.uid === undefined);
    if (absent) return { ...base, steps: [], refusal: `${absent.name} does not exist: the StatefulSet controller creates it; wait for it, ${RERUN}` };
    const only = view.pods.length === 1 ? `${view.pods[0].name} is Vault's only pod` : `Vault has ${view.pods.length} pods, fewer than ${HA_PODS}`;
    return {
      ...base,
      steps: outdated.map((p) => ({ kind: 'replace', pod: p.name, role: 'only', from: p.revision ?? 'no revision' })),
      downtime: `${only} (${view.storage} storage): while it is replaced, Vault answers no one (ESO cannot read secrets) until the new pod is unsealed, which the unseal CronJob does within a minute or two`,
    };
  }
  const refusal = haRefusal(view);
  if (refusal) return { ...base, steps: [], refusal };
  const byOrdinalDown = (a: PodView, b: PodView) => Number(b.name.split('-').pop()) - Number(a.name.split('-').pop());
  const standbys = outdated.filter((p) => p.name !== leader).sort(byOrdinalDown);
  const steps: Step[] = standbys.map((p) => ({ kind: 'replace', pod: p.name, role: 'standby', from: p.revision ?? '' }));
  const stale = outdated.find((p) => p.name === leader);
  if (stale) steps.push({ kind: 'step-down', pod: stale.name }, { kind: 'replace', pod: stale.name, role: 'leader', from: stale.revision ?? '' });
  return { ...base, steps };
}

/** The plan as the operator reads it: the StatefulSet, each pod's role and revision, then the steps in order. */
export function planLines(view: ClusterView, plan: Plan): string[] {
  const ap = view.autopilot;
  const health = view.storage !== 'raft' ? '' : ap
    ? `; autopilot ${ap.healthy ? 'healthy' : 'unhealthy'}, failure tolerance ${ap.failureTolerance}, leader ${ap.leader || 'none'}`
    : `; autopilot unreadable (${view.autopilotError ?? 'no pod answered'})`;
  const lines = [`statefulset ${view.namespace}/${view.statefulSet}: update revision ${view.updateRevision}; ${view.storage} storage, ${view.pods.length} ${view.pods.length === 1 ? 'pod' : 'pods'}${health}`];
  const width = Math.max(...view.pods.map((p) => p.name.length));
  for (const pod of view.pods) {
    const role = view.storage !== 'raft' ? 'vault' : pod.name === plan.leader ? 'leader' : 'standby';
    const state = pod.revision === view.updateRevision ? 'up to date' : 'out of date';
    lines.push(`  ${pod.name.padEnd(width)}  ${role.padEnd(7)}  ${(pod.revision ?? '-').padEnd(view.updateRevision.length)}  ${state}, ${describe(pod).replace(/^is /, '')}`);
  }
  if (plan.steps.length > 0) lines.push('plan:');
  plan.steps.forEach((step, i) => lines.push(`  ${i + 1}. ${stepText(step)}`));
  return lines;
}

export function stepText(step: Step): string {
  if (step.kind === 'step-down') return `step down ${step.pod} (the leader), wait for another leader`;
  const role = step.role === 'standby' ? ' (standby)' : step.role === 'leader' ? ' (the former leader)' : '';
  return `replace ${step.pod}${role}: delete it, wait until its new pod runs the update revision, unsealed${step.role === 'only' ? '' : ', a healthy voter'}`;
}
