import { Chart } from 'cdk8s';
import { PRIVATE_RANGES, VaultNginxIngress, VaultStack, VaultTraefikIngress, VaultTraefikIngressProps } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { celErrors } from '../support/cel';

function exposure(props: Partial<VaultTraefikIngressProps> = {}): { manifests: Manifest[]; construct: VaultTraefikIngress } {
  let construct!: VaultTraefikIngress;
  const manifests = synth((chart: Chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com' });
    construct = new VaultTraefikIngress(chart, 'ui', { vault, ...props });
  }).filter((m) => m.metadata.labels?.['app.kubernetes.io/component'] === 'ui');
  return { manifests, construct };
}

function error(props: Record<string, unknown>, exposedAlready: boolean): string {
  try {
    synth((c) => {
      const vault = new VaultStack(c, 'vault', { host: 'vault.example.com' });
      if (exposedAlready) new VaultNginxIngress(c, 'ingress', { vault, proxyNamespace: 'ingress-nginx' });
      new VaultTraefikIngress(c, 'ui', { vault, ...props });
    });
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

const { manifests, construct } = exposure();
const ingress = find(manifests, 'Ingress', 'vault');
const middleware = find(manifests, 'Middleware', 'vault-allowlist');
const wave = (m: Manifest) => Number(m.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);

test('snapshot (a safety net; the tests below pin each fact)', () => {
  expect(manifests).toMatchSnapshot();
});

test('an Ingress of class traefik for the VaultStack host, with TLS, backed by Vault\'s Service', () => {
  expect(ingress.metadata.namespace).toBe('security');
  expect(ingress.spec).toEqual({
    ingressClassName: 'traefik',
    tls: [{ hosts: ['vault.example.com'], secretName: 'vault-tls' }],
    rules: [{ host: 'vault.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'vault', port: { number: 8200 } } } }] } }],
  });
});

test('the router uses the allowlist Middleware, on the HTTPS entry point only, with TLS', () => {
  expect(ingress.metadata.annotations).toEqual({
    'traefik.ingress.kubernetes.io/router.middlewares': 'security-vault-allowlist@kubernetescrd',
    'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
    'traefik.ingress.kubernetes.io/router.tls': 'true',
  });
  // <namespace>-<name>@kubernetescrd names this very Middleware.
  expect(`${middleware.metadata.namespace}-${middleware.metadata.name}@kubernetescrd`).toBe(ingress.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']);
});

test('the Middleware admits only the ranges, and is applied before the Ingress (ArgoCD wave, file order)', () => {
  expect(middleware.spec).toEqual({ ipAllowList: { sourceRange: PRIVATE_RANGES } });
  const ranges = ['192.168.1.0/24', 'fd00::/8'];
  expect(find(exposure({ allowedSourceRanges: ranges }).manifests, 'Middleware', 'vault-allowlist').spec.ipAllowList.sourceRange).toEqual(ranges);
  expect(wave(middleware)).toBeLessThan(wave(ingress));
  expect(manifests.indexOf(middleware)).toBeLessThan(manifests.indexOf(ingress));
});

test('every object is valid against its API or CRD schema and the CRD\'s CEL rules; ArgoCD may skip the Middleware\'s dry run', () => {
  expect(schemaErrors(manifests)).toEqual([]);
  expect(celErrors(manifests)).toEqual([]);
  expect(middleware.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('SkipDryRunOnMissingResource=true');
});

test('props reach the output: class, entry point, TLS Secret, more annotations; proxyNamespace defaults to k3s\'s', () => {
  expect(construct.proxyNamespace).toBe('kube-system');
  const { manifests: custom, construct: other } = exposure({
    ingressClassName: 'traefik-lan', entryPoint: 'https', tlsSecretName: 'vault-cert', proxyNamespace: 'traefik',
    annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
  });
  const i = find(custom, 'Ingress', 'vault');
  expect(i.spec.ingressClassName).toBe('traefik-lan');
  expect(i.spec.tls).toEqual([{ hosts: ['vault.example.com'], secretName: 'vault-cert' }]);
  expect(i.metadata.annotations['traefik.ingress.kubernetes.io/router.entrypoints']).toBe('https');
  expect(i.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt');
  expect(other.proxyNamespace).toBe('traefik');
});

test('Traefik\'s pods, by the chart\'s label or the site\'s, are let through Vault\'s NetworkPolicy, never their whole namespace', () => {
  const from = (props: Partial<VaultTraefikIngressProps>) => find(synth((chart: Chart) => {
    new VaultTraefikIngress(chart, 'ui', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com' }), ...props });
  }), 'NetworkPolicy', 'vault').spec.ingress[0].from;
  const ns = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
  expect(construct.proxyPodLabels).toEqual({ 'app.kubernetes.io/name': 'traefik' });
  expect(from({})).toEqual([{ namespaceSelector: ns('kube-system'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik' } } }]);
  const k3s = { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': 'traefik-kube-system' };
  expect(from({ proxyPodLabels: k3s })).toEqual([{ namespaceSelector: ns('kube-system'), podSelector: { matchLabels: k3s } }]);
});

describe('VaultTraefikIngress rejects, with one line', () => {
  test.each<[string, Record<string, unknown>, string, boolean]>([
    ['an empty allowlist', { allowedSourceRanges: [] },
      'test/ui: invalid VaultTraefikIngress allowedSourceRanges: got [], expected at least one CIDR block (the Middleware enforces them); to allow every client give ["0.0.0.0/0", "::/0"]', false],
    ['a router annotation of its own', { annotations: { 'traefik.ingress.kubernetes.io/router.middlewares': 'default-open@kubernetescrd' } },
      'test/ui: invalid VaultTraefikIngress annotations: got "traefik.ingress.kubernetes.io/router.middlewares", expected no router annotation here: allowedSourceRanges and entryPoint set them', false],
    ['an entry point list', { entryPoint: 'web,websecure' },
      'test/ui: invalid VaultTraefikIngress entryPoint: got "web,websecure", expected a DNS-1123 label (lowercase letters, digits and "-", at most 63 characters)', false],
    ['no pod label', { proxyPodLabels: {} },
      'test/ui: invalid VaultTraefikIngress proxyPodLabels: got {}, expected at least one label of the proxy\'s pods: a whole namespace is never admitted', false],
    ['a Vault whose UI an Ingress exposes already', {},
      'test/ui: invalid VaultTraefikIngress vault: got "test/vault", expected a Vault whose UI nothing exposes yet: test/ingress does (expose it once)', true],
  ])('%s', (_case, props, message, exposedAlready) => {
    expect(error(props, exposedAlready)).toBe(message);
  });
});
