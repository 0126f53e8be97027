import { App } from 'cdk8s';
import { AppSecret, homelab, HomelabProps, VaultStorage, VaultTls } from 'homelab-secrets';

// This homelab's own values. Another homelab changes these, and the app secrets at the bottom; everything else has
// generic defaults (see docs/ for every prop). The UI's TLS Secret (vault-tls) and its allowed clients (the private
// ranges: the LAN and the VPN) are the defaults.
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
  // The existing claim: its name, class and size must stay what they are in the cluster, whatever the defaults become.
  claimName: 'vault-data-lh',
  storageClassName: 'longhorn',
  storageSize: '10Gi',
  // The seed runs Vault with AppArmor unconfined, for an AppArmor stacking bug of recent kernels with `kubectl exec`
  // (containerd issue 12886). It keeps Vault's namespace at the Pod Security level `privileged`; drop it once your
  // nodes are fixed (see docs/vault.md, "AppArmor").
  vaultAppArmorProfile: 'unconfined',
  // The seed's Vault speaks plain HTTP inside the cluster, with TLS at the ingress only: tokens, secrets and unseal
  // shares cross the pod network in clear. Move to the library's default, TLS from cert-manager, in the order of
  // docs/vault.md, "TLS" (cert-manager first, then this line removed).
  vaultTls: VaultTls.none(),
};

/** The homelab: Vault on one pod with file storage, the UI through ingress-nginx, and the app secrets below. */
const props: HomelabProps = {
  vault: {
    host: site.host,
    namespace: site.vaultNamespace,
    storage: VaultStorage.file({ claimName: site.claimName, storageClassName: site.storageClassName, storageSize: site.storageSize }),
    appArmorProfile: site.vaultAppArmorProfile,
    apiServer: site.apiServer,
    tls: site.vaultTls,
  },
  ingressNginx: { proxyNamespace: site.ingressControllerNamespace, proxyPodLabels: site.ingressControllerPodLabels },
  store: { namespace: site.esoNamespace },
};

/**
 * The homelab, as one cdk8s App per folder of dist/ (vault, eso, alerts, apps): GitOps syncs each folder on its own
 * (see docs/from-zero.md, "Point GitOps at dist/"). A cluster without Longhorn's RecurringJob CRD or without
 * prometheus-operator's gives `backup: false` or `alerts: false` in `props`.
 */
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
