import { randomBytes } from 'crypto';
import * as https from 'https';
import { ConnectionOptions, createSecureContext } from 'tls';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { root } from '../../build/bundle';
import { KubectlRunner } from '../../tools/vault-rollout/kubectl';
import { rollout, Seams } from '../../tools/vault-rollout/main';
import { PodAccess } from '../../tools/vault-rollout/port-forward';
import { FakeRaftCluster, FakeRaftClusterOptions } from './fake-raft-cluster';
import { FakeStatefulSet, FakeStatefulSetOptions } from './fake-kube-statefulset';
import { homelabDist } from './homelab-dist';
import { PKI } from './tls-fixtures';
import { distDocs } from './dist-docs';
import { listenerTls } from '../../tools/vault-setup/tls';
import { runInProcess } from './run-in-process';
import { expectRun as expectRunOf, Run } from './run-script';

// What vault-rollout's scenarios share: a stand-in Kubernetes API with the StatefulSet controller
// (fake-kube-statefulset.ts) wired to one stand-in Vault per pod (fake-raft-cluster.ts), and the command's main run in
// this process with two seams filled in: kubectl is `kubectlStandIn` (what the real one does with `get|delete --raw`,
// as vault-rollout.integration.test.ts shows it against the same API), and each pod's Vault is reached at its
// stand-in's loopback URL instead of through a port-forward.

export const TOKEN = `hvs.${randomBytes(18).toString('base64url')}`;
export const KUBE_TOKEN = `kube-${randomBytes(18).toString('base64url')}`;
export const HA_DIST = join(root, 'examples', 'ha-raft', 'dist');
export const FILE_DIST = () => homelabDist();
export const OLD = 'vault-6c5d8f9b7';
export const NEW = 'vault-7f4b9c8d2';
const EMPTY_HOME = mkdtempSync(join(tmpdir(), 'home-'));

export interface StandIns {
  readonly kube: FakeStatefulSet;
  readonly vault: FakeRaftCluster;
  /** With TLS: the CA file the command is given (VAULT_CACERT). */
  readonly caFile?: string;
  stop(): Promise<void>;
}

/** Whether the library's defaults (HA_DIST, and FILE_DIST alike) put TLS on Vault's listener: the stand-ins follow. */
const LIBRARY_TLS = listenerTls(distDocs(HA_DIST)).on;

export interface StandInOptions {
  /** Each pod's revision at the start (default three pods on OLD); the update revision is NEW. */
  readonly revisions?: string[];
  readonly vault?: Partial<FakeRaftClusterOptions>;
  readonly kube?: Partial<FakeStatefulSetOptions>;
  /** Each pod's Vault serves https (its certificate from PKI's CA, naming 127.0.0.1); by default as the library's defaults do. */
  readonly tls?: boolean;
}

export async function standIns(options: StandInOptions = {}): Promise<StandIns> {
  const revisions = options.revisions ?? [OLD, OLD, OLD];
  const tls = options.tls ?? LIBRARY_TLS;
  const vault = await new FakeRaftCluster({ token: TOKEN, pods: revisions.length, ...(tls && { tls: PKI.serving() }), ...options.vault }).start();
  const kube = await new FakeStatefulSet({
    token: KUBE_TOKEN, updateRevision: NEW, revisions,
    onStopped: (pod) => vault.podStopped(pod), onStarted: (pod) => { void vault.podStarted(pod); }, ready: (pod) => vault.isUnsealed(pod),
    ...options.kube,
  }).start();
  return { kube, vault, ...(tls && { caFile: PKI.caFile }), stop: async () => { await Promise.all([kube.stop(), vault.stop()]); } };
}

/** Starts stand-ins for the calling test file and stops them when it ends, as vault-setup's harness does with its Vaults. */
export function standInsForThisFile(): (options?: StandInOptions) => Promise<StandIns> {
  const started: StandIns[] = [];
  afterAll(() => Promise.all(started.map((s) => s.stop())));
  return async (options) => {
    const s = await standIns(options);
    started.push(s);
    return s;
  };
}

/**
 * kubectl as the command calls it (`[--request-timeout=Ns] get|delete --raw PATH [-f -]`), speaking to the stand-in
 * API with the kubeconfig's token over TLS, and printing what the real one prints: the body, or kubectl's
 * "Error from server (<reason>): <message>" and exit 1.
 */
export function kubectlStandIn(kube: FakeStatefulSet): KubectlRunner {
  // A connection per call, as each kubectl is a process of its own; the CA parsed once (per call, it was most of the
  // scenarios' CPU).
  const tls: ConnectionOptions = { secureContext: createSecureContext({ ca: kube.ca }) };
  return (args, call) => new Promise((resolve) => {
    const rest = args.filter((a) => !a.startsWith('--request-timeout='));
    const [verb, raw, path] = rest;
    if (!['get', 'delete'].includes(verb) || raw !== '--raw') {
      resolve({ code: 1, stdout: '', stderr: `the stand-in kubectl knows get|delete --raw only, not ${args.join(' ')}\n` });
      return;
    }
    const req = https.request(`${kube.url}${path}`, {
      ...tls, method: verb.toUpperCase(), agent: false, timeout: call.timeoutMs,
      headers: { authorization: `Bearer ${KUBE_TOKEN}`, accept: 'application/json, */*', ...(call.input && { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(call.input)) }) },
    }, (res) => {
      let body = '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        if ((res.statusCode ?? 0) < 300) return resolve({ code: 0, stdout: body, stderr: '' });
        let status: any;
        try { status = JSON.parse(body); } catch { status = {}; }
        resolve({ code: 1, stdout: '', stderr: `Error from server (${status.reason ?? 'InternalError'}): ${status.message ?? `an empty object (HTTP ${res.statusCode})`}\n` });
      });
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded')));
    req.on('error', (error) => resolve({ code: 1, stdout: '', stderr: `Unable to connect to the server: ${error.message}\n` }));
    req.end(call.input);
  });
}

/**
 * Each pod's Vault at its stand-in's port in `scheme` (the command's choice, as it makes a port-forward's URL), while
 * that pod's Vault runs; a restarted pod's link is dead, as a port-forward's is.
 */
export function podsStandIn(vault: FakeRaftCluster, scheme: 'http' | 'https' = 'http'): PodAccess {
  return {
    open: async (pod) => {
      const url = vault.urlOf(pod).replace(/^https?:/, `${scheme}:`);
      const alive = () => { try { return vault.urlOf(pod).replace(/^https?:/, `${scheme}:`) === url; } catch { return false; } };
      return { url, alive, close: () => undefined };
    },
  };
}

/** Bounds a rollout run in process: a hang, not a speed check. */
export const ROLLOUT_HANG_LIMIT_MS = 60_000;

export interface RolloutRun extends Run {
  /** The questions the command asked the operator. */
  readonly asked: string[];
}

/** vault-rollout's main in this process against the stand-ins; `answer` is the operator's reply to a question. */
export async function runRollout(s: StandIns, args: string[], options: { env?: Record<string, string>; answer?: boolean; seams?: Seams } = {}): Promise<RolloutRun> {
  const asked: string[] = [];
  const seams: Seams = {
    kubectl: kubectlStandIn(s.kube),
    pods: (_target, scheme) => podsStandIn(s.vault, scheme),
    // The command only reads dist/: each one the scenarios name is parsed once.
    manifests: distDocs,
    ...(options.answer !== undefined && { confirm: async (question: string) => { asked.push(question); return options.answer!; } }),
    ...options.seams,
  };
  // Polls a tenth of a second apart, several within a stand-in pod's return (about 0.7 s) and fifty within a 5 s wait
  // (a fiftieth of a second apart they were most of the scenarios' CPU); 5 s per call, far above a loopback answer.
  const env = {
    HOME: EMPTY_HOME, VAULT_TOKEN: TOKEN, VAULT_ROLLOUT_POLL_SECONDS: '0.1', VAULT_ROLLOUT_CALL_SECONDS: '5',
    ...(s.caFile && { VAULT_CACERT: s.caFile }), ...options.env,
  };
  // A whole rollout is three pods replaced one after the other, several polls each: on a machine busy several times
  // over it took more than the scripts' 20 s hang limit; a minute still only catches a hang.
  const run = await runInProcess((vars, io) => rollout(args, vars, seams, io), env, { limitMs: ROLLOUT_HANG_LIMIT_MS });
  return { ...run, asked };
}

/** Exit code, the outcome as the last line, no token in the output; on a failure, stderr is that one line. */
export function expectRun(run: Run, code: number): void {
  expectRunOf(run, code, [TOKEN, KUBE_TOKEN]);
  if (code !== 0) expect(run.stderr.trim().split('\n')).toHaveLength(1);
}

export const lines = (run: Run) => run.stdout.split('\n').filter((l) => l !== '');
/** The order things happened in: deletions (kube) and step-downs (Vault), by time. */
export function actions(s: StandIns): string[] {
  const stepDowns = s.vault.history.filter((e) => e.event.endsWith('stepped down')).map((e) => ({ at: e.at, what: `step down ${e.event.split(' ')[0]}` }));
  const deletes = s.kube.deleted.map((d) => ({ at: d.at, what: `delete ${d.pod}` }));
  return [...stepDowns, ...deletes].sort((a, b) => a.at - b.at).map((a) => a.what);
}
