// The seed's homelab with the UI exposed through Gateway API on Envoy Gateway: an HTTPRoute on the operator's Gateway,
// guarded by an Envoy Gateway SecurityPolicy (default Deny, Allow for the LAN and VPN ranges).
// Copy this file over main.ts to use it, and keep your site values; see docs/ui.md.
import { App, Chart } from 'cdk8s';
import { AppSecret, homelab, HomelabProps, VaultHttpRoute, VaultStorage } from 'homelab-secrets';

// This homelab's own values. Another homelab changes these, and the app secrets at the bottom; everything else has
// generic defaults (see docs/ for every prop).
const site = {
  host: 'vault.in.alybadawy.com',
  // Vault's namespace, and ESO's (where its Helm release runs and the ServiceAccount it logs in to Vault with lives).
  vaultNamespace: 'security',
  esoNamespace: 'security',
  // The Gateway the UI attaches to, and its HTTPS listener (whose certificate covers host). It is in another namespace
  // than Vault's, so its listener's allowedRoutes must admit Vault's namespace.
  gateway: { name: 'homelab', namespace: 'gateway', listener: 'https' },
  // The UI's allowed clients are the default: the private ranges (the LAN and the VPN).
  // The existing claim: its name, class and size must stay what they are in the cluster.
  claimName: 'vault-data-lh',
  storageClassName: 'longhorn',
  storageSize: '10Gi',
};

/** The homelab with the UI through Gateway API: the HTTPRoute in dist/ui/ below, not an ingress-nginx Ingress. */
const props: HomelabProps = {
  vault: {
    host: site.host,
    namespace: site.vaultNamespace,
    storage: VaultStorage.file({ claimName: site.claimName, storageClassName: site.storageClassName, storageSize: site.storageSize }),
  },
  store: { namespace: site.esoNamespace },
};

/** The homelab, as one cdk8s App per folder of dist/, like the top-level main.ts, with the UI's route in dist/ui. */
export function buildApps(outdir = 'dist'): App[] {
  const { apps, folder, secrets, store, vault } = homelab(outdir, props);
  // dist/ui: the UI's HTTPRoute and its SecurityPolicy; needs the Gateway API and Envoy Gateway CRDs.
  new VaultHttpRoute(new Chart(folder('ui'), 'vault-ui'), 'vault-ui', {
    vault,
    gatewayName: site.gateway.name,
    gatewayNamespace: site.gateway.namespace,
    listenerName: site.gateway.listener,
    implementation: 'envoy-gateway',
  });

  // dist/apps: one ExternalSecret per app secret, read from secret/<path> in Vault, in the app's namespace.
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
