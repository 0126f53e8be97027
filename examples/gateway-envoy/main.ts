// The seed's homelab with the UI exposed through Gateway API on Envoy Gateway: an HTTPRoute on the operator's Gateway,
// guarded by an Envoy Gateway SecurityPolicy (default Deny, Allow for the LAN and VPN ranges).
// Copy this file over main.ts to use it (fix the import path back to './lib'); see docs/ui.md.
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { AppSecret, EsoRecoveryCron, EsoStore, UnsealCron, VaultAlerts, VaultBackup, VaultHttpRoute, VaultStack } from '../../lib';

// This homelab's own values. Another homelab changes these, and the app secrets at the bottom; everything else has
// generic defaults (see docs/ for every prop).
const site = {
  host: 'vault.in.alybadawy.com',
  // The Gateway the UI attaches to, and its HTTPS listener (whose certificate covers host). It is in another namespace
  // than Vault's, so its listener's allowedRoutes must admit Vault's namespace.
  gateway: { name: 'homelab', namespace: 'gateway', listener: 'https' },
  // The UI's allowed clients are the default: the private ranges (the LAN and the VPN).
  // The existing claim: its name, class and size must stay what they are in the cluster.
  claimName: 'vault-data-lh',
  storageClassName: 'longhorn',
  storageSize: '10Gi',
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
    // The UI is exposed by the HTTPRoute in dist/ui/ below, not by an ingress-nginx Ingress.
    exposure: 'none',
    claimName: site.claimName,
    storageClassName: site.storageClassName,
    storageSize: site.storageSize,
  });
  const unseal = new UnsealCron(new Chart(core, 'vault-unseal'), 'vault-unseal', { vault });
  // dist/ui: the UI's HTTPRoute and its SecurityPolicy; needs the Gateway API and Envoy Gateway CRDs.
  new VaultHttpRoute(new Chart(folder('ui'), 'vault-ui'), 'vault-ui', {
    vault,
    gatewayName: site.gateway.name,
    gatewayNamespace: site.gateway.namespace,
    listenerName: site.gateway.listener,
    implementation: 'envoy-gateway',
  });
  // dist/eso: needs ESO's CRDs.
  const store = new EsoStore(new Chart(folder('eso'), 'eso-store'), 'eso-store', { vault });
  const recovery = new EsoRecoveryCron(new Chart(core, 'eso-recovery'), 'eso-recovery', { vault, store });
  // Drop this line on a cluster without Longhorn's RecurringJob CRD.
  new VaultBackup(new Chart(core, 'vault-backup'), 'vault-backup', { vault });
  // dist/alerts: needs prometheus-operator's CRDs; drop this line without them.
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
