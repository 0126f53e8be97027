import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { checkCron, checkDnsLabel, checkInteger, checkPinnedImage, checkQuantity, invalid } from './validate';

/** A small official Node.js image, pinned; the scripts need only Node.js 20 or later. */
export const NODE_IMAGE = 'node:24.11.0-alpine3.22';

/** Kills a run that overruns, before the next minute's schedule. */
export const ACTIVE_DEADLINE_SECONDS = 55;

/** Props shared by the CronJobs that run a bundled runtime script. */
export interface ScriptCronJobOptions {
  /**
   * The namespace of the CronJob.
   * @default 'security'
   */
  readonly namespace?: string;
  /**
   * The Node.js image that runs the script, pinned to a version tag or digest.
   * @default 'node:24.11.0-alpine3.22'
   */
  readonly image?: string;
  /**
   * The CronJob's schedule, five cron fields.
   * @default '* * * * *' (every minute)
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
   * @default 40
   */
  readonly retryWindowSeconds?: number;
  /**
   * The pause between attempts inside the window, in seconds (`RETRY_INTERVAL_SECONDS`).
   * @default 3
   */
  readonly retryIntervalSeconds?: number;
  /**
   * CPU requested by the container.
   * @default '10m'
   */
  readonly cpuRequest?: string;
  /**
   * CPU limit of the container.
   * @default '100m'
   */
  readonly cpuLimit?: string;
  /**
   * Memory requested by the container.
   * @default '48Mi'
   */
  readonly memoryRequest?: string;
  /**
   * Memory limit of the container.
   * @default '96Mi'
   */
  readonly memoryLimit?: string;
}

export interface ScriptCronJobProps extends ScriptCronJobOptions {
  /** The CronJob's name; the script's ConfigMap is `<name>-script`. */
  readonly name: string;
  /** The construct that owns these props, for error messages (`UnsealCron`). */
  readonly owner: string;
  /** The bundled script. */
  readonly script: string;
  /** Environment variables of the script, beyond the retry settings. */
  readonly env: Record<string, string>;
  /** The ServiceAccount to run as, with its token mounted; without one the pod gets no API token at all. */
  readonly serviceAccountName?: string;
  /** Extra read-only volumes, mounted at their `mountPath`. */
  readonly volumes?: Array<{ volume: k8s.Volume; mountPath: string }>;
}

const SCRIPT_DIR = '/opt/script';

/**
 * A CronJob that runs a bundled runtime script from a ConfigMap with a pinned Node.js image: no overlapping runs, a
 * deadline under a minute, bounded history, small resources, and a locked-down, non-root container.
 */
export class ScriptCronJob extends Construct {
  constructor(scope: Construct, id: string, props: ScriptCronJobProps) {
    super(scope, id);
    const p = props.owner;
    const namespace = checkDnsLabel(`${p} namespace`, props.namespace ?? 'security');
    const image = checkPinnedImage(`${p} image`, props.image ?? NODE_IMAGE);
    const schedule = checkCron(`${p} schedule`, props.schedule ?? '* * * * *');
    const timeout = checkInteger(`${p} timeoutSeconds`, props.timeoutSeconds ?? 5, 1, 20);
    const window = checkInteger(`${p} retryWindowSeconds`, props.retryWindowSeconds ?? 40, 0, 50);
    const interval = checkInteger(`${p} retryIntervalSeconds`, props.retryIntervalSeconds ?? 3, 1, 30);
    if (window + 2 * timeout > 50) {
      invalid(`${p} retryWindowSeconds`, window, `at most ${50 - 2 * timeout} with timeoutSeconds ${timeout} (window plus two timeouts within 50 s)`);
    }
    const quantity = (prop: 'cpuRequest' | 'cpuLimit' | 'memoryRequest' | 'memoryLimit', fallback: string) =>
      k8s.Quantity.fromString(checkQuantity(`${p} ${prop}`, props[prop] ?? fallback));
    const scriptFile = `${props.name}.js`;
    const configMapName = `${props.name}-script`;
    const labels = { 'app.kubernetes.io/name': props.name, 'app.kubernetes.io/component': 'cronjob' };

    new k8s.KubeConfigMap(this, 'script', {
      metadata: { name: configMapName, namespace, labels },
      data: { [scriptFile]: props.script },
    });

    const env = { ...props.env, VAULT_TIMEOUT_SECONDS: String(timeout), RETRY_WINDOW_SECONDS: String(window), RETRY_INTERVAL_SECONDS: String(interval) };
    const extra = props.volumes ?? [];
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
            activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS,
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
                  resources: {
                    requests: { cpu: quantity('cpuRequest', '10m'), memory: quantity('memoryRequest', '48Mi') },
                    limits: { cpu: quantity('cpuLimit', '100m'), memory: quantity('memoryLimit', '96Mi') },
                  },
                  securityContext: {
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    runAsNonRoot: true,
                    capabilities: { drop: ['ALL'] },
                  },
                  volumeMounts: [
                    { name: 'script', mountPath: SCRIPT_DIR, readOnly: true },
                    ...extra.map((v) => ({ name: v.volume.name, mountPath: v.mountPath, readOnly: true })),
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
