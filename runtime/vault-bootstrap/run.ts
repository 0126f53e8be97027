// What every phase of a bootstrap run shares: its settings and budget, the API server, the log; applying the plan with
// whatever token the run holds; and the rule for root tokens: a root token (from init or generate-root, which never
// expires) is exchanged at once for an orphan root-policy token that expires in 5 minutes, then revoked and proven
// gone; the run works with the short-lived token and revokes it at the end. A run killed midway (the Job's deadline)
// so leaves at most a token that expires by itself.
import { BOOTSTRAP_DEFAULTS } from '../common/bootstrap-variables';
import { Budget } from '../common/budget';
import { notYet, RunError } from '../common/failure';
import { Io, lookupOf } from '../common/io';
import { KubeApi } from '../common/kube';
import { reason } from '../common/log';
import { whileHolding } from '../common/main';
import { finished, Outcome } from '../common/retry';
import { vaultApi } from '../common/vault';
import { vaultClient } from '../common/vault-config/vault-client';
import { configure, recordWarning, Writes } from './configure';
import { SecretState } from './secrets';
import { BootstrapSettings } from './settings';
import { revoke, SHORT_ROOT_SECONDS, shortLivedRoot, VaultCall } from './tokens';

export interface Run {
  readonly s: BootstrapSettings;
  readonly budget: Budget;
  readonly kube: KubeApi;
  readonly io: Io;
  readonly say: (line: string) => void;
}

export const NOTE = 'written by the vault-bootstrap CronJob; not in dist/ (GitOps would overwrite it): never delete it';

/** A Secret's shares, in key order. */
export const sharesOf = (secret: SecretState) => Object.keys(secret.data).sort().map((key) => secret.data[key]);

/** Applies the plan with `token`, then says what was written, what is missing, and fails on drift (with an Event). */
export async function keepAsDeclared(run: Run, addr: string, token: string, writes: Writes): Promise<Outcome> {
  const { s, say } = run;
  const vault = vaultClient({
    addr, token, timeoutMs: s.timeoutMs, callMs: run.budget.callMs, ca: s.vaultCa, lookup: lookupOf(run.io),
    unreachable: 'the next run tries again', denied: `the job's policy ${s.role} lacks it: run \`npm run vault-setup -- apply\`, which writes that policy from dist/`,
  });
  const result = await configure(vault, s.want, writes, { authMount: s.authMount, role: s.role });
  result.written.forEach(say);
  if (result.drift.length > 0) {
    const why = s.mode === 'report' ? 'report mode writes nothing' : 'the job may not write it';
    const message = `vault differs from dist/ at ${result.drift.join(', ')} (${why}): run \`npm run vault-setup -- plan\` to see how, and \`-- apply\``;
    await recordWarning(run.kube, s.namespace, BOOTSTRAP_DEFAULTS.name, 'VaultDrift', message, Date.now(), say);
    return finished(message, 2);
  }
  const missing = result.missing.length > 0
    ? `; ${result.missing.length} secret${result.missing.length === 1 ? '' : 's'} missing (${result.missing.join(', ')}): write them as the secret writer (docs/bootstrap.md)`
    : '';
  return finished(`vault at ${addr} is as dist/ declares (${result.written.length} written, read back)${missing}`);
}

/** A failure, and what failed after it, on one line. */
const both = (first: unknown, then: unknown) => (first === undefined ? reason(then) : `${reason(first)}; then ${reason(then)}`);

/**
 * Exchanges `root` for a short-lived token and revokes `root`, proven gone: the short-lived token, or a RunError (exit
 * 2 when `root` may still be valid). Stop signals wait for it: this is where a root token that never expires lives.
 */
export async function retireRoot(call: VaultCall, root: string, what: string): Promise<string> {
  return whileHolding(`revoking the ${what}`, async () => {
    let short: string | undefined;
    let failure: unknown;
    try {
      short = await shortLivedRoot(call, root);
    } catch (error) {
      failure = error;
    }
    try {
      await revoke(call, root, what, true);
    } catch (error) {
      const left = short === undefined ? '' : ` (the short-lived token made from it expires within ${SHORT_ROOT_SECONDS / 60} minutes)`;
      throw new RunError(`${both(failure, error)}${left}`, 2);
    }
    if (short === undefined) throw failure;
    return short;
  });
}

/**
 * Runs `work` with the short-lived token `retireRoot` gave, and revokes it whatever happens; a token that cannot be
 * revoked fails the run, exit 2 (it expires within 5 minutes anyway).
 */
export async function withShortRoot(call: VaultCall, short: string, work: (token: string) => Promise<Outcome>): Promise<Outcome> {
  let outcome: Outcome | undefined;
  let failure: unknown;
  try {
    outcome = await work(short);
  } catch (error) {
    failure = error;
  }
  try {
    await revoke(call, short, 'short-lived root token', true);
  } catch (error) {
    return finished(`${both(failure, error)} (it expires within ${SHORT_ROOT_SECONDS / 60} minutes anyway)`, 2);
  }
  if (failure !== undefined) throw failure;
  return outcome!;
}

/** Waits, while the run lasts, for the Vault at `addr` to be active (health 200, not a standby). */
export async function awaitActive(run: Run, addr: string): Promise<void> {
  const api = vaultApi(addr, run.budget, lookupOf(run.io), { ca: run.s.vaultCa });
  while (run.budget.leftMs() > 1000) {
    const health = await api.health().catch(() => undefined);
    if (health?.status === 200 && health.json?.standby !== true) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw notYet(`vault at ${addr} did not become active after unsealing: the next run configures it`);
}
