import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { DEFAULTS, ENV } from '../runtime/common/variables';
import { invalid } from '../build/prop-error';
import { checkCron, checkDnsLabel, checkInteger, checkPinnedImage, checkQuantity } from './checks';
import { IVault } from './vault';

/** A small official Node.js image, pinned; the scripts need only Node.js 20 or later. */
export const NODE_IMAGE = 'node:24.11.0-alpine3.22';

/** The script's own deadline: it stops cleanly, saying where it was, before Kubernetes kills it. */
const RUN_DEADLINE_SECONDS = DEFAULTS.runDeadlineSeconds;

/** Kills a run that overruns, before the next minute's schedule. */
export const ACTIVE_DEADLINE_SECONDS = RUN_DEADLINE_SECONDS + 5;

/** Props shared by the CronJobs that run a bundled runtime script. */
export interface ScriptCronJobOptions {
  /**
   * The namespace of the CronJob.
   * @default - the VaultStack's namespace, whose Secret holds the CA a job trusts when Vault serves TLS
   */
  readonly namespace?: string;
  /**
   * The Node.js image that runs the script, pinned to a version tag or digest.
   * @default 'node:24.11.0-alpine3.22'
   */
  readonly image?: string;
  /**
   * The CronJob's schedule, five cron fields.
   * @default '* * * * *' (every minute; VaultSnapshotCron: '15 * * * *')
   */
  readonly schedule?: string;
  /**
   * The bound on every connection and HTTP call, in seconds (`VAULT_TIMEOUT_SECONDS`).
   * @default 5
   */
  readonly timeoutSeconds?: number;
  /**
   * How long one run keeps trying, in seconds (`RETRY_WINDOW_SECONDS`); 0 makes a single attempt. The window plus two
   * timeouts must fit in 50 s, so that a run ends before its 55 s deadline and the next minute's schedule.
   * @default 40 (VaultSnapshotCron: 60)
   */
  readonly retryWindowSeconds?: number;
  /**
   * The pause between attempts inside the window, in seconds (`RETRY_INTERVAL_SECONDS`).
   * @default 3 (VaultSnapshotCron: 10)
   */
  readonly retryIntervalSeconds?: number;
  /**
   * CPU requested by the container.
   * @default '10m'
   */
  readonly cpuRequest?: string;
  /**
   * CPU limit of the container.
   * @default '100m' (VaultSnapshotCron: '500m')
   */
  readonly cpuLimit?: string;
  /**
   * Memory requested by the container.
   * @default '48Mi' (VaultSnapshotCron: '64Mi')
   */
  readonly memoryRequest?: string;
  /**
   * Memory limit of the container.
   * @default '96Mi' (VaultSnapshotCron: '160Mi')
   */
  readonly memoryLimit?: string;
}

/**
 * What a construct running a longer script (a snapshot, not a minute's check) changes in the defaults of
 * ScriptCronJobOptions, and its Job's deadline.
 */
export interface ScriptDefaults {
  /** The Job's deadline; the script's own is 5 s shorter. */
  readonly activeDeadlineSeconds?: number;
  readonly schedule?: string;
  readonly retryWindowSeconds?: number;
  readonly retryIntervalSeconds?: number;
  readonly cpuLimit?: string;
  readonly memoryRequest?: string;
  readonly memoryLimit?: string;
}

/** ScriptCronJobOptions, checked and with their defaults. */
export interface ScriptSettings {
  /** The Job's deadline, in seconds; absent: 55. */
  readonly activeDeadlineSeconds?: number;
  readonly namespace: string;
  readonly image: string;
  readonly schedule: string;
  readonly timeoutSeconds: number;
  readonly retryWindowSeconds: number;
  readonly retryIntervalSeconds: number;
  readonly resources: k8s.ResourceRequirements;
}

/** Checks the options of a construct (`owner`, such as "UnsealCron") that runs a script; `namespace` may default. */
export function checkScriptOptions(owner: string, props: ScriptCronJobOptions, defaultNamespace: string = DEFAULTS.namespace, defaults: ScriptDefaults = {}): ScriptSettings {
  const runDeadline = defaults.activeDeadlineSeconds === undefined ? RUN_DEADLINE_SECONDS : defaults.activeDeadlineSeconds - 5;
  const schedule = checkCron(`${owner} schedule`, props.schedule ?? defaults.schedule ?? '* * * * *');
  const timeout = checkInteger(`${owner} timeoutSeconds`, props.timeoutSeconds ?? DEFAULTS.timeoutSeconds, 1, 20);
  const window = checkInteger(`${owner} retryWindowSeconds`, props.retryWindowSeconds ?? defaults.retryWindowSeconds ?? DEFAULTS.retryWindowSeconds, 0, runDeadline);
  const interval = checkInteger(`${owner} retryIntervalSeconds`, props.retryIntervalSeconds ?? defaults.retryIntervalSeconds ?? DEFAULTS.retryIntervalSeconds, 1, 30);
  if (window + 2 * timeout > runDeadline) {
    invalid(`${owner} retryWindowSeconds`, window, `at most ${runDeadline - 2 * timeout} with timeoutSeconds ${timeout} (window plus two timeouts within ${runDeadline} s)`);
  }
  const quantity = (prop: 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit', fallback: string) =>
    k8s.Quantity.fromString(checkQuantity(`${owner} ${prop}`, props[prop] ?? (defaults as Record<string, string | undefined>)[prop] ?? fallback));
  return {
    ...(defaults.activeDeadlineSeconds === undefined ? {} : { activeDeadlineSeconds: defaults.activeDeadlineSeconds }),
    namespace: checkDnsLabel(`${owner} namespace`, props.namespace ?? defaultNamespace),
    image: checkPinnedImage(`${owner} image`, props.image ?? NODE_IMAGE),
    schedule,
    timeoutSeconds: timeout,
    retryWindowSeconds: window,
    retryIntervalSeconds: interval,
    resources: {
      requests: { cpu: quantity('cpuRequest', '10m'), memory: quantity('memoryRequest', '48Mi') },
      limits: { cpu: quantity('cpuLimit', '100m'), memory: quantity('memoryLimit', '96Mi') },
    },
  };
}

export interface ScriptCronJobProps {
  /** The checked options (`checkScriptOptions`). */
  readonly settings: ScriptSettings;
  /** The CronJob's name; the script's ConfigMap is `<name>-script`. */
  readonly name: string;
  /** The bundled script. */
  readonly script: string;
  /** Environment variables of the script, beyond the retry settings and Vault's address. */
  readonly env: Record<string, string>;
  /**
   * The Vault the script talks to: `VAULT_ADDR` is its Service's URL, and when it serves TLS the job mounts its CA
   * certificate only (`ca.crt`, named by `VAULT_CACERT`) and trusts that CA alone.
   */
  readonly vault: IVault;
  /** The ServiceAccount to run as, with its token mounted; without one the pod gets no API token at all. */
  readonly serviceAccountName?: string;
  /** Extra volumes, mounted at their `mountPath`, read-only unless `writable`. */
  readonly volumes?: Array<{ volume: k8s.Volume; mountPath: string; writable?: boolean }>;
}

const SCRIPT_DIR = '/opt/script';
/** Where a job mounts Vault's CA certificate: `VAULT_CACERT` names the file in it. */
export const VAULT_CA_DIR = '/vault/ca';

/**
 * Refuses a job that talks to a TLS Vault from another namespace: it mounts the CA from a Secret of Vault's
 * namespace, and a pod mounts Secrets of its own namespace only.
 */
export function checkVaultCa(owner: string, namespace: string, vault: IVault): void {
  if (vault.tls && namespace !== vault.namespace) {
    invalid(`${owner} namespace`, namespace, `Vault's namespace "${vault.namespace}" while Vault serves TLS: the job mounts its CA from the Secret ${vault.tls.caSecretName} there (a pod mounts Secrets of its own namespace only)`);
  }
}

/** What a job needs to talk to `vault`: its address, and with TLS its CA, mounted alone, and the file's name. */
function vaultClient(vault: IVault): { env: Record<string, string>; volumes: Array<{ volume: k8s.Volume; mountPath: string }> } {
  if (!vault.tls) return { env: { [ENV.vaultAddr]: vault.serviceUrl }, volumes: [] };
  const { caSecretName, caKey } = vault.tls;
  return {
    env: { [ENV.vaultAddr]: vault.serviceUrl, [ENV.vaultCaCert]: `${VAULT_CA_DIR}/${caKey}` },
    // Only the CA certificate: the Secret also holds Vault's private key, which the job never sees. A folder, not a
    // subPath, so that a renewed CA certificate reaches a job's later runs.
    volumes: [{ mountPath: VAULT_CA_DIR, volume: { name: 'vault-ca', secret: { secretName: caSecretName, defaultMode: 0o444, items: [{ key: caKey, path: caKey }] } } }],
  };
}

/**
 * A CronJob that runs a bundled runtime script from a ConfigMap with a pinned Node.js image: no overlapping runs, a
 * deadline under a minute, bounded history, small resources, and a locked-down, non-root container. Its owner checks
 * the options (`checkScriptOptions`), once.
 */
export class ScriptCronJob extends Construct {
  /** The labels of the job's pods. */
  public readonly podLabels: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ScriptCronJobProps) {
    super(scope, id);
    const { namespace, image, schedule, timeoutSeconds, retryWindowSeconds, retryIntervalSeconds, resources } = props.settings;
    const activeDeadlineSeconds = props.settings.activeDeadlineSeconds ?? ACTIVE_DEADLINE_SECONDS;
    const scriptFile = `${props.name}.js`;
    const configMapName = `${props.name}-script`;
    const labels = { 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/component': 'cronjob' };
    this.podLabels = labels;

    new k8s.KubeConfigMap(this, 'script', {
      metadata: { name: configMapName, namespace, labels },
      data: { [scriptFile]: props.script },
    });

    const client = vaultClient(props.vault);
    const env = {
      ...client.env,
      ...props.env,
      [ENV.timeoutSeconds]: String(timeoutSeconds),
      [ENV.retryWindowSeconds]: String(retryWindowSeconds),
      [ENV.retryIntervalSeconds]: String(retryIntervalSeconds),
      [ENV.runDeadlineSeconds]: String(activeDeadlineSeconds - 5),
    };
    const extra: Array<{ volume: k8s.Volume; mountPath: string; writable?: boolean }> = [...client.volumes, ...(props.volumes ?? [])];
    new k8s.KubeCronJob(this, 'cronjob', {
      metadata: { name: props.name, namespace, labels },
      spec: {
        schedule,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 30,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            // A failed run is retried by the next schedule, not by the Job.
            backoffLimit: 0,
            activeDeadlineSeconds,
            template: {
              metadata: { labels },
              spec: {
                restartPolicy: 'Never',
                serviceAccountName: props.serviceAccountName,
                automountServiceAccountToken: props.serviceAccountName !== undefined,
                enableServiceLinks: false,
                securityContext: {
                  runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000,
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                containers: [{
                  name: props.name,
                  image,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['node', `${SCRIPT_DIR}/${scriptFile}`],
                  env: Object.entries(env).map(([name, value]) => ({ name, value })),
                  resources,
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [
                    { name: 'script', mountPath: SCRIPT_DIR, readOnly: true },
                    ...extra.map((v) => ({ name: v.volume.name, mountPath: v.mountPath, readOnly: !v.writable })),
                  ],
                }],
                volumes: [
                  { name: 'script', configMap: { name: configMapName, defaultMode: 0o444 } },
                  ...extra.map((v) => v.volume),
                ],
              },
            },
          },
        },
      },
    });
  }
}
