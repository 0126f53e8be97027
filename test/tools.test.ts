import { join } from 'path';
import { includeCases } from './support/cases';

// The unit tests of test/tools/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'tools'));
