import { Construct } from 'constructs';
import { BackendTlsPolicy } from '../imports/gateway.networking.k8s.io';
import { ServersTransport } from '../imports/traefik.io';
import { crdObjectAnnotations, WAVES } from './gitops';
import { IVault } from './vault';

// How the UI's proxy speaks HTTPS to a Vault that serves TLS, and verifies it: against the CA of Vault's certificate
// (`ca.crt` of its Secret) and the client Service's name, which the certificate carries. Applied a wave before the
// route or Ingress, like the allowlist, so that no request (and no token in it) goes to Vault unverified.

/** Where a backend TLS object goes. */
export interface BackendTlsTarget {
  /** The object's name, in Vault's namespace (beside the Secret it reads, as both Traefik and Gateway API require). */
  readonly name: string;
  readonly labels: Record<string, string>;
}

const checked = (vault: IVault) => {
  if (!vault.tls) throw new Error(`${vault.node.path} serves plain HTTP: no backend TLS to configure`);
  return vault.tls;
};

/**
 * A Traefik ServersTransport that trusts Vault's CA only and checks the client Service's name. Traefik's Ingress
 * provider reads a backend's servers transport from the Service's annotations (`traefikServiceAnnotations`).
 */
export function traefikServersTransport(scope: Construct, id: string, vault: IVault, target: BackendTlsTarget): ServersTransport {
  const tls = checked(vault);
  return new ServersTransport(scope, id, {
    metadata: { name: target.name, namespace: vault.namespace, labels: target.labels, annotations: crdObjectAnnotations(WAVES.backendTls) },
    // Traefik reads the Secret's `ca.crt` (or `tls.ca`), never its key.
    spec: { serverName: tls.serverName, rootCAs: [{ secret: tls.caSecretName }] },
  });
}

/** The annotations of Vault's client Service that make Traefik's Ingress provider use HTTPS and the transport. */
export function traefikServiceAnnotations(vault: IVault, transport: string): Record<string, string> {
  return {
    'traefik.ingress.kubernetes.io/service.serversscheme': 'https',
    'traefik.ingress.kubernetes.io/service.serverstransport': `${vault.namespace}-${transport}@kubernetescrd`,
  };
}

/**
 * A Gateway API BackendTLSPolicy on Vault's client Service: the Gateway's proxy speaks HTTPS to it and verifies its
 * certificate against the CA in the Secret's `ca.crt` and the client Service's name. A Secret as CA reference is
 * implementation-specific (the core kind is a ConfigMap); Envoy Gateway (since 1.1) and Traefik (since 3.7) read it.
 */
export function backendTlsPolicy(scope: Construct, id: string, vault: IVault, target: BackendTlsTarget): BackendTlsPolicy {
  const tls = checked(vault);
  return new BackendTlsPolicy(scope, id, {
    metadata: { name: target.name, namespace: vault.namespace, labels: target.labels, annotations: crdObjectAnnotations(WAVES.backendTls) },
    spec: {
      targetRefs: [{ group: '', kind: 'Service', name: vault.clientServiceName }],
      validation: { caCertificateRefs: [{ group: '', kind: 'Secret', name: tls.caSecretName }], hostname: tls.serverName },
    },
  });
}
