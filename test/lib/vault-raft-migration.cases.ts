import { spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as YAML from 'yaml';
import { VaultRaftMigration, VaultStack, VaultStorage } from '../../lib';
import { MIGRATE_SUCCESS } from '../../lib/vault-raft-migration';
import { root } from '../../build/bundle';
import { find, Manifest, synth } from '../support/manifests';

// The migration as the HA example commits it, checked against the example's own dist/: every name and address the
// migration uses must be the one the Raft StatefulSet will use.
const read = (file: string): Manifest[] => YAML.parseAllDocuments(readFileSync(join(root, 'examples', 'ha-raft', file), 'utf8')).map((d) => d.toJSON());
const migration = read('migration/migration.k8s.yaml');
const sts = find(read('dist/vault/vault.k8s.yaml'), 'StatefulSet', 'vault');
const job = find(migration, 'Job', 'vault-migrate-to-raft');
const pod = job.spec.template.spec;
const container = pod.containers[0];
const config: string = find(migration, 'ConfigMap', 'vault-migrate-to-raft').data['migrate.hcl'];
const mountOf = (volume: string) => container.volumeMounts.find((m: any) => m.name === volume);
const claimOf = (volume: string) => pod.volumes.find((v: any) => v.name === volume).persistentVolumeClaim.claimName;
const pod0 = `${sts.metadata.name}-0`;
const template = sts.spec.volumeClaimTemplates[0];

test('pod 0\'s claim: the name the StatefulSet\'s template gives it, with the template\'s spec and labels, kept by GitOps', () => {
  const claim = find(migration, 'PersistentVolumeClaim', `${template.metadata.name}-${pod0}`);
  expect(claim.metadata.namespace).toBe(sts.metadata.namespace);
  expect(claim.spec).toEqual(template.spec);
  expect(claim.metadata.labels).toEqual(template.metadata.labels);
  expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
});

test('the configuration: one file source at the old claim, one Raft destination at pod 0\'s claim, pod 0\'s id and cluster address', () => {
  expect(config.match(/^storage_source "file" \{\n {2}path = "([^"]+)"\n\}$/m)?.[1]).toBe(mountOf('source').mountPath);
  expect(claimOf('source')).toBe('vault-data-lh');
  const destination = /^storage_destination "raft" \{\n {2}path {4}= "([^"]+)"\n {2}node_id = "([^"]+)"\n\}$/m.exec(config);
  expect(destination?.[1]).toBe(mountOf('destination').mountPath);
  expect(claimOf('destination')).toBe(`${template.metadata.name}-${pod0}`);
  expect(destination?.[2]).toBe(pod0);
  expect((config.match(/^storage_(source|destination) /gm) ?? []).length).toBe(2);
  // cluster_addr exactly as pod 0 computes its own (VAULT_CLUSTER_ADDR with its name).
  const env = sts.spec.template.spec.containers[0].env;
  const podAddr = env.find((e: any) => e.name === 'VAULT_CLUSTER_ADDR').value.replace('$(VAULT_K8S_POD_NAME)', pod0);
  expect(config).toMatch(new RegExp(`^cluster_addr = "${podAddr.replace(/[.]/g, '\\.')}"$`, 'm'));
  // And pod 0's node id is its name in the StatefulSet too.
  expect(env.find((e: any) => e.name === 'VAULT_RAFT_NODE_ID').value).toBe('$(VAULT_K8S_POD_NAME)');
});

test('the Job runs vault operator migrate once, with both claims writable, as Vault\'s own user and image', () => {
  expect(container.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  expect(container.command[2]).toContain(`vault operator migrate -config=${mountOf('config').mountPath}/migrate.hcl 2>&1`);
  expect(container.args).toBeUndefined();
  expect(container.env).toContainEqual({ name: 'HOME', value: mountOf('home').mountPath });
  expect(mountOf('source').readOnly).toBeUndefined();
  expect(mountOf('destination').readOnly).toBeUndefined();
  expect(mountOf('config').readOnly).toBe(true);
  expect(pod.volumes).toContainEqual({ name: 'config', configMap: { name: 'vault-migrate-to-raft' } });
  expect(container.image).toBe(sts.spec.template.spec.containers[0].image);
  const vaultSecurity = sts.spec.template.spec.securityContext;
  expect([pod.securityContext.runAsUser, pod.securityContext.fsGroup]).toEqual([vaultSecurity.runAsUser, vaultSecurity.fsGroup]);
  expect(job.spec.backoffLimit).toBe(0);
  expect(pod.restartPolicy).toBe('Never');
});

// The Job's own command, run by sh with a stand-in `vault` on PATH that prints what the real one prints and exits as
// it does: `vault operator migrate` exits 0 also when SIGTERM stopped it mid-copy (errAbort), without the success line.
function runJobCommand(output: string, exitCode: number): { status: number | null; stdout: string; stderr: string; args: string } {
  const dir = mkdtempSync(join(tmpdir(), 'migrate-'));
  writeFileSync(join(dir, 'vault'), `#!/bin/sh\necho "$@" > "${dir}/args"\nprintf '%s\\n' "${output}"\nexit ${exitCode}\n`);
  chmodSync(join(dir, 'vault'), 0o755);
  const run = spawnSync('/bin/sh', ['-c', container.command[2]], {
    env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir }, encoding: 'utf8', timeout: 10_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, args: readFileSync(join(dir, 'args'), 'utf8') };
}

test('the Job succeeds only when vault operator migrate printed its success line, its output streamed to the log', () => {
  const copied = '[INFO]  copied key: path=core/seal-config';
  const done = runJobCommand(`${copied}\n${MIGRATE_SUCCESS}`, 0);
  expect(done).toMatchObject({ status: 0, stdout: `${copied}\n${MIGRATE_SUCCESS}\n`, stderr: '' });
  expect(done.args).toBe(`operator migrate -config=${mountOf('config').mountPath}/migrate.hcl\n`);
  // Evicted mid-copy: exit 0 from vault, no success line: the Job fails and says what to do.
  const aborted = runJobCommand(copied, 0);
  expect(aborted.status).toBe(1);
  expect(aborted.stdout).toBe(`${copied}\n`);
  expect(aborted.stderr).toMatch(/the copy is incomplete .*delete the Job and the destination claim/);
  expect(runJobCommand('Error migrating: no space left on device', 2).status).toBe(1);
});

/** Every file under a folder, recursively: whatever GitOps might sync from it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

test('the migration lives beside dist/, never in it: no file anywhere under dist/ names it', () => {
  const files = filesUnder(join(root, 'examples', 'ha-raft', 'dist'));
  expect(files.some((f) => f.endsWith(join('vault', 'vault.k8s.yaml')))).toBe(true);
  for (const file of files) expect({ file, names: readFileSync(file, 'utf8').includes('vault-migrate-to-raft') }).toEqual({ file, names: false });
  expect(sts.spec.volumeClaimTemplates).toHaveLength(1);
});

test('refuses a file-storage destination and a source that is the destination', () => {
  expect(() => synth((chart) => new VaultRaftMigration(chart, 'm', {
    vault: new VaultStack(chart, 'vault', { host: 'v.example.com', networkPolicy: false }), sourceClaimName: 'vault-data-lh',
  }))).toThrow(/invalid VaultRaftMigration vault: got "storage \\"file\\"", expected a VaultStack with storage "raft"/);
  expect(() => synth((chart) => new VaultRaftMigration(chart, 'm', {
    vault: new VaultStack(chart, 'vault', { host: 'v.example.com', networkPolicy: false, storage: VaultStorage.raft() }), sourceClaimName: 'data-vault-0',
  }))).toThrow(/invalid VaultRaftMigration sourceClaimName: got "data-vault-0", expected another claim than the destination data-vault-0/);
});
