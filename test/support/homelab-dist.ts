import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { AppSecret, EsoStore, VaultStack } from '../../lib';
import { synthesize } from '../../build/synthesize';

let dir: string | undefined;

/**
 * A dist/ folder with the seed's four app secrets, synthesized once per jest file from the constructs. Tests that
 * need "this homelab's secrets" read it rather than the project's dist/, which grows as a user adds apps to main.ts.
 */
export function homelabDist(): string {
  if (dir) return dir;
  dir = join(mkdtempSync(join(tmpdir(), 'homelab-')), 'dist');
  synthesize((outdir) => {
    const app = new App({ outdir });
    const vault = new VaultStack(new Chart(app, 'vault'), 'vault', { host: 'vault.example.com' });
    const store = new EsoStore(new Chart(app, 'eso-store'), 'eso-store', { vault });
    const secrets = new Chart(app, 'app-secrets');
    new AppSecret(secrets, 'postgres-secret', {
      namespace: 'db',
      store,
      data: [{ secretKey: 'POSTGRES_USER', path: 'postgres-secret' }, { secretKey: 'POSTGRES_PASSWORD', path: 'postgres-secret' }],
    });
    new AppSecret(secrets, 'authentik-db', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-db' }] });
    new AppSecret(secrets, 'authentik-secret', { namespace: 'authentik', store, dataFrom: [{ path: 'authentik-secret' }] });
    new AppSecret(secrets, 'grafana-admin', { namespace: 'monitoring', store, dataFrom: [{ path: 'grafana-admin' }] });
    return [app];
  }, dir);
  return dir;
}
