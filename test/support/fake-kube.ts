import * as http from 'http';
import { LoopbackServer, readBody, send as sendAnswer } from './loopback-server';

// A loopback stand-in for the Kubernetes API paths the recovery script uses, with ESO's controllers behind it, modelled
// on the real ones: the API server checks the bearer token, the verbs the job's Roles grant, the patch's media type
// (custom resources take no strategic merge patch) and, for ESO's objects, ESO's admission webhook. ESO's
// ClusterSecretStore controller reconciles on any change of the store (no event filter) and records a Warning Event
// about the store in `default` on each failed validation, merging repeats into one Event (count, lastTimestamp); its
// ExternalSecret controller refreshes on an annotation change, and refuses a store that is not Ready (flood gate).

export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body: any;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

/** A Ready condition: its status and, by default an hour ago, its lastTransitionTime. */
export interface Condition { ready: boolean; reason?: string; since?: string }

export interface FakeKubeOptions {
  /** The bearer token the server accepts. */
  readonly token: string;
  /** The store `k8s-secrets`: its Ready condition, or 'no-status' for a store ESO has not reconciled yet. */
  store: Condition | 'no-status';
  /** More stores beside `k8s-secrets`, by name (one per app namespace), each reconciled the same way. */
  readonly stores?: Record<string, Condition | 'no-status'>;
  /**
   * What ESO finds when it validates the store (on a change of the store): `valid` turns it Ready; a string is the
   * error it records as a Warning Event and the store stays not ready; `silent` does nothing (ESO down, or its events
   * dropped by client-go's spam filter).
   * @default 'valid'
   */
  validation?: 'valid' | 'silent' | string;
  /** How long ESO takes to reconcile after a change, in ms. @default 50 */
  readonly reconcileMs?: number;
  /**
   * The project's ExternalSecrets, `namespace/name` to their Ready condition; ESO syncs one when woken and its store
   * (`k8s-secrets` unless `store` names another) is Ready.
   */
  readonly externalSecrets?: Record<string, Condition & { wokenAt?: string; failing?: boolean; store?: string }>;
  /**
   * A reconcile of ESO's that was under way when the store was woken: it records this Warning (Vault was still sealed
   * when it started) at once, before the reconcile the wake-up causes.
   */
  readonly staleVerdict?: string;
  /** Warning Events ESO recorded about the store before the run. */
  readonly warnings?: Array<{ name: string; message: string; count?: number }>;
  /** ESO's webhook is down: every change of ESO's objects is refused as the API server refuses it. */
  readonly webhookDown?: boolean;
  /** Answer every Event creation with 403, as RBAC does without the create verb. */
  readonly forbidEvents?: boolean;
  /** Answer every PATCH with 403, as RBAC does without the patch verb. */
  readonly forbidPatch?: boolean;
  /** Accept connections and never answer. */
  readonly hang?: boolean;
  /** Every answer comes after this pause. */
  readonly delayMs?: number;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
const stamp = (ms = Date.now()) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const hourAgo = () => stamp(Date.now() - 3600_000);
const WAKE = 'eso-recovery/woken-at';
const SA = 'system:serviceaccount:security:eso-recovery';
const STORE = 'k8s-secrets';

export class FakeKube extends LoopbackServer {
  public readonly received: KubeRequest[] = [];
  /** The Events in `default`, by name, in the order they were created. */
  public readonly events = new Map<string, any>();
  /** The store's annotations, as patched. */
  public readonly storeAnnotations: Record<string, string> = {};
  /** When the store turned Ready after a wake-up (ms since the epoch). */
  public storeReadyAt?: number;
  /** Every store's annotations and when it turned Ready after a wake-up, by name. */
  public readonly annotationsOf: Record<string, Record<string, string>> = { [STORE]: this.storeAnnotations };
  public readonly readyAt: Record<string, number> = {};
  private version = 1000;

  constructor(public readonly options: FakeKubeOptions) {
    super();
    for (const w of options.warnings ?? []) this.warn(w.message, w.name, w.count, hourAgo());
  }

  get patches(): KubeRequest[] {
    return this.received.filter((r) => r.method === 'PATCH');
  }

  private condition(store: string): Condition | 'no-status' | undefined {
    return store === STORE ? this.options.store : this.options.stores?.[store];
  }

  /** ESO's store controller: a failed validation records a Warning, merged into one Event per message and store. */
  private warn(message: string, name?: string, count = 1, at = stamp(), store = STORE): void {
    const existing = [...this.events.values()].find((e) => e.type === 'Warning' && e.message === message
      && e.source.component === 'cluster-secret-store' && e.involvedObject.name === store);
    this.version++;
    if (existing) {
      existing.count++;
      existing.lastTimestamp = stamp();
      existing.metadata.resourceVersion = String(this.version);
      return;
    }
    const eventName = name ?? `${store}.${this.version.toString(16)}`;
    this.events.set(eventName, {
      apiVersion: 'v1', kind: 'Event', metadata: { name: eventName, namespace: 'default', resourceVersion: String(this.version) },
      involvedObject: { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', name: store },
      reason: 'InvalidProviderConfig', type: 'Warning', message, source: { component: 'cluster-secret-store' },
      count, firstTimestamp: at, lastTimestamp: at,
    });
  }

  private reconcileStore(store: string): void {
    setTimeout(() => {
      const validation = this.options.validation ?? 'valid';
      if (validation === 'silent') return;
      if (validation === 'valid') {
        const was = this.condition(store);
        if (was === 'no-status' || !was?.ready) {
          const ready = { ready: true, reason: 'Valid', since: stamp() };
          if (store === STORE) this.options.store = ready;
          else this.options.stores![store] = ready;
          this.readyAt[store] = Date.now();
          if (store === STORE) this.storeReadyAt = this.readyAt[store];
        }
        return;
      }
      this.warn(validation, undefined, 1, stamp(), store);
    }, this.options.reconcileMs ?? 50);
  }

  private reconcileExternalSecret(key: string): void {
    setTimeout(() => {
      const s = this.condition(this.options.externalSecrets![key].store ?? STORE);
      if (s && s !== 'no-status' && s.ready && !this.options.externalSecrets![key].failing) Object.assign(this.options.externalSecrets![key], { ready: true, reason: 'SecretSynced', since: stamp() });
    }, this.options.reconcileMs ?? 50);
  }

  private storeObject(store: string) {
    const s = this.condition(store)!;
    const conditions = s === 'no-status' ? undefined : [{
      type: 'Ready', status: s.ready ? 'True' : 'False', reason: s.reason ?? (s.ready ? 'Valid' : 'InvalidProviderConfig'),
      message: s.ready ? 'store validated' : 'unable to create client', lastTransitionTime: s.since ?? hourAgo(),
    }];
    return {
      apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore',
      metadata: { name: store, uid: `6f1c2a4e-0000-4000-8000-${String(Object.keys(this.annotationsOf).indexOf(store) + 1).padStart(12, '0')}`, resourceVersion: String(this.version), annotations: { ...this.annotationsOf[store] } },
      ...(conditions && { status: { conditions } }),
    };
  }

  private externalSecretObject(namespace: string, name: string) {
    const e = this.options.externalSecrets![`${namespace}/${name}`];
    return {
      apiVersion: 'external-secrets.io/v1', kind: 'ExternalSecret',
      metadata: { name, namespace, ...(e.wokenAt && { annotations: { [WAKE]: e.wokenAt } }) },
      status: { conditions: [{ type: 'Ready', status: e.ready ? 'True' : 'False', reason: e.reason ?? (e.ready ? 'SecretSynced' : 'SecretSyncedError'), lastTransitionTime: e.since ?? hourAgo() }] },
    };
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      const path = req.url ?? '';
      const method = req.method ?? '';
      this.received.push({ method, path, body, at: Date.now(), authorization: req.headers.authorization, contentType: req.headers['content-type'] });
      if (this.options.hang) return;
      const send = (code: number, json: unknown) => sendAnswer(res, code, json, this.options.delayMs);
      if (req.headers.authorization !== `Bearer ${this.options.token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
      const forbidden = (verb: string, resource: string, where = '') =>
        send(403, status(403, 'Forbidden', `${resource} is forbidden: User "${SA}" cannot ${verb} resource "${resource.split(' ')[0]}"${where}`));
      const patching = method === 'PATCH';
      if (patching) {
        if (req.headers['content-type'] !== 'application/merge-patch+json') {
          return send(415, status(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml'));
        }
        if (this.options.forbidPatch) return forbidden('patch', 'clustersecretstores.external-secrets.io');
        if (this.options.webhookDown) {
          return send(500, status(500, 'InternalError', 'Internal error occurred: failed calling webhook "validate.clustersecretstore.external-secrets.io": failed to call webhook: Post "https://external-secrets-webhook.security.svc:443/validate-external-secrets-io-v1-clustersecretstore?timeout=5s": dial tcp 10.43.12.7:443: connect: connection refused'));
        }
      }

      const store = path.match(/^\/apis\/external-secrets\.io\/v1\/clustersecretstores\/([^/?]+)$/);
      if (store && (method === 'GET' || patching)) {
        if (!this.condition(store[1])) return forbidden(method === 'GET' ? 'get' : 'patch', `clustersecretstores.external-secrets.io "${store[1]}"`);
        const own = (this.annotationsOf[store[1]] ??= {});
        if (patching) {
          const annotations = body?.metadata?.annotations ?? {};
          const changed = Object.entries(annotations).some(([k, v]) => own[k] !== v);
          Object.assign(own, annotations);
          this.version++;
          if (changed && this.options.staleVerdict) this.warn(this.options.staleVerdict, undefined, 1, stamp(), store[1]);
          if (changed) this.reconcileStore(store[1]);
        }
        return send(200, this.storeObject(store[1]));
      }

      const es = path.match(/^\/apis\/external-secrets\.io\/v1\/namespaces\/([^/]+)\/externalsecrets\/([^/?]+)$/);
      if (es && (method === 'GET' || patching)) {
        const key = `${es[1]}/${es[2]}`;
        if (!this.options.externalSecrets?.[key]) return forbidden(method === 'GET' ? 'get' : 'patch', `externalsecrets.external-secrets.io "${es[2]}"`, ` in the namespace "${es[1]}"`);
        if (patching) {
          const woken = body?.metadata?.annotations?.[WAKE];
          if (woken !== undefined && woken !== this.options.externalSecrets[key].wokenAt) {
            this.options.externalSecrets[key].wokenAt = woken;
            this.reconcileExternalSecret(key);
          }
        }
        return send(200, this.externalSecretObject(es[1], es[2]));
      }

      const events = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/events(\?.*)?$/);
      if (events && events[1] !== 'default') return forbidden(method === 'GET' ? 'list' : 'create', 'events', ` in the namespace "${events[1]}"`);
      if (events && method === 'GET') {
        // The field selectors the API server supports on Events, as the job uses them.
        const selector = new URLSearchParams(events[2] ?? '').get('fieldSelector') ?? '';
        const fields = Object.fromEntries(selector.split(',').filter(Boolean).map((f) => f.split('=')));
        const field = (e: any, name: string) => name.split('.').reduce((o, k) => o?.[k], e);
        const items = [...this.events.values()].filter((e) => Object.entries(fields).every(([k, v]) => String(field(e, k)) === v));
        return send(200, { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: String(this.version) }, items });
      }
      if (events && method === 'POST') {
        if (this.options.forbidEvents) return forbidden('create', 'events', ' in the namespace "default"');
        const name = body?.metadata?.name;
        if (this.events.has(name)) return send(409, status(409, 'AlreadyExists', `events "${name}" already exists`));
        this.events.set(name, { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.version) } });
        return send(201, body);
      }
      // Anything else (Deployments, pods) the job's Roles do not grant.
      send(403, status(403, 'Forbidden', `User "${SA}" cannot ${method.toLowerCase()} ${path}`));
    });
  }
}
