// What dist/ says of Vault's TLS, for the operator's tools (vault-setup, vault-rollout), which reach Vault through a
// port-forward at 127.0.0.1: whether its listener speaks TLS (the readiness probe's scheme, or the stores' server),
// the namespace of its Certificate, and how to fetch the CA the store trusts (its caProvider). No public CA vouches
// for 127.0.0.1, so https there needs VAULT_CACERT, the vault CLI's variable; Node checks the certificate against
// the URL's host, 127.0.0.1, which Vault's Certificate lists for the pod's own probes and CLI.
import { CaFile, readCaFile } from '../../runtime/common/tls';
import { Env } from '../../runtime/common/settings';
import { ENV } from '../../runtime/common/variables';
import { isLoopbackHost } from './cleartext';

type Doc = Record<string, any>;

export interface ListenerTls {
  /** Vault's listener speaks TLS: its readiness probe is HTTPS, or a store's server is https. */
  readonly on: boolean;
  /** Vault's namespace, where its Certificate is; undefined when dist/ holds no Vault StatefulSet. */
  readonly namespace?: string;
  /** How to get the CA the store trusts into vault-ca.crt: a command, or where to look. */
  readonly fetchCa: string;
}

const isVault = (d: Doc) => d.kind === 'StatefulSet' && d.metadata?.labels?.['app.kubernetes.io/name'] === 'vault';
const vaultStores = (docs: Doc[]) => docs.filter((d) => d.kind === 'ClusterSecretStore' && d.spec?.provider?.vault);

/** The command that writes the CA of ESO's caProvider ({type, name, key, namespace}) to vault-ca.crt. */
function fetchCommand(provider: any): string | undefined {
  if (!provider?.name || !provider?.namespace) return undefined;
  const field = `{.data.${String(provider.key ?? 'ca.crt').replace(/\./g, '\\.')}}`;
  if (provider.type === 'ConfigMap') return `kubectl -n ${provider.namespace} get configmap ${provider.name} -o jsonpath='${field}' > vault-ca.crt`;
  return `kubectl -n ${provider.namespace} get secret ${provider.name} -o jsonpath='${field}' | base64 -d > vault-ca.crt`;
}

export function listenerTls(docs: Doc[]): ListenerTls {
  const vaults = docs.filter(isVault);
  const probes = vaults.flatMap((v) => (v.spec?.template?.spec?.containers ?? []).map((c: Doc) => c.readinessProbe?.httpGet?.scheme));
  const stores = vaultStores(docs).map((s) => s.spec.provider.vault);
  const command = stores.map((s) => fetchCommand(s.caProvider)).find(Boolean);
  return {
    on: probes.includes('HTTPS') || stores.some((s) => String(s.server ?? '').startsWith('https:')),
    ...(vaults.length > 0 && { namespace: vaults[0].metadata?.namespace ?? 'default' }),
    fetchCa: command ? `\`${command}\`` : "the ca.crt of the CA that issues vault's Certificate (the store's caProvider in dist/ names it)",
  };
}

/**
 * VAULT_CACERT, read and checked once; required for https to this machine (a port-forward's end). Elsewhere (an
 * ingress with a public certificate) the default roots may vouch for Vault, as the vault CLI lets them.
 */
export function readToolCa(env: Env, addr: string, tls: ListenerTls, what = `VAULT_ADDR ${addr} is https through a port-forward`): CaFile | undefined {
  const file = env[ENV.vaultCaCert];
  const url = new URL(addr);
  if (!file && url.protocol === 'https:' && isLoopbackHost(url.hostname)) {
    throw new Error(`${what} and ${ENV.vaultCaCert} is not set: no public CA vouches for ${url.hostname}; `
      + `fetch the CA vault's certificate chains to with ${tls.fetchCa}, then export ${ENV.vaultCaCert}=$PWD/vault-ca.crt`);
  }
  return file ? readCaFile(ENV.vaultCaCert, file) : undefined;
}
