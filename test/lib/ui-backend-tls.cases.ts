import { Chart } from 'cdk8s';
import { VaultHttpRoute, VaultStack, VaultStorage, VaultTls, VaultTraefikIngress } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { celErrors } from '../support/cel';

// The UI's proxies speak HTTPS to a Vault that serves TLS and verify it: against the CA in the Secret of Vault's
// certificate and a name that certificate carries, configured a wave before the route so that no request reaches
// Vault unverified. (ingress-nginx's annotations are in vault-nginx-ingress.)

const wave = (m: Manifest) => Number(m.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

function exposed(expose: (chart: Chart, vault: VaultStack) => void, tls?: VaultTls): Manifest[] {
  return synth((chart: Chart) => expose(chart, new VaultStack(chart, 'vault', { host: 'vault.example.com', storage: VaultStorage.raft(), tls })));
}

describe('Traefik\'s Ingress provider (VaultTraefikIngress)', () => {
  const out = exposed((chart, vault) => new VaultTraefikIngress(chart, 'ui', { vault }));
  const transport = find(out, 'ServersTransport', 'vault-backend-tls');
  const certificate = find(out, 'Certificate', 'vault-server');
  const service = find(out, 'Service', 'vault-active');

  test('a ServersTransport trusts Vault\'s CA only and checks a name Vault\'s certificate carries', () => {
    expect(transport.metadata.namespace).toBe('security');
    expect(transport.spec).toEqual({ serverName: 'vault-active.security.svc', rootCAs: [{ secret: certificate.spec.secretName }] });
    expect(certificate.spec.dnsNames).toContain(transport.spec.serverName);
    expect(transport.spec.insecureSkipVerify).toBeUndefined();
  });

  test('Vault\'s client Service, the Ingress\'s backend, names the transport and the https scheme for Traefik', () => {
    expect(find(out, 'Ingress', 'vault').spec.rules[0].http.paths[0].backend.service.name).toBe(service.metadata.name);
    expect(service.metadata.annotations).toEqual({
      'traefik.ingress.kubernetes.io/service.serversscheme': 'https',
      'traefik.ingress.kubernetes.io/service.serverstransport': `${transport.metadata.namespace}-${transport.metadata.name}@kubernetescrd`,
    });
    expect(service.spec.ports[0].name).toBe('https');
  });

  test('the transport comes a wave before the Ingress, and everything is valid against its schema and CEL rules', () => {
    expect(wave(transport)).toBeLessThan(wave(find(out, 'Ingress', 'vault')));
    expect(schemaErrors(out)).toEqual([]);
    expect(celErrors(out)).toEqual([]);
  });

  test('with plain HTTP there is no transport and the Service is not annotated', () => {
    const plain = exposed((chart, vault) => new VaultTraefikIngress(chart, 'ui', { vault }), VaultTls.none());
    expect(plain.filter((m) => m.kind === 'ServersTransport')).toEqual([]);
    expect(find(plain, 'Service', 'vault-active').metadata.annotations).toBeUndefined();
  });
});

describe.each(['traefik', 'envoy-gateway', 'istio'])('Gateway API on %s (VaultHttpRoute)', (implementation) => {
  const out = exposed((chart, vault) => new VaultHttpRoute(chart, 'ui', {
    vault, gatewayName: 'homelab', gatewayNamespace: 'gateway', listenerName: 'https', implementation,
    ...(implementation === 'istio' && { allowedSourceRanges: [], proxyPodLabels: { 'gateway.networking.k8s.io/gateway-name': 'homelab' } }),
  }));
  const policy = find(out, 'BackendTLSPolicy', 'vault-backend-tls');
  const route = find(out, 'HTTPRoute', 'vault');
  const certificate = find(out, 'Certificate', 'vault-server');

  test('a BackendTLSPolicy on the route\'s backend Service: the CA of Vault\'s certificate\'s Secret, a name it carries', () => {
    expect(policy.metadata.namespace).toBe(route.metadata.namespace);
    expect(policy.spec.targetRefs).toEqual([{ group: '', kind: 'Service', name: route.spec.rules[0].backendRefs[0].name }]);
    expect(policy.spec.validation).toEqual({
      caCertificateRefs: [{ group: '', kind: 'Secret', name: certificate.spec.secretName }], hostname: 'vault-active.security.svc',
    });
    expect(certificate.spec.dnsNames).toContain(policy.spec.validation.hostname);
  });

  test('it comes a wave before the route, and is valid against Gateway API\'s schema and CEL rules', () => {
    expect(wave(policy)).toBeLessThan(wave(route));
    expect(out.indexOf(policy)).toBeLessThan(out.indexOf(route));
    expect(schemaErrors(out)).toEqual([]);
    expect(celErrors(out)).toEqual([]);
  });
});

test('a Vault that speaks plain HTTP gets no BackendTLSPolicy', () => {
  const plain = exposed((chart, vault) => new VaultHttpRoute(chart, 'ui', {
    vault, gatewayName: 'homelab', gatewayNamespace: 'gateway', listenerName: 'https', implementation: 'envoy-gateway',
  }), VaultTls.none());
  expect(plain.filter((m) => m.kind === 'BackendTLSPolicy')).toEqual([]);
});
