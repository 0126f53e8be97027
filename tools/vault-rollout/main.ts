// vault-rollout: replaces Vault's pods that run an older revision of the StatefulSet than its update revision, the way
// Vault's upgrade guide orders it: one standby at a time, each back (Running, unsealed, a healthy Raft voter) before
// the next goes, then the leader steps down and is replaced last. With updateStrategy OnDelete this is how a change of
// the pod template reaches the pods; RollingUpdate does it without asking Vault who leads. Through the operator's
// kubectl (get and delete, and a port-forward per pod) and Vault's API with the operator's token; never pods/exec.
// With TLS on Vault's listener (dist/ says so) each pod is reached over https, trusting the CA in VAULT_CACERT.
// `npm run vault-rollout -- [--dry-run] [--yes] [--timeout 10m] [--dist DIR]`. Exit 0 done or nothing to do (a dry
// run too), 1 refused or stopped, with one line on stderr saying where and how to go on.
import { Log, logTo, Output, processOutput, reason, redact } from '../../runtime/common/log';
import { start } from '../../runtime/common/main';
import { Env } from '../../runtime/common/settings';
import { readManifests } from '../vault-setup/manifests';
import { readToken } from '../vault-setup/settings';
import { listenerTls, readToolCa } from '../vault-setup/tls';
import { Confirm, terminalConfirm } from './confirm';
import { Stop } from './execute';
import { kubeVia, KubectlRunner, spawnKubectl } from './kubectl';
import { PodAccess, portForwardAccess } from './port-forward';
import { roll } from './rollout';
import { Args, parseArgs, readSettings, USAGE } from './settings';
import { Target, targetOf } from './target';
import { VaultPods } from './vault-pods';

/** What the tests replace: kubectl, the way to each pod's Vault (in the scheme dist/ says), the operator's answer. */
export interface Seams {
  readonly kubectl?: KubectlRunner;
  readonly pods?: (target: Target, scheme: 'http' | 'https') => PodAccess;
  readonly confirm?: Confirm;
  /** dist/'s documents (the tests parse each dist/ once). */
  readonly manifests?: typeof readManifests;
}

async function run(args: Args, env: Env, seams: Seams, log: Log['log']): Promise<number> {
  const settings = readSettings(env);
  const docs = (seams.manifests ?? readManifests)(args.distDir);
  const target = targetOf(docs);
  const tls = listenerTls(docs);
  const scheme = tls.on ? 'https' : 'http';
  const ca = readToolCa(env, `${scheme}://127.0.0.1`, tls, "dist/ says vault's listener speaks TLS: its pods are reached over https at 127.0.0.1 through port-forwards,");
  // File storage asks Vault only for its seal status, which needs no token.
  const token = target.storage === 'raft' ? readToken(env) : '';
  if (token) redact(token);
  const kubectl = seams.kubectl ?? spawnKubectl(settings.kubectl, env);
  const access = seams.pods?.(target, scheme) ?? portForwardAccess(settings.kubectl, env, target.namespace, settings.callMs, scheme);
  const vault = new VaultPods(access, token, settings.callMs, { ca, namespace: target.namespace });
  try {
    return await roll({
      kube: kubeVia(kubectl, settings.callMs), vault, target, timeoutMs: args.timeoutMs, pollMs: settings.pollMs, log,
      now: Date.now, sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }, { dryRun: args.dryRun, yes: args.yes, confirm: seams.confirm ?? terminalConfirm(log) });
  } finally {
    vault.closeAll();
  }
}

/** main with the seams the tests fill in; its lines go to `io`. */
export async function rollout(argv: string[], env: Env, seams: Seams, io: Output): Promise<number> {
  const { log, logError } = logTo(io);
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    logError(reason(error));
    USAGE.forEach((line) => logError(line));
    return 1;
  }
  if (args.help) {
    USAGE.forEach((line) => log(line));
    return 0;
  }
  try {
    return await run(args, env, seams, log);
  } catch (error) {
    logError(error instanceof Stop ? error.message : `stopped before any change: ${reason(error)}`);
    return 1;
  }
}

export async function main(argv: string[], env: Env = process.env, io: Output = processOutput): Promise<number> {
  return rollout(argv, env, {}, io);
}

/** The entry point of the bundle: exits with main's code. */
export function cli(argv: string[] = process.argv.slice(2)): void {
  start(() => main(argv));
}

if (require.main === module) cli();
