import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { invalid, validating } from '../build/prop-error';
import { checkDnsSubdomain, checkInteger } from './checks';
import { IVault } from './vault';

export interface VaultRaftMigrationProps {
  /** The Raft VaultStack the data moves to: pod 0's claim, node id and cluster address come from it. */
  readonly vault: IVault;
  /** The claim of the file storage the data comes from (the seed's `vault-data-lh`). Required. */
  readonly sourceClaimName: string;
  /**
   * The Job's deadline, in seconds: `vault operator migrate` copies every key, a few MB for a homelab.
   * @default 1800
   */
  readonly deadlineSeconds?: number;
}

const NAME = 'vault-migrate-to-raft';
const SOURCE_PATH = '/vault/file';
/** Where Vault's pods mount their data: the destination has the same path, though Raft records none. */
const DESTINATION_PATH = '/vault/data';
const CONFIG_PATH = '/vault/migrate';

/** The line `vault operator migrate` prints only when it copied every key (command/operator_migrate.go). */
export const MIGRATE_SUCCESS = 'Success! All of the keys have been migrated.';

/**
 * The Job's shell command. `vault operator migrate` exits 0 also when it stops early: on SIGTERM (an eviction, a drain)
 * its copy loop returns errAbort and Run() turns that into exit 0, without the success line. So the exit status proves
 * nothing: the command's output streams to the log as it comes (tee) and the Job fails unless the success line is in it.
 */
export function migrateCommand(configFile: string): string {
  return [
    'set -u',
    'log="$HOME/migrate.log"',
    `vault operator migrate -config=${configFile} 2>&1 | tee "$log"`,
    `if grep -qF '${MIGRATE_SUCCESS}' "$log"; then exit 0; fi`,
    `echo "vault operator migrate did not print '${MIGRATE_SUCCESS}': the copy is incomplete (stopped, killed or failed); `
      + 'do not start Vault on this destination: delete the Job and the destination claim, then run the migration again" >&2',
    'exit 1',
  ].join('\n');
}

/** The `vault operator migrate` configuration: one source, one destination, pod 0's node id and cluster address. */
export function migrateConfig(podName: string, clusterAddr: string): string {
  return [
    '# vault operator migrate: from the file backend to Raft, with Vault stopped and the destination empty.',
    `storage_source "file" {`,
    `  path = "${SOURCE_PATH}"`,
    '}',
    '',
    '# Pod 0\'s own node id: without it the migrator bootstraps Raft under a random id that no pod has.',
    'storage_destination "raft" {',
    `  path    = "${DESTINATION_PATH}"`,
    `  node_id = "${podName}"`,
    '}',
    '',
    '# Exactly pod 0\'s cluster address (its VAULT_CLUSTER_ADDR): Raft records it as the one peer\'s address.',
    `cluster_addr = "${clusterAddr}"`,
    '',
  ].join('\n');
}

/**
 * The one-off objects that move the seed's data from file storage to Raft, for their own folder beside dist/ (never
 * inside it: a GitOps application recursing through dist/ would run the migration on every sync). Pod 0's claim,
 * named as the StatefulSet's template names it and created before the StatefulSet, which adopts it (otherwise the
 * StatefulSet would create an empty one and pod 0 would start uninitialized); the migrate configuration; and the Job
 * that mounts both claims and runs `vault operator migrate`. The runbook is in examples/ha-raft/README.md.
 */
export class VaultRaftMigration extends Construct {
  /** The Job's name. */
  public readonly jobName = NAME;
  /** The migrate configuration, in HCL. */
  public readonly config: string;

  constructor(scope: Construct, id: string, props: VaultRaftMigrationProps) {
    super(scope, id);
    const { vault, source, deadline } = validating(this, () => {
      const vault = props.vault;
      if (vault.storage !== 'raft' || !vault.raftClaim) invalid('VaultRaftMigration vault', `storage "${vault.storage}"`, 'a VaultStack with storage "raft", the destination');
      const sourceClaim = checkDnsSubdomain('VaultRaftMigration sourceClaimName', props.sourceClaimName);
      if (sourceClaim === vault.raftClaim.name) invalid('VaultRaftMigration sourceClaimName', sourceClaim, `another claim than the destination ${vault.raftClaim.name}`);
      return { vault: props.vault, source: sourceClaim, deadline: checkInteger('VaultRaftMigration deadlineSeconds', props.deadlineSeconds ?? 1800, 60, 86400) };
    });
    const claim = vault.raftClaim!;
    const podName = vault.podNames[0];
    const namespace = vault.namespace;
    const labels = { 'app.kubernetes.io/name': NAME, 'app.kubernetes.io/component': 'migration' };
    this.config = migrateConfig(podName, vault.raftClusterAddr!);

    new k8s.KubePersistentVolumeClaim(this, 'destination', {
      metadata: {
        name: claim.name, namespace, labels: { ...claim.labels },
        // The StatefulSet adopts it: from then on it is pod 0's data, which nothing may prune.
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: claim.storageClassName,
        resources: { requests: { storage: k8s.Quantity.fromString(claim.storageSize) } },
      },
    });
    new k8s.KubeConfigMap(this, 'config', { metadata: { name: NAME, namespace, labels }, data: { 'migrate.hcl': this.config } });
    new k8s.KubeJob(this, 'job', {
      metadata: { name: NAME, namespace, labels },
      spec: {
        // Run once: a second attempt into a destination the first one half filled would fail anyway (not empty).
        backoffLimit: 0,
        activeDeadlineSeconds: deadline,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // As Vault's own pods, so that pod 0 can read and write what the migration writes.
            securityContext: {
              runAsNonRoot: true, runAsUser: 100, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch',
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [{
              name: 'migrate',
              image: vault.image,
              imagePullPolicy: 'IfNotPresent',
              // A shell of the image, not its entrypoint: the success line decides the exit status (migrateCommand).
              command: ['/bin/sh', '-c', migrateCommand(`${CONFIG_PATH}/migrate.hcl`)],
              env: [{ name: 'HOME', value: '/home/vault' }, { name: 'SKIP_SETCAP', value: 'true' }],
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                // Writable: the migrator holds a lock in the source while it copies (`-reset` clears a stuck one).
                { name: 'source', mountPath: SOURCE_PATH },
                { name: 'destination', mountPath: DESTINATION_PATH },
                { name: 'config', mountPath: CONFIG_PATH, readOnly: true },
                { name: 'home', mountPath: '/home/vault' },
              ],
            }],
            volumes: [
              { name: 'source', persistentVolumeClaim: { claimName: source } },
              { name: 'destination', persistentVolumeClaim: { claimName: claim.name } },
              { name: 'config', configMap: { name: NAME } },
              { name: 'home', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
            ],
          },
        },
      },
    });
  }
}
