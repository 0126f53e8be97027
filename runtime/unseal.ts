// vault-auto-unseal: unseals Vault after a reboot with the shares mounted from the Secret vault-unseal-key. Bundled by
// esbuild into one dependency-free script and run every minute by the CronJob; configured by environment variables.
// Exit codes: 0 Vault is unsealed; 1 not yet (unreachable, hanging, a server error or an answer that is not Vault's:
// the next run retries); 2 a human is needed (not initialized, no or rejected shares, a malformed setting, a
// certificate that fails: expired, from another CA than VAULT_CACERT's, lacking the name called, TLS on one side only).
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { needsHuman } from './common/failure';
import { Io, lookupOf } from './common/io';
import { logTo, processOutput, redact } from './common/log';
import { runScript, start } from './common/main';
import { Env, readRetrySettings, readString, RetrySettings } from './common/settings';
import { CaFile } from './common/tls';
import { readVaultAddr, readVaultCa, VaultApi, vaultApi } from './common/vault';
import { attemptUnseal, Share } from './unseal/attempt';
import { attemptUnsealPods, Pod, readPods } from './unseal/pods';
import { UNSEAL_DEFAULTS, UNSEAL_ENV } from './common/unseal-variables';
import { ENV } from './common/variables';

export interface UnsealSettings extends RetrySettings {
  readonly vaultAddr: string;
  readonly keysDir: string;
  /** The Secret the shares come from, named in messages. */
  readonly secretName: string;
  /** Every pod of a Raft cluster (`VAULT_PODS`), each unsealed on its own; absent: the one Vault at `vaultAddr`. */
  readonly pods?: Pod[];
  /** The CA Vault's certificate must chain to (`VAULT_CACERT`); absent while Vault speaks plain HTTP. */
  readonly vaultCa?: CaFile;
}

export function readUnsealSettings(env: Env): UnsealSettings {
  const vaultAddr = readVaultAddr(env);
  const pods = readPods(env, vaultAddr);
  const addresses = [{ variable: ENV.vaultAddr, url: vaultAddr }, ...(pods ?? []).map((p) => ({ variable: UNSEAL_ENV.pods, url: p.url }))];
  return {
    vaultAddr,
    pods,
    vaultCa: readVaultCa(env, addresses),
    keysDir: readString(env, UNSEAL_ENV.keysDir, UNSEAL_DEFAULTS.keysDir),
    secretName: readString(env, UNSEAL_ENV.secretName, UNSEAL_DEFAULTS.secretName),
    ...readRetrySettings(env),
  };
}

/**
 * Every key of the mounted Secret is one share, in name order. A mounted Secret holds `..data` and timestamped
 * directories beside symbolic links to the files; hidden entries are skipped and links followed.
 */
export function readShares(dir: string, secretName: string): Share[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw needsHuman(`cannot read unseal keys from ${dir} (${(error as NodeJS.ErrnoException).code}): mount the Secret ${secretName} there`);
  }
  const shares: Share[] = [];
  for (const name of names.filter((n) => !n.startsWith('.'))) {
    let value: string;
    try {
      const path = join(dir, name);
      if (!statSync(path).isFile()) continue;
      value = readFileSync(path, 'utf8').trim();
    } catch (error) {
      // EACCES when the volume's defaultMode or the pod's fsGroup keeps the job's user out: a fix in the manifests.
      throw needsHuman(`cannot read the share in key "${name}" of the Secret ${secretName} (${(error as NodeJS.ErrnoException).code}): `
        + 'check the volume\'s defaultMode and the pod\'s user and fsGroup');
    }
    if (value === '') continue;
    // Several shares pasted into one key would be sent to Vault as one malformed share, and counted as one.
    const pieces = value.split(/\s*\n\s*/);
    redact(value);
    // Each piece that could be a share (Vault's are 33 bytes: 44 characters and more) is kept out of the output too.
    for (const piece of pieces) if (pieces.length > 1 && piece.length >= 16) redact(piece);
    if (pieces.length > 1) {
      throw needsHuman(`key "${name}" of the Secret ${secretName} holds ${pieces.length} lines, `
        + 'not one share: put each share under a key of its own');
    }
    shares.push({ name, value });
  }
  if (shares.length === 0) throw needsHuman(`no unseal keys in ${dir}: the Secret ${secretName} is missing or empty`);
  return shares;
}

export function main(env: Env = process.env, io: Io = processOutput): Promise<number> {
  const out = logTo(io);
  const lookup = lookupOf(io);
  const seen = new Map<string, string>();
  return runScript(env, readUnsealSettings, (s, budget) => {
    const unsealOne = (vault: VaultApi) => attemptUnseal(vault, () => readShares(s.keysDir, s.secretName), s.secretName, out.log, () => budget.leftMs());
    return s.pods
      ? attemptUnsealPods(s.pods, budget, unsealOne, seen, out.log, lookup, s.vaultCa)
      : unsealOne(vaultApi(s.vaultAddr, budget, lookup, { ca: s.vaultCa }));
  }, out);
}

if (require.main === module) start(() => main());
