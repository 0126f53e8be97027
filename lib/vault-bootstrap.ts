import { ApiObject, Lazy } from 'cdk8s';
import { Construct, IConstruct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { invalid, propError, validating } from '../build/prop-error';
import { parseAgeRecipient } from '../runtime/common/age';
import { BOOTSTRAP_DEFAULTS, BOOTSTRAP_ENV, ESCROW_WAIVED } from '../runtime/common/bootstrap-variables';
import { UNSEAL_ENV } from '../runtime/common/unseal-variables';
import { deriveConfig } from '../runtime/common/vault-config/derive';
import { checkInteger } from './checks';
import { EgressPolicy } from './egress-policy';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, checkVaultCa, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { UnsealCron } from './unseal-cron';
import { IVault } from './vault';

const NAME = BOOTSTRAP_DEFAULTS.name;
const PLAN_DIR = BOOTSTRAP_DEFAULTS.planFile.slice(0, BOOTSTRAP_DEFAULTS.planFile.lastIndexOf('/'));
const PLAN_KEY = BOOTSTRAP_DEFAULTS.planFile.slice(PLAN_DIR.length + 1);

export interface VaultBootstrapProps extends ScriptCronJobOptions {
  /** The Vault to initialize and keep configured; the job runs in its namespace. */
  readonly vault: IVault;
  /** The unseal CronJob: the job stores the shares in its Secret, one per key, and it unseals Vault after restarts. */
  readonly unseal: UnsealCron;
  /**
   * The folders of dist/ whose objects declare what Vault serves (stores, ExternalSecrets, the jobs' identities): the
   * desired configuration is derived from them at synthesis, as `npm run vault-setup` derives it from dist/.
   */
  readonly declaredBy: IConstruct[];
  /**
   * The age recipient (`age1...`, from `age-keygen -y`) that a copy of every share is encrypted to, in the Secret
   * `vault-unseal-escrow`; a human holds the private key. Required unless `escrowWaived`.
   * @default - none: synthesis refuses the bootstrap unless `escrowWaived` is true
   */
  readonly escrowRecipient?: string;
  /**
   * Runs without the escrow: losing the unseal Secret then makes Vault's data and every snapshot unreadable after the
   * next restart. Say so only for a Vault whose data can be thrown away.
   * @default false
   */
  readonly escrowWaived?: boolean;
  /**
   * How many shares `sys/init` makes.
   * @default 5
   */
  readonly shares?: number;
  /**
   * How many shares unseal Vault (2 or more when there are several shares, as Vault requires).
   * @default 3
   */
  readonly threshold?: number;
  /**
   * `apply`: later runs write what is missing or changed; `report`: they write nothing and fail on drift, with a
   * read-only identity (day 0 is configured either way).
   * @default 'apply'
   */
  readonly mode?: 'apply' | 'report';
}

function checkProps(props: VaultBootstrapProps) {
  const settings = checkScriptOptions('VaultBootstrap', props, props.vault.namespace);
  checkVaultCa('VaultBootstrap', settings.namespace, props.vault);
  if (settings.namespace !== props.vault.namespace) invalid('VaultBootstrap namespace', settings.namespace, `Vault's namespace "${props.vault.namespace}" (the unseal Secret is there)`);
  if (props.unseal.namespace !== props.vault.namespace) invalid('VaultBootstrap unseal', props.unseal.namespace, `an UnsealCron in Vault's namespace "${props.vault.namespace}" (it mounts the Secret the job writes)`);
  const shares = checkInteger('VaultBootstrap shares', props.shares ?? BOOTSTRAP_DEFAULTS.shares, 1, 255);
  const threshold = checkInteger('VaultBootstrap threshold', props.threshold ?? BOOTSTRAP_DEFAULTS.threshold, 1, shares);
  if (threshold === 1 && shares > 1) invalid('VaultBootstrap threshold', threshold, `2 or more with ${shares} shares (Vault refuses a threshold of 1 with several shares)`);
  const mode = props.mode ?? BOOTSTRAP_DEFAULTS.mode;
  if (mode !== 'apply' && mode !== 'report') invalid('VaultBootstrap mode', mode, '"apply" or "report"');
  if (props.escrowRecipient !== undefined && props.escrowWaived) invalid('VaultBootstrap escrowWaived', true, 'false or unset when escrowRecipient is set');
  if (props.escrowRecipient === undefined && !props.escrowWaived) {
    invalid('VaultBootstrap escrowRecipient', undefined, 'an age recipient (age1..., `age-keygen -y key.txt`) that the shares are escrowed to, or escrowWaived: true');
  }
  if (props.escrowRecipient !== undefined) {
    const key = parseAgeRecipient(props.escrowRecipient);
    if (typeof key === 'string') invalid('VaultBootstrap escrowRecipient', props.escrowRecipient, `an age recipient (age1...): ${key}`);
  }
  if (props.declaredBy.length === 0) invalid('VaultBootstrap declaredBy', [], 'the folders of dist/ that declare the stores and ExternalSecrets');
  return { settings, shares, threshold, mode, recipient: props.escrowRecipient ?? ESCROW_WAIVED };
}

/**
 * The CronJob `vault-bootstrap` (runtime/vault-bootstrap.ts): every minute it takes an uninitialized Vault to
 * configured (init with the shares stored first, escrow, unseal, the plan `npm run vault-setup` would apply, the root
 * token revoked), then keeps it as declared with an identity of its own. Its Role may create Secrets in Vault's
 * namespace (RBAC cannot limit `create` by name) and get and update only the unseal Secret and the escrow.
 * Whoever can create pods in Vault's namespace can read the unseal Secret, and so is Vault's admin already.
 */
export class VaultBootstrap extends Construct {
  /** The namespace of the CronJob (Vault's). */
  public readonly namespace: string;
  /** The CronJob's name. */
  public readonly cronJobName = NAME;
  /** The job's pods' labels. */
  public readonly podLabels: Readonly<Record<string, string>>;
  /** The ServiceAccount a human's token for writing app secret values is made for (`kubectl create token`). */
  public readonly writerServiceAccountName = BOOTSTRAP_DEFAULTS.writerServiceAccount;
  /** The Secret holding the encrypted escrow, when there is one. */
  public readonly escrowSecretName?: string;

  constructor(scope: Construct, id: string, props: VaultBootstrapProps) {
    super(scope, id);
    const { settings, shares, threshold, mode, recipient } = validating(this, () => checkProps(props));
    const { vault, unseal } = props;
    const namespace = settings.namespace;
    this.namespace = namespace;
    if (recipient !== ESCROW_WAIVED) this.escrowSecretName = BOOTSTRAP_DEFAULTS.escrowSecretName;
    const labels = { 'app.kubernetes.io/name': NAME };
    const subjects = [{ kind: 'ServiceAccount', name: NAME, namespace }];

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: { name: NAME, namespace, labels } });
    // The writer has no pod: a human mints its short-lived token with `kubectl create token` and logs in to Vault.
    new k8s.KubeServiceAccount(this, 'writer', {
      metadata: { name: this.writerServiceAccountName, namespace, labels: { 'app.kubernetes.io/name': this.writerServiceAccountName } },
      automountServiceAccountToken: false,
    });
    const secrets = [unseal.secretName, ...(this.escrowSecretName ? [this.escrowSecretName] : [])];
    new k8s.KubeRole(this, 'role', {
      metadata: { name: NAME, namespace, labels },
      rules: [
        // `create` cannot be limited by name (RBAC matches resourceNames only on requests that name an object).
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        // get and update only: the script never patches (the get/update/patch, less what is never used).
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: secrets },
        { apiGroups: [''], resources: ['events'], verbs: ['create'] },
      ],
    });
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: { name: NAME, namespace, labels }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME }, subjects,
    });

    // The plan, derived at synthesis from every object of the folders (this ConfigMap aside), as vault-setup derives it
    // from dist/: the job cannot read dist/.
    const plan: ApiObject = new k8s.KubeConfigMap(this, 'plan', {
      metadata: { name: `${NAME}-plan`, namespace, labels },
      data: { [PLAN_KEY]: Lazy.any({ produce: () => renderPlan(declared(props.declaredBy, plan)) }) },
    });

    const job = new ScriptCronJob(this, 'job', {
      settings,
      name: NAME,
      script: bundleRuntime('vault-bootstrap'),
      serviceAccountName: NAME,
      vault,
      env: {
        [BOOTSTRAP_ENV.mode]: mode, [BOOTSTRAP_ENV.shares]: String(shares), [BOOTSTRAP_ENV.threshold]: String(threshold),
        [BOOTSTRAP_ENV.planFile]: BOOTSTRAP_DEFAULTS.planFile, [BOOTSTRAP_ENV.authMount]: BOOTSTRAP_DEFAULTS.authMount,
        [BOOTSTRAP_ENV.role]: BOOTSTRAP_DEFAULTS.role, [BOOTSTRAP_ENV.writerRole]: BOOTSTRAP_DEFAULTS.writerRole,
        [BOOTSTRAP_ENV.writerServiceAccount]: this.writerServiceAccountName,
        [BOOTSTRAP_ENV.escrowRecipient]: recipient, [BOOTSTRAP_ENV.escrowSecretName]: BOOTSTRAP_DEFAULTS.escrowSecretName,
        [BOOTSTRAP_ENV.namespace]: namespace, [UNSEAL_ENV.secretName]: unseal.secretName,
        ...(unseal.podUrls && { [UNSEAL_ENV.pods]: unseal.podUrls.join(',') }),
      },
      volumes: [{ mountPath: PLAN_DIR, volume: { name: 'plan', configMap: { name: `${NAME}-plan`, defaultMode: 0o444 } } }],
    });
    this.podLabels = job.podLabels;
    vault.allowClient({ description: `VaultBootstrap ${NAME}`, namespace, podLabels: job.podLabels });
    // The API server for the Secrets and Events; Vault.
    if (vault.egress) {
      new EgressPolicy(this, 'egress', {
        name: `${NAME}-egress`, namespace, podLabels: job.podLabels, description: `VaultBootstrap ${NAME}`,
        destinations: [vault.egress.dns, vault.egress.apiServer, vault.egress.vaultApi],
      });
    }
  }
}

/** The desired configuration as the job reads it; what vault-setup would refuse in dist/ fails synthesis, on one line. */
function renderPlan(docs: Record<string, any>[]): string {
  try {
    return `${JSON.stringify(deriveConfig(docs, true).want, null, 2)}\n`;
  } catch (error) {
    throw propError(`VaultBootstrap cannot derive vault's configuration from the manifests: ${(error as Error).message}`);
  }
}

/** Every object the folders synthesize, as JSON, but `self` (whose value is being produced). */
function declared(scopes: IConstruct[], self: ApiObject): Record<string, any>[] {
  return scopes.flatMap((scope) => scope.node.findAll().filter((c): c is ApiObject => ApiObject.isApiObject(c) && c !== self).map((o) => o.toJson()));
}
