import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { AppSecret, EsoRecoveryCron, EsoStore, UnsealCron, VaultAlerts, VaultBackup, VaultStack } from './lib';

// This homelab's own values. Another homelab changes these, and the app secrets at the bottom; everything else has
// generic defaults (see docs/ for every prop).
// The UI's TLS Secret (vault-tls) and its allowed clients (the private ranges: the LAN and the VPN) are the defaults.
const site = {
  host: 'vault.in.alybadawy.com',
  // The ingress controller's namespace: Vault's NetworkPolicy lets the UI's traffic in from there.
  ingressControllerNamespace: 'ingress-nginx',
  // The existing claim: its name, class and size must stay what they are in the cluster, whatever the defaults become.
  claimName: 'vault-data-lh',
  storageClassName: 'longhorn',
  storageSize: '10Gi',
  // The seed runs Vault with AppArmor unconfined, for an AppArmor stacking bug of recent kernels with `kubectl exec`
  // (containerd issue 12886). It keeps `security` at the Pod Security level `privileged`; drop it once your nodes are
  // fixed (see docs/vault.md, "AppArmor").
  vaultAppArmorProfile: 'unconfined',
};

/**
 * The homelab, as one cdk8s App per folder of dist/: GitOps syncs each folder on its own, so a missing CRD or app
 * namespace holds back only its folder (see docs/from-zero.md, "Point GitOps at dist/"). Each chart is a file in its folder.
 */
export function buildApps(outdir = 'dist'): App[] {
  const apps: App[] = [];
  const folder = (name: string) => {
    apps.push(new App({ outdir: join(outdir, name) }));
    return apps[apps.length - 1];
  };

  // dist/vault: Vault, its auto-unseal, ESO recovery and the claim's backups (Longhorn is a prerequisite anyway).
  const core = folder('vault');
  const vault = new VaultStack(new Chart(core, 'vault'), 'vault', {
    host: site.host,
    claimName: site.claimName,
    storageClassName: site.storageClassName,
    storageSize: site.storageSize,
    appArmorProfile: site.vaultAppArmorProfile,
    ingressControllerNamespace: site.ingressControllerNamespace,
  });
  const unseal = new UnsealCron(new Chart(core, 'vault-unseal'), 'vault-unseal', { vault });
  // dist/eso: needs ESO's CRDs.
  const store = new EsoStore(new Chart(folder('eso'), 'eso-store'), 'eso-store', { vault });
  const recovery = new EsoRecoveryCron(new Chart(core, 'eso-recovery'), 'eso-recovery', { vault, store });
  // Drop this line on a cluster without Longhorn's RecurringJob CRD.
  new VaultBackup(new Chart(core, 'vault-backup'), 'vault-backup', { vault });
  // dist/alerts: needs prometheus-operator's CRDs; drop this line without them.
  // kube-prometheus-stack selects PrometheusRules by its Helm release's label, release=kube-prometheus-stack by default.
  new VaultAlerts(new Chart(folder('alerts'), 'vault-alerts'), 'vault-alerts', { vault, store, unseal, recovery });

  // dist/apps: one ExternalSecret per app secret, read from secret/<path> in Vault, in the app's namespace.
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
