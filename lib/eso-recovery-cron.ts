import { Construct } from 'constructs';
import { DEFAULTS, ENV } from '../runtime/common/env';
import { k8s } from 'cdk8s-plus-28';
import { EsoStore } from './eso-store';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, SCRIPT_OPTIONS, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import {
  checkArray, checkDnsLabel, checkDnsSubdomain, checkInteger, checkKnownProps, invalid, KnownProps, resolveVaultUrl, validating,
} from './validate';
import { VaultStack } from './vault-stack';

const NAME = 'eso-recovery';

export interface EsoRecoveryCronProps extends ScriptCronJobOptions {
  /**
   * The VaultStack whose readiness is watched: `VAULT_ADDR` is its Service.
   * @default - none; `vaultAddr` is used
   */
  readonly vault?: VaultStack;
  /**
   * Vault's URL (`VAULT_ADDR`). Give either this or `vault`.
   * @default - `vault.serviceUrl` when `vault` is given, else 'http://vault.security.svc.cluster.local:8200'
   */
  readonly vaultAddr?: string;
  /**
   * The EsoStore whose ClusterSecretStore is watched; its name and ESO's namespace come from it.
   * @default - none; `storeName` and `esoNamespace` are used
   */
  readonly store?: EsoStore;
  /**
   * The ClusterSecretStore whose `Ready` condition is watched (`ESO_STORE_NAME`).
   * @default - `store.storeName` when `store` is given, else 'k8s-secrets'
   */
  readonly storeName?: string;
  /**
   * The namespace of ESO's Deployments (`ESO_NAMESPACE`).
   * @default - `store.namespace` when `store` is given, else 'security'
   */
  readonly esoNamespace?: string;
  /**
   * ESO's Deployments, restarted together (`ESO_DEPLOYMENTS`); the job may get and patch these and no others.
   * @default ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook']
   */
  readonly deployments?: string[];
  /**
   * Vault's pod, as `namespace/name`: a restart counts as this outage's only when it came after the pod last became
   * ready (`VAULT_POD`); the job may get this pod and no other.
   * @default - the VaultStack's pod when `vault` is given, else 'security/vault-0'
   */
  readonly vaultPod?: string;
  /**
   * A Deployment restarted more recently than this is left alone (`RESTART_COOLDOWN_SECONDS`), so a store that stays
   * degraded for another reason (a wrong role, say) never causes a restart loop.
   * @default 300
   */
  readonly restartCooldownSeconds?: number;
}

const KNOWN_PROPS: KnownProps<EsoRecoveryCronProps> = {
  ...SCRIPT_OPTIONS, vault: true, vaultAddr: true, store: true, storeName: true, esoNamespace: true, deployments: true,
  restartCooldownSeconds: true, vaultPod: true,
};

function checkVaultPod(props: EsoRecoveryCronProps): { namespace: string; name: string } {
  if (props.vault && props.vaultPod !== undefined) invalid('EsoRecoveryCron vaultPod', props.vaultPod, 'no vaultPod when vault is given (its pod is used)');
  const value = props.vault ? `${props.vault.namespace}/${props.vault.podName}` : props.vaultPod ?? DEFAULTS.vaultPod;
  const [namespace, name, rest] = typeof value === 'string' ? value.split('/') : [];
  if (rest !== undefined || !namespace || !name) invalid('EsoRecoveryCron vaultPod', value, 'namespace/name of Vault\'s pod, such as "security/vault-0"');
  return { namespace: checkDnsLabel('EsoRecoveryCron vaultPod', namespace), name: checkDnsSubdomain('EsoRecoveryCron vaultPod', name) };
}

function checkProps(props: EsoRecoveryCronProps) {
  checkKnownProps('EsoRecoveryCron', props, KNOWN_PROPS);
  const deployments = checkArray('EsoRecoveryCron deployments', props.deployments, 'Deployment names') ?? DEFAULTS.deployments;
  if (deployments.length === 0) invalid('EsoRecoveryCron deployments', deployments, 'at least one Deployment name');
  deployments.forEach((d, i) => {
    checkDnsSubdomain('EsoRecoveryCron deployments', d);
    if (deployments.indexOf(d) !== i) invalid('EsoRecoveryCron deployments', d, 'each Deployment once');
  });
  return {
    settings: checkScriptOptions('EsoRecoveryCron', props),
    vaultAddr: resolveVaultUrl('EsoRecoveryCron vaultAddr', props.vault, props.vaultAddr),
    storeName: checkDnsSubdomain('EsoRecoveryCron storeName', props.storeName ?? props.store?.storeName ?? DEFAULTS.storeName),
    esoNamespace: checkDnsLabel('EsoRecoveryCron esoNamespace', props.esoNamespace ?? props.store?.namespace ?? DEFAULTS.esoNamespace),
    deployments,
    vaultPod: checkVaultPod(props),
    cooldown: checkInteger('EsoRecoveryCron restartCooldownSeconds', props.restartCooldownSeconds ?? DEFAULTS.restartCooldownSeconds, 60, 86400),
  };
}

/**
 * The CronJob `eso-recovery`: every minute, when Vault is ready but the ClusterSecretStore is still degraded, it
 * restarts ESO's Deployments as `kubectl rollout restart` does, with the script of `runtime/eso-recovery.ts`. Its
 * ServiceAccount may get the one store and get and patch the named Deployments, nothing else.
 */
export class EsoRecoveryCron extends Construct {
  constructor(scope: Construct, id: string, props: EsoRecoveryCronProps = {}) {
    super(scope, id);
    const { settings, vaultAddr, storeName, esoNamespace, deployments, vaultPod, cooldown } = validating(this, () => checkProps(props));
    // Events on the cluster-scoped store can only be recorded in "default".
    const eventNamespace = DEFAULTS.eventNamespace;
    const namespace = settings.namespace;
    const labels = { 'app.kubernetes.io/name': NAME };

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: { name: NAME, namespace, labels },
      automountServiceAccountToken: false,
    });
    // The store is cluster-scoped, so reading it takes a ClusterRole, limited to the one store by name.
    new k8s.KubeClusterRole(this, 'store-reader', {
      metadata: { name: NAME, labels },
      rules: [{ apiGroups: ['external-secrets.io'], resources: ['clustersecretstores'], resourceNames: [storeName], verbs: ['get'] }],
    });
    new k8s.KubeClusterRoleBinding(this, 'store-reader-binding', {
      metadata: { name: NAME, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });
    new k8s.KubeRole(this, 'restarter', {
      metadata: { name: NAME, namespace: esoNamespace, labels },
      rules: [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: [...deployments], verbs: ['get', 'patch'] }],
    });
    new k8s.KubeRoleBinding(this, 'restarter-binding', {
      metadata: { name: NAME, namespace: esoNamespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });

    // When Vault's pod last became ready, so that only a restart made while Vault was ready counts.
    new k8s.KubeRole(this, 'vault-pod-reader', {
      metadata: { name: `${NAME}-vault-pod`, namespace: vaultPod.namespace, labels },
      rules: [{ apiGroups: [''], resources: ['pods'], resourceNames: [vaultPod.name], verbs: ['get'] }],
    });
    new k8s.KubeRoleBinding(this, 'vault-pod-reader-binding', {
      metadata: { name: `${NAME}-vault-pod`, namespace: vaultPod.namespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}-vault-pod` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });

    // Events on the store, so that `kubectl describe clustersecretstore` shows what the job did: create only, one namespace.
    new k8s.KubeRole(this, 'event-recorder', {
      metadata: { name: `${NAME}-events`, namespace: eventNamespace, labels },
      rules: [{ apiGroups: [''], resources: ['events'], verbs: ['create'] }],
    });
    new k8s.KubeRoleBinding(this, 'event-recorder-binding', {
      metadata: { name: `${NAME}-events`, namespace: eventNamespace, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${NAME}-events` },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace }],
    });

    new ScriptCronJob(this, 'job', {
      settings,
      name: NAME,
      script: bundleRuntime('eso-recovery'),
      serviceAccountName: NAME,
      env: {
        [ENV.vaultAddr]: vaultAddr,
        [ENV.esoNamespace]: esoNamespace,
        [ENV.storeName]: storeName,
        [ENV.deployments]: deployments.join(','),
        [ENV.restartCooldownSeconds]: String(cooldown),
        [ENV.vaultPod]: `${vaultPod.namespace}/${vaultPod.name}`,
      },
    });
  }
}
