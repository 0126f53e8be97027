import { invalid } from '../build/prop-error';

// Checks Vault's Raft configuration against the objects VaultStack actually rendered, not against the names it was
// rendered from: a retry_join whose host the headless Service does not publish never finds a peer, and a StatefulSet
// whose serviceName is another Service gives its pods no DNS names at all; either way the cluster never forms.

/** The rendered objects a Raft cluster's addresses depend on, as their manifests (`toJson()`). */
export interface RenderedRaftObjects {
  /** The headless Service: its name and namespace make each pod's DNS name. */
  readonly headlessService: {
    metadata: { name?: string; namespace?: string };
    spec?: { clusterIP?: string; publishNotReadyAddresses?: boolean; ports?: { name?: string; port: number }[] };
  };
  /** The StatefulSet: its name and replicas make the pod names, its serviceName the Service that publishes them. */
  readonly statefulSet: { metadata: { name?: string }; spec?: { serviceName?: string; replicas?: number } };
}

/**
 * The retry_join addresses the rendered objects publish, one per pod in ordinal order, on the Service's API port,
 * whose name is its scheme (`http`, or `https` with TLS).
 */
export function expectedJoinUrls(rendered: RenderedRaftObjects, clusterDomain: string): string[] {
  const { name: service, namespace } = rendered.headlessService.metadata;
  const { name: statefulSet } = rendered.statefulSet.metadata;
  const api = rendered.headlessService.spec?.ports?.find((p) => p.name === 'http' || p.name === 'https');
  return Array.from({ length: rendered.statefulSet.spec?.replicas ?? 1 },
    (_, i) => `${api?.name}://${statefulSet}-${i}.${service}.${namespace}.svc.${clusterDomain}:${api?.port}`);
}

/** Refuses a Raft configuration or StatefulSet whose addresses the rendered headless Service would not publish. */
export function checkRaftAddresses(config: string, rendered: RenderedRaftObjects, clusterDomain: string): void {
  const service = rendered.headlessService;
  const serviceName = rendered.statefulSet.spec?.serviceName;
  if (serviceName !== service.metadata.name) {
    invalid('VaultStack StatefulSet serviceName', serviceName, `the headless Service's name ${JSON.stringify(service.metadata.name)}, which gives the pods their DNS names`);
  }
  if (service.spec?.clusterIP !== 'None' || service.spec?.publishNotReadyAddresses !== true) {
    invalid(`VaultStack Service ${service.metadata.name}`, service.spec ?? {}, 'a headless Service (clusterIP None) that publishes not-ready (sealed) pods');
  }
  const joins = [...config.matchAll(/leader_api_addr\s*=\s*"([^"]+)"/g)].map((m) => m[1]);
  const expected = expectedJoinUrls(rendered, clusterDomain);
  if (JSON.stringify(joins) !== JSON.stringify(expected)) {
    invalid('VaultStack raft retry_join', joins, `one leader_api_addr per pod through the headless Service ${service.metadata.name}: ${JSON.stringify(expected)}`);
  }
}
