import { readFileSync } from 'fs';
import { Budget } from './budget';
import { describeAnswer, request } from './http';
import { needsHuman, notYet, RunError } from './failure';
import { redact } from './log';

// A minimal in-cluster Kubernetes client: a bearer token, the cluster's CA, JSON over HTTPS, each call bounded.
// (@kubernetes/client-node bundles to about 1.6 MB, more than a ConfigMap may hold.)

export interface KubeSettings {
  readonly url: string;
  readonly tokenFile: string;
  readonly caFile: string;
  /** Bounds every call. */
  readonly budget: Budget;
}

export interface KubeApi {
  /** GETs an object or a list (a path with a query); `what` names it in errors, such as "clustersecretstore k8s-secrets". */
  get(path: string, what: string): Promise<any>;
  /** Applies a JSON merge patch: custom resources take no strategic merge patch. */
  patch(path: string, body: unknown, what: string): Promise<any>;
  /** POSTs a new object. */
  create(path: string, body: unknown, what: string): Promise<any>;
  /** PUTs an object whole (its resourceVersion guards against a concurrent change: 409). */
  update(path: string, body: unknown, what: string): Promise<any>;
}

/** An answer that is not the API's (or not the object asked for): a failed call, retried, never taken as a state. */
export function malformed(call: string, why: string): RunError {
  return notYet(`${call} answered ${why}: not the API's answer`);
}

/**
 * The API server refuses a write when an admission webhook with `failurePolicy: Fail` cannot be called: ESO's webhook
 * is down. Waiting is the cure; the message names the webhook.
 */
function webhookDown(name: string, message: string): RunError | undefined {
  const webhook = /failed calling webhook "([^"]+)"/.exec(message)?.[1];
  if (!webhook) return undefined;
  const whose = webhook.endsWith('external-secrets.io') ? 'ESO\'s webhook is down; it admits every change to ESO\'s objects' : 'an admission webhook is down';
  return notYet(`${name} was refused: the admission webhook ${webhook} is not answering (${whose}): the next run tries again`, 500);
}

function readFile(path: string, what: string, variable: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw needsHuman(`cannot read the ${what} at ${path} (${(error as NodeJS.ErrnoException).code}): set ${variable} or mount it`);
  }
}

export function kubeApi(settings: KubeSettings): KubeApi {
  let auth: { token: string; ca?: string } | undefined;
  const credentials = () => {
    if (!auth) {
      const token = readFile(settings.tokenFile, 'service account token', 'KUBE_TOKEN_FILE');
      redact(token);
      const ca = settings.url.startsWith('https:') ? readFile(settings.caFile, 'cluster CA', 'KUBE_CA_FILE') : undefined;
      auth = { token, ca };
    }
    return auth;
  };
  const call = async (method: string, path: string, what: string, body?: unknown) => {
    const { token, ca } = credentials();
    const name = `${method} ${what}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (method === 'PATCH') headers['content-type'] = 'application/merge-patch+json';
    const answer = await request(`${settings.url}${path}`, { method, name, headers, body, ca, timeoutMs: settings.budget.callMs() });
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.json === null || typeof answer.json !== 'object') throw malformed(name, describeAnswer(answer));
      return answer.json;
    }
    const down = webhookDown(name, String(answer.json?.message ?? ''));
    if (down) throw down;
    const detail = answer.json?.message ? `: ${answer.json.message}` : '';
    // No token, no permission, no such object: waiting does not cure them.
    throw new RunError(`${name} answered HTTP ${answer.status}${detail}`, [401, 403, 404].includes(answer.status) ? 2 : 1, answer.status);
  };
  return {
    get: (path, what) => call('GET', path, what),
    patch: (path, body, what) => call('PATCH', path, what, body),
    create: (path, body, what) => call('POST', path, what, body),
    update: (path, body, what) => call('PUT', path, what, body),
  };
}
