import { Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRules, PrometheusRuleSpecGroupsRulesExpr } from '../imports/monitoring.coreos.com';
import { EsoRecoveryCron } from './eso-recovery-cron';
import { EsoStore } from './eso-store';
import { Alert, cronJobAlerts, selector, vaultNotReady } from './promql';
import { raftAlerts } from './vault-raft-alerts';
import { tlsAlerts } from './vault-tls-alerts';
import { UnsealCron } from './unseal-cron';
import { invalid, validating } from '../build/prop-error';
import { checkDnsLabel, checkDnsSubdomain, checkDocumentUrl, checkMetadataMap, checkPromDuration, promDurationSeconds } from './checks';
import { crdObjectAnnotations } from './gitops';
import { IVault } from './vault';

export interface VaultAlertsProps {
  /**
   * The namespace of the PrometheusRule (kube-prometheus-stack reads rules from every namespace by default).
   * @default 'monitoring'
   */
  readonly namespace?: string;

  /**
   * The PrometheusRule's name.
   * @default 'vault-alerts'
   */
  readonly name?: string;

  /**
   * The PrometheusRule's labels, which Prometheus selects rules by: kube-prometheus-stack's `ruleSelector` matches
   * `release: <its Helm release name>` unless told otherwise.
   * @default { release: 'kube-prometheus-stack' }
   */
  readonly labels?: Record<string, string>;

  /**
   * The web address of this project's alerts page, docs/alerts.md, such as
   * `https://git.example.com/homelab/homelab-secrets/src/branch/main/docs/alerts.md`: each alert gets a `runbook_url` of
   * this plus `#<alert name in lowercase>`, the anchor of its row in that page's alerts table.
   * @default - no `runbook_url`; a `runbook` annotation names docs/alerts.md and the anchor
   */
  readonly runbookBaseUrl?: string;

  /** The Vault: its namespace and StatefulSet are watched. */
  readonly vault: IVault;

  /** The EsoStore: its ClusterSecretStores, one per app namespace, are watched. */
  readonly store: EsoStore;

  /**
   * The UnsealCron: its CronJob is watched (failing, needing a human, suspended, not running).
   * @default - no auto-unseal alerts
   */
  readonly unseal?: UnsealCron;

  /**
   * The EsoRecoveryCron: its CronJob is watched (failing, suspended, not running).
   * @default - no ESO recovery alerts
   */
  readonly recovery?: EsoRecoveryCron;

  /**
   * VaultNotReady fires when Vault has been unready this long: longer than a reboot takes to reattach the Longhorn
   * volume (4 to 5 minutes here) and auto-unseal to unseal it (seconds).
   * @default '10m'
   */
  readonly notReadyFor?: string;

  /**
   * VaultAutoUnsealFailing fires when the auto-unseal Jobs have kept failing this long. Runs fail by design (exit 1)
   * while the volume reattaches after a reboot, so this is longer than that.
   * @default '10m'
   */
  readonly unsealFailingFor?: string;

  /**
   * VaultAutoUnsealNeedsHuman fires when auto-unseal's runs fail and none has succeeded for this long: the transient
   * causes (exit 1) clear within minutes, the ones that need a human (exit 2) never do. Longer than `unsealFailingFor`.
   * @default '30m'
   */
  readonly humanNeededAfter?: string;

  /**
   * EsoRecoveryNeedsHuman fires when the ESO recovery Jobs have kept failing this long.
   * @default '15m'
   */
  readonly recoveryFailingFor?: string;

  /**
   * The NotRunning alerts fire when a CronJob has neither succeeded nor failed for this long (it creates no Jobs).
   * @default '1h'
   */
  readonly notRunningAfter?: string;

  /**
   * The Suspended alerts fire when a CronJob has been suspended this long (for example left so after a restore).
   * @default '1h'
   */
  readonly suspendedFor?: string;

  /**
   * EsoStoreNotReady fires when one of the ClusterSecretStores has been unready this long: longer than a reboot,
   * auto-unseal and the recovery job's wake-up of ESO take together.
   * @default '15m'
   */
  readonly storeNotReadyFor?: string;

  /**
   * EsoExternalSecretNotSynced fires when an ExternalSecret has been unready this long: ESO backs off up to 7 minutes
   * per object, and a Secret that stays in sync except for a brief outage should not page.
   * @default '30m'
   */
  readonly secretNotSyncedFor?: string;

  /**
   * EsoStoreMetricsAbsent fires when Prometheus has had no ESO metric of one of the stores for this long (ESO down, the
   * store not synced, or ESO's metrics not scraped), since every ESO alert above is silent then.
   * @default '30m'
   */
  readonly metricsAbsentFor?: string;
}

const MINUTE = 60;
const DAY = 86400;

/**
 * The PrometheusRule `vault-alerts`: alerts an operator of this stack needs, from what kube-state-metrics and ESO's
 * controller export, each with a severity, a summary and description that say what is wrong, and a runbook (the
 * alerts table of docs/alerts.md says what to do).
 *
 * The metrics and label names it reads, and what kube-state-metrics cannot see, are in lib/promql.ts.
 *
 * Every aggregation keeps only the labels that identify the object, so that a restarted exporter or ESO pod does not
 * start a new series and reset the alert's `for`.
 */
export class VaultAlerts extends Construct {
  private readonly alerts: () => Alert[];

  constructor(scope: Construct, id: string, props: VaultAlertsProps) {
    super(scope, id);
    const { namespace, name, labels, runbookBaseUrl, alerts } = validating(this, () => checkProps(props));
    // The stores are made as AppSecrets register: the alerts on them are written when the app is synthesized.
    this.alerts = () => alerts(props.store.stores.map((s) => s.name).sort());

    const rules = (): PrometheusRuleSpecGroupsRules[] => this.alerts().map((a) => {
      const anchor = a.name.toLowerCase();
      return {
        alert: a.name,
        expr: PrometheusRuleSpecGroupsRulesExpr.fromString(a.expr),
        for: a.for,
        labels: { severity: a.severity },
        annotations: {
          summary: a.summary,
          description: a.description,
          ...(runbookBaseUrl ? { runbook_url: `${runbookBaseUrl}#${anchor}` } : { runbook: `docs/alerts.md#${anchor}` }),
        },
      };
    });

    new PrometheusRule(this, 'rule', {
      metadata: { name, namespace, labels: { ...labels }, annotations: crdObjectAnnotations() },
      spec: { groups: [{ name: 'vault-secrets', rules: Lazy.any({ produce: rules }) as unknown as PrometheusRuleSpecGroupsRules[] }] },
    });
  }

  /** The alerts' names, in the rule's order: those on the stores only once the EsoStore has a store. */
  public get alertNames(): string[] {
    return this.alerts().map((a) => a.name);
  }
}

/** A PromQL regular expression matching exactly these names (DNS names: only the dot is special). */
const anyOf = (names: string[]) => names.map((n) => n.replace(/\./g, '\\\\.')).join('|');

/** The labels kube-prometheus-stack's `ruleSelector` matches by default (its Helm release's name). */
export const DEFAULT_RULE_LABELS: Readonly<Record<string, string>> = { release: 'kube-prometheus-stack' };

/** Checks the props; returns the rule's metadata and its alerts, given the names of the stores. */
function checkProps(props: VaultAlertsProps) {
  const namespace = checkDnsLabel('VaultAlerts namespace', props.namespace ?? 'monitoring');
  const name = checkDnsSubdomain('VaultAlerts name', props.name ?? 'vault-alerts');
  const labels = props.labels ?? { ...DEFAULT_RULE_LABELS };
  checkMetadataMap('VaultAlerts labels', labels, true);
  const runbookBaseUrl = props.runbookBaseUrl === undefined ? undefined : checkDocumentUrl('VaultAlerts runbookBaseUrl', props.runbookBaseUrl);

  const { vault, unseal, recovery } = props;
  const vaultNamespace = vault.namespace;
  const statefulSetName = vault.statefulSetName;

  const duration = (prop: keyof VaultAlertsProps, fallback: string) =>
    checkPromDuration(`VaultAlerts ${prop}`, (props[prop] as string | undefined) ?? fallback, MINUTE, 30 * DAY);
  const notReadyFor = duration('notReadyFor', '10m');
  const unsealFailingFor = duration('unsealFailingFor', '10m');
  const humanNeededAfter = duration('humanNeededAfter', '30m');
  const recoveryFailingFor = duration('recoveryFailingFor', '15m');
  const notRunningAfter = duration('notRunningAfter', '1h');
  const suspendedFor = duration('suspendedFor', '1h');
  const storeNotReadyFor = duration('storeNotReadyFor', '15m');
  const secretNotSyncedFor = duration('secretNotSyncedFor', '30m');
  const metricsAbsentFor = duration('metricsAbsentFor', '30m');
  if (promDurationSeconds(humanNeededAfter) <= promDurationSeconds(unsealFailingFor)) {
    invalid('VaultAlerts humanNeededAfter', humanNeededAfter, `a duration longer than unsealFailingFor (${unsealFailingFor})`);
  }

  // With Raft, one pod down is a warning and a lost majority or no active node critical (lib/vault-raft-alerts.ts).
  const raft = vault.storage === 'raft'
    ? raftAlerts({ namespace: vaultNamespace, statefulSet: statefulSetName, activeService: vault.clientServiceName, for: notReadyFor })
    : undefined;
  // With TLS, an alert before Vault's certificate (or its CA) expires unrenewed (lib/vault-tls-alerts.ts).
  const tls = vault.tls
    ? tlsAlerts({ namespace: vaultNamespace, certificates: vault.tls.certificateNames, renewBeforeSeconds: vault.tls.renewBeforeSeconds })
    : [];
  const alerts = (storeNames: string[]): Alert[] => [
    ...(raft ?? [{
      name: 'VaultNotReady',
      severity: 'critical',
      expr: vaultNotReady(vaultNamespace, statefulSetName),
      for: notReadyFor,
      summary: `Vault has not been ready for ${notReadyFor}: it is sealed or down, and no Secret can be read or synced.`,
      description: `StatefulSet ${vaultNamespace}/${statefulSetName} has fewer ready pods than it wants. A sealed or `
        + 'uninitialized Vault fails its readiness probe, as does a pod that cannot start or mount its volume.'
        + (unseal ? ` Auto-unseal (${unseal.namespace}/${unseal.cronJobName}) should have unsealed it within minutes of a reboot.` : ''),
    }]),
    ...(unseal ? cronJobAlerts({
      prefix: 'VaultAutoUnseal',
      what: 'auto-unseal',
      namespace: unseal.namespace,
      cronJob: unseal.cronJobName,
      failing: {
        name: 'VaultAutoUnsealFailing',
        severity: 'warning',
        for: unsealFailingFor,
        summary: `Auto-unseal has failed for ${unsealFailingFor}: Vault stays sealed after a restart until it succeeds.`,
        description: `Every run of CronJob ${unseal.namespace}/${unseal.cronJobName} since its last success failed. While the `
          + 'volume reattaches after a reboot this is expected (exit 1, "not yet"); the Job\'s log line says why it failed.',
      },
      humanNeeded: {
        name: 'VaultAutoUnsealNeedsHuman',
        severity: 'critical',
        after: humanNeededAfter,
        summary: `Auto-unseal has not succeeded for ${humanNeededAfter} and its runs fail: a human is needed.`,
        description: `CronJob ${unseal.namespace}/${unseal.cronJobName} keeps failing long after a reattaching volume would `
          + 'have come back. Likely exit 2: Vault not initialized, the Secret of unseal shares missing, too few shares, '
          + 'or a share rejected. kube-state-metrics cannot see exit codes; the Job\'s log line names the cause.',
      },
      notRunningAfter,
      suspendedFor,
    }) : []),
    ...(recovery ? cronJobAlerts({
      prefix: 'EsoRecovery',
      what: 'ESO recovery',
      namespace: recovery.namespace,
      cronJob: recovery.cronJobName,
      failing: {
        name: 'EsoRecoveryNeedsHuman',
        severity: 'warning',
        for: recoveryFailingFor,
        summary: `ESO recovery has failed for ${recoveryFailingFor}: a human is needed to bring ESO back to the store.`,
        description: `Every run of CronJob ${recovery.namespace}/${recovery.cronJobName} since its last success failed. It `
          + 'fails (exit 2) on missing permissions, a malformed setting, or when ESO re-checked the store after the '
          + 'wake-up and it is still not ready; (exit 1) while Vault is unreachable, ESO\'s webhook is down or ESO does not '
          + 're-check the store. kube-state-metrics cannot see exit codes; the Job\'s log line names the cause.',
      },
      notRunningAfter,
      suspendedFor,
    }) : []),
    ...(storeNames.length === 0 ? [] : [{
      name: 'EsoStoreNotReady',
      severity: 'critical',
      expr: `max by (name) (${selector('clustersecretstore_status_condition', { condition: 'Ready', status: 'False' }, { name: anyOf(storeNames) })}) == 1`,
      for: storeNotReadyFor,
      summary: `ClusterSecretStore {{ $labels.name }} has not been ready for ${storeNotReadyFor}: its namespace's ExternalSecrets cannot read Vault.`,
      description: 'ESO reports the store {{ $labels.name }} Ready=False: Vault is sealed or unreachable, or ESO cannot log '
        + 'in (the store\'s Kubernetes auth role, its policy, or the ServiceAccount). Secrets already synced stay as they are.',
    } as Alert]),
    {
      name: 'EsoExternalSecretNotSynced',
      severity: 'warning',
      expr: 'max by (name, namespace, exported_namespace) '
        + `(${selector('externalsecret_status_condition', { condition: 'Ready', status: 'False' })}) == 1`,
      for: secretNotSyncedFor,
      summary: `ExternalSecret {{ $labels.name }} has not synced for ${secretNotSyncedFor}: its Secret may be missing or stale.`,
      description: 'ESO reports ExternalSecret {{ with $labels.exported_namespace }}{{ . }}{{ else }}{{ $labels.namespace }}'
        + '{{ end }}/{{ $labels.name }} Ready=False: the store is not ready, or the path or key it reads is missing in Vault.',
    },
    ...(storeNames.length === 0 ? [] : [{
      name: 'EsoStoreMetricsAbsent',
      severity: 'warning',
      // One absent() per store: absent() of a regular expression would stay silent while any one store is exported.
      expr: storeNames.map((n) => `absent(${selector('clustersecretstore_status_condition', { name: n, condition: 'Ready' })})`).join('\nor\n'),
      for: metricsAbsentFor,
      summary: `No ESO metrics for ClusterSecretStore {{ $labels.name }} for ${metricsAbsentFor}: the ESO alerts cannot fire for it.`,
      description: 'Prometheus has no clustersecretstore_status_condition series for the store: ESO is down, the store '
        + 'does not exist, or ESO\'s metrics are not scraped (its Helm value serviceMonitor.enabled).',
    } as Alert]),
    ...tls,
  ];
  return { namespace, name, labels, runbookBaseUrl, alerts };
}
