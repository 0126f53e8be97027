import * as http from 'http';
import { LoopbackServer, readBody } from './loopback-server';

export interface KubeRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly contentType?: string;
  readonly body: any;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

export interface FakeKubeOptions {
  /** The bearer token the server accepts. */
  readonly token: string;
  /**
   * The store `k8s-secrets`: its Ready condition (`since` is its lastTransitionTime, by default an hour ago), or
   * 'no-status' for a store ESO has not reconciled yet.
   */
  store: { ready: boolean; reason?: string; message?: string; since?: string } | 'no-status';
  /** ESO's Deployments in namespace security, with the restartedAt annotation of their pod template. */
  readonly deployments: Record<string, { restartedAt?: string }>;
  /** Vault's pod security/vault-0: ready since `since` (by default two hours ago), or not ready. */
  readonly vaultPod?: { ready: boolean; since?: string };
  /** Answer every Event with 403, as RBAC does without the create verb. */
  readonly forbidEvents?: boolean;
  /** Answer every PATCH with 403, as RBAC does without the patch verb. */
  readonly forbidPatch?: boolean;
  /** Accept connections and never answer. */
  readonly hang?: boolean;
  /** Every answer comes after this pause. */
  readonly delayMs?: number;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });

/** A loopback stand-in for the Kubernetes API paths the recovery script uses, checking the bearer token. */
export class FakeKube extends LoopbackServer {
  public readonly received: KubeRequest[] = [];

  constructor(public readonly options: FakeKubeOptions) {
    super();
  }

  get patches(): KubeRequest[] {
    return this.received.filter((r) => r.method === 'PATCH');
  }

  /** The Events created, by namespace/name. */
  public readonly events = new Map<string, any>();


  private deployment(name: string) {
    const restartedAt = this.options.deployments[name].restartedAt;
    return {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'security' },
      spec: { template: { metadata: restartedAt ? { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } : {} } },
    };
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    readBody(req, (body) => {
      const path = req.url ?? '';
      this.received.push({
        method: req.method ?? '', path, body, at: Date.now(),
        authorization: req.headers.authorization, contentType: req.headers['content-type'],
      });
      if (this.options.hang) return;
      const send = (code: number, json: unknown) => {
        const answer = () => {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (this.options.delayMs) setTimeout(answer, this.options.delayMs);
        else answer();
      };
      if (req.headers.authorization !== `Bearer ${this.options.token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));

      const store = path.match(/^\/apis\/external-secrets\.io\/v1\/clustersecretstores\/([^/]+)$/);
      if (store && req.method === 'GET') {
        if (store[1] !== 'k8s-secrets') return send(404, status(404, 'NotFound', `clustersecretstores.external-secrets.io "${store[1]}" not found`));
        const s = this.options.store;
        const conditions = s === 'no-status' ? undefined : [{
          type: 'Ready', status: s.ready ? 'True' : 'False', reason: s.reason ?? (s.ready ? 'Valid' : 'InvalidProviderConfig'),
          message: s.message ?? (s.ready ? 'store validated' : 'unable to create client'),
          lastTransitionTime: s.since ?? new Date(Date.now() - 3600_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        }];
        return send(200, { apiVersion: 'external-secrets.io/v1', kind: 'ClusterSecretStore', metadata: { name: store[1], uid: '6f1c2a4e-0000-4000-8000-000000000001', resourceVersion: '4242' }, ...(conditions && { status: { conditions } }) });
      }

      if (path === '/api/v1/namespaces/security/pods/vault-0' && req.method === 'GET') {
        const p = this.options.vaultPod ?? { ready: true };
        const since = p.since ?? new Date(Date.now() - 7200_000).toISOString().replace(/\.\d+Z$/, 'Z');
        return send(200, {
          apiVersion: 'v1', kind: 'Pod', metadata: { name: 'vault-0', namespace: 'security' },
          status: { conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False', lastTransitionTime: since }] },
        });
      }

      const events = path.match(/^\/api\/v1\/namespaces\/([^/]+)\/events$/);
      if (events && req.method === 'POST') {
        if (this.options.forbidEvents) {
          return send(403, status(403, 'Forbidden', `events is forbidden: User "system:serviceaccount:security:eso-recovery" cannot create resource "events" in API group "" in the namespace "${events[1]}"`));
        }
        const key = `${events[1]}/${body?.metadata?.name}`;
        if (this.events.has(key)) return send(409, status(409, 'AlreadyExists', `events "${body?.metadata?.name}" already exists`));
        this.events.set(key, body);
        return send(201, body);
      }

      const deployment = path.match(/^\/apis\/apps\/v1\/namespaces\/security\/deployments\/([^/]+)$/);
      if (deployment) {
        const name = deployment[1];
        if (!this.options.deployments[name]) return send(404, status(404, 'NotFound', `deployments.apps "${name}" not found`));
        if (req.method === 'GET') return send(200, this.deployment(name));
        if (req.method === 'PATCH') {
          if (this.options.forbidPatch) {
            return send(403, status(403, 'Forbidden', `deployments.apps "${name}" is forbidden: User "system:serviceaccount:security:eso-recovery" cannot patch resource "deployments"`));
          }
          this.options.deployments[name].restartedAt = body?.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'];
          return send(200, this.deployment(name));
        }
      }
      send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    });
  }
}
