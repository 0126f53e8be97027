import { Chart, Testing } from 'cdk8s';
import { AppSecret, EsoRecoveryAdmission, EsoRecoveryCron, EsoStore, VaultStack, VaultTls } from '../../lib';
import { WAKE_ANNOTATION } from '../../runtime/common/eso-recovery-variables';
import { find, Manifest, schemaErrors } from '../support/manifests';
import { admit, AdmissionRequest, mergePatch, unknownFields } from '../support/admission';

// The recovery job's admission policy, evaluated in CEL against the requests the API server would build: the job's
// merge patch (the body test/runtime/eso-recovery.cases.ts pins) applied to the stored object, as its ServiceAccount.

function build(jobNamespace?: string) {
  const app = Testing.app();
  const chart = new Chart(app, 'test');
  // A job outside Vault's namespace cannot mount Vault's CA: plain HTTP there.
  const vault = new VaultStack(chart, 'vault', { host: 'vault.example.com', ...(jobNamespace && { tls: VaultTls.none() }) });
  const store = new EsoStore(chart, 'store', { vault, namespace: 'eso-system' });
  new AppSecret(chart, 'postgres', { namespace: 'db', store, data: [{ secretKey: 'PASSWORD', path: 'postgres' }] });
  const recovery = new EsoRecoveryCron(chart, 'recovery', { vault, store, namespace: jobNamespace });
  const admission = new EsoRecoveryAdmission(chart, 'admission', { recovery });
  return { recovery, admission, manifests: Testing.synth(chart) as Manifest[] };
}

const { recovery, admission, manifests } = build();
const policy = find(manifests, 'ValidatingAdmissionPolicy', 'eso-recovery-wake-only');
const binding = find(manifests, 'ValidatingAdmissionPolicyBinding', 'eso-recovery-wake-only');
const JOB = `system:serviceaccount:${recovery.namespace}:${recovery.serviceAccountName}`;
const GITOPS = 'system:serviceaccount:argocd:argocd-application-controller';

/** The object as the API server stores it: what GitOps applied, with the server's fields and ESO's status. */
function stored(m: Manifest, annotations: Record<string, string> = {}): Manifest {
  return {
    ...m,
    metadata: {
      ...m.metadata, uid: '0b6d5d43-8f0e-4d8e-9a53-1f1c1f7a2b10', resourceVersion: '48213', generation: 3, creationTimestamp: '2026-11-01T10:00:00Z',
      annotations: { ...m.metadata.annotations, ...annotations },
      managedFields: [{ manager: 'argocd-controller', operation: 'Apply', apiVersion: m.apiVersion, time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
    },
    status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ValidationFailed', message: 'unable to validate store' }] },
  };
}

/** The request of `username` merge-patching `before` with `patch`; the server records the update in managedFields. */
function update(resource: string, before: Manifest, patch: unknown, username = JOB, operation: AdmissionRequest['request']['operation'] = 'UPDATE'): AdmissionRequest {
  const after = mergePatch(before, patch);
  after.metadata.managedFields = [...before.metadata.managedFields, { manager: 'node', operation: 'Update', apiVersion: before.apiVersion, time: '2026-11-25T18:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': {} } }];
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${username.split(':')[2]}`, 'system:authenticated'];
  return {
    request: {
      operation, resource: { group: 'external-secrets.io', version: 'v1', resource }, userInfo: { username, groups },
      name: before.metadata.name, ...(before.metadata.namespace && { namespace: before.metadata.namespace }),
    },
    object: after,
    oldObject: before,
  };
}

const wake = (at = '2026-11-25T18:00:00.000Z') => ({ metadata: { annotations: { [WAKE_ANNOTATION]: at } } });
const store = stored(find(manifests, 'ClusterSecretStore', 'k8s-secrets-db'));
const externalSecret = stored(find(manifests, 'ExternalSecret', 'postgres'));
const ALLOWED = { matched: true, allowed: true };
const denied = (what: string) => ({ matched: true, allowed: false, message: `eso-recovery may change only the annotation ${WAKE_ANNOTATION}: not ${what}` });

describe('a store (ClusterSecretStore), patched by the recovery job\'s ServiceAccount', () => {
  test.each<[string, Manifest, unknown, object]>([
    ['only the wake-up annotation: allowed', store, wake(), ALLOWED],
    ['the wake-up annotation again, a new time: allowed', stored(store, { [WAKE_ANNOTATION]: '2026-11-25T17:58:00Z' }), wake(), ALLOWED],
    ['the wake-up annotation removed: allowed', stored(store, { [WAKE_ANNOTATION]: '2026-11-25T17:58:00Z' }), { metadata: { annotations: { [WAKE_ANNOTATION]: null } } }, ALLOWED],
    ['its server: denied', store, { spec: { provider: { vault: { server: 'https://vault.attacker.example' } } } }, denied('the spec (such as a store\'s server)')],
    ['its server, with the wake-up annotation: denied', store, mergePatch(wake(), { spec: { provider: { vault: { server: 'https://vault.attacker.example' } } } }), denied('the spec (such as a store\'s server)')],
    ['the ServiceAccount ESO logs in with: denied', store, { spec: { provider: { vault: { auth: { kubernetes: { serviceAccountRef: { name: 'default' } } } } } } }, denied('the spec (such as a store\'s server)')],
    ['another annotation added: denied', store, { metadata: { annotations: { 'force-sync': '1' } } }, denied('another annotation')],
    ['an annotation GitOps set, changed: denied', stored(store, { note: 'from git' }), { metadata: { annotations: { note: 'mine' } } }, denied('another annotation')],
    ['an annotation GitOps set, removed: denied', stored(store, { note: 'from git' }), { metadata: { annotations: { note: null } } }, denied('another annotation')],
    ['a label added: denied', store, { metadata: { labels: { team: 'x' } } }, denied('labels, finalizers or owner references')],
    ['a finalizer added: denied', store, { metadata: { finalizers: ['example.com/hold'] } }, denied('labels, finalizers or owner references')],
  ])('%s', (_case, before, patch, decision) => {
    expect(admit(policy, binding, update('clustersecretstores', before, patch))).toEqual(decision);
  });

  test('a store without any annotation yet: the first wake-up is allowed', () => {
    const bare = { ...store, metadata: { ...store.metadata } };
    delete bare.metadata.annotations;
    expect(admit(policy, binding, update('clustersecretstores', bare, wake()))).toEqual(ALLOWED);
    expect(admit(policy, binding, update('clustersecretstores', bare, { metadata: { annotations: { other: 'x' } } }))).toEqual(denied('another annotation'));
  });

  test('any other user is not matched: GitOps may change the server, and so may an operator', () => {
    const redirect = { spec: { provider: { vault: { server: 'https://vault.new.example' } } } };
    expect(admit(policy, binding, update('clustersecretstores', store, redirect, GITOPS))).toEqual({ matched: false });
    expect(admit(policy, binding, update('clustersecretstores', store, redirect, 'kubernetes-admin'))).toEqual({ matched: false });
    // The same name in another namespace is another ServiceAccount.
    expect(admit(policy, binding, update('clustersecretstores', store, redirect, `system:serviceaccount:default:${recovery.serviceAccountName}`))).toEqual({ matched: false });
  });

  test('only updates are matched (a patch is an update at admission); RBAC gives the job no other verb', () => {
    for (const operation of ['CREATE', 'DELETE'] as const) {
      expect(admit(policy, binding, update('clustersecretstores', store, {}, JOB, operation))).toEqual({ matched: false });
    }
  });
});

describe('an ExternalSecret, and a namespaced SecretStore, patched by the job', () => {
  test.each<[string, unknown, object]>([
    ['only the wake-up annotation: allowed', wake(), ALLOWED],
    ['another Vault path: denied', { spec: { data: [{ secretKey: 'PASSWORD', remoteRef: { key: 'another-app' } }] } }, denied('the spec (such as a store\'s server)')],
    ['another store: denied', { spec: { secretStoreRef: { name: 'elsewhere' } } }, denied('the spec (such as a store\'s server)')],
    ['its refresh: denied', { spec: { refreshInterval: '1s' } }, denied('the spec (such as a store\'s server)')],
    ['an owner reference: denied', { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'u' }] } }, denied('labels, finalizers or owner references')],
  ])('%s', (_case, patch, decision) => {
    expect(admit(policy, binding, update('externalsecrets', externalSecret, patch))).toEqual(decision);
  });

  test('a SecretStore the job might be given later is held the same', () => {
    const secretStore = { ...store, kind: 'SecretStore', metadata: { ...store.metadata, namespace: 'db' } };
    expect(admit(policy, binding, update('secretstores', secretStore, wake()))).toEqual(ALLOWED);
    expect(admit(policy, binding, update('secretstores', secretStore, { spec: { provider: { vault: { server: 'https://x.example' } } } }))).toMatchObject({ matched: true, allowed: false });
  });
});

describe('the objects', () => {
  test('matched by the job\'s ServiceAccount, derived from the EsoRecoveryCron: its namespace and name', () => {
    expect(admission.username).toBe(JOB);
    expect(policy.spec.matchConditions).toEqual([{ name: 'eso-recovery-service-account', expression: `request.userInfo.username == '${JOB}'` }]);
    const elsewhere = build('ops');
    expect(elsewhere.admission.username).toBe(`system:serviceaccount:ops:${recovery.serviceAccountName}`);
    const moved = find(elsewhere.manifests, 'ValidatingAdmissionPolicy', 'eso-recovery-wake-only');
    expect(admit(moved, binding, update('clustersecretstores', store, { spec: { provider: { vault: { server: 'https://x.example' } } } }))).toEqual({ matched: false });
    expect(admit(moved, binding, update('clustersecretstores', store, { spec: { provider: { vault: { server: 'https://x.example' } } } }, elsewhere.admission.username))).toMatchObject({ matched: true, allowed: false });
  });

  test('admissionregistration.k8s.io/v1, fail closed, deny: the Binding names the policy and narrows nothing', () => {
    expect([policy.apiVersion, binding.apiVersion]).toEqual(['admissionregistration.k8s.io/v1', 'admissionregistration.k8s.io/v1']);
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints).toEqual({
      resourceRules: [{ apiGroups: ['external-secrets.io'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['clustersecretstores', 'secretstores', 'externalsecrets'] }],
    });
    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    expect(policy.metadata.namespace).toBeUndefined();
  });

  test('only fields Kubernetes 1.30 declares, and valid against its schema', () => {
    expect(unknownFields(policy)).toEqual([]);
    expect(unknownFields(binding)).toEqual([]);
    expect(schemaErrors([policy, binding])).toEqual([]);
    // The check finds a field of the wrong type: matchResources is the Binding's.
    expect(unknownFields({ ...policy, spec: { ...policy.spec, matchResources: {} } })).toEqual(['.spec.matchResources']);
  });

  test('CEL\'s common core only: has, all, in and the operators on object, oldObject and request', () => {
    const expressions = [...policy.spec.matchConditions, ...policy.spec.validations].map((e: any) => e.expression as string);
    const unquoted = expressions.map((e) => e.replace(/'[^']*'/g, "''"));
    expect([...new Set(unquoted.flatMap((e) => [...e.matchAll(/([A-Za-z_]\w*)\s*\(/g)].map((m) => m[1])))].sort()).toEqual(['all', 'has']);
    expect([...new Set(unquoted.flatMap((e) => [...e.matchAll(/(?<![.\w])([A-Za-z_]\w*)\b(?!\s*\()/g)].map((m) => m[1])))].sort())
      .toEqual(['in', 'k', 'object', 'oldObject', 'request']);
    for (const e of unquoted) expect(e).not.toMatch(/\.\?|\?\./);
  });
});
