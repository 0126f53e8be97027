import * as http from 'http';
import { LoopbackServer, send } from './loopback-server';

// A Vault pod of a Raft cluster as a restore meets it, modelled on Vault's source:
// - `POST|PUT /v1/sys/storage/raft/snapshot` and `snapshot-force` are always forwarded to the leader: a standby answers
//   307 to the active node's api_addr (http/handler.go's always-redirected paths; api_addr is the pod's VAULT_API_ADDR);
// - the leader stages the upload with raft-snapshot's WriteSnapshotToTemp, `os.CreateTemp("", "snapshot")`: in
//   $TMPDIR, else /tmp, which must be writable in the pod as its spec runs it (read-only root, volume mounts, the
//   emptyDir's sizeLimit); otherwise Vault answers 500 with Go's error;
// - a sealed pod answers 503; without sudo on the path 403.

/** The parts of a Vault pod's spec that decide where a restore can stage its upload, as dist/ renders them. */
export interface PodModel {
  readonly name: string;
  readonly env: Record<string, string>;
  readonly readOnlyRootFilesystem: boolean;
  /** Writable mounts by path, with the byte size of their emptyDir's sizeLimit (Infinity: none). */
  readonly writable: Record<string, number>;
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9 };

/** The pod model of a StatefulSet's template (its first container), for pod `name`. */
export function podModel(statefulSet: any, name: string): PodModel {
  const spec = statefulSet.spec.template.spec;
  const container = spec.containers[0];
  const env = Object.fromEntries((container.env ?? []).map((e: any) => [e.name, String(e.value ?? '').replace('$(VAULT_K8S_POD_NAME)', name)]));
  const writable: Record<string, number> = {};
  for (const mount of (container.volumeMounts ?? []).filter((m: any) => !m.readOnly)) {
    const volume = spec.volumes?.find((v: any) => v.name === mount.name);
    const limit = volume?.emptyDir?.sizeLimit as string | undefined;
    const m = limit ? /^(\d+)([A-Za-z]*)$/.exec(limit) : null;
    writable[mount.mountPath] = m ? Number(m[1]) * (UNITS[m[2]] ?? 1) : Infinity;
  }
  return { name, env, readOnlyRootFilesystem: container.securityContext?.readOnlyRootFilesystem === true, writable };
}

export class FakeRaftRestorePod extends LoopbackServer {
  public sealed = false;
  /** Restored snapshots' sizes, in order. */
  public readonly restored: number[] = [];
  public readonly received: string[] = [];

  constructor(private readonly pod: PodModel, private readonly role: 'leader' | 'standby', private readonly leaderApiAddr: string, private readonly token: string) {
    super();
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    this.received.push(`${req.method} ${path}`);
    if (!/^\/v1\/sys\/storage\/raft\/snapshot(-force)?$/.test(path) || !['POST', 'PUT'].includes(req.method ?? '')) {
      send(res, 404, { errors: [] });
      return;
    }
    if (this.sealed) return send(res, 503, { errors: ['Vault is sealed'] });
    if (req.headers['x-vault-token'] !== this.token) return send(res, 403, { errors: ['permission denied'] });
    if (this.role === 'standby') {
      res.writeHead(307, { location: `${this.leaderApiAddr}${req.url}` });
      res.end();
      return;
    }
    const dir = this.pod.env.TMPDIR || '/tmp';
    const mount = Object.keys(this.pod.writable).filter((m) => dir === m || dir.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
    let size = 0;
    req.on('data', (chunk: Buffer) => { size += chunk.length; });
    req.on('end', () => {
      const file = `${dir}/snapshot${Math.floor(Math.random() * 1e9)}`;
      if (mount === undefined && this.pod.readOnlyRootFilesystem) {
        return send(res, 500, { errors: [`failed to create temp file: open ${file}: read-only file system`] });
      }
      if (mount !== undefined && size > this.pod.writable[mount]) {
        // The kubelet evicts a pod whose emptyDir exceeds its sizeLimit; the write itself fails first when it is full.
        return send(res, 500, { errors: [`failed to write snapshot to temp file: write ${file}: no space left on device`] });
      }
      this.restored.push(size);
      send(res, 204);
    });
  }
}
