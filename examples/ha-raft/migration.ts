import { join } from 'path';
import { App, Chart } from 'cdk8s';
import { VaultRaftMigration, VaultStack } from '../../lib';
import { site, vaultProps } from './main';

// The one-off objects that move the seed's data from file storage to Raft, written to migration/ beside dist/ (never
// inside it, where GitOps would run the migration on every sync). Applied by hand, in the order of the runbook in
// README.md. Derived from the same values as dist/: pod 0's claim, node id and cluster address.

/** One App: migration/migration.k8s.yaml. */
export function buildApps(outdir = join(__dirname, 'migration')): App[] {
  // The Raft VaultStack as dist/ has it, in an App that is never synthesized: only its names and addresses are used.
  const vault = new VaultStack(new Chart(new App({ outdir: join(outdir, '.unused') }), 'vault'), 'vault', vaultProps);
  const app = new App({ outdir });
  new VaultRaftMigration(new Chart(app, 'migration'), 'migration', { vault, sourceClaimName: site.seedClaimName });
  return [app];
}
