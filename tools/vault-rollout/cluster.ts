// What Kubernetes says about Vault's StatefulSet and its pods: the update revision (what a pod recreated now runs) and,
// per pod, its revision (the label the StatefulSet controller stamps on it), phase, uid and whether it is going away.
import { notYet } from '../../runtime/common/failure';
import { Kube } from './kubectl';
import { Target } from './target';

/** The label the StatefulSet controller puts on each pod: the revision of the template it was made from. */
export const REVISION_LABEL = 'controller-revision-hash';

export interface PodState {
  readonly name: string;
  readonly uid: string;
  readonly revision: string;
  /** Pending, Running, Succeeded, Failed, Unknown. */
  readonly phase: string;
  /** Why it is not running yet, when the kubelet says (such as ImagePullBackOff). */
  readonly waiting?: string;
  /** Deleted, and still shutting down. */
  readonly terminating: boolean;
}

export interface KubeState {
  readonly updateRevision: string;
  /** The StatefulSet's replicas in the cluster (dist/ may say otherwise until GitOps syncs it). */
  readonly replicas: number;
  /** RollingUpdate below its partition: the controller replaces out-of-date pods itself. */
  readonly controllerRolls: boolean;
  /** Pod N at index N; undefined where the pod does not exist. */
  readonly pods: Array<PodState | undefined>;
}

export const podPath = (t: Target, pod: string) => `/api/v1/namespaces/${encodeURIComponent(t.namespace)}/pods/${encodeURIComponent(pod)}`;
const statefulSetPath = (t: Target) => `/apis/apps/v1/namespaces/${encodeURIComponent(t.namespace)}/statefulsets/${encodeURIComponent(t.statefulSet)}`;

export function podState(doc: any): PodState {
  const container = (doc?.status?.containerStatuses ?? [])[0];
  const waiting = container?.state?.waiting?.reason;
  return {
    name: String(doc?.metadata?.name),
    uid: String(doc?.metadata?.uid ?? ''),
    revision: String(doc?.metadata?.labels?.[REVISION_LABEL] ?? ''),
    phase: String(doc?.status?.phase ?? 'Unknown'),
    ...(typeof waiting === 'string' && { waiting }),
    terminating: !!doc?.metadata?.deletionTimestamp,
  };
}

/**
 * The StatefulSet, then each of its pods by name (`get` on named pods is all the RBAC it needs: no `list`, which
 * would show every pod of the namespace), in parallel.
 */
export async function readKube(kube: Kube, t: Target): Promise<KubeState> {
  const what = `statefulset ${t.namespace}/${t.statefulSet}`;
  const sts = await kube.get(statefulSetPath(t), what);
  if (!sts) throw notYet(`${what} is not in the cluster: has GitOps synced dist/? (or pass the --dist it was synthesized to)`);
  const updateRevision = sts.status?.updateRevision;
  if (typeof updateRevision !== 'string' || updateRevision === '') {
    throw notYet(`${what} has no status.updateRevision yet: the StatefulSet controller has not caught up; run again in a minute`);
  }
  const replicas = Number.isInteger(sts.spec?.replicas) ? sts.spec.replicas : 1;
  const strategy = sts.spec?.updateStrategy;
  const partition = Number.isInteger(strategy?.rollingUpdate?.partition) ? strategy.rollingUpdate.partition : 0;
  return {
    updateRevision,
    replicas,
    controllerRolls: (strategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && partition < replicas,
    pods: await Promise.all(Array.from({ length: replicas }, (_, i) => readPod(kube, t, `${t.statefulSet}-${i}`))),
  };
}

/** One pod, read again while waiting for it; undefined while it does not exist. */
export async function readPod(kube: Kube, t: Target, pod: string): Promise<PodState | undefined> {
  const doc = await kube.get(podPath(t, pod), `pod ${t.namespace}/${pod}`);
  return doc ? podState(doc) : undefined;
}
