// The two Secrets the bootstrap writes: the unseal Secret (one share per key, hex, where the unseal CronJob reads them)
// and the escrow (every share, encrypted to the site's age recipient). Neither is in dist/: GitOps would overwrite the
// shares with nothing. Before `sys/init` the job proves both writable with the API server's dry run (RBAC, admission
// and quota all answer it), because after init the shares exist only in this process: a write that fails then would
// lose them, and a sealed Vault refuses even the revocation of the root token.
import { ageEncrypt } from '../common/age';
import { needsHuman, RunError } from '../common/failure';
import { KubeApi } from '../common/kube';

export interface SecretState {
  readonly name: string;
  /** Absent: no such Secret yet. */
  readonly resourceVersion?: string;
  /** Its keys with a non-empty value, decoded: names and values (the values are never printed). */
  readonly data: Record<string, string>;
  /** Its annotations (the job's mark of a root token it could not revoke among them). */
  readonly annotations?: Record<string, string>;
}

/** The mark the job leaves on the unseal Secret when a root token it held could not be revoked. */
export const UNREVOKED_ANNOTATION = 'vault-bootstrap/unrevoked-root-token';

/** The label that says which Secrets the job created. */
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'vault-bootstrap' };

const secretPath = (namespace: string, name?: string) => `/api/v1/namespaces/${namespace}/secrets${name ? `/${name}` : ''}`;

/** The Secret as it is now: absent is not an error (404), anything else the API refuses is. */
export async function readSecret(kube: KubeApi, namespace: string, name: string): Promise<SecretState> {
  let secret: any;
  try {
    secret = await kube.get(secretPath(namespace, name), `secret ${namespace}/${name}`);
  } catch (error) {
    if (error instanceof RunError && error.status === 404) return { name, data: {} };
    throw error;
  }
  if (secret?.kind !== 'Secret' || typeof secret?.metadata?.resourceVersion !== 'string') {
    throw new RunError(`GET secret ${namespace}/${name} answered something that is not a Secret: not the API's answer`, 1);
  }
  const entries = Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(String(value), 'base64').toString('utf8').trim()]);
  return {
    name, resourceVersion: secret.metadata.resourceVersion, data: Object.fromEntries(entries.filter(([, value]) => value !== '')),
    annotations: secret.metadata.annotations ?? {},
  };
}

function secretObject(namespace: string, state: SecretState, data: Record<string, Buffer>, note: string, marks: Record<string, string>): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque',
    metadata: {
      name: state.name, namespace, labels: MANAGED_BY, annotations: { ...state.annotations, ...marks, 'vault-bootstrap/note': note },
      ...(state.resourceVersion && { resourceVersion: state.resourceVersion }),
    },
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, value.toString('base64')])),
  };
}

/** Creates the Secret, or replaces it when it exists (guarded by its resourceVersion); `dryRun` stores nothing. */
export async function writeSecret(
  kube: KubeApi, namespace: string, state: SecretState, data: Record<string, Buffer>, note: string, dryRun = false, marks: Record<string, string> = {},
): Promise<void> {
  const query = dryRun ? '?dryRun=All' : '';
  const what = `${dryRun ? 'a dry run of writing ' : ''}secret ${namespace}/${state.name}`;
  const body = secretObject(namespace, state, data, note, marks);
  try {
    if (state.resourceVersion) await kube.update(`${secretPath(namespace, state.name)}${query}`, body, what);
    else await kube.create(`${secretPath(namespace)}${query}`, body, what);
  } catch (error) {
    if (error instanceof RunError && [401, 403, 404, 422].includes(error.status ?? 0)) {
      throw needsHuman(`${error.message}: the job's ServiceAccount needs create on secrets and get/update/patch on ${state.name} in ${namespace} (lib/vault-bootstrap.ts makes that Role)`, error.status);
    }
    throw error;
  }
}

/** One key per share, as the unseal CronJob reads them: `share-1` and on, each the share in hex. */
export function shareData(shares: string[]): Record<string, Buffer> {
  return Object.fromEntries(shares.map((share, i) => [`share-${i + 1}`, Buffer.from(share, 'utf8')]));
}

/** The escrow: every share, one per line as `share-N: <hex>`, encrypted to the age recipient. */
export function escrowData(recipient: string, key: string, shares: string[]): Record<string, Buffer> {
  const text = `${shares.map((share, i) => `share-${i + 1}: ${share}`).join('\n')}\n`;
  return { [key]: ageEncrypt(recipient, Buffer.from(text, 'utf8')) };
}
