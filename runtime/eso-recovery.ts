// eso-recovery: wakes External Secrets Operator once Vault is back. ESO backs off a failed reconcile up to 7 minutes per
// object, and its ExternalSecret controller does not watch stores, so after Vault returns the stores and then every
// ExternalSecret can each wait out a backoff. Both controllers reconcile at once when an annotation changes (the
// ClusterSecretStore controller has no event filter; the ExternalSecret controller refreshes on an annotation change),
// so the job annotates each store that is not Ready, waits for ESO's verdict, then annotates that store's
// ExternalSecrets that are not Ready. Bundled by esbuild into one dependency-free script and run every minute by the
// CronJob.
// Exit codes: 0 nothing to do, or done; 1 a call failed, hung or got an answer of the wrong shape, ESO's webhook refused
// the patch, or ESO did not re-check the store within the run (the next run retries); 2 a human is needed (ESO
// re-checked the store with Vault ready and it is still not ready; no token, forbidden, not found; a malformed setting;
// Vault's certificate fails: expired, from another CA than VAULT_CACERT's, lacking the name called, TLS on one side only).
import { Budget } from './common/budget';
import { describeAnswer, HttpResponse } from './common/http';
import { outcomeOf, RunError } from './common/failure';
import { recordEvent as recordKubeEvent } from './common/events';
import { KubeApi, kubeApi, malformed } from './common/kube';
import { bounded, logTo, Output, processOutput, reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env } from './common/settings';
import { VaultApi, vaultApi } from './common/vault';
import { RECOVERY_DEFAULTS, WAKE_ANNOTATION } from './common/eso-recovery-variables';
import { readRecoverySettings, RecoverySettings, WatchedStore } from './eso-recovery/settings';

export { readRecoverySettings } from './eso-recovery/settings';

export { WAKE_ANNOTATION } from './common/eso-recovery-variables';
/** How the job's own Events name their source, and how it tells them from ESO's. */
const COMPONENT = 'eso-recovery';
/** How often a run looks again while it waits for ESO's verdict on the store it woke. */
const VERDICT_POLL_MS = 500;

function checkObject(object: any, kind: string, name: string, what: string): any {
  if (object?.kind !== kind || object?.metadata?.name !== name) throw malformed(`GET ${what}`, `an object that is not ${kind} ${name}`);
  return object;
}

/** What an object's Ready condition says. */
export interface Readiness {
  readonly ready: boolean;
  readonly reason: string;
  /** When the condition last changed status: while it stays False, the start of the outage. */
  readonly since: number;
}

/** The object's Ready condition; undefined while ESO has not decided (no status yet, or Unknown). */
export function readiness(object: any, what: string): Readiness | undefined {
  const conditions = object?.status?.conditions;
  if (conditions === undefined) return undefined;
  if (!Array.isArray(conditions)) throw malformed(`GET ${what}`, 'status.conditions that is not a list');
  const condition = conditions.find((c: any) => c?.type === 'Ready');
  if (!condition || (condition.status !== 'True' && condition.status !== 'False')) return undefined;
  const since = Date.parse(condition.lastTransitionTime);
  if (Number.isNaN(since)) throw malformed(`GET ${what}`, 'a Ready condition without a lastTransitionTime');
  return { ready: condition.status === 'True', reason: String(condition.reason ?? condition.status), since };
}

/** When this job last woke the object; undefined if never, or stamped in the future (another clock, or a hand). */
export function wokenAt(object: any, now: number): number | undefined {
  const stamp = Date.parse(object?.metadata?.annotations?.[WAKE_ANNOTATION] ?? '');
  return Number.isNaN(stamp) || stamp > now ? undefined : stamp;
}

/** Vault's health for ESO: ready, worth waiting for, or a failed call. */
function vaultState(health: HttpResponse): { ready: true } | { wait: string } | { failed: string } {
  if (health.status === 200) {
    return health.json?.initialized === true && health.json?.sealed === false
      ? { ready: true }
      : { failed: `GET /v1/sys/health answered ${describeAnswer(health)}, not Vault's health` };
  }
  const waiting: Record<number, string> = { 429: 'standby', 472: 'a DR secondary', 473: 'a performance standby', 501: 'not initialized', 503: 'sealed' };
  if (waiting[health.status]) return { wait: `vault ${waiting[health.status]} (HTTP ${health.status})` };
  return { failed: `GET /v1/sys/health answered HTTP ${health.status}` };
}

/** One of ESO's Warning Events about the store: what changes when ESO merges a repeat into it, and what it says. */
interface Warning {
  readonly version: string;
  /** Its lastTimestamp, to the second. */
  readonly last: number;
  readonly message: string;
}

/** How much of ESO's Warning the run quotes: its reason comes first, and a message can be as long as ESO's error chain. */
const WARNING_QUOTE_CHARS = 1000;

/** The Warning Events ESO recorded about the store (never this job's own), by name, from `default` where they must live. */
async function storeWarnings(storeName: string, kube: KubeApi): Promise<Map<string, Warning>> {
  const selector = encodeURIComponent(`involvedObject.kind=ClusterSecretStore,involvedObject.name=${storeName},type=Warning`);
  const what = `events about clustersecretstore ${storeName}`;
  const list = await kube.get(`/api/v1/namespaces/${RECOVERY_DEFAULTS.eventNamespace}/events?fieldSelector=${selector}`, what);
  if (list?.kind !== 'EventList' || !Array.isArray(list.items)) throw malformed(`GET ${what}`, 'something that is not an EventList');
  const warnings = new Map<string, Warning>();
  for (const e of list.items) {
    if (e?.type !== 'Warning' || e?.source?.component === COMPONENT || e?.reportingComponent === COMPONENT) continue;
    const last = Date.parse(e?.lastTimestamp ?? e?.eventTime ?? '');
    warnings.set(String(e?.metadata?.name), {
      version: `${e?.metadata?.resourceVersion}/${e?.count}/${e?.lastTimestamp}`, last: Number.isNaN(last) ? 0 : last, message: bounded(String(e?.message ?? ''), WARNING_QUOTE_CHARS),
    });
  }
  return warnings;
}

/** What the run tells the operator through `kubectl describe clustersecretstore` and `kubectl get events`. */
export interface StoreEvent {
  readonly reason: 'WokeESO' | 'WakeDidNotHelp';
  readonly type: 'Normal' | 'Warning';
  readonly message: string;
  /** The Event's name: the same name records the event once (the API refuses a second with 409). */
  readonly name: string;
}

/**
 * Records an Event on the store. A failure is said and never changes the run's outcome: the Event is a courtesy, the
 * exit code and the log line are the signal.
 */
export async function recordEvent(
  storeName: string, kube: KubeApi, store: any, event: StoreEvent, now: number, say: (line: string) => void,
): Promise<void> {
  await recordKubeEvent(kube, {
    namespace: RECOVERY_DEFAULTS.eventNamespace, name: event.name, about: `clustersecretstore ${storeName}`,
    involvedObject: {
      apiVersion: store.apiVersion, kind: 'ClusterSecretStore', name: storeName,
      uid: store.metadata.uid, resourceVersion: store.metadata.resourceVersion,
    },
    reason: event.reason, type: event.type, message: event.message, component: COMPONENT,
  }, now, say);
}

const iso = (ms: number) => new Date(ms).toISOString();
const wake = (now: number) => ({ metadata: { annotations: { [WAKE_ANNOTATION]: iso(now) } } });

/** An ExternalSecret woken within this long of the store turning Ready may be woken once more: ESO's cache may have lagged. */
const STORE_CACHE_LAG_MS = 10_000;
/** The store is woken again no sooner than this, so that a store that needs a human does not drain ESO's event budget. */
const REWAKE_MS = 5 * 60_000;
/** How long after ESO's first verdict the run waits for a later one (a reconcile under way at the wake-up comes first). */
const VERDICT_SETTLE_MS = 2_000;

interface Sleepy { readonly name: string; readonly path: string; readonly what: string }

/**
 * The project's ExternalSecrets that are not Ready and not woken since the later of the store turning Ready (with a
 * margin for ESO's cache) and their own turning not Ready: one wake per outage of each, so one failing for its own
 * reason (a missing field in Vault) is not woken every minute. One that cannot be read is reported, not fatal: the
 * others are still woken (an app's namespace or Role may not be synced yet).
 */
async function externalSecretsToWake(s: WatchedStore, kube: KubeApi, storeReadySince: number, now: () => number) {
  const sleepy: Sleepy[] = [];
  const unreadable: string[] = [];
  for (const { namespace, name } of s.externalSecrets) {
    const what = `externalsecret ${namespace}/${name}`;
    const path = `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets/${name}`;
    try {
      const object = checkObject(await kube.get(path, what), 'ExternalSecret', name, what);
      const state = readiness(object, what);
      if (state?.ready) continue;
      const last = wokenAt(object, now());
      if (last !== undefined && last >= Math.max(storeReadySince + STORE_CACHE_LAG_MS, state?.since ?? 0)) continue;
      sleepy.push({ name: `${namespace}/${name}`, path, what });
    } catch (error) {
      unreadable.push(reason(error));
    }
  }
  return { sleepy, unreadable };
}

const nothingToDo = (store: string) => `store ${store} is Ready: nothing to do`;

/**
 * One store's run, one attempt at a time (the retry window calls `attempt` again): the store first (normally Ready,
 * and with every ExternalSecret Ready: done at once), then Vault, then the wake-up and ESO's verdict on it.
 */
function storeRecovery(
  s: WatchedStore, vault: VaultApi, kube: KubeApi, now: () => number, say: (line: string) => void,
): { attempt: () => Promise<Outcome> } {
  const storePath = `/apis/external-secrets.io/v1/clustersecretstores/${s.name}`;
  const storeWhat = `clustersecretstore ${s.name}`;
  /** The wake-up this run waits on: when, ESO's Warnings just before it (when this run made it), its first verdict. */
  let woke: { at: number; before?: Map<string, Warning>; verdictAt?: number } | undefined;

  const afterReady = async (storeReadySince: number, prefix: string, askVault: boolean): Promise<Outcome> => {
    const { sleepy, unreadable } = await externalSecretsToWake(s, kube, storeReadySince, now);
    const problems = unreadable.length ? `; could not read ${unreadable.length}: ${unreadable.join('; ')}` : '';
    if (sleepy.length === 0) return finished(`${prefix}: nothing to do${problems}`, unreadable.length ? 1 : 0);
    // Woken only while Vault answers: an ExternalSecret failing because Vault is away again would waste its wake.
    if (askVault && !('ready' in vaultState(await vault.health()))) {
      return finished(`${prefix}; vault is not ready: ${sleepy.length} ExternalSecret(s) not Ready left alone${problems}`, unreadable.length ? 1 : 0);
    }
    for (const e of sleepy) await kube.patch(e.path, wake(now()), e.what);
    const names = sleepy.map((e) => e.name);
    return finished(`${prefix}; woke ${names.length} ExternalSecret${names.length === 1 ? '' : 's'} not Ready: ${names.join(', ')}${problems}`, unreadable.length ? 1 : 0);
  };

  const attempt = async (): Promise<Outcome> => {
    try {
      const store = checkObject(await kube.get(storePath, storeWhat), 'ClusterSecretStore', s.name, storeWhat);
      const state = readiness(store, storeWhat);
      if (!state) return finished(`store ${s.name} has no Ready condition yet: left alone`);
      if (state.ready) {
        const prefix = woke ? `woke store ${s.name}, Ready ${((now() - woke.at) / 1000).toFixed(1)} s later` : `store ${s.name} is Ready`;
        return await afterReady(state.since, prefix, !woke);
      }
      const degraded = `store ${s.name} not ready (${state.reason}) since ${iso(state.since)}`;

      if (!woke) {
        let health;
        try {
          health = vaultState(await vault.health());
        } catch (error) {
          // A certificate problem needs a human at once; a refused or hanging call is waited out.
          if (error instanceof RunError && error.exitCode === 2) return finished(`${degraded}; vault: ${error.message}`, 2);
          return retry(`${degraded}; vault: ${reason(error)}`);
        }
        if ('failed' in health) return retry(`${degraded}; ${health.failed}`);
        if ('wait' in health) return retry(`${degraded}; ${health.wait}: waiting for vault`, 0);

        const earlier = wokenAt(store, now());
        if (earlier !== undefined && earlier >= state.since && now() - earlier < REWAKE_MS) {
          // Woken during this outage, a few minutes ago: ESO's verdict on that wake-up is the answer.
          woke = { at: earlier };
        } else {
          const before = await storeWarnings(s.name, kube);
          const at = now();
          // A merge patch: custom resources take no strategic merge patch.
          await kube.patch(storePath, wake(at), storeWhat);
          woke = { at, before };
          await recordEvent(s.name, kube, store, {
            reason: 'WokeESO', type: 'Normal', name: `${s.name}.eso-woken.${Math.floor(state.since / 1000)}`,
            message: `vault ready and the store not ready (${state.reason}): annotated it so that ESO re-checks it now instead of after its backoff`,
          }, at, say);
          say(`vault ready, ${degraded}: woke it (${WAKE_ANNOTATION})`);
        }
      }

      // ESO's verdict: a Warning about the store recorded since the wake-up (Kubernetes stamps Events to the second).
      const since = Math.floor(woke.at / 1000) * 1000;
      const fresh = [...(await storeWarnings(s.name, kube)).entries()]
        .filter(([name, w]) => w.last >= since && woke!.before?.get(name)?.version !== w.version)
        .map(([, w]) => w).sort((a, b) => a.last - b.last);
      if (fresh.length === 0) return retry(`${degraded}: woken at ${iso(woke.at)}, ESO has not re-checked it yet`, 1, VERDICT_POLL_MS);
      woke.verdictAt ??= now();
      if (now() - woke.verdictAt < VERDICT_SETTLE_MS) return retry(`${degraded}: ESO re-checked it; waiting a moment for a later verdict`, 1, VERDICT_POLL_MS);
      const cause = fresh[fresh.length - 1].message;
      await recordEvent(s.name, kube, store, {
        reason: 'WakeDidNotHelp', type: 'Warning', name: `${s.name}.wake-did-not-help.${Math.floor(state.since / 1000)}`,
        message: `ESO re-checked the store with vault ready and it is still not ready: a human is needed (${cause})`,
      }, now(), say);
      return finished(`vault ready, ${degraded}: ESO re-checked it after the wake-up at ${iso(woke.at)} and it is still not ready; fix the cause: ${cause}`, 2);
    } catch (error) {
      return outcomeOf(error);
    }
  };
  return { attempt };
}

/**
 * The run over every store, each store's run going its own way within one attempt: Vault's health is asked once per
 * attempt, whatever the number of stores waiting on it. The run is done when every store's is; its exit code is the
 * worst of theirs.
 */
export function recovery(
  s: RecoverySettings, vault: VaultApi, kube: KubeApi, now: () => number, say: (line: string) => void,
): { attempt: () => Promise<Outcome> } {
  let health: Promise<HttpResponse> | undefined;
  const shared: VaultApi = { ...vault, health: () => (health ??= vault.health()) };
  const runs = s.stores.map((store) => ({ store: store.name, run: storeRecovery(store, shared, kube, now, say), last: undefined as Outcome | undefined }));
  const attempt = async (): Promise<Outcome> => {
    health = undefined;
    for (const r of runs) if (!r.last?.done) r.last = await r.run.attempt();
    const outcomes = runs.map((r) => r.last!);
    if (outcomes.length === 0) return finished('no store to wake: nothing to do');
    if (outcomes.length === 1) return outcomes[0];
    const idle = runs.filter((r) => r.last!.done && r.last!.message === nothingToDo(r.store)).map((r) => r.store);
    const message = [
      ...(idle.length > 0 ? [`store${idle.length === 1 ? '' : 's'} ${idle.join(', ')} ${idle.length === 1 ? 'is' : 'are'} Ready: nothing to do`] : []),
      ...runs.filter((r) => !idle.includes(r.store)).map((r) => r.last!.message),
    ].join('; ');
    const exitCode = Math.max(0, ...outcomes.map((o) => o.exitCode));
    const waiting = outcomes.filter((o) => !o.done);
    if (waiting.length === 0) return finished(message, exitCode);
    const soonest = Math.min(...waiting.map((o) => o.againInMs ?? Infinity));
    return retry(message, exitCode, Number.isFinite(soonest) ? soonest : undefined);
  };
  return { attempt };
}

export function main(env: Env = process.env, io: Output = processOutput): Promise<number> {
  const out = logTo(io);
  let run: ReturnType<typeof recovery> | undefined;
  return runScript(env, readRecoverySettings, (s, budget: Budget) => {
    run ??= recovery(s, vaultApi(s.vaultAddr, budget, undefined, { ca: s.vaultCa }), kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, budget }), Date.now, out.log);
    return run.attempt();
  }, out);
}

if (require.main === module) start(() => main());
