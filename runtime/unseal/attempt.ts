// One unseal attempt of one Vault with a set of shares: what the unseal CronJob does for each pod (runtime/unseal.ts)
// and what the bootstrap does right after `sys/init` with the shares it holds (runtime/vault-bootstrap.ts). Each
// script's entry checks `require.main`, so the shared code lives here, where no entry runs when bundled.
import { outcomeOf } from '../common/failure';
import { describeAnswer, HttpResponse } from '../common/http';
import { finished, Outcome, retry } from '../common/retry';
import { UNSEAL_DEFAULTS } from '../common/unseal-variables';
import { isUninitialized, SealStatus, sealStatus, VaultApi, vaultErrors } from '../common/vault';

export interface Share {
  /** The Secret key it came from; safe to print. */
  readonly name: string;
  readonly value: string;
}

/** A share's bytes as Vault decodes them (hex first, then base64), so one share in two encodings counts once. */
function shareBytes(value: string): string {
  if (/^([0-9a-fA-F]{2})+$/.test(value)) return value.toLowerCase();
  const bytes = Buffer.from(value, 'base64');
  // Not base64 either (Vault rejects it on its own): the text itself.
  return bytes.length > 0 && bytes.toString('base64').replace(/=+$/, '') === value.replace(/=+$/, '') ? bytes.toString('hex') : `text:${value}`;
}

/** The shares without repeats (the same share under two keys): Vault ignores a share already submitted. */
function distinct(shares: Share[]): Share[] {
  const bytes = shares.map((share) => shareBytes(share.value));
  return shares.filter((_share, i) => bytes.indexOf(bytes[i]) === i);
}

const notInitialized = (secretName: string) =>
  `vault is not initialized: run \`vault operator init\`, then store the unseal shares in the Secret ${secretName}`;

// Vault checks one share alone only for its encoding and length; anything else it can tell only of the whole set.
const ONE_SHARE_ERROR = /valid hex or base64|shorter than|longer than/i;

type Answer = { status: SealStatus } | { outcome: Outcome };

/** Checks an answer of seal-status or unseal: Vault's seal status, or the outcome that ends the attempt. */
function readAnswer(answer: HttpResponse, call: string, secretName: string): Answer {
  if (isUninitialized(answer)) return { outcome: finished(notInitialized(secretName), 2) };
  if (answer.status !== 200) return { outcome: retry(`${call} answered HTTP ${answer.status}${vaultErrors(answer)}`) };
  const status = sealStatus(answer);
  if (!status) return { outcome: retry(`${call} answered ${describeAnswer(answer)}, not Vault's seal status: no share sent to it`) };
  return { status };
}

const BACKGROUND_POLL_MS = 500;
/** What a run keeps after polling a background unseal: time to report and exit before its deadline. */
const BACKGROUND_RESERVE_MS = 1000;

/**
 * Vault took a full set of shares and unseals in the background: seal-status turns unsealed when it is done. Polled
 * while the run has time (`leftMs`); still sealed then is "not yet" (1), never the shares' fault.
 */
async function awaitBackgroundUnseal(vault: VaultApi, sent: number, leftMs: () => number, secretName: string): Promise<Outcome> {
  while (leftMs() > BACKGROUND_POLL_MS + BACKGROUND_RESERVE_MS) {
    await new Promise((resolve) => setTimeout(resolve, BACKGROUND_POLL_MS));
    const answer = readAnswer(await vault.sealStatus(), 'GET /v1/sys/seal-status', secretName);
    if ('outcome' in answer) return answer.outcome;
    if (!answer.status.sealed) return finished(`vault at ${vault.addr} unsealed with ${sent} shares (it finished unsealing in the background)`);
  }
  return retry(`vault at ${vault.addr} accepted ${sent} shares and is still unsealing in the background `
    + '(a Raft node finishing its join): not yet, the next attempt checks again');
}

/**
 * One attempt: port, seal status, then the shares until Vault reports unsealed (or unseals in the background). Its
 * news (a reset of someone else's progress) goes to `say`: main passes the run's log.
 */
export async function attemptUnseal(
  vault: VaultApi, loadShares: () => Share[], secretName: string = UNSEAL_DEFAULTS.secretName, say: (line: string) => void = () => undefined,
  leftMs: () => number = () => 0,
): Promise<Outcome> {
  try {
    await vault.checkPort();
    const first = readAnswer(await vault.sealStatus(), 'GET /v1/sys/seal-status', secretName);
    if ('outcome' in first) return first.outcome;
    if (!first.status.sealed) return finished(`vault at ${vault.addr} is unsealed`);

    const shares = distinct(loadShares());
    if (shares.length < first.status.t) {
      // Sending them could never unseal, and resetting would wipe a human's progress of unsealing by hand.
      return finished(
        `the Secret ${secretName} holds ${shares.length} distinct share${shares.length === 1 ? '' : 's'} and vault needs `
        + `${first.status.t}: nothing sent, nothing reset; add shares to the Secret, or unseal by hand`, 2);
    }
    if (first.status.progress > 0) {
      // Someone else's attempt (a human's mistyped share) would make this run's shares complete a bad set.
      const reset = readAnswer(await vault.unseal({ reset: true }), 'PUT /v1/sys/unseal (reset)', secretName);
      if ('outcome' in reset) return reset.outcome;
      say(`vault held unseal progress ${first.status.progress} of ${first.status.t} from an earlier attempt: reset it`);
    }
    let status = first.status;
    for (const [index, share] of shares.entries()) {
      const answer = await vault.unseal({ key: share.value });
      if (answer.status === 400 && !isUninitialized(answer)) {
        const culprit = ONE_SHARE_ERROR.test(vaultErrors(answer)) ? `the share in key "${share.name}"` : `the ${index + 1} shares submitted`;
        return finished(`vault rejected ${culprit}${vaultErrors(answer)}: check that the Secret ${secretName} holds this Vault's shares`, 2);
      }
      const next = readAnswer(answer, 'PUT /v1/sys/unseal', secretName);
      if ('outcome' in next) return next.outcome;
      status = next.status;
      if (!status.sealed) return finished(`vault at ${vault.addr} unsealed with ${index + 1} of ${shares.length} shares`);
      // A full set accepted (a bad one is a 400) and the progress back to 0, still sealed: a Raft node that has just
      // joined unseals in the background and answers at once (vault/core.go unsealWithRaft). Not the shares' fault.
      if (index + 1 >= status.t && status.progress === 0) return awaitBackgroundUnseal(vault, index + 1, leftMs, secretName);
    }
    // Leave no partial progress behind: a human unsealing by hand would otherwise complete this run's set.
    await vault.unseal({ reset: true }).catch(() => undefined);
    return finished(
      `vault is still sealed after all ${shares.length} shares (progress ${status.progress} of ${status.t}): `
      + `the Secret ${secretName} holds fewer distinct shares than the threshold`, 2);
  } catch (error) {
    return outcomeOf(error);
  }
}

