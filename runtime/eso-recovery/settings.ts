// The recovery script's settings: the stores it wakes, each with the project's ExternalSecrets that read through it
// (woken after their store), and the APIs it calls. Read from the environment the CronJob sets (lib/eso-recovery-cron.ts).
import { needsHuman } from '../common/failure';
import { Env, readList, readRetrySettings, readString, readUrl, RetrySettings } from '../common/settings';
import { DEFAULTS, ENV } from '../common/variables';
import { CaFile } from '../common/tls';
import { readVaultTarget } from '../common/vault';
import { RECOVERY_DEFAULTS, RECOVERY_ENV } from '../common/eso-recovery-variables';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** `[<store>:]<namespace>/<name>`: an ExternalSecret, and the store it reads through when there are several. */
const ENTRY = /^(?:([a-z0-9]([-a-z0-9.]*[a-z0-9])?):)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/;

/** A ClusterSecretStore the job wakes, and the project's ExternalSecrets that read through it (woken after it). */
export interface WatchedStore {
  readonly name: string;
  readonly externalSecrets: Array<{ readonly namespace: string; readonly name: string }>;
}

export interface RecoverySettings extends RetrySettings {
  readonly vaultAddr: string;
  /** The CA Vault's certificate must chain to (`VAULT_CACERT`); absent while Vault speaks plain HTTP. */
  readonly vaultCa?: CaFile;
  readonly stores: WatchedStore[];
  readonly kubeUrl: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

/** The stores, each with its ExternalSecrets: an entry names its store unless there is only one. */
function readStores(env: Env): WatchedStore[] {
  // Empty when the EsoStore has no store yet (no AppSecret reads through it).
  const names = env[RECOVERY_ENV.storeNames]?.trim() === '' ? [] : readList(env, RECOVERY_ENV.storeNames, [RECOVERY_DEFAULTS.storeName], NAME);
  // Empty when no ExternalSecret reads through the stores.
  const entries = env[RECOVERY_ENV.externalSecrets]?.trim() === '' ? [] : readList(env, RECOVERY_ENV.externalSecrets, [], ENTRY);
  const stores = names.map((name) => ({ name, externalSecrets: [] as Array<{ namespace: string; name: string }> }));
  for (const entry of entries) {
    const [, store, , namespace, , name] = ENTRY.exec(entry)!;
    const owner = store === undefined && stores.length === 1 ? stores[0] : stores.find((s) => s.name === store);
    if (!owner) {
      throw needsHuman(`invalid ${RECOVERY_ENV.externalSecrets}: got "${entry}", expected <store>:<namespace>/<name> naming one of the stores of ${RECOVERY_ENV.storeNames} (${names.join(', ')})`);
    }
    owner.externalSecrets.push({ namespace, name });
  }
  return stores;
}

export function readRecoverySettings(env: Env): RecoverySettings {
  return {
    ...readVaultTarget(env),
    stores: readStores(env),
    kubeUrl: readUrl(env, ENV.kubeApiUrl, DEFAULTS.kubeApiUrl),
    tokenFile: readString(env, ENV.kubeTokenFile, DEFAULTS.kubeTokenFile),
    caFile: readString(env, ENV.kubeCaFile, DEFAULTS.kubeCaFile),
    ...readRetrySettings(env),
  };
}

