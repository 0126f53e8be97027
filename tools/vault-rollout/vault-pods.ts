// Each pod's own Vault, through its PodLink: the seal status (unauthenticated), autopilot's view of the Raft cluster
// and the step-down (with the operator's token, sent only in the X-Vault-Token header to this machine's loopback end of
// the link). A link is kept while its pod is the same pod (the same uid) and dropped after any failed call, so that
// the next poll opens a fresh one to whatever pod then carries the name. With TLS each link is https to 127.0.0.1,
// verified against the CA given (VAULT_CACERT); a certificate problem stops the rollout (exit 2 in the runtime's terms).
import { needsHuman, notYet, RunError } from '../../runtime/common/failure';
import { HttpResponse, request } from '../../runtime/common/http';
import { reason } from '../../runtime/common/log';
import { CaFile } from '../../runtime/common/tls';
import { sealStatus, vaultCall, vaultErrorText } from '../../runtime/common/vault';
import { PodAccess, PodLink } from './port-forward';

export interface AutopilotServer {
  /** leader, voter, non-voter or staging (raft-autopilot's RaftState). */
  readonly status: string;
  readonly healthy: boolean;
}

/** sys/storage/raft/autopilot/state's data, the fields this command reads. */
export interface Autopilot {
  readonly healthy: boolean;
  readonly failureTolerance: number;
  /** The leader's node id: the pod's name (VAULT_RAFT_NODE_ID). */
  readonly leader: string;
  readonly servers: Readonly<Record<string, AutopilotServer>>;
}

export const AUTOPILOT_STATE = '/v1/sys/storage/raft/autopilot/state';
export const STEP_DOWN = '/v1/sys/step-down';

/** The data of an autopilot state answer, when it has the shape Vault gives it (api/sys_raft.go AutopilotState). */
export function autopilotOf(json: any): Autopilot | undefined {
  const data = json?.data;
  if (!data || typeof data.healthy !== 'boolean' || !Number.isInteger(data.failure_tolerance) || typeof data.servers !== 'object' || !data.servers) {
    return undefined;
  }
  const servers: Record<string, AutopilotServer> = {};
  for (const [id, server] of Object.entries<any>(data.servers)) {
    servers[id] = { status: String(server?.status ?? 'unknown'), healthy: server?.healthy === true };
  }
  return { healthy: data.healthy, failureTolerance: data.failure_tolerance, leader: typeof data.leader === 'string' ? data.leader : '', servers };
}

/** One line for an answer that is not a success. */
function refusal(pod: string, name: string, response: HttpResponse, needs: string): Error {
  const detail = vaultErrorText(response) ?? 'no detail';
  if (response.status === 403) {
    return needsHuman(`vault on ${pod} denied ${name} (HTTP 403 ${detail}): the token is wrong, expired or lacks ${needs} (docs/rollout.md gives the policy); run \`vault login\``);
  }
  if (response.status === 503) return notYet(`vault on ${pod} is sealed (${name} answered 503)`);
  return notYet(`vault on ${pod} answered ${name} with HTTP ${response.status} (${detail})`);
}

export class VaultPods {
  private readonly links = new Map<string, { uid: string; link: PodLink }>();

  constructor(
    private readonly access: PodAccess, private readonly token: string, private readonly callMs: number,
    private readonly tls: { readonly ca?: CaFile; readonly namespace?: string } = {},
  ) {}

  private async call(pod: { name: string; uid: string }, method: string, path: string, authenticated: boolean): Promise<HttpResponse> {
    const held = this.links.get(pod.name);
    if (held && (held.uid !== pod.uid || !held.link.alive())) this.drop(pod.name);
    let entry = this.links.get(pod.name);
    if (!entry) {
      entry = { uid: pod.uid, link: await this.access.open(pod.name) };
      this.links.set(pod.name, entry);
    }
    try {
      return await request(`${entry.link.url}${path}`, {
        name: `${method} ${path}`, method, timeoutMs: this.callMs, headers: authenticated ? { 'x-vault-token': this.token } : {},
        ...vaultCall(entry.link.url, { ...this.tls, addressVariable: 'the port-forward' }),
      });
    } catch (error) {
      this.drop(pod.name);
      if (error instanceof RunError && error.exitCode === 2) throw needsHuman(`vault on ${pod.name}: ${error.message}`);
      throw notYet(`cannot reach vault on ${pod.name}: ${reason(error)}`);
    }
  }

  /** Whether the pod's Vault is sealed; throws when it cannot tell. */
  async sealed(pod: { name: string; uid: string }): Promise<boolean> {
    const response = await this.call(pod, 'GET', '/v1/sys/seal-status', false);
    const status = sealStatus(response);
    if (!status) throw notYet(`vault on ${pod.name} answered GET /v1/sys/seal-status with HTTP ${response.status}: not Vault's seal status`);
    return status.sealed || !status.initialized;
  }

  async autopilot(pod: { name: string; uid: string }): Promise<Autopilot> {
    const response = await this.call(pod, 'GET', AUTOPILOT_STATE, true);
    if (response.status !== 200) throw refusal(pod.name, `GET ${AUTOPILOT_STATE}`, response, 'read on sys/storage/raft/autopilot/state');
    const state = autopilotOf(response.json);
    if (!state) throw notYet(`vault on ${pod.name} answered GET ${AUTOPILOT_STATE} with JSON of another shape: not autopilot's state`);
    return state;
  }

  /** Asks the pod's Vault, the active node, to give up leadership; another node takes it (or not: the caller checks). */
  async stepDown(pod: { name: string; uid: string }): Promise<void> {
    const response = await this.call(pod, 'PUT', STEP_DOWN, true);
    if (response.status < 200 || response.status > 299) throw refusal(pod.name, `PUT ${STEP_DOWN}`, response, 'update and sudo on sys/step-down');
  }

  drop(pod: string): void {
    this.links.get(pod)?.link.close();
    this.links.delete(pod);
  }

  closeAll(): void {
    for (const pod of [...this.links.keys()]) this.drop(pod);
  }
}
