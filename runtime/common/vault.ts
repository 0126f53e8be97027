import { Budget } from './budget';
import { needsHuman } from './failure';
import { DEFAULTS, ENV } from './variables';
import { checkPort, HttpResponse, request } from './http';
import { Lookup } from './io';
import { Env, readUrl } from './settings';
import { CaFile, readCaFile, TlsPeer } from './tls';

/** `VAULT_ADDR`, defaulting to Vault's in-cluster Service. */
export function readVaultAddr(env: Env): string {
  return readUrl(env, ENV.vaultAddr, DEFAULTS.vaultAddr);
}

/**
 * The CA that `VAULT_CACERT` names, read once at the start; undefined when it is unset and every address is http. An
 * https address without it is a human's to fix: the scripts never fall back on the system's roots.
 */
export function readVaultCa(env: Env, addresses: Array<{ readonly variable: string; readonly url: string }>): CaFile | undefined {
  const file = env[ENV.vaultCaCert];
  const https = addresses.find((a) => new URL(a.url).protocol === 'https:');
  if (https && !file) {
    throw needsHuman(`${https.variable} is https (${https.url}) and ${ENV.vaultCaCert} is not set: name the mounted ca.crt of the CA `
      + `that issues vault's certificate in ${ENV.vaultCaCert} (the scripts trust that CA only, never the system's roots)`);
  }
  return file ? readCaFile(ENV.vaultCaCert, file) : undefined;
}

/** `VAULT_ADDR` and the CA `VAULT_CACERT` names for it: what a script calling one Vault reads. */
export function readVaultTarget(env: Env): { vaultAddr: string; vaultCa?: CaFile } {
  const vaultAddr = readVaultAddr(env);
  const vaultCa = readVaultCa(env, [{ variable: ENV.vaultAddr, url: vaultAddr }]);
  return vaultCa ? { vaultAddr, vaultCa } : { vaultAddr };
}

/** How a call to Vault is made and named: the CA it trusts, the variable its address came from, the namespace to look in. */
export interface VaultTls {
  readonly ca?: CaFile;
  /** VAULT_ADDR, or VAULT_PODS for a pod's URL. */
  readonly addressVariable?: string;
  /** Vault's namespace, for the command that shows its Certificate; by default the one the host names (x.<ns>.svc). */
  readonly namespace?: string;
}

/** The namespace a cluster DNS name names: <service>.<ns>.svc... or <pod>.<service>.<ns>.svc... */
function namespaceOf(host: string): string | undefined {
  const labels = host.split('.');
  const svc = labels.indexOf('svc');
  return svc >= 2 ? labels[svc - 1] : undefined;
}

/** The options of a call to the Vault at `addr`: its CA as Node's `ca`, and how a TLS failure names it. */
export function vaultCall(addr: string, tls: VaultTls = {}): { ca?: string; peer: TlsPeer } {
  const namespace = tls.namespace ?? namespaceOf(new URL(addr).hostname);
  const peer: TlsPeer = {
    name: 'vault', addressVariable: tls.addressVariable ?? ENV.vaultAddr, caVariable: ENV.vaultCaCert, ca: tls.ca,
    check: `vault's Certificate (${namespace ? `kubectl -n ${namespace} get certificate` : 'kubectl get certificate -A'})`,
  };
  return { ca: tls.ca?.pem, peer };
}

/** The unauthenticated Vault endpoints the scripts use; every call is bounded by the run's budget. */
export interface VaultApi {
  readonly addr: string;
  checkPort(): Promise<void>;
  sealStatus(): Promise<HttpResponse>;
  unseal(body: { key: string } | { reset: true }): Promise<HttpResponse>;
  health(): Promise<HttpResponse>;
}

/** The API of the Vault at `addr`, its host name resolved by `lookup` (dns.lookup when absent), trusting `tls.ca`. */
export function vaultApi(addr: string, budget: Budget, lookup?: Lookup, tls: VaultTls = {}): VaultApi {
  const options = vaultCall(addr, tls);
  const call = (path: string, name: string, method = 'GET', body?: unknown) =>
    request(`${addr}${path}`, { name, method, body, timeoutMs: budget.callMs(), lookup, ...options });
  return {
    addr,
    checkPort: async () => checkPort(addr, budget.callMs(), lookup),
    sealStatus: () => call('/v1/sys/seal-status', 'GET /v1/sys/seal-status'),
    unseal: (body) => call('/v1/sys/unseal', 'PUT /v1/sys/unseal', 'PUT', body),
    // 200 only when initialized, unsealed and active (or standby, with standbyok).
    health: () => call('/v1/sys/health?standbyok=true', 'GET /v1/sys/health'),
  };
}

/** Vault's own error text from a response, on one line; undefined when it gave none. */
export function vaultErrorText(response: HttpResponse): string | undefined {
  const errors = response.json?.errors;
  return Array.isArray(errors) && errors.length > 0 ? errors.join('; ') : undefined;
}

/** Vault's own error text as a suffix of a message (`: <text>`), or nothing. */
export function vaultErrors(response: HttpResponse): string {
  const text = vaultErrorText(response);
  return text === undefined ? '' : `: ${text}`;
}

/** Whether an answer says the server has not been initialized (older Vaults: HTTP 400; newer: initialized false). */
export function isUninitialized(response: HttpResponse): boolean {
  if (response.status === 400) return /not yet initialized/i.test(vaultErrors(response));
  return response.status === 200 && response.json?.initialized === false;
}

/** The fields of Vault's seal-status object that the unseal script relies on. */
export interface SealStatus {
  readonly initialized: boolean;
  readonly sealed: boolean;
  /** The threshold of shares. */
  readonly t: number;
  /** The number of shares. */
  readonly n: number;
  /** Shares submitted in the current attempt. */
  readonly progress: number;
}

/**
 * The seal-status object, only when the answer is well-formed: a 200 with HTML, `{}` or `"sealed": "false"` is not
 * Vault, and no share may be sent to it.
 */
export function sealStatus(response: HttpResponse): SealStatus | undefined {
  const s = response.json;
  const wellFormed = response.status === 200 && s !== null && typeof s === 'object'
    && typeof s.initialized === 'boolean' && typeof s.sealed === 'boolean'
    && Number.isInteger(s.t) && Number.isInteger(s.n) && (s.progress === undefined || Number.isInteger(s.progress));
  return wellFormed ? { initialized: s.initialized, sealed: s.sealed, t: s.t, n: s.n, progress: s.progress ?? 0 } : undefined;
}
