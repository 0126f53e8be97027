import { rmSync } from 'fs';
import { App, Chart } from 'cdk8s';
import { VaultStack } from './lib';

/**
 * The homelab: one chart per concern, each written to `dist/<chart>.k8s.yaml`. Every construct checks its props when it
 * is created, so a wrong prop throws here, before anything is written.
 */
export function buildApp(outdir?: string): App {
  const app = new App(outdir ? { outdir } : {});
  new VaultStack(new Chart(app, 'vault'), 'vault');
  return app;
}

/** Builds the app, then replaces the output folder with a fresh synthesis (stale files of removed charts go too). */
export function synthesize(): void {
  const app = buildApp();
  rmSync(app.outdir, { recursive: true, force: true });
  app.synth();
}

if (require.main === module) {
  synthesize();
}
