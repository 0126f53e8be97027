import { Chart } from 'cdk8s';
import { EsoStore, UnsealCron, VaultAlerts, VaultStack, VaultStackProps, VaultStorage, VaultTls } from '../../lib';
import { bundleRuntime } from '../../lib/runtime-bundle';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { podSecurityViolations, podTemplates } from '../support/pod-security';
import { parsePromql } from '../support/promql';

// TLS on Vault's listener (VaultTls): cert-manager's CA chain and Vault's certificate, the listener serving from its
// Secret, the sidecar that has Vault reload a renewal, the plain-HTTP mode main.ts keeps, and the expiry alert.

function vault(props: Partial<VaultStackProps> = {}): { stack: VaultStack; manifests: Manifest[] } {
  let stack!: VaultStack;
  const manifests = synth((chart: Chart) => { stack = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...props }); });
  return { stack, manifests };
}

const { stack, manifests } = vault({ storage: VaultStorage.raft() });
const pod = find(manifests, 'StatefulSet', 'vault').spec.template;
const [container, sidecar] = pod.spec.containers;
const config: string = find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
const server = find(manifests, 'Certificate', 'vault-server');
const volumeOf = (name: string) => pod.spec.volumes.find((v: any) => v.name === name);
const mountOf = (c: any, path: string) => c.volumeMounts.find((m: any) => m.mountPath === path);

describe('the CA chain and Vault\'s certificate (cert-manager)', () => {
  test('a self-signed Issuer issues a long-lived CA whose key never rotates; a CA Issuer reads its Secret', () => {
    const selfSigned = find(manifests, 'Issuer', 'vault-selfsigned');
    const ca = find(manifests, 'Certificate', 'vault-ca');
    const caIssuer = find(manifests, 'Issuer', 'vault-ca-issuer');
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    expect(ca.spec).toMatchObject({ isCA: true, duration: '87600h', issuerRef: { kind: 'Issuer', name: 'vault-selfsigned' } });
    // cert-manager 1.18 made Always the default: a new CA key at each renewal would break every client's trust.
    expect(ca.spec.privateKey.rotationPolicy).toBe('Never');
    expect(caIssuer.spec).toEqual({ ca: { secretName: ca.spec.secretName } });
    expect(server.spec).toMatchObject({ issuerRef: { kind: 'Issuer', name: 'vault-ca-issuer' }, duration: '2160h', renewBefore: '720h' });
    expect(server.spec.privateKey.rotationPolicy).toBe('Always');
  });

  test('Vault\'s certificate names every Service, every pod through the headless Service, and the loopback address', () => {
    const ns = 'security';
    const services = manifests.filter((m) => m.kind === 'Service').map((m) => m.metadata.name);
    const headless = manifests.find((m) => m.kind === 'Service' && m.spec.clusterIP === 'None')!.metadata.name;
    const hosts = [...services, ...stack.podNames.map((p) => `${p}.${headless}`)]
      .flatMap((h) => [h, `${h}.${ns}`, `${h}.${ns}.svc`, `${h}.${ns}.svc.cluster.local`]);
    expect([...server.spec.dnsNames].sort()).toEqual(hosts.sort());
    expect(server.spec.ipAddresses).toEqual(['127.0.0.1']);
    for (const url of [stack.serviceUrl, ...stack.podUrls]) expect(server.spec.dnsNames).toContain(new URL(url).hostname);
    expect(container.env).toContainEqual({ name: 'VAULT_ADDR', value: 'https://127.0.0.1:8200' });
  });

  test('converge in one sync: no wave (ArgoCD would wait on a CA Issuer that is Degraded until its CA exists)', () => {
    for (const m of manifests.filter((o) => o.apiVersion.startsWith('cert-manager.io/'))) {
      expect(m.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-options': 'SkipDryRunOnMissingResource=true' });
    }
  });

  test('every object is valid against the Kubernetes API and cert-manager\'s CRD schemas', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });
});

describe('the listener', () => {
  test('serves TLS from the Certificate\'s Secret, mounted whole-folder and read-only (a renewal reaches the files)', () => {
    expect(config).toMatch(/tls_cert_file\s+= "\/vault\/tls\/tls.crt"/);
    expect(config).toMatch(/tls_key_file\s+= "\/vault\/tls\/tls.key"/);
    expect(volumeOf('tls').secret).toMatchObject({ secretName: server.spec.secretName, defaultMode: 0o440 });
    expect(mountOf(container, '/vault/tls')).toEqual({ name: 'tls', mountPath: '/vault/tls', readOnly: true });
    for (const c of pod.spec.containers) for (const m of c.volumeMounts) expect(m.subPath).toBeUndefined();
    expect(container.env).toContainEqual({ name: 'VAULT_CACERT', value: '/vault/tls/ca.crt' });
  });

  test('the readiness probe speaks HTTPS (the kubelet does not verify a probe\'s certificate)', () => {
    expect(container.readinessProbe.httpGet.scheme).toBe('HTTPS');
    expect(container.ports[0]).toEqual({ name: 'https', containerPort: 8200, protocol: 'TCP' });
  });
});

describe('the reload of a renewed certificate', () => {
  test('a sidecar in the pod\'s one process namespace runs the bundled reloader, as Vault\'s uid, with no capability', () => {
    expect(pod.spec.shareProcessNamespace).toBe(true);
    expect(sidecar.name).toBe('cert-reloader');
    expect(sidecar.command).toEqual(['node', '/opt/cert-reloader/cert-reloader.js']);
    expect(sidecar.image).toMatch(/^node:\d+\.\d+\.\d+-alpine[\d.]+$/);
    // Vault's uid is the pod's (the image's user vault, 100); the sidecar sets none of its own.
    expect(pod.spec.securityContext.runAsUser).toBe(100);
    expect(sidecar.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(mountOf(sidecar, '/vault/tls')).toEqual({ name: 'tls', mountPath: '/vault/tls', readOnly: true });
    // Vault's own listener on the pod's loopback, at the port the StatefulSet serves: the address its certificate names.
    expect(sidecar.env).toEqual([{ name: 'TLS_CERT_DIR', value: '/vault/tls' }, { name: 'VAULT_LISTENER', value: `127.0.0.1:${stack.port}` }]);
    const script = find(manifests, 'ConfigMap', volumeOf('cert-reloader').configMap.name).data['cert-reloader.js'];
    expect(script).toBe(bundleRuntime('cert-reloader'));
    expect(Buffer.byteLength(script)).toBeLessThan(20 * 1024);
    expect([...new Set([...script.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))].sort()).toEqual(['crypto', 'fs', 'path', 'tls']);
  });

  test('the pod passes Pod Security "restricted", and the sidecar shares Vault\'s AppArmor profile when one is set', () => {
    for (const p of podTemplates(manifests)) expect([p.what, podSecurityViolations(p.metadata, p.spec, 'restricted')]).toEqual([p.what, []]);
    const annotations = find(vault({ appArmorProfile: 'localhost/vault' }).manifests, 'StatefulSet', 'vault').spec.template.metadata.annotations;
    expect(annotations['container.apparmor.security.beta.kubernetes.io/cert-reloader']).toBe('localhost/vault');
    expect(annotations['container.apparmor.security.beta.kubernetes.io/vault']).toBe('localhost/vault');
  });
});

describe('VaultTls.none(): plain HTTP, as the seed', () => {
  const plain = vault({ tls: VaultTls.none() });
  const plainPod = find(plain.manifests, 'StatefulSet', 'vault').spec.template.spec;

  test('a plain-HTTP listener, no certificate, no sidecar, http URLs', () => {
    const hcl: string = find(plain.manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
    expect(hcl).toMatch(/listener "tcp" \{\s+address\s+= "\[::\]:8200"\s+tls_disable = 1\s+\}/);
    expect(hcl).toContain('# TLS ends at the Ingress or Gateway in front of Vault; inside the cluster Vault speaks plain HTTP.');
    expect(plain.manifests.filter((m) => m.apiVersion.startsWith('cert-manager.io/'))).toEqual([]);
    expect(plainPod.containers.map((c: any) => c.name)).toEqual(['vault']);
    expect(plainPod.shareProcessNamespace).toBeUndefined();
    expect(plainPod.containers[0].readinessProbe.httpGet.scheme).toBe('HTTP');
    expect([plain.stack.scheme, plain.stack.tls, plain.stack.serviceUrl]).toEqual(['http', undefined, 'http://vault.security.svc.cluster.local:8200']);
  });
});

describe('the expiry alert', () => {
  const alerts = (tls?: VaultTls) => synth((chart: Chart) => {
    const v = new VaultStack(chart, 'vault', { host: 'vault.example.com', tls });
    new VaultAlerts(chart, 'alerts', { vault: v, store: new EsoStore(chart, 'store', { vault: v }), unseal: new UnsealCron(chart, 'unseal', { vault: v }) });
  }).filter((m) => m.kind === 'PrometheusRule').flatMap((m) => m.spec.groups[0].rules);
  const rule = alerts().find((r: any) => r.alert === 'VaultCertificateExpiring');

  test('reads cert-manager\'s expiry of Vault\'s Certificates, at half the renewal window, silent while the series are absent', () => {
    const parsed = parsePromql(rule.expr);
    expect(parsed.errors).toEqual([]);
    expect([...new Set(parsed.metrics)]).toEqual(['certmanager_certificate_expiration_timestamp_seconds']);
    expect(rule.expr).toContain('{exported_namespace="security", name=~"vault-ca|vault-server"} > 0');
    expect(rule.expr).toContain('{namespace="security", name=~"vault-ca|vault-server"} > 0');
    expect(rule.expr).toMatch(/\n {2}- time\(\) < 1296000$/);
    // A comparison of the series alone: no absent(), no `or vector(...)`; a Certificate not yet issued (0) never fires.
    expect(rule.expr).not.toMatch(/absent|vector\(/);
    expect(rule).toMatchObject({ for: '1h', labels: { severity: 'critical' }, annotations: { runbook: 'docs/alerts.md#vaultcertificateexpiring' } });
  });

  test('a Certificate not Ready for 15 minutes: cert-manager\'s Ready status of Vault\'s Certificates, "True" at 0, silent while absent', () => {
    const notReady = alerts().find((r: any) => r.alert === 'VaultCertificateNotReady');
    const parsed = parsePromql(notReady.expr);
    expect(parsed.errors).toEqual([]);
    expect([...new Set(parsed.metrics)]).toEqual(['certmanager_certificate_ready_status']);
    expect(notReady.expr).toContain('{exported_namespace="security", condition="True", name=~"vault-ca|vault-server"}');
    expect(notReady.expr).toContain('{namespace="security", condition="True", name=~"vault-ca|vault-server"}');
    expect(notReady.expr).toMatch(/\) == 0$/);
    expect(notReady.expr).not.toMatch(/absent|vector\(/);
    expect(notReady).toMatchObject({ for: '15m', labels: { severity: 'critical' }, annotations: { runbook: 'docs/alerts.md#vaultcertificatenotready' } });
    expect(alerts(VaultTls.none()).map((r: any) => r.alert)).not.toContain('VaultCertificateNotReady');
  });

  test('follows renewBefore, and is not there with plain HTTP', () => {
    const short = synth((chart: Chart) => {
      const v = new VaultStack(chart, 'vault', { host: 'vault.example.com', tls: VaultTls.certManager({ duration: '720h', renewBefore: '240h' }) });
      new VaultAlerts(chart, 'alerts', { vault: v, store: new EsoStore(chart, 'store', { vault: v }) });
    }).filter((m) => m.kind === 'PrometheusRule').flatMap((m) => m.spec.groups[0].rules);
    expect(short.find((r: any) => r.alert === 'VaultCertificateExpiring').expr).toMatch(/- time\(\) < 432000$/);
    expect(alerts(VaultTls.none()).map((r: any) => r.alert)).not.toContain('VaultCertificateExpiring');
  });
});

test('props reach the output', () => {
  const { manifests: m } = vault({ tls: VaultTls.certManager({ duration: '1440h', renewBefore: '480h', caDuration: '43800h', reloaderImage: 'node:22.21.1-alpine3.22' }) });
  expect(find(m, 'Certificate', 'vault-server').spec).toMatchObject({ duration: '1440h', renewBefore: '480h' });
  expect(find(m, 'Certificate', 'vault-ca').spec.duration).toBe('43800h');
  expect(find(m, 'StatefulSet', 'vault').spec.template.spec.containers[1].image).toBe('node:22.21.1-alpine3.22');
});

test.each<[string, () => VaultTls, RegExp]>([
  ['duration in days', () => VaultTls.certManager({ duration: '90d' }), /invalid VaultTls.certManager duration: got "90d", expected a duration in hours, minutes and seconds/],
  ['duration under an hour', () => VaultTls.certManager({ duration: '30m' }), /invalid VaultTls.certManager duration: got "30m"/],
  ['renewBefore under 5 minutes', () => VaultTls.certManager({ renewBefore: '1m' }), /invalid VaultTls.certManager renewBefore: got "1m"/],
  ['renewBefore not under duration', () => VaultTls.certManager({ duration: '720h', renewBefore: '720h' }), /invalid VaultTls.certManager renewBefore: got "720h", expected less than duration \(720h\)/],
  ['a CA that does not outlive the certificate', () => VaultTls.certManager({ caDuration: '2160h' }), /invalid VaultTls.certManager caDuration: got "2160h", expected longer than duration/],
  ['an unpinned reloader image', () => VaultTls.certManager({ reloaderImage: 'node' }), /invalid VaultTls.certManager reloaderImage: got "node"/],
])('rejects %s with one line', (_case, make, message) => {
  expect(make).toThrow(message);
});
