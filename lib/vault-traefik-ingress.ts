import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { K3S_TRAEFIK_NAMESPACE, PRIVATE_RANGES, TLS_SECRET_NAME, TRAEFIK_POD_LABELS, UI_LABELS, checkPodLabels, checkSourceRanges, traefikAllowList } from './ui-allowlist';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkMetadataMap } from './checks';
import { IVault } from './vault';
import { traefikServersTransport, traefikServiceAnnotations } from './ui-backend-tls';

const MIDDLEWARES = 'traefik.ingress.kubernetes.io/router.middlewares';
const ENTRYPOINTS = 'traefik.ingress.kubernetes.io/router.entrypoints';
const ROUTER_TLS = 'traefik.ingress.kubernetes.io/router.tls';

export interface VaultTraefikIngressProps {
  /** The Vault whose UI is exposed; nothing else may expose it. */
  readonly vault: IVault;

  /**
   * Client CIDR blocks allowed through (LAN and VPN ranges), rendered as a Traefik Middleware with `ipAllowList`; any
   * other client gets 403. Traefik must see the client's address (see docs/ui.md, "Does the controller see the
   * client's address?"). To open the UI to every client, give `['0.0.0.0/0', '::/0']`; an empty list is refused.
   * @default - the private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fc00::/7
   */
  readonly allowedSourceRanges?: string[];

  /**
   * The Secret holding the TLS certificate for the VaultStack's host (issued by cert-manager or provided by hand).
   * @default 'vault-tls'
   */
  readonly tlsSecretName?: string;

  /**
   * The IngressClass of Traefik.
   * @default 'traefik' (k3s's)
   */
  readonly ingressClassName?: string;

  /**
   * Traefik's HTTPS entry point: the only one the router listens on, so the UI is never served over plain HTTP.
   * @default 'websecure' (k3s's and the Traefik chart's)
   */
  readonly entryPoint?: string;

  /**
   * More annotations of the Ingress, such as `cert-manager.io/cluster-issuer`. The router's middlewares, entry points
   * and TLS are this construct's.
   * @default - none
   */
  readonly annotations?: Record<string, string>;

  /**
   * The namespace of Traefik's pods, which forward the UI's traffic to Vault (`proxyNamespace`).
   * @default 'kube-system' (k3s's Traefik; the Traefik Helm chart's is usually 'traefik')
   */
  readonly proxyNamespace?: string;

  /**
   * The labels of Traefik's pods in `proxyNamespace`: only they are let through Vault's NetworkPolicy, never the whole
   * namespace (on k3s, kube-system). Add the release's `app.kubernetes.io/instance` (`<release>-<namespace>`, such as
   * `traefik-kube-system` on k3s) to narrow it to one Traefik.
   * @default - the Traefik chart's label app.kubernetes.io/name=traefik (k3s's Traefik too)
   */
  readonly proxyPodLabels?: Record<string, string>;
}

function checkProps(props: VaultTraefikIngressProps) {
  const ranges = checkSourceRanges('VaultTraefikIngress allowedSourceRanges', props.allowedSourceRanges) ?? [...PRIVATE_RANGES];
  if (ranges.length === 0) {
    invalid('VaultTraefikIngress allowedSourceRanges', [], 'at least one CIDR block (the Middleware enforces them); to allow every client give ["0.0.0.0/0", "::/0"]');
  }
  const annotations = checkMetadataMap('VaultTraefikIngress annotations', props.annotations ?? {}, false);
  for (const key of [MIDDLEWARES, ENTRYPOINTS, ROUTER_TLS]) {
    if (annotations[key] !== undefined) invalid('VaultTraefikIngress annotations', key, 'no router annotation here: allowedSourceRanges and entryPoint set them');
  }
  return {
    ranges,
    annotations,
    tlsSecretName: checkDnsSubdomain('VaultTraefikIngress tlsSecretName', props.tlsSecretName ?? TLS_SECRET_NAME),
    ingressClassName: checkDnsSubdomain('VaultTraefikIngress ingressClassName', props.ingressClassName ?? 'traefik'),
    // Traefik entry point names are free-form, but a comma would split the annotation's list.
    entryPoint: checkDnsLabel('VaultTraefikIngress entryPoint', props.entryPoint ?? 'websecure'),
    proxyNamespace: checkDnsLabel('VaultTraefikIngress proxyNamespace', props.proxyNamespace ?? K3S_TRAEFIK_NAMESPACE),
    proxyPodLabels: checkPodLabels('VaultTraefikIngress proxyPodLabels', props.proxyPodLabels ?? TRAEFIK_POD_LABELS),
  };
}

/**
 * The UI through Traefik's Ingress provider (what k3s runs): the Ingress `vault`, bound to the HTTPS entry point only,
 * and the Middleware `vault-allowlist` it names, which admits only `allowedSourceRanges`. When Vault serves TLS,
 * Traefik speaks HTTPS to it and verifies it with the ServersTransport `vault-backend-tls` (Vault's CA and client
 * Service's name), which annotations on Vault's client Service name. Needs Traefik's CRD provider as well as its
 * Ingress provider (both on in k3s). Put it in a folder of its own: a missing Middleware CRD then holds back only that
 * folder, and without the Middleware Traefik serves no route for the host (closed, not open).
 */
export class VaultTraefikIngress extends Construct {
  /** The namespace of the pods that forward the UI's traffic to Vault: Traefik's. */
  public readonly proxyNamespace: string;
  /** The labels of those pods. */
  public readonly proxyPodLabels: Readonly<Record<string, string>>;
  /** The Middleware that holds the allowlist. */
  public readonly middlewareName = 'vault-allowlist';
  /** The ServersTransport that verifies Vault, when it serves TLS. */
  public readonly serversTransportName?: string;

  constructor(scope: Construct, id: string, props: VaultTraefikIngressProps) {
    super(scope, id);
    const transport = props.vault.tls && 'vault-backend-tls';
    const { ranges, annotations, tlsSecretName, ingressClassName, entryPoint, proxyNamespace, proxyPodLabels } = validating(this, () => {
      const checked = checkProps(props);
      props.vault.expose(this, undefined, transport && traefikServiceAnnotations(props.vault, transport));
      return checked;
    });
    const { vault } = props;
    this.proxyNamespace = proxyNamespace;
    this.proxyPodLabels = proxyPodLabels;
    this.serversTransportName = transport;
    props.vault.allowClient({ description: 'the UI, through Traefik', namespace: proxyNamespace, podLabels: { ...proxyPodLabels } }, this);
    const labels = { ...UI_LABELS };

    traefikAllowList(this, 'allowlist', { name: this.middlewareName, namespace: vault.namespace, ranges, labels });
    if (transport) traefikServersTransport(this, 'servers-transport', vault, { name: transport, labels });

    new k8s.KubeIngress(this, 'ingress', {
      metadata: {
        name: 'vault',
        namespace: vault.namespace,
        labels,
        annotations: {
          ...annotations,
          [MIDDLEWARES]: `${vault.namespace}-${this.middlewareName}@kubernetescrd`,
          [ENTRYPOINTS]: entryPoint,
          [ROUTER_TLS]: 'true',
        },
      },
      spec: {
        ingressClassName,
        tls: [{ hosts: [vault.host], secretName: tlsSecretName }],
        rules: [{
          host: vault.host,
          http: {
            paths: [{
              path: '/',
              pathType: 'Prefix',
              backend: { service: { name: vault.clientServiceName, port: { number: vault.port } } },
            }],
          },
        }],
      },
    });
  }
}
