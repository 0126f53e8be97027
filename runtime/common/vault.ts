import { checkPort, HttpResponse, request } from './http';
import { Env, readUrl } from './settings';

/** `VAULT_ADDR`, defaulting to Vault's in-cluster Service. */
export function readVaultAddr(env: Env): string {
  return readUrl(env, 'VAULT_ADDR', 'http://vault.security.svc.cluster.local:8200');
}

/** The unauthenticated Vault endpoints the scripts use. */
export interface VaultApi {
  readonly addr: string;
  checkPort(): Promise<void>;
  sealStatus(): Promise<HttpResponse>;
  unseal(share: string): Promise<HttpResponse>;
  health(): Promise<HttpResponse>;
}

export function vaultApi(addr: string, timeoutMs: number): VaultApi {
  return {
    addr,
    checkPort: () => checkPort(addr, timeoutMs),
    sealStatus: () => request(`${addr}/v1/sys/seal-status`, { name: 'GET /v1/sys/seal-status', timeoutMs }),
    unseal: (share) => request(`${addr}/v1/sys/unseal`, { name: 'PUT /v1/sys/unseal', method: 'PUT', body: { key: share }, timeoutMs }),
    // 200 only when initialized, unsealed and active (or standby, with standbyok).
    health: () => request(`${addr}/v1/sys/health?standbyok=true`, { name: 'GET /v1/sys/health', timeoutMs }),
  };
}

/** Vault's own error text from a response, on one line. */
export function vaultErrors(response: HttpResponse): string {
  const errors = response.json?.errors;
  return Array.isArray(errors) && errors.length > 0 ? `: ${errors.join('; ')}` : '';
}

/** Whether an answer says the server has not been initialized (older Vaults: HTTP 400; newer: initialized false). */
export function isUninitialized(response: HttpResponse): boolean {
  if (response.status === 400) return /not yet initialized/i.test(vaultErrors(response));
  return response.status === 200 && response.json?.initialized === false;
}
