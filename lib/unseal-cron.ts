import { Construct } from 'constructs';
import { DEFAULTS, ENV } from '../runtime/common/env';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, SCRIPT_OPTIONS, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { checkDnsSubdomain, checkKnownProps, KnownProps, resolveVaultUrl, validating } from './validate';
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
}

const KNOWN_PROPS: KnownProps<UnsealCronProps> = { ...SCRIPT_OPTIONS, vault: true, vaultAddr: true, unsealKeySecretName: true };

/**
 * The CronJob `vault-auto-unseal`: every minute it unseals Vault after a reboot, with the script of
 * `runtime/unseal.ts`. Unsealing is unauthenticated, so the pod gets no Kubernetes API token.
 */
export class UnsealCron extends Construct {
  constructor(scope: Construct, id: string, props: UnsealCronProps = {}) {
    super(scope, id);
    const { settings, vaultAddr, secretName } = validating(this, () => {
      checkKnownProps('UnsealCron', props, KNOWN_PROPS);
      return {
        settings: checkScriptOptions('UnsealCron', props, props.vault?.namespace),
        vaultAddr: resolveVaultUrl('UnsealCron vaultAddr', props.vault, props.vaultAddr),
        secretName: checkDnsSubdomain('UnsealCron unsealKeySecretName', props.unsealKeySecretName ?? DEFAULTS.unsealSecretName),
      };
    });

    const job = new ScriptCronJob(this, 'job', {
      settings,
      name: 'vault-auto-unseal',
      script: bundleRuntime('unseal'),
      env: { [ENV.vaultAddr]: vaultAddr, [ENV.unsealKeysDir]: DEFAULTS.unsealKeysDir, [ENV.unsealSecretName]: secretName },
      volumes: [{
        mountPath: DEFAULTS.unsealKeysDir,
        // Optional, so that a missing Secret shows as a clear line in the job's log rather than a pod stuck creating.
        volume: { name: 'unseal-keys', secret: { secretName, defaultMode: 0o440, optional: true } },
      }],
    });
    props.vault?.allowClient({ description: 'UnsealCron vault-auto-unseal', namespace: settings.namespace, podLabels: job.podLabels });
  }
}
