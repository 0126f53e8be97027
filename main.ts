import { rmSync } from 'fs';
import { App, Chart } from 'cdk8s';
import { AppSecret, EsoRecoveryCron, EsoStore, UnsealCron, VaultStack } from './lib';
import { VaultAlerts, VaultBackup } from './lib';

/**
 * The homelab: one chart per concern, each written to `dist/<chart>.k8s.yaml`. Every construct checks its props when it
 * is created, so a wrong prop throws here, before anything is written.
 */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  const vault = new VaultStack(new Chart(app, 'vault'), 'vault');
  new UnsealCron(new Chart(app, 'vault-unseal'), 'vault-unseal', { vault });
  const store = new EsoStore(new Chart(app, 'eso-store'), 'eso-store', { vault });
  new EsoRecoveryCron(new Chart(app, 'eso-recovery'), 'eso-recovery', { vault, store });
  // Each needs its operator's CRD: drop the line on a cluster without Longhorn's RecurringJob or prometheus-operator.
  new VaultBackup(new Chart(app, 'vault-backup'), 'vault-backup', { vault });
  new VaultAlerts(new Chart(app, 'vault-alerts'), 'vault-alerts', { vault, store });

  // One ExternalSecret per app secret, read from secret/<path> in Vault.
  const secrets = new Chart(app, 'app-secrets');
  new AppSecret(secrets, 'postgres-secret', {
    namespace: 'db',
    store,
    data: [
      { secretKey: 'POSTGRES_USER', path: 'postgres-secret' },
      { secretKey: 'POSTGRES_PASSWORD', path: 'postgres-secret' },
    ],
  });
  new AppSecret(secrets, 'authentik-db', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-db' }] });
  new AppSecret(secrets, 'authentik-secret', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-secret' }] });
  new AppSecret(secrets, 'grafana-admin', { namespace: 'monitoring', store, dataFrom: [{ path: 'grafana-admin' }] });
  return app;
}

/**
 * Builds the app, then replaces the output folder with a fresh synthesis (stale files of removed charts go too). A
 * construct that rejects its props throws while the app is built, so the output folder is left as it was.
 */
export function synthesize(build: () => App = buildApp): void {
  const app = build();
  rmSync(app.outdir, { recursive: true, force: true });
  app.synth();
}

if (require.main === module) {
  synthesize();
}
