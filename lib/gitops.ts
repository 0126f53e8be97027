// Annotations that let ArgoCD order and tolerate what these manifests need from the cluster. ArgoCD dry-runs a whole
// sync first, and one object whose kind is unknown (its operator's CRD not installed yet) fails all of it; it does not
// retry a failed automatic sync of the same commit without `retry`. Flux orders folders with `dependsOn` instead
// (docs/from-zero.md, "Point GitOps at dist/").

const SYNC_OPTIONS = 'argocd.argoproj.io/sync-options';
const SYNC_WAVE = 'argocd.argoproj.io/sync-wave';

/**
 * The waves, in the order ArgoCD applies them within one Application. An allowlist (Traefik Middleware, Envoy Gateway
 * SecurityPolicy) comes before the default wave 0 of the route or Ingress it guards, so the UI is never served
 * unguarded; so does the backend TLS a proxy verifies Vault with (Traefik ServersTransport, BackendTLSPolicy), so that
 * no request reaches Vault over plain HTTP or unverified. Vault's own certificates (dist/vault) have no wave: see
 * lib/vault-tls.ts.
 */
export const WAVES = { allowList: -1, backendTls: -1, store: 1, externalSecrets: 2 } as const;

/**
 * The annotations of an object whose kind comes from an operator's CRD: ArgoCD skips its dry run while the CRD is
 * missing, instead of failing the whole sync, and applies it in `wave` (later waves wait for earlier ones).
 */
export function crdObjectAnnotations(wave?: number): Record<string, string> {
  return { [SYNC_OPTIONS]: 'SkipDryRunOnMissingResource=true', ...(wave !== undefined && { [SYNC_WAVE]: String(wave) }) };
}
