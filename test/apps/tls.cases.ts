import { join } from 'path';
import { root } from '../../build/bundle';
import { Manifest } from '../support/manifests';
import { parseTree, readTree } from '../support/app-invariants';

// Issue 26's acceptance, read from the committed output of the library's defaults (examples/ha-raft/dist) and of the
// gateway examples: Vault's listener serves from a cert-manager Certificate's Secret; that Certificate names every host a
// client or peer uses (derived here from the Services, the pods and every URL in the output, never listed by hand); the
// store, every CronJob that talks to Vault and every retry_join speak https and trust a CA they mount; the probe and the
// UI's backend use HTTPS and verify Vault. (Schemas and CEL rules: the examples' invariants in examples.cases.ts.)

type Doc = Manifest & Record<string, any>;

function dist(example: string): Doc[] {
  return parseTree(readTree(join(root, 'examples', example, 'dist'))) as Doc[];
}

/** Vault's StatefulSet (the one mounting /vault/data), its container, its configuration and what it mounts where. */
function vaultOf(docs: Doc[]) {
  const sts = docs.find((d) => d.kind === 'StatefulSet' && d.spec.template.spec.containers.some((c: Doc) => c.volumeMounts?.some((m: Doc) => m.mountPath === '/vault/data')))!;
  const spec = sts.spec.template.spec;
  const container = spec.containers.find((c: Doc) => c.volumeMounts.some((m: Doc) => m.mountPath === '/vault/data'));
  const configMap = spec.volumes.find((v: Doc) => v.name === container.volumeMounts.find((m: Doc) => m.mountPath === '/vault/config').name).configMap.name;
  const hcl: string = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === configMap)!.data['vault.hcl'];
  /** The Secret mounted as the folder holding `file` in `c`, and the key the file is. */
  const secretFile = (c: Doc, podSpec: Doc, file: string) => {
    const mount = c.volumeMounts.find((m: Doc) => file.startsWith(`${m.mountPath}/`));
    const volume = podSpec.volumes.find((v: Doc) => v.name === mount?.name);
    const path = file.slice(mount.mountPath.length + 1);
    const key = volume?.secret?.items ? volume.secret.items.find((i: Doc) => i.path === path)?.key : path;
    return { mount, secret: volume?.secret, key };
  };
  return { sts, spec, container, hcl, secretFile };
}

describe.each(['ha-raft', 'gateway-envoy', 'gateway-traefik'])('examples/%s', (example) => {
  const docs = dist(example);
  const { sts, spec, container, hcl, secretFile } = vaultOf(docs);
  const namespace = sts.metadata.namespace;
  const certificates = docs.filter((d) => d.kind === 'Certificate');
  const hclValue = (key: string) => [...hcl.matchAll(new RegExp(`${key}\\s*=\\s*"([^"]+)"`, 'g'))].map((m) => m[1]);

  const certFile = secretFile(container, spec, hclValue('tls_cert_file')[0]);
  const keyFile = secretFile(container, spec, hclValue('tls_key_file')[0]);
  const served = certificates.find((c) => c.spec.secretName === certFile.secret?.secretName);

  test('the listener serves the certificate and key of a cert-manager Certificate\'s Secret, mounted whole', () => {
    expect(hcl).not.toMatch(/tls_disable/);
    expect(served).toBeDefined();
    expect([certFile.key, keyFile.key, keyFile.secret.secretName]).toEqual(['tls.crt', 'tls.key', served!.spec.secretName]);
    expect(certFile.mount.subPath).toBeUndefined();
    expect(served!.metadata.namespace).toBe(namespace);
  });

  test('the certificate names every host a client or peer uses: each Service of Vault\'s pods, each pod, each URL', () => {
    const names = new Set([...served!.spec.dnsNames, ...served!.spec.ipAddresses]);
    const podLabels = sts.spec.template.metadata.labels;
    // The pods' own labels, and the one Vault's service registration sets on the active pod.
    const selects = (s: Doc) => s.spec.selector && Object.entries(s.spec.selector).every(([k, v]) => podLabels[k] === v || k === 'vault-active');
    // A ServiceMonitor's Service is no host: Prometheus scrapes its endpoints by address, checking `serverName` (below).
    const monitored = new Set(docs.filter((d) => d.kind === 'ServiceMonitor').flatMap((m) => docs
      .filter((s) => s.kind === 'Service' && Object.entries(m.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v))));
    const services = docs.filter((d) => d.kind === 'Service' && d.metadata.namespace === namespace && selects(d) && !monitored.has(d));
    const pods = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}`);
    const hosts = [...services.map((s) => s.metadata.name), ...pods].flatMap((h) => [h, `${h}.${namespace}`, `${h}.${namespace}.svc`, `${h}.${namespace}.svc.cluster.local`]);
    // Every URL to Vault anywhere in the output: the store's server, the jobs' addresses, the joins, the pods' own.
    const text = JSON.stringify(docs.filter((d) => d.kind !== 'ConfigMap' || d.metadata.name === 'vault-config'));
    const podNames = Array.from({ length: sts.spec.replicas }, (_, i) => `${sts.metadata.name}-${i}`);
    const urls = [...text.matchAll(/https?:\/\/([^/:"\\,]+):8200/g)].map((m) => m[1])
      .flatMap((h) => (h.startsWith('$(VAULT_K8S_POD_NAME)') ? podNames.map((p) => h.replace('$(VAULT_K8S_POD_NAME)', p)) : [h]));
    const proxies = [
      ...docs.filter((d) => d.kind === 'Ingress').map((d) => d.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-ssl-name']),
      ...docs.filter((d) => d.kind === 'BackendTLSPolicy').map((d) => d.spec.validation.hostname),
      ...docs.filter((d) => d.kind === 'ServiceMonitor').map((d) => d.spec.endpoints[0].tlsConfig?.serverName),
    ].filter((h) => h !== undefined);
    expect(urls.length).toBeGreaterThan(3);
    expect([...new Set([...hosts, ...urls, ...proxies])].filter((h) => !names.has(h))).toEqual([]);
  });

  test('the store speaks https and trusts only the CA of Vault\'s certificate\'s Secret', () => {
    const store = docs.find((d) => d.kind === 'ClusterSecretStore')!.spec.provider.vault;
    expect(store.server).toMatch(/^https:\/\//);
    expect(store.caProvider).toEqual({ type: 'Secret', name: served!.spec.secretName, key: 'ca.crt', namespace });
  });

  test('every CronJob Vault admits speaks https and trusts a CA it mounts: ca.crt alone, as a folder', () => {
    const policy = docs.find((d) => d.kind === 'NetworkPolicy' && d.metadata.name === sts.metadata.name)!;
    const admitted = policy.spec.ingress.flatMap((r: Doc) => r.from).filter((f: Doc) => f.podSelector);
    const jobs = docs.filter((d) => d.kind === 'CronJob' && admitted.some((f: Doc) => Object.entries(f.podSelector.matchLabels)
      .every(([k, v]) => d.spec.jobTemplate.spec.template.metadata.labels[k] === v)));
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    for (const job of jobs) {
      const podSpec = job.spec.jobTemplate.spec.template.spec;
      const c = podSpec.containers[0];
      const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value]));
      const what = `${job.metadata.name}`;
      expect({ what, addr: env.VAULT_ADDR }).toEqual({ what, addr: expect.stringMatching(/^https:\/\//) });
      for (const pod of (env.VAULT_PODS ?? '').split(',').filter(Boolean)) expect(pod).toMatch(/^https:\/\//);
      const ca = secretFile(c, podSpec, env.VAULT_CACERT);
      expect({ what, secret: ca.secret?.secretName, key: ca.key, items: ca.secret?.items })
        .toEqual({ what, secret: served!.spec.secretName, key: 'ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] });
      expect(ca.mount.subPath).toBeUndefined();
      expect(JSON.stringify(c.env)).not.toMatch(/NODE_TLS_REJECT_UNAUTHORIZED|NODE_EXTRA_CA_CERTS/);
    }
  });

  test('each retry_join speaks https and verifies the leader against the CA in the mounted Secret', () => {
    const joins = [...hcl.matchAll(/retry_join \{([^}]*)\}/g)].map((m) => m[1]);
    expect(joins.length).toBe(sts.spec.replicas > 1 ? sts.spec.replicas : 0);
    for (const join of joins) {
      expect(join).toMatch(/leader_api_addr\s*=\s*"https:\/\//);
      const ca = secretFile(container, spec, /leader_ca_cert_file\s*=\s*"([^"]+)"/.exec(join)![1]);
      expect([ca.secret.secretName, ca.key]).toEqual([served!.spec.secretName, 'ca.crt']);
    }
  });

  test('the readiness probe uses HTTPS (the kubelet does not verify it), and the UI\'s backend speaks HTTPS, verified', () => {
    expect(container.readinessProbe.httpGet.scheme).toBe('HTTPS');
    const ingress = docs.find((d) => d.kind === 'Ingress');
    if (ingress) {
      expect(ingress.metadata.annotations).toMatchObject({
        'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS', 'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
        'nginx.ingress.kubernetes.io/proxy-ssl-secret': `${namespace}/${served!.spec.secretName}`,
      });
    }
    for (const route of docs.filter((d) => d.kind === 'HTTPRoute')) {
      const backend = route.spec.rules[0].backendRefs[0].name;
      const policy = docs.find((d) => d.kind === 'BackendTLSPolicy' && d.spec.targetRefs.some((t: Doc) => t.kind === 'Service' && t.name === backend));
      expect(policy?.spec.validation.caCertificateRefs).toEqual([{ group: '', kind: 'Secret', name: served!.spec.secretName }]);
    }
    expect(ingress ?? docs.find((d) => d.kind === 'HTTPRoute')).toBeDefined();
  });

  test('the CA is long-lived and its key never rotates; a sidecar in one process namespace has Vault reload a renewal', () => {
    const issuer = docs.find((d) => d.kind === 'Issuer' && d.metadata.name === served!.spec.issuerRef.name)!;
    const ca = certificates.find((c) => c.spec.secretName === issuer.spec.ca.secretName)!;
    expect(ca.spec).toMatchObject({ isCA: true, privateKey: { rotationPolicy: 'Never' } });
    expect(spec.shareProcessNamespace).toBe(true);
    const reloader = spec.containers.find((c: Doc) => c !== container);
    expect(secretFile(reloader, spec, `${certFile.mount.mountPath}/tls.crt`).secret.secretName).toBe(served!.spec.secretName);
  });
});
