import { Construct } from 'constructs';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, checkVaultCa, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { invalid, validating } from '../build/prop-error';
import { checkDnsSubdomain, checkHttpUrl } from './checks';
import { IVault } from './vault';
import { EgressPolicy } from './egress-policy';
import { UNSEAL_DEFAULTS, UNSEAL_ENV } from '../runtime/common/unseal-variables';

const NAME = 'vault-auto-unseal';

export interface UnsealCronProps extends ScriptCronJobOptions {
  /**
   * The Vault to unseal: `VAULT_ADDR` is its Service, which publishes the sealed, not-ready pod (with TLS the job
   * trusts its CA, `VAULT_CACERT`); the job runs in its namespace unless `namespace` is set.
   */
  readonly vault: IVault;
  /**
   * The Secret holding the unseal shares, one per key, mounted read-only. It is provided by a human and never
   * synthesized; while it is missing, each run logs so and fails.
   * @default 'vault-unseal-key'
   */
  readonly unsealKeySecretName?: string;
  /**
   * The URL of every Vault pod, each unsealed on its own (`VAULT_PODS`): with Raft storage every pod is sealed after
   * its restart. Pod DNS names through the headless Service, which publishes sealed pods.
   * @default - the Vault's pod URLs when it stores on Raft; none (one Vault at its Service) otherwise
   */
  readonly podUrls?: string[];
}

/** The pods' URLs: given, or the Raft Vault's; distinct pod names (the first label of each host). */
function checkPodUrls(props: UnsealCronProps, vault: IVault): string[] | undefined {
  const urls = props.podUrls
    ?? (vault.storage === 'raft' ? vault.podUrls : undefined);
  if (urls === undefined) return undefined;
  if (urls.length === 0) invalid('UnsealCron podUrls', urls, 'at least one pod URL');
  const parsed = urls.map((url) => new URL(checkHttpUrl('UnsealCron podUrls', url)));
  const other = parsed.find((url) => url.protocol !== `${vault.scheme}:`);
  if (other) invalid('UnsealCron podUrls', other.href, `${vault.scheme} URLs: Vault's listener speaks ${vault.scheme}`);
  const names = parsed.map((url) => url.hostname.split('.')[0]);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) invalid('UnsealCron podUrls', urls, `one URL per pod: "${repeated}" (the first label of the host, the pod's name in the log) appears twice`);
  return [...urls];
}

/**
 * The CronJob `vault-auto-unseal`: every minute it unseals Vault after a reboot, with the script of
 * `runtime/unseal.ts`. Unsealing is unauthenticated, so the pod gets no Kubernetes API token.
 */
export class UnsealCron extends Construct {
  /** The namespace of the CronJob. */
  public readonly namespace: string;
  /** The CronJob's name. */
  public readonly cronJobName = NAME;
  /** The Secret the shares are read from (VaultBootstrap writes them there). */
  public readonly secretName: string;
  /** Every pod's URL when each is unsealed on its own (Raft); undefined for one Vault at its Service. */
  public readonly podUrls?: string[];

  constructor(scope: Construct, id: string, props: UnsealCronProps) {
    super(scope, id);
    const { settings, vault, secretName, podUrls } = validating(this, () => {
      const settings = checkScriptOptions('UnsealCron', props, props.vault.namespace);
      checkVaultCa('UnsealCron', settings.namespace, props.vault);
      return {
        vault: props.vault,
        settings,
        secretName: checkDnsSubdomain('UnsealCron unsealKeySecretName', props.unsealKeySecretName ?? UNSEAL_DEFAULTS.secretName),
        podUrls: checkPodUrls(props, props.vault),
      };
    });
    this.namespace = settings.namespace;
    this.secretName = secretName;
    this.podUrls = podUrls;

    const job = new ScriptCronJob(this, 'job', {
      settings,
      name: NAME,
      script: bundleRuntime('unseal'),
      vault,
      env: {
        [UNSEAL_ENV.keysDir]: UNSEAL_DEFAULTS.keysDir, [UNSEAL_ENV.secretName]: secretName,
        ...(podUrls && { [UNSEAL_ENV.pods]: podUrls.join(',') }),
      },
      volumes: [{
        mountPath: UNSEAL_DEFAULTS.keysDir,
        // Optional, so that a missing Secret shows as a clear line in the job's log rather than a pod stuck creating.
        volume: { name: 'unseal-keys', secret: { secretName, defaultMode: 0o440, optional: true } },
      }],
    });
    vault.allowClient({ description: `UnsealCron ${NAME}`, namespace: settings.namespace, podLabels: job.podLabels });
    // Vault only: the shares come from a mounted Secret, and the pod has no API token.
    if (vault.egress) {
      new EgressPolicy(this, 'egress', {
        name: `${NAME}-egress`, namespace: settings.namespace, podLabels: job.podLabels, description: `UnsealCron ${NAME}`,
        destinations: [vault.egress.dns, vault.egress.vaultApi],
      });
    }
  }
}
