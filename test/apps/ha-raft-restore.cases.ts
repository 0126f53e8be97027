import { readFileSync } from 'fs';
import { join } from 'path';
import { PassThrough } from 'stream';
import { createGzip } from 'zlib';
import * as YAML from 'yaml';
import { root } from '../../build/bundle';
import { fencedBlocks } from '../support/docs';
import { FakeRaftRestorePod, podModel } from '../support/fake-raft-restore';
import { writeSnapshot } from '../support/fake-raft-snapshot';

// The restore drill: docs/backups.md's "Restore from a snapshot", as an operator runs it, against stand-in pods of the
// HA example modelled on Vault (a standby redirects a restore to the leader's api_addr; the leader stages the upload
// with os.CreateTemp in the pod's /tmp, as examples/ha-raft/dist's StatefulSet mounts it).
const TOKEN = 'hvs.restore-drill-token-0123456789';
const docs = readFileSync(join(root, 'docs', 'backups.md'), 'utf8');
const section = docs.slice(docs.indexOf('## Restore from a snapshot'), docs.indexOf('\n## ', docs.indexOf('## Restore from a snapshot') + 3));
const commands = fencedBlocks(section, 'sh').join('\n').split('\n').map((l) => l.trim());
const sts = YAML.parseAllDocuments(readFileSync(join(root, 'examples', 'ha-raft', 'dist', 'vault', 'vault.k8s.yaml'), 'utf8'))
  .map((d) => d.toJSON()).find((o) => o?.kind === 'StatefulSet');

async function snapshotBytes(dataBytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 0 });
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  gzip.pipe(out).on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => out.on('end', resolve));
  await writeSnapshot(gzip, { dataBytes });
  gzip.end();
  await done;
  return Buffer.concat(chunks);
}

/** What `vault operator raft snapshot restore FILE` sends (api/sys_raft.go: POST, the token, the file as the body). */
const restore = (addr: string, body: Buffer, force = false) => fetch(`${addr}/v1/sys/storage/raft/snapshot${force ? '-force' : ''}`, {
  method: 'POST', headers: { 'x-vault-token': TOKEN }, body, redirect: 'manual', signal: AbortSignal.timeout(20000),
});

describe('the restore runbook, step by step', () => {
  const pods: FakeRaftRestorePod[] = [];
  const leader = 'vault-1';
  const leaderAddr = (name: string) => podModel(sts, name).env.VAULT_API_ADDR;

  beforeAll(async () => {
    for (const name of ['vault-0', 'vault-1', 'vault-2']) {
      pods.push(await new FakeRaftRestorePod(podModel(sts, name), name === leader ? 'leader' : 'standby', leaderAddr(leader), TOKEN).start());
    }
  });
  afterAll(async () => { await Promise.all(pods.map((p) => p.stop())); });

  test('it finds the leader by its vault-active label and port-forwards to that pod, not to a Service of any pod', () => {
    expect(commands).toContain(`active=$(kubectl -n "$VAULT_NS" get pods -l vault-active=true -o jsonpath='{.items[0].metadata.name}')`);
    const forward = commands.find((c) => c.includes('port-forward'));
    expect(forward).toBe('kubectl -n "$VAULT_NS" port-forward "pod/$active" 8200:8200 &');
    expect(commands.some((c) => /^vault operator raft snapshot restore \S+\.snap$/.test(c))).toBe(true);
    // Sealed pods and a missing leader are said before the restore, with what to do.
    expect(section).toMatch(/vault-sealed=true[\s\S]*unseal job/);
    expect(section).toMatch(/No pod\s+`vault-active=true`/);
  });

  test('through the leader, the restore stages its upload in the pod\'s /tmp and succeeds', async () => {
    const body = await snapshotBytes(200_000);
    const answer = await restore(pods[1].url, body);
    expect(answer.status).toBe(204);
    expect(pods[1].restored).toEqual([body.length]);
  });

  test('through a standby, the restore is redirected to the leader\'s own address inside the cluster, not the public host', async () => {
    const answer = await restore(pods[0].url, await snapshotBytes(1000));
    expect(answer.status).toBe(307);
    const location = new URL(answer.headers.get('location')!);
    expect(location.hostname).toBe(`${leader}.vault-internal.${sts.metadata.namespace}.svc.cluster.local`);
    expect(location.pathname).toBe('/v1/sys/storage/raft/snapshot');
  });

  test('the model catches the pod it was written for: without a writable /tmp, Vault cannot stage the upload', async () => {
    const withoutTmp = JSON.parse(JSON.stringify(sts));
    const container = withoutTmp.spec.template.spec.containers[0];
    container.volumeMounts = container.volumeMounts.filter((m: any) => m.mountPath !== '/tmp');
    const old = await new FakeRaftRestorePod(podModel(withoutTmp, leader), 'leader', leaderAddr(leader), TOKEN).start();
    try {
      const answer = await restore(old.url, await snapshotBytes(1000));
      expect(answer.status).toBe(500);
      expect(JSON.stringify(await answer.json())).toMatch(/read-only file system/);
    } finally {
      await old.stop();
    }
  });

  test('/tmp holds the largest snapshot the pod can have: its claim\'s size', () => {
    const model = podModel(sts, leader);
    const claimBytes = podModel({ spec: { template: { spec: { containers: [{ volumeMounts: [{ name: 'c', mountPath: '/c' }] }], volumes: [{ name: 'c', emptyDir: { sizeLimit: sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage } }] } } } }, leader).writable['/c'];
    expect(model.writable['/tmp']).toBe(claimBytes);
    expect(model.readOnlyRootFilesystem).toBe(true);
  });
});
