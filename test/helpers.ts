import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import Ajv from 'ajv';
import { Chart, Testing } from 'cdk8s';
import * as YAML from 'yaml';

/** A Kubernetes object as synthesized. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: any }; [k: string]: any };

/** Synthesizes a fresh chart after `build` has added constructs to it. */
export function synth(build: (chart: Chart) => void): Manifest[] {
  const chart = Testing.chart();
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

/** The one object of this kind and name; fails the test when there is not exactly one. */
export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${name}, found ${found.length} among ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`);
  }
  return found[0];
}

/**
 * Validates each object against the Kubernetes API schemas of kubernetes-models; returns the messages of those that
 * fail, or that have no schema there (a kind this check cannot vouch for must not pass silently).
 */
export function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of manifests) {
    if (m.apiVersion.startsWith('external-secrets.io/')) {
      errors.push(...crdSchemaErrors(m));
      continue;
    }
    const group = m.apiVersion.includes('/') ? m.apiVersion : `v1`;
    let Model: any;
    try {
      Model = require(`kubernetes-models/${group}/${m.kind}`)[m.kind];
    } catch {
      errors.push(`${m.apiVersion} ${m.kind}: no schema in kubernetes-models`);
      continue;
    }
    try {
      new Model(m).validate();
    } catch (e) {
      errors.push(`${m.kind}/${m.metadata.name}: ${(e as Error).message}`);
    }
  }
  return errors;
}

/**
 * ESO's CRDs (not committed; see ../shared/crds/README.md). ESO_CRDS names another copy, such as ESO's
 * deploy/crds/bundle.yaml of the same release.
 */
export const ESO_CRDS = process.env.ESO_CRDS ?? join(__dirname, '..', '..', 'shared', 'crds', 'external-secrets-v2.9.0.yaml');
/** Whether the ESO schema checks can run: always in CI, where a missing file fails them. */
export const canCheckEsoSchemas = existsSync(ESO_CRDS) || process.env.CI === 'true';

let crdValidators: Map<string, any> | undefined;

/**
 * Validates an ESO object against its CRD's openAPIV3Schema, made strict the way the API server's strict field
 * validation is: an object schema that does not preserve unknown fields rejects fields it does not declare.
 */
function crdSchemaErrors(m: Manifest): string[] {
  if (!crdValidators) {
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    crdValidators = new Map();
    for (const crd of YAML.parseAllDocuments(readFileSync(ESO_CRDS, 'utf8')).map((d) => d.toJSON())) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions.filter((v: any) => v.served)) {
        const schema = strict(version.schema.openAPIV3Schema);
        crdValidators.set(`${crd.spec.group}/${version.name} ${crd.spec.names.kind}`, ajv.compile(schema));
      }
    }
  }
  const validate = crdValidators.get(`${m.apiVersion} ${m.kind}`);
  if (!validate) return [`${m.apiVersion} ${m.kind}: no served CRD version in ${ESO_CRDS}`];
  if (validate(m)) return [];
  return validate.errors.map((e: any) => `${m.kind}/${m.metadata.name}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

function strict(schema: any): any {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!schema || typeof schema !== 'object') return schema;
  const out: any = {};
  for (const [key, value] of Object.entries(schema)) out[key] = strict(value);
  if (schema.properties && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}
