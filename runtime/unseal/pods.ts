import { isIP } from 'net';
import { Budget } from '../common/budget';
import { outcomeOf } from '../common/failure';
import { Lookup } from '../common/io';
import { finished, Outcome, retry } from '../common/retry';
import { Env, readUrl } from '../common/settings';
import { CaFile } from '../common/tls';
import { isUninitialized, vaultApi, VaultApi } from '../common/vault';
import { UNSEAL_ENV } from '../common/unseal-variables';

// Vault on Raft: every pod is sealed on its own after a restart and is unsealed on its own, with the same shares. The
// job gets every pod's address (the headless Service's pod DNS names) and unseals each sealed pod, in parallel, inside
// one run deadline. What it concludes of the whole:
// - a pod whose name does not exist (ENOTFOUND, ENODATA: not scheduled, scaled down, its volume not attached yet)
//   is reported, not a failure of its own; a lookup that fails for now (EAI_AGAIN) or hangs is a retry (1);
// - a pod that exists and does not answer (refused, hanging, a server error) is a failure the next run retries (1);
// - a pod answering "not initialized" while a peer is initialized is a new node that has not joined yet (retry_join
//   keeps trying; once it has found the leader it reports initialized and takes the same shares): retry (1);
// - every pod listed answering "not initialized": the cluster was never initialized, a human must (2); while a pod
//   does not exist it may be the one holding the data (after the migration vault-0 has no address until its volume
//   attaches), so "not initialized" on the others then is a retry (1) naming the missing pods, never advice to init;
// - no pod exists at all: nothing is up yet, a retry (1), not "done";
// - shares rejected, missing or too few (the single-pod rules, per pod): a human (2);
// - a pod whose certificate fails (expired, another CA, a name it lacks, TLS on one side only): a human (2).
// With TLS every pod's URL is https, as VAULT_ADDR is, and names the pod by its DNS name through the headless Service,
// the name Vault's certificate lists for it (an IP would be checked against the certificate's IP addresses).
// Exit 0 only when every pod that exists is unsealed.

const VAULT_PODS = UNSEAL_ENV.pods;

export interface Pod {
  /** The pod's name: the first label of its host name (vault-0 of vault-0.vault-internal...). */
  readonly name: string;
  readonly url: string;
}

/** The pods of `VAULT_PODS`, or undefined when it is unset (one Vault at `VAULT_ADDR`, whose scheme they share). */
export function readPods(env: Env, vaultAddr: string): Pod[] | undefined {
  const value = env[VAULT_PODS];
  if (value === undefined) return undefined;
  const urls = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const scheme = new URL(vaultAddr).protocol;
  const pods = urls.map((url, i) => {
    const item = `${VAULT_PODS} item ${i + 1}`;
    const parsed = readUrl({ [item]: url }, item, '');
    const { protocol, hostname } = new URL(parsed);
    if (protocol !== scheme) {
      throw new Error(`invalid ${item}: got ${JSON.stringify(url)}, expected a URL with VAULT_ADDR's scheme (${scheme}//): TLS is on for every pod or for none`);
    }
    if (protocol === 'https:' && isIP(hostname.replace(/^\[|\]$/g, ''))) {
      throw new Error(`invalid ${item}: got ${JSON.stringify(url)}, expected the pod's DNS name through the headless Service (the name vault's certificate lists), not an IP`);
    }
    return { name: hostname.split('.')[0], url: parsed };
  });
  const names = pods.map((p) => p.name);
  if (pods.length === 0 || new Set(names).size !== names.length) {
    throw new Error(`invalid ${VAULT_PODS}: got ${JSON.stringify(value)}, expected a comma-separated list of pod URLs with distinct host names, such as "http://vault-0.vault-internal:8200,http://vault-1.vault-internal:8200"`);
  }
  return pods;
}

/** What one pod's attempt found. */
type PodState =
  | { kind: 'absent'; detail: string }
  | { kind: 'uninitialized' }
  | { kind: 'done'; outcome: Outcome };

/**
 * Resolves when the name resolves; the error code when the name does not exist (ENOTFOUND, ENODATA); throws on a
 * lookup that fails for now (EAI_AGAIN: the resolver did not answer, as during a cold start) or hangs.
 */
function resolves(host: string, budget: Budget, lookup: Lookup): Promise<string | undefined> {
  if (/^[\d.]+$|^\[/.test(host)) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the lookup of ${host} got no answer`)), budget.callMs());
    lookup(host, (error) => {
      clearTimeout(timer);
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') resolve(code);
      else if (code === 'EAI_AGAIN') reject(new Error(`the lookup of ${host} failed for now (EAI_AGAIN): DNS did not answer, retrying`));
      else if (error) reject(error);
      else resolve(undefined);
    });
  });
}

async function podState(
  pod: Pod, budget: Budget, unsealOne: (vault: VaultApi) => Promise<Outcome>, lookup: Lookup, ca?: CaFile,
): Promise<PodState> {
  try {
    const missing = await resolves(new URL(pod.url).hostname, budget, lookup);
    if (missing) return { kind: 'absent', detail: missing };
    const vault = vaultApi(pod.url, budget, lookup, { ca, addressVariable: VAULT_PODS });
    // The single-pod attempt would call "not initialized" a human's job; here it depends on the peers.
    await vault.checkPort();
    if (isUninitialized(await vault.sealStatus())) return { kind: 'uninitialized' };
    return { kind: 'done', outcome: await unsealOne(vault) };
  } catch (error) {
    // A certificate problem needs a human (2); anything else is retried.
    return { kind: 'done', outcome: outcomeOf(error) };
  }
}

function describe(state: PodState): string {
  if (state.kind === 'absent') return `does not exist (its name does not resolve: ${state.detail}): not scheduled or scaled down`;
  if (state.kind === 'uninitialized') return 'not initialized';
  return state.outcome.message.replace(/^vault at \S+ /, '');
}

/**
 * An attempt on every pod at once; `unsealOne` is the single-pod attempt, given each pod's API (its name resolved by
 * `lookup`, trusting `ca`). Says each pod's state when it changes (`seen` keeps the last line per pod across the run's
 * attempts).
 */
export async function attemptUnsealPods(
  pods: Pod[], budget: Budget, unsealOne: (vault: VaultApi) => Promise<Outcome>, seen: Map<string, string>,
  say: (line: string) => void, lookup: Lookup, ca?: CaFile,
): Promise<Outcome> {
  const states = await Promise.all(pods.map((pod) => podState(pod, budget, unsealOne, lookup, ca)));
  // A pod that got as far as its shares (unsealed, or a human needed for them) reported itself initialized.
  const initializedPeer = states.some((s) => s.kind === 'done' && s.outcome.done);
  const lines = pods.map((pod, i) => {
    const s = states[i];
    const text = s.kind === 'uninitialized' && initializedPeer ? 'not initialized while its peers are: a new node that has not joined yet, retrying' : describe(s);
    return `${pod.name}: ${text}`;
  });
  // Logged when a pod's state changes; once unsealed, "is unsealed" on the next attempt is no news.
  pods.forEach((pod, i) => {
    const key = lines[i].replace(/: (unsealed with .*|is unsealed)$/, ': unsealed');
    if (seen.get(pod.name) !== key) say(lines[i]);
    seen.set(pod.name, key);
  });
  const unsealed = (s: PodState) => s.kind === 'done' && s.outcome.done && s.outcome.exitCode === 0;
  const list = (keep: (s: PodState) => boolean) => lines.filter((_, i) => keep(states[i])).join('; ');
  const existing = states.filter((s) => s.kind !== 'absent');
  const absent = pods.filter((_, i) => states[i].kind === 'absent').map((p) => p.name);
  const absentNote = absent.length ? ` (${absent.join(', ')} ${absent.length === 1 ? 'does' : 'do'} not exist)` : '';
  if (existing.length === 0) {
    return retry(`no Vault pod exists yet (no name resolves): nothing to unseal before one is scheduled: ${pods.map((p) => p.name).join(', ')}`);
  }
  if (states.some((s) => s.kind === 'done' && s.outcome.done && s.outcome.exitCode === 2)) {
    return finished(`a human is needed: ${list((s) => s.kind === 'done' && s.outcome.exitCode === 2)}`, 2);
  }
  const uninitialized = states.filter((s) => s.kind === 'uninitialized');
  if (uninitialized.length === existing.length && absent.length > 0) {
    // The missing pod may hold the data (its volume not attached yet): initializing here would start a second cluster.
    return retry(`no pod that exists is initialized, and ${absent.join(', ')} ${absent.length === 1 ? 'does' : 'do'} not exist yet `
      + `and may hold the data: wait for ${absent.length === 1 ? 'it' : 'them'} to start; do not run \`vault operator init\` `
      + `unless every pod exists and reports not initialized; ${list(() => true)}`);
  }
  if (uninitialized.length === existing.length) {
    return finished(`vault is not initialized on any pod: run \`vault operator init\` on one pod (the others join it), then store the unseal shares in the Secret; ${list(() => true)}`, 2);
  }
  if (existing.some((s) => !unsealed(s))) return retry(`not every pod is unsealed yet: ${list((s) => s.kind !== 'absent' && !unsealed(s))}`);
  return finished(`every pod that exists is unsealed: ${pods.filter((_, i) => states[i].kind !== 'absent').map((p) => p.name).join(', ')}${absentNote}`);
}
