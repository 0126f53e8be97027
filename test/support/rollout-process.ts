import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { root } from '../../build/bundle';
import { StandIns, TOKEN } from './rollout-harness';
import { Run, runNode } from './run-script';

// vault-rollout as the operator runs it: the npm script's bundle in a process of its own, driving the real kubectl
// against the stand-in API (https, the kubeconfig's token), with `kubectl port-forward` answered by a relay to each
// pod's stand-in Vault (kubectl-port-forward.js). Shared by the process test and `npm run bench -- rollout`.

/** The bundle of tools/vault-rollout/main.ts, as scripts/vault-rollout.js builds it. */
export function bundleRollout(): string {
  const { bundleVaultRollout } = require('../../scripts/vault-rollout.js');
  return bundleVaultRollout();
}

/** The real kubectl on PATH; the process test needs it (the operator's machine has it for every runbook). */
export function realKubectl(): string {
  const found = (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'kubectl')).find((file) => existsSync(file));
  if (!found) throw new Error("vault-rollout's process test drives the real kubectl against a stand-in API server: install kubectl");
  return found;
}

export interface ProcessRun extends Run {
  /** The pids of the port-forwards the run started. */
  readonly forwards: number[];
}

/** Runs the bundle with `args` against the stand-ins, with only the environment an operator's shell would give it. */
export async function runRolloutProcess(s: StandIns, bundle: string, args: string[], env: Record<string, string> = {}, limitMs = 60_000): Promise<ProcessRun> {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-'));
  const podsFile = join(dir, 'pods.json');
  const forwards = join(dir, 'forwards');
  mkdirSync(forwards);
  const writePods = () => writeFileSync(podsFile, JSON.stringify(s.vault.ports()));
  writePods();
  s.vault.onChange(writePods);
  const kubectl = join(dir, 'kubectl');
  // `port-forward` goes to the relay, every other command straight to the real kubectl (a Node.js process in between
  // cost each call a fifth of a second of CPU).
  const relay = join(root, 'test', 'support', 'kubectl-port-forward.js');
  writeFileSync(kubectl, `#!/bin/sh\ncase " $* " in *" port-forward "*) exec "${process.execPath}" "${relay}" "$@" ;; esac\nexec "$REAL_KUBECTL" "$@"\n`, { mode: 0o755 });
  const home = join(dir, 'home');
  const run = await runNode(bundle, {
    HOME: home, KUBECONFIG: s.kube.kubeconfig(), VAULT_TOKEN: TOKEN, VAULT_ROLLOUT_KUBECTL: kubectl, REAL_KUBECTL: realKubectl(),
    FAKE_PODS_FILE: podsFile, FAKE_FORWARDS_DIR: forwards, VAULT_ROLLOUT_POLL_SECONDS: '0.05', VAULT_ROLLOUT_CALL_SECONDS: '10',
    ...(s.caFile && { VAULT_CACERT: s.caFile }), ...env,
  }, { args, limitMs });
  return { ...run, forwards: readdirSync(forwards).map(Number) };
}

/** Whether a process still runs. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
