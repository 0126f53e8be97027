import { Chart } from 'cdk8s';
import { EsoRecoveryCron, EsoStore, UnsealCron, VaultStack, VaultStackProps, VaultStorage } from '../../lib';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';
import { podSecurityViolations, podTemplates } from '../support/pod-security';

const KEEP_ANNOTATIONS = { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' };

function vault(props: Partial<VaultStackProps> = {}): { stack: VaultStack; manifests: Manifest[] } {
  let stack!: VaultStack;
  const manifests = synth((chart: Chart) => { stack = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...props }); });
  return { stack, manifests };
}

/**
 * What the official image does with the container's command and args (hashicorp/vault
 * .release/docker/docker-entrypoint.sh, run by the image's ENTRYPOINT): a first argument `server` becomes
 * `vault server -config=/vault/config -dev-root-token-id= -dev-listen-address=0.0.0.0:8200 <the rest>`; `vault` runs as
 * given. Returns the command Vault runs and the configuration files it loads, in order: each `-config` folder adds
 * every `.hcl` and `.json` file in it, each `-config` file itself.
 */
function vaultStartup(podSpec: any, objects: Manifest[]): { argv: string[]; files: string[] } {
  const c = podSpec.containers[0];
  if (c.command) throw new Error(`the model covers the image's own entrypoint, but the container sets command ${c.command}`);
  let argv: string[] = c.args ?? ['server', '-dev'];
  if (argv[0] === 'server') {
    argv = ['vault', 'server', '-config=/vault/config', '-dev-root-token-id=', '-dev-listen-address=0.0.0.0:8200', ...argv.slice(1)];
  }
  const files: string[] = [];
  for (const path of argv.filter((a) => a.startsWith('-config=')).map((a) => a.slice('-config='.length))) {
    const folder = mountedFiles(path, podSpec, objects);
    if (folder) files.push(...folder.filter((f) => /\.(hcl|json)$/.test(f)).map((f) => `${path}/${f}`));
    else files.push(path);
  }
  return { argv, files };
}

/** The file names of the ConfigMap mounted exactly at `path`, or undefined when `path` is not such a mount. */
function mountedFiles(path: string, podSpec: any, objects: Manifest[]): string[] | undefined {
  const mount = podSpec.containers[0].volumeMounts.find((m: any) => m.mountPath === path);
  const configMap = podSpec.volumes.find((v: any) => v.name === mount?.name)?.configMap;
  return configMap ? Object.keys(find(objects, 'ConfigMap', configMap.name).data).sort() : undefined;
}

/** The text of a configuration file inside a mounted ConfigMap. */
function configFile(file: string, podSpec: any, objects: Manifest[]): string {
  const mount = podSpec.containers[0].volumeMounts.find((m: any) => file.startsWith(`${m.mountPath}/`));
  const configMap = podSpec.volumes.find((v: any) => v.name === mount.name).configMap;
  return find(objects, 'ConfigMap', configMap.name).data[file.slice(mount.mountPath.length + 1)];
}

const { stack, manifests } = vault();
const sts = find(manifests, 'StatefulSet', 'vault');
const pod = sts.spec.template;
const container = pod.spec.containers[0];

describe('VaultStack defaults', () => {
  test('synthesizes the expected objects under stable names, in namespace security', () => {
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'Certificate/vault-ca', 'Certificate/vault-server', 'ClusterRoleBinding/vault-server-binding', 'ConfigMap/vault-cert-reloader',
      'ConfigMap/vault-config', 'Issuer/vault-ca-issuer', 'Issuer/vault-selfsigned', 'NetworkPolicy/vault', 'NetworkPolicy/vault-egress',
      'PersistentVolumeClaim/vault-data', 'Service/vault', 'Service/vault-internal', 'ServiceAccount/vault',
      'StatefulSet/vault',
    ]);
    for (const m of manifests.filter((o) => o.kind !== 'ClusterRoleBinding')) {
      expect(m.metadata.namespace).toBe('security');
    }
  });

  test('every object is valid against the Kubernetes API schemas', () => {
    expect(schemaErrors(manifests)).toEqual([]);
  });

  test('matches the snapshot (the sidecar\'s script is checked against its bundle in vault-tls)', () => {
    expect(manifests.map((m) => (m.metadata.name === 'vault-cert-reloader' ? { ...m, data: Object.keys(m.data) } : m))).toMatchSnapshot();
  });

  test('runs one replica of the pinned image, not re-pulled', () => {
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe('vault-internal');
    expect(container.image).toBe('hashicorp/vault:2.0.4');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(sts.spec.podManagementPolicy).toBeUndefined();
  });

  test('Vault reads its configuration exactly once, as the official image starts it', () => {
    const { argv, files } = vaultStartup(pod.spec, manifests);
    expect(argv.slice(0, 2)).toEqual(['vault', 'server']);
    expect(files).toEqual(['/vault/config/vault.hcl']);
    const listeners = files.flatMap((f) => configFile(f, pod.spec, manifests).match(/listener "tcp"/g) ?? []);
    expect(listeners).toHaveLength(1);
  });

  test('the start-up model catches the double load it was written for', () => {
    const broken = { ...pod.spec, containers: [{ ...container, args: ['server', '-config=/vault/config/vault.hcl'] }] };
    expect(vaultStartup(broken, manifests).files).toEqual(['/vault/config/vault.hcl', '/vault/config/vault.hcl']);
  });

  test('configures Vault with the UI, a TLS listener on [::]:8200, file storage and the public api_addr', () => {
    const hcl: string = find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
    expect(hcl).toMatch(/^ui = true$/m);
    expect(hcl).toMatch(/^disable_mlock = true$/m);
    expect(hcl).toMatch(/^api_addr = "https:\/\/vault\.example\.com"$/m);
    expect(hcl).toMatch(/listener "tcp" \{\s+address\s+= "\[::\]:8200"\s+tls_cert_file = "\/vault\/tls\/tls.crt"\s+tls_key_file\s+= "\/vault\/tls\/tls.key"\s+\}/);
    expect(hcl).not.toContain('tls_disable');
    expect(hcl).toMatch(/storage "file" \{\s+path = "\/vault\/data"\s+\}/);
    expect(container.volumeMounts).toContainEqual({ name: 'config', mountPath: '/vault/config', readOnly: true });
    expect(pod.spec.volumes).toContainEqual({ name: 'config', configMap: { name: 'vault-config' } });
  });

  test('a change of configuration changes the pod template, so the pod rolls', () => {
    const other = find(vault({ host: 'vault.example.org' }).manifests, 'StatefulSet', 'vault');
    const checksum = pod.metadata.annotations['checksum/config'];
    expect(checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(other.spec.template.metadata.annotations['checksum/config']).not.toBe(checksum);
    expect(find(vault().manifests, 'StatefulSet', 'vault').spec.template.metadata.annotations['checksum/config']).toBe(checksum);
  });

  test('keeps the claim (by default vault-data) out of reach of GitOps from pruning or deleting it', () => {
    const pvc = find(manifests, 'PersistentVolumeClaim', 'vault-data');
    expect(pvc.spec).toEqual({
      accessModes: ['ReadWriteOnce'], storageClassName: 'longhorn', resources: { requests: { storage: '10Gi' } },
    });
    expect(pvc.metadata.annotations).toEqual({
      'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false',
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
    });
    expect(KEEP_ANNOTATIONS).toEqual(pvc.metadata.annotations);
    expect(sts.spec.volumeClaimTemplates).toBeUndefined();
    expect(pod.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'vault-data' } });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/vault/data' });
  });

  test('overrides no AppArmor profile: the container runtime\'s default applies', () => {
    expect(JSON.stringify(manifests.filter((m) => m.kind !== 'ConfigMap'))).not.toMatch(/apparmor|appArmorProfile/i);
  });

  test('an AppArmor profile, when given, is the annotation Kubernetes 1.28 accepts', () => {
    const sts = find(vault({ appArmorProfile: 'unconfined' }).manifests, 'StatefulSet', 'vault');
    expect(sts.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/vault']).toBe('unconfined');
    expect(sts.spec.template.spec.containers[0].name).toBe('vault');
    expect(JSON.stringify(sts)).not.toContain('appArmorProfile');
  });

  test('readiness is an HTTPS probe of /v1/sys/health that fails while sealed; there is no liveness probe', () => {
    // The kubelet does not verify the certificate of an HTTPS probe: the probe asks whether Vault is unsealed.
    expect(container.readinessProbe.httpGet).toEqual({ path: '/v1/sys/health?standbyok=true', port: 8200, scheme: 'HTTPS' });
    expect(container.readinessProbe.exec).toBeUndefined();
    expect(container.livenessProbe).toBeUndefined();
    expect(container.startupProbe).toBeUndefined();
  });

  test('runs as uid 100 / gid 1000 with a read-only root, a writable home and small requests', () => {
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000 });
    // A large data volume is not walked on every start.
    expect(pod.spec.securityContext.fsGroupChangePolicy).toBe('OnRootMismatch');
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] },
    });
    const writable = container.volumeMounts.filter((v: any) => !v.readOnly).map((v: any) => v.mountPath).sort();
    expect(writable).toEqual(['/home/vault', '/vault/data']);
    expect(pod.spec.volumes).toContainEqual(expect.objectContaining({ name: 'home', emptyDir: expect.anything() }));
    expect(container.env).toEqual(expect.arrayContaining([
      { name: 'HOME', value: '/home/vault' }, { name: 'SKIP_SETCAP', value: 'true' }, { name: 'SKIP_CHOWN', value: 'true' },
    ]));
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' } });
    expect(pod.spec.enableServiceLinks).toBe(false);
  });

  test('both Services reach the pod on 8200 even while it is sealed and not ready', () => {
    const service = find(manifests, 'Service', 'vault');
    const headless = find(manifests, 'Service', 'vault-internal');
    for (const s of [service, headless]) {
      expect(s.spec.publishNotReadyAddresses).toBe(true);
      expect(s.spec.ports).toEqual([{ name: 'https', port: 8200, targetPort: 'https' }]);
      expect(s.spec.selector).toEqual(sts.spec.selector.matchLabels);
      expect(pod.metadata.labels).toMatchObject(s.spec.selector);
    }
    expect(headless.spec.clusterIP).toBe('None');
    expect(container.ports).toEqual([{ name: 'https', containerPort: 8200, protocol: 'TCP' }]);
    expect(stack.serviceUrl).toBe('https://vault.security.svc.cluster.local:8200');
    expect([stack.host, stack.port, stack.clientServiceName]).toEqual(['vault.example.com', 8200, 'vault']);
  });

  test('Vault\'s ServiceAccount may review tokens (system:auth-delegator)', () => {
    expect(pod.spec.serviceAccountName).toBe('vault');
    const binding = find(manifests, 'ClusterRoleBinding', 'vault-server-binding');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'vault', namespace: 'security' }]);
  });

  test('defines no Namespace unless asked', () => {
    expect(manifests.some((m) => m.kind === 'Namespace')).toBe(false);
  });
});

describe('VaultStack props', () => {
  test('claimName names the claim, the volume the pod mounts, and stays protected from pruning', () => {
    const { stack: s, manifests: m } = vault({ storage: VaultStorage.file({ claimName: 'vault-data-lh' }) });
    const claim = find(m, 'PersistentVolumeClaim', 'vault-data-lh');
    expect(claim.metadata.annotations).toEqual(KEEP_ANNOTATIONS);
    expect(find(m, 'StatefulSet', 'vault').spec.template.spec.volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: 'vault-data-lh' } });
    expect(s.claim?.name).toBe('vault-data-lh');
  });

  test('createNamespace labels the namespace with the strictest level every pod the project puts there passes', () => {
    for (const [appArmorProfile, level] of [[undefined, 'restricted'], ['runtime/default', 'restricted'], ['unconfined', 'privileged']]) {
      const manifests = synth((chart: Chart) => {
        const v = new VaultStack(chart, 'vault', { host: 'vault.example.com', createNamespace: true, appArmorProfile });
        new UnsealCron(chart, 'unseal', { vault: v });
        const store = new EsoStore(chart, 'store', { vault: v });
        new EsoRecoveryCron(chart, 'recovery', { vault: v, store });
      });
      const labels = find(manifests, 'Namespace', 'security').metadata.labels;
      expect([appArmorProfile, labels]).toEqual([appArmorProfile, { 'pod-security.kubernetes.io/enforce': level, 'pod-security.kubernetes.io/warn': level }]);
      const pods = podTemplates(manifests).filter((p) => p.namespace === 'security');
      expect(pods.map((p) => p.what)).toEqual(['StatefulSet security/vault', 'CronJob security/vault-auto-unseal', 'CronJob security/eso-recovery']);
      for (const p of pods) {
        // The certificate reloader shares Vault's profile, so that AppArmor lets it signal Vault.
        const unconfined = ['cert-reloader: AppArmor unconfined', 'vault: AppArmor unconfined'];
        expect([p.what, podSecurityViolations(p.metadata, p.spec, 'restricted')])
          .toEqual([p.what, p.what.startsWith('StatefulSet') && appArmorProfile === 'unconfined' ? unconfined : []]);
      }
      // Unconfined fails baseline as well: nothing but privileged would admit it.
      if (appArmorProfile === 'unconfined') expect(podSecurityViolations(pods[0].metadata, pods[0].spec, 'baseline')).toHaveLength(2);
    }
  });

  test('createNamespace protects the namespace from pruning', () => {
    const { manifests: withNs } = vault({ namespace: 'vault-system', createNamespace: true });
    const ns = find(withNs, 'Namespace', 'vault-system');
    expect(ns.metadata.annotations).toEqual(KEEP_ANNOTATIONS);
    expect(find(withNs, 'StatefulSet', 'vault').metadata.namespace).toBe('vault-system');
    expect(schemaErrors(withNs)).toEqual([]);
  });

  test('every prop reaches the output', () => {
    const { stack: s, manifests: m } = vault({
      image: 'hashicorp/vault:1.21.1', host: 'secrets.lan.example',
      storage: VaultStorage.file({ storageClassName: 'longhorn-ssd', storageSize: '20Gi' }), cpuRequest: '250m', memoryRequest: '512Mi', clusterDomain: 'home.arpa',
    });
    const c = find(m, 'StatefulSet', 'vault').spec.template.spec.containers[0];
    expect(c.image).toBe('hashicorp/vault:1.21.1');
    expect(c.resources.requests).toEqual({ cpu: '250m', memory: '512Mi' });
    expect(find(m, 'PersistentVolumeClaim', 'vault-data').spec).toMatchObject({
      storageClassName: 'longhorn-ssd', resources: { requests: { storage: '20Gi' } },
    });
    expect(find(m, 'ConfigMap', 'vault-config').data['vault.hcl']).toContain('api_addr = "https://secrets.lan.example"');
    expect(s.serviceUrl).toBe('https://vault.security.svc.home.arpa:8200');
  });

  // A storage's props are checked where it is made (VaultStorage.file(...)): those cases make it inside the test.
  test.each<[string, Partial<VaultStackProps> | (() => Partial<VaultStackProps>), RegExp]>([
    ['namespace', { namespace: 'Security' }, /invalid VaultStack namespace: got "Security", expected a DNS-1123 label/],
    ['image without tag', { image: 'hashicorp/vault' }, /invalid VaultStack image: got "hashicorp\/vault", expected an image pinned/],
    ['image latest', { image: 'hashicorp/vault:latest' }, /invalid VaultStack image: got "hashicorp\/vault:latest"/],
    ['host with a scheme', { host: 'https://vault.example.com' }, /invalid VaultStack host: got "https:\/\/vault.example.com", expected a lowercase fully qualified host name/],
    ['single-label host', { host: 'vault' }, /invalid VaultStack host: got "vault"/],
    ['host in capitals', { host: 'Vault.Example.com' }, /: invalid VaultStack host: got "Vault.Example.com", expected a lowercase fully qualified host name such as "vault.example.com"$/],
    ['storage class', () => ({ storage: VaultStorage.file({ storageClassName: 'Longhorn' }) }), /invalid VaultStorage.file storageClassName: got "Longhorn"/],
    ['size without unit', () => ({ storage: VaultStorage.file({ storageSize: 'ten' }) }), /invalid VaultStorage.file storageSize: got "ten", expected a positive Kubernetes quantity/],
    ['zero size', () => ({ storage: VaultStorage.file({ storageSize: '0Gi' }) }), /invalid VaultStorage.file storageSize: got "0Gi"/],
    ['size with a wrong unit', () => ({ storage: VaultStorage.file({ storageSize: '10GB' }) }), /invalid VaultStorage.file storageSize: got "10GB"/],
    ['cpu request', { cpuRequest: '-1' }, /invalid VaultStack cpuRequest: got "-1"/],
    ['memory request', { memoryRequest: '1 Gi' }, /invalid VaultStack memoryRequest: got "1 Gi"/],
    ['cluster domain', { clusterDomain: 'cluster.local.' }, /invalid VaultStack clusterDomain: got "cluster.local."/],
    ['claim name', () => ({ storage: VaultStorage.file({ claimName: 'Vault Data' }) }), /invalid VaultStorage.file claimName: got "Vault Data"/],
    ['AppArmor profile', { appArmorProfile: 'Unconfined' }, /invalid VaultStack appArmorProfile: got "Unconfined", expected "runtime\/default", "localhost\/<profile>" or "unconfined"/],
  ])('rejects a wrong %s', (_case, props, message) => {
    expect(() => vault(typeof props === 'function' ? props() : props)).toThrow(message);
  });
});
