import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { RecurringJob, RecurringJobSpecTask } from '../imports/longhorn.io';
import { SNAPSHOT_DEFAULTS, SNAPSHOT_ENV } from '../runtime/common/snapshot-variables';
import { crdObjectAnnotations } from './gitops';
import { bundleRuntime } from './runtime-bundle';
import { checkScriptOptions, checkVaultCa, ScriptCronJob, ScriptCronJobOptions } from './script-cron-job';
import { invalid, validating } from '../build/prop-error';
import { checkCron, checkDnsLabel, checkDnsSubdomain, checkInteger, checkQuantity } from './checks';
import { IVault } from './vault';
import { EgressPolicy } from './egress-policy';

export interface VaultSnapshotCronProps extends ScriptCronJobOptions {
  /**
   * The Vault to snapshot, on Raft storage: `VAULT_ADDR` is its active node's Service (with TLS the job trusts its CA,
   * `VAULT_CACERT`); the job runs in its namespace unless `namespace` is set.
   */
  readonly vault: IVault;
  /**
   * The path of Vault's Kubernetes auth method that the job logs in through.
   * @default 'kubernetes'
   */
  readonly authMount?: string;
  /**
   * The Kubernetes auth role the job logs in as; vault-setup derives it, bound to this job's ServiceAccount, with the
   * policy `policy`.
   * @default 'vault-raft-snapshot'
   */
  readonly role?: string;
  /**
   * How many snapshots the claim keeps, newest first.
   * @default 24 (a day of hourly snapshots)
   */
  readonly keep?: number;
  /**
   * The claim the snapshots are written to, created here. It must hold `keep` snapshots plus the one being written.
   * @default 'vault-raft-snapshots'
   */
  readonly claimName?: string;
  /**
   * The storage class of the claim.
   * @default 'longhorn'
   */
  readonly storageClassName?: string;
  /**
   * The size of the claim.
   * @default '5Gi'
   */
  readonly storageSize?: string;
  /**
   * The Job's deadline in seconds: a snapshot of a GiB at a slow disk's pace fits; the script stops 5 s before it.
   * @default 900
   */
  readonly deadlineSeconds?: number;
  /**
   * The longest pause in the transfer before the run gives up, in seconds (`STALL_SECONDS`).
   * @default 30
   */
  readonly stallSeconds?: number;
  /**
   * Whether a Longhorn RecurringJob backs the claim up to Longhorn's backup target, which is how the snapshots leave
   * the cluster. It needs Longhorn's setting `allow-recurring-job-while-volume-detached` on: the claim is attached
   * only while the job runs (see docs/backups.md).
   * @default true
   */
  readonly longhornBackup?: boolean;
  /**
   * When Longhorn backs the claim up, five cron fields (in the Longhorn manager's time zone): away from the snapshot
   * job's minute, so that the two do not contend for the volume.
   * @default '45 3 * * *'
   */
  readonly backupSchedule?: string;
  /**
   * How many backups of the claim Longhorn keeps on the backup target.
   * @default 14
   */
  readonly backupRetain?: number;
  /**
   * Longhorn's namespace, where RecurringJobs live.
   * @default 'longhorn-system'
   */
  readonly longhornNamespace?: string;
}

const NAME = 'vault-raft-snapshot';
const MOUNT_PATH = SNAPSHOT_DEFAULTS.dir;

function checkProps(props: VaultSnapshotCronProps) {
  const vault = props.vault;
  if (vault.storage !== 'raft') {
    invalid('VaultSnapshotCron vault', `a VaultStack with storage "${vault.storage ?? 'file'}"`, 'a VaultStack with storage "raft": only Raft storage takes snapshots (the file backend is backed up by VaultBackup)');
  }
  const deadlineSeconds = checkInteger('VaultSnapshotCron deadlineSeconds', props.deadlineSeconds ?? 900, 60, 3300);
  const stallSeconds = checkInteger('VaultSnapshotCron stallSeconds', props.stallSeconds ?? SNAPSHOT_DEFAULTS.stallSeconds, 5, 600);
  if (stallSeconds >= deadlineSeconds - 5) invalid('VaultSnapshotCron stallSeconds', stallSeconds, `less than deadlineSeconds minus 5 (${deadlineSeconds - 5})`);
  const authMount = props.authMount ?? SNAPSHOT_DEFAULTS.authMount;
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/.test(authMount)) invalid('VaultSnapshotCron authMount', authMount, 'a Vault mount path such as "kubernetes"');
  const role = props.role ?? SNAPSHOT_DEFAULTS.role;
  if (!/^[A-Za-z0-9_.-]+$/.test(role)) invalid('VaultSnapshotCron role', role, 'a Vault role name: letters, digits, ".", "_" and "-"');
  // Hourly at :15, away from the hourly Longhorn snapshot at :00; one try and a short window, then the next hour.
  const settings = checkScriptOptions('VaultSnapshotCron', props, vault.namespace, {
    activeDeadlineSeconds: deadlineSeconds, schedule: '15 * * * *', retryWindowSeconds: 60, retryIntervalSeconds: 10,
    cpuLimit: '500m', memoryRequest: '64Mi', memoryLimit: '160Mi',
  });
  checkVaultCa('VaultSnapshotCron', settings.namespace, vault);
  return {
    vault,
    settings,
    authMount,
    role,
    keep: checkInteger('VaultSnapshotCron keep', props.keep ?? SNAPSHOT_DEFAULTS.keep, 1, 1000),
    claimName: checkDnsSubdomain('VaultSnapshotCron claimName', props.claimName ?? 'vault-raft-snapshots'),
    storageClassName: checkDnsSubdomain('VaultSnapshotCron storageClassName', props.storageClassName ?? 'longhorn'),
    storageSize: checkQuantity('VaultSnapshotCron storageSize', props.storageSize ?? '5Gi'),
    stallSeconds,
    longhornBackup: props.longhornBackup ?? true,
    backupSchedule: checkCron('VaultSnapshotCron backupSchedule', props.backupSchedule ?? '45 3 * * *'),
    backupRetain: checkInteger('VaultSnapshotCron backupRetain', props.backupRetain ?? 14, 1, 100),
    longhornNamespace: checkDnsLabel('VaultSnapshotCron longhornNamespace', props.longhornNamespace ?? 'longhorn-system'),
  };
}

/**
 * The CronJob `vault-raft-snapshot`: hourly, the script of `runtime/raft-snapshot.ts` logs in to Vault through
 * Kubernetes auth as its own role, streams a Raft snapshot from the active node onto its own claim, verified and
 * written atomically, and keeps the newest `keep`. Free Vault has no automated snapshots (`snapshot-auto` is
 * Enterprise). Its ServiceAccount has no Kubernetes permission at all: its token only proves who it is to Vault.
 * A Longhorn RecurringJob backs the claim up off the cluster.
 */
export class VaultSnapshotCron extends Construct {
  /** The namespace of the CronJob and its pods. */
  public readonly namespace: string;
  /** The labels of the job's pods, for a NetworkPolicy that lets them reach Vault. */
  public readonly podLabels: Readonly<Record<string, string>>;
  /** The CronJob's name, which kube-state-metrics reports as `cronjob`. */
  public readonly cronJobName = NAME;
  /** The ServiceAccount the job runs as, which the Vault role binds. */
  public readonly serviceAccountName = NAME;
  /** The Kubernetes auth mount and role the job logs in with. */
  public readonly authMount: string;
  public readonly role: string;
  /** The name of the Vault policy of the role. */
  public readonly policyName = NAME;
  /** The policy, in HCL: read on the snapshot path, nothing else. */
  public readonly policy = 'path "sys/storage/raft/snapshot" {\n  capabilities = ["read"]\n}\n';
  /** The claim holding the snapshots. */
  public readonly claim: k8s.KubePersistentVolumeClaim;
  /** The RecurringJob that backs the claim up, when `longhornBackup` is on. */
  public readonly backupJobName?: string;

  constructor(scope: Construct, id: string, props: VaultSnapshotCronProps) {
    super(scope, id);
    const p = validating(this, () => checkProps(props));
    const namespace = p.settings.namespace;
    this.namespace = namespace;
    this.authMount = p.authMount;
    this.role = p.role;
    const labels = { 'app.kubernetes.io/name': NAME };

    // A token for Vault's TokenReview only: the pod makes no call to the Kubernetes API, so no Role binds it.
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: { name: NAME, namespace, labels }, automountServiceAccountToken: false });

    const backupLabels: Record<string, string> = {};
    if (p.longhornBackup) {
      this.backupJobName = `${NAME}s-backup`;
      backupLabels['recurring-job.longhorn.io/source'] = 'enabled';
      backupLabels[`recurring-job.longhorn.io/${this.backupJobName}`] = 'enabled';
      new RecurringJob(this, 'backup', {
        metadata: { name: this.backupJobName, namespace: p.longhornNamespace, annotations: crdObjectAnnotations(), labels },
        spec: {
          name: this.backupJobName, task: RecurringJobSpecTask.BACKUP, cron: p.backupSchedule, retain: p.backupRetain, concurrency: 1,
          // No group: it applies to this claim only (see VaultBackup).
          groups: [], labels: { 'app.kubernetes.io/name': NAME },
        },
      });
    }

    this.claim = new k8s.KubePersistentVolumeClaim(this, 'claim', {
      metadata: {
        name: p.claimName, namespace, labels: { ...labels, ...backupLabels },
        // The snapshots are the point: GitOps never prunes or deletes them.
        annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: p.storageClassName, resources: { requests: { storage: k8s.Quantity.fromString(p.storageSize) } } },
    });

    const job = new ScriptCronJob(this, 'job', {
      settings: p.settings,
      name: NAME,
      script: bundleRuntime('raft-snapshot'),
      serviceAccountName: NAME,
      // With Raft, the Vault's serviceUrl is its active node's Service.
      vault: p.vault,
      env: {
        [SNAPSHOT_ENV.authMount]: p.authMount,
        [SNAPSHOT_ENV.role]: p.role,
        [SNAPSHOT_ENV.dir]: MOUNT_PATH,
        [SNAPSHOT_ENV.keep]: String(p.keep),
        [SNAPSHOT_ENV.stallSeconds]: String(p.stallSeconds),
      },
      volumes: [{ mountPath: MOUNT_PATH, writable: true, volume: { name: 'snapshots', persistentVolumeClaim: { claimName: p.claimName } } }],
    });
    this.podLabels = job.podLabels;
    p.vault.allowClient({ description: `VaultSnapshotCron ${NAME}`, namespace, podLabels: job.podLabels });
    // Vault only (a standby's redirect names the active pod): Vault, not the job, reviews its token with the API server.
    if (p.vault.egress) {
      new EgressPolicy(this, 'egress', {
        name: `${NAME}-egress`, namespace, podLabels: job.podLabels, description: `VaultSnapshotCron ${NAME}`,
        destinations: [p.vault.egress.dns, p.vault.egress.vaultApi],
      });
    }
  }
}
