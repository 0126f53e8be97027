// The alerts on Vault's pods with Raft storage, by severity (VaultAlerts uses them in place of VaultNotReady, which
// with several pods would page for one pod down):
// - VaultPodNotReady (warning): a pod sealed, unready or missing while a majority is ready: Vault serves, with less
//   margin; the unseal job should fix a sealed pod within minutes.
// - VaultQuorumLost (critical): fewer ready pods than a Raft majority (floor(n/2)+1): Raft cannot commit, Vault
//   cannot serve.
// - VaultNoActiveNode (critical): the active Service has no ready endpoint, i.e. no pod carries vault-active="true"
//   (Vault's service registration writes it; kube-state-metrics exports no pod labels by default, so the signal is the
//   Service's EndpointSlice, which kube-state-metrics v2.18 and later collect by default, and Endpoints no more: the
//   slice `<service>-<5 characters>` exists in kube_endpointslice_info with no kube_endpointslice_endpoints series
//   ready="true"; a slice with no endpoints emits none). The UI and the ClusterSecretStore go through that Service.
// - VaultUpdatePending (warning): the StatefulSet's update revision has differed from its current one for an hour:
//   with OnDelete the controller replaces no pod, so an update waits for `npm run vault-rollout`, with no other sign.
// None fires while the StatefulSet wants no pod (scaled to 0 for a restore or a migration).
import { Alert, selector } from './promql';

export interface RaftAlertsOptions {
  readonly namespace: string;
  readonly statefulSet: string;
  readonly activeService: string;
  /** How long a condition lasts before it alerts: longer than a reboot's volume reattach plus auto-unseal. */
  readonly for: string;
}

export function raftAlerts(o: RaftAlertsOptions): Alert[] {
  const sts = { namespace: o.namespace, statefulset: o.statefulSet };
  const ready = `max by (namespace, statefulset) (${selector('kube_statefulset_status_replicas_ready', sts)})`;
  const wanted = `max by (namespace, statefulset) (${selector('kube_statefulset_replicas', sts)})`;
  const majority = `(floor(${wanted} / 2) + 1)`;
  const wantsPods = `${wanted} > 0`;
  // EndpointSlices are named after their Service with a generated 5-character suffix (generateName).
  const activeSlice = { endpointslice: `${o.activeService}-[a-z0-9]{5}` };
  const slice = selector('kube_endpointslice_info', { namespace: o.namespace }, activeSlice);
  const readyEndpoints = selector('kube_endpointslice_endpoints', { namespace: o.namespace, ready: 'true' }, activeSlice);
  const where = `StatefulSet ${o.namespace}/${o.statefulSet}`;
  return [
    {
      name: 'VaultPodNotReady',
      severity: 'warning',
      expr: `${ready}\n  < ${wanted}\nand\n${ready}\n  >= ${majority}`,
      for: o.for,
      summary: `A Vault pod has not been ready for ${o.for}; a majority still is, and Vault serves.`,
      description: `${where} has fewer ready pods than it wants, but a Raft majority is ready. A sealed pod fails its `
        + 'readiness probe (the unseal job should have unsealed it), as does one that cannot start, mount its claim or join.',
    },
    {
      name: 'VaultQuorumLost',
      severity: 'critical',
      expr: `${ready}\n  < ${majority}\nand\n${wantsPods}`,
      for: o.for,
      summary: `Fewer Vault pods than a Raft majority have been ready for ${o.for}: Vault cannot serve.`,
      description: `${where} has fewer ready pods than floor(replicas/2)+1. Raft cannot elect a leader or commit: no `
        + 'Secret can be read or synced until a majority is back (unsealed and joined).',
    },
    {
      name: 'VaultNoActiveNode',
      severity: 'critical',
      expr: `max by (namespace) (${slice})\nunless on (namespace)\n`
        + `max by (namespace) (${readyEndpoints})\n`
        + `and on (namespace)\nmax by (namespace) (${selector('kube_statefulset_replicas', sts)}) > 0`,
      for: o.for,
      summary: `No Vault pod has been active for ${o.for}: the Service ${o.activeService} has no endpoint.`,
      description: `Service ${o.namespace}/${o.activeService} selects the pod labelled vault-active="true", which Vault's `
        + 'service registration sets on the leader. Without one the UI and the ClusterSecretStore reach nothing, even if '
        + 'pods are ready (no leader elected, or service registration cannot label pods: check its Role). Needs '
        + 'kube-state-metrics v2.18 or later (EndpointSlices collected by default).',
    },
    {
      name: 'VaultUpdatePending',
      severity: 'warning',
      expr: `max by (namespace, statefulset, revision) (${selector('kube_statefulset_status_update_revision', sts)})\n`
        + `unless on (namespace, statefulset, revision)\n`
        + `max by (namespace, statefulset, revision) (${selector('kube_statefulset_status_current_revision', sts)})`,
      for: '1h',
      summary: 'An update of Vault\'s pods has waited for an hour: OnDelete replaces none by itself.',
      description: `${where} has an update revision its pods do not run yet. With updateStrategy OnDelete nothing replaces `
        + 'them until `npm run vault-rollout` does, standbys first and the active node last (see docs/rollout.md).',
    },
  ];
}
