import { join, posix } from 'path';
import { addFile } from '../build/summary';
import { App, Chart } from 'cdk8s';
import { invalid } from '../build/prop-error';
import { EsoRecoveryAdmission } from './eso-recovery-admission';
import { EsoRecoveryCron } from './eso-recovery-cron';
import { EsoStore, EsoStoreProps } from './eso-store';
import { UnsealCron } from './unseal-cron';
import { VaultBootstrap, VaultBootstrapProps } from './vault-bootstrap';
import { VaultBootstrapAlerts } from './vault-bootstrap-alerts';
import { VaultAlerts, VaultAlertsProps } from './vault-alerts';
import { VaultBackup, VaultBackupProps } from './vault-backup';
import { raftMigrationRunbook } from './raft-migration-runbook';
import { VaultRaftMigration } from './vault-raft-migration';
import { VaultSnapshotAlerts } from './vault-snapshot-alerts';
import { VaultSnapshotCron, VaultSnapshotCronProps } from './vault-snapshot-cron';
import { VaultNginxIngress, VaultNginxIngressProps } from './vault-nginx-ingress';
import { VaultStack } from './vault-stack';
import { VaultTelemetry, VaultTelemetryProps } from './vault-telemetry';
import { VaultStackProps } from './vault-stack-props';

// The homelab's composition, shared by main.ts and every example: each says only what differs (its site values, the
// storage, how the UI is exposed, its app secrets), and a fix to the composition lands once.

/** What one homelab says about its Vault and ESO: everything else is the constructs' defaults. */
export interface HomelabProps {
  /** Vault: its host, namespace, storage and claim (see VaultStack). */
  readonly vault: VaultStackProps;

  /**
   * The UI through ingress-nginx (VaultNginxIngress), beside Vault in dist/vault: it needs no CRD. Traefik's and
   * Gateway API's exposures need theirs, so they go in a folder of their own (`folder('ui')`), made by the app.
   * @default - none
   */
  readonly ingressNginx?: Omit<VaultNginxIngressProps, 'vault'>;

  /**
   * ESO's side of the store (see EsoStore), such as ESO's namespace.
   * @default - EsoStore's defaults
   */
  readonly store?: Omit<EsoStoreProps, 'vault'>;

  /**
   * Longhorn's snapshots and backups of Vault's claims (VaultBackup) in dist/vault; `false` on a cluster without
   * Longhorn's RecurringJob CRD.
   * @default - VaultBackup's defaults
   */
  readonly backup?: Omit<VaultBackupProps, 'vault'> | false;

  /**
   * The alerts (VaultAlerts, and VaultSnapshotAlerts with Raft snapshots) in dist/alerts; `false` on a cluster without
   * prometheus-operator's CRDs.
   * @default - VaultAlerts' defaults
   */
  readonly alerts?: Omit<VaultAlertsProps, 'vault' | 'store' | 'unseal' | 'recovery'> | false;

  /**
   * Vault's own Raft snapshots, hourly (VaultSnapshotCron) in dist/vault: Raft storage only.
   * @default - with storage 'raft', VaultSnapshotCron's defaults; none with file storage
   */
  readonly snapshots?: Omit<VaultSnapshotCronProps, 'vault'> | false;

  /**
   * Vault's own telemetry (VaultTelemetry) in dist/alerts: Prometheus scrapes Vault's metrics, two alerts watch
   * autopilot's health and failure tolerance.
   * @default - none
   */
  readonly telemetry?: Omit<VaultTelemetryProps, 'vault'>;

  /**
   * The admission policy that lets the recovery job change nothing but its wake-up annotation (EsoRecoveryAdmission), in
   * dist/admission: Kubernetes 1.30 or later. `false` on 1.28–1.29, whose jobs are then held by RBAC alone (see
   * docs/eso-recovery.md).
   * @default true
   */
  readonly admissionPolicies?: boolean;

  /**
   * Zero-touch bootstrap (VaultBootstrap) in dist/vault: a CronJob that initializes an empty Vault, stores and escrows
   * the shares, configures Vault as dist/ declares with a root token it then revokes, and keeps Vault so.
   * @default - none: a human initializes Vault and runs `npm run vault-setup -- apply`
   */
  readonly bootstrap?: Omit<VaultBootstrapProps, 'vault' | 'unseal' | 'declaredBy'>;
}

/** The homelab's constructs, and its folders of dist/ (one cdk8s App each, which GitOps syncs on its own). */
export interface Homelab {
  /** The folders of dist/, in the order they were made, those made later by `folder` included: what `buildApps` returns. */
  readonly apps: App[];
  readonly vault: VaultStack;
  readonly store: EsoStore;
  readonly unseal: UnsealCron;
  readonly recovery: EsoRecoveryCron;
  readonly snapshots?: VaultSnapshotCron;
  readonly bootstrap?: VaultBootstrap;
  /** The chart of dist/apps: each AppSecret is made in it. */
  readonly secrets: Chart;
  /** A folder of dist/ of its own, made once, such as `ui` for the UI's route and its allowlist. */
  folder(name: string): App;
}

/**
 * The homelab, as one cdk8s App per folder of `outdir`: `vault` (Vault, its auto-unseal, ESO's recovery, the backups
 * and snapshots: no CRD but Longhorn's, and cert-manager's with TLS), `eso` (the store: ESO's CRDs), `admission` (the
 * recovery job's admission policy: Kubernetes 1.30), `alerts` (prometheus-operator's CRDs) and `apps` (the
 * ExternalSecrets: the apps' namespaces). GitOps syncs each folder on its own, so a missing CRD, API or app namespace
 * holds back only its folder (see docs/from-zero.md, "Point GitOps at dist/").
 */
export function homelab(outdir: string, props: HomelabProps): Homelab {
  // One array, shared with the caller: a folder made after homelab() returns is in it too.
  const apps: App[] = [];
  const byName = new Map<string, App>();
  const folder = (name: string) => {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) invalid('homelab folder', name, 'a lowercase folder name such as "ui"');
    if (!byName.has(name)) {
      byName.set(name, new App({ outdir: join(outdir, name) }));
      apps.push(byName.get(name)!);
    }
    return byName.get(name)!;
  };

  const core = folder('vault');
  const vaultChart = new Chart(core, 'vault');
  const vault = new VaultStack(vaultChart, 'vault', props.vault);
  if (props.ingressNginx) new VaultNginxIngress(vaultChart, 'ingress', { ...props.ingressNginx, vault });
  const unseal = new UnsealCron(new Chart(core, 'vault-unseal'), 'vault-unseal', { vault });
  const store = new EsoStore(new Chart(folder('eso'), 'eso-store'), 'eso-store', { ...props.store, vault });
  const recovery = new EsoRecoveryCron(new Chart(core, 'eso-recovery'), 'eso-recovery', { vault, store });
  if (props.admissionPolicies !== false) new EsoRecoveryAdmission(new Chart(folder('admission'), 'eso-recovery-admission'), 'eso-recovery-admission', { recovery });
  if (props.backup !== false) new VaultBackup(new Chart(core, 'vault-backup'), 'vault-backup', { ...props.backup, vault });
  if (props.snapshots && vault.storage !== 'raft') invalid('homelab snapshots', props.snapshots, 'false or nothing with file storage: Raft snapshots need storage "raft"');
  const snapshots = props.snapshots === false || vault.storage !== 'raft' ? undefined
    : new VaultSnapshotCron(new Chart(core, 'vault-raft-snapshot'), 'vault-raft-snapshot', { ...props.snapshots, vault });
  if (props.alerts !== false) {
    const alerts = folder('alerts');
    new VaultAlerts(new Chart(alerts, 'vault-alerts'), 'vault-alerts', { ...props.alerts, vault, store, unseal, recovery });
    if (snapshots) new VaultSnapshotAlerts(new Chart(alerts, 'vault-snapshot-alerts'), 'vault-snapshot-alerts', { snapshots });
  }
  if (props.telemetry) new VaultTelemetry(new Chart(folder('alerts'), 'vault-telemetry'), 'vault-telemetry', { ...props.telemetry, vault });
  const secrets = new Chart(folder('apps'), 'app-secrets');
  // Its plan is derived from every folder, those made after this call included (the array is shared).
  const bootstrap = props.bootstrap && new VaultBootstrap(new Chart(core, 'vault-bootstrap'), 'vault-bootstrap', { ...props.bootstrap, vault, unseal, declaredBy: apps });
  if (bootstrap && props.alerts !== false) new VaultBootstrapAlerts(new Chart(folder('alerts'), 'vault-bootstrap-alerts'), 'vault-bootstrap-alerts', { bootstrap });
  return { apps, vault, store, unseal, recovery, snapshots, bootstrap, secrets, folder };
}

/**
 * The one-off objects that move a file-storage Vault's data to the Raft Vault of `props` (VaultRaftMigration), as one
 * App at `outdir`: a folder beside dist/, never inside it, where GitOps would run the migration on every sync. The
 * Raft VaultStack is built from the same props as dist/'s, in an App that is never synthesized, so pod 0's claim,
 * node id and cluster address cannot drift from it; the runbook (RUNBOOK.md) is written beside the manifests.
 */
export function homelabMigration(outdir: string, props: HomelabProps, sourceClaimName: string): App[] {
  const { vault, store, unseal, recovery } = homelab(join(outdir, '.unused'), props);
  const app = new App({ outdir });
  const migration = new VaultRaftMigration(new Chart(app, 'migration'), 'migration', { vault, sourceClaimName });
  addFile(app, 'RUNBOOK.md', (folder) => raftMigrationRunbook({
    namespace: vault.namespace,
    sourceClaim: sourceClaimName,
    statefulSet: vault.statefulSetName,
    pods: vault.podNames,
    podClaim: vault.raftClaim!.name,
    job: migration.jobName,
    // The file storage's app runs these two; the Raft one's snapshot job starts after the move.
    cronJobs: [unseal, recovery].map((job) => ({ name: job.cronJobName, namespace: job.namespace })),
    activeService: vault.clientServiceName,
    port: vault.port,
    tls: vault.tls && { caSecret: vault.tls.caSecretName, caKey: vault.tls.caKey },
    kvPath: store.path,
    dist: posix.join(posix.dirname(folder), 'dist'),
    migration: folder,
  }));
  return [app];
}
