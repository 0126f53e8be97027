import { readFileSync } from 'fs';
import { run } from '@bufbuild/cel';
import { CRD_SCHEMAS_FILE, Manifest } from './manifests';

// The CEL rules (`x-kubernetes-validations`) of the imported CRDs, evaluated the way the API server does on create:
// schema defaults first, then each rule of each schema node the object reaches, with `self` that node's value
// (integers as CEL ints, property names escaped as Kubernetes escapes them). Transition rules (those reading
// `oldSelf`) only run on update and are skipped. A rule that cannot be evaluated is reported, never passed.
// @bufbuild/cel is a conformance-tested CEL evaluator with RE2 regular expressions, as cel-go has.

type Schema = Record<string, any>;

let schemas: Record<string, Schema> | undefined;
function schemaOf(m: Manifest): Schema | undefined {
  schemas ??= JSON.parse(readFileSync(CRD_SCHEMAS_FILE, 'utf8')) as Record<string, Schema>;
  return schemas[`${m.apiVersion} ${m.kind}`];
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value));

/** The object with the schema's defaults filled in where a field is absent, at every depth present. */
export function withDefaults(schema: Schema, value: any): any {
  if (Array.isArray(value)) return schema.items ? value.map((item) => withDefaults(schema.items, item)) : value;
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, any> = { ...value };
  for (const [key, property] of Object.entries<Schema>(schema.properties ?? {})) {
    if (out[key] === undefined && property.default !== undefined) out[key] = clone(property.default);
    if (out[key] !== undefined) out[key] = withDefaults(property, out[key]);
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(out)) if (!(schema.properties ?? {})[key]) out[key] = withDefaults(schema.additionalProperties, out[key]);
  }
  return out;
}

// apiextensions-apiserver escapes property names that are CEL keywords or hold characters CEL names cannot
// (k8s.io/apiserver/pkg/cel: EscapeName).
const CEL_RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if',
  'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);
export function escapeName(name: string): string {
  if (CEL_RESERVED.has(name)) return `__${name}__`;
  return name.replace(/__/g, '__underscores__').replace(/\./g, '__dot__').replace(/-/g, '__dash__').replace(/\//g, '__slash__');
}

/** The value as CEL sees it: integers as ints (BigInt), object properties under their escaped names. */
function toCel(schema: Schema, value: any): any {
  if (Array.isArray(value)) return value.map((item) => toCel(schema.items ?? {}, item));
  if (typeof value === 'number' && (schema.type === 'integer' || schema['x-kubernetes-int-or-string']) && Number.isInteger(value)) return BigInt(value);
  if (value === null || typeof value !== 'object') return value;
  if (schema.properties) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeName(k), toCel(schema.properties[k] ?? {}, v)]));
  }
  const items = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(items, v)]));
}

function check(schema: Schema, value: any, path: string, errors: string[]): void {
  if (value === undefined) return;
  for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(rule)) continue;
    let result: unknown;
    try {
      result = run(rule, { self: toCel(schema, value) });
    } catch (error) {
      result = error;
    }
    if (result === false) errors.push(`${path || '/'}: ${message ?? `failed rule: ${rule}`}`);
    else if (result !== true) errors.push(`${path || '/'}: cannot evaluate rule ${JSON.stringify(rule)}: ${String((result as Error)?.message ?? result)}`);
  }
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => check(schema.items, item, `${path}[${i}]`, errors));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    const property = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (property) check(property, v, `${path}.${key}`, errors);
  }
}

/**
 * The CEL rule failures of each custom resource among `manifests` whose CRD is imported, as `Kind/name path: message`.
 * Objects of other kinds are skipped (the schema check covers them).
 */
export function celErrors(manifests: Manifest[]): string[] {
  return manifests.flatMap((m) => {
    const schema = schemaOf(m);
    if (!schema) return [];
    const errors: string[] = [];
    check(schema, withDefaults(schema, m), '', errors);
    return errors.map((e) => `${m.kind}/${m.metadata.name} ${e}`);
  });
}
