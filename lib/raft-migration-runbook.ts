import { MIGRATE_SUCCESS } from './vault-raft-migration';

// The migration's runbook, written beside its manifests with the app's own names: nothing in it is copied by hand
// from another homelab's values.

/** The names the runbook's commands use, all derived from the app. */
export interface RaftMigrationNames {
  /** Vault's namespace. */
  readonly namespace: string;
  /** The file storage's claim the data comes from. */
  readonly sourceClaim: string;
  /** The StatefulSet (the seed's and the Raft one share the name). */
  readonly statefulSet: string;
  /** Every Raft pod, pod 0 first, and pod 0's claim. */
  readonly pods: readonly string[];
  readonly podClaim: string;
  /** The migration's Job (and its ConfigMap). */
  readonly job: string;
  /** The CronJobs that run against Vault, suspended while it is stopped, each in its namespace. */
  readonly cronJobs: ReadonlyArray<{ readonly name: string; readonly namespace: string }>;
  /** The active node's Service and Vault's port. */
  readonly activeService: string;
  readonly port: number;
  /** When the Raft layout serves TLS: the Secret and key of the CA its certificate is signed with. */
  readonly tls?: { readonly caSecret: string; readonly caKey: string };
  /** The mount of the KV engine the stores read. */
  readonly kvPath: string;
  /** The folder of the Raft layout's manifests, and this folder, relative to the repository's root. */
  readonly dist: string;
  readonly migration: string;
}

/** RUNBOOK.md: from the file storage's one pod to the Raft pods, in order, and the way back. */
export function raftMigrationRunbook(n: RaftMigrationNames): string {
  const ns = `kubectl -n ${n.namespace}`;
  const suspend = (value: boolean) => n.cronJobs
    .map((cj) => `kubectl -n ${cj.namespace} patch cronjob ${cj.name} -p '{"spec":{"suspend":${value}}}'`).join('\n   ');
  const lastPod = n.pods[n.pods.length - 1];
  const login = n.tls
    ? [`${ns} get secret ${n.tls.caSecret} -o jsonpath='{.data.${n.tls.caKey.replace('.', '\\.')}}' | base64 -d > vault-ca.crt`,
      `export VAULT_ADDR=https://127.0.0.1:${n.port} VAULT_CACERT="$(pwd)/vault-ca.crt"; vault login`]
    : [`export VAULT_ADDR=http://127.0.0.1:${n.port}; vault login`];
  const tlsStart = n.tls
    ? `\n   The Raft layout serves TLS: its pods start once cert-manager has issued their certificate (\`${ns} get\n   certificates\`: READY True), which needs cert-manager in the cluster before this step.\n  `
    : '';
  return `<!-- Written by npm run synth from the app's own names: edit the app, not this file. -->
# Moving Vault from file storage to Raft: the runbook

From the claim \`${n.sourceClaim}\` (file storage, one pod) to ${n.pods.length} Raft pods (\`${n.pods.join('`, `')}\`) in
namespace \`${n.namespace}\`, with the manifests in this folder (\`${n.migration}/\`) and the Raft layout in \`${n.dist}/\`.
Read it whole before step 1. Every command runs from the repository's root. Set this once, in the shell you run
the commands in:

\`\`\`sh
app="<your Argo CD Application (or Flux Kustomization) for ${n.dist}/vault>"
\`\`\`

1. **Back up.** Keep the old volume whatever happens, and take a Longhorn backup of it (Longhorn UI → Volume → the
   volume → Create Backup; wait for it to show Completed):
   \`\`\`sh
   pv=$(${ns} get pvc ${n.sourceClaim} -o jsonpath='{.spec.volumeName}')
   kubectl patch pv "$pv" -p '{"spec":{"persistentVolumeReclaimPolicy":"Retain"}}'
   kubectl -n longhorn-system get backups.longhorn.io -l backup-volume="$pv"    # the new one: STATE Completed
   \`\`\`
2. **Pause GitOps for Vault**, or self-heal undoes the next steps, and do not let it apply \`${n.dist}/\` before step 6:
   \`argocd app set "$app" --sync-policy none\` (Flux: \`flux suspend kustomization "$app"\`).
3. **Stop Vault** (the migration needs it stopped) and the CronJobs that would page meanwhile:
   \`\`\`sh
   ${suspend(true)}
   ${ns} scale statefulset ${n.statefulSet} --replicas=0
   ${ns} wait --for=delete pod/${n.pods[0]} --timeout=120s
   \`\`\`
4. **Remove the file storage's StatefulSet**: its \`volumeClaimTemplates\` and \`podManagementPolicy\` are immutable, so
   the Raft one cannot replace it in place. No pod runs and its claim is a separate object, which this does not touch:
   \`${ns} delete statefulset ${n.statefulSet} --cascade=orphan\`.
5. **Run the migration** (the destination must be empty: \`${n.podClaim}\` must not exist yet):
   \`\`\`sh
   ${ns} get pvc ${n.podClaim}          # NotFound
   kubectl apply -f ${n.migration}/migration.k8s.yaml
   ${ns} wait --for=condition=complete job/${n.job} --timeout=30m
   ${ns} logs job/${n.job} | grep -F '${MIGRATE_SUCCESS}'
   \`\`\`
   The Job's status alone proves nothing: \`vault operator migrate\` stopped by SIGTERM (an eviction, a node drain)
   leaves its copy loop and exits 0 without that line. The Job's command therefore fails unless the line is in the
   output (which it streams to the log); check the line yourself before going on.
   A failed run leaves a half-filled destination: delete the Job and the claim \`${n.podClaim}\`, read the log, and run
   this step again (\`vault operator migrate -reset\` clears a lock a killed run left in the source).
6. **Let GitOps apply the Raft layout**: push the commit that holds \`${n.dist}/\` (or point the app's path at
   \`${n.dist}/vault\`, and likewise the other folders), then resume it (\`argocd app set "$app" --sync-policy
   automated\`; Flux: \`flux resume kustomization "$app"\`). The new StatefulSet adopts \`${n.podClaim}\` for
   \`${n.pods[0]}\`, which starts as a one-node Raft leader holding the migrated data; the other pods get new, empty
   claims and join it through \`retry_join\`.${tlsStart} GitOps does not undo step 3's suspension: no manifest sets
   \`spec.suspend\`, and neither Argo CD's diff nor Flux's server-side apply resets a field they do not own. Resume the
   CronJobs by hand:
   \`\`\`sh
   ${suspend(false)}
   \`\`\`
7. **Unseal**: the unseal job unseals \`${n.pods[0]}\` with the file storage's shares, then each joining pod, within a
   minute or two (its log names each pod). By hand: \`${ns} exec -it <pod> -- vault operator unseal\` per pod.
8. **Check**:
   \`\`\`sh
   ${ns} port-forward svc/${n.activeService} ${n.port}:${n.port} &
   ${login.join('\n   ')}
   vault operator raft list-peers                 # ${n.pods.join(', ')}: one leader, the others followers, all voters
   vault kv list ${n.kvPath}/                           # and read the paths your app secrets read
   kubectl get clustersecretstores                # every store READY True
   ${ns} delete job ${n.job}; ${ns} delete configmap ${n.job}
   \`\`\`
   Then \`npm run vault-setup -- apply --dist ${n.dist}\` against the active node: ESO's side is already in sync (it
   moved with the data); it adds the snapshot job's policy and role and autopilot's configuration.

**Going back.** The old claim \`${n.sourceClaim}\` is untouched (the migration only reads it and holds a lock in it while
running; its PV is \`Retain\`, GitOps never prunes it). Pause GitOps, scale the Raft StatefulSet to 0, delete it with
\`--cascade=orphan\`, let GitOps apply the file storage's layout again, and resume: its StatefulSet mounts
\`${n.sourceClaim}\` as before. Whatever was written to Vault after step 6 is lost. Delete the Raft pods' claims
(\`${n.podClaim}\` to \`${n.podClaim.replace(n.pods[0], lastPod)}\`) only once you are sure.
`;
}
