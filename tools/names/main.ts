// `npm run -s names [-- --dist DIR]`: the names this homelab's runbooks need, read from the manifests GitOps applies
// (dist/ by default), as shell assignments. The docs' commands use these variables instead of one homelab's values, so
// every page reads the same for a fork: `eval "$(npm run -s names)"` once in the shell the commands are copied into.
import { logTo, Output, processOutput, reason } from '../../runtime/common/log';
import { vaultStores } from '../../runtime/common/vault-config/manifests';
import { readManifests } from '../vault-setup/manifests';

type Doc = Record<string, any>;

/** The variables, in the order printed, each with what it names. */
export const NAMES = {
  VAULT_NS: "Vault's namespace",
  VAULT_POD: "Vault's first pod (the only one on file storage; pod 0 on Raft)",
  VAULT_CLAIM: "the claim that holds Vault's data (pod 0's on Raft)",
  ESO_NS: "ESO's namespace: the ServiceAccount the store logs in to Vault with",
  STORES: 'the ClusterSecretStores, one per app namespace (unquoted: kubectl takes several names)',
  VAULT_HOST: "the UI's host name",
} as const;

export type Names = Record<keyof typeof NAMES, string>;

/**
 * The UI's host: what exposes the UI names it (an Ingress, an HTTPRoute); else, with file storage, Vault's public
 * `VAULT_API_ADDR` (`https://<host>`; with Raft each pod's is its own address). Empty when nothing names it.
 */
function hostOf(docs: Doc[], vault: Doc): string {
  const exposed = docs.find((d) => d.kind === 'Ingress')?.spec?.rules?.[0]?.host ?? docs.find((d) => d.kind === 'HTTPRoute')?.spec?.hostnames?.[0];
  if (typeof exposed === 'string') return exposed;
  const apiAddr = (vault.spec?.template?.spec?.containers?.[0]?.env ?? []).find((e: Doc) => e.name === 'VAULT_API_ADDR')?.value;
  return typeof apiAddr === 'string' && apiAddr.startsWith('https://') ? new URL(apiAddr).hostname : '';
}

/** The names, read from the manifests; a folder without Vault's StatefulSet or a store is refused with what to do. */
export function namesOf(docs: Doc[]): Names {
  const statefulSets = docs.filter((d) => d.kind === 'StatefulSet' && d.metadata?.labels?.['app.kubernetes.io/name'] === 'vault');
  if (statefulSets.length !== 1) throw new Error(`expected one StatefulSet of Vault in the manifests, found ${statefulSets.length}: pass the folder npm run synth writes (--dist DIR)`);
  const vault = statefulSets[0];
  const stores = vaultStores(docs);
  if (stores.length === 0) throw new Error('no ClusterSecretStore reading Vault in the manifests: pass the folder npm run synth writes (--dist DIR)');
  const pod = `${vault.metadata.name}-0`;
  const template = vault.spec.volumeClaimTemplates?.[0]?.metadata?.name;
  const claim = template ? `${template}-${pod}` : vault.spec.template.spec.volumes?.find((v: Doc) => v.persistentVolumeClaim)?.persistentVolumeClaim.claimName;
  return {
    VAULT_NS: vault.metadata.namespace,
    VAULT_POD: pod,
    VAULT_CLAIM: claim ?? '',
    ESO_NS: stores[0].namespace,
    STORES: stores.map((s) => s.name).sort().join(' '),
    VAULT_HOST: hostOf(docs, vault),
  };
}

/** `NAME='value'   # what it is`, one line a name. */
export function assignments(names: Names): string[] {
  const width = Math.max(...Object.entries(names).map(([k, v]) => k.length + v.length));
  return (Object.keys(NAMES) as Array<keyof Names>).map((key) => `${`${key}='${names[key]}'`.padEnd(width + 3)}  # ${NAMES[key]}`);
}

export async function main(argv: string[], io: Output = processOutput): Promise<number> {
  const { log, logError } = logTo(io);
  const dist = argv[0] === '--dist' && argv[1] ? argv[1] : argv.length === 0 ? 'dist' : undefined;
  if (dist === undefined) {
    logError(`unknown arguments ${JSON.stringify(argv)}: usage: npm run -s names [-- --dist DIR]`);
    return 1;
  }
  try {
    assignments(namesOf(readManifests(dist))).forEach((line) => log(line));
    return 0;
  } catch (error) {
    logError(`${dist}: ${reason(error)}`);
    return 1;
  }
}
