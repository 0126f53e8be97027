import { Budget } from './budget';
import { DEFAULTS, ENV } from './variables';
import { checkPort, HttpResponse, request } from './http';
import { Lookup } from './io';
import { Env, readUrl } from './settings';

/** `VAULT_ADDR`, defaulting to Vault's in-cluster Service. */
export function readVaultAddr(env: Env): string {
  return readUrl(env, ENV.vaultAddr, DEFAULTS.vaultAddr);
}

/** The unauthenticated Vault endpoints the scripts use; every call is bounded by the run's budget. */
export interface VaultApi {
  readonly addr: string;
  checkPort(): Promise<void>;
  sealStatus(): Promise<HttpResponse>;
  unseal(body: { key: string } | { reset: true }): Promise<HttpResponse>;
  health(): Promise<HttpResponse>;
}

/** The API of the Vault at `addr`, its host name resolved by `lookup` (dns.lookup when absent). */
export function vaultApi(addr: string, budget: Budget, lookup?: Lookup): VaultApi {
  const call = (path: string, name: string, method = 'GET', body?: unknown) =>
    request(`${addr}${path}`, { name, method, body, timeoutMs: budget.callMs(), lookup });
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
