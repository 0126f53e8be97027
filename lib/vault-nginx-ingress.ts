import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkMetadataMap } from './checks';
import { checkPodLabels, checkSourceRanges, PRIVATE_RANGES, TLS_SECRET_NAME } from './ui-allowlist';
import { IVault } from './vault';

export { PRIVATE_RANGES } from './ui-allowlist';

const ALLOWLIST = 'nginx.ingress.kubernetes.io/allowlist-source-range';

/**
 * The labels the ingress-nginx Helm chart (and its static manifests) puts on the controller's pods, whatever the
 * release: its name and component. The release's own label (`app.kubernetes.io/instance`) is the site's to add.
 */
const CONTROLLER_POD_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' };

/**
 * The annotations that make ingress-nginx speak HTTPS to a TLS Vault and verify it: against the CA of Vault's
 * certificate's Secret (`ca.crt`; ingress-nginx also loads the Secret's own pair and presents it if Vault asks for a
 * client certificate, which Vault's listener requests but never requires) and the client Service's name.
 */
function backendTlsAnnotations(vault: IVault): Record<string, string> {
  if (!vault.tls) return {};
  return {
    'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
    'nginx.ingress.kubernetes.io/proxy-ssl-secret': `${vault.namespace}/${vault.tls.caSecretName}`,
    'nginx.ingress.kubernetes.io/proxy-ssl-name': vault.tls.serverName,
  };
}

export interface VaultNginxIngressProps {
  /** The Vault whose UI is exposed, through its client Service. */
  readonly vault: IVault;

  /**
   * The namespace of ingress-nginx's controller pods, which forward the UI's traffic to Vault: Vault's NetworkPolicy
   * lets them in. Required, so that the UI is never cut off silently.
   */
  readonly proxyNamespace: string;

  /**
   * The labels of ingress-nginx's controller pods in `proxyNamespace`: only they are let in, never the whole namespace.
   * Add the release's `app.kubernetes.io/instance` to narrow it to one controller.
   * @default - the ingress-nginx chart's controller labels: app.kubernetes.io/name=ingress-nginx, app.kubernetes.io/component=controller
   */
  readonly proxyPodLabels?: Record<string, string>;

  /**
   * Client CIDR blocks allowed through the Ingress (LAN and VPN ranges); any other client gets 403 from ingress-nginx,
   * controller v1.9.1 or later (the annotation `allowlist-source-range`). ingress-nginx must see the client's address
   * (a LoadBalancer Service with `externalTrafficPolicy: Local`, or the PROXY protocol), or every client looks like a
   * node. To open the UI to every client, give `['0.0.0.0/0', '::/0']`.
   * @default - the private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fc00::/7
   */
  readonly allowedSourceRanges?: string[];

  /**
   * The Secret holding the Ingress's TLS certificate for the Vault's host (issued by cert-manager or provided by hand).
   * @default 'vault-tls'
   */
  readonly tlsSecretName?: string;

  /**
   * More annotations of the Ingress, such as `cert-manager.io/cluster-issuer` to have cert-manager issue the
   * certificate into `tlsSecretName`. The allowed source ranges are `allowedSourceRanges`, not an annotation here.
   * @default - none
   */
  readonly annotations?: Record<string, string>;

  /**
   * The IngressClass that serves the Ingress.
   * @default 'nginx'
   */
  readonly ingressClassName?: string;
}

function checkProps(props: VaultNginxIngressProps) {
  const vault = props.vault;
  const ranges = checkSourceRanges('VaultNginxIngress allowedSourceRanges', props.allowedSourceRanges) ?? [...PRIVATE_RANGES];
  if (ranges.length === 0) invalid('VaultNginxIngress allowedSourceRanges', [], 'at least one CIDR block; to allow every client give ["0.0.0.0/0", "::/0"]');
  const annotations = checkMetadataMap('VaultNginxIngress annotations', props.annotations ?? {}, false);
  // The allowlist's old name is an alias that ingress-nginx would read instead: refused too.
  for (const key of [ALLOWLIST, 'nginx.ingress.kubernetes.io/whitelist-source-range']) {
    if (annotations[key] !== undefined) invalid('VaultNginxIngress annotations', key, 'no source-range annotation here: set allowedSourceRanges');
  }
  for (const key of Object.keys(backendTlsAnnotations(vault))) {
    if (annotations[key] !== undefined) invalid('VaultNginxIngress annotations', key, 'no backend TLS annotation here: Vault\'s TLS (VaultStack tls) sets them');
  }
  return {
    vault,
    ranges,
    annotations,
    proxyNamespace: checkDnsLabel('VaultNginxIngress proxyNamespace', props.proxyNamespace),
    proxyPodLabels: checkPodLabels('VaultNginxIngress proxyPodLabels', props.proxyPodLabels ?? CONTROLLER_POD_LABELS),
    tlsSecretName: checkDnsSubdomain('VaultNginxIngress tlsSecretName', props.tlsSecretName ?? TLS_SECRET_NAME),
    ingressClassName: checkDnsSubdomain('VaultNginxIngress ingressClassName', props.ingressClassName ?? 'nginx'),
  };
}

/**
 * The UI through ingress-nginx (retired: see docs/ui.md): the Ingress `vault` over TLS for the Vault's host, to the
 * allowed client ranges only, and its controller's pods let through Vault's NetworkPolicy. It needs no CRD, so it may
 * live beside Vault (the homelab's composition puts it in dist/vault).
 */
export class VaultNginxIngress extends Construct {
  /** The namespace of the pods that forward the UI's traffic to Vault: ingress-nginx's controller's. */
  public readonly proxyNamespace: string;
  /** The labels of those pods. */
  public readonly proxyPodLabels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: VaultNginxIngressProps) {
    super(scope, id);
    const { vault, ranges, annotations, proxyNamespace, proxyPodLabels, tlsSecretName, ingressClassName } = validating(this, () => {
      const checked = checkProps(props);
      checked.vault.expose(this, 'ingress-nginx');
      return checked;
    });
    this.proxyNamespace = proxyNamespace;
    this.proxyPodLabels = proxyPodLabels;
    new k8s.KubeIngress(this, 'ingress', {
      metadata: {
        name: 'vault', namespace: vault.namespace, labels: { ...vault.labels },
        annotations: { ...annotations, [ALLOWLIST]: ranges.join(','), ...backendTlsAnnotations(vault) },
      },
      spec: {
        ingressClassName,
        tls: [{ hosts: [vault.host], secretName: tlsSecretName }],
        rules: [{
          host: vault.host,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: vault.clientServiceName, port: { number: vault.port } } } }] },
        }],
      },
    });
    vault.allowClient({ description: 'the UI, through ingress-nginx', namespace: proxyNamespace, podLabels: { ...proxyPodLabels } }, this);
  }
}
