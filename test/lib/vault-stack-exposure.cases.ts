import { Chart } from 'cdk8s';
import { VaultStack, VaultStackProps } from '../../lib';
import { find, Manifest, synth } from '../support/manifests';

function vault(props: Partial<VaultStackProps> = {}): { manifests: Manifest[]; stack: VaultStack } {
  let stack!: VaultStack;
  const manifests = synth((chart: Chart) => {
    stack = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...(props.exposure !== 'none' && { ingressControllerNamespace: 'ingress-nginx' }), ...props });
  });
  return { manifests, stack };
}

function error(props: Partial<VaultStackProps>): string {
  try {
    vault(props);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('VaultStack exposure', () => {
  test('by default the UI is exposed by its ingress-nginx Ingress, whose controller runs in ingress-nginx', () => {
    const { manifests, stack } = vault();
    expect(stack.exposure).toBe('ingress-nginx');
    expect(find(manifests, 'Ingress', 'vault').spec.ingressClassName).toBe('nginx');
    expect(stack.proxyNamespace).toBe('ingress-nginx');
    expect(vault({ ingressControllerNamespace: 'ingress' }).stack.proxyNamespace).toBe('ingress');
    // Vault's NetworkPolicy lets the UI in from there, so it is never left to a default that may be wrong.
    expect(error({ ingressControllerNamespace: undefined })).toBe('test/vault: invalid VaultStack ingressControllerNamespace: got null, '
      + 'expected the namespace of the ingress controller that serves the UI (such as "ingress-nginx"), or networkPolicy: false');
    expect(vault({ ingressControllerNamespace: undefined, networkPolicy: false }).stack.proxyNamespace).toBeUndefined();
  });

  test('exposure "none": no Ingress and no proxy namespace; the rest is the same but the config\'s TLS comment', () => {
    const exposed = vault();
    const { manifests, stack } = vault({ exposure: 'none' });
    expect(manifests.filter((m) => m.kind === 'Ingress')).toEqual([]);
    expect(stack.proxyNamespace).toBeUndefined();
    const withoutIngress = exposed.manifests.filter((m) => m.kind !== 'Ingress');
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(withoutIngress.map((m) => `${m.kind}/${m.metadata.name}`));
    expect(find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl']).toContain('# TLS ends at the Ingress or Gateway in front of Vault;');
    expect(find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'].replace(/^# TLS.*$/m, ''))
      .toBe(find(exposed.manifests, 'ConfigMap', 'vault-config').data['vault.hcl'].replace(/^# TLS.*$/m, ''));
  });

  test('the host and port are attributes, for the constructs that expose the UI', () => {
    const { stack } = vault();
    expect([stack.host, stack.port, stack.serviceName]).toEqual(['vault.example.com', 8200, 'vault']);
  });

  test.each<[keyof VaultStackProps, unknown]>([
    ['allowedSourceRanges', ['10.0.0.0/8']],
    ['tlsSecretName', 'vault-tls'],
    ['ingressClassName', 'nginx'],
    ['ingressAnnotations', { 'cert-manager.io/cluster-issuer': 'letsencrypt' }],
    ['ingressControllerNamespace', 'ingress-nginx'],
  ])('exposure "none" refuses the Ingress prop %s with one line', (prop, value) => {
    expect(error({ exposure: 'none', [prop]: value })).toBe(
      `test/vault: invalid VaultStack ${prop}: got ${JSON.stringify(value)}, expected no Ingress prop with exposure "none": set it on the construct that exposes the UI (VaultTraefikIngress or VaultHttpRoute)`);
  });

  test('an unknown exposure is refused', () => {
    expect(error({ exposure: 'traefik' as any })).toBe('test/vault: invalid VaultStack exposure: got "traefik", expected "ingress-nginx" or "none" (and VaultTraefikIngress or VaultHttpRoute to expose the UI)');
  });
});
