// How the command reaches each pod's own Vault: `kubectl port-forward pod/<pod> :8200` on a loopback port kubectl
// picks, one per pod, kept while the pod is the same and closed when it goes. Through the kubelet, so neither the
// NetworkPolicy in front of Vault (which admits only its clients) nor a Service (which picks any pod) is in the way,
// and the token never leaves this machine in cleartext. It needs `create` on pods/portforward, not pods/exec.
// The tests put their own PodAccess in its place (each stand-in Vault's loopback URL): kubectl's streaming protocol is
// not worth standing in for, and what is left here is the start and the end of a process.
import { ChildProcess, spawn } from 'child_process';
import { needsHuman, notYet } from '../../runtime/common/failure';
import { Env } from '../../runtime/common/settings';
import { VAULT_PORT } from '../../runtime/common/variables';
import { kubectlEnv } from './kubectl';

/** A local URL that reaches one pod's Vault, and how to let it go. */
export interface PodLink {
  readonly url: string;
  /** Whether it still works: a port-forward ends when its pod goes. */
  alive(): boolean;
  close(): void;
}

export interface PodAccess {
  open(pod: string): Promise<PodLink>;
}

/** kubectl prints this once it listens: "Forwarding from 127.0.0.1:40123 -> 8200". */
const FORWARDING = new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${VAULT_PORT}`);

/** Every port-forward still running, ended with the process, however it ends. */
const running = new Set<ChildProcess>();
let hooked = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => { for (const c of running) c.kill(); });
}

/** Port-forwards to each pod; its URL speaks `scheme`, https when Vault's listener has TLS. */
export function portForwardAccess(kubectl: string, env: Env, namespace: string, callMs: number, scheme: 'http' | 'https' = 'http'): PodAccess {
  return {
    open: (pod) => new Promise<PodLink>((resolve, reject) => {
      const what = `kubectl port-forward pod/${pod}`;
      const child = spawn(kubectl, ['-n', namespace, 'port-forward', `pod/${pod}`, `:${VAULT_PORT}`, '--address', '127.0.0.1'], {
        env: kubectlEnv(env), stdio: ['ignore', 'pipe', 'pipe'],
      });
      track(child);
      let stdout = '';
      let stderr = '';
      let settled = false;
      let exited = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill();
        reject(error);
      };
      const timer = setTimeout(() => fail(notYet(`${what} did not start forwarding within ${callMs / 1000} s`)), callMs);
      child.stdout.on('data', (chunk) => {
        stdout += chunk;
        const port = FORWARDING.exec(stdout)?.[1];
        if (!port || settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ url: `${scheme}://127.0.0.1:${port}`, alive: () => !exited, close: () => { child.kill(); } });
      });
      child.stderr.on('data', (chunk) => { stderr += chunk; });
      child.on('error', (error: NodeJS.ErrnoException) => {
        fail(needsHuman(`cannot run ${kubectl} (${error.code ?? error.message}): install kubectl, or set VAULT_ROLLOUT_KUBECTL to it`));
      });
      child.on('exit', () => {
        exited = true;
        const line = stderr.trim().split('\n').pop() || 'no message';
        fail(/forbidden/i.test(line) ? needsHuman(`${what}: ${line}: your kubeconfig's user needs create on pods/portforward (docs/rollout.md)`)
          : notYet(`${what} ended: ${line}`));
      });
    }),
  };
}
