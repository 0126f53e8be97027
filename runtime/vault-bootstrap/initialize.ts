// Day 0: an uninitialized Vault (on Raft, pod 0 while no peer is initialized). The Secrets are proven writable before
// `sys/init` (a dry run), the shares stored and escrowed right after it, Vault unsealed with the shares in memory (the
// unseal CronJob may be submitting the same ones: a reset of its progress is retried), then configured with a
// short-lived root token once the init root is revoked. Stored or not, Vault is unsealed first, so that the init root
// can always be revoked (a sealed Vault refuses even that).
import { BOOTSTRAP_DEFAULTS } from '../common/bootstrap-variables';
import { needsHuman, RunError } from '../common/failure';
import { lookupOf } from '../common/io';
import { whileHolding } from '../common/main';
import { reason } from '../common/log';
import { Outcome, retry } from '../common/retry';
import { vaultApi } from '../common/vault';
import { attemptUnseal } from '../unseal/attempt';
import { awaitActive, keepAsDeclared, NOTE, retireRoot, Run, sharesOf, withShortRoot } from './run';
import { escrowData, readSecret, SecretState, shareData, writeSecret } from './secrets';
import { initialize, revoke, VaultCall } from './tokens';

/** What a run must have left to call `sys/init`: storing the shares, unsealing and revoking follow within the run. */
const INIT_RESERVE_MS = 30_000;
/** The bound on `sys/init` itself, in call timeouts (20 s by default): Vault sets up its storage before it answers. */
const INIT_CALL_TIMEOUTS = 4;

/** Stores the shares and the escrow, retrying while the run lasts: after init they exist nowhere else. */
async function storeShares(run: Run, unseal: SecretState, escrow: SecretState | undefined, shares: string[]): Promise<void> {
  const { s, kube } = run;
  let last: unknown;
  for (let attempt = 0; attempt < 5 && run.budget.leftMs() > 10_000; attempt++) {
    try {
      const current = attempt === 0 ? unseal : await readSecret(kube, s.namespace, s.unsealSecretName);
      if (sharesOf(current).join() !== shares.join()) await writeSecret(kube, s.namespace, current, shareData(shares), NOTE);
      if (escrow && s.escrowRecipient) {
        const now = attempt === 0 ? escrow : await readSecret(kube, s.namespace, s.escrowSecretName);
        if (!now.data[BOOTSTRAP_DEFAULTS.escrowKey]) await writeSecret(kube, s.namespace, now, escrowData(s.escrowRecipient, BOOTSTRAP_DEFAULTS.escrowKey, shares), NOTE);
      }
      return;
    } catch (error) {
      last = error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  // The escrow is encrypted to the site's recipient: printing it is the one way left not to lose the shares.
  const rescue = s.escrowRecipient
    ? `; the escrow follows, encrypted to ${s.escrowRecipient} (save it, then \`base64 -d | age -d -i <key>\`): ${escrowData(s.escrowRecipient, 'x', shares).x.toString('base64')}`
    : '';
  throw needsHuman(`the shares of the new vault could not be stored in the Secret ${s.unsealSecretName} (${reason(last)}): `
    + `vault is unsealed now and will not unseal after its next restart${rescue}`);
}

/** Unseals with the shares in memory; a reset by the unseal CronJob's concurrent attempt is tried again. */
async function unsealNew(run: Run, addr: string, shares: string[]): Promise<void> {
  const named = shares.map((value, i) => ({ name: `share-${i + 1}`, value }));
  const api = vaultApi(addr, run.budget, lookupOf(run.io), { ca: run.s.vaultCa });
  let outcome: Outcome | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    outcome = await attemptUnseal(api, () => named, run.s.unsealSecretName, run.say, run.budget.leftMs);
    if (outcome.exitCode === 0 || outcome.exitCode === 2) break;
  }
  if (outcome!.exitCode !== 0) throw new RunError(outcome!.message, outcome!.exitCode === 2 ? 2 : 1);
}

/** Refuses to initialize over stored shares: they may be the only way to read the snapshots of a Vault that was lost. */
function refuseStoredShares(run: Run, addr: string, secrets: SecretState[]): void {
  const { s } = run;
  for (const secret of secrets.filter((x) => Object.keys(x.data).length > 0)) {
    throw needsHuman(`vault at ${addr} is not initialized, yet the Secret ${secret.name} holds ${Object.keys(secret.data).length} key(s): `
      + 'the job never initializes over stored shares (a snapshot of the lost Vault needs them); restore a snapshot (docs/backups.md); '
      + `only if those shares belong to nothing${s.pods ? ' (and no other pod holds the cluster)' : ''}, move the Secret aside `
      + `(\`kubectl -n ${s.namespace} get secret ${secret.name} -o yaml > saved.yaml\`, then delete it)`);
  }
}

export async function initializeVault(run: Run, addr: string, call: VaultCall): Promise<Outcome> {
  const { s, kube, say } = run;
  const unseal = await readSecret(kube, s.namespace, s.unsealSecretName);
  const escrow = s.escrowRecipient ? await readSecret(kube, s.namespace, s.escrowSecretName) : undefined;
  refuseStoredShares(run, addr, [unseal, ...(escrow ? [escrow] : [])]);
  const placeholder = Array.from({ length: s.shares }, () => '00'.repeat(33));
  await writeSecret(kube, s.namespace, unseal, shareData(placeholder), NOTE, true);
  if (escrow && s.escrowRecipient) await writeSecret(kube, s.namespace, escrow, escrowData(s.escrowRecipient, BOOTSTRAP_DEFAULTS.escrowKey, placeholder), NOTE, true);
  if (run.budget.leftMs() < INIT_RESERVE_MS) return retry('too little of the run is left to initialize vault safely: the next run does');
  say(`vault at ${addr} is not initialized: the Secrets are writable (dry run); initializing with ${s.shares} shares, threshold ${s.threshold}`);
  // From sys/init until every root token is revoked, a stop signal waits: cut there, the shares or a root token are lost.
  return whileHolding('the new vault\'s shares and root token are held in memory only', async () => {
    const init = await initialize(call, s.shares, s.threshold, INIT_CALL_TIMEOUTS * s.timeoutMs);
    let stored: unknown;
    try {
      await storeShares(run, unseal, escrow, init.shares);
      say(`stored ${init.shares.length} shares in the Secret ${s.unsealSecretName}${escrow ? ` and the escrow in ${s.escrowSecretName}` : ' (escrow waived)'}`);
    } catch (error) {
      stored = error;
    }
    try {
      await unsealNew(run, addr, init.shares);
      await awaitActive(run, addr);
    } catch (error) {
      // Sealed, Vault refuses to revoke: the init root stays valid until a human revokes it (its message says how).
      await revoke(call, init.rootToken, 'root token from sys/init', true).catch(() => undefined);
      throw needsHuman(`${stored === undefined ? '' : `${reason(stored)}; `}vault did not unseal after init (${reason(error)}): `
        + 'the root token from init could not be revoked while it is sealed; unseal it (the unseal CronJob does), then revoke that token as an admin');
    }
    if (stored !== undefined) {
      await revoke(call, init.rootToken, 'root token from sys/init', true);
      throw stored;
    }
    const short = await retireRoot(call, init.rootToken, 'root token from sys/init');
    return withShortRoot(call, short, (token) => keepAsDeclared(run, addr, token, 'all'));
  });
}
