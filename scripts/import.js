#!/usr/bin/env node
// `npm run import [-- [--crds DIR] [--eso SRC] [--longhorn SRC] [--prometheus-operator SRC] [--gateway-api SRC]
// [--traefik SRC] [--envoy-security-policy SRC] [--envoy-client-traffic-policy SRC] [--cert-manager-certificate SRC]
// [--cert-manager-issuer SRC] [--gateway-api-backend-tls SRC] [--traefik-servers-transport SRC] [SRC]]`: regenerates
// imports/ from the CustomResourceDefinitions the constructs use, offline unless a source is a URL:
// - the typed classes, with `cdk8s import`: imports/external-secrets.io.ts (ClusterSecretStore, ExternalSecret),
//   imports/longhorn.io.ts (RecurringJob), imports/monitoring.coreos.com.ts (PrometheusRule, ServiceMonitor),
//   imports/gateway.networking.k8s.io.ts (HTTPRoute, BackendTLSPolicy), imports/traefik.io.ts (Middleware,
//   ServersTransport), imports/gateway.envoyproxy.io.ts (SecurityPolicy, ClientTrafficPolicy),
//   imports/cert-manager.io.ts (Certificate, Issuer);
// - imports/crd-schemas.json: the openAPIV3Schema of each served version of each of those kinds, keyed by
//   "group/version Kind", without `description`s, for the strict schema tests (so a clone needs no CRD files).
// Only the kinds used and only their served versions are kept (ESO's v1beta1 is no longer served), so the generated
// modules stay small. Each source is a CRD file or URL (any multi-document YAML: only the CRDs of the wanted kinds
// are read, so a release bundle such as ESO's deploy/crds/bundle.yaml works); a bare SRC is ESO's, as before. The
// defaults are the files in --crds, which defaults to ../shared/crds/.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');

const root = path.resolve(__dirname, '..');
const SOURCES = [
  { option: 'eso', file: 'external-secrets-v2.9.0.yaml', kinds: ['ClusterSecretStore', 'ExternalSecret'] },
  { option: 'longhorn', file: 'longhorn-recurringjob-v1.10.2.yaml', kinds: ['RecurringJob'] },
  { option: 'prometheus-operator', file: 'prometheusrules-v0.93.0.yaml', kinds: ['PrometheusRule'] },
  // Vault's own telemetry, opt-in (VaultTelemetry): scraped through a ServiceMonitor.
  { option: 'prometheus-operator-servicemonitor', file: 'servicemonitors-v0.93.0.yaml', kinds: ['ServiceMonitor'] },
  // The UI's exposures other than ingress-nginx: Gateway API's HTTPRoute (only v1, the version the constructs write;
  // v1beta1 is still served), Traefik's Middleware, Envoy Gateway's SecurityPolicy and ClientTrafficPolicy (the latter
  // for the client-address snippet of docs/ui.md, which a test validates).
  { option: 'gateway-api', file: 'gateway-api-v1.6.1-httproutes.yaml', kinds: ['HTTPRoute'], versions: ['v1'] },
  { option: 'traefik', file: 'traefik-v3.7.9-middlewares.yaml', kinds: ['Middleware'] },
  { option: 'envoy-security-policy', file: 'envoy-gateway-v1.9.0-securitypolicies.yaml', kinds: ['SecurityPolicy'] },
  { option: 'envoy-client-traffic-policy', file: 'envoy-gateway-v1.9.0-clienttrafficpolicies.yaml', kinds: ['ClientTrafficPolicy'] },
  // TLS on Vault's listener (VaultTls.certManager): cert-manager's CA chain and Vault's serving Certificate, and what
  // makes the UI's proxies verify Vault: Gateway API's BackendTLSPolicy (v1 only), Traefik's ServersTransport.
  { option: 'cert-manager-certificate', file: 'cert-manager-v1.21.1-certificates.yaml', kinds: ['Certificate'] },
  { option: 'cert-manager-issuer', file: 'cert-manager-v1.21.1-issuers.yaml', kinds: ['Issuer'] },
  { option: 'gateway-api-backend-tls', file: 'gateway-api-v1.6.1-backendtlspolicies.yaml', kinds: ['BackendTLSPolicy'], versions: ['v1'] },
  { option: 'traefik-servers-transport', file: 'traefik-v3.7.9-serverstransports.yaml', kinds: ['ServersTransport'] },
];
const SCHEMAS_FILE = 'crd-schemas.json';
// Keywords whose value maps names to schemas, and keywords whose value is data rather than a schema.
const SCHEMA_MAPS = ['properties', 'patternProperties', 'definitions'];
const DATA_KEYWORDS = ['default', 'enum', 'example', 'const'];

function parseArgs(argv) {
  const options = { crds: path.join(root, '..', 'shared', 'crds') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const name = arg.startsWith('--') ? arg.slice(2) : 'eso';
    const value = arg.startsWith('--') ? argv[++i] : arg;
    if (!['crds', ...SOURCES.map((s) => s.option)].includes(name) || value === undefined) {
      throw new Error(`unknown or incomplete argument "${arg}": expected [--crds DIR] ${SOURCES.map((s) => `[--${s.option} SRC]`).join(' ')} [SRC]`);
    }
    options[name] = value;
  }
  return options;
}

async function read(source) {
  if (!/^https?:\/\//.test(source)) return fs.readFileSync(source, 'utf8');
  const response = await fetch(source);
  if (!response.ok) throw new Error(`${source}: HTTP ${response.status}`);
  return response.text();
}

/**
 * The CRDs of `kinds` in `text`, each with only its served versions (of `versions`, when given); fails unless each kind
 * is there once.
 */
function selectCrds(source, text, kinds, versions) {
  const wanted = (v) => v.served && (!versions || versions.includes(v.name));
  const crds = YAML.parseAllDocuments(text)
    .map((doc) => doc.toJSON())
    .filter((doc) => doc?.kind === 'CustomResourceDefinition' && kinds.includes(doc.spec?.names?.kind))
    .map((crd) => ({ ...crd, spec: { ...crd.spec, versions: crd.spec.versions.filter(wanted) } }));
  const found = crds.map((crd) => crd.spec.names.kind).sort();
  if (found.join() !== [...kinds].sort().join()) {
    throw new Error(`${source}: expected the CRDs of ${kinds.join(' and ')}, found ${found.join(', ') || 'none'}`);
  }
  return crds;
}

/**
 * A schema without `description`s and with its keys sorted, so the file is small and stable. Under `properties` (and
 * the other maps of schemas) keys are field names, kept even when a field is called "description"; values such as
 * `default` and `enum` are data, copied as they are.
 */
function compact(node, keysAreNames = false) {
  if (Array.isArray(node)) return node.map((item) => compact(item));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const key of Object.keys(node).sort()) {
    if (!keysAreNames && key === 'description') continue;
    out[key] = !keysAreNames && DATA_KEYWORDS.includes(key)
      ? node[key]
      : compact(node[key], !keysAreNames && SCHEMA_MAPS.includes(key));
  }
  return out;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const crds = [];
  for (const { option, file, kinds, versions } of SOURCES) {
    const source = options[option] ?? path.join(options.crds, file);
    crds.push(...selectCrds(source, await read(source), kinds, versions));
  }

  const schemas = {};
  for (const crd of crds) {
    for (const version of crd.spec.versions) {
      schemas[`${crd.spec.group}/${version.name} ${crd.spec.names.kind}`] = compact(version.schema.openAPIV3Schema);
    }
  }
  const sorted = Object.fromEntries(Object.keys(schemas).sort().map((key) => [key, schemas[key]]));

  // Generate into a scratch folder first, so a failed import leaves imports/ as it was.
  const work = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'import');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(path.join(work, 'out'), { recursive: true });
  const input = path.join(work, 'crds.yaml');
  fs.writeFileSync(input, crds.map((crd) => YAML.stringify(crd)).join('---\n'));
  const cdk8s = path.join(root, 'node_modules', '.bin', 'cdk8s');
  const result = spawnSync(cdk8s, ['import', input, '--output', path.join(work, 'out'), '--no-save', '--no-check-upgrade'], {
    cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
  });
  if (result.status !== 0) throw new Error(`cdk8s import exited with ${result.status ?? result.signal}`);
  fs.writeFileSync(path.join(work, 'out', SCHEMAS_FILE), `${JSON.stringify(sorted, null, 2)}\n`);
  // The generated modules' own bodies are cdk8s's, not ours to check, and checking their 45,000 lines was most of the
  // type-check's time: `@ts-nocheck` skips that, while their declarations still type every use in lib/.
  for (const name of fs.readdirSync(path.join(work, 'out')).filter((n) => n.endsWith('.ts'))) {
    const file = path.join(work, 'out', name);
    fs.writeFileSync(file, `// @ts-nocheck\n${fs.readFileSync(file, 'utf8')}`);
  }

  // imports/ holds exactly what was generated: stale modules of kinds no longer imported go.
  const imports = path.join(root, 'imports');
  const generated = fs.readdirSync(path.join(work, 'out')).sort();
  fs.mkdirSync(imports, { recursive: true });
  for (const name of fs.readdirSync(imports)) if (!generated.includes(name)) fs.rmSync(path.join(imports, name), { recursive: true });
  for (const name of generated) fs.copyFileSync(path.join(work, 'out', name), path.join(imports, name));
  console.log(`imports/: ${generated.join(', ')} (${Object.keys(sorted).join('; ')})`);
}

main().catch((error) => {
  console.error(`import failed: ${error.message}`);
  process.exit(1);
});
