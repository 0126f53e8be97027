import { Chart } from 'cdk8s';
import { PRIVATE_RANGES, VaultHttpRoute, VaultHttpRouteProps, VaultNginxIngress, VaultStack } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { celErrors } from '../support/cel';

const GATEWAY = { gatewayName: 'homelab', gatewayNamespace: 'gateway', listenerName: 'https' };

function route(props: Partial<VaultHttpRouteProps> & Pick<VaultHttpRouteProps, 'implementation'>): { manifests: Manifest[]; construct: VaultHttpRoute } {
  let construct!: VaultHttpRoute;
  const manifests = synth((chart: Chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
    construct = new VaultHttpRoute(chart, 'ui', { vault, ...GATEWAY, ...props });
  }).filter((m) => m.metadata.labels?.['app.kubernetes.io/component'] === 'ui');
  return { manifests, construct };
}

function error(build: (chart: Chart) => void): string {
  try {
    synth(build);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const wave = (m: Manifest) => Number(m.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
/** The label Istio puts on the pods of the Gateway it deploys. */
const ISTIO_PROXY = { 'gateway.networking.k8s.io/gateway-name': 'homelab' };

describe.each(['traefik', 'envoy-gateway'])('VaultHttpRoute on %s', (implementation) => {
  const { manifests } = route({ implementation });
  const httpRoute = find(manifests, 'HTTPRoute', 'vault');

  test('snapshot (a safety net; the tests below pin each fact)', () => {
    expect(manifests).toMatchSnapshot();
  });

  test('attaches to the named Gateway listener only, for the VaultStack host, backed by Vault\'s Service', () => {
    expect(httpRoute.metadata.namespace).toBe('security');
    expect(httpRoute.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'homelab', namespace: 'gateway', sectionName: 'https' }]);
    expect(httpRoute.spec.hostnames).toEqual(['vault.example.com']);
    expect(httpRoute.spec.rules).toHaveLength(1);
    expect(httpRoute.spec.rules[0].backendRefs).toEqual([{ name: 'vault', port: 8200 }]);
    expect(httpRoute.spec.rules[0].matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
  });

  test('renders one allowlist object holding the ranges, in the route\'s namespace, a wave before the route', () => {
    const allowList = manifests.filter((m) => m !== httpRoute && m.kind !== 'BackendTLSPolicy');
    expect(allowList).toHaveLength(1);
    expect(allowList[0].metadata).toMatchObject({ name: 'vault-allowlist', namespace: 'security' });
    expect(JSON.stringify(allowList[0].spec)).toContain(JSON.stringify(PRIVATE_RANGES));
    expect(wave(allowList[0])).toBeLessThan(wave(httpRoute));
    // And first in the file, as `kubectl apply -f` goes.
    expect(manifests.indexOf(allowList[0])).toBeLessThan(manifests.indexOf(httpRoute));
  });

  test('every object is valid against its CRD schema, strictly, and its CEL rules; ArgoCD may skip the dry run', () => {
    expect(schemaErrors(manifests)).toEqual([]);
    expect(celErrors(manifests)).toEqual([]);
    for (const m of manifests) expect(m.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
  });

  test('the given ranges reach the allowlist, and only they', () => {
    const ranges = ['192.168.1.0/24', 'fd7a:115c:a1e0::/48'];
    const allowList = route({ implementation, allowedSourceRanges: ranges }).manifests.find((m) => m.kind !== 'HTTPRoute')!;
    const found = implementation === 'traefik' ? allowList.spec.ipAllowList.sourceRange : allowList.spec.authorization.rules[0].principal.clientCIDRs;
    expect(found).toEqual(ranges);
  });

  test('an empty allowlist is refused with one line: this project renders the policy', () => {
    const message = error((c) => new VaultHttpRoute(c, 'ui', {
      vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), ...GATEWAY, implementation, allowedSourceRanges: [],
    }));
    expect(message).toBe(`test/ui: invalid VaultHttpRoute allowedSourceRanges: got [], expected at least one CIDR block for implementation "${implementation}", whose allowlist this project renders; to allow every client give ["0.0.0.0/0", "::/0"]`);
  });
});

test('on Traefik: a Middleware with ipAllowList, named by an ExtensionRef filter of the route\'s one rule', () => {
  const { manifests } = route({ implementation: 'traefik' });
  const middleware = find(manifests, 'Middleware', 'vault-allowlist');
  expect(middleware.apiVersion).toBe('traefik.io/v1alpha1');
  expect(middleware.spec).toEqual({ ipAllowList: { sourceRange: PRIVATE_RANGES } });
  expect(find(manifests, 'HTTPRoute', 'vault').spec.rules[0].filters).toEqual([
    { type: 'ExtensionRef', extensionRef: { group: 'traefik.io', kind: 'Middleware', name: 'vault-allowlist' } },
  ]);
});

test('on Envoy Gateway: a SecurityPolicy on the route, Deny by default, Allow for the ranges; no filter on the route', () => {
  const { manifests } = route({ implementation: 'envoy-gateway' });
  const policy = find(manifests, 'SecurityPolicy', 'vault-allowlist');
  expect(policy.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
  expect(policy.spec).toEqual({
    targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'vault' }],
    authorization: {
      defaultAction: 'Deny',
      rules: [{ name: 'allowed-source-ranges', action: 'Allow', principal: { clientCIDRs: PRIVATE_RANGES } }],
    },
  });
  expect(find(manifests, 'HTTPRoute', 'vault').spec.rules[0].filters).toBeUndefined();
});

describe('another implementation: no allowlist object, so an allowlist is refused and [] is the explicit choice', () => {
  test('allowedSourceRanges: [] renders the route alone (and its backend TLS), without a filter', () => {
    const { manifests } = route({ implementation: 'istio', allowedSourceRanges: [], proxyPodLabels: ISTIO_PROXY });
    expect(manifests.map((m) => m.kind)).toEqual(['BackendTLSPolicy', 'HTTPRoute']);
    expect(find(manifests, 'HTTPRoute', 'vault').spec.rules[0].filters).toBeUndefined();
    expect(schemaErrors(manifests)).toEqual([]);
    expect(celErrors(manifests)).toEqual([]);
  });

  test.each<[string, string[] | undefined, string]>([
    ['given ranges', ['10.0.0.0/8'], 'allowedSourceRanges: got ["10.0.0.0/8"]'],
    ['the default ranges, by omission', undefined, `allowedSourceRanges (not given: the default): got ${JSON.stringify(PRIVATE_RANGES)}`],
  ])('%s: refused with one line naming the prop, the value and what to do', (_case, allowedSourceRanges, start) => {
    const message = error((c) => new VaultHttpRoute(c, 'ui', {
      vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), ...GATEWAY, implementation: 'istio',
      ...(allowedSourceRanges && { allowedSourceRanges }),
    }));
    expect(message).toBe(`test/ui: invalid VaultHttpRoute ${start}, expected [] for implementation "istio", which this project renders no allowlist for (only for "traefik" and "envoy-gateway"): attach your own source-address policy to the HTTPRoute security/vault, then set allowedSourceRanges: [] to say so`);
    expect(message).not.toContain('\n');
  });
});

describe('proxyNamespace: where the pods that forward the UI\'s traffic run', () => {
  test.each<[string, string | undefined, string]>([
    ['envoy-gateway', undefined, 'envoy-gateway-system'],
    ['traefik', undefined, 'kube-system'],
    ['cilium', undefined, 'gateway'],
    ['traefik', 'traefik', 'traefik'],
  ])('%s, given %s: %s', (implementation, proxyNamespace, expected) => {
    const { construct } = route({ implementation, proxyNamespace, ...(implementation === 'cilium' && { allowedSourceRanges: [], proxyPodLabels: { app: 'cilium-envoy' } }) });
    expect(construct.proxyNamespace).toBe(expected);
  });
});

describe('proxyPodLabels: only those pods are let through Vault\'s NetworkPolicy, never their whole namespace', () => {
  const admitted = (props: Partial<VaultHttpRouteProps> & Pick<VaultHttpRouteProps, 'implementation'>) => {
    const all = synth((chart: Chart) => {
      new VaultHttpRoute(chart, 'ui', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com' }), ...GATEWAY, ...props });
    });
    return find(all, 'NetworkPolicy', 'vault').spec.ingress[0].from;
  };
  const ns = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });

  test('Envoy Gateway: the labels it puts on the proxies of the route\'s own Gateway, derived from gatewayName and gatewayNamespace', () => {
    expect(admitted({ implementation: 'envoy-gateway' })).toEqual([{
      namespaceSelector: ns('envoy-gateway-system'),
      podSelector: { matchLabels: {
        'app.kubernetes.io/name': 'envoy', 'app.kubernetes.io/component': 'proxy',
        'gateway.envoyproxy.io/owning-gateway-name': 'homelab', 'gateway.envoyproxy.io/owning-gateway-namespace': 'gateway',
      } },
    }]);
  });

  test('Traefik: its chart\'s name label; given labels replace the default', () => {
    expect(admitted({ implementation: 'traefik' })).toEqual([{ namespaceSelector: ns('kube-system'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }]);
    const own = { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': 'traefik-traefik' };
    expect(admitted({ implementation: 'traefik', proxyNamespace: 'traefik', proxyPodLabels: own })).toEqual([{ namespaceSelector: ns('traefik'), podSelector: { matchLabels: own } }]);
    expect(admitted({ implementation: 'istio', allowedSourceRanges: [], proxyPodLabels: ISTIO_PROXY })).toEqual([{ namespaceSelector: ns('gateway'), podSelector: { matchLabels: ISTIO_PROXY } }]);
  });

  test.each<[string, Partial<VaultHttpRouteProps> & Pick<VaultHttpRouteProps, 'implementation'>, string]>([
    ['another implementation without them', { implementation: 'istio', allowedSourceRanges: [] },
      'test/ui: invalid VaultHttpRoute proxyPodLabels: got undefined, expected the labels of istio\'s proxy pods (no default for implementation "istio"): a whole namespace is never admitted'],
    ['no label at all', { implementation: 'traefik', proxyPodLabels: {} },
      'test/ui: invalid VaultHttpRoute proxyPodLabels: got {}, expected at least one label of the proxy\'s pods: a whole namespace is never admitted'],
    ['a label value that is no label value', { implementation: 'traefik', proxyPodLabels: { app: 'a b' } },
      'test/ui: invalid VaultHttpRoute proxyPodLabels: got "a b", expected label values of at most 63 letters, digits, "-", "_" or "."'],
  ])('rejects %s, in one line', (_case, props, message) => {
    expect(() => admitted(props)).toThrow(message);
  });
});

describe('VaultHttpRoute rejects', () => {
  test.each<[string, (c: Chart) => void, string]>([
    ['a Vault whose UI an Ingress exposes already', (c) => {
      const vault = new VaultStack(c, 'vault', { host: 'vault.example.com' });
      new VaultNginxIngress(c, 'ingress', { vault, proxyNamespace: 'ingress-nginx' });
      new VaultHttpRoute(c, 'ui', { vault, ...GATEWAY, implementation: 'traefik' });
    }, 'test/ui: invalid VaultHttpRoute vault: got "test/vault", expected a Vault whose UI nothing exposes yet: test/ingress does (expose it once)'],
    ['a missing listener', (c) => new VaultHttpRoute(c, 'ui', {
      vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), ...GATEWAY, listenerName: undefined, implementation: 'traefik',
    } as any), 'test/ui: invalid VaultHttpRoute listenerName: got undefined, expected a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)'],
    ['an implementation that is not a name', (c) => new VaultHttpRoute(c, 'ui', {
      vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), ...GATEWAY, implementation: 'Envoy Gateway',
    }), 'test/ui: invalid VaultHttpRoute implementation: got "Envoy Gateway", expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)'],
    ['a range that is not a CIDR block', (c) => new VaultHttpRoute(c, 'ui', {
      vault: new VaultStack(c, 'vault', { host: 'vault.example.com' }), ...GATEWAY, implementation: 'envoy-gateway', allowedSourceRanges: ['lan'],
    }), 'test/ui: invalid VaultHttpRoute allowedSourceRanges: got "lan", expected a CIDR block such as "192.168.1.0/24" or "fd00::/8"'],
  ])('%s', (_case, build, message) => {
    expect(error(build)).toBe(message);
  });
});
