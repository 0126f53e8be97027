import { Construct } from 'constructs';
import { DEFAULTS, ENV } from '../runtime/common/env';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, SCRIPT_OPTIONS, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { VAULT_PODS } from '../runtime/unseal/pods';
import { checkArray, checkDnsSubdomain, checkHttpUrl, checkKnownProps, invalid, KnownProps, resolveVaultUrl, validating } from './validate';
import { VaultStack } from './vault-stack';


export interface UnsealCronProps extends ScriptCronJobOptions {
  /**
   * The VaultStack to unseal: `VAULT_ADDR` is its Service, which publishes the sealed, not-ready pod.
   * @default - none; `vaultAddr` is used
   */
  readonly vault?: VaultStack;
  /**
   * Vault's URL (`VAULT_ADDR`), reaching Vault while it is sealed and not ready. Give either this or `vault`.
   * @default - `vault.serviceUrl` when `vault` is given, else 'http://vault.security.svc.cluster.local:8200'
   */
  readonly vaultAddr?: string;
  /**
   * The Secret holding the unseal shares, one per key, mounted read-only. It is provided by a human and never
   * synthesized; while it is missing, each run logs so and fails.
   * @default 'vault-unseal-key'
   */
  readonly unsealKeySecretName?: string;
  /**
   * The URL of every Vault pod, each unsealed on its own (`VAULT_PODS`): with Raft storage every pod is sealed after
   * its restart. Pod DNS names through the headless Service, which publishes sealed pods.
   * @default - the VaultStack's pod URLs when it stores on Raft; none (one Vault at `vaultAddr`) otherwise
   */
  readonly podUrls?: string[];
}

const KNOWN_PROPS: KnownProps<UnsealCronProps> = { ...SCRIPT_OPTIONS, vault: true, vaultAddr: true, unsealKeySecretName: true, podUrls: true };

/** The pods' URLs: given, or the Raft VaultStack's; distinct pod names (the first label of each host). */
function checkPodUrls(props: UnsealCronProps): string[] | undefined {
  const urls = checkArray('UnsealCron podUrls', props.podUrls, 'http(s) URLs of the Vault pods')
    ?? (props.vault?.storage === 'raft' ? props.vault.podUrls : undefined);
  if (urls === undefined) return undefined;
  if (urls.length === 0) invalid('UnsealCron podUrls', urls, 'at least one pod URL');
  const names = urls.map((url) => new URL(checkHttpUrl('UnsealCron podUrls', url)).hostname.split('.')[0]);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) invalid('UnsealCron podUrls', urls, `one URL per pod: "${repeated}" (the first label of the host, the pod's name in the log) appears twice`);
  return [...urls];
}

/**
 * The CronJob `vault-auto-unseal`: every minute it unseals Vault after a reboot, with the script of
 * `runtime/unseal.ts`. Unsealing is unauthenticated, so the pod gets no Kubernetes API token.
 */
export class UnsealCron extends Construct {
  constructor(scope: Construct, id: string, props: UnsealCronProps = {}) {
    super(scope, id);
    const { settings, vaultAddr, secretName, podUrls } = validating(this, () => {
      checkKnownProps('UnsealCron', props, KNOWN_PROPS);
      return {
        settings: checkScriptOptions('UnsealCron', props, props.vault?.namespace),
        vaultAddr: resolveVaultUrl('UnsealCron vaultAddr', props.vault, props.vaultAddr),
        secretName: checkDnsSubdomain('UnsealCron unsealKeySecretName', props.unsealKeySecretName ?? DEFAULTS.unsealSecretName),
        podUrls: checkPodUrls(props),
      };
    });

    const job = new ScriptCronJob(this, 'job', {
      settings,
      name: 'vault-auto-unseal',
      script: bundleRuntime('unseal'),
      env: {
        [ENV.vaultAddr]: vaultAddr, [ENV.unsealKeysDir]: DEFAULTS.unsealKeysDir, [ENV.unsealSecretName]: secretName,
        ...(podUrls && { [VAULT_PODS]: podUrls.join(',') }),
      },
      volumes: [{
        mountPath: DEFAULTS.unsealKeysDir,
        // Optional, so that a missing Secret shows as a clear line in the job's log rather than a pod stuck creating.
        volume: { name: 'unseal-keys', secret: { secretName, defaultMode: 0o440, optional: true } },
      }],
    });
    props.vault?.allowClient({ description: 'UnsealCron vault-auto-unseal', namespace: settings.namespace, podLabels: job.podLabels });
  }
}
