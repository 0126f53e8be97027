// vault-bootstrap: takes Vault from uninitialized to serving every AppSecret, and keeps it so. Bundled by esbuild and
// run every minute by the CronJob of lib/vault-bootstrap.ts; configured by environment variables (settings.ts).
// - Vault uninitialized (on Raft: pod 0, while no other pod is initialized): it proves the unseal Secret and the
//   escrow writable (a dry run), calls `sys/init`, stores the shares (one per key, where the unseal CronJob reads them)
//   and the escrow (every share, encrypted to the site's age recipient), unseals, exchanges the root token for one that
//   expires in 5 minutes, revokes the root token and proves it gone, applies the plan, and revokes the short-lived
//   token too (vault-bootstrap/initialize.ts, run.ts). It never initializes over stored shares.
// - Vault initialized: it logs in as its own Kubernetes-auth role and applies what is missing (report mode: nothing);
//   when Vault has no such role it mints a root from the stored shares (`sys/generate-root`) and uses it the same way;
//   with no shares stored (a Vault a human initialized) it stops and names `npm run vault-setup -- apply`.
// Exit codes: 0 Vault is as declared (secrets a human has not written yet are listed, not a failure); 1 not yet
// (unreachable, sealed, a failed call, a login Vault denies: the next run retries); 2 a human is needed (drift it may
// not correct, a Secret it may not write, a Vault it did not initialize, a malformed setting), with a Warning Event for drift.
import { BOOTSTRAP_DEFAULTS } from './common/bootstrap-variables';
import { outcomeOf, RunError } from './common/failure';
import { Io, lookupOf } from './common/io';
import { kubeApi } from './common/kube';
import { logTo, processOutput, reason } from './common/log';
import { runScript, start, whileHolding } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env } from './common/settings';
import { isUninitialized, sealStatus, vaultApi } from './common/vault';
import { VaultAnswerError } from './common/vault-config/vault-client';
import { initializeVault, markUnrevoked } from './vault-bootstrap/initialize';
import { keepAsDeclared, NOTE, retireRoot, Run, sharesOf, withShortRoot } from './vault-bootstrap/run';
import { escrowData, readSecret, UNREVOKED_ANNOTATION, writeSecret } from './vault-bootstrap/secrets';
import { readBootstrapSettings } from './vault-bootstrap/settings';
import { generateRoot, login, revoke, REVOKE_BY_HAND, vaultCaller } from './vault-bootstrap/tokens';

/** The Vault a run configures: on Raft the active pod (health 200), else VAULT_ADDR; undefined while none is active. */
async function activeAddr({ s, budget, io }: Run): Promise<string | undefined> {
  for (const addr of s.pods ? s.pods.map((p) => p.url) : [s.vaultAddr]) {
    const health = await vaultApi(addr, budget, lookupOf(io), { ca: s.vaultCa }).health().catch(() => undefined);
    if (health?.status === 200 && health.json?.standby !== true) return addr;
  }
  return undefined;
}

/**
 * On Raft, a pod that answers "not initialized" while a peer is initialized is rejoining (retry_join), perhaps with a
 * new, empty volume: initializing it would start a second cluster behind the same Service. The peer named, if any.
 */
async function initializedPeer({ s, budget, io }: Run): Promise<string | undefined> {
  for (const pod of (s.pods ?? []).slice(1)) {
    let answer;
    try {
      answer = await vaultApi(pod.url, budget, lookupOf(io), { ca: s.vaultCa }).sealStatus();
    } catch (error) {
      // A pod whose name does not resolve does not exist (not scheduled): it holds nothing. One that exists and does
      // not answer might hold the cluster: no init until it answers.
      if (/ENOTFOUND|ENODATA/.test(reason(error))) continue;
      return `${pod.name} (which does not answer: ${reason(error)})`;
    }
    const status = sealStatus(answer);
    if (status?.initialized || (status && status.n > 0)) return pod.name;
  }
  return undefined;
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

/** Later runs: the job's own identity, else (Vault has no such role) a root generated from the stored shares, else a human. */
async function keepVault(run: Run): Promise<Outcome> {
  const { s } = run;
  const unseal = await readSecret(run.kube, s.namespace, s.unsealSecretName);
  const unrevoked = unseal.annotations?.[UNREVOKED_ANNOTATION];
  if (unrevoked) {
    return finished(`a root token this job held was never revoked (${unrevoked}): ${REVOKE_BY_HAND}; then remove the mark `
      + `(\`kubectl -n ${s.namespace} annotate secret ${s.unsealSecretName} ${UNREVOKED_ANNOTATION}-\`) and the next run goes on`, 2);
  }
  const shares = sharesOf(unseal);
  await escrowStoredShares(run, shares);
  const addr = await activeAddr(run);
  if (!addr) return retry(`no active vault at ${s.pods ? s.pods.map((p) => p.name).join(', ') : s.vaultAddr} (sealed or starting): the unseal CronJob unseals it`);
  const call = vaultCaller(addr, run.budget, lookupOf(run.io), s.vaultCa);
  const own = await login(call, s.authMount, s.role, s.tokenFile);
  if ('token' in own) {
    try {
      return await keepAsDeclared(run, addr, own.token, s.mode === 'report' ? 'none' : 'not own');
    } finally {
      await revoke(call, own.token, 'job\'s token', false).catch(() => undefined);
    }
  }
  if (shares.length === 0) {
    return finished(`vault at ${addr} was initialized outside this job (the Secret ${s.unsealSecretName} holds no shares) and refuses its login `
      + `as ${s.authMount}/${s.role} (${own.reason}): run \`npm run vault-setup -- apply\`, which creates the job's role and policy; sys/init is never called. `
      + `If a run of this job initialized it and could not store the shares, its Warning Event VaultSharesNotStored holds them, encrypted to the escrow's key`, 2);
  }
  if (own.refused === 'denied') {
    // The role exists (or the auth method does not): a root token would not cure a TokenReview that fails.
    return retry(`vault denied the job's login as ${s.authMount}/${s.role} (${own.reason}): if the role exists, vault's TokenReview of the pod's `
      + 'token fails (vault\'s ServiceAccount needs system:auth-delegator, and to reach the API server); if the auth method is not enabled, '
      + 'run `npm run vault-setup -- apply`');
  }
  run.say(`vault has no role ${s.authMount}/${s.role} yet: generating a root token from the stored shares, for this run only`);
  // Until the root tokens are revoked, a stop signal waits.
  return whileHolding('revoking a generated root token', async () => {
    const generated = await generateRoot(call, shares);
    const short = await retireRoot(call, generated, 'generated root token').catch(async (error) => {
      if (error instanceof RunError && error.exitCode === 2) await markUnrevoked(run, 'generated root token');
      throw error;
    });
    return withShortRoot(call, short, (token) => keepAsDeclared(run, addr, token, s.mode === 'report' ? 'identity' : 'all'));
  });
}

export function main(env: Env = process.env, io: Io = processOutput): Promise<number> {
  const out = logTo(io);
  return runScript(env, readBootstrapSettings, async (s, budget) => {
    const kube = kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, budget });
    const run: Run = { s, budget, kube, io, say: out.log };
    try {
      const addr = s.pods ? s.pods[0].url : s.vaultAddr;
      const call = vaultCaller(addr, budget, lookupOf(io), s.vaultCa);
      // On Raft, pod 0 down leaves the cluster to its peers: only init needs pod 0.
      const status = s.pods ? await call('GET', '/v1/sys/seal-status').catch(() => undefined) : await call('GET', '/v1/sys/seal-status');
      if (!status) return await keepVault(run);
      if (isUninitialized(status)) {
        const peer = await initializedPeer(run);
        if (peer) return retry(`${s.pods![0].name} is not initialized while ${peer} may be: it rejoins the cluster (retry_join); it is never initialized on its own`);
        return await initializeVault(run, addr, call);
      }
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
