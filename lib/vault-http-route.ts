import { Construct } from 'constructs';
import { HttpRoute, HttpRouteSpecRulesFilters, HttpRouteSpecRulesFiltersType, HttpRouteSpecRulesMatchesPathType } from '../imports/gateway.networking.k8s.io';
import { crdObjectAnnotations } from './gitops';
import { checkPodLabels, checkSourceRanges, envoyAllowList, K3S_TRAEFIK_NAMESPACE, PRIVATE_RANGES, traefikAllowList, TRAEFIK_POD_LABELS, UI_LABELS } from './ui-allowlist';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain } from './checks';
import { IVault } from './vault';
import { backendTlsPolicy } from './ui-backend-tls';

/** The Gateway API implementations this project renders the allowlist for, and the namespace of their proxies. */
const ENFORCED = { 'traefik': K3S_TRAEFIK_NAMESPACE, 'envoy-gateway': 'envoy-gateway-system' } as const;
type Enforced = keyof typeof ENFORCED;
const isEnforced = (implementation: string): implementation is Enforced => Object.keys(ENFORCED).includes(implementation);

/** The labels of the proxies that serve one Gateway: Traefik's chart's, or those Envoy Gateway puts on each Gateway's Envoy pods. */
const PROXY_POD_LABELS: Record<Enforced, (gateway: string, namespace: string) => Record<string, string>> = {
  'traefik': () => ({ ...TRAEFIK_POD_LABELS }),
  'envoy-gateway': (gateway, namespace) => ({
    'app.kubernetes.io/name': 'envoy', 'app.kubernetes.io/component': 'proxy',
    'gateway.envoyproxy.io/owning-gateway-name': gateway, 'gateway.envoyproxy.io/owning-gateway-namespace': namespace,
  }),
};

export interface VaultHttpRouteProps {
  /** The Vault whose UI is exposed, through its Service; nothing else may expose it. */
  readonly vault: IVault;

  /** The name of the Gateway the route attaches to (a site value: the operator's Gateway). */
  readonly gatewayName: string;

  /**
   * The Gateway's namespace. When it is not Vault's, the listener's `allowedRoutes` must admit routes from Vault's
   * namespace, or the route is never attached (its status says `NotAllowedByListeners`).
   */
  readonly gatewayNamespace: string;

  /**
   * The name of the Gateway's HTTPS listener (the route's `sectionName`). TLS is that listener's: its certificate
   * covers the VaultStack's host. Naming it keeps the UI off any plain-HTTP listener of the same Gateway.
   */
  readonly listenerName: string;

  /**
   * The Gateway API implementation that runs the Gateway. For 'traefik' the allowlist is a Traefik Middleware in an
   * ExtensionRef filter of the route (Traefik needs both its Kubernetes CRD and Gateway API providers); for
   * 'envoy-gateway' an Envoy Gateway SecurityPolicy on the route. Any other name (such as 'istio' or 'cilium') gets no
   * allowlist object: give `allowedSourceRanges: []` and attach your own policy to the route.
   */
  readonly implementation: 'traefik' | 'envoy-gateway' | (string & {});

  /**
   * Client CIDR blocks allowed through (LAN and VPN ranges); any other client is refused (403). Must not be empty for
   * 'traefik' and 'envoy-gateway' (to allow every client give `['0.0.0.0/0', '::/0']`); must be empty for any other
   * implementation, which this project renders no allowlist for: the explicit "I attach my own policy".
   * @default - the private ranges: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fc00::/7
   */
  readonly allowedSourceRanges?: string[];

  /**
   * The name of the HTTPRoute; the allowlist object is `<name>-allowlist`.
   * @default 'vault'
   */
  readonly name?: string;

  /**
   * The namespace of the pods that forward the UI's traffic to Vault (`proxyNamespace`), such as the Envoy proxies.
   * @default - 'envoy-gateway-system' for Envoy Gateway (its proxies run there, not in the Gateway's namespace),
   * 'kube-system' for Traefik (k3s's), the Gateway's namespace for any other implementation
   */
  readonly proxyNamespace?: string;

  /**
   * The labels of those pods: only they are let through Vault's NetworkPolicy, never the whole namespace. Required for
   * an implementation other than 'traefik' and 'envoy-gateway'; with Envoy Gateway's merged Gateways
   * (`mergeGateways`), its proxies carry `gateway.envoyproxy.io/owning-gatewayclass` instead: give that.
   * @default - Traefik: app.kubernetes.io/name=traefik; Envoy Gateway: the labels it puts on the Gateway's proxies
   * (app.kubernetes.io/name=envoy, app.kubernetes.io/component=proxy and the owning Gateway's name and namespace)
   */
  readonly proxyPodLabels?: Record<string, string>;
}

function checkProps(props: VaultHttpRouteProps) {
  const implementation = checkDnsLabel('VaultHttpRoute implementation', props.implementation);
  const name = checkDnsSubdomain('VaultHttpRoute name', props.name ?? 'vault');
  const gatewayNamespace = checkDnsLabel('VaultHttpRoute gatewayNamespace', props.gatewayNamespace);
  const given = checkSourceRanges('VaultHttpRoute allowedSourceRanges', props.allowedSourceRanges);
  const ranges = given ?? [...PRIVATE_RANGES];
  if (isEnforced(implementation) && ranges.length === 0) {
    invalid('VaultHttpRoute allowedSourceRanges', [], `at least one CIDR block for implementation "${implementation}", whose allowlist this project renders; to allow every client give ["0.0.0.0/0", "::/0"]`);
  }
  if (!isEnforced(implementation) && ranges.length > 0) {
    invalid(`VaultHttpRoute allowedSourceRanges${given ? '' : ' (not given: the default)'}`, ranges,
      `[] for implementation "${implementation}", which this project renders no allowlist for (only for "traefik" and "envoy-gateway"): attach your own source-address policy to the HTTPRoute ${props.vault.namespace}/${name}, then set allowedSourceRanges: [] to say so`);
  }
  return {
    implementation,
    ranges,
    name,
    gatewayName: checkDnsSubdomain('VaultHttpRoute gatewayName', props.gatewayName),
    gatewayNamespace,
    listenerName: checkDnsSubdomain('VaultHttpRoute listenerName', props.listenerName),
    proxyNamespace: checkDnsLabel('VaultHttpRoute proxyNamespace', props.proxyNamespace ?? (isEnforced(implementation) ? ENFORCED[implementation] : gatewayNamespace)),
    proxyPodLabels: checkPodLabels('VaultHttpRoute proxyPodLabels', props.proxyPodLabels ?? defaultProxyPodLabels(implementation, props)),
  };
}

function defaultProxyPodLabels(implementation: string, props: VaultHttpRouteProps): Record<string, string> {
  if (isEnforced(implementation)) return PROXY_POD_LABELS[implementation](props.gatewayName, props.gatewayNamespace);
  return invalid('VaultHttpRoute proxyPodLabels', undefined, `the labels of ${implementation}'s proxy pods (no default for implementation "${implementation}"): a whole namespace is never admitted`);
}

/**
 * The UI through Gateway API: an HTTPRoute for the VaultStack's host on the operator's Gateway listener, backed by
 * Vault's Service, and the allowlist object of the implementation (a Traefik Middleware or an Envoy Gateway
 * SecurityPolicy), applied in an earlier ArgoCD wave than the route. When Vault serves TLS, a BackendTLSPolicy
 * `<name>-backend-tls` (the same wave) has the Gateway speak HTTPS to Vault and verify it against the CA in the Secret
 * of Vault's certificate: Envoy Gateway and Traefik read a Secret there; an implementation that reads only ConfigMaps
 * fails the route closed (docs/ui.md). Put it in a folder of its own: a missing Gateway API, Traefik or Envoy Gateway
 * CRD then holds back only that folder.
 */
export class VaultHttpRoute extends Construct {
  /** The namespace of the pods that forward the UI's traffic to Vault. */
  public readonly proxyNamespace: string;
  /** The labels of those pods. */
  public readonly proxyPodLabels: Readonly<Record<string, string>>;
  /** The HTTPRoute's name, in Vault's namespace. */
  public readonly routeName: string;
  /** The BackendTLSPolicy's name, when Vault serves TLS. */
  public readonly backendTlsPolicyName?: string;

  constructor(scope: Construct, id: string, props: VaultHttpRouteProps) {
    super(scope, id);
    const { implementation, ranges, name, gatewayName, gatewayNamespace, listenerName, proxyNamespace, proxyPodLabels } = validating(this, () => {
      const checked = checkProps(props);
      props.vault.expose(this);
      return checked;
    });
    const { vault } = props;
    this.proxyNamespace = proxyNamespace;
    this.proxyPodLabels = proxyPodLabels;
    props.vault.allowClient({ description: `the UI, through the Gateway's proxies (${implementation})`, namespace: proxyNamespace, podLabels: { ...proxyPodLabels } }, this);
    this.routeName = name;
    const labels = { ...UI_LABELS };
    const allowList = { name: `${name}-allowlist`, namespace: vault.namespace, ranges, labels };

    // The allowlist first: ArgoCD applies it a wave earlier, and `kubectl apply -f` in file order.
    const filters: HttpRouteSpecRulesFilters[] = [];
    if (implementation === 'traefik') {
      const middleware = traefikAllowList(this, 'allowlist', allowList);
      filters.push({ type: HttpRouteSpecRulesFiltersType.EXTENSION_REF, extensionRef: { group: 'traefik.io', kind: middleware.kind, name: allowList.name } });
    } else if (implementation === 'envoy-gateway') {
      envoyAllowList(this, 'allowlist', { ...allowList, routeName: name });
    }
    if (vault.tls) {
      this.backendTlsPolicyName = `${name}-backend-tls`;
      backendTlsPolicy(this, 'backend-tls', vault, { name: this.backendTlsPolicyName, labels });
    }

    new HttpRoute(this, 'route', {
      metadata: { name, namespace: vault.namespace, labels, annotations: crdObjectAnnotations() },
      spec: {
        parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gatewayName, namespace: gatewayNamespace, sectionName: listenerName }],
        hostnames: [vault.host],
        rules: [{
          matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: '/' } }],
          ...(filters.length > 0 && { filters }),
          backendRefs: [{ name: vault.clientServiceName, port: vault.port }],
        }],
      },
    });
  }
}
