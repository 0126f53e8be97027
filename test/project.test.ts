import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/project/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'project'), {
  'architecture': () => require('./project/architecture.cases'),
  'cel': () => require('./project/cel.cases'),
  'defaults': () => require('./project/defaults.cases'),
  'docs': () => require('./project/docs.cases'),
  'docs-names': () => require('./project/docs-names.cases'),
  'docs-snippets': () => require('./project/docs-snippets.cases'),
  'prop-tables': () => require('./project/prop-tables.cases'),
  'readme': () => require('./project/readme.cases'),
  'readme-sample': () => require('./project/readme-sample.cases'),
});
