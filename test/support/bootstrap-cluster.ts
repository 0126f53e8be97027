import { ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { root } from '../../build/bundle';
import { ageKeyPair } from './age-decrypt';
import { distDocs } from './dist-docs';
import { FakeKube } from './fake-kube';
import { FakeKubeSecrets } from './fake-kube-secrets';
import { FakeVaultLifecycle, FakeVaultLifecycleOptions } from './fake-vault-lifecycle';
import { Run, runNode } from './run-script';
import { PKI } from './tls-fixtures';
import { request } from '../../runtime/common/http';

// A cluster on loopback for the bootstrap's acceptance: the CronJobs of an example's committed dist/ that talk to Vault
// (the unseal job, the bootstrap, ESO's recovery), run as their containers run them (the bundled script from their
// ConfigMap, their env from the CronJob), round by round, one simulated minute each, against a stand-in Vault that
// starts uninitialized (fake-vault-lifecycle.ts) and the API server: for Secrets (fake-kube-secrets.ts: the job's RBAC
// as dist/'s Role says, the unseal Secret projected into the unseal job's volume before each of its runs, as the
// kubelet does) and for ESO's objects (fake-kube.ts: the stores and ExternalSecrets of dist/, not ready until woken).
// What dist/ sets is kept but the addresses (loopback, plain HTTP: TLS is the scripts' own tests'), the escrow's
// recipient (the test's own key, so that it can open the escrow), and a short retry interval.

export const ZERO_TOUCH = join(root, 'examples', 'zero-touch', 'dist');
type Doc = Record<string, any>;

const containerOf = (doc: Doc) => doc.spec.jobTemplate.spec.template.spec.containers[0];
const envOf = (doc: Doc): Record<string, string> => Object.fromEntries(containerOf(doc).env.map((e: any) => [e.name, e.value]));

export interface Round {
  readonly unseal: Run;
  readonly bootstrap: Run;
  readonly recovery: Run;
}

export class BootstrapCluster {
  /** The example's dist/, parsed once per jest file: every cluster reads it, none changes it. */
  readonly docs: readonly Doc[] = distDocs(ZERO_TOUCH);
  readonly escrowKey = ageKeyPair();
  readonly vault: FakeVaultLifecycle;
  readonly kube = new FakeKubeSecrets();
  /** ESO's objects, behind the API server the recovery job talks to. */
  readonly eso: FakeKube;
  private readonly esoToken = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
  /** Every run's output, in order, for the check that no secret reached any of it. */
  readonly outputs: string[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'bootstrap-cluster-'));
  private readonly scripts = new Map<string, string>();

  /** `tls`: Vault serves https with a certificate of the test's CA, which the jobs trust through VAULT_CACERT as dist/ says. */
  constructor(vault: FakeVaultLifecycleOptions = {}, private readonly tls = false) {
    this.vault = new FakeVaultLifecycle(vault);
    if (tls) this.vault.withTls(PKI.serving());
    // ESO found the stores not ready (Vault was not there); each turns Ready once woken, as ESO's controller does.
    const env = envOf(this.find('CronJob', 'eso-recovery'));
    const externalSecrets = env.ESO_EXTERNAL_SECRETS.split(',').map((entry) => entry.split(':'));
    this.eso = new FakeKube({
      token: this.esoToken, store: { ready: false },
      stores: Object.fromEntries(env.ESO_STORE_NAMES.split(',').map((name) => [name, { ready: false }])),
      externalSecrets: Object.fromEntries(externalSecrets.map(([store, id]) => [id, { ready: false, store }])),
    });
  }

  find(kind: string, name: string): Doc {
    const doc = this.docs.find((d) => d.kind === kind && d.metadata?.name === name);
    if (!doc) throw new Error(`no ${kind} ${name} in ${ZERO_TOUCH}`);
    return doc;
  }

  get namespace(): string {
    return this.find('CronJob', 'vault-bootstrap').metadata.namespace;
  }

  get unsealSecret(): string {
    return envOf(this.find('CronJob', 'vault-bootstrap')).VAULT_UNSEAL_SECRET_NAME;
  }

  async start(): Promise<this> {
    await Promise.all([this.vault.start(), this.kube.start(), this.eso.start()]);
    // The job's RBAC exactly as dist/'s Role, bound to its ServiceAccount.
    const role = this.find('Role', 'vault-bootstrap');
    this.kube.allow({ namespace: this.namespace, name: 'vault-bootstrap' }, ...role.rules.map((r: any) => ({ ...r, namespace: role.metadata.namespace })));
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.vault.stop(), this.kube.stop(), this.eso.stop()]);
  }

  /** The bundled script of the CronJob's ConfigMap, written once to a file. */
  private script(cronJob: string): string {
    if (!this.scripts.has(cronJob)) {
      const data = this.find('ConfigMap', `${cronJob}-script`).data;
      const file = join(this.dir, `${cronJob}.js`);
      writeFileSync(file, data[`${cronJob}.js`]);
      this.scripts.set(cronJob, file);
    }
    return this.scripts.get(cronJob)!;
  }

  /** The CronJob's environment with the test's addresses. */
  private env(cronJob: string, extra: Record<string, string>): Record<string, string> {
    const { VAULT_CACERT: ca, ...env } = envOf(this.find('CronJob', cronJob));
    if (this.tls && !ca) throw new Error(`cronjob ${cronJob} of ${ZERO_TOUCH} sets no VAULT_CACERT while vault serves TLS`);
    return { ...env, ...(this.tls && { VAULT_CACERT: PKI.caFile }), VAULT_ADDR: this.vault.url, RETRY_INTERVAL_SECONDS: '0.2', RETRY_WINDOW_SECONDS: '5', ...extra };
  }

  /** The unseal job: the Secret projected into its volume first, as the kubelet does at the pod's start. */
  async runUnseal(): Promise<Run> {
    const keys = join(this.dir, 'unseal-keys');
    mkdirSync(keys, { recursive: true });
    this.kube.project(this.namespace, this.unsealSecret, keys, { optional: true }).sync();
    return this.record(await runNode(this.script('vault-auto-unseal'), this.env('vault-auto-unseal', { VAULT_UNSEAL_KEYS_DIR: keys })));
  }

  /**
   * The bootstrap: its ServiceAccount's token (one the stand-in Vault's TokenReview knows, and the API server too) in
   * the file KUBE_TOKEN_FILE names, its plan from its ConfigMap.
   */
  async runBootstrap(env: Record<string, string> = {}, onSpawn?: (child: ChildProcess) => void): Promise<Run> {
    const token = this.vault.serviceAccountToken(this.namespace, 'vault-bootstrap', []);
    this.kube.acceptToken(token, this.namespace, 'vault-bootstrap');
    const tokenFile = join(this.dir, 'token');
    const planFile = join(this.dir, 'desired.json');
    writeFileSync(tokenFile, token);
    writeFileSync(planFile, this.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
    return this.record(await runNode(this.script('vault-bootstrap'), this.env('vault-bootstrap', {
      KUBE_API_URL: this.kube.url, KUBE_TOKEN_FILE: tokenFile, BOOTSTRAP_PLAN_FILE: planFile, ESCROW_RECIPIENT: this.escrowKey.recipient, ...env,
    }), { onSpawn }));
  }

  /** ESO's recovery: one attempt (its window would only wait for the next minute's state). */
  async runRecovery(): Promise<Run> {
    const tokenFile = join(this.dir, 'eso-token');
    writeFileSync(tokenFile, this.esoToken);
    return this.record(await runNode(this.script('eso-recovery'), this.env('eso-recovery', {
      KUBE_API_URL: this.eso.url, KUBE_TOKEN_FILE: tokenFile, RETRY_WINDOW_SECONDS: '2',
    })));
  }

  /** One simulated minute: the unseal job, the bootstrap, ESO's recovery (each runs every minute; this order is one of several). */
  async round(): Promise<Round> {
    const unseal = await this.runUnseal();
    const bootstrap = await this.runBootstrap();
    const recovery = await this.runRecovery();
    return { unseal, bootstrap, recovery };
  }

  private record(run: Run): Run {
    this.outputs.push(run.stdout, run.stderr);
    return run;
  }

  /** Every secret the stand-ins issued: shares (hex and base64), root and client tokens, the jobs' JWTs. */
  secretsIssued(): string[] {
    const init = this.vault.initAnswered;
    return [...(init?.keys ?? []), ...(init?.keys_base64 ?? []), ...this.vault.rootTokensIssued, ...this.vault.clientTokensIssued];
  }
}

/** Starts clusters for a file of scenarios, each stopped when the file's tests are done. */
export function startedClusters(): (...args: ConstructorParameters<typeof BootstrapCluster>) => Promise<BootstrapCluster> {
  const started: BootstrapCluster[] = [];
  afterAll(() => Promise.all(started.map((c) => c.stop())));
  return async (...args) => {
    const c = await new BootstrapCluster(...args).start();
    started.push(c);
    return c;
  };
}

/** Every 16-character piece of `secret`: none may appear anywhere a secret must not be. */
export function pieces(secret: string, length = 16): string[] {
  const out: string[] = [];
  for (let i = 0; i + length <= secret.length; i += 1) out.push(secret.slice(i, i + length));
  return out;
}

// What the acceptance's scenarios check, shared by test/runtime/vault-bootstrap*.integration.test.ts.

export const lastLine = (text: string) => text.trim().split('\n').pop() ?? '';
/** Vault's configuration writes: anything but logins, token revocation and the seal's own calls. */
export const configWrites = (c: BootstrapCluster, from = 0) => c.vault.writes.slice(from)
  .filter((r) => !/\/login$|\/token\/(revoke|lookup)-self$|sys\/(unseal|init|generate-root)/.test(r.path)).map((r) => `${r.method} ${r.path}`);

/** A call to the stand-in Vault as a client would make it, trusting the test's CA when it serves https. */
export async function vaultCall(c: BootstrapCluster, method: string, path: string, token?: string, body?: unknown): Promise<{ status: number; json: any }> {
  const answer = await request(`${c.vault.url}/v1/${path}`, {
    name: `${method} ${path}`, method, body, timeoutMs: 10_000, headers: token ? { 'x-vault-token': token } : {},
    ...(c.vault.url.startsWith('https:') && { ca: PKI.ca.cert }),
  });
  return { status: answer.status, json: answer.json };
}

/** What each store's login may read, as ESO logs in: by path, 'read' or 'denied'. */
export async function storeReach(c: BootstrapCluster): Promise<Record<string, Record<string, string>>> {
  const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
  const reach: Record<string, Record<string, string>> = {};
  for (const store of c.docs.filter((d) => d.kind === 'ClusterSecretStore')) {
    const k8s = store.spec.provider.vault.auth.kubernetes;
    const jwt = c.vault.serviceAccountToken(k8s.serviceAccountRef.namespace, k8s.serviceAccountRef.name, k8s.serviceAccountRef.audiences ?? []);
    const login = await vaultCall(c, 'POST', `auth/${k8s.mountPath ?? 'kubernetes'}/login`, undefined, { role: k8s.role, jwt });
    expect({ store: store.metadata.name, status: login.status }).toEqual({ store: store.metadata.name, status: 200 });
    reach[store.metadata.name] = {};
    for (const secret of want.secrets) {
      const read = await vaultCall(c, 'GET', `${secret.mount}/data/${secret.key}`, login.json.auth.client_token);
      reach[store.metadata.name][`${secret.mount}/${secret.key}`] = read.status === 403 ? 'denied' : 'read';
    }
  }
  return reach;
}

/** Each store may read exactly the secrets its namespace's ExternalSecrets read. */
export function expectedReach(c: BootstrapCluster): Record<string, Record<string, string>> {
  const want = JSON.parse(c.find('ConfigMap', 'vault-bootstrap-plan').data['desired.json']);
  return Object.fromEntries(c.docs.filter((d) => d.kind === 'ClusterSecretStore').map((store) => {
    const admitted: string[] = store.spec.conditions.flatMap((cond: any) => cond.namespaces);
    return [store.metadata.name, Object.fromEntries(want.secrets.map((s: any) => [`${s.mount}/${s.key}`,
      s.readers.some((r: string) => admitted.includes(r.split(' ')[1].split('/')[0])) ? 'read' : 'denied']))];
  }));
}

export function expectNoSecretOutside(c: BootstrapCluster): void {
  const kept = new Set([`${c.namespace}/${c.unsealSecret}`, `${c.namespace}/vault-unseal-escrow`]);
  const objects = Object.entries(c.kube.secrets).filter(([name]) => !kept.has(name)).map(([, data]) => JSON.stringify(data));
  const everywhere = [...c.outputs, JSON.stringify(c.kube.events), ...objects].join('\n');
  for (const secret of c.secretsIssued()) for (const piece of pieces(secret)) expect(everywhere.includes(piece) ? piece : 'absent').toBe('absent');
}
