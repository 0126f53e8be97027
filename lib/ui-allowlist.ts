import { Construct } from 'constructs';
import { SecurityPolicy, SecurityPolicySpecAuthorizationDefaultAction, SecurityPolicySpecAuthorizationRulesAction } from '../imports/gateway.envoyproxy.io';
import { Middleware } from '../imports/traefik.io';
import { crdObjectAnnotations, WAVES } from './gitops';
import { checkCidr, checkMetadataMap } from './checks';
import { invalid } from '../build/prop-error';

// The allowlist of the UI's client addresses, as each controller enforces it. Gateway API has no standard source-address
// filter (GEP-735 was declined), so each implementation gets its own object; an implementation without one here is
// the operator's to guard.

/** The labels of the objects that expose the UI. */
export const UI_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'ui' };

/** The Secret holding the UI's TLS certificate, whichever construct serves the UI. */
export const TLS_SECRET_NAME = 'vault-tls';

/** The private address ranges (RFC 1918 and IPv6 unique local addresses): the LAN and most VPNs. */
export const PRIVATE_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** Where Traefik's pods run on k3s, which installs it in kube-system. */
export const K3S_TRAEFIK_NAMESPACE = 'kube-system';

/**
 * The label the Traefik Helm chart (k3s's too) puts on Traefik's pods whatever the release; its
 * `app.kubernetes.io/instance` is `<release>-<namespace>`, the site's to add.
 */
export const TRAEFIK_POD_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'traefik' };

/** The labels of the pods that forward the UI's traffic, in `prop`: at least one, as a whole namespace is never admitted. */
export function checkPodLabels(prop: string, labels: Readonly<Record<string, string>>): Record<string, string> {
  const checked = checkMetadataMap(prop, labels as Record<string, string>, true);
  if (Object.keys(checked).length === 0) invalid(prop, labels, 'at least one label of the proxy\'s pods: a whole namespace is never admitted');
  return { ...checked };
}

/** Where an allowlist object goes and what it guards. */
export interface AllowListTarget {
  /** The allowlist object's name. */
  readonly name: string;
  /** Its namespace: the route's or Ingress's, as both Traefik and Envoy Gateway require. */
  readonly namespace: string;
  /** The allowed client CIDR blocks, already checked. */
  readonly ranges: readonly string[];
  /** Labels of the object. */
  readonly labels: Record<string, string>;
}

/** Allowed client CIDR blocks: a list of CIDR blocks, each checked; `undefined` when not given. */
export function checkSourceRanges(prop: string, value: readonly string[] | undefined): string[] | undefined {
  return value?.map((range) => checkCidr(prop, range));
}

/**
 * A Traefik Middleware with `ipAllowList`: any other client gets 403. An Ingress names it in the annotation
 * `traefik.ingress.kubernetes.io/router.middlewares` (`<namespace>-<name>@kubernetescrd`), an HTTPRoute in an
 * ExtensionRef filter; while it is missing Traefik drops the router (404 for the host): closed.
 */
export function traefikAllowList(scope: Construct, id: string, target: AllowListTarget): Middleware {
  return new Middleware(scope, id, {
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: target.labels,
      annotations: crdObjectAnnotations(WAVES.allowList),
    },
    spec: { ipAllowList: { sourceRange: [...target.ranges] } },
  });
}

/**
 * An Envoy Gateway SecurityPolicy on the HTTPRoute `routeName`: default action Deny, Allow for the ranges. Envoy
 * matches the client address it detected (the connection's peer unless a ClientTrafficPolicy says otherwise: see the
 * docs/ui.md).
 */
export function envoyAllowList(scope: Construct, id: string, target: AllowListTarget & { readonly routeName: string }): SecurityPolicy {
  return new SecurityPolicy(scope, id, {
    metadata: {
      name: target.name,
      namespace: target.namespace,
      labels: target.labels,
      annotations: crdObjectAnnotations(WAVES.allowList),
    },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: target.routeName }],
      authorization: {
        defaultAction: SecurityPolicySpecAuthorizationDefaultAction.DENY,
        rules: [{
          name: 'allowed-source-ranges',
          action: SecurityPolicySpecAuthorizationRulesAction.ALLOW,
          principal: { clientCidRs: [...target.ranges] },
        }],
      },
    },
  });
}
