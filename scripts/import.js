#!/usr/bin/env node
// `npm run import [-- FILE_OR_URL]`: regenerates imports/external-secrets.io.ts with `cdk8s import` from ESO's CRDs.
// Keeps only the two kinds this project uses (ClusterSecretStore, ExternalSecret) and only their served versions
// (v1; v1beta1 is no longer served), so the generated module stays half the size. The source is a CRD file or
// ESO's CRD bundle URL; the default is the v2.9.0 CRDs in ../shared/crds/.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const YAML = require('yaml');

const KINDS = ['ClusterSecretStore', 'ExternalSecret'];
const root = path.resolve(__dirname, '..');
const source = process.argv[2] ?? process.env.ESO_CRDS ?? path.join(root, '..', 'shared', 'crds', 'external-secrets-v2.9.0.yaml');

async function main() {
  const text = /^https?:\/\//.test(source) ? await (await fetch(source)).text() : fs.readFileSync(source, 'utf8');
  const crds = YAML.parseAllDocuments(text)
    .map((doc) => doc.toJSON())
    .filter((doc) => doc?.kind === 'CustomResourceDefinition' && KINDS.includes(doc.spec.names.kind))
    .map((crd) => ({ ...crd, spec: { ...crd.spec, versions: crd.spec.versions.filter((v) => v.served) } }));
  const found = crds.map((crd) => crd.spec.names.kind).sort();
  if (found.join() !== KINDS.join()) {
    throw new Error(`${source}: expected the CRDs of ${KINDS.join(' and ')}, found ${found.join(', ') || 'none'}`);
  }
  const filtered = path.join(root, 'node_modules', '.cache', 'homelab-secrets', 'external-secrets.io.yaml');
  fs.mkdirSync(path.dirname(filtered), { recursive: true });
  fs.writeFileSync(filtered, crds.map((crd) => YAML.stringify(crd)).join('---\n'));
  const cdk8s = path.join(root, 'node_modules', '.bin', 'cdk8s');
  const result = spawnSync(cdk8s, ['import', filtered, '--output', 'imports', '--no-save', '--no-check-upgrade'], { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}

main().catch((error) => {
  console.error(`import failed: ${error.message}`);
  process.exit(1);
});
