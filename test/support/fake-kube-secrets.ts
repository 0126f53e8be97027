import { randomBytes, randomUUID } from 'crypto';
import * as http from 'http';
import { alreadyExists, authorize, badRequest, conflict, forbidden, invalid, notFound, RbacRule, RequestAttributes, requestAttributes, status } from './kube-rbac';
import { decodeSecret, jsonPatch, mergePatch, toCoreEvent, toEventsV1, validateName, validateSecret, validateSecretUpdate } from './kube-objects';
import { LoopbackServer, readBody, send } from './loopback-server';
import { secretPayload, SecretVolumeOptions, writeAtomically } from './secret-volume';

// A loopback stand-in for the Kubernetes API's Secrets and Events, modelled on the API server (apiserver's handlers
// and generic registry): bearer tokens of ServiceAccounts, RBAC by rules as the rbac authorizer matches them, `?dryRun=All`
// (validated and authorized like the write, nothing stored, the answer as if stored), optimistic concurrency on
// resourceVersion (409 Conflict), Status objects worded as the real server words them; and the kubelet's projection
// of a Secret into a pod's volume (secret-volume.ts), which a test runs before each simulated pod start.

export interface FakeKubeSecretsOptions {
  /** Secrets there from the start, `namespace/name` to their keys' values (plain text), as a human's kubectl made them. */
  readonly secrets?: Record<string, Record<string, string>>;
  /** Every answer comes after this pause, ms. @default 0 */
  readonly delayMs?: number;
}

export interface ServiceAccountRef { readonly namespace: string; readonly name: string }

/** A refusal of matching requests, after RBAC allowed them: by default RBAC's own 403 (a Role edited away). */
export interface Refusal {
  /** @default every verb */
  readonly verbs?: readonly string[];
  /** @default every resource */
  readonly resources?: readonly string[];
  /** @default every object */
  readonly names?: readonly string[];
  /** @default every namespace */
  readonly namespace?: string;
  /** Only dry runs (true) or only real writes (false). @default both */
  readonly dryRun?: boolean;
  /** The answer: a Status with this code, reason and message. @default RBAC's 403 for the request */
  readonly answer?: { readonly code: number; readonly reason: string; readonly message: string };
}

export interface SecretsRequest {
  readonly method: string;
  /** Without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** `system:serviceaccount:<ns>:<name>`, or undefined for a missing or unknown token. */
  readonly identity?: string;
  readonly dryRun: boolean;
  readonly contentType?: string;
  readonly body: any;
  /** The answer's status code. */
  status: number;
  readonly at: number;
}

/** A pod's volume of one Secret: `sync()` (re)writes it as the kubelet does; true when it wrote. */
export interface SecretMount { readonly dir: string; sync(): boolean }

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];
const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const key = (namespace: string, name: string) => `${namespace}/${name}`;

export class FakeKubeSecrets extends LoopbackServer {
  public readonly received: SecretsRequest[] = [];
  /** Every Event stored, in creation order, each as the API that created it took it (core v1 or events.k8s.io/v1). */
  public readonly events: any[] = [];
  /** The last resourceVersion given (etcd's revision: one counter for every object). */
  public resourceVersion = 1000;
  private readonly stored = new Map<string, any>();
  private readonly tokens = new Map<string, string>();
  private readonly rules = new Map<string, RbacRule[]>();
  private readonly refusals = new Set<Refusal>();

  constructor(public readonly options: FakeKubeSecretsOptions = {}) {
    super();
    for (const [where, data] of Object.entries(options.secrets ?? {})) {
      const [namespace, name] = where.split('/');
      this.put(namespace, name, data);
    }
  }

  /** The bearer token of the ServiceAccount (made on first use). */
  token(namespace: string, name: string): string {
    const user = `system:serviceaccount:${namespace}:${name}`;
    const existing = [...this.tokens].find(([, u]) => u === user);
    if (existing) return existing[0];
    const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, user);
    return token;
  }

  /** Accepts `token` (a projected token another stand-in issued, such as Vault's TokenReview knows) as the ServiceAccount's. */
  acceptToken(token: string, namespace: string, name: string): this {
    this.tokens.set(token, `system:serviceaccount:${namespace}:${name}`);
    return this;
  }

  /** Grants the ServiceAccount these rules (a Role in each rule's namespace, or a ClusterRole cluster-wide). */
  allow(sa: ServiceAccountRef, ...rules: RbacRule[]): this {
    const user = `system:serviceaccount:${sa.namespace}:${sa.name}`;
    this.rules.set(user, [...(this.rules.get(user) ?? []), ...rules]);
    return this;
  }

  /** Refuses what `refusal` matches until the returned function is called. */
  forbid(refusal: Refusal): () => void {
    this.refusals.add(refusal);
    return () => this.refusals.delete(refusal);
  }

  /** Stores a Secret as a human's `kubectl apply` would (no RBAC), replacing one of that name; bumps resourceVersion. */
  put(namespace: string, name: string, data: Record<string, string>, extra: { type?: string; immutable?: boolean } = {}): any {
    const old = this.stored.get(key(namespace, name));
    const { secret } = decodeSecret({ metadata: { name, namespace }, stringData: data, ...extra }) as { secret: any };
    return this.store(old ? { ...secret, metadata: { ...old.metadata } } : this.created(secret));
  }

  /** Deletes a Secret outside the API (no RBAC); true when there was one. */
  remove(namespace: string, name: string): boolean {
    return this.stored.delete(key(namespace, name));
  }

  /** The Secret as stored (data base64), a copy; undefined when there is none. */
  secret(namespace: string, name: string): any {
    const s = this.stored.get(key(namespace, name));
    return s && structuredClone(s);
  }

  /** Every Secret's data decoded (UTF-8), by `namespace/name`. */
  get secrets(): Record<string, Record<string, string>> {
    return Object.fromEntries([...this.stored].map(([k, s]) => [k, Object.fromEntries(Object.entries<string>(s.data ?? {}).map(([n, v]) => [n, Buffer.from(v, 'base64').toString('utf8')]))]));
  }

  /** The Secret's volume in a pod, in `dir`. */
  project(namespace: string, secretName: string, dir: string, options: SecretVolumeOptions = {}): SecretMount {
    return {
      dir,
      sync: () => {
        const data = this.stored.get(key(namespace, secretName))?.data;
        const bytes = data && Object.fromEntries(Object.entries<string>(data).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
        return writeAtomically(dir, secretPayload(secretName, this.stored.has(key(namespace, secretName)) ? bytes ?? {} : undefined, options));
      },
    };
  }

  private created(secret: any): any {
    return { ...secret, metadata: { ...secret.metadata, uid: randomUUID(), creationTimestamp: stamp() } };
  }

  private store(object: any): any {
    object.metadata.resourceVersion = String(++this.resourceVersion);
    this.stored.set(key(object.metadata.namespace, object.metadata.name), object);
    return structuredClone(object);
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = req.method ?? '';
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      const identity = bearer === undefined ? undefined : this.tokens.get(bearer);
      const dryRun = url.searchParams.has('dryRun');
      const request: SecretsRequest = {
        method, path: url.pathname, query: Object.fromEntries(url.searchParams), identity, dryRun,
        contentType: req.headers['content-type'], body, status: 0, at: Date.now(),
      };
      this.received.push(request);
      const answer = (code: number, json: unknown) => {
        request.status = code;
        send(res, code, json, this.options.delayMs);
      };
      if (!identity) return answer(401, status(401, 'Unauthorized', 'Unauthorized'));
      const a = requestAttributes(identity, method, url.pathname, url.searchParams);
      if (!authorize(a, this.rules.get(identity) ?? [])) return answer(403, forbidden(a));
      const refusal = [...this.refusals].find((r) => refuses(r, a, dryRun));
      if (refusal) return answer(refusal.answer?.code ?? 403, refusal.answer ? status(refusal.answer.code, refusal.answer.reason, refusal.answer.message) : forbidden(a));
      const dryRuns = url.searchParams.getAll('dryRun');
      if (method !== 'GET' && dryRuns.some((d) => d !== 'All')) {
        const options = { POST: 'CreateOptions', PUT: 'UpdateOptions', PATCH: 'PatchOptions', DELETE: 'DeleteOptions' }[method] ?? 'Options';
        return answer(422, status(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: dryRun: Unsupported value: ${JSON.stringify(dryRuns)}: supported values: "All"`));
      }
      const core = a.apiGroup === '' && a.apiVersion === 'v1';
      if (core && a.resource === 'secrets' && a.namespace && !a.subresource) {
        const [code, json] = this.serveSecrets(method, a, url, body, dryRun, req.headers['content-type']);
        return answer(code, json);
      }
      const events = (core || (a.apiGroup === 'events.k8s.io' && a.apiVersion === 'v1')) && a.resource === 'events' && a.namespace;
      if (events && method === 'POST' && !url.pathname.endsWith('/events')) return answer(405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource'));
      if (events && (method === 'POST' || method === 'GET')) {
        const [code, json] = this.serveEvents(method, a, body, dryRun);
        return answer(code, json);
      }
      answer(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    });
  }

  private serveSecrets(method: string, a: RequestAttributes, url: URL, body: any, dryRun: boolean, contentType?: string): [number, unknown] {
    const name = url.pathname.split('/')[6];
    const old = name ? this.stored.get(key(a.namespace, name)) : undefined;
    if (!name && method === 'GET') {
      const byName = a.name;
      const items = [...this.stored.values()].filter((s) => s.metadata.namespace === a.namespace && (!byName || s.metadata.name === byName))
        .sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : 1));
      return [200, { apiVersion: 'v1', kind: 'SecretList', metadata: { resourceVersion: String(this.resourceVersion) }, items: structuredClone(items) }];
    }
    if (!name && method === 'POST') {
      const decoded = decodeSecret(body);
      if ('error' in decoded) return [400, decoded.error];
      const secret = decoded.secret;
      if (secret.metadata.namespace && secret.metadata.namespace !== a.namespace) return [400, badRequest('the namespace of the provided object does not match the namespace sent on the request')];
      secret.metadata.namespace = a.namespace;
      if (!secret.metadata.name && secret.metadata.generateName) secret.metadata.name = `${secret.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
      delete secret.metadata.resourceVersion;
      const errors = validateSecret(secret);
      if (errors.length) return [422, invalid('Secret', secret.metadata.name ?? '', errors)];
      if (this.stored.has(key(a.namespace, secret.metadata.name))) return [409, alreadyExists('secrets', secret.metadata.name)];
      return [201, dryRun ? this.created(secret) : this.store(this.created(secret))];
    }
    if (!name || !['GET', 'PUT', 'PATCH', 'DELETE'].includes(method)) return [405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')];
    if (method === 'PATCH' && !PATCH_TYPES.includes(contentType ?? '')) {
      return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${[...PATCH_TYPES, 'application/apply-patch+yaml'].join(', ')}`)];
    }
    if (!old) return [404, notFound('secrets', name)];
    if (method === 'GET') return [200, structuredClone(old)];
    if (method === 'DELETE') {
      const precondition = body?.preconditions?.resourceVersion;
      if (precondition && precondition !== old.metadata.resourceVersion) {
        return [409, status(409, 'Conflict', `Operation cannot be fulfilled on secrets "${name}": Precondition failed: ResourceVersion in precondition: ${precondition}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`, { name, kind: 'secrets' })];
      }
      if (!dryRun) this.stored.delete(key(a.namespace, name));
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: 'secrets', uid: old.metadata.uid } }];
    }
    let input = body;
    if (method === 'PATCH') {
      if (contentType === 'application/json-patch+json') {
        const patched = jsonPatch(old, body);
        if ('error' in patched) return [422, status(422, 'Invalid', patched.error)];
        input = patched.result;
      } else input = mergePatch(old, body, contentType === 'application/strategic-merge-patch+json');
    }
    const decoded = decodeSecret(input);
    if ('error' in decoded) return [400, decoded.error];
    const next = decoded.secret;
    if (method === 'PUT' && next.metadata.name !== name) return [400, badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`)];
    if (next.metadata.namespace && next.metadata.namespace !== a.namespace) return [400, badRequest('the namespace of the provided object does not match the namespace sent on the request')];
    // An update without a resourceVersion is unconditional (Secrets allow it); with one, it must be the stored one.
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== old.metadata.resourceVersion) return [409, conflict('secrets', name)];
    next.metadata = { ...next.metadata, namespace: a.namespace, uid: old.metadata.uid, creationTimestamp: old.metadata.creationTimestamp, resourceVersion: old.metadata.resourceVersion };
    const errors = validateSecretUpdate(next, old);
    if (errors.length) return [422, invalid('Secret', name, errors)];
    // etcd keeps an unchanged object as it is: no new resourceVersion.
    if (dryRun || JSON.stringify(next) === JSON.stringify(old)) return [200, structuredClone(next)];
    return [200, this.store(next)];
  }

  private serveEvents(method: string, a: RequestAttributes, body: any, dryRun: boolean): [number, unknown] {
    const eventsApi = a.apiGroup === 'events.k8s.io';
    const view = (e: any) => (eventsApi ? toEventsV1(e) : toCoreEvent(e));
    const mine = this.events.filter((e) => e.metadata.namespace === a.namespace);
    if (method === 'GET' && /\/events\/[^/]+$/.test(a.path)) {
      const one = mine.find((e) => e.metadata.name === a.name);
      return one ? [200, view(one)] : [404, notFound('events', a.name, a.apiGroup)];
    }
    if (method === 'GET') {
      return [200, { apiVersion: eventsApi ? 'events.k8s.io/v1' : 'v1', kind: 'EventList', metadata: { resourceVersion: String(this.resourceVersion) }, items: mine.filter((e) => !a.name || e.metadata.name === a.name).map(view) }];
    }
    if (body === null || typeof body !== 'object') return [400, badRequest(`Event in version "v1" cannot be handled as a Event: json: cannot unmarshal into Go value of type ${eventsApi ? 'events' : 'core'}.Event`)];
    const event = structuredClone(body);
    event.metadata = { ...event.metadata };
    if (event.metadata.namespace && event.metadata.namespace !== a.namespace) return [400, badRequest('the namespace of the provided object does not match the namespace sent on the request')];
    if (!event.metadata.name && event.metadata.generateName) event.metadata.name = `${event.metadata.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`;
    const errors = validateName(event.metadata.name);
    if (event.type !== undefined && !['Normal', 'Warning'].includes(event.type)) errors.push({ field: 'type', reason: 'FieldValueInvalid', message: `Invalid value: "${event.type}": has invalid value: ${event.type}` });
    if (eventsApi) {
      for (const field of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) if (!event[field]) errors.push({ field, reason: 'FieldValueRequired', message: 'Required value' });
    }
    if (errors.length) return [422, invalid('Event', event.metadata.name ?? '', errors)];
    if (mine.some((e) => e.metadata.name === event.metadata.name)) return [409, alreadyExists('events', event.metadata.name, a.apiGroup)];
    Object.assign(event, { apiVersion: eventsApi ? 'events.k8s.io/v1' : 'v1', kind: 'Event' });
    Object.assign(event.metadata, { namespace: a.namespace, uid: randomUUID(), creationTimestamp: stamp() });
    if (!dryRun) {
      event.metadata.resourceVersion = String(++this.resourceVersion);
      this.events.push(event);
    }
    return [201, structuredClone(event)];
  }
}

function refuses(r: Refusal, a: RequestAttributes, dryRun: boolean): boolean {
  return (!r.verbs || r.verbs.includes(a.verb)) && (!r.resources || r.resources.includes(a.resource))
    && (!r.names || r.names.includes(a.name)) && (r.namespace === undefined || r.namespace === a.namespace)
    && (r.dryRun === undefined || r.dryRun === dryRun);
}
