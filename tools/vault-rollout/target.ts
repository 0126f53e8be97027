// Which StatefulSet to roll, read from the manifests GitOps applies (dist/ by default), as vault-setup and `npm run
// names` read theirs: its namespace and name, and whether Vault stores its data in Raft. The pods and revisions come
// from the cluster, which is the truth about what runs.

type Doc = Record<string, any>;

export interface Target {
  readonly namespace: string;
  readonly statefulSet: string;
  /** The replicas dist/ declares; the cluster's count is compared with it. */
  readonly replicas: number;
  readonly storage: 'raft' | 'file';
}

/** VaultStorage.raft() names each Raft node after its pod through this variable; file storage has no node id. */
const RAFT_NODE_ID = 'VAULT_RAFT_NODE_ID';

export function targetOf(docs: Doc[]): Target {
  const statefulSets = docs.filter((d) => d.kind === 'StatefulSet' && d.metadata?.labels?.['app.kubernetes.io/name'] === 'vault');
  if (statefulSets.length !== 1) {
    throw new Error(`expected one StatefulSet of Vault in the manifests, found ${statefulSets.length}: pass the folder npm run synth writes (--dist DIR)`);
  }
  const [vault] = statefulSets;
  const containers: Doc[] = vault.spec?.template?.spec?.containers ?? [];
  const raft = containers.some((c) => (c.env ?? []).some((e: Doc) => e.name === RAFT_NODE_ID));
  return {
    namespace: vault.metadata.namespace ?? 'default',
    statefulSet: vault.metadata.name,
    replicas: vault.spec?.replicas ?? 1,
    storage: raft ? 'raft' : 'file',
  };
}
