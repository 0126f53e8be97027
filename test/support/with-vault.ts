import { Chart, Testing } from 'cdk8s';
import { VaultStack, VaultStackProps } from '../../lib';
import { Manifest } from './manifests';

/** A VaultStack as the tests need one: the example host, and the UI's namespace its NetworkPolicy requires. */
export function testVault(scope: Chart, props: Partial<VaultStackProps> = {}, id = 'vault'): VaultStack {
  return new VaultStack(scope, id, { host: 'vault.example.com', ...props });
}

/** The objects `build` adds to a chart of their own, beside a VaultStack in another chart (left out of the result). */
export function synthWithVault(build: (chart: Chart, vault: VaultStack) => void, vaultProps: Partial<VaultStackProps> = {}): Manifest[] {
  const app = Testing.app();
  const vault = testVault(new Chart(app, 'vault'), vaultProps);
  const chart = new Chart(app, 'test');
  build(chart, vault);
  return Testing.synth(chart) as Manifest[];
}
