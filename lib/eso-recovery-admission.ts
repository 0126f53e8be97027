import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { EsoRecoveryCron } from './eso-recovery-cron';

// The fence around the recovery job's patch right: its token may wake a store or an ExternalSecret, never redirect one
// (a store's `spec.provider.vault.server` set elsewhere would receive ESO's Vault login, which ESO sends on every
// re-validation). RBAC names the objects; this ValidatingAdmissionPolicy names what may change in them.

/** The API of ValidatingAdmissionPolicy, GA and on by default from Kubernetes 1.30 (beta and off in 1.28–1.29). */
const API_VERSION = 'admissionregistration.k8s.io/v1';
const NAME = 'eso-recovery-wake-only';

/** The fields of admissionregistration.k8s.io/v1 this construct writes (Kubernetes 1.30's types). */
interface NamedRuleWithOperations {
  readonly apiGroups: string[];
  readonly apiVersions: string[];
  readonly operations: Array<'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT' | '*'>;
  readonly resources: string[];
}
interface ValidatingAdmissionPolicySpec {
  readonly failurePolicy: 'Fail' | 'Ignore';
  readonly matchConstraints: { readonly resourceRules: NamedRuleWithOperations[] };
  readonly matchConditions: Array<{ readonly name: string; readonly expression: string }>;
  readonly validations: Array<{ readonly expression: string; readonly message: string; readonly reason: 'Forbidden' | 'Invalid' }>;
}
interface ValidatingAdmissionPolicyBindingSpec {
  readonly policyName: string;
  readonly validationActions: Array<'Deny' | 'Warn' | 'Audit'>;
}

/**
 * CEL: the field at `path` of the object is what it was, present or absent alike. The expressions keep to CEL's
 * common core (`has`, `all`, `in`, `==`, the logical operators), which Kubernetes' CEL environment and any conformant
 * evaluator read alike: no Kubernetes library function, no optional types.
 */
const unchanged = (path: string) => `has(object.${path}) == has(oldObject.${path}) && (!has(object.${path}) || object.${path} == oldObject.${path})`;

/** CEL: every annotation but `key` is what it was (none added, changed or removed); `key` may be set, changed or removed. */
function othersUnchanged(key: string): string {
  const [now, before] = ['object.metadata.annotations', 'oldObject.metadata.annotations'];
  return `(!has(${now}) || ${now}.all(k, k == '${key}' || (has(${before}) && k in ${before} && ${before}[k] == ${now}[k])))`
    + ` && (!has(${before}) || ${before}.all(k, k == '${key}' || (has(${now}) && k in ${now})))`;
}

export interface EsoRecoveryAdmissionProps {
  /** The recovery job whose ServiceAccount may change nothing but its wake-up annotation. */
  readonly recovery: EsoRecoveryCron;
}

/**
 * The ValidatingAdmissionPolicy `eso-recovery-wake-only` and its Binding: an update of a store (ClusterSecretStore or
 * SecretStore) or an ExternalSecret by the recovery job's ServiceAccount (a merge patch is an update at admission) is
 * denied unless all it changes is the job's wake-up annotation. Matched by the ServiceAccount, whatever the objects'
 * names; every other user is not matched. Kubernetes 1.30 or later: put it in a folder of its own, which a 1.28–1.29
 * cluster (where only the beta API exists, off by default) fails alone.
 */
export class EsoRecoveryAdmission extends Construct {
  /** The policy's name, and its Binding's. */
  public readonly policyName = NAME;
  /** The user the policy holds: the job's ServiceAccount, as the API server names it. */
  public readonly username: string;

  constructor(scope: Construct, id: string, props: EsoRecoveryAdmissionProps) {
    super(scope, id);
    const { recovery } = props;
    this.username = `system:serviceaccount:${recovery.namespace}:${recovery.serviceAccountName}`;
    const key = recovery.wakeAnnotation;
    const metadata = { name: NAME, labels: { 'app.kubernetes.io/name': recovery.cronJobName } };
    const only = `${recovery.serviceAccountName} may change only the annotation ${key}`;
    const spec: ValidatingAdmissionPolicySpec = {
      failurePolicy: 'Fail',
      matchConstraints: {
        // Every kind of store the job could ever be let to wake, and the ExternalSecrets.
        resourceRules: [{ apiGroups: ['external-secrets.io'], apiVersions: ['*'], operations: ['UPDATE'], resources: ['clustersecretstores', 'secretstores', 'externalsecrets'] }],
      },
      matchConditions: [{ name: 'eso-recovery-service-account', expression: `request.userInfo.username == '${this.username}'` }],
      validations: [
        { expression: unchanged('spec'), message: `${only}: not the spec (such as a store's server)`, reason: 'Forbidden' },
        {
          expression: ['metadata.labels', 'metadata.finalizers', 'metadata.ownerReferences'].map(unchanged).join(' && '),
          message: `${only}: not labels, finalizers or owner references`,
          reason: 'Forbidden',
        },
        { expression: othersUnchanged(key), message: `${only}: not another annotation`, reason: 'Forbidden' },
      ],
    };
    new ApiObject(this, 'policy', { apiVersion: API_VERSION, kind: 'ValidatingAdmissionPolicy', metadata, spec });
    const binding: ValidatingAdmissionPolicyBindingSpec = { policyName: NAME, validationActions: ['Deny'] };
    new ApiObject(this, 'binding', { apiVersion: API_VERSION, kind: 'ValidatingAdmissionPolicyBinding', metadata, spec: binding });
  }
}
