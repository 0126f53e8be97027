import { Chart } from 'cdk8s';
import { EsoRecoveryCron, EsoStore, UnsealCron, VaultNginxIngress, VaultNginxIngressProps, VaultStack, VaultStackProps } from '../../lib';
import { find, schemaErrors, synth } from '../support/manifests';
import { podTemplates } from '../support/pod-security';

// VaultNetworkPolicy as VaultStack makes it: the clients that register themselves (the CronJobs, ESO's controller),
// the UI's namespace and the app's own allowedClients, and the props that shape it.
function vault(props: Partial<VaultStackProps> = {}): void {
  synth((chart: Chart) => { new VaultStack(chart, 'vault', { host: 'vault.example.com', ...props }); });
}

describe('VaultStack NetworkPolicy: Vault reachable only by who needs it', () => {
  const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const homelab = (extra: Partial<VaultStackProps> = {}) => synth((chart: Chart) => {
    const v = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...extra });
    new VaultNginxIngress(chart, 'ui', { vault: v, proxyNamespace: 'ingress-nginx' });
    new UnsealCron(chart, 'unseal', { vault: v });
    const store = new EsoStore(chart, 'store', { vault: v, esoRelease: 'eso' });
    new EsoRecoveryCron(chart, 'recovery', { vault: v, store });
  });

  test('selects Vault\'s pods and admits port 8200 only from the UI\'s controller pods and the clients the app declares', () => {
    const out = homelab({ allowedClients: [{ description: 'a backup job', namespace: 'backup', podLabels: { app: 'restic' } }, { description: 'a host-network proxy', cidr: '192.168.1.0/24' }] });
    const policy = find(out, 'NetworkPolicy', 'vault');
    const sts = find(out, 'StatefulSet', 'vault');
    expect(policy.metadata.namespace).toBe('security');
    expect(matches(policy.spec.podSelector.matchLabels, sts.spec.template.metadata.labels)).toBe(true);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toHaveLength(1);
    expect(policy.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 8200 }]);
    const ns = (name: string) => ({ matchLabels: { 'kubernetes.io/metadata.name': name } });
    expect(policy.spec.ingress[0].from).toEqual([
      { namespaceSelector: ns('backup'), podSelector: { matchLabels: { app: 'restic' } } },
      { ipBlock: { cidr: '192.168.1.0/24' } },
      { namespaceSelector: ns('ingress-nginx'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } } },
      { namespaceSelector: ns('security'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'vault-auto-unseal', 'app.kubernetes.io/component': 'cronjob' } } },
      { namespaceSelector: ns('security'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'external-secrets', 'app.kubernetes.io/instance': 'eso' } } },
      { namespaceSelector: ns('security'), podSelector: { matchLabels: { 'app.kubernetes.io/name': 'eso-recovery', 'app.kubernetes.io/component': 'cronjob' } } },
    ]);
    expect(schemaErrors(out)).toEqual([]);
  });

  test('each CronJob\'s pods match the rule that admits them, and nothing admits a whole namespace', () => {
    const out = homelab();
    const from = find(out, 'NetworkPolicy', 'vault').spec.ingress[0].from;
    for (const p of podTemplates(out).filter((t) => t.what.startsWith('CronJob'))) {
      const admitted = from.some((f: any) => f.podSelector && f.namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === p.namespace
        && matches(f.podSelector.matchLabels, p.metadata.labels));
      expect([p.what, admitted]).toEqual([p.what, true]);
    }
    for (const f of from) {
      if (f.ipBlock) continue;
      expect(Object.keys(f.namespaceSelector.matchLabels)).toEqual(['kubernetes.io/metadata.name']);
      expect(Object.keys(f.podSelector.matchLabels).length).toBeGreaterThan(0);
    }
  });

  test('a Vault with no client admits nothing: no ingress rule at all (a rule without peers would admit every source)', () => {
    const out = synth((chart: Chart) => { new VaultStack(chart, 'vault', { host: 'vault.example.com' }); });
    const policy = find(out, 'NetworkPolicy', 'vault');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([]);
    expect(schemaErrors(out)).toEqual([]);
  });

  test('off on request: no policy', () => {
    const out = homelab({ networkPolicy: false });
    expect(out.filter((m) => m.kind === 'NetworkPolicy')).toEqual([]);
  });

  test('the UI\'s controller: its namespace is required, and its pods\' labels narrow the rule to them', () => {
    const ui = (props: Partial<VaultNginxIngressProps>) => synth((chart: Chart) => {
      new VaultNginxIngress(chart, 'ui', { vault: new VaultStack(chart, 'vault', { host: 'vault.example.com' }), ...props } as VaultNginxIngressProps);
    });
    expect(() => ui({})).toThrow('test/ui: invalid VaultNginxIngress proxyNamespace: got undefined, expected a DNS-1123 label');
    expect(() => ui({ proxyNamespace: 'Ingress' })).toThrow('test/ui: invalid VaultNginxIngress proxyNamespace: got "Ingress"');
    const labels = { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' };
    expect(find(ui({ proxyNamespace: 'ingress-nginx', proxyPodLabels: labels }), 'NetworkPolicy', 'vault').spec.ingress[0].from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } }, podSelector: { matchLabels: labels } },
    ]);
  });

  test.each<[string, Partial<VaultStackProps>, RegExp]>([
    ['a client with neither namespace nor cidr', { allowedClients: [{ description: 'x' }] }, /invalid VaultStack allowedClients\[0\]: got \{"description":"x"\}, expected either namespace with podLabels, or cidr$/],
    ['a client with a bad CIDR', { allowedClients: [{ description: 'x', cidr: '10.0.0.0' }] }, /invalid VaultStack allowedClients\[0\] cidr: got "10.0.0.0"/],
    ['a whole namespace', { allowedClients: [{ description: 'x', namespace: 'backup' }] },
      /invalid VaultStack allowedClients\[0\] podLabels: got null, expected at least one label of the client's pods in namespace backup: a whole namespace is never admitted$/],
    ['a whole namespace, by no label', { allowedClients: [{ description: 'x', namespace: 'backup', podLabels: {} }] }, /allowedClients\[0\] podLabels: got \{\}, expected at least one label/],
  ])('rejects %s', (_case, props, message) => {
    expect(() => vault(props)).toThrow(message);
  });
});
