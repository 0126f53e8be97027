// The alerts on Vault's pods with Raft storage, by severity (VaultAlerts uses them in place of VaultNotReady, which
// with several pods would page for one pod down):
// - VaultPodNotReady (warning): a pod sealed, unready or missing while a majority is ready: Vault serves, with less
//   margin; the unseal job should fix a sealed pod within minutes.
// - VaultQuorumLost (critical): fewer ready pods than a Raft majority (floor(n/2)+1): Raft cannot commit, Vault
//   cannot serve.
// - VaultNoActiveNode (critical): the active Service has no address, i.e. no pod carries vault-active="true" (Vault's
//   service registration writes it; kube-state-metrics exports no pod labels by default, so the signal is the
//   Service's Endpoints: kube_endpoint_info without any kube_endpoint_address, kube-state-metrics
//   docs/metrics/service/endpoint-metrics.md). The UI and the ClusterSecretStore go through that Service.
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
  const ep = { namespace: o.namespace, endpoint: o.activeService };
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
      expr: `max by (namespace, endpoint) (${selector('kube_endpoint_info', ep)})\nunless on (namespace, endpoint)\n`
        + `max by (namespace, endpoint) (${selector('kube_endpoint_address', { ...ep, ready: 'true' })})\n`
        + `and on (namespace)\nmax by (namespace) (${selector('kube_statefulset_replicas', sts)}) > 0`,
      for: o.for,
      summary: `No Vault pod has been active for ${o.for}: the Service ${o.activeService} has no endpoint.`,
      description: `Service ${o.namespace}/${o.activeService} selects the pod labelled vault-active="true", which Vault's `
        + 'service registration sets on the leader. Without one the UI and the ClusterSecretStore reach nothing, even if '
        + 'pods are ready (no leader elected, or service registration cannot label pods: check its Role).',
    },
  ];
}
