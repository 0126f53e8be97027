import { randomBytes } from 'crypto';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeKube, FakeKubeOptions } from './fake-kube';
import { FakeVault, FakeVaultOptions } from './fake-vault';
import { HostileAnswer, HostileServer } from './hostile-server';
import { ServerTls } from './loopback-server';
import { main } from '../../runtime/eso-recovery';
import { runInProcess } from './run-in-process';
import { expectRun as expectRunOf, ProcessRunOptions, Run, runNode, scriptFromDist } from './run-script';

// What the recovery script's integration tests share: loopback stand-ins for Vault and the Kubernetes API, and runs
// of the script against them, its main in the test's process or the bundle as dist/ ships it.
const script = scriptFromDist('eso-recovery-script');
export const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
export const tokenFile = join(mkdtempSync(join(tmpdir(), 'sa-')), 'token');
writeFileSync(tokenFile, `${token}\n`);
// Kubernetes stamps times to the second.
export const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
export const EXTERNAL_SECRETS = 'db/postgres-secret,monitoring/grafana-admin';
export const WAKE = 'eso-recovery/woken-at';
/** A run that waits for ESO's verdict on the store it woke (the stand-in's ESO answers within 50 ms). */
export const WAITING = { RETRY_WINDOW_SECONDS: '10' };

// The scenarios run concurrently (most of their time is spent waiting), each against stand-ins of its own. Jest loads
// this module once per jest file, so the list is that file's; each module of scenarios stops them in its afterAll
// (stopping a stopped server does nothing).
const servers: Array<FakeVault | FakeKube | HostileServer> = [];
export const stopServers = () => Promise.all(servers.map((s) => s.stop()));

/** Vault (serving https with `tls` when given) and the Kubernetes API, with ESO's objects as `kube` says. */
export async function cluster(vaultOptions: FakeVaultOptions, kube: Partial<FakeKubeOptions>, tls?: ServerTls) {
  const vault = await (tls ? new FakeVault(vaultOptions).withTls(tls) : new FakeVault(vaultOptions)).start();
  const api = await new FakeKube({
    token, store: { ready: false },
    externalSecrets: { 'db/postgres-secret': { ready: false }, 'monitoring/grafana-admin': { ready: false } },
    ...kube,
  }).start();
  servers.push(vault, api);
  return { vault, api };
}

export async function hostile(answer: HostileAnswer): Promise<HostileServer> {
  const h = await new HostileServer(answer).start();
  servers.push(h);
  return h;
}

export function variables(
  vault: { url: string }, api: { url: string }, env: Record<string, string>,
): Record<string, string> {
  // 5 s per call: far above a loopback answer, even with the other scenarios running. The hang tests set their
  // own bound.
  return {
    VAULT_ADDR: vault.url, KUBE_API_URL: api.url, KUBE_TOKEN_FILE: tokenFile, KUBE_CA_FILE: '/nonexistent/ca.crt',
    ESO_EXTERNAL_SECRETS: EXTERNAL_SECRETS, VAULT_TIMEOUT_SECONDS: '5',
    RETRY_WINDOW_SECONDS: '0', RETRY_INTERVAL_SECONDS: '0.2', ...env,
  };
}

export function recover(vault: { url: string }, api: { url: string }, env: Record<string, string> = {}): Promise<Run> {
  return runInProcess(main, variables(vault, api, env));
}

/** The bundle as dist/ ships it, as the CronJob's container runs it. */
export function recoverProcess(
  vault: { url: string }, api: { url: string }, env: Record<string, string> = {},
  onSpawn?: ProcessRunOptions['onSpawn'],
): Promise<Run> {
  return runNode(script, variables(vault, api, env), { onSpawn });
}

/** What every run must show: its exit code, its outcome as its last line, and no token in its output. */
export function expectRun(run: Run, code: number): void {
  expectRunOf(run, code, [token]);
}

export const patched = (api: FakeKube) => api.patches.map((p) => p.path.replace('/apis/external-secrets.io/v1/', ''));
/** Nothing the job has no business with: no Deployment, no pod, no other verb than get, list, patch and create. */
export function expectOnlyItsOwn(api: FakeKube): void {
  for (const r of api.received) {
    expect(`${r.method} ${r.path}`).toMatch(/^(GET|PATCH) \/apis\/external-secrets\.io\/v1\/(clustersecretstores\/k8s-secrets|namespaces\/[a-z-]+\/externalsecrets\/[a-z-]+)$|^(GET|POST) \/api\/v1\/namespaces\/default\/events/);
  }
}
