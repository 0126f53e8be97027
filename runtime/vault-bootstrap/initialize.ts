// Day 0: an uninitialized Vault (on Raft, pod 0 while no peer is initialized). The Secrets are proven writable before
// `sys/init` (a dry run), the shares stored and escrowed right after it, Vault unsealed with the shares in memory (the
// unseal CronJob may be submitting the same ones: a reset of its progress is retried), then configured with a
// short-lived root token once the init root is revoked. Stored or not, Vault is unsealed first, so that the init root
// can always be revoked (a sealed Vault refuses even that).
import { BOOTSTRAP_DEFAULTS } from '../common/bootstrap-variables';
import { runBudget } from '../common/budget';
import { needsHuman, RunError } from '../common/failure';
import { kubeApi } from '../common/kube';
import { lookupOf } from '../common/io';
import { whileHolding } from '../common/main';
import { reason } from '../common/log';
import { Outcome, retry } from '../common/retry';
import { vaultApi } from '../common/vault';
import { attemptUnseal } from '../unseal/attempt';
import { awaitActive, keepAsDeclared, NOTE, retireRoot, Run, sharesOf, withShortRoot } from './run';
import { recordWarning } from './configure';
import { escrowData, readSecret, SecretState, shareData, UNREVOKED_ANNOTATION, writeSecret } from './secrets';
import { initialize, revoke, REVOKE_BY_HAND, VaultCall, vaultCaller } from './tokens';

/** The bound on `sys/init` itself, in call timeouts, 20 s at most: Vault sets up its storage before it answers. */
const INIT_CALL_TIMEOUTS = 4;
const INIT_CALL_MAX_MS = 20_000;
/**
 * The budget of what follows init (store, unseal, revoke, configure): its own, as init may have taken most of the
 * run's. Past the run's deadline the Job's SIGTERM waits for it (whileHolding); its SIGKILL comes 30 s later.
 */
const POST_INIT_MS = 25_000;

/** Stores the shares and the escrow, retrying while the run lasts: after init they exist nowhere else. */
async function storeShares(run: Run, unseal: SecretState, escrow: SecretState | undefined, shares: string[]): Promise<void> {
  const { s, kube } = run;
  let last: unknown;
  for (let attempt = 0; attempt < 5 && (attempt === 0 || run.budget.leftMs() > 3000); attempt++) {
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
  // The escrow is encrypted to the site's recipient: printing it, and putting it in a Warning Event (kept an hour, while
  // the Job's log goes with the Job), is the one way left not to lose the shares.
  if (s.escrowRecipient) {
    const escrowText = escrowData(s.escrowRecipient, 'x', shares).x.toString('base64');
    const line = `the shares could not be stored: their escrow, encrypted to ${s.escrowRecipient}, base64 (save it, then \`base64 -d | age -d -i <key>\`): ${escrowText}`;
    run.say(line);
    await recordWarning(kube, s.namespace, BOOTSTRAP_DEFAULTS.name, 'VaultSharesNotStored', line, Date.now(), run.say, 64 * 1024);
  }
  throw needsHuman(`the shares of the new vault could not be stored in the Secret ${s.unsealSecretName} (${reason(last)}): `
    + `vault is unsealed now and will not unseal after its next restart${s.escrowRecipient ? '; their escrow is printed above and in the Warning Event VaultSharesNotStored' : ' (escrow waived: they are lost)'}`);
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

/**
 * Marks a root token the job could not revoke, so that every later run fails (exit 2) until a human revokes it: on
 * the unseal Secret (an annotation) when it holds the shares, and as a Warning Event. Best effort: the run's own
 * outcome says it too.
 */
export async function markUnrevoked(run: Run, what: string): Promise<void> {
  const { s, kube, say } = run;
  const mark = `${new Date().toISOString()} ${what}`;
  await recordWarning(kube, s.namespace, BOOTSTRAP_DEFAULTS.name, 'RootTokenNotRevoked', `the ${what} could not be revoked: ${REVOKE_BY_HAND}`, Date.now(), say);
  try {
    const current = await readSecret(kube, s.namespace, s.unsealSecretName);
    if (Object.keys(current.data).length === 0) return;
    const data = Object.fromEntries(Object.entries(current.data).map(([key, value]) => [key, Buffer.from(value, 'utf8')]));
    await writeSecret(kube, s.namespace, current, data, NOTE, false, { [UNREVOKED_ANNOTATION]: mark });
  } catch (error) {
    say(`could not mark the Secret ${s.unsealSecretName} with the unrevoked ${what}: ${reason(error)}`);
  }
}

/** Revokes `root`, proven gone; a failure is marked (markUnrevoked) and thrown, after `earlier` if there was one. */
async function revokeOrMark(run: Run, call: VaultCall, root: string, what: string, earlier?: unknown): Promise<void> {
  try {
    await revoke(call, root, what, true);
  } catch (error) {
    await markUnrevoked(run, what);
    throw new RunError(`${earlier === undefined ? '' : `${reason(earlier)}; then `}${reason(error)}`, 2);
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
  const initMs = Math.min(INIT_CALL_TIMEOUTS * s.timeoutMs, INIT_CALL_MAX_MS);
  if (run.budget.leftMs() < initMs + 2000) return retry('too little of the run is left to initialize vault safely: the next run does');
  say(`vault at ${addr} is not initialized: the Secrets are writable (dry run); initializing with ${s.shares} shares, threshold ${s.threshold}`);
  // From sys/init until every root token is revoked, a stop signal waits: cut there, the shares or a root token are lost.
  return whileHolding('storing the new vault\'s shares and revoking its root tokens', async () => {
    const init = await initialize(call, s.shares, s.threshold, initMs);
    // What follows init has a budget of its own, whatever init took: the hold keeps the Job's SIGTERM away meanwhile.
    const budget = runBudget(s.timeoutMs, POST_INIT_MS);
    const after: Run = { ...run, budget, kube: kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, budget }) };
    const vault = vaultCaller(addr, budget, lookupOf(run.io), s.vaultCa);
    let stored: unknown;
    try {
      await storeShares(after, unseal, escrow, init.shares);
      say(`stored ${init.shares.length} shares in the Secret ${s.unsealSecretName}${escrow ? ` and the escrow in ${s.escrowSecretName}` : ' (escrow waived)'}`);
    } catch (error) {
      stored = error;
    }
    try {
      await unsealNew(after, addr, init.shares);
      await awaitActive(after, addr);
    } catch (error) {
      // Sealed, Vault refuses to revoke: tried anyway, and the outcome says which it was.
      const revoked = await revoke(vault, init.rootToken, 'root token from sys/init', true).then(() => true, () => false);
      if (!revoked) await markUnrevoked(after, 'root token from sys/init');
      throw needsHuman(`${stored === undefined ? '' : `${reason(stored)}; `}vault did not unseal after init (${reason(error)}): `
        + (revoked ? 'the root token from init is revoked; the unseal CronJob unseals it' : `the root token from init could not be revoked: ${REVOKE_BY_HAND}`));
    }
    if (stored !== undefined) {
      await revokeOrMark(after, vault, init.rootToken, 'root token from sys/init', stored);
      throw stored;
    }
    let short: string;
    try {
      short = await retireRoot(vault, init.rootToken, 'root token from sys/init');
    } catch (error) {
      if (error instanceof RunError && error.exitCode === 2) await markUnrevoked(after, 'root token from sys/init');
      throw error;
    }
    return withShortRoot(vault, short, (token) => keepAsDeclared(after, addr, token, 'all'));
  });
}
