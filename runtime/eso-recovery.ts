// eso-recovery: restarts External Secrets Operator when Vault is ready but the ClusterSecretStore is still degraded.
// ESO backs off failed reconciles up to 7 minutes per object in memory; a restart clears that at once. Bundled by
// esbuild into one dependency-free script and run every minute by the CronJob; configured by environment variables.
// Exit codes: 0 nothing to do, or done; 1 a call failed or hung (the next run retries); 2 a human is needed
// (no token, forbidden, not found, a malformed setting).
import { KubeApi, kubeApi, KubeError } from './common/kube';
import { reason } from './common/log';
import { runScript, start } from './common/main';
import { finished, Outcome, retry } from './common/retry';
import { Env, readList, readRetrySettings, readSeconds, readString, readUrl, RetrySettings } from './common/settings';
import { readVaultAddr, VaultApi, vaultApi } from './common/vault';

export const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface RecoverySettings extends RetrySettings {
  readonly vaultAddr: string;
  readonly namespace: string;
  readonly storeName: string;
  readonly deployments: string[];
  readonly cooldownMs: number;
  readonly kubeUrl: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

export function readRecoverySettings(env: Env): RecoverySettings {
  return {
    vaultAddr: readVaultAddr(env),
    namespace: readString(env, 'ESO_NAMESPACE', 'security', NAME),
    storeName: readString(env, 'ESO_STORE_NAME', 'k8s-secrets', NAME),
    deployments: readList(env, 'ESO_DEPLOYMENTS', ['external-secrets', 'external-secrets-cert-controller', 'external-secrets-webhook'], NAME),
    cooldownMs: readSeconds(env, 'RESTART_COOLDOWN_SECONDS', 300, 0, 86400) * 1000,
    kubeUrl: readUrl(env, 'KUBE_API_URL', 'https://kubernetes.default.svc'),
    tokenFile: readString(env, 'KUBE_TOKEN_FILE', `${SA_DIR}/token`),
    caFile: readString(env, 'KUBE_CA_FILE', `${SA_DIR}/ca.crt`),
    ...readRetrySettings(env),
  };
}

/** What the store's Ready condition says: undefined while it has no status yet. */
export function storeReadiness(store: any): { ready: boolean; reason: string } | undefined {
  const condition = (store?.status?.conditions ?? []).find((c: any) => c?.type === 'Ready');
  if (!condition) return undefined;
  return { ready: condition.status === 'True', reason: condition.reason ?? condition.status };
}

/** Seconds since the Deployment's pods were last restarted by a rollout restart, or undefined if never. */
export function secondsSinceRestart(deployment: any, now: number): number | undefined {
  const stamp = Date.parse(deployment?.spec?.template?.metadata?.annotations?.[RESTARTED_AT] ?? '');
  return Number.isNaN(stamp) ? undefined : Math.max(0, (now - stamp) / 1000);
}

/** One attempt: the store first (normally Ready: done at once), then Vault, then the restarts. */
export async function attemptRecovery(s: RecoverySettings, vault: VaultApi, kube: KubeApi, now = Date.now): Promise<Outcome> {
  const store = `clustersecretstore ${s.storeName}`;
  const restarted: string[] = [];
  try {
    const readiness = storeReadiness(await kube.get(`/apis/external-secrets.io/v1/clustersecretstores/${s.storeName}`, store));
    if (!readiness) return finished(`store ${s.storeName} has no Ready condition yet: left alone`);
    if (readiness.ready) return finished(`store ${s.storeName} is Ready: nothing to do`);
    const degraded = `store ${s.storeName} not ready (${readiness.reason})`;

    let health;
    try {
      health = await vault.health();
    } catch (error) {
      return retry(`${degraded}; vault: ${reason(error)}`);
    }
    if (health.status !== 200) {
      const state = health.status === 503 ? 'sealed' : health.status === 501 ? 'not initialized' : 'not ready';
      return retry(`${degraded}; vault ${state} (HTTP ${health.status}): waiting for vault`, 0);
    }

    const skipped: string[] = [];
    for (const name of s.deployments) {
      const path = `/apis/apps/v1/namespaces/${s.namespace}/deployments/${name}`;
      const what = `deployment ${s.namespace}/${name}`;
      const since = secondsSinceRestart(await kube.get(path, what), now());
      if (since !== undefined && since * 1000 < s.cooldownMs) {
        skipped.push(`${name} (restarted ${Math.round(since)} s ago)`);
        continue;
      }
      const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT]: new Date(now()).toISOString() } } } } };
      await kube.patch(path, patch, what);
      restarted.push(name);
    }
    const did = [
      restarted.length ? `restarted ${restarted.join(', ')}` : 'restarted nothing',
      skipped.length ? `skipped inside the cooldown: ${skipped.join(', ')}` : '',
    ].filter(Boolean).join('; ');
    return finished(`vault ready, ${degraded}: ${did}`);
  } catch (error) {
    const done = restarted.length ? ` (restarted ${restarted.join(', ')} before that)` : '';
    const message = `${reason(error)}${done}`;
    return (error as KubeError).fatal ? finished(message, 2) : retry(message);
  }
}

export function main(env: Env = process.env): Promise<number> {
  return runScript(env, readRecoverySettings, (s) => attemptRecovery(
    s,
    vaultApi(s.vaultAddr, s.timeoutMs),
    kubeApi({ url: s.kubeUrl, tokenFile: s.tokenFile, caFile: s.caFile, timeoutMs: s.timeoutMs }),
  ));
}

if (require.main === module) start(() => main());
