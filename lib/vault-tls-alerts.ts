// The alerts on Vault's certificates (VaultAlerts adds them when Vault serves TLS). VaultCertificateNotReady fires when
// cert-manager has reported one of them not Ready for 15 minutes (`certmanager_certificate_ready_status`, 1 on the
// condition's current status: "True" at 0 means False, Unknown or no condition yet): not issued, or not renewed, and a
// CronJob whose CA Secret is missing waits in ContainerCreating rather than failing. VaultCertificateExpiring fires when one
// of them (Vault's own, or its CA) has less than half its renewal window left, i.e. cert-manager has failed to renew it
// for that long; when it expires, every client refuses Vault. From cert-manager's
// `certmanager_certificate_expiration_timestamp_seconds` {name, namespace, issuer_name, issuer_kind, issuer_group}
// (pkg/metrics/certificates.go), which is 0 until the Certificate is first issued (so only values above 0 count). The
// metric's `namespace` label collides with the scrape target's (cert-manager's) and arrives as `exported_namespace`
// unless the ServiceMonitor honours labels, so the rule reads both. No series (cert-manager not scraped, TLS off):
// no alert, never a false one.
import { Alert, selector } from './promql';

export interface TlsAlertsOptions {
  /** Vault's namespace, where its Certificates are. */
  readonly namespace: string;
  readonly certificates: readonly string[];
  /** How long before expiry cert-manager renews, in seconds: the alert fires at half of it. */
  readonly renewBeforeSeconds: number;
}

const METRIC = 'certmanager_certificate_expiration_timestamp_seconds';
const READY = 'certmanager_certificate_ready_status';

export function tlsAlerts(o: TlsAlertsOptions): Alert[] {
  const names = { name: o.certificates.join('|') };
  const threshold = Math.floor(o.renewBeforeSeconds / 2);
  const days = Math.round((threshold / 86400) * 10) / 10;
  const expiry = [
    'min by (name) (',
    `  ${selector(METRIC, { exported_namespace: o.namespace }, names)} > 0`,
    '  or',
    `  ${selector(METRIC, { namespace: o.namespace }, names)} > 0`,
    ')',
  ].join('\n');
  const ready = [
    'max by (name) (',
    `  ${selector(READY, { exported_namespace: o.namespace, condition: 'True' }, names)}`,
    '  or',
    `  ${selector(READY, { namespace: o.namespace, condition: 'True' }, names)}`,
    ') == 0',
  ].join('\n');
  return [{
    name: 'VaultCertificateNotReady',
    severity: 'critical',
    expr: ready,
    for: '15m',
    summary: `Vault's certificate {{ $labels.name }} has not been Ready for 15 minutes: cert-manager cannot issue or renew it.`,
    description: `Certificate ${o.namespace}/{{ $labels.name }} is not Ready. Until it is, a Vault pod or a CronJob that mounts its `
      + 'Secret waits in ContainerCreating (a first issue), or Vault serves the old certificate until it expires (a renewal). '
      + `\`kubectl -n ${o.namespace} describe certificate {{ $labels.name }}\` and its CertificateRequest say why.`,
  }, {
    name: 'VaultCertificateExpiring',
    severity: 'critical',
    expr: `${expiry}\n  - time() < ${threshold}`,
    for: '1h',
    summary: `Vault's certificate {{ $labels.name }} expires in less than ${days} days: cert-manager has not renewed it.`,
    description: `Certificate ${o.namespace}/{{ $labels.name }} should have been renewed ${o.renewBeforeSeconds / 86400} days before `
      + 'its expiry. When it expires, ESO, the CronJobs, the UI\'s proxy and the Raft peers refuse Vault. '
      + `\`kubectl -n ${o.namespace} describe certificate {{ $labels.name }}\` and its CertificateRequest say why.`,
  }];
}
