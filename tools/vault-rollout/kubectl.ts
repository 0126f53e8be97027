// The cluster through the operator's own kubectl, so that whatever their kubeconfig authenticates with (a token, a
// client certificate, an exec plugin, OIDC) works unchanged. Reads and the delete are `kubectl get|delete --raw`: the
// exact API request, no discovery, and the delete carries a precondition on the pod's uid, so that a pod replaced by
// someone else since it was read is never deleted in its place. Every call is bounded.
import { spawn } from 'child_process';
import { needsHuman, notYet } from '../../runtime/common/failure';
import { Env } from '../../runtime/common/settings';

export interface KubectlResult {
  /** null when the call was stopped at its bound. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlCall {
  /** Written to kubectl's standard input (`-f -`). */
  readonly input?: string;
  readonly timeoutMs: number;
}

/** Runs kubectl with `args`: the seam the tests replace with a stand-in speaking to their stand-in API server. */
export type KubectlRunner = (args: string[], call: KubectlCall) => Promise<KubectlResult>;

/** A pod list of a few pods is some tens of KB; anything near this is not the answer asked for. */
const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

/** kubectl's environment: the operator's, without the Vault token (an exec credential plugin would inherit it). */
export function kubectlEnv(env: Env): Env {
  const { VAULT_TOKEN: _token, ...rest } = env;
  return rest;
}

export function spawnKubectl(command: string, env: Env): KubectlRunner {
  return (args, call) => new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: kubectlEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    const timer = setTimeout(() => { stopped = true; child.kill('SIGKILL'); }, call.timeoutMs);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.length <= MAX_OUTPUT_BYTES) return;
      stderr += `\nprinted more than ${MAX_OUTPUT_BYTES / 1024 / 1024} MB: not the object asked for`;
      child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(needsHuman(`cannot run ${command} (${error.code ?? error.message}): install kubectl, or set VAULT_ROLLOUT_KUBECTL to it`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(call.input ?? '');
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: stopped ? null : code ?? 1, stdout, stderr });
    });
  });
}

/** The last line kubectl wrote to stderr: its one-line error. */
const lastLine = (text: string) => text.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? 'no message';

export interface Kube {
  /** GETs an API path; undefined when the object does not exist. */
  get(path: string, what: string): Promise<any>;
  /** DELETEs an API path with a DeleteOptions body (its preconditions). */
  remove(path: string, body: unknown, what: string): Promise<void>;
}

export function kubeVia(run: KubectlRunner, callMs: number): Kube {
  const call = async (verb: 'get' | 'delete', path: string, what: string, input?: string): Promise<string | undefined> => {
    // kubectl's own bound a little inside ours, so that its message, not our kill, says what happened.
    const seconds = Math.max(1, Math.floor(callMs / 1000) - 1);
    const args = [`--request-timeout=${seconds}s`, verb, '--raw', path, ...(input === undefined ? [] : ['-f', '-'])];
    const result = await run(args, { input, timeoutMs: callMs });
    if (result.code === 0) return result.stdout;
    if (result.code === null) throw notYet(`kubectl ${verb} ${what} did not finish within ${callMs / 1000} s`);
    const line = lastLine(result.stderr);
    if (/\(NotFound\)/.test(line)) return undefined;
    if (/\(Forbidden\)|\(Unauthorized\)/.test(line)) {
      throw needsHuman(`kubectl ${verb} ${what}: ${line}: your kubeconfig's user lacks what docs/rollout.md lists (RBAC), or its login expired`);
    }
    throw notYet(`kubectl ${verb} ${what} failed: ${line}`);
  };
  return {
    get: async (path, what) => {
      const text = await call('get', path, what);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text);
      } catch {
        throw notYet(`kubectl get ${what} printed something that is not JSON: not the API's answer`);
      }
    },
    remove: async (path, body, what) => {
      const text = await call('delete', path, what, JSON.stringify(body));
      if (text === undefined) throw notYet(`kubectl delete ${what}: it no longer exists (someone else deleted it)`);
    },
  };
}
