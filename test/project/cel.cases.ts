import { Manifest } from '../support/manifests';
import { celErrors, escapeName, withDefaults } from '../support/cel';

// The CEL check itself: it fails objects that break a rule of their CRD (so its passes mean something), applies the
// schema's defaults first as the API server does, and escapes names as Kubernetes does.

const route = (rule: Record<string, any>, parentRefs: any[] = [{ name: 'gw', namespace: 'gateway', sectionName: 'https' }]): Manifest => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'vault', namespace: 'security' },
  spec: { parentRefs, hostnames: ['vault.example.com'], rules: [rule] },
});

test('a valid route passes every rule it reaches', () => {
  expect(celErrors([route({ backendRefs: [{ name: 'vault', port: 8200 }] })])).toEqual([]);
});

test('a Service backend without a port breaks a rule that only holds once kind defaults to Service', () => {
  expect(celErrors([route({ backendRefs: [{ name: 'vault' }] })])).toEqual([
    'HTTPRoute/vault .spec.rules[0].backendRefs[0]: Must have port for Service reference',
  ]);
});

test('two parentRefs to one listener break the uniqueness rule; the rule reads namespace as __namespace__', () => {
  const ref = { name: 'gw', namespace: 'gateway', sectionName: 'https' };
  const backendRefs = [{ name: 'vault', port: 8200 }];
  expect(celErrors([route({ backendRefs }, [ref, ref])])).toEqual([
    'HTTPRoute/vault .spec.parentRefs: sectionName must be unique when parentRefs includes 2 or more references to the same parent',
  ]);
  // Same name and listener in two namespaces: two parents, told apart only through the escaped name.
  expect(celErrors([route({ backendRefs }, [ref, { ...ref, namespace: 'other' }])])).toEqual([]);
});

test('a path match that is not a path, and an ExtensionRef filter without its extensionRef, break their rules', () => {
  const errors = celErrors([route({
    matches: [{ path: { type: 'PathPrefix', value: 'vault' } }],
    filters: [{ type: 'ExtensionRef' }],
    backendRefs: [{ name: 'vault', port: 8200 }],
  })]);
  expect(errors).toEqual([
    'HTTPRoute/vault .spec.rules[0].matches[0].path: value must be an absolute path and start with \'/\' when type one of [\'Exact\', \'PathPrefix\']',
    'HTTPRoute/vault .spec.rules[0].filters[0]: filter.extensionRef must be specified for ExtensionRef filter.type',
  ]);
});

test('an Envoy SecurityPolicy with both targetRef and targetRefs, and a ClientTrafficPolicy with two client-address sources, fail', () => {
  const policy: Manifest = {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'SecurityPolicy',
    metadata: { name: 'p', namespace: 'security' },
    spec: {
      targetRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'vault' },
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'vault' }],
    },
  };
  const clientTraffic: Manifest = {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'ClientTrafficPolicy',
    metadata: { name: 'c', namespace: 'gateway' },
    spec: {
      targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
      clientIPDetection: { xForwardedFor: { numTrustedHops: 1 }, customHeader: { name: 'X-Real-IP' } },
    },
  };
  const errors = celErrors([policy, clientTraffic]);
  expect(errors).toHaveLength(2);
  expect(errors[0]).toMatch(/^SecurityPolicy\/p \.spec: /);
  expect(errors[1]).toMatch(/^ClientTrafficPolicy\/c \.spec\.clientIPDetection: /);
});

test('objects of kinds without an imported CRD are left to the schema check', () => {
  expect(celErrors([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'vault' }, spec: { ports: 'not checked here' } }])).toEqual([]);
});

test('defaults fill absent fields at every depth present, never over given values', () => {
  const schema = {
    properties: {
      a: { type: 'string', default: 'x' },
      b: { type: 'array', items: { properties: { kind: { type: 'string', default: 'Service' } } } },
      c: { properties: { d: { type: 'integer', default: 1 } } },
    },
  };
  expect(withDefaults(schema, { b: [{}, { kind: 'Other' }] })).toEqual({ a: 'x', b: [{ kind: 'Service' }, { kind: 'Other' }] });
});

test('names are escaped as Kubernetes escapes them', () => {
  expect(['namespace', 'a.b', 'x-y', 'p/q', 'a__b', 'name'].map(escapeName)).toEqual(
    ['__namespace__', 'a__dot__b', 'x__dash__y', 'p__slash__q', 'a__underscores__b', 'name']);
});
