import { App } from 'cdk8s';
import { AppSecret, homelab, HomelabProps, VaultStorage } from 'homelab-secrets';

// A new homelab from an empty cluster: one sync of dist/ and the vault-bootstrap CronJob initializes Vault, stores the
// shares where the unseal CronJob reads them, escrows them to the age key below, configures Vault as dist/ declares
// (the stores' roles and policies, KV v2, Kubernetes auth, an audit device, the job's identity and a writer's) with a
// root token it revokes, and keeps it so. No Vault command is typed and no root token is kept: see README.md beside
// this file and docs/bootstrap.md. Copy it over the top-level main.ts and put your site values in.
const site = {
  host: 'vault.home.example.org',
  vaultNamespace: 'security',
  esoNamespace: 'security',
  ingressControllerNamespace: 'ingress-nginx',
  ingressControllerPodLabels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
  apiServer: { cidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ports: [6443, 443] },
  claimName: 'vault-data',
  storageClassName: 'longhorn',
  storageSize: '10Gi',
  // REPLACE with your own: `age-keygen -o vault-escrow.key` on your machine (keep the file off the cluster), then
  // `age-keygen -y vault-escrow.key`. Nobody holds the private key of this example's recipient.
  escrowRecipient: 'age16lhlk8m0l8c3ayc3yez2c6kewwr034l7yr2jem7a6euj0fryngkqn7u6qt',
};

/** The library's defaults (TLS from cert-manager, one pod on file storage), and the bootstrap. */
const props: HomelabProps = {
  vault: {
    host: site.host,
    namespace: site.vaultNamespace,
    storage: VaultStorage.file({ claimName: site.claimName, storageClassName: site.storageClassName, storageSize: site.storageSize }),
    apiServer: site.apiServer,
  },
  ingressNginx: { proxyNamespace: site.ingressControllerNamespace, proxyPodLabels: site.ingressControllerPodLabels },
  store: { namespace: site.esoNamespace },
  bootstrap: { escrowRecipient: site.escrowRecipient },
};

/** The homelab, as one cdk8s App per folder of dist/, like the top-level main.ts. */
export function buildApps(outdir = 'dist'): App[] {
  const { apps, secrets, store } = homelab(outdir, props);

  new AppSecret(secrets, 'postgres-secret', {
    namespace: 'db',
    store,
    data: [
      { secretKey: 'POSTGRES_USER', path: 'postgres-secret' },
      { secretKey: 'POSTGRES_PASSWORD', path: 'postgres-secret' },
    ],
  });
  new AppSecret(secrets, 'grafana-admin', { namespace: 'monitoring', store, dataFrom: [{ path: 'grafana-admin' }] });

  return apps;
}
