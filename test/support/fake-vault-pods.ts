import { closedPort, FakeVault, FakeVaultOptions } from './fake-vault';
import { ServerTls } from './loopback-server';

// Several Vault pods of one Raft cluster on loopback, each a FakeVault on its own port, named as the headless
// Service's pod DNS names; the script under test resolves those names to 127.0.0.1 through fake-dns.js, and any
// other name as one that does not exist.

/**
 * One pod: a FakeVault's options, `unreachable` (a name that resolves, a closed port), `absent` (no DNS name) or
 * `dns-again` (its lookup fails for now: EAI_AGAIN).
 */
export type PodSpec = FakeVaultOptions | 'unreachable' | 'absent' | 'dns-again';

export interface FakePods {
  /** The running stand-ins, by pod name (none for unreachable or absent pods). */
  readonly vaults: Record<string, FakeVault>;
  /** The environment that points the unseal script at the pods: VAULT_PODS, and fake-dns.js's names. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export const podHost = (name: string) => `${name}.vault-internal.security.svc.cluster.local`;

/** With `tls`, every pod serves https with the certificate it returns for the pod's DNS name, and the URLs are https. */
export async function startPods(specs: PodSpec[], tls?: (host: string) => ServerTls): Promise<FakePods> {
  const scheme = tls ? 'https' : 'http';
  const vaults: Record<string, FakeVault> = {};
  const urls: string[] = [];
  const resolvable: string[] = [];
  const temporary: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const name = `vault-${i}`;
    if (spec === 'dns-again') temporary.push(podHost(name));
    if (spec === 'absent' || spec === 'dns-again') {
      urls.push(`${scheme}://${podHost(name)}:8200`);
      continue;
    }
    resolvable.push(podHost(name));
    if (spec === 'unreachable') {
      urls.push(`${scheme}://${podHost(name)}:${await closedPort()}`);
      continue;
    }
    const vault = new FakeVault({ storageType: 'raft', ...spec });
    vaults[name] = await (tls ? vault.withTls(tls(podHost(name))) : vault).start();
    urls.push(`${scheme}://${podHost(name)}:${vaults[name].port}`);
  }
  return {
    vaults,
    env: {
      VAULT_PODS: urls.join(','),
      // The Service, in the pods' scheme (the job checks they agree); the pods are what it calls.
      VAULT_ADDR: `${scheme}://vault.security.svc.cluster.local:8200`,
      FAKE_DNS_LOOPBACK: resolvable.join(','),
      FAKE_DNS_TEMPORARY: temporary.join(','),
    },
    stop: async () => { await Promise.all(Object.values(vaults).map((v) => v.stop())); },
  };
}
