import * as http from 'http';
import { FakeVault } from './fake-vault';
import { readBody, send, ServerTls } from './loopback-server';

// Vault on Raft over N pods, one stand-in Vault (fake-vault.ts, storage_type raft) per running pod, sharing the cluster's
// state: who leads, who is up and unsealed, and autopilot's view of it, answering as Vault does:
// - GET sys/storage/raft/autopilot/state (vault/logical_system_raft.go: `data` holds healthy, failure_tolerance, leader,
//   voters, servers{id: {id, name, address, node_status, last_contact, healthy, status leader|voter, ...}}); a server is
//   healthy once unsealed and stable for `stabilizeMs`; failure_tolerance is healthy voters minus the quorum (raft-
//   autopilot); a standby forwards to the active node, and with no active node the request fails.
// - PUT sys/step-down (http/sys_seal.go: 204; vault/core.go StepDown needs sudo, a 403 without): the leader gives up,
//   and after `electionMs` another unsealed voter is elected, never the one that stepped down while others can lead.
// - a pod deleted stops its Vault at once; its successor's Vault starts sealed, and the unseal CronJob unseals it
//   `unsealMs` later, or never for a pod in `neverUnsealed`.
// Every change is recorded with the count of unsealed voters at that moment, to assert quorum over the whole run.

export interface FakeRaftClusterOptions {
  readonly token: string;
  readonly pods?: number;
  readonly name?: string;
  readonly leader?: string;
  readonly unsealMs?: number;
  readonly stabilizeMs?: number;
  readonly electionMs?: number;
  /** hands-over: Vault's behaviour; ignored: 204 and the leader keeps leading; forbidden: a token without sudo. */
  readonly stepDown?: 'hands-over' | 'ignored' | 'forbidden';
  readonly neverUnsealed?: string[];
  /** Servers autopilot reports unhealthy whatever their state (a node that lags behind the leader's log). */
  readonly unhealthy?: string[];
  /** Pods whose Vault is sealed at the start (restarted, and the unseal job has not come by). */
  readonly sealed?: string[];
  /** storage_type in seal-status: a file-storage Vault is one pod that nobody asks about autopilot. */
  readonly storage?: 'raft' | 'file';
  /** Every pod's Vault serves https with this certificate (Vault's Certificate lists 127.0.0.1, a port-forward's end). */
  readonly tls?: ServerTls;
}

export interface RaftEvent {
  readonly at: number;
  readonly event: string;
  readonly unsealedVoters: number;
  readonly leader: string;
}

interface Node { up: boolean; sealed: boolean; unsealedAt: number; vault?: RaftPodVault }

const AUTOPILOT = '/v1/sys/storage/raft/autopilot/state';

class RaftPodVault extends FakeVault {
  constructor(private readonly cluster: FakeRaftCluster, private readonly pod: string, sealed: boolean, storageType: string) {
    super({ storageType, sealed, shares: ['c2hhcmUtMQ=='] });
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== AUTOPILOT && path !== '/v1/sys/step-down') return super.handle(req, res);
    readBody(req, (body) => {
      this.received.push({ method: req.method ?? '', path: req.url ?? '', body });
      const [code, json] = this.cluster.answer(this.pod, req.method ?? '', path, req.headers['x-vault-token']);
      send(res, code, json);
    });
  }
}

export class FakeRaftCluster {
  public readonly history: RaftEvent[] = [];
  /** The step-downs Vault received, by the pod that got them. */
  public readonly stepDowns: string[] = [];
  public leader: string;
  private readonly nodes = new Map<string, Node>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly listeners: Array<() => void> = [];
  private steppedDown = '';

  constructor(private readonly options: FakeRaftClusterOptions) {
    const count = options.pods ?? 3;
    for (let i = 0; i < count; i++) {
      const name = `${options.name ?? 'vault'}-${i}`;
      this.nodes.set(name, { up: true, sealed: !!options.sealed?.includes(name), unsealedAt: 0 });
    }
    this.leader = options.leader ?? `${options.name ?? 'vault'}-0`;
  }

  async start(): Promise<this> {
    for (const [name, node] of this.nodes) node.vault = await this.podVault(name, node.sealed);
    this.record('started');
    return this;
  }

  private podVault(pod: string, sealed: boolean): Promise<RaftPodVault> {
    const vault = new RaftPodVault(this, pod, sealed, this.options.storage ?? 'raft');
    return (this.options.tls ? vault.withTls(this.options.tls) : vault).start();
  }

  async stop(): Promise<void> {
    this.timers.forEach(clearTimeout);
    await Promise.all([...this.nodes.values()].map((n) => n.vault?.stop()));
  }

  /** The loopback URL of the pod's running Vault: what a port-forward to the pod reaches. */
  urlOf(pod: string): string {
    const vault = this.nodes.get(pod)?.vault;
    if (!vault) throw new Error(`error: unable to forward port because pod is not running (${pod})`);
    return vault.url;
  }

  unsealedVoters(): number {
    return [...this.nodes.values()].filter((n) => n.up && !n.sealed).length;
  }

  /** The fewest unsealed voters at any moment recorded. */
  fewestUnsealedVoters(): number {
    return Math.min(...this.history.map((e) => e.unsealedVoters));
  }

  isUnsealed(pod: string): boolean {
    const node = this.nodes.get(pod);
    return !!node && node.up && !node.sealed;
  }

  /** The StatefulSet controller's hooks: the pod's Vault stops (SIGTERM) or a new one starts. */
  podStopped(pod: string): void {
    const node = this.nodes.get(pod)!;
    const vault = node.vault;
    Object.assign(node, { up: false, sealed: true, vault: undefined });
    void vault?.stop();
    if (this.leader === pod) this.loseLeader(pod);
    this.record(`${pod} stopped`);
  }

  async podStarted(pod: string): Promise<void> {
    const node = this.nodes.get(pod)!;
    node.vault = await this.podVault(pod, true);
    node.up = true;
    this.record(`${pod} started, sealed`);
    if (this.options.neverUnsealed?.includes(pod)) return;
    this.later(this.options.unsealMs ?? 50, () => this.unseal(pod));
  }

  /** What the unseal CronJob does, or the operator by hand (`vault operator unseal`). */
  unseal(pod: string): void {
    const node = this.nodes.get(pod)!;
    if (node.vault === undefined || !node.sealed) return;
    Object.assign(node, { sealed: false, unsealedAt: Date.now() });
    node.vault.sealed = false;
    this.record(`${pod} unsealed`);
    if (!this.leader) this.elect();
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => { this.timers.delete(timer); action(); }, ms);
    this.timers.add(timer);
  }

  private record(event: string): void {
    this.history.push({ at: Date.now(), event, unsealedVoters: this.unsealedVoters(), leader: this.leader });
    this.listeners.forEach((listener) => listener());
  }

  /** Calls `listener` after every change (a pod's Vault stopped, started, unsealed; a leader elected). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Each running pod's Vault port: where a port-forward to the pod ends. */
  ports(): Record<string, number> {
    return Object.fromEntries([...this.nodes].filter(([, n]) => n.vault).map(([name, n]) => [name, Number(new URL(n.vault!.url).port)]));
  }

  private loseLeader(pod: string): void {
    this.leader = '';
    this.steppedDown = pod;
    this.later(this.options.electionMs ?? 50, () => this.elect());
  }

  /** Raft elects a leader among the unsealed voters, if they are a majority; the node that stepped down waits its turn. */
  private elect(): void {
    if (this.leader) return;
    const up = [...this.nodes].filter(([, n]) => n.up && !n.sealed).map(([name]) => name);
    if (up.length <= this.nodes.size / 2) return;
    this.leader = up.find((name) => name !== this.steppedDown) ?? up[0];
    this.record(`${this.leader} elected`);
  }

  private healthy(name: string, node: Node): boolean {
    return node.up && !node.sealed && Date.now() - node.unsealedAt >= (this.options.stabilizeMs ?? 0) && !this.options.unhealthy?.includes(name);
  }

  autopilotState() {
    const servers = Object.fromEntries([...this.nodes].map(([name, node]) => [name, {
      id: name, name, address: `${name}.vault-internal:8201`, node_status: node.up ? 'alive' : 'failed',
      last_contact: node.up && !node.sealed ? '0s' : '12.5s', last_term: 3, last_index: 1042, healthy: this.healthy(name, node),
      stable_since: new Date(node.unsealedAt).toISOString(), status: name === this.leader ? 'leader' : 'voter', version: '2.0.4', node_type: 'voter',
    }]));
    const healthyVoters = Object.values(servers).filter((s) => s.healthy).length;
    const quorum = Math.floor(this.nodes.size / 2) + 1;
    return {
      healthy: Object.values(servers).every((s) => s.healthy), failure_tolerance: Math.max(0, healthyVoters - quorum),
      leader: this.leader, voters: [...this.nodes.keys()], non_voters: [], servers,
    };
  }

  /** How Vault on `pod` answers an authenticated request to autopilot's state or the step-down. */
  answer(pod: string, method: string, path: string, token: unknown): [number, unknown] {
    const node = this.nodes.get(pod)!;
    if (node.sealed) return [503, { errors: ['Vault is sealed'] }];
    if (token !== this.options.token) return [403, { errors: ['permission denied'] }];
    // A standby forwards to the active node: with none, there is nobody to answer.
    if (!this.leader) return [500, { errors: ['local node not active but active cluster node not found'] }];
    if (path === AUTOPILOT && method === 'GET') {
      return [200, { request_id: 'f0c1', lease_id: '', renewable: false, lease_duration: 0, data: this.autopilotState(), wrap_info: null, warnings: null, auth: null }];
    }
    if (method !== 'PUT' && method !== 'POST') return [405, { errors: [] }];
    this.stepDowns.push(pod);
    if (this.options.stepDown === 'forbidden') return [403, { errors: ['1 error occurred:\n\t* permission denied\n\n'] }];
    if (this.options.stepDown !== 'ignored') {
      const leader = this.leader;
      this.record(`${leader} stepped down`);
      this.loseLeader(leader);
    }
    return [204, undefined];
  }
}
