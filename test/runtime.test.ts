import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/runtime/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'runtime'), {
  'cert-reloader': () => require('./runtime/cert-reloader.cases'),
  'common/age': () => require('./runtime/common/age.cases'),
  'common/log': () => require('./runtime/common/log.cases'),
  'common/main': () => require('./runtime/common/main.cases'),
  'common/retry': () => require('./runtime/common/retry.cases'),
  'common/settings': () => require('./runtime/common/settings.cases'),
  'common/tls': () => require('./runtime/common/tls.cases'),
  'eso-recovery': () => require('./runtime/eso-recovery.cases'),
  'eso-recovery-failures.integration': () => require('./runtime/eso-recovery-failures.integration.cases'),
  'eso-recovery-tls': () => require('./runtime/eso-recovery-tls.cases'),
  'fake-kube-secrets': () => require('./runtime/fake-kube-secrets.cases'),
  'fake-vault-lifecycle': () => require('./runtime/fake-vault-lifecycle.cases'),
  'raft-snapshot-archive': () => require('./runtime/raft-snapshot-archive.cases'),
  'raft-snapshot-tls': () => require('./runtime/raft-snapshot-tls.cases'),
  'unseal': () => require('./runtime/unseal.cases'),
  'unseal.integration': () => require('./runtime/unseal.integration.cases'),
  'vault-bootstrap-settings': () => require('./runtime/vault-bootstrap-settings.cases'),
  'unseal-tls': () => require('./runtime/unseal-tls.cases'),
});
