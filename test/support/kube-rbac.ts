// What the Kubernetes API server decides before a handler runs, for the loopback stand-ins: the request's attributes
// read from its path (apiserver pkg/endpoints/request/requestinfo.go), RBAC's verdict on them
// (plugin/pkg/auth/authorizer/rbac/rbac.go: RuleAllows), and the Status objects errors are answered with, worded as
// apimachinery's pkg/api/errors words them (forbiddenMessage in pkg/endpoints/handlers/responsewriters/errors.go).

/** A rule of a Role (in `namespace`) or of a ClusterRole bound cluster-wide (no `namespace`). */
export interface RbacRule {
  readonly verbs: readonly string[];
  readonly resources: readonly string[];
  /** @default [''] (the core group) */
  readonly apiGroups?: readonly string[];
  /** Limits the rule to these objects; such a rule never allows create, nor list or watch of a whole collection. */
  readonly resourceNames?: readonly string[];
  /** The namespace of the Role; none: cluster-wide. */
  readonly namespace?: string;
}

/** What the authorizer is asked (authorizer.Attributes). */
export interface RequestAttributes {
  readonly user: string;
  readonly verb: string;
  /** False for a path such as /healthz (a non-resource request). */
  readonly resourceRequest: boolean;
  readonly path: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  /** Empty for create and for a collection's list or watch (unless a fieldSelector names one object). */
  readonly name: string;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete', GET: 'get', HEAD: 'get' };

/** The attributes of a request by `user` (requestinfo.go's reading of `/api/v1/...` and `/apis/<group>/<version>/...`). */
export function requestAttributes(user: string, method: string, path: string, query: URLSearchParams): RequestAttributes {
  const parts = path.split('/').filter(Boolean);
  const none = { user, verb: (VERBS[method] ?? method).toLowerCase(), resourceRequest: false, path, apiGroup: '', apiVersion: '', resource: '', subresource: '', namespace: '', name: '' };
  let rest: string[];
  let apiGroup = '';
  let apiVersion: string;
  if (parts[0] === 'api' && parts.length >= 3) [apiVersion, rest] = [parts[1], parts.slice(2)];
  else if (parts[0] === 'apis' && parts.length >= 4) [apiGroup, apiVersion, rest] = [parts[1], parts[2], parts.slice(3)];
  else return none;
  let namespace = '';
  // `/namespaces/<ns>` alone is the Namespace object; `/namespaces/<ns>/<resource>...` is a namespaced resource.
  if (rest[0] === 'namespaces' && rest.length >= 3) [namespace, rest] = [rest[1], rest.slice(2)];
  else if (rest[0] === 'namespaces' && rest.length === 2) namespace = rest[1];
  const [resource, name = '', subresource = ''] = rest;
  let verb = VERBS[method] ?? method.toLowerCase();
  let requested = name;
  if (!name && method === 'GET') {
    verb = ['1', 'true'].includes(query.get('watch') ?? '') ? 'watch' : 'list';
    // A list or watch selecting one object by name is authorized as that object's.
    const byName = (query.get('fieldSelector') ?? '').split(',').map((f) => f.split('=')).find(([k]) => k === 'metadata.name');
    if (byName && byName.length === 2) requested = byName[1];
  }
  if (!name && method === 'DELETE') verb = 'deletecollection';
  return { ...none, verb, resourceRequest: true, apiGroup, apiVersion, resource, subresource, namespace, name: requested };
}

const has = (list: readonly string[], value: string) => list.includes('*') || list.includes(value);

/** RuleAllows: the verb, the group, the resource (with its subresource) and, when the rule names objects, the name. */
function ruleAllows(a: RequestAttributes, rule: RbacRule): boolean {
  if (!has(rule.verbs, a.verb) || !has(rule.apiGroups ?? [''], a.apiGroup)) return false;
  const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resourceMatches = rule.resources.some((r) => r === '*' || r === combined || (a.subresource !== '' && r === `*/${a.subresource}`));
  if (!resourceMatches) return false;
  return !rule.resourceNames?.length || rule.resourceNames.includes(a.name);
}

/** Whether any of `rules` allows the request: a Role's only in its own namespace, a cluster-wide one anywhere. */
export function authorize(a: RequestAttributes, rules: readonly RbacRule[]): boolean {
  if (!a.resourceRequest) return false;
  return rules.some((rule) => (rule.namespace === undefined || rule.namespace === a.namespace) && ruleAllows(a, rule));
}

/** A Status object of a failure. */
export function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details && { details }), code };
}

const qualified = (resource: string, group: string) => (group ? `${resource}.${group}` : resource);

/** RBAC's refusal, as the API server words it. */
export function forbidden(a: RequestAttributes) {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  let why: string;
  if (!a.resourceRequest) why = `User "${a.user}" cannot ${a.verb} path "${a.path}"`;
  else if (a.namespace) why = `User "${a.user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" in the namespace "${a.namespace}"`;
  else why = `User "${a.user}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" at the cluster scope`;
  const what = !a.resourceRequest ? 'forbidden' : a.name ? `${qualified(a.resource, a.apiGroup)} "${a.name}" is forbidden` : `${qualified(a.resource, a.apiGroup)} is forbidden`;
  return status(403, 'Forbidden', `${what}: ${why}`, a.resourceRequest ? { name: a.name || undefined, group: a.apiGroup || undefined, kind: a.resource } : undefined);
}

/** No object of that name: `secrets "x" not found`. */
export const notFound = (resource: string, name: string, group = '') =>
  status(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group: group || undefined, kind: resource });

export const alreadyExists = (resource: string, name: string, group = '') =>
  status(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group: group || undefined, kind: resource });

/** The optimistic-concurrency refusal of a write carrying an outdated resourceVersion. */
export const conflict = (resource: string, name: string, group = '') =>
  status(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: group || undefined, kind: resource });

/** A field error of validation, as field.Error prints it (`data[x]: Invalid value: "x": ...`). */
export interface FieldError { readonly field: string; readonly message: string; readonly reason: string }

/** 422 Invalid: `Secret "x" is invalid: <error>` or, with several, `[<error>, <error>]`. */
export function invalid(kind: string, name: string, errors: readonly FieldError[]) {
  const list = errors.map((e) => `${e.field}: ${e.message}`);
  return status(422, 'Invalid', `${kind} "${name}" is invalid: ${list.length === 1 ? list[0] : `[${list.join(', ')}]`}`,
    { name, kind, causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })) });
}

export const badRequest = (message: string) => status(400, 'BadRequest', message);
