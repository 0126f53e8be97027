import { Chart } from 'cdk8s';
import { VaultHttpRoute, VaultNginxIngress, VaultNginxIngressProps, VaultStack, VaultStorage, VaultTls, VaultTraefikIngress } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

// The UI through ingress-nginx, beside the VaultStack: the Ingress, its allowlist, the controller let through Vault's
// NetworkPolicy, and the one exposure a Vault may have.
function ui(props: Partial<VaultNginxIngressProps> = {}, storage?: VaultStorage, tls?: VaultTls): Manifest[] {
  return synth((chart: Chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...(storage && { storage }), tls });
    new VaultNginxIngress(chart, 'ui', { vault, proxyNamespace: 'ingress-nginx', ...props });
  });
}

function error(props: Partial<VaultNginxIngressProps>): string {
  try {
    ui(props);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const manifests = ui();

test('serves the Vault\'s host over TLS through nginx, to private address ranges only by default', () => {
  const ingress = find(manifests, 'Ingress', 'vault');
  expect(ingress.metadata.namespace).toBe('security');
  expect(ingress.spec.ingressClassName).toBe('nginx');
  expect(ingress.spec.tls).toEqual([{ hosts: ['vault.example.com'], secretName: 'vault-tls' }]);
  expect(ingress.spec.rules[0].host).toBe('vault.example.com');
  expect(ingress.spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'vault', port: { number: 8200 } } });
  expect(ingress.metadata.annotations).toEqual({
    'nginx.ingress.kubernetes.io/allowlist-source-range': '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7',
    ...BACKEND_TLS,
  });
  expect(schemaErrors(manifests)).toEqual([]);
});

/** What ingress-nginx needs to speak HTTPS to Vault and verify it: Vault's CA and the name its certificate carries. */
const BACKEND_TLS = {
  'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
  'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
  'nginx.ingress.kubernetes.io/proxy-ssl-secret': 'security/vault-server-tls',
  'nginx.ingress.kubernetes.io/proxy-ssl-name': 'vault.security.svc',
};

test('speaks HTTPS to a Vault that serves TLS and verifies it: the CA of its certificate\'s Secret, a name the certificate carries', () => {
  const certificate = find(manifests, 'Certificate', 'vault-server');
  const annotations = find(manifests, 'Ingress', 'vault').metadata.annotations;
  expect(annotations['nginx.ingress.kubernetes.io/proxy-ssl-secret']).toBe(`security/${certificate.spec.secretName}`);
  expect(certificate.spec.dnsNames).toContain(annotations['nginx.ingress.kubernetes.io/proxy-ssl-name']);
  const raft = find(ui({}, VaultStorage.raft()), 'Ingress', 'vault').metadata.annotations;
  expect(raft['nginx.ingress.kubernetes.io/proxy-ssl-name']).toBe('vault-active.security.svc');
  const plain = find(ui({}, undefined, VaultTls.none()), 'Ingress', 'vault').metadata.annotations;
  expect(Object.keys(plain)).toEqual(['nginx.ingress.kubernetes.io/allowlist-source-range']);
});

test('the controller\'s pods (the chart\'s labels, or the site\'s) are let through Vault\'s NetworkPolicy, and the configuration names where TLS ends', () => {
  const controller = (labels: Record<string, string>) => [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: labels } }];
  expect(find(manifests, 'NetworkPolicy', 'vault').spec.ingress[0].from).toEqual(controller({ 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' }));
  const release = { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/instance': 'lan', 'app.kubernetes.io/component': 'controller' };
  expect(find(ui({ proxyPodLabels: release }), 'NetworkPolicy', 'vault').spec.ingress[0].from).toEqual(controller(release));
  expect(error({ proxyPodLabels: {} })).toBe('test/ui: invalid VaultNginxIngress proxyPodLabels: got {}, expected at least one label of the proxy\'s pods: a whole namespace is never admitted');
  // Where TLS ends matters when Vault speaks plain HTTP behind the proxy.
  const plain = ui({}, undefined, VaultTls.none());
  expect(find(plain, 'ConfigMap', 'vault-config').data['vault.hcl']).toContain('# TLS ends at ingress-nginx; inside the cluster Vault speaks plain HTTP.');
  const alone = synth((chart: Chart) => { new VaultStack(chart, 'vault', { host: 'vault.example.com', tls: VaultTls.none() }); });
  expect(find(alone, 'ConfigMap', 'vault-config').data['vault.hcl']).toContain('# TLS ends at the Ingress or Gateway in front of Vault;');
  expect(alone.filter((m) => m.kind === 'Ingress')).toEqual([]);
});

test('with Raft, the backend is the active node\'s Service', () => {
  const raft = ui({}, VaultStorage.raft());
  expect(find(raft, 'Ingress', 'vault').spec.rules[0].http.paths[0].backend).toEqual({ service: { name: 'vault-active', port: { number: 8200 } } });
});

test('source ranges, annotations, class and TLS Secret reach the Ingress', () => {
  const ingress = find(ui({
    allowedSourceRanges: ['192.168.1.0/24', 'fd00::/8'], annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
    ingressClassName: 'internal', tlsSecretName: 'secrets-tls',
  }), 'Ingress', 'vault');
  expect(ingress.metadata.annotations).toEqual({
    'cert-manager.io/cluster-issuer': 'letsencrypt', 'nginx.ingress.kubernetes.io/allowlist-source-range': '192.168.1.0/24,fd00::/8', ...BACKEND_TLS,
  });
  expect(ingress.spec.ingressClassName).toBe('internal');
  expect(ingress.spec.tls).toEqual([{ hosts: ['vault.example.com'], secretName: 'secrets-tls' }]);
  const open = find(ui({ allowedSourceRanges: ['0.0.0.0/0', '::/0'] }), 'Ingress', 'vault');
  expect(open.metadata.annotations).toEqual({ 'nginx.ingress.kubernetes.io/allowlist-source-range': '0.0.0.0/0,::/0', ...BACKEND_TLS });
});

test.each<[string, Partial<VaultNginxIngressProps>, string]>([
  ['tls secret name', { tlsSecretName: 'Vault_TLS' }, 'invalid VaultNginxIngress tlsSecretName: got "Vault_TLS"'],
  ['ingress class', { ingressClassName: '' }, 'invalid VaultNginxIngress ingressClassName: got ""'],
  ['CIDR without prefix', { allowedSourceRanges: ['192.168.1.0'] }, 'invalid VaultNginxIngress allowedSourceRanges: got "192.168.1.0", expected a CIDR block'],
  ['CIDR prefix too long', { allowedSourceRanges: ['10.0.0.0/33'] }, 'invalid VaultNginxIngress allowedSourceRanges: got "10.0.0.0/33"'],
  ['CIDR not an address', { allowedSourceRanges: ['lan/24'] }, 'invalid VaultNginxIngress allowedSourceRanges: got "lan/24"'],
  ['no source range at all', { allowedSourceRanges: [] }, 'invalid VaultNginxIngress allowedSourceRanges: got [], expected at least one CIDR block; to allow every client give ["0.0.0.0/0", "::/0"]'],
  ['source-range annotation', { annotations: { 'nginx.ingress.kubernetes.io/allowlist-source-range': '0.0.0.0/0' } }, 'invalid VaultNginxIngress annotations: got "nginx.ingress.kubernetes.io/allowlist-source-range", expected no source-range annotation here: set allowedSourceRanges'],
  ['source-range annotation by its old name', { annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': '0.0.0.0/0' } }, 'invalid VaultNginxIngress annotations: got "nginx.ingress.kubernetes.io/whitelist-source-range"'],
  ['backend TLS annotation', { annotations: { 'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'off' } }, 'invalid VaultNginxIngress annotations: got "nginx.ingress.kubernetes.io/proxy-ssl-verify", expected no backend TLS annotation here'],
])('rejects a wrong %s with one line', (_case, props, message) => {
  expect(error(props)).toContain(`test/ui: ${message}`);
});

test('a Vault is exposed once: a second exposing construct is refused with one line naming the first', () => {
  const twice = (second: (chart: Chart, vault: VaultStack) => void) => () => synth((chart: Chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
    new VaultNginxIngress(chart, 'ui', { vault, proxyNamespace: 'ingress-nginx' });
    second(chart, vault);
  });
  expect(twice((chart, vault) => new VaultTraefikIngress(chart, 'traefik', { vault })))
    .toThrow('test/traefik: invalid VaultTraefikIngress vault: got "test/vault", expected a Vault whose UI nothing exposes yet: test/ui does (expose it once)');
  expect(twice((chart, vault) => new VaultHttpRoute(chart, 'route', { vault, gatewayName: 'gw', gatewayNamespace: 'gw', listenerName: 'https', implementation: 'envoy-gateway' })))
    .toThrow('test/route: invalid VaultHttpRoute vault: got "test/vault", expected a Vault whose UI nothing exposes yet: test/ui does (expose it once)');
});
