import { Chart, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { EsoStore, StoreReader } from './eso-store';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, checkVaultCa, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { validating } from '../build/prop-error';
import { IVault } from './vault';
import { EgressPolicy } from './egress-policy';
import { RECOVERY_DEFAULTS, RECOVERY_ENV, WAKE_ANNOTATION } from '../runtime/common/eso-recovery-variables';

const NAME = 'eso-recovery';

export interface EsoRecoveryCronProps extends ScriptCronJobOptions {
  /** The Vault whose readiness is watched: `VAULT_ADDR` is its Service (with TLS the job trusts its CA, `VAULT_CACERT`). */
  readonly vault: IVault;
  /**
   * The EsoStore whose ClusterSecretStores (one per app namespace) are woken, each followed by the ExternalSecrets
   * that read through it.
   */
  readonly store: EsoStore;
}

function checkProps(props: EsoRecoveryCronProps) {
  // Beside Vault, like the other jobs that talk to it: a job mounts Vault's CA from a Secret of Vault's namespace.
  const settings = checkScriptOptions('EsoRecoveryCron', props, props.vault.namespace);
  checkVaultCa('EsoRecoveryCron', settings.namespace, props.vault);
  return { settings, vault: props.vault, store: props.store };
}

/**
 * The CronJob `eso-recovery`: every minute, when Vault is ready but a ClusterSecretStore of the EsoStore is not, it
 * annotates that store so that ESO re-checks it at once instead of after its backoff, waits for ESO's verdict, then
 * annotates the store's ExternalSecrets that are not Ready (the script of `runtime/eso-recovery.ts`). Its
 * ServiceAccount may get and patch those stores and ExternalSecrets by name, list and create Events in `default`, and
 * nothing else (and EsoRecoveryAdmission lets its patches change only the wake-up annotation). The Roles for the
 * ExternalSecrets live beside them (in their chart), so a missing app namespace holds back only that folder.
 */
export class EsoRecoveryCron extends Construct {
  /** The namespace of the CronJob and its ServiceAccount. */
  public readonly namespace: string;
  /** The CronJob's name. */
  public readonly cronJobName = NAME;
  /** The ServiceAccount the job runs as, in `namespace`. */
  public readonly serviceAccountName = NAME;
  /** The annotation the job writes to wake an object: all it ever changes (EsoRecoveryAdmission holds it to that). */
  public readonly wakeAnnotation = WAKE_ANNOTATION;
  /** The labels of the job's pods. */
  public readonly podLabels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: EsoRecoveryCronProps) {
    super(scope, id);
    const { settings, vault, store } = validating(this, () => checkProps(props));
    const namespace = settings.namespace;
    this.namespace = namespace;
    const labels = { 'app.kubernetes.io/name': NAME };
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace }];
    const roleRef = (kind: 'Role' | 'ClusterRole', name: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: NAME, namespace, labels },
      automountServiceAccountToken: false,
    });
    // The stores are cluster-scoped, so waking them takes a ClusterRole, limited to the EsoStore's stores by name (made
    // as AppSecrets register, hence read when the app is synthesized). No store, no rule: a rule with no resourceNames
    // would grant every store.
    const storeNames = () => store.stores.map((s) => s.name).sort();
    const rules = (): k8s.PolicyRule[] => (storeNames().length === 0 ? [] : [{
      apiGroups: ['external-secrets.io'], resources: ['clustersecretstores'], verbs: ['get', 'patch'], resourceNames: storeNames(),
    }]);
    new k8s.KubeClusterRole(this, 'store-waker', {
      metadata: { name: NAME, labels },
      rules: Lazy.any({ produce: rules }) as unknown as k8s.PolicyRule[],
    });
    new k8s.KubeClusterRoleBinding(this, 'store-waker-binding', { metadata: { name: NAME, labels }, roleRef: roleRef('ClusterRole', NAME), subjects });

    // ESO's verdict on the store is a Warning Event about it, and the job's own Events say what it did: both live in
    // "default", the only namespace the API server accepts for an Event about a cluster-scoped object.
    const eventNamespace = RECOVERY_DEFAULTS.eventNamespace;
    new k8s.KubeRole(this, 'event-recorder', {
      metadata: { name: `${NAME}-events`, namespace: eventNamespace, labels },
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create', 'list'] }],
    });
    new k8s.KubeRoleBinding(this, 'event-recorder-binding', {
      metadata: { name: `${NAME}-events`, namespace: eventNamespace, labels }, roleRef: roleRef('Role', `${NAME}-events`), subjects,
    });

    // get and patch on each ExternalSecret by name, with one Role per namespace beside the ExternalSecrets themselves.
    const byNamespace = new Map<string, string[]>();
    store.forEachReader((reader: StoreReader) => {
      const names = byNamespace.get(reader.namespace);
      if (names) {
        names.push(reader.name);
        return;
      }
      const created = [reader.name];
      byNamespace.set(reader.namespace, created);
      const chart = Chart.of(reader);
      const metadata = { name: NAME, namespace: reader.namespace, labels };
      new k8s.KubeRole(chart, `${NAME}-${reader.namespace}`, {
        metadata,
        rules: [{
          apiGroups: ['external-secrets.io'], resources: ['externalsecrets'], verbs: ['get', 'patch'],
          resourceNames: Lazy.any({ produce: () => [...created] }),
        }],
      });
      new k8s.KubeRoleBinding(chart, `${NAME}-${reader.namespace}-binding`, { metadata, roleRef: roleRef('Role', NAME), subjects });
    });

    const job = new ScriptCronJob(this, 'job', {
      settings,
      name: NAME,
      script: bundleRuntime('eso-recovery'),
      serviceAccountName: NAME,
      vault,
      env: {
        [RECOVERY_ENV.storeNames]: Lazy.any({ produce: () => storeNames().join(',') }),
        [RECOVERY_ENV.externalSecrets]: Lazy.any({
          produce: () => store.readers.map((r) => `${store.storeFor(r.namespace).name}:${r.namespace}/${r.name}`).join(','),
        }),
      },
    });
    this.podLabels = job.podLabels;
    vault.allowClient({ description: 'EsoRecoveryCron eso-recovery', namespace, podLabels: job.podLabels });
    // The API server for the store, the ExternalSecrets and the Events; Vault for its readiness.
    if (vault.egress) {
      new EgressPolicy(this, 'egress', {
        name: `${NAME}-egress`, namespace, podLabels: job.podLabels, description: `EsoRecoveryCron ${NAME}`,
        destinations: [vault.egress.dns, vault.egress.apiServer, vault.egress.vaultApi],
      });
    }
  }
}
