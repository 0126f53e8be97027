import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/apps/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'apps'), {
  'examples': () => require('./apps/examples.cases'),
  'examples-migration': () => require('./apps/examples-migration.cases'),
  'fork': () => require('./apps/fork.cases'),
  'ha-raft-restore': () => require('./apps/ha-raft-restore.cases'),
  'ha-raft-runbook': () => require('./apps/ha-raft-runbook.cases'),
  'main': () => require('./apps/main.cases'),
  'network-policies': () => require('./apps/network-policies.cases'),
  'recovery-admission': () => require('./apps/recovery-admission.cases'),
  'tls': () => require('./apps/tls.cases'),
});
