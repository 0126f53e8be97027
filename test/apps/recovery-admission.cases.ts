import { existsSync, readdirSync } from 'fs';
import { join } from 'path';
import { WAKE_ANNOTATION } from '../../runtime/common/eso-recovery-variables';
import { parseTree, readTree } from '../support/app-invariants';
import { admit, AdmissionRequest, mergePatch } from '../support/admission';
import { Manifest } from '../support/manifests';
import { homelabApps } from '../support/homelab-apps';

// The committed dist/ (main.ts's, then each example's), as the cluster would hold it: the recovery job's admission
// policy in dist/admission, evaluated in CEL against the job's ServiceAccount (read from its CronJob) patching each
// store of dist/eso and each ExternalSecret of dist/apps: its server or keys changed (denied), only the wake-up
// annotation (allowed), and GitOps's own changes (not matched).

const GITOPS = 'system:serviceaccount:argocd:argocd-application-controller';

describe.each(homelabApps().filter((a) => existsSync(join(a.dist, 'admission'))))('$name', ({ dist }) => {
  const manifests: Manifest[] = parseTree(readTree(dist));
  const admission = parseTree(readTree(join(dist, 'admission')));
  const policy = admission.find((m) => m.kind === 'ValidatingAdmissionPolicy')!;
  const binding = admission.find((m) => m.kind === 'ValidatingAdmissionPolicyBinding' && m.spec.policyName === policy.metadata.name)!;
  const job = manifests.find((m) => m.kind === 'CronJob' && m.metadata.name === 'eso-recovery')!;
  const serviceAccount = `system:serviceaccount:${job.metadata.namespace}:${job.spec.jobTemplate.spec.template.spec.serviceAccountName}`;
  const stores = manifests.filter((m) => m.kind === 'ClusterSecretStore');
  const externalSecrets = manifests.filter((m) => m.kind === 'ExternalSecret');

  const request = (resource: string, before: Manifest, patch: unknown, username: string): AdmissionRequest => ({
    request: {
      operation: 'UPDATE', resource: { group: 'external-secrets.io', version: 'v1', resource }, userInfo: { username },
      name: before.metadata.name, ...(before.metadata.namespace && { namespace: before.metadata.namespace }),
    },
    object: mergePatch(before, patch),
    oldObject: before,
  });
  const wake = { metadata: { annotations: { [WAKE_ANNOTATION]: '2026-11-25T18:00:00.000Z' } } };

  test('it is in a folder of its own, and the job it holds is in dist/', () => {
    expect(readdirSync(join(dist, 'admission')).length).toBeGreaterThan(0);
    expect(admission.every((m) => m.apiVersion === 'admissionregistration.k8s.io/v1')).toBe(true);
    expect([policy, binding, job].every(Boolean)).toBe(true);
    expect(stores.length).toBeGreaterThan(0);
  });

  test('each store: the job changing its server is denied, its wake-up annotation alone allowed; GitOps is not matched', () => {
    for (const store of stores) {
      const redirect = { spec: { provider: { vault: { server: 'https://vault.attacker.example' } } } };
      expect({ store: store.metadata.name, decision: admit(policy, binding, request('clustersecretstores', store, redirect, serviceAccount)) })
        .toEqual({ store: store.metadata.name, decision: { matched: true, allowed: false, message: expect.stringContaining('not the spec') } });
      expect({ store: store.metadata.name, decision: admit(policy, binding, request('clustersecretstores', store, wake, serviceAccount)) })
        .toEqual({ store: store.metadata.name, decision: { matched: true, allowed: true } });
      expect(admit(policy, binding, request('clustersecretstores', store, redirect, GITOPS))).toEqual({ matched: false });
    }
  });

  test('each ExternalSecret: the job changing what it reads is denied, its wake-up annotation alone allowed', () => {
    for (const es of externalSecrets) {
      const what = `${es.metadata.namespace}/${es.metadata.name}`;
      const elsewhere = { spec: { secretStoreRef: { name: 'elsewhere' } } };
      expect({ what, decision: admit(policy, binding, request('externalsecrets', es, elsewhere, serviceAccount)) })
        .toEqual({ what, decision: { matched: true, allowed: false, message: expect.stringContaining('not the spec') } });
      expect({ what, decision: admit(policy, binding, request('externalsecrets', es, wake, serviceAccount)) })
        .toEqual({ what, decision: { matched: true, allowed: true } });
    }
  });
});
