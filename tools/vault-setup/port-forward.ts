// The port-forward an operator starts to reach Vault, named from the stores' `server` URL in dist/ (the VaultStack's
// Service as the cluster's DNS names it, http://<service>.<namespace>.svc[.<domain>]:<port>), so a Vault moved to
// another namespace gets the right hint. A server that names no in-cluster Service gets a hint saying where to look.
import { VaultStore } from '../../runtime/common/vault-config/manifests';

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface ServiceRef {
  readonly namespace: string;
  readonly service: string;
  readonly port: string;
}

/** The Service a cluster-internal URL names; undefined for any other host (an IP, an external name). */
export function serviceOf(server: string | undefined): ServiceRef | undefined {
  let url: URL;
  try {
    url = new URL(server ?? '');
  } catch {
    return undefined;
  }
  if (!/^https?:$/.test(url.protocol)) return undefined;
  const [service, namespace, svc] = url.hostname.split('.');
  if (svc !== 'svc' || !LABEL.test(service) || !LABEL.test(namespace)) return undefined;
  return { namespace, service, port: url.port || (url.protocol === 'https:' ? '443' : '80') };
}

/** `kubectl -n <namespace> port-forward svc/<service> <localPort>:<port>`, or where to find them. */
export function portForwardHint(stores: VaultStore[], localPort = '8200'): string {
  const refs = stores.map((s) => serviceOf(s.server));
  const [first] = refs;
  if (first && refs.every((r) => r && r.namespace === first.namespace && r.service === first.service && r.port === first.port)) {
    return `kubectl -n ${first.namespace} port-forward svc/${first.service} ${localPort}:${first.port}`;
  }
  const servers = stores.map((s) => `clustersecretstore ${s.name} has server ${JSON.stringify(s.server ?? '')}`).join(', ');
  return `kubectl port-forward to vault's Service, whose namespace and name are in the stores' spec.provider.vault.server in dist/ (${servers})`;
}
