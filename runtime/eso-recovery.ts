// eso-recovery: restarts External Secrets Operator when Vault is ready but the ClusterSecretStore is still degraded.
// ESO backs off failed reconciles up to 7 minutes per object in memory; a restart clears that at once. It restarts at
// most once per outage: if ESO was restarted after the store last became not ready and the store is still not ready,
// a restart did not help and will not help again, so a human is needed. Bundled by esbuild into one dependency-free
// script and run every minute by the CronJob; configured by environment variables.
// Exit codes: 0 nothing to do, or done; 1 a call failed, hung or got an answer of the wrong shape (the next run
// retries); 2 a human is needed (a restart did not help; no token, forbidden, not found; a malformed setting).
import { Budget } from './common/budget';
import { DEFAULTS, ENV } from './common/env';
import { describeAnswer, HttpResponse } from './common/http';
import { KubeApi, kubeApi, KubeError } from './common/kube';
import { log, reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env, readList, readRetrySettings, readSeconds, readString, readUrl, RetrySettings } from './common/settings';
import { readVaultAddr, VaultApi, vaultApi } from './common/vault';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export interface RecoverySettings extends RetrySettings {
  readonly vaultAddr: string;
  readonly namespace: string;
  readonly storeName: string;
  readonly deployments: string[];
  /** Vault's pod, as namespace and name: when it last became ready bounds which restarts count. */
  readonly vaultPod: { readonly namespace: string; readonly name: string };
  readonly cooldownMs: number;
  readonly kubeUrl: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

export function readRecoverySettings(env: Env): RecoverySettings {
  return {
    vaultAddr: readVaultAddr(env),
    namespace: readString(env, ENV.esoNamespace, DEFAULTS.esoNamespace, NAME),
    storeName: readString(env, ENV.storeName, DEFAULTS.storeName, NAME),
    deployments: readList(env, ENV.deployments, [...DEFAULTS.deployments], NAME),
    vaultPod: readPod(env),
    cooldownMs: readSeconds(env, ENV.restartCooldownSeconds, DEFAULTS.restartCooldownSeconds, 0, 86400) * 1000,
    kubeUrl: readUrl(env, ENV.kubeApiUrl, DEFAULTS.kubeApiUrl),
    tokenFile: readString(env, ENV.kubeTokenFile, DEFAULTS.kubeTokenFile),
    caFile: readString(env, ENV.kubeCaFile, DEFAULTS.kubeCaFile),
    ...readRetrySettings(env),
  };
}

function readPod(env: Env): { namespace: string; name: string } {
  const [namespace, name] = readString(env, ENV.vaultPod, DEFAULTS.vaultPod, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/).split('/');
  return { namespace, name };
}

/** An answer of the API that is not the object asked for: a failed call, retried, never taken as a state. */
function malformed(what: string, why: string): KubeError {
  return Object.assign(new Error(`GET ${what} answered ${why}: not the API's answer`), { fatal: false });
}

function checkObject(object: any, kind: string, name: string, what: string): any {
  if (object?.kind !== kind || object?.metadata?.name !== name) {
    throw malformed(what, `an object that is not ${kind} ${name}`);
  }
  return object;
}

/** What the store's Ready condition says. */
export interface StoreReadiness {
  readonly ready: boolean;
  readonly reason: string;
  /** The condition's own message, such as why ESO cannot log in. */
  readonly message: string;
  /** When the condition last changed status: while it stays False, the start of the outage. */
  readonly since: number;
}

/** The store's Ready condition; undefined while ESO has not decided (no status yet, or Unknown). */
export function storeReadiness(store: any, what = 'the store'): StoreReadiness | undefined {
  const conditions = store?.status?.conditions;
  if (conditions === undefined) return undefined;
  if (!Array.isArray(conditions)) throw malformed(what, 'status.conditions that is not a list');
  const condition = conditions.find((c: any) => c?.type === 'Ready');
  if (!condition || (condition.status !== 'True' && condition.status !== 'False')) return undefined;
  const since = Date.parse(condition.lastTransitionTime);
  if (Number.isNaN(since)) throw malformed(what, 'a Ready condition without a lastTransitionTime');
  return {
    ready: condition.status === 'True',
    reason: String(condition.reason ?? condition.status),
    message: String(condition.message ?? ''),
    since,
  };
}

/** When the pod last became ready; undefined while it is not ready. */
export function readySince(pod: any, what = 'the pod'): number | undefined {
  const conditions = pod?.status?.conditions ?? [];
  if (!Array.isArray(conditions)) throw malformed(what, 'status.conditions that is not a list');
  const ready = conditions.find((c: any) => c?.type === 'Ready');
  if (ready?.status !== 'True') return undefined;
  const since = Date.parse(ready.lastTransitionTime);
  if (Number.isNaN(since)) throw malformed(what, 'a Ready condition without a lastTransitionTime');
  return since;
}

/** When the Deployment's pods were last restarted by a rollout restart; undefined if never, or stamped in the future. */
export function restartedAt(deployment: any, now: number): number | undefined {
  const stamp = Date.parse(deployment?.spec?.template?.metadata?.annotations?.[RESTARTED_AT] ?? '');
  return Number.isNaN(stamp) || stamp > now ? undefined : stamp;
}

/** Vault's health for ESO: ready, worth waiting for, or a failed call. */
function vaultState(health: HttpResponse): { ready: true } | { wait: string } | { failed: string } {
  const json = health.json;
  if (health.status === 200) {
    return json?.initialized === true && json?.sealed === false
      ? { ready: true }
      : { failed: `GET /v1/sys/health answered ${describeAnswer(health)}, not Vault's health` };
  }
  const waiting: Record<number, string> = { 429: 'standby', 472: 'a DR secondary', 473: 'a performance standby', 501: 'not initialized', 503: 'sealed' };
  if (waiting[health.status]) return { wait: `vault ${waiting[health.status]} (HTTP ${health.status})` };
  return { failed: `GET /v1/sys/health answered HTTP ${health.status}` };
}

/** What the run tells the operator through `kubectl describe clustersecretstore` and `kubectl get events`. */
export interface StoreEvent {
  readonly reason: 'RestartedESO' | 'RestartDidNotHelp';
  readonly type: 'Normal' | 'Warning';
  readonly message: string;
  /** The Event's name: the same name records the event once (the API refuses a second with 409). */
  readonly name: string;
}

/**
 * Records an Event on the store. A failure is logged and never changes the run's outcome: the Event is a courtesy,
 * the exit code and the log line are the signal.
 */
export async function recordEvent(s: RecoverySettings, kube: KubeApi, store: any, event: StoreEvent, now: number): Promise<void> {
  const stamp = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const body = {
    apiVersion: 'v1', kind: 'Event',
    metadata: { name: event.name, namespace: DEFAULTS.eventNamespace },
    involvedObject: {
      apiVersion: store.apiVersion, kind: 'ClusterSecretStore', name: s.storeName,
      uid: store.metadata.uid, resourceVersion: store.metadata.resourceVersion,
    },
    reason: event.reason, type: event.type, message: event.message.slice(0, 1024),
    source: { component: 'eso-recovery' }, reportingComponent: 'eso-recovery', reportingInstance: 'eso-recovery',
    firstTimestamp: stamp, lastTimestamp: stamp, count: 1,
  };
  try {
    await kube.create(`/api/v1/namespaces/${DEFAULTS.eventNamespace}/events`, body, `event ${DEFAULTS.eventNamespace}/${event.name}`);
  } catch (error) {
    if ((error as KubeError).status === 409) return;
    log(`could not record the event ${event.reason} on clustersecretstore ${s.storeName}: ${reason(error)}`);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const ago = (ms: number) => `${Math.round(ms / 1000)} s ago`;

/** One attempt: the store first (normally Ready: done at once), then Vault, then the restarts. */
export async function attemptRecovery(s: RecoverySettings, vault: VaultApi, kube: KubeApi, now = Date.now): Promise<Outcome> {
  const event = (object: any, e: StoreEvent) => recordEvent(s, kube, object, e, now());
  const store = `clustersecretstore ${s.storeName}`;
  const restarted: string[] = [];
  try {
    const object = checkObject(await kube.get(`/apis/external-secrets.io/v1/clustersecretstores/${s.storeName}`, store), 'ClusterSecretStore', s.storeName, store);
    const readiness = storeReadiness(object, store);
    if (!readiness) return finished(`store ${s.storeName} has no Ready condition yet: left alone`);
    if (readiness.ready) return finished(`store ${s.storeName} is Ready: nothing to do`);
    const degraded = `store ${s.storeName} not ready (${readiness.reason}) since ${iso(readiness.since)}`;

    let health;
    try {
      health = vaultState(await vault.health());
    } catch (error) {
      return retry(`${degraded}; vault: ${reason(error)}`);
    }
    if ('failed' in health) return retry(`${degraded}; ${health.failed}`);
    if ('wait' in health) return retry(`${degraded}; ${health.wait}: waiting for vault`, 0);

    // A restart helps only while Vault is ready: one made before Vault's pod last became ready (by hand while Vault was
    // sealed, or by this job before Vault went away again) is no attempt at this outage.
    const podWhat = `pod ${s.vaultPod.namespace}/${s.vaultPod.name}`;
    const pod = checkObject(await kube.get(`/api/v1/namespaces/${s.vaultPod.namespace}/pods/${s.vaultPod.name}`, podWhat), 'Pod', s.vaultPod.name, podWhat);
    const vaultReadySince = readySince(pod, podWhat);
    if (vaultReadySince === undefined) return retry(`${degraded}; vault answers but its pod ${s.vaultPod.name} is not ready yet: waiting for it`, 0);
    const outageStart = Math.max(readiness.since, vaultReadySince);

    // Which Deployments were restarted during this outage, while Vault was ready.
    const stamps = new Map<string, number | undefined>();
    for (const name of s.deployments) {
      const what = `deployment ${s.namespace}/${name}`;
      const deployment = checkObject(await kube.get(`/apis/apps/v1/namespaces/${s.namespace}/deployments/${name}`, what), 'Deployment', name, what);
      stamps.set(name, restartedAt(deployment, now()));
    }
    const inOutage = [...stamps.values()].filter((t): t is number => t !== undefined && t >= outageStart);
    if (inOutage.length === s.deployments.length) {
      const last = Math.max(...inOutage);
      if (now() - last < s.cooldownMs) {
        return finished(`vault ready, ${degraded}: ESO restarted ${ago(now() - last)}, waiting for it to reconcile`);
      }
      const cause = readiness.message || readiness.reason;
      await event(object, {
        reason: 'RestartDidNotHelp', type: 'Warning', name: `${s.storeName}.restart-did-not-help.${Math.floor(readiness.since / 1000)}`,
        message: `ESO was restarted at ${iso(last)} and the store is still not ready: a human is needed (${cause})`,
      });
      return finished(`vault ready, ${degraded}: ESO was restarted at ${iso(last)}, during this outage, and the store is still `
        + `not ready, so another restart will not help; fix the cause: ${cause}`, 2);
    }

    const skipped: string[] = [];
    for (const [name, stamp] of stamps) {
      if (stamp !== undefined && stamp >= outageStart) continue;
      if (stamp !== undefined && now() - stamp < s.cooldownMs) {
        skipped.push(`${name} (restarted ${ago(now() - stamp)})`);
        continue;
      }
      const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: iso(now()) } } } } };
      await kube.patch(`/apis/apps/v1/namespaces/${s.namespace}/deployments/${name}`, patch, `deployment ${s.namespace}/${name}`);
      restarted.push(name);
    }
    const did = [
      restarted.length ? `restarted ${restarted.join(', ')}` : 'restarted nothing',
      skipped.length ? `skipped inside the cooldown: ${skipped.join(', ')}` : '',
    ].filter(Boolean).join('; ');
    if (restarted.length) {
      await event(object, {
        reason: 'RestartedESO', type: 'Normal', name: `${s.storeName}.eso-restarted.${now()}`,
        message: `vault ready and the store not ready (${readiness.reason}): restarted ${restarted.join(', ')} to clear ESO's backoff`,
      });
    }
    return finished(`vault ready, ${degraded}: ${did}`);
  } catch (error) {
    const done = restarted.length ? ` (restarted ${restarted.join(', ')} before that)` : '';
    const message = `${reason(error)}${done}`;
    return (error as KubeError).fatal ? finished(message, 2) : retry(message);
  }
}

export function main(env: Env = process.env): Promise<number> {
  return runScript(env, readRecoverySettings, (s, budget: Budget) => attemptRecovery(
    s,
    vaultApi(s.vaultAddr, budget),
    kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, budget }),
  ));
}

if (require.main === module) start(() => main());
