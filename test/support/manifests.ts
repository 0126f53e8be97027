import { readFileSync } from 'fs';
import { join } from 'path';
import Ajv from 'ajv';
import { Chart, Testing } from 'cdk8s';

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
 * Validates each object against its schema: a custom resource against its CRD's schema in `imports/crd-schemas.json`
 * (strictly, see below), anything else against the Kubernetes API schemas of kubernetes-models. Returns the messages
 * of those that fail, or that have no schema (a kind this check cannot vouch for must not pass silently).
 */
export function schemaErrors(manifests: Manifest[]): string[] {
  const errors: string[] = [];
  for (const m of manifests) {
    const group = m.apiVersion.includes('/') ? m.apiVersion.split('/')[0] : '';
    if (crdGroups().has(group)) {
      errors.push(...crdSchemaErrors(m));
      continue;
    }
    let Model: any;
    try {
      Model = require(`kubernetes-models/${group ? m.apiVersion : 'v1'}/${m.kind}`)[m.kind];
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
 * The openAPIV3Schema of every served version of the CRDs the constructs use, keyed by "group/version Kind", as
 * `npm run import` writes it (committed, so every clone runs every schema test).
 */
export const CRD_SCHEMAS_FILE = join(__dirname, '..', '..', 'imports', 'crd-schemas.json');

let crdSchemas: Record<string, any> | undefined;
let ajv: Ajv | undefined;
const crdValidators = new Map<string, any>();

let groups: Set<string> | undefined;

/** The API groups of the CRDs in imports/crd-schemas.json. */
export function crdGroups(): Set<string> {
  crdSchemas ??= JSON.parse(readFileSync(CRD_SCHEMAS_FILE, 'utf8')) as Record<string, any>;
  groups ??= new Set(Object.keys(crdSchemas).map((key) => key.split('/')[0]));
  return groups;
}

/**
 * Validates a custom resource against its CRD's openAPIV3Schema, made strict the way the API server's strict field
 * validation is: an object schema that does not preserve unknown fields rejects fields it does not declare. Each
 * kind's validator is made when first needed.
 */
function crdSchemaErrors(m: Manifest): string[] {
  const key = `${m.apiVersion} ${m.kind}`;
  if (!crdValidators.has(key) && crdSchemas![key]) crdValidators.set(key, validator(strict(crdSchemas![key])));
  const validate = crdValidators.get(key);
  if (!validate) return [`${key}: no served CRD version in imports/crd-schemas.json`];
  if (validate(m)) return [];
  return validate.errors.map((e: any) => `${m.kind}/${m.metadata.name}: ${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}

const AJV_OPTIONS = { strict: false, allErrors: true, validateFormats: false } as const;

/**
 * The validator of `schema`, compiled by ajv. Each test file compiles the kinds it validates: keeping the compiled code
 * on disk saved about 6 s of the suite's 70 s of CPU, under the tenth a speed device must save (docs/development.md).
 */
function validator(schema: any): any {
  // ajv's type for the engine carries the name that standalone code would call it by; compiled here, it is called as is.
  ajv ??= new Ajv({ ...AJV_OPTIONS, code: { regExp: Object.assign(goRegExp, { code: 'goRegExp' }) } });
  return ajv.compile(schema);
}

/**
 * CRD patterns are Go (RE2) regular expressions, as the API server evaluates them. The one Go-only syntax the imported
 * CRDs use is a leading case-insensitive flag, `(?i)` (PrometheusRule's partial_response_strategy); any other inline
 * flag fails loudly rather than validating differently.
 */
function goRegExp(pattern: string, flags: string): RegExp {
  const caseless = /^(\^?)\(\?i\)/;
  if (caseless.test(pattern)) return new RegExp(pattern.replace(caseless, '$1'), `${flags}i`);
  if (pattern.includes('(?')) throw new Error(`unsupported Go regular expression syntax in CRD pattern ${pattern}`);
  return new RegExp(pattern, flags);
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
