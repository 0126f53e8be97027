// vault-bootstrap: takes Vault from uninitialized to serving every AppSecret, and keeps it so. Bundled by esbuild and
// run every minute by the CronJob of lib/vault-bootstrap.ts; configured by environment variables (settings.ts).
// - Vault uninitialized (on Raft: pod 0): it proves the unseal Secret and the escrow writable (a dry run), calls
//   `sys/init`, stores the shares (one per key, where the unseal CronJob reads them) and the escrow (every share,
//   encrypted to the site's age recipient), unseals, applies the plan with the root token, and revokes the root token
//   in a finally, proving with `lookup-self` that it is gone. It never initializes over stored shares.
// - Vault initialized: it logs in as its own Kubernetes-auth role and applies what is missing (report mode: nothing);
//   without that role it mints a short-lived root from the stored shares (`sys/generate-root`) and revokes it the same
//   way; with neither (a Vault a human initialized) it stops and names `npm run vault-setup -- apply`.
// Exit codes: 0 Vault is as declared (secrets a human has not written yet are listed, not a failure); 1 not yet
// (unreachable, sealed, a failed call: the next run retries); 2 a human is needed (drift it may not correct, a
// Secret it may not write, a Vault it did not initialize, a malformed setting), with a Warning Event for drift.
import { BOOTSTRAP_DEFAULTS } from './common/bootstrap-variables';
import { Budget } from './common/budget';
import { needsHuman, notYet, outcomeOf, RunError } from './common/failure';
import { Io, lookupOf } from './common/io';
import { kubeApi, KubeApi } from './common/kube';
import { logTo, processOutput, reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env } from './common/settings';
import { isUninitialized, vaultApi } from './common/vault';
import { VaultAnswerError, vaultClient } from './common/vault-config/vault-client';
import { attemptUnseal } from './unseal/attempt';
import { configure, recordDrift, Writes } from './vault-bootstrap/configure';
import { escrowData, readSecret, SecretState, shareData, writeSecret } from './vault-bootstrap/secrets';
import { BootstrapSettings, readBootstrapSettings } from './vault-bootstrap/settings';
import { generateRoot, initialize, login, revoke, VaultCall, vaultCaller } from './vault-bootstrap/tokens';

/** What a run must have left to call `sys/init`: storing the shares, unsealing and revoking follow within the run. */
const INIT_RESERVE_MS = 20_000;
const NOTE = 'written by the vault-bootstrap CronJob; not in dist/ (GitOps would overwrite it): never delete it';

interface Run {
  readonly s: BootstrapSettings;
  readonly budget: Budget;
  readonly kube: KubeApi;
  readonly io: Io;
  readonly say: (line: string) => void;
}

const sharesOf = (secret: SecretState) => Object.keys(secret.data).sort().map((key) => secret.data[key]);

/** The Vault a run configures: on Raft the active pod (health 200), else VAULT_ADDR; undefined while none is active. */
async function activeAddr({ s, budget, io }: Run): Promise<string | undefined> {
  for (const addr of s.pods ? s.pods.map((p) => p.url) : [s.vaultAddr]) {
    const health = await vaultApi(addr, budget, lookupOf(io), { ca: s.vaultCa }).health().catch(() => undefined);
    if (health?.status === 200 && health.json?.standby !== true) return addr;
  }
  return undefined;
}

/** Applies the plan with `token`, then says what was written, what is missing, and fails on drift (with an Event). */
async function keepAsDeclared(run: Run, addr: string, token: string, writes: Writes): Promise<Outcome> {
  const { s, say } = run;
  const vault = vaultClient({
    addr, token, timeoutMs: run.budget.callMs(), ca: s.vaultCa, lookup: lookupOf(run.io),
    unreachable: 'the next run tries again', denied: `the job's policy ${s.role} lacks it: run \`npm run vault-setup -- apply\`, which writes that policy from dist/`,
  });
  const result = await configure(vault, s.want, writes, { authMount: s.authMount, role: s.role });
  result.written.forEach(say);
  if (result.drift.length > 0) {
    const why = s.mode === 'report' ? 'report mode writes nothing' : 'the job may not write it';
    const message = `vault differs from dist/ at ${result.drift.join(', ')} (${why}): run \`npm run vault-setup -- plan\` to see how, and \`-- apply\``;
    await recordDrift(run.kube, s.namespace, BOOTSTRAP_DEFAULTS.name, message, Date.now(), say);
    return finished(message, 2);
  }
  const missing = result.missing.length > 0
    ? `; ${result.missing.length} secret${result.missing.length === 1 ? '' : 's'} missing (${result.missing.join(', ')}): write them as the secret writer (docs/bootstrap.md)`
    : '';
  return finished(`vault at ${addr} is as dist/ declares (${result.written.length} written, read back)${missing}`);
}

/** Runs `work` with a root token and revokes it whatever happens, proving it gone; both failures are said. */
async function withRoot(call: VaultCall, token: string, what: string, work: () => Promise<Outcome>): Promise<Outcome> {
  let outcome: Outcome | undefined;
  let failure: unknown;
  try {
    outcome = await work();
  } catch (error) {
    failure = error;
  }
  try {
    await revoke(call, token, what, true);
  } catch (error) {
    const before = failure === undefined ? '' : `${reason(failure)}; then `;
    return finished(`${before}${reason(error)}`, 2);
  }
  if (failure !== undefined) throw failure;
  return outcome!;
}

/** Stores the shares and the escrow, retrying while the run lasts: after init they exist nowhere else. */
async function storeShares(run: Run, unseal: SecretState, escrow: SecretState | undefined, shares: string[]): Promise<void> {
  const { s, kube } = run;
  let last: unknown;
  for (let attempt = 0; attempt < 5 && run.budget.leftMs() > 2000; attempt++) {
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
    ? `; the escrow follows, encrypted to ${s.escrowRecipient} (save it, \`base64 -d | age -d\`): ${escrowData(s.escrowRecipient, 'x', shares).x.toString('base64')}`
    : '';
  throw needsHuman(`the shares of the new vault could not be stored in the Secret ${s.unsealSecretName} (${reason(last)}): vault stays unsealed until its next restart${rescue}`);
}

/** Day 0: init with the Secrets proven writable first, store, unseal, configure with the root token, revoke it. */
async function initializeVault(run: Run, addr: string, call: VaultCall): Promise<Outcome> {
  const { s, kube, say } = run;
  const unseal = await readSecret(kube, s.namespace, s.unsealSecretName);
  const escrow = s.escrowRecipient ? await readSecret(kube, s.namespace, s.escrowSecretName) : undefined;
  for (const secret of [unseal, ...(escrow ? [escrow] : [])]) {
    if (Object.keys(secret.data).length > 0) {
      throw needsHuman(`vault at ${addr} is not initialized, yet the Secret ${secret.name} holds ${Object.keys(secret.data).length} key(s): `
        + 'the job never initializes over stored shares (a snapshot of the lost Vault needs them); restore a snapshot (docs/backup.md), '
        + `or if those shares belong to nothing, move the Secret aside (\`kubectl -n ${s.namespace} get secret ${secret.name} -o yaml > saved.yaml\`, then delete it)`);
    }
  }
  const placeholder = Array.from({ length: s.shares }, () => '00'.repeat(33));
  await writeSecret(kube, s.namespace, unseal, shareData(placeholder), NOTE, true);
  if (escrow && s.escrowRecipient) await writeSecret(kube, s.namespace, escrow, escrowData(s.escrowRecipient, BOOTSTRAP_DEFAULTS.escrowKey, placeholder), NOTE, true);
  if (run.budget.leftMs() < INIT_RESERVE_MS) return retry('too little of the run is left to initialize vault safely: the next run does');
  say(`vault at ${addr} is not initialized: the Secrets are writable (dry run); initializing with ${s.shares} shares, threshold ${s.threshold}`);
  const init = await initialize(call, s.shares, s.threshold);
  return withRoot(call, init.rootToken, 'root token from sys/init', async () => {
    await storeShares(run, unseal, escrow, init.shares);
    say(`stored ${init.shares.length} shares in the Secret ${s.unsealSecretName}${escrow ? ` and the escrow in ${s.escrowSecretName}` : ' (escrow waived)'}`);
    const shares = init.shares.map((value, i) => ({ name: `share-${i + 1}`, value }));
    const unsealed = await attemptUnseal(vaultApi(addr, run.budget, lookupOf(run.io), { ca: s.vaultCa }), () => shares, s.unsealSecretName, say, run.budget.leftMs);
    if (unsealed.exitCode !== 0) throw new RunError(unsealed.message, unsealed.exitCode === 2 ? 2 : 1);
    await awaitActive(run, addr);
    return keepAsDeclared(run, addr, init.rootToken, 'all');
  });
}

async function awaitActive(run: Run, addr: string): Promise<void> {
  const api = vaultApi(addr, run.budget, lookupOf(run.io), { ca: run.s.vaultCa });
  while (run.budget.leftMs() > 1000) {
    const health = await api.health().catch(() => undefined);
    if (health?.status === 200 && health.json?.standby !== true) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw notYet(`vault at ${addr} did not become active after unsealing: the next run configures it`);
}

/**
 * A Vault initialized before the bootstrap (by a human, shares stored by hand) has no escrow: one is written from the
 * stored shares as soon as the job sees them, so that losing the Secret never loses Vault.
 */
async function escrowStoredShares(run: Run, shares: string[]): Promise<void> {
  const { s, kube, say } = run;
  if (!s.escrowRecipient || shares.length === 0) return;
  const escrow = await readSecret(kube, s.namespace, s.escrowSecretName);
  if (escrow.data[BOOTSTRAP_DEFAULTS.escrowKey]) return;
  await writeSecret(kube, s.namespace, escrow, escrowData(s.escrowRecipient, BOOTSTRAP_DEFAULTS.escrowKey, shares), NOTE);
  say(`escrowed the ${shares.length} shares of the Secret ${s.unsealSecretName} in ${s.escrowSecretName}: save it (docs/bootstrap.md, "The escrow")`);
}

/** Later runs: the job's own identity, else a root generated from the stored shares, else a human. */
async function keepVault(run: Run): Promise<Outcome> {
  const { s } = run;
  await escrowStoredShares(run, sharesOf(await readSecret(run.kube, s.namespace, s.unsealSecretName)));
  const addr = await activeAddr(run);
  if (!addr) return retry(`no active vault at ${s.pods ? s.pods.map((p) => p.name).join(', ') : s.vaultAddr} (sealed or starting): the unseal CronJob unseals it`);
  const call = vaultCaller(addr, run.budget, lookupOf(run.io), s.vaultCa);
  const token = await login(call, s.authMount, s.role, s.tokenFile);
  if (token) {
    try {
      return await keepAsDeclared(run, addr, token, s.mode === 'report' ? 'none' : 'not own');
    } finally {
      await revoke(call, token, 'job\'s token', false).catch(() => undefined);
    }
  }
  const shares = sharesOf(await readSecret(run.kube, s.namespace, s.unsealSecretName));
  if (shares.length === 0) {
    return finished(`vault at ${addr} was initialized outside this job (the Secret ${s.unsealSecretName} holds no shares) and its role `
      + `${s.authMount}/${s.role} does not admit this pod: run \`npm run vault-setup -- apply\`, which creates the job's role and policy; sys/init is never called`, 2);
  }
  run.say(`role ${s.authMount}/${s.role} does not admit this pod yet: generating a short-lived root token from the stored shares`);
  const root = await generateRoot(call, shares);
  return withRoot(call, root, 'generated root token', () => keepAsDeclared(run, addr, root, s.mode === 'report' ? 'identity' : 'all'));
}

export function main(env: Env = process.env, io: Io = processOutput): Promise<number> {
  const out = logTo(io);
  return runScript(env, readBootstrapSettings, async (s, budget) => {
    const kube = kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, budget });
    const run: Run = { s, budget, kube, io, say: out.log };
    try {
      const addr = s.pods ? s.pods[0].url : s.vaultAddr;
      const call = vaultCaller(addr, budget, lookupOf(io), s.vaultCa);
      const status = await call('GET', '/v1/sys/seal-status');
      if (isUninitialized(status)) return await initializeVault(run, addr, call);
      if (status.status !== 200 || typeof status.json?.initialized !== 'boolean') {
        return retry(`GET /v1/sys/seal-status at ${addr} answered HTTP ${status.status}: not vault's seal status yet`);
      }
      return await keepVault(run);
    } catch (error) {
      // Vault refusing the job's own identity is not cured by waiting: its policy must be written again.
      if (error instanceof VaultAnswerError && error.status === 403) return finished(error.message, 2);
      return outcomeOf(error);
    }
  }, out);
}

if (require.main === module) start(() => main());
