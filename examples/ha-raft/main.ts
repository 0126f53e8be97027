import { join } from 'path';
import { App, Chart } from 'cdk8s';
import {
  AppSecret, EsoRecoveryCron, EsoStore, UnsealCron, VaultAlerts, VaultBackup, VaultSnapshotAlerts, VaultSnapshotCron, VaultStack,
  VaultStackProps,
} from '../../lib';

// The same homelab as the top-level main.ts, on three Vault pods with integrated storage (Raft), plus the hourly Raft
// snapshots free Vault does not schedule. See README.md beside this file for when to choose it, and how to move the
// seed's data from file storage.
// The UI's TLS Secret (vault-tls) and its allowed clients (the private ranges: the LAN and the VPN) are the defaults.
export const site = {
  host: 'vault.in.alybadawy.com',
  // The ingress controller's namespace: Vault's NetworkPolicy lets the UI's traffic in from there.
  ingressControllerNamespace: 'ingress-nginx',
  // Each pod's claim (data-vault-0, -1, -2) is made from these, once: the StatefulSet's claim template is immutable.
  storageClassName: 'longhorn',
  storageSize: '10Gi',
  // Three pods, one per node: three nodes at least (or podAntiAffinity: 'preferred').
  replicas: 3,
  // The seed's claim, which migration/ copies from (see README.md).
  seedClaimName: 'vault-data-lh',
};

/** Vault's props, shared with migration.ts so that the migration derives pod 0's claim and address from the same values. */
export const vaultProps: VaultStackProps = {
  host: site.host,
  storage: 'raft',
  replicas: site.replicas,
  storageClassName: site.storageClassName,
  storageSize: site.storageSize,
  ingressControllerNamespace: site.ingressControllerNamespace,
};

/** The HA homelab, as one cdk8s App per folder of examples/ha-raft/dist/, like the top-level main.ts. */
export function buildApps(outdir = join(__dirname, 'dist')): App[] {
  const apps: App[] = [];
  const folder = (name: string) => {
    apps.push(new App({ outdir: join(outdir, name) }));
    return apps[apps.length - 1];
  };

  // dist/vault: Vault on Raft, its auto-unseal of every pod, ESO recovery, the claims' backups and the snapshots.
  const core = folder('vault');
  const vault = new VaultStack(new Chart(core, 'vault'), 'vault', vaultProps);
  const unseal = new UnsealCron(new Chart(core, 'vault-unseal'), 'vault-unseal', { vault });
  const store = new EsoStore(new Chart(folder('eso'), 'eso-store'), 'eso-store', { vault });
  const recovery = new EsoRecoveryCron(new Chart(core, 'eso-recovery'), 'eso-recovery', { vault, store });
  new VaultBackup(new Chart(core, 'vault-backup'), 'vault-backup', { vault });
  const snapshots = new VaultSnapshotCron(new Chart(core, 'vault-raft-snapshot'), 'vault-raft-snapshot', { vault });
  // dist/alerts: needs prometheus-operator's CRDs; release=kube-prometheus-stack by default.
  const alerts = folder('alerts');
  new VaultAlerts(new Chart(alerts, 'vault-alerts'), 'vault-alerts', { vault, store, unseal, recovery });
  new VaultSnapshotAlerts(new Chart(alerts, 'vault-snapshot-alerts'), 'vault-snapshot-alerts', { snapshots });

  // dist/apps: the same app secrets as the seed.
  const secrets = new Chart(folder('apps'), 'app-secrets');
  new AppSecret(secrets, 'postgres-secret', {
    namespace: 'db',
    store,
    data: [
      { secretKey: 'POSTGRES_USER', path: 'postgres-secret' },
      { secretKey: 'POSTGRES_PASSWORD', path: 'postgres-secret' },
    ],
  });
  new AppSecret(secrets, 'authentik-db', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-db' }] });
  new AppSecret(secrets, 'authentik-secret', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-secret' }] });
  new AppSecret(secrets, 'grafana-admin', { namespace: 'monitoring', store, dataFrom: [{ path: 'grafana-admin' }] });

  return apps;
}
