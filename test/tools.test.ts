import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/tools/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'tools'), {
  'names': () => require('./tools/names.cases'),
  'vault-rollout.plan': () => require('./tools/vault-rollout.plan.cases'),
  'vault-rollout-tls': () => require('./tools/vault-rollout-tls.cases'),
  'vault-setup': () => require('./tools/vault-setup.cases'),
  'vault-setup-raft': () => require('./tools/vault-setup-raft.cases'),
  'vault-setup-raft.integration': () => require('./tools/vault-setup-raft.integration.cases'),
  'vault-setup-tls': () => require('./tools/vault-setup-tls.cases'),
  'vault-setup.failures.integration': () => require('./tools/vault-setup.failures.integration.cases'),
  'vault-setup.fences.integration': () => require('./tools/vault-setup.fences.integration.cases'),
  'vault-setup.integration': () => require('./tools/vault-setup.integration.cases'),
  'vault-setup.plan': () => require('./tools/vault-setup.plan.cases'),
  'vault-setup.retire.integration': () => require('./tools/vault-setup.retire.integration.cases'),
  'vault-setup.safety': () => require('./tools/vault-setup.safety.cases'),
  'vault-setup.safety.integration': () => require('./tools/vault-setup.safety.integration.cases'),
  'write-secrets': () => require('./tools/write-secrets.cases'),
});
