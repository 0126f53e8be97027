import { badRequest, FieldError } from './kube-rbac';

// What the API server does to a Secret or an Event between the request's body and storage, for fake-kube-secrets.ts:
// decoding (base64 `data`, `stringData` merged over it: core/v1's conversion), validation (pkg/apis/core/validation:
// ValidateSecret, ValidateSecretUpdate; IsConfigMapKey and IsDNS1123Subdomain of apimachinery) and patches (JSON merge
// patch, RFC 7386; a strategic merge patch, which for a Secret's maps is a merge patch plus `$patch` directives;
// JSON patch, RFC 6902), and the conversion between the two APIs of Events.

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_SECRET_SIZE = 1024 * 1024;

/** The body decoded as the API server's v1 → internal conversion does: a Secret with its data as bytes, or a 400. */
export function decodeSecret(body: unknown): { secret: any } | { error: ReturnType<typeof badRequest> } {
  const cannot = (why: string) => ({ error: badRequest(`Secret in version "v1" cannot be handled as a Secret: ${why}`) });
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return cannot('json: cannot unmarshal into Go value of type core.Secret');
  const secret = structuredClone(body) as any;
  if (secret.kind !== undefined && secret.kind !== 'Secret') return { error: badRequest(`the body of the request was of kind "${secret.kind}", expected "Secret"`) };
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    if (value === null) continue;
    const bad = typeof value !== 'string' ? 0 : badBase64At(value);
    if (bad !== undefined) return cannot(`illegal base64 data at input byte ${bad}`);
    data[key] = value as string;
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {})) data[key] = Buffer.from(String(value)).toString('base64');
  delete secret.stringData;
  secret.data = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (Object.keys(secret.data).length === 0) delete secret.data;
  secret.apiVersion = 'v1';
  secret.kind = 'Secret';
  secret.type ||= 'Opaque';
  secret.metadata = { ...secret.metadata };
  return { secret };
}

/** Where Go's standard base64 decoder stops, or undefined when the whole value decodes. */
function badBase64At(value: string): number | undefined {
  const at = value.search(/[^A-Za-z0-9+/=]/);
  if (at >= 0) return at;
  const padding = value.indexOf('=');
  if (padding >= 0 && (!/^=*$/.test(value.slice(padding)) || value.length % 4 !== 0)) return padding;
  if (value.length % 4 !== 0) return value.length - (value.length % 4);
  return undefined;
}

const required = (field: string, message: string): FieldError => ({ field, reason: 'FieldValueRequired', message: `Required value: ${message}` });
const invalidValue = (field: string, value: string, message: string): FieldError => ({ field, reason: 'FieldValueInvalid', message: `Invalid value: "${value}": ${message}` });
const immutable = (field: string): FieldError => ({ field, reason: 'FieldValueForbidden', message: 'Forbidden: field is immutable when `immutable` is set' });

/** ValidateObjectMeta's name check. */
export function validateName(name: unknown): FieldError[] {
  if (!name) return [required('metadata.name', 'name or generateName is required')];
  if (typeof name !== 'string' || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    return [invalidValue('metadata.name', String(name), 'a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, \'-\' or \'.\', and must start and end with an alphanumeric character (e.g. \'example.com\', regex used for validation is \'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\')')];
  }
  return [];
}

/** ValidateSecret: the name, each key a config key, the whole under 1 MiB. */
export function validateSecret(secret: any): FieldError[] {
  const errors = validateName(secret.metadata.name);
  let size = 0;
  for (const [key, value] of Object.entries<string>(secret.data ?? {})) {
    const field = `data[${key}]`;
    if (key === '.' || key === '..') errors.push(invalidValue(field, key, `must not be '${key}'`));
    else if (key.startsWith('..')) errors.push(invalidValue(field, key, 'must not start with \'..\''));
    else if (key.length > 253 || !CONFIG_KEY.test(key)) {
      errors.push(invalidValue(field, key, 'a valid config key must consist of alphanumeric characters, \'-\', \'_\' or \'.\' (e.g. \'key.name\',  or \'KEY_NAME\',  or \'key-name\', regex used for validation is \'[-._a-zA-Z0-9]+\')'));
    }
    size += Buffer.from(value, 'base64').length;
  }
  if (size > MAX_SECRET_SIZE) errors.push({ field: 'data', reason: 'FieldValueTooLong', message: `Too long: must have at most ${MAX_SECRET_SIZE} bytes` });
  return errors;
}

/** ValidateSecretUpdate: the type never changes; an immutable Secret keeps its data and stays immutable. */
export function validateSecretUpdate(next: any, old: any): FieldError[] {
  const errors = validateSecret(next);
  if (next.type !== old.type) errors.push({ field: 'type', reason: 'FieldValueInvalid', message: `Invalid value: "${next.type}": field is immutable` });
  if (old.immutable === true) {
    if (next.immutable !== true) errors.push(immutable('immutable'));
    if (JSON.stringify(next.data ?? {}) !== JSON.stringify(old.data ?? {})) errors.push(immutable('data'));
  }
  return errors;
}

const isMap = (v: unknown): v is Record<string, any> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** RFC 7386; with `strategic`, a map's `$patch: replace` replaces it and `$patch: delete` removes it. */
export function mergePatch(target: any, patch: any, strategic = false): any {
  if (!isMap(patch)) return patch;
  if (strategic && patch.$patch === 'delete') return undefined;
  const { $patch, ...rest } = patch;
  const base = strategic && $patch === 'replace' ? {} : isMap(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(strategic ? rest : patch)) {
    if (value === null) delete base[key];
    else {
      const merged = mergePatch(base[key], value, strategic);
      if (merged === undefined) delete base[key];
      else base[key] = merged;
    }
  }
  return base;
}

/** RFC 6902's add, remove, replace and test; a failed op is the API server's 422 or 500. */
export function jsonPatch(target: any, ops: unknown): { result: any } | { error: string } {
  if (!Array.isArray(ops)) return { error: 'the body of the request was in an unknown format' };
  const doc = structuredClone(target);
  for (const op of ops) {
    const path = String(op?.path ?? '').split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = path.pop()!;
    const parent = path.reduce((o, k) => (isMap(o) ? o[k] : undefined), doc);
    if (!isMap(parent)) return { error: `jsonpatch ${op?.op} operation does not apply: doc is missing path: "${op?.path}"` };
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) return { error: `testing value ${op.path} failed: test failed` };
    } else if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in parent)) return { error: `jsonpatch replace operation does not apply: doc is missing key: ${op.path}` };
      parent[last] = op.value;
    } else if (op.op === 'remove') {
      if (!(last in parent)) return { error: `jsonpatch remove operation does not apply: doc is missing path: "${op.path}"` };
      delete parent[last];
    } else return { error: `Unexpected kind: ${op?.op}` };
  }
  return { result: doc };
}

// The two APIs serve one store of Events (core/v1 and events.k8s.io/v1 convert field by field).
const RENAMES: Array<[string, string]> = [['message', 'note'], ['involvedObject', 'regarding'], ['related', 'related'], ['source', 'deprecatedSource'],
  ['count', 'deprecatedCount'], ['firstTimestamp', 'deprecatedFirstTimestamp'], ['lastTimestamp', 'deprecatedLastTimestamp'], ['reportingComponent', 'reportingController']];

function rename(event: any, from: 0 | 1, apiVersion: string): any {
  const out = structuredClone(event);
  for (const pair of RENAMES) {
    if (pair[from] in out && pair[from] !== pair[1 - from]) {
      out[pair[1 - from]] = out[pair[from]];
      delete out[pair[from]];
    }
  }
  return { ...out, apiVersion };
}

export const toEventsV1 = (e: any) => (e.apiVersion === 'v1' ? rename(e, 0, 'events.k8s.io/v1') : structuredClone(e));
export const toCoreEvent = (e: any) => (e.apiVersion === 'v1' ? structuredClone(e) : rename(e, 1, 'v1'));
