import { Construct } from 'constructs';
import { RecurringJob, RecurringJobSpecTask } from '../imports/longhorn.io';
import { invalid, validating } from '../build/prop-error';
import { checkCron, checkDnsLabel, checkInteger } from './checks';
import { crdObjectAnnotations } from './gitops';
import { RAFT_BACKUP_GROUP } from './vault-raft';
import { IVault } from './vault';

export interface VaultBackupProps {
  /** The Vault whose claim the jobs apply to; the construct labels that claim. */
  readonly vault: IVault;

  /**
   * Longhorn's namespace, where RecurringJobs live.
   * @default 'longhorn-system'
   */
  readonly namespace?: string;

  /**
   * The name of the snapshot job (also its label on the claim): a DNS-1123 label of at most 40 characters.
   * @default 'vault-snapshot'
   */
  readonly snapshotName?: string;

  /**
   * When Longhorn snapshots the volume, five cron fields (in the Longhorn manager's time zone, usually UTC).
   * @default '0 * * * *' (hourly)
   */
  readonly snapshotSchedule?: string;

  /**
   * How many of the job's snapshots Longhorn keeps on the volume.
   * @default 24 (a day of hourly snapshots)
   */
  readonly snapshotRetain?: number;

  /**
   * The name of the backup job (also its label on the claim): a DNS-1123 label of at most 40 characters.
   * @default 'vault-backup'
   */
  readonly backupName?: string;

  /**
   * When Longhorn backs the volume up to the backup target, five cron fields (in the Longhorn manager's time zone).
   * @default '30 2 * * *' (daily at 02:30, away from the hourly snapshot)
   */
  readonly backupSchedule?: string;

  /**
   * How many of the job's backups Longhorn keeps on the backup target.
   * @default 30 (a month of daily backups)
   */
  readonly backupRetain?: number;
}

/** Longhorn keeps at most this many snapshots or backups per job (setting `recurring-job-max-retention`, default 100). */
const MAX_RETAIN = 100;
// longhorn-manager limits the names of the objects it creates to 40 characters (datastore NameMaximumLength), well
// under the 63 of a label key's name part, `recurring-job.longhorn.io/<job>`.
const MAX_JOB_NAME = 40;

const SOURCE_LABEL = 'recurring-job.longhorn.io/source';
const JOB_LABEL_PREFIX = 'recurring-job.longhorn.io/';

function checkProps(props: VaultBackupProps) {
  const namespace = checkDnsLabel('VaultBackup namespace', props.namespace ?? 'longhorn-system');
  const jobName = (prop: 'snapshotName' | 'backupName', fallback: string) => {
    const name = checkDnsLabel(`VaultBackup ${prop}`, props[prop] ?? fallback);
    if (name.length > MAX_JOB_NAME) invalid(`VaultBackup ${prop}`, name, `at most ${MAX_JOB_NAME} characters (Longhorn's limit for the names it creates)`);
    return name;
  };
  const jobs = [
    {
      name: jobName('snapshotName', 'vault-snapshot'),
      task: RecurringJobSpecTask.SNAPSHOT,
      cron: checkCron('VaultBackup snapshotSchedule', props.snapshotSchedule ?? '0 * * * *'),
      retain: checkInteger('VaultBackup snapshotRetain', props.snapshotRetain ?? 24, 1, MAX_RETAIN),
    },
    {
      name: jobName('backupName', 'vault-backup'),
      task: RecurringJobSpecTask.BACKUP,
      cron: checkCron('VaultBackup backupSchedule', props.backupSchedule ?? '30 2 * * *'),
      retain: checkInteger('VaultBackup backupRetain', props.backupRetain ?? 30, 1, MAX_RETAIN),
    },
  ];
  if (jobs[0].name === jobs[1].name) invalid('VaultBackup backupName', jobs[1].name, 'a name other than snapshotName');
  return { namespace, jobs };
}

/**
 * Longhorn RecurringJobs for Vault's claim: frequent local snapshots with short retention, to roll back a mistake of
 * the last day within seconds, and a daily backup to Longhorn's backup target (a NAS or S3 bucket, off the node) with
 * a month's retention, to survive the loss of the volume or the node. Vault's data is small (file storage of a few
 * MB), so a month of incremental daily backups costs little, and a month covers a mistake noticed late. Backups need
 * a backup target set in Longhorn; without one the backup job fails and only the snapshots are taken.
 *
 * The claim opts in with `recurring-job.longhorn.io/source: enabled` (Longhorn then copies the claim's job labels to
 * the volume, so the claim in Git is the source of truth) and one `recurring-job.longhorn.io/<job>: enabled` per job.
 * Per-job labels rather than a group: a group label would also apply any other RecurringJob that someone adds to that
 * group later, and these jobs have no group, so they never join Longhorn's `default` group, which Longhorn applies to
 * every volume without job labels. Exactly these jobs apply to this claim, and to nothing else.
 */
export class VaultBackup extends Construct {
  /** The names of the RecurringJobs, snapshot first. */
  public readonly jobNames: string[];

  constructor(scope: Construct, id: string, props: VaultBackupProps) {
    super(scope, id);
    const { namespace, jobs } = validating(this, () => checkProps(props));
    this.jobNames = jobs.map((job) => job.name);

    // "snapshot" and "backup" skip a run when the volume has no new data since the job's last one.
    for (const job of jobs) {
      new RecurringJob(this, job.name, {
        metadata: {
          name: job.name, namespace, annotations: crdObjectAnnotations(),
          labels: { 'app.kubernetes.io/name': 'vault', 'app.kubernetes.io/component': 'backup' },
        },
        spec: {
          name: job.name,
          task: job.task,
          cron: job.cron,
          retain: job.retain,
          // One volume: nothing to run in parallel.
          concurrency: 1,
          // No group, so the job applies only to volumes labelled with its name (see above); with Raft, the one group
          // every pod's claim carries from the StatefulSet's immutable template.
          groups: props.vault.storage === 'raft' ? [RAFT_BACKUP_GROUP] : [],
          // Written on each snapshot and backup, so Vault's are easy to tell apart on the backup target.
          labels: { 'app.kubernetes.io/name': 'vault' },
        },
      });
    }

    const claim = props.vault.claim?.metadata;
    claim?.addLabel(SOURCE_LABEL, 'enabled');
    for (const name of this.jobNames) claim?.addLabel(`${JOB_LABEL_PREFIX}${name}`, 'enabled');
  }
}
