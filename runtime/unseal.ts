// vault-auto-unseal: unseals Vault after a reboot with the shares mounted from the Secret vault-unseal-key. Bundled by
// esbuild into one dependency-free script and run every minute by the CronJob; configured by environment variables.
// Exit codes: 0 Vault is unsealed; 1 not yet (unreachable, hanging, server error: the next run retries);
// 2 a human is needed (not initialized, no or rejected shares, a malformed setting).
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { redact, reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env, readRetrySettings, readString, RetrySettings } from './common/settings';
import { isUninitialized, readVaultAddr, VaultApi, vaultApi, vaultErrors } from './common/vault';

export interface UnsealSettings extends RetrySettings {
  readonly vaultAddr: string;
  readonly keysDir: string;
}

export function readUnsealSettings(env: Env): UnsealSettings {
  return {
    vaultAddr: readVaultAddr(env),
    keysDir: readString(env, 'VAULT_UNSEAL_KEYS_DIR', '/vault/unseal-keys'),
    ...readRetrySettings(env),
  };
}

export interface Share {
  /** The Secret key it came from; safe to print. */
  readonly name: string;
  readonly value: string;
}

/**
 * Every key of the mounted Secret is one share, in name order. A mounted Secret holds `..data` and timestamped
 * directories beside symbolic links to the files; hidden entries are skipped and links followed.
 */
export function readShares(dir: string): Share[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw new Error(`cannot read unseal keys from ${dir} (${(error as NodeJS.ErrnoException).code}): mount the Secret vault-unseal-key there`);
  }
  const shares: Share[] = [];
  for (const name of names.filter((n) => !n.startsWith('.'))) {
    const path = join(dir, name);
    if (!statSync(path).isFile()) continue;
    const value = readFileSync(path, 'utf8').trim();
    if (value === '') continue;
    redact(value);
    shares.push({ name, value });
  }
  if (shares.length === 0) throw new Error(`no unseal keys in ${dir}: the Secret vault-unseal-key is missing or empty`);
  return shares;
}

const NOT_INITIALIZED = 'vault is not initialized: run `vault operator init`, then store the unseal shares in the Secret vault-unseal-key';

/** One attempt: port, seal status, then the shares until Vault reports unsealed. */
export async function attemptUnseal(vault: VaultApi, loadShares: () => Share[]): Promise<Outcome> {
  try {
    await vault.checkPort();
    const status = await vault.sealStatus();
    if (isUninitialized(status)) return finished(NOT_INITIALIZED, 2);
    if (status.status !== 200) return retry(`GET /v1/sys/seal-status answered HTTP ${status.status}${vaultErrors(status)}`);
    if (status.json?.sealed === false) return finished(`vault at ${vault.addr} is unsealed`);

    let shares: Share[];
    try {
      shares = loadShares();
    } catch (error) {
      return finished(reason(error), 2);
    }
    let progress = status.json;
    for (const share of shares) {
      const answer = await vault.unseal(share.value);
      if (isUninitialized(answer)) return finished(NOT_INITIALIZED, 2);
      if (answer.status === 400) return finished(`vault rejected the share in key "${share.name}"${vaultErrors(answer)}`, 2);
      if (answer.status !== 200) return retry(`PUT /v1/sys/unseal answered HTTP ${answer.status}${vaultErrors(answer)}`);
      progress = answer.json;
      if (progress?.sealed === false) {
        return finished(`vault at ${vault.addr} unsealed with ${shares.indexOf(share) + 1} of ${shares.length} shares`);
      }
    }
    return finished(
      `vault is still sealed after all ${shares.length} shares (progress ${progress?.progress ?? '?'} of ${progress?.t ?? '?'}): `
      + 'the Secret vault-unseal-key holds fewer shares than the threshold', 2);
  } catch (error) {
    return retry(reason(error));
  }
}

export function main(env: Env = process.env): Promise<number> {
  return runScript(env, readUnsealSettings, (s) => attemptUnseal(vaultApi(s.vaultAddr, s.timeoutMs), () => readShares(s.keysDir)));
}

if (require.main === module) start(() => main());
