// What Vault on Raft needs beyond ESO's stores, read from the same manifests: the snapshot job's role and policy (read
// on sys/storage/raft/snapshot, nothing else), and autopilot's configuration (dead servers cleaned up, never below the
// StatefulSet's replica count: `min_quorum`, which Vault requires to be 3 or more once cleanup is on).
import { SNAPSHOT_DEFAULTS, SNAPSHOT_ENV } from '../snapshot-variables';
import { DesiredAutopilot, DesiredConfig, DesiredPolicy, DesiredRole } from './desired';
import { containersOf, envOf, trimSlashes } from './manifests';

type Doc = Record<string, any>;

/** A CronJob that runs the snapshot script: who it logs in as. */
export interface SnapshotJob {
  readonly name: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly authMount: string;
  readonly role: string;
}

/** A Vault StatefulSet on Raft storage. */
export interface RaftCluster {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
}

/** The snapshot job's token TTL: its Job's deadline (15 min) is the longest it needs the token. */
export const SNAPSHOT_TOKEN_TTL_SECONDS = 900;
export const SNAPSHOT_POLICY_LINES = ['path "sys/storage/raft/snapshot" { capabilities = ["read"] }'];
export const AUTOPILOT_PATH = '/v1/sys/storage/raft/autopilot/configuration';


/** The CronJobs whose container runs the snapshot script (it has SNAPSHOT_DIR and VAULT_ROLE). */
export function snapshotJobs(docs: Doc[]): SnapshotJob[] {
  const jobs: SnapshotJob[] = [];
  for (const doc of docs.filter((d) => d.kind === 'CronJob')) {
    const env = containersOf(doc).map(envOf).find((e) => e[SNAPSHOT_ENV.dir] !== undefined && e[SNAPSHOT_ENV.role] !== undefined);
    if (!env) continue;
    const what = `cronjob ${doc.metadata?.namespace}/${doc.metadata?.name}`;
    const serviceAccount = doc.spec.jobTemplate.spec.template.spec.serviceAccountName;
    if (!serviceAccount) throw new Error(`${what} runs the snapshot script without a serviceAccountName: vault-setup binds its role to that service account`);
    jobs.push({
      name: doc.metadata.name, namespace: doc.metadata.namespace ?? 'default', serviceAccount,
      authMount: trimSlashes(env[SNAPSHOT_ENV.authMount] ?? SNAPSHOT_DEFAULTS.authMount),
      role: env[SNAPSHOT_ENV.role],
    });
  }
  return jobs;
}

/** The StatefulSets whose Vault takes its Raft node id from the pod (VAULT_RAFT_NODE_ID). */
export function raftClusters(docs: Doc[]): RaftCluster[] {
  return docs.filter((d) => d.kind === 'StatefulSet' && containersOf(d).some((c) => envOf(c).VAULT_RAFT_NODE_ID !== undefined))
    .map((d) => ({ name: d.metadata.name, namespace: d.metadata.namespace ?? 'default', replicas: Number(d.spec.replicas ?? 1) }));
}

/** The snapshot roles and policies, and autopilot's configuration; refuses what one vault-setup run cannot set up. */
export function desiredRaft(jobs: SnapshotJob[], clusters: RaftCluster[], storeRoles: string[]): {
  policies: DesiredPolicy[]; roles: DesiredRole[]; authMounts: string[]; autopilot?: DesiredAutopilot;
} {
  if (clusters.length > 1) {
    throw new Error(`the manifests hold ${clusters.length} Vault StatefulSets on Raft (${clusters.map((c) => `${c.namespace}/${c.name}`).join(', ')}): vault-setup sets up one Vault; pass --dist of one of them`);
  }
  const policies: DesiredPolicy[] = [];
  const roles: DesiredRole[] = [];
  for (const job of jobs) {
    const what = `cronjob ${job.namespace}/${job.name}`;
    if (storeRoles.includes(job.role)) throw new Error(`${what} logs in as role ${job.role}, which a ClusterSecretStore uses too: give the snapshot job its own role`);
    if (roles.some((r) => r.name === job.role)) throw new Error(`two snapshot CronJobs log in as role ${job.role}: give each its own role`);
    policies.push({ name: job.role, stores: [what], lines: SNAPSHOT_POLICY_LINES, source: 'the snapshot job' });
    roles.push({
      authMount: job.authMount, name: job.role, serviceAccounts: [job.serviceAccount], namespaces: [job.namespace],
      policies: [job.role], ttlSeconds: SNAPSHOT_TOKEN_TTL_SECONDS, stores: [],
    });
  }
  const [cluster] = clusters;
  const autopilot = cluster && {
    // Vault refuses cleanup with min_quorum under 3: one pod keeps Vault's own settings apart from cleanup off.
    cleanup_dead_servers: cluster.replicas >= 3,
    ...(cluster.replicas >= 3 && { min_quorum: cluster.replicas }),
    source: `statefulset ${cluster.namespace}/${cluster.name} (${cluster.replicas} replicas)`,
  };
  return { policies, roles, authMounts: [...new Set(jobs.map((j) => j.authMount))], ...(autopilot && { autopilot }) };
}

/** The desired configuration with what the Raft manifests add: the snapshot roles and policies, autopilot. */
export function withRaft(want: DesiredConfig, docs: Doc[]): DesiredConfig {
  const raft = desiredRaft(snapshotJobs(docs), raftClusters(docs), want.roles.map((r) => r.name));
  if (raft.roles.length === 0 && !raft.autopilot) return want;
  return {
    ...want,
    authMounts: [...new Set([...want.authMounts, ...raft.authMounts])].sort(),
    policies: [...want.policies, ...raft.policies],
    roles: [...want.roles, ...raft.roles],
    ...(raft.autopilot && { autopilot: raft.autopilot }),
  };
}

/** A plan item (plan.ts's PlanItem, which imports this file). */
interface AutopilotItem {
  readonly label: string;
  readonly state: 'in sync' | 'change' | 'conflict';
  readonly details: string[];
  readonly write?: { readonly method: 'POST'; readonly path: string; readonly body: unknown };
  readonly conflict?: string;
}

/** The plan item of autopilot's configuration: the fields vault-setup manages, against what Vault reads back. */
export function autopilotItem(want: DesiredAutopilot, current: Record<string, any> | undefined): AutopilotItem {
  const label = `raft autopilot (${want.source})`;
  const fields: [string, unknown][] = [['cleanup_dead_servers', want.cleanup_dead_servers], ...(want.min_quorum !== undefined ? [['min_quorum', want.min_quorum] as [string, unknown]] : [])];
  if (!current) {
    return {
      label, state: 'conflict', details: [],
      conflict: `${label}: vault answered no autopilot configuration (GET ${AUTOPILOT_PATH}): is this Vault on Raft storage? vault-setup sets autopilot only there`,
    };
  }
  const details = fields.filter(([field, value]) => current[field] !== value).map(([field, value]) => `~ ${field}: ${JSON.stringify(current[field] ?? null)} -> ${JSON.stringify(value)}`);
  if (details.length === 0) return { label, state: 'in sync', details: [] };
  // The write sets only these fields; Vault keeps the others (dead_server_last_contact_threshold and the rest).
  return { label, state: 'change', details, write: { method: 'POST', path: AUTOPILOT_PATH, body: Object.fromEntries(fields) } };
}
