// Vault's HTTP API with the operator's token: every call bounded by the timeout, every failure one line that says
// what to do. The token travels only in the X-Vault-Token header and is registered for redaction by the caller.
import { RunError } from '../failure';
import { HttpResponse, request } from '../http';
import { Lookup } from '../io';
import { reason } from '../log';
import { CaFile } from '../tls';
import { vaultCall, vaultErrorText } from '../vault';

export interface VaultClient {
  readonly addr: string;
  /** Unauthenticated, so a sealed Vault answers it. */
  sealStatus(): Promise<HttpResponse>;
  /** GETs `path` (such as "/v1/sys/mounts"); undefined when Vault answers 404. */
  read(path: string): Promise<any>;
  /** The keys of a LIST (a GET with `?list=true`); none when Vault answers 404. */
  list(path: string): Promise<string[]>;
  write(method: 'POST' | 'PUT', path: string, body: unknown): Promise<void>;
  /** DELETEs `path`: only `retire` calls it, for what the operator confirmed by name. */
  delete(path: string): Promise<void>;
  /** An unauthenticated login (`path` such as "/v1/auth/kubernetes/login"): the client token it answers. */
  login(path: string, body: unknown): Promise<string>;
}

/** How to reach Vault, and with which token. */
export interface Connection {
  readonly addr: string;
  readonly token: string;
  readonly timeoutMs: number;
  /** The CA to trust for an https VAULT_ADDR (VAULT_CACERT), in place of the default roots. */
  readonly ca?: CaFile;
  /** Vault's namespace, where its Certificate is, as a certificate problem's message names it. */
  readonly namespace?: string;
}

/** How to reach Vault (the settings read it), and what to advise when it cannot be reached or denies a call. */
export interface VaultClientSettings extends Connection {
  /** The port-forward to start when Vault cannot be reached, named from dist/ (tools/vault-setup/port-forward.ts). */
  readonly portForward?: string;
  /** What to do when Vault cannot be reached, in place of the port-forward's advice (a job in the cluster). */
  readonly unreachable?: string;
  /** What to do when Vault denies a call (HTTP 403). @default run `vault login` with an admin token */
  readonly denied?: string;
  /** Resolves Vault's host name (dns.lookup when absent). */
  readonly lookup?: Lookup;
  /** Each call's bound, asked at each call (a script's run budget); `timeoutMs` when absent. */
  readonly callMs?: () => number;
}

const PORT_FORWARD_UNKNOWN = "kubectl port-forward to vault's Service";

/** Each path segment URL-encoded, so a secret key cannot change the request's path or query. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}


/** An answer that is neither a success nor (where allowed) a 404, as one line; `status` tells a 403 from the rest. */
export class VaultAnswerError extends Error {
  constructor(message: string, public readonly status: number) {
    super(message);
  }
}

const DENIED = 'run `vault login` with an admin token';

export function answerError(addr: string, name: string, response: HttpResponse, denied = DENIED): VaultAnswerError {
  const detail = vaultErrorText(response) ?? 'no detail';
  if (response.status === 503 && /sealed/i.test(detail)) return sealedError(addr);
  if (response.status === 403) {
    return new VaultAnswerError(`vault denied ${name} (HTTP 403 ${detail}): the token is wrong, expired or lacks this permission; ${denied}`, 403);
  }
  return new VaultAnswerError(`${name} answered HTTP ${response.status} (${detail})`, response.status);
}

export function sealedError(addr: string): VaultAnswerError {
  return new VaultAnswerError(`vault at ${addr} is sealed: unseal it (the vault-auto-unseal CronJob, or \`vault operator unseal\`), then run again`, 503);
}

export function vaultClient(settings: VaultClientSettings): VaultClient {
  const { addr, token, timeoutMs, ca, namespace, portForward = PORT_FORWARD_UNKNOWN, lookup, denied } = settings;
  const unreachable = settings.unreachable ?? `start the port-forward (\`${portForward}\`) or set VAULT_ADDR`;
  const tls = vaultCall(addr, { ca, namespace });
  const call = async (method: string, path: string, body?: unknown, authenticated = true): Promise<HttpResponse> => {
    const name = `${method} ${path}`;
    try {
      return await request(`${addr}${path}`, {
        name, method, body, timeoutMs: settings.callMs?.() ?? timeoutMs, lookup, ...tls, headers: authenticated ? { 'x-vault-token': token } : {},
      });
    } catch (error) {
      // A certificate problem says what to fix; a port-forward would not help.
      if (error instanceof RunError && error.exitCode === 2) throw error;
      throw new Error(`cannot talk to vault at ${addr} (${reason(error)}): ${unreachable}`);
    }
  };
  const ok = (status: number) => status >= 200 && status < 300;
  return {
    addr,
    sealStatus: () => call('GET', '/v1/sys/seal-status', undefined, false),
    read: async (path) => {
      const answer = await call('GET', path);
      if (answer.status === 404) return undefined;
      if (!ok(answer.status)) throw answerError(addr, `GET ${path}`, answer, denied);
      return answer.json;
    },
    list: async (path) => {
      const answer = await call('GET', `${path}?list=true`);
      if (answer.status === 404) return [];
      if (!ok(answer.status)) throw answerError(addr, `LIST ${path}`, answer, denied);
      const keys = answer.json?.data?.keys;
      return Array.isArray(keys) ? keys.filter((k: unknown): k is string => typeof k === 'string') : [];
    },
    write: async (method, path, body) => {
      const answer = await call(method, path, body);
      if (!ok(answer.status)) throw answerError(addr, `${method} ${path}`, answer, denied);
    },
    delete: async (path) => {
      const answer = await call('DELETE', path);
      if (!ok(answer.status)) throw answerError(addr, `DELETE ${path}`, answer, denied);
    },
    login: async (path, body) => {
      const answer = await call('POST', path, body, false);
      const token = answer.json?.auth?.client_token;
      if (!ok(answer.status)) throw answerError(addr, `POST ${path}`, answer, 'check the role\'s bound service account and namespace (`npm run vault-setup -- plan`)');
      if (typeof token !== 'string' || token === '') throw new Error(`POST ${path} answered no client token: is ${addr} a vault server?`);
      return token;
    },
  };
}
