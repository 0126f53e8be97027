import { App } from 'cdk8s';
import { AppSecret, homelab, homelabMigration, HomelabProps, VaultStorage } from 'homelab-secrets';

// The same homelab as the top-level main.ts, on three Vault pods with integrated storage (Raft), plus the hourly Raft
// snapshots free Vault does not schedule. See README.md beside this file for when to choose it. Copied over the
// top-level main.ts as it is (then put your site block and app secrets back: the site keys are main.ts's, plus
// replicas), it writes this layout to dist/ and the one-off move from the file storage's claim, with its runbook, to
// migration/ beside it.
const site = {
  host: 'vault.in.alybadawy.com',
  // Vault's namespace, and ESO's (where its Helm release runs and the ServiceAccount it logs in to Vault with lives).
  vaultNamespace: 'security',
  esoNamespace: 'security',
  // The ingress controller's namespace, and its pods' labels (the ingress-nginx Helm chart's controller, release
  // ingress-nginx): Vault's NetworkPolicy lets the UI's traffic in from those pods only.
  ingressControllerNamespace: 'ingress-nginx',
  ingressControllerPodLabels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
  // The Kubernetes API server as NetworkPolicies see it: its endpoints, after the `kubernetes` Service's DNAT (k3s: the
  // server nodes' addresses on 6443). Vault (TokenReview) and the recovery job reach only these. The private ranges
  // hold this homelab's nodes; narrow them to the nodes' addresses (`kubectl -n default get endpointslice kubernetes`).
  apiServer: { cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [6443, 443] },
  // The file storage's claim, which the migration copies from (see migration/RUNBOOK.md once synthesized).
  claimName: 'vault-data-lh',
  // Each pod's claim (data-vault-0, -1, -2) is made from these, once: the StatefulSet's claim template is immutable.
  storageClassName: 'longhorn',
  storageSize: '10Gi',
  // The seed runs Vault with AppArmor unconfined, for an AppArmor stacking bug of recent kernels with `kubectl exec`
  // (containerd issue 12886). It keeps Vault's namespace at the Pod Security level `privileged`; drop it once your
  // nodes are fixed (see docs/vault.md, "AppArmor").
  vaultAppArmorProfile: 'unconfined',
  // Three pods, one per node: three nodes at least (or podAntiAffinity: 'preferred').
  replicas: 3,
};

/** The homelab on Raft: the UI through ingress-nginx, and the app secrets below. */
const props: HomelabProps = {
  vault: {
    host: site.host,
    namespace: site.vaultNamespace,
    storage: VaultStorage.raft({ replicas: site.replicas, storageClassName: site.storageClassName, storageSize: site.storageSize }),
    appArmorProfile: site.vaultAppArmorProfile,
    apiServer: site.apiServer,
  },
  ingressNginx: { proxyNamespace: site.ingressControllerNamespace, proxyPodLabels: site.ingressControllerPodLabels },
  store: { namespace: site.esoNamespace },
  // Vault's own metrics, scraped by kube-prometheus-stack's Prometheus (in namespace monitoring), and autopilot's alerts.
  telemetry: {},
};

/** The HA homelab, as one cdk8s App per folder of dist/, like the top-level main.ts. */
export function buildApps(outdir = 'dist'): App[] {
  const { apps, secrets, store } = homelab(outdir, props);

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

/** The one-off move from the file storage's claim to pod 0's: migration/ beside dist/, never inside it. */
export function buildMigration(outdir = 'migration'): App[] {
  return homelabMigration(outdir, props, site.claimName);
}
