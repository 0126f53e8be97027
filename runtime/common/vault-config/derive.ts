// Vault's desired configuration from manifests, one derivation for everyone: vault-setup reads dist/'s YAML into
// documents, the bootstrap construct hands over the synthesized objects (lib/vault-bootstrap.ts renders the result
// into the job's ConfigMap), and both get the same plan: the stores' roles and policies (fenced per namespace), with
// Raft the snapshot job's identity and autopilot, with a bootstrap CronJob its identity, the writer's and the audit device.
import { withBootstrap } from './bootstrap';
import { DesiredConfig, desiredConfig } from './desired';
import { checkFences } from './fences';
import { Manifests, manifestsFrom } from './manifests';
import { withRaft } from './raft';

/**
 * The stores and reads `docs` declare and the configuration Vault needs for them; refuses a dist/ that breaks a fence,
 * and one with no store unless `allowNoStore`.
 */
export function deriveConfig(docs: Record<string, any>[], allowNoStore = false): { manifests: Manifests; want: DesiredConfig } {
  const manifests = manifestsFrom(docs, allowNoStore);
  const want = withBootstrap(withRaft(desiredConfig(manifests), docs), docs);
  checkFences(manifests, want);
  return { manifests, want };
}
