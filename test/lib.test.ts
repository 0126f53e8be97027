import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/lib/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'lib'), {
  'app-secret': () => require('./lib/app-secret.cases'),
  'checks': () => require('./lib/checks.cases'),
  'egress-policy': () => require('./lib/egress-policy.cases'),
  'eso-recovery-admission': () => require('./lib/eso-recovery-admission.cases'),
  'eso-recovery-cron': () => require('./lib/eso-recovery-cron.cases'),
  'eso-store': () => require('./lib/eso-store.cases'),
  'homelab': () => require('./lib/homelab.cases'),
  'script-cron-job': () => require('./lib/script-cron-job.cases'),
  'ui-backend-tls': () => require('./lib/ui-backend-tls.cases'),
  'unseal-cron': () => require('./lib/unseal-cron.cases'),
  'unseal-cron-pods': () => require('./lib/unseal-cron-pods.cases'),
  'vault-alerts': () => require('./lib/vault-alerts.cases'),
  'vault-backup': () => require('./lib/vault-backup.cases'),
  'vault-bootstrap': () => require('./lib/vault-bootstrap.cases'),
  'vault-http-route': () => require('./lib/vault-http-route.cases'),
  'vault-network-policy': () => require('./lib/vault-network-policy.cases'),
  'vault-raft': () => require('./lib/vault-raft.cases'),
  'vault-raft-alerts': () => require('./lib/vault-raft-alerts.cases'),
  'vault-raft-migration': () => require('./lib/vault-raft-migration.cases'),
  'vault-snapshot-alerts': () => require('./lib/vault-snapshot-alerts.cases'),
  'vault-snapshot-cron': () => require('./lib/vault-snapshot-cron.cases'),
  'vault-stack': () => require('./lib/vault-stack.cases'),
  'vault-nginx-ingress': () => require('./lib/vault-nginx-ingress.cases'),
  'vault-telemetry': () => require('./lib/vault-telemetry.cases'),
  'vault-tls': () => require('./lib/vault-tls.cases'),
  'vault-traefik-ingress': () => require('./lib/vault-traefik-ingress.cases'),
});
