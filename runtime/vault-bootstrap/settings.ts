// The bootstrap script's settings, read from the environment the CronJob sets (lib/vault-bootstrap.ts): Vault (its
// Service and, on Raft, its pods: pod 0 is the one initialized), the Kubernetes API, the Secrets it writes, the plan
// rendered at synthesis, and its own identity.
import { dirname, join } from 'path';
import { readFileSync } from 'fs';
import { BOOTSTRAP_DEFAULTS, BOOTSTRAP_ENV, ESCROW_WAIVED } from '../common/bootstrap-variables';
import { needsHuman } from '../common/failure';
import { Env, invalid, readInteger, readRetrySettings, readString, readUrl, RetrySettings } from '../common/settings';
import { CaFile } from '../common/tls';
import { parseAgeRecipient } from '../common/age';
import { readVaultAddr, readVaultCa } from '../common/vault';
import { UNSEAL_DEFAULTS, UNSEAL_ENV } from '../common/unseal-variables';
import { DEFAULTS, ENV } from '../common/variables';
import { DesiredConfig } from '../common/vault-config/desired';
import { trimSlashes } from '../common/vault-config/manifests';
import { Pod, readPods } from '../unseal/pods';

export interface BootstrapSettings extends RetrySettings {
  readonly vaultAddr: string;
  /** On Raft, every pod: the first is initialized, the others join it. */
  readonly pods?: Pod[];
  readonly vaultCa?: CaFile;
  readonly mode: 'apply' | 'report';
  readonly shares: number;
  readonly threshold: number;
  readonly want: DesiredConfig;
  readonly authMount: string;
  readonly role: string;
  /** The age recipient of the escrow; undefined when the site waived it. */
  readonly escrowRecipient?: string;
  readonly escrowSecretName: string;
  readonly unsealSecretName: string;
  readonly namespace: string;
  readonly kubeUrl: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function readFileSetting(variable: string, path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw needsHuman(`cannot read the ${what} at ${path} (${(error as NodeJS.ErrnoException).code}): set ${variable} or mount it`);
  }
}

/** The desired configuration rendered at synthesis, checked for the shape the plan needs. */
function readPlan(env: Env): DesiredConfig {
  const file = readString(env, BOOTSTRAP_ENV.planFile, BOOTSTRAP_DEFAULTS.planFile);
  let want: any;
  try {
    want = JSON.parse(readFileSetting(BOOTSTRAP_ENV.planFile, file, 'desired configuration'));
  } catch (error) {
    if ((error as { exitCode?: number }).exitCode) throw error;
    throw needsHuman(`the desired configuration at ${file} is not JSON: synthesize again (npm run synth) and sync dist/`);
  }
  const lists = ['kvMounts', 'authMounts', 'policies', 'roles', 'secrets', 'finds'];
  const missing = lists.find((field) => !Array.isArray(want?.[field]));
  if (missing) throw needsHuman(`the desired configuration at ${file} has no list "${missing}": synthesize again (npm run synth) and sync dist/`);
  return want as DesiredConfig;
}

/** The namespace from POD_NAMESPACE, else the `namespace` file beside the ServiceAccount token. */
function readNamespace(env: Env, tokenFile: string): string {
  const given = env[BOOTSTRAP_ENV.namespace];
  const namespace = given ?? readFileSetting(BOOTSTRAP_ENV.namespace, join(dirname(tokenFile), 'namespace'), 'namespace file').trim();
  if (!NAME.test(namespace)) invalid(BOOTSTRAP_ENV.namespace, namespace, 'a Kubernetes namespace name');
  return namespace;
}

function readEscrow(env: Env): string | undefined {
  const value = env[BOOTSTRAP_ENV.escrowRecipient];
  if (value === undefined || value.trim() === '') {
    invalid(BOOTSTRAP_ENV.escrowRecipient, value ?? '', `an age recipient (age1...) or "${ESCROW_WAIVED}": without the escrow a lost Secret loses Vault`);
  }
  if (value === ESCROW_WAIVED) return undefined;
  const key = parseAgeRecipient(value);
  if (typeof key === 'string') invalid(BOOTSTRAP_ENV.escrowRecipient, value, `an age recipient: ${key}`);
  return value;
}

export function readBootstrapSettings(env: Env): BootstrapSettings {
  const vaultAddr = readVaultAddr(env);
  let pods: Pod[] | undefined;
  try {
    pods = readPods(env, vaultAddr);
  } catch (error) {
    throw needsHuman((error as Error).message);
  }
  const addresses = [{ variable: ENV.vaultAddr, url: vaultAddr }, ...(pods ?? []).map((p) => ({ variable: UNSEAL_ENV.pods, url: p.url }))];
  const mode = readString(env, BOOTSTRAP_ENV.mode, BOOTSTRAP_DEFAULTS.mode);
  if (mode !== 'apply' && mode !== 'report') invalid(BOOTSTRAP_ENV.mode, mode, 'apply or report');
  const shares = readInteger(env, BOOTSTRAP_ENV.shares, BOOTSTRAP_DEFAULTS.shares, 1, 255);
  const threshold = readInteger(env, BOOTSTRAP_ENV.threshold, BOOTSTRAP_DEFAULTS.threshold, 1, shares);
  if (threshold === 1 && shares > 1) invalid(BOOTSTRAP_ENV.threshold, '1', `2 or more with ${shares} shares (vault refuses a threshold of 1 with several shares)`);
  const tokenFile = readString(env, ENV.kubeTokenFile, DEFAULTS.kubeTokenFile);
  const vaultCa = readVaultCa(env, addresses);
  const escrowRecipient = readEscrow(env);
  return {
    vaultAddr, ...(pods && { pods }), ...(vaultCa && { vaultCa }), mode, shares, threshold,
    want: readPlan(env),
    authMount: trimSlashes(readString(env, BOOTSTRAP_ENV.authMount, BOOTSTRAP_DEFAULTS.authMount)),
    role: readString(env, BOOTSTRAP_ENV.role, BOOTSTRAP_DEFAULTS.role),
    ...(escrowRecipient && { escrowRecipient }),
    escrowSecretName: readString(env, BOOTSTRAP_ENV.escrowSecretName, BOOTSTRAP_DEFAULTS.escrowSecretName, NAME),
    unsealSecretName: readString(env, UNSEAL_ENV.secretName, UNSEAL_DEFAULTS.secretName, NAME),
    namespace: readNamespace(env, tokenFile),
    kubeUrl: readUrl(env, ENV.kubeApiUrl, DEFAULTS.kubeApiUrl),
    tokenFile,
    caFile: readString(env, ENV.kubeCaFile, DEFAULTS.kubeCaFile),
    ...readRetrySettings(env),
  };
}
