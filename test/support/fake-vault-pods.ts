import { closedPort, FakeVault, FakeVaultOptions } from './fake-vault';

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

const host = (name: string) => `${name}.vault-internal.security.svc.cluster.local`;

export async function startPods(specs: PodSpec[]): Promise<FakePods> {
  const vaults: Record<string, FakeVault> = {};
  const urls: string[] = [];
  const resolvable: string[] = [];
  const temporary: string[] = [];
  for (const [i, spec] of specs.entries()) {
    const name = `vault-${i}`;
    if (spec === 'dns-again') temporary.push(host(name));
    if (spec === 'absent' || spec === 'dns-again') {
      urls.push(`http://${host(name)}:8200`);
      continue;
    }
    resolvable.push(host(name));
    if (spec === 'unreachable') {
      urls.push(`http://${host(name)}:${await closedPort()}`);
      continue;
    }
    vaults[name] = await new FakeVault({ storageType: 'raft', ...spec }).start();
    urls.push(`http://${host(name)}:${new URL(vaults[name].url).port}`);
  }
  return {
    vaults,
    env: {
      VAULT_PODS: urls.join(','),
      FAKE_DNS_LOOPBACK: resolvable.join(','),
      FAKE_DNS_TEMPORARY: temporary.join(','),
    },
    stop: async () => { await Promise.all(Object.values(vaults).map((v) => v.stop())); },
  };
}
