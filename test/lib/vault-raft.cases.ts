import { Chart } from 'cdk8s';
import { RaftStorageProps, UnsealCron, VaultBackup, VaultHttpRoute, VaultStack, VaultStackProps, VaultStorage, VaultTraefikIngress } from '../../lib';
import { HEADLESS_SERVICE } from '../../lib/vault-raft';
import { checkRaftAddresses } from '../../lib/vault-raft-check';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

const base = { host: 'vault.example.com' };

function raft(storage: RaftStorageProps = {}, props: Partial<VaultStackProps> = {}): { manifests: Manifest[]; vault: VaultStack } {
  let vault!: VaultStack;
  const manifests = synth((chart) => { vault = new VaultStack(chart, 'vault', { ...base, storage: VaultStorage.raft(storage), ...props }); });
  return { manifests, vault };
}

const { manifests, vault } = raft();
const sts = find(manifests, 'StatefulSet', 'vault');
const pod = sts.spec.template.spec;
const container = pod.containers[0];
const config: string = find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
const urls = [0, 1, 2].map((i) => `https://vault-${i}.vault-internal.security.svc.cluster.local:8200`);

test('storage "raft": one retry_join per pod through the headless Service, the cluster port, mlock off, service registration', () => {
  expect(config).toMatch(/^storage "raft" \{\n {2}path = "\/vault\/data"\n/m);
  expect([...config.matchAll(/leader_api_addr\s+= "([^"]+)"/g)].map((m) => m[1])).toEqual(urls);
  // Each join verifies the leader against the CA in Vault's own mounted Secret, before the keyring comes back.
  const joins = [...config.matchAll(/retry_join \{([^}]*)\}/g)].map((m) => m[1]);
  expect(joins.map((j) => /leader_ca_cert_file = "\/vault\/tls\/ca.crt"/.test(j))).toEqual([true, true, true]);
  expect(config).toContain('disable_mlock = true');
  expect(config).toMatch(/cluster_address = "\[::\]:8201"/);
  expect(config).toContain('service_registration "kubernetes" {}');
  expect(config).not.toContain('storage "file"');
});

test('node_id is the pod name and cluster_addr the pod\'s DNS name on 8201, from the pod\'s own environment', () => {
  const env: any[] = container.env;
  const index = (name: string) => env.findIndex((e) => e.name === name);
  expect(env[index('VAULT_K8S_POD_NAME')]).toEqual({ name: 'VAULT_K8S_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  expect(env[index('VAULT_K8S_NAMESPACE')].valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
  expect(env[index('VAULT_RAFT_NODE_ID')].value).toBe('$(VAULT_K8S_POD_NAME)');
  expect(env[index('VAULT_CLUSTER_ADDR')].value).toBe('https://$(VAULT_K8S_POD_NAME).vault-internal.security.svc.cluster.local:8201');
  // Kubernetes expands $(VAR) only from variables defined earlier in the list.
  expect(index('VAULT_K8S_POD_NAME')).toBeLessThan(index('VAULT_RAFT_NODE_ID'));
  expect(container.ports).toContainEqual({ name: 'https-internal', containerPort: 8201, protocol: 'TCP' });
});

test('the StatefulSet: three pods started in parallel, rolled one at a time, a claim per pod from the template with one fixed backup group', () => {
  expect(sts.spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel', serviceName: 'vault-internal', updateStrategy: { type: 'OnDelete' } });
  expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
  const template = sts.spec.volumeClaimTemplates[0];
  expect(template.metadata).toEqual({
    name: 'data', labels: { 'recurring-job.longhorn.io/source': 'enabled', 'recurring-job-group.longhorn.io/vault-raft-data': 'enabled' },
  });
  expect(template.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], storageClassName: 'longhorn', resources: { requests: { storage: '10Gi' } } });
  expect(pod.volumes.map((v: any) => v.name)).not.toContain('data');
  expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/vault/data' });
  expect(manifests.filter((m) => m.kind === 'PersistentVolumeClaim')).toEqual([]);
  expect(sts.spec.minReadySeconds).toBe(30);
});

test('rollouts keep quorum: OnDelete, so the controller never deletes a pod on its own (RaftStorageProps offers no other)', () => {
  expect(sts.spec.updateStrategy).toEqual({ type: 'OnDelete' });
});

test('each pod is itself: its api_addr is its own address through the headless Service, not the public host', () => {
  const env = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  expect(env.VAULT_API_ADDR).toBe('https://$(VAULT_K8S_POD_NAME).vault-internal.security.svc.cluster.local:8200');
  // Defined after the pod's name, which it refers to (Kubernetes expands only variables defined earlier).
  const names = container.env.map((e: any) => e.name);
  expect(names.indexOf('VAULT_API_ADDR')).toBeGreaterThan(names.indexOf('VAULT_K8S_POD_NAME'));
  expect(names.filter((n: string) => n === 'VAULT_API_ADDR')).toHaveLength(1);
  expect(config).not.toMatch(/^api_addr/m);
  // The retry_join address of pod 0, with the pod's name put in: the same the peers use.
  expect(env.VAULT_API_ADDR.replace('$(VAULT_K8S_POD_NAME)', 'vault-0')).toBe(urls[0]);
});

test('a restore can stage its upload: /tmp is a writable volume as large as the pod\'s claim; the root stays read-only', () => {
  expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  expect(container.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: { sizeLimit: sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage } });
});

test('a preStop pause shorter than the grace period, and a memory request and limit', () => {
  const pause = Number(/sleep (\d+)/.exec(container.lifecycle.preStop.exec.command.join(' '))![1]);
  expect(pause).toBeGreaterThan(0);
  expect(pause).toBeLessThan(pod.terminationGracePeriodSeconds);
  expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
  expect(find(raft({}, { memoryLimit: '2Gi' }).manifests, 'StatefulSet', 'vault').spec.template.spec.containers[0].resources.limits).toEqual({ memory: '2Gi' });
});

test('pods on different nodes, required by default, preferred by prop', () => {
  const term = { labelSelector: { matchLabels: sts.spec.selector.matchLabels }, topologyKey: 'kubernetes.io/hostname' };
  expect(pod.affinity).toEqual({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term] } });
  const preferred = find(raft({ podAntiAffinity: 'preferred' }).manifests, 'StatefulSet', 'vault').spec.template.spec.affinity;
  expect(preferred).toEqual({ podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] } });
});

test('Services: the headless one publishes sealed pods with both ports; the active one selects vault-active "true" and is the clients\'', () => {
  const headless = find(manifests, 'Service', 'vault-internal');
  expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  expect(headless.spec.ports.map((p: any) => p.port)).toEqual([8200, 8201]);
  const active = find(manifests, 'Service', 'vault-active');
  expect(active.spec.selector).toEqual({ ...sts.spec.selector.matchLabels, 'vault-active': 'true' });
  expect(active.spec.ports.map((p: any) => p.port)).toEqual([8200]);
  expect(vault.clientServiceName).toBe('vault-active');
});

test('readiness: a healthy standby is ready (standbyok), a sealed pod is not', () => {
  expect(container.readinessProbe.httpGet.path).toBe('/v1/sys/health?standbyok=true');
  expect(container.livenessProbe).toBeUndefined();
});

test('service registration\'s RBAC: get and patch of Vault\'s own pods, by name, nothing else', () => {
  const role = find(manifests, 'Role', 'vault-service-registration');
  expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], resourceNames: ['vault-0', 'vault-1', 'vault-2'], verbs: ['get', 'patch'] }]);
  const binding = find(manifests, 'RoleBinding', 'vault-service-registration');
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'vault', namespace: 'security' }]);
  // The account the pods run as, whatever the StatefulSet is called.
  expect(binding.subjects[0].name).toBe(pod.serviceAccountName);
  expect(binding.roleRef.name).toBe('vault-service-registration');
});

test('a PodDisruptionBudget that keeps a majority: 1 of 3, 2 of 5, none for a single node', () => {
  expect(find(manifests, 'PodDisruptionBudget', 'vault').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: sts.spec.selector.matchLabels } });
  expect(find(raft({ replicas: 5 }).manifests, 'PodDisruptionBudget', 'vault').spec.maxUnavailable).toBe(2);
  expect(raft({ replicas: 1, allowSingleRaftNode: true }).manifests.some((m) => m.kind === 'PodDisruptionBudget')).toBe(false);
});

test('the pods reach each other on 8200 (retry_join) and 8201 (Raft, forwarding), both ways: a NetworkPolicy of their own', () => {
  const peers = find(manifests, 'NetworkPolicy', 'vault-raft-peers');
  const ports = [{ protocol: 'TCP', port: 8200 }, { protocol: 'TCP', port: 8201 }];
  const pods = [{ podSelector: { matchLabels: sts.spec.selector.matchLabels } }];
  expect(peers.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  expect(peers.spec.ingress).toEqual([{ ports, from: pods }]);
  // Vault's egress is restricted (vault-egress: DNS and the API server), so a peer's connections need this rule.
  expect(peers.spec.egress).toEqual([{ ports, to: pods }]);
  expect(raft({}, { networkPolicy: false }).manifests.some((m) => m.kind === 'NetworkPolicy')).toBe(false);
});

test('exposes what dependants need: storage, pod names and URLs, the active Service\'s URL, pod 0\'s claim', () => {
  expect(vault.storage).toBe('raft');
  expect(vault.podNames).toEqual(['vault-0', 'vault-1', 'vault-2']);
  expect(vault.podUrls).toEqual(urls);
  expect(vault.serviceUrl).toBe('https://vault-active.security.svc.cluster.local:8200');
  expect(vault.clientServiceName).toBe('vault-active');
  expect(vault.raftClaim?.name).toBe('data-vault-0');
  expect(vault.claim).toBeUndefined();
});

test('file storage stays one pod on one claim, with the same attributes', () => {
  let file!: VaultStack;
  const out = synth((chart) => { file = new VaultStack(chart, 'vault', base); });
  expect([file.storage, file.podNames, file.serviceUrl, file.raftClaim]).toEqual(['file', ['vault-0'], 'https://vault.security.svc.cluster.local:8200', undefined]);
  expect(out.some((m) => m.kind === 'Role' || m.kind === 'PodDisruptionBudget')).toBe(false);
  expect(find(out, 'StatefulSet', 'vault').spec.volumeClaimTemplates).toBeUndefined();
});

test('the unseal job gets every pod; the backup jobs join the claims\' group and label no claim', () => {
  const out = synth((chart) => {
    const v = new VaultStack(chart, 'vault', { ...base, storage: VaultStorage.raft() });
    new UnsealCron(chart, 'unseal', { vault: v });
    new VaultBackup(chart, 'backup', { vault: v });
  });
  const env = find(out, 'CronJob', 'vault-auto-unseal').spec.jobTemplate.spec.template.spec.containers[0].env;
  expect(env).toContainEqual({ name: 'VAULT_PODS', value: urls.join(',') });
  for (const job of out.filter((m) => m.kind === 'RecurringJob')) expect(job.spec.groups).toEqual(['vault-raft-data']);
});

test('every object is valid against the Kubernetes 1.28 schemas', () => {
  expect(schemaErrors(manifests)).toEqual([]);
});

test('a retry_join, serviceName or headless Service that do not match each other as rendered are refused', () => {
  const service = find(manifests, 'Service', 'vault-internal');
  const statefulSet = find(manifests, 'StatefulSet', 'vault');
  const config: string = find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
  const rendered = { headlessService: service, statefulSet };
  expect(() => checkRaftAddresses(config, rendered, 'cluster.local')).not.toThrow();
  const check = (c: string, r: typeof rendered) => () => checkRaftAddresses(c, r, 'cluster.local');
  // Each object alone differing from the others: the Service renamed, the StatefulSet pointing elsewhere, a retry_join
  // to a host no Service publishes, one pod more than the joins name.
  const renamed = { ...service, metadata: { ...service.metadata, name: 'vault-headless' } };
  expect(check(config, { headlessService: renamed, statefulSet: { ...statefulSet, spec: { ...statefulSet.spec, serviceName: 'vault-headless' } } }))
    .toThrow(/invalid VaultStack raft retry_join: .*expected one leader_api_addr per pod through the headless Service vault-headless/);
  expect(check(config, { headlessService: service, statefulSet: { ...statefulSet, spec: { ...statefulSet.spec, serviceName: 'vault' } } }))
    .toThrow(/invalid VaultStack StatefulSet serviceName: got "vault", expected the headless Service's name "vault-internal"/);
  expect(check(config.replace('vault-2.vault-internal', 'vault-2.vault-headless'), rendered))
    .toThrow(/invalid VaultStack raft retry_join: .*expected one leader_api_addr per pod through the headless Service vault-internal/);
  expect(check(config, { headlessService: service, statefulSet: { ...statefulSet, spec: { ...statefulSet.spec, replicas: 5 } } }))
    .toThrow(/invalid VaultStack raft retry_join/);
  expect(check(config, { headlessService: { ...service, spec: { ...service.spec, clusterIP: undefined } }, statefulSet }))
    .toThrow(/invalid VaultStack Service vault-internal: .*expected a headless Service/);
});

test('the headless Service, the StatefulSet\'s serviceName and every retry_join use one name', () => {
  const statefulSet = find(manifests, 'StatefulSet', 'vault');
  expect(statefulSet.spec.serviceName).toBe(HEADLESS_SERVICE);
  expect(find(manifests, 'Service', HEADLESS_SERVICE).spec.clusterIP).toBe('None');
  const config: string = find(manifests, 'ConfigMap', 'vault-config').data['vault.hcl'];
  const hosts = [...config.matchAll(/leader_api_addr\s+= "https:\/\/([^/:]+)/g)].map((m) => m[1].split('.')[1]);
  expect(hosts).toEqual([HEADLESS_SERVICE, HEADLESS_SERVICE, HEADLESS_SERVICE]);
});

test('the active Service drops a pod that is not ready: a dead leader keeps its vault-active label, never its endpoint', () => {
  const active = find(manifests, 'Service', 'vault-active');
  expect(active.spec.selector['vault-active']).toBe('true');
  expect(active.spec.publishNotReadyAddresses).toBe(false);
  // The headless Service still publishes sealed (not ready) pods, for the unseal job and retry_join.
  expect(find(manifests, 'Service', 'vault-internal').spec.publishNotReadyAddresses).toBe(true);
});

// Each storage's props are checked where it is made, VaultStorage.raft(...), with one line naming the prop.
test.each<[string, RaftStorageProps, RegExp]>([
  ['an even replica count', { replicas: 4 }, /invalid VaultStorage.raft replicas: got 4, expected an odd number/],
  ['one Raft node without saying so', { replicas: 1 }, /invalid VaultStorage.raft replicas: got 1, expected at least 3 .* or allowSingleRaftNode: true/],
  ['more than 7', { replicas: 9 }, /invalid VaultStorage.raft replicas: got 9/],
  ['an unknown anti-affinity', { podAntiAffinity: 'soft' as any }, /invalid VaultStorage.raft podAntiAffinity: got "soft"/],
  ['a storage class', { storageClassName: 'Longhorn' }, /invalid VaultStorage.raft storageClassName: got "Longhorn"/],
])('refuses %s', (_name, props, message) => {
  expect(() => raft(props)).toThrow(message);
});

test('the UI through Traefik or an HTTPRoute also goes to the active node with Raft', () => {
  const expose = (ui: (chart: Chart, vault: VaultStack) => void) => synth((chart) => ui(chart, new VaultStack(chart, 'vault', { host: 'vault.example.com', storage: VaultStorage.raft() })));
  const traefik = expose((chart, vault) => new VaultTraefikIngress(chart, 'traefik', { vault }));
  const route = expose((chart, vault) => new VaultHttpRoute(chart, 'route', { vault, gatewayName: 'homelab', gatewayNamespace: 'gateway', listenerName: 'https', implementation: 'traefik' }));
  expect(find(traefik, 'Ingress', 'vault').spec.rules[0].http.paths[0].backend.service.name).toBe('vault-active');
  expect(route.find((m) => m.kind === 'HTTPRoute')!.spec.rules[0].backendRefs[0].name).toBe('vault-active');
});
