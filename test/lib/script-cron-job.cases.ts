import { VaultStack, VaultTls } from '../../lib';
import { checkScriptOptions, checkVaultCa, ScriptCronJob, ScriptCronJobOptions, ScriptCronJobProps } from '../../lib/script-cron-job';
import { find, Manifest, schemaErrors, synth } from '../support/manifests';

type Props = ScriptCronJobOptions & Partial<Omit<ScriptCronJobProps, 'settings' | 'vault'>> & { tls?: VaultTls };

/** The job's objects, beside those of the Vault it talks to (plain HTTP unless `tls` says otherwise). */
function job(props: Props = {}): Manifest[] {
  const { name = 'test-job', script = 'console.log("hi")', env = { A: '1' }, serviceAccountName, volumes, tls = VaultTls.none(), ...options } = props;
  const settings = checkScriptOptions('TestCron', options);
  return synth((chart) => {
    const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', tls });
    checkVaultCa('TestCron', settings.namespace, vault);
    new ScriptCronJob(chart, 'job', { settings, name, script, env, serviceAccountName, volumes, vault });
  });
}

const manifests = job();
const cron = find(manifests, 'CronJob', 'test-job');
const jobSpec = cron.spec.jobTemplate.spec;
const pod = jobSpec.template.spec;
const container = pod.containers[0];

test('runs every minute, never overlapping, within a deadline under a minute, with bounded history', () => {
  expect(cron.spec).toMatchObject({
    schedule: '* * * * *', concurrencyPolicy: 'Forbid', successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 3,
  });
  expect(jobSpec.activeDeadlineSeconds).toBeLessThan(60);
  expect(jobSpec.backoffLimit).toBe(0);
  expect(pod.restartPolicy).toBe('Never');
});

test('runs the script from its ConfigMap with a pinned Node.js image that is not pulled every minute', () => {
  expect(find(manifests, 'ConfigMap', 'test-job-script').data).toEqual({ 'test-job.js': 'console.log("hi")' });
  expect(container.image).toMatch(/^node:\d+\.\d+\.\d+-alpine[\d.]+$/);
  expect(container.imagePullPolicy).toBe('IfNotPresent');
  expect(container.command).toEqual(['node', '/opt/script/test-job.js']);
  expect(container.volumeMounts).toEqual([{ name: 'script', mountPath: '/opt/script', readOnly: true }]);
  expect(pod.volumes).toEqual([{ name: 'script', configMap: { name: 'test-job-script', defaultMode: 0o444 } }]);
});

test('passes the script\'s settings as environment variables', () => {
  expect(container.env).toEqual([
    { name: 'VAULT_ADDR', value: 'http://vault.security.svc.cluster.local:8200' }, { name: 'A', value: '1' }, { name: 'VAULT_TIMEOUT_SECONDS', value: '5' },
    { name: 'RETRY_WINDOW_SECONDS', value: '40' }, { name: 'RETRY_INTERVAL_SECONDS', value: '3' },
    { name: 'RUN_DEADLINE_SECONDS', value: '50' },
  ]);
});

test('asks for tens of millicores and megabytes, not cdk8s-plus\'s defaults', () => {
  expect(container.resources).toEqual({ requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } });
});

test('is locked down: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
  expect(container.securityContext).toEqual({
    allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] },
  });
  expect(pod.securityContext).toEqual({
    runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' },
  });
});

test('without a ServiceAccount the pod gets no Kubernetes API token', () => {
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.serviceAccountName).toBeUndefined();
  const withSa = find(job({ serviceAccountName: 'reader' }), 'CronJob', 'test-job').spec.jobTemplate.spec.template.spec;
  expect(withSa).toMatchObject({ serviceAccountName: 'reader', automountServiceAccountToken: true });
});

test('every object is valid against the Kubernetes API schemas', () => {
  expect(schemaErrors(manifests)).toEqual([]);
});

test('props reach the output', () => {
  const out = job({
    namespace: 'ops', image: 'node:22.21.1-alpine3.22', schedule: '*/2 * * * *', timeoutSeconds: 3, retryWindowSeconds: 20,
    retryIntervalSeconds: 2, cpuRequest: '20m', cpuLimit: '200m', memoryRequest: '64Mi', memoryLimit: '128Mi',
  });
  const c = find(out, 'CronJob', 'test-job');
  const cc = c.spec.jobTemplate.spec.template.spec.containers[0];
  expect(c.metadata.namespace).toBe('ops');
  expect(c.spec.schedule).toBe('*/2 * * * *');
  expect(cc.image).toBe('node:22.21.1-alpine3.22');
  expect(cc.env.slice(2)).toEqual([
    { name: 'VAULT_TIMEOUT_SECONDS', value: '3' }, { name: 'RETRY_WINDOW_SECONDS', value: '20' }, { name: 'RETRY_INTERVAL_SECONDS', value: '2' },
    { name: 'RUN_DEADLINE_SECONDS', value: '50' },
  ]);
  expect(cc.resources).toEqual({ requests: { cpu: '20m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } });
});

test('a Vault that speaks plain HTTP: VAULT_ADDR is http, and there is no CA to trust', () => {
  expect(container.env.map((e: any) => e.name)).not.toContain('VAULT_CACERT');
  expect(JSON.stringify(pod.volumes)).not.toContain('vault-server-tls');
});

describe('a Vault that serves TLS', () => {
  const tlsJob = job({ tls: VaultTls.certManager() });
  const tlsPod = find(tlsJob, 'CronJob', 'test-job').spec.jobTemplate.spec.template.spec;
  const tlsContainer = tlsPod.containers[0];

  test('VAULT_ADDR is its https URL and VAULT_CACERT the mounted CA file', () => {
    expect(tlsContainer.env.slice(0, 2)).toEqual([
      { name: 'VAULT_ADDR', value: 'https://vault.security.svc.cluster.local:8200' }, { name: 'VAULT_CACERT', value: '/vault/ca/ca.crt' },
    ]);
    expect(JSON.stringify(tlsContainer.env)).not.toMatch(/NODE_TLS_REJECT_UNAUTHORIZED|NODE_EXTRA_CA_CERTS/);
  });

  test('mounts the CA certificate only (never Vault\'s key), as a folder, read-only', () => {
    const secret = find(tlsJob, 'Certificate', 'vault-server').spec.secretName;
    const volume = tlsPod.volumes.find((v: any) => v.secret?.secretName === secret);
    expect(volume.secret.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
    const mount = tlsContainer.volumeMounts.find((m: any) => m.name === volume.name);
    expect(mount).toEqual({ name: volume.name, mountPath: '/vault/ca', readOnly: true });
    expect(tlsContainer.volumeMounts.every((m: any) => m.subPath === undefined)).toBe(true);
    const cacert = tlsContainer.env.find((e: any) => e.name === 'VAULT_CACERT').value;
    expect(cacert).toBe(`${mount.mountPath}/${volume.secret.items[0].path}`);
  });

  test('is refused in another namespace than Vault\'s, whose Secret it could not mount', () => {
    expect(() => job({ tls: VaultTls.certManager(), namespace: 'ops' }))
      .toThrow(/invalid TestCron namespace: got "ops", expected Vault's namespace "security" while Vault serves TLS/);
  });

  test('every object is valid against the Kubernetes API and CRD schemas', () => {
    expect(schemaErrors(tlsJob)).toEqual([]);
  });
});

test.each<[string, ScriptCronJobOptions, RegExp]>([
  ['namespace', { namespace: 'Security' }, /invalid TestCron namespace: got "Security"/],
  ['image', { image: 'node' }, /invalid TestCron image: got "node", expected an image pinned/],
  ['schedule with four fields', { schedule: '* * * *' }, /invalid TestCron schedule: got "\* \* \* \*", expected five cron fields/],
  ['schedule with words', { schedule: '@every 1m' }, /invalid TestCron schedule: got "@every 1m"/],
  ['timeout of 0', { timeoutSeconds: 0 }, /invalid TestCron timeoutSeconds: got 0, expected a whole number from 1 to 20/],
  ['fractional interval', { retryIntervalSeconds: 1.5 }, /invalid TestCron retryIntervalSeconds: got 1.5/],
  ['window too long', { retryWindowSeconds: 45 }, /invalid TestCron retryWindowSeconds: got 45, expected at most 40 with timeoutSeconds 5/],
  ['memory limit', { memoryLimit: '96MB' }, /invalid TestCron memoryLimit: got "96MB"/],
  ['cpu limit', { cpuLimit: '0' }, /invalid TestCron cpuLimit: got "0"/],
])('rejects a wrong %s', (_case, props, message) => {
  expect(() => job(props)).toThrow(message);
});
