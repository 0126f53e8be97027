import * as https from 'https';
import { AddressInfo } from 'net';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { KubeRequest } from './fake-kube';
import { readBody, send } from './loopback-server';
import { testCertificate } from './test-certificate';

// A loopback stand-in for the Kubernetes API as vault-rollout uses it, with the StatefulSet controller behind it,
// modelled on the real ones (as fake-kube.ts models ESO's side; that one's state is ESO's, so this is a server of its
// own in its conventions): https (kubectl sends a kubeconfig's token only over TLS), the bearer token checked, Status
// objects for errors, GET of the StatefulSet and of its pods by name, DELETE of one with a uid precondition (409 when
// it does not match), and RBAC's 403 for anything else, as the Role docs/rollout.md gives allows (no list of pods, no
// pods/exec). A deleted pod
// shuts down (Vault stops at once on SIGTERM), is gone after its grace period, and the controller, with OnDelete,
// creates it again from the update revision: Pending, then Running once its container starts.

export interface FakeStatefulSetOptions {
  readonly token: string;
  readonly namespace?: string;
  readonly name?: string;
  /** The pod template's labels, which the StatefulSet selects its pods by. */
  readonly selector?: Record<string, string>;
  readonly updateRevision: string;
  /** Each pod's revision at the start, pod N at index N (their count is the replicas). */
  readonly revisions: string[];
  /** From the delete to the pod's removal (its grace period), ms. */
  readonly terminateMs?: number;
  /** From the removal to the controller creating the pod again, ms. */
  readonly recreateMs?: number;
  /** From the new pod's creation to its container running, ms. */
  readonly startMs?: number;
  /** Pods whose successors never start (ImagePullBackOff). */
  readonly neverStart?: string[];
  /** The pod's Vault stopped (SIGTERM) or started. */
  readonly onStopped?: (pod: string) => void;
  readonly onStarted?: (pod: string) => void;
  /** The readiness probe: whether the pod's Vault is unsealed. */
  readonly ready?: (pod: string) => boolean;
}

interface Pod { name: string; uid: string; revision: string; phase: 'Pending' | 'Running'; deleting?: string; waiting?: string; created: string }

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const USER = 'operator@homelab';

export class FakeStatefulSet {
  public readonly received: KubeRequest[] = [];
  /** The pods deleted through the API, in order. */
  public readonly deleted: Array<{ pod: string; uid: string; at: number }> = [];
  public readonly pods = new Map<string, Pod>();
  public updateRevision: string;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly cert = testCertificate();
  private server?: https.Server;
  private uids = 0;

  constructor(public readonly options: FakeStatefulSetOptions) {
    this.updateRevision = options.updateRevision;
    options.revisions.forEach((revision, i) => this.create(`${this.name}-${i}`, revision, 'Running'));
  }

  get name(): string { return this.options.name ?? 'vault'; }
  get namespace(): string { return this.options.namespace ?? 'security'; }
  get selector(): Record<string, string> { return this.options.selector ?? { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'server' }; }
  get url(): string { return `https://127.0.0.1:${(this.server!.address() as AddressInfo).port}`; }
  /** The certificate kubectl trusts (the kubeconfig's certificate-authority-data). */
  get ca(): string { return this.cert.cert; }

  async start(): Promise<this> {
    this.server = https.createServer({ cert: this.cert.cert, key: this.cert.key }, (req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearTimeout);
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** A kubeconfig for this server and its token, as `kubectl config view --raw --minify` would print one. */
  kubeconfig(): string {
    const file = join(mkdtempSync(join(tmpdir(), 'kubeconfig-')), 'config');
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: homelab',
      'clusters:', `- name: homelab`, `  cluster: {server: "${this.url}", certificate-authority-data: "${Buffer.from(this.ca).toString('base64')}"}`,
      'users:', `- name: operator`, `  user: {token: "${this.options.token}"}`,
      'contexts:', '- name: homelab', '  context: {cluster: homelab, user: operator}', '',
    ].join('\n'));
    return file;
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); action(); }, ms);
    this.timers.add(timer);
  }

  private create(name: string, revision: string, phase: Pod['phase']): Pod {
    const pod: Pod = { name, uid: `00000000-0000-4000-8000-${String(++this.uids).padStart(12, '0')}`, revision, phase, created: stamp() };
    this.pods.set(name, pod);
    return pod;
  }

  /** The StatefulSet controller with OnDelete: a missing pod is created again from the update revision. */
  private recreate(name: string): void {
    const pod = this.create(name, this.updateRevision, 'Pending');
    pod.waiting = 'ContainerCreating';
    if (this.options.neverStart?.includes(name)) {
      this.later(this.options.startMs ?? 50, () => { pod.waiting = 'ImagePullBackOff'; });
      return;
    }
    this.later(this.options.startMs ?? 50, () => {
      if (this.pods.get(name) !== pod) return;
      pod.phase = 'Running';
      delete pod.waiting;
      this.options.onStarted?.(name);
    });
  }

  private podObject(pod: Pod) {
    const ready = pod.phase === 'Running' && !pod.deleting && (this.options.ready?.(pod.name) ?? true);
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: pod.name, namespace: this.namespace, uid: pod.uid, creationTimestamp: pod.created,
        labels: { ...this.selector, 'controller-revision-hash': pod.revision, 'statefulset.kubernetes.io/pod-name': pod.name },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: this.name, controller: true }],
        ...(pod.deleting && { deletionTimestamp: pod.deleting, deletionGracePeriodSeconds: 10 }),
      },
      status: {
        phase: pod.phase,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
        containerStatuses: [{ name: 'vault', ready, started: pod.phase === 'Running', state: pod.waiting ? { waiting: { reason: pod.waiting } } : { running: { startedAt: pod.created } } }],
      },
    };
  }

  private statefulSetObject() {
    const pods = [...this.pods.values()];
    const updated = pods.filter((p) => p.revision === this.updateRevision).length;
    const replicas = this.options.revisions.length;
    return {
      apiVersion: 'apps/v1', kind: 'StatefulSet',
      metadata: { name: this.name, namespace: this.namespace, generation: 2 },
      spec: { replicas, selector: { matchLabels: { ...this.selector } }, serviceName: `${this.name}-internal`, updateStrategy: { type: 'OnDelete' } },
      status: {
        observedGeneration: 2, replicas: pods.length, updatedReplicas: updated,
        readyReplicas: pods.filter((p) => this.podObject(p).status.conditions[0].status === 'True').length,
        updateRevision: this.updateRevision,
        // OnDelete: the current revision catches up once every pod runs the update revision.
        currentRevision: updated === replicas ? this.updateRevision : this.options.revisions.find((r) => r !== this.updateRevision) ?? this.updateRevision,
      },
    };
  }

  private handle(req: import('http').IncomingMessage, res: import('http').ServerResponse): void {
    readBody(req, (body) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const method = req.method ?? '';
      this.received.push({ method, path: `${url.pathname}${url.search}`, body, at: Date.now(), authorization: req.headers.authorization, contentType: req.headers['content-type'] });
      // The gcloud SDK's kubectl dispatcher asks for the server's version to pick a kubectl of the same minor.
      if (url.pathname === '/version') return send(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.4' });
      if (req.headers.authorization !== `Bearer ${this.options.token}`) return send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      const ns = `/namespaces/${this.namespace}`;
      const forbidden = (verb: string, resource: string) => send(res, 403, status(403, 'Forbidden', `${resource} is forbidden: User "${USER}" cannot ${verb} resource "${resource.split(' ')[0]}" in API group "" in the namespace "${this.namespace}"`));
      if (method === 'GET' && url.pathname === `/apis/apps/v1${ns}/statefulsets/${this.name}`) return send(res, 200, this.statefulSetObject());
      const one = new RegExp(`^/api/v1${ns}/pods/([^/]+)$`).exec(url.pathname);
      // The Role docs/rollout.md gives: get and delete on the StatefulSet's pods by name, nothing else.
      if (one && (method === 'GET' || method === 'DELETE') && this.options.revisions.some((_, i) => one[1] === `${this.name}-${i}`)) {
        const pod = this.pods.get(one[1]);
        if (!pod) return send(res, 404, status(404, 'NotFound', `pods "${one[1]}" not found`));
        if (method === 'GET') return send(res, 200, this.podObject(pod));
        const uid = body?.preconditions?.uid;
        if (uid !== undefined && uid !== pod.uid) {
          return send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on pods "${pod.name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.uid}`));
        }
        if (!pod.deleting) this.remove(pod);
        return send(res, 200, this.podObject(pod));
      }
      if (/\/pods\/[^/]+\/(exec|attach)$/.test(url.pathname)) return forbidden('create', `pods "${url.pathname.split('/')[6]}"`);
      forbidden(method.toLowerCase(), url.pathname);
    });
  }

  private remove(pod: Pod): void {
    pod.deleting = stamp();
    this.deleted.push({ pod: pod.name, uid: pod.uid, at: Date.now() });
    this.options.onStopped?.(pod.name);
    this.later(this.options.terminateMs ?? 50, () => {
      this.pods.delete(pod.name);
      this.later(this.options.recreateMs ?? 50, () => this.recreate(pod.name));
    });
  }
}
