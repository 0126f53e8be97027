import { join } from 'path';
import { includeCases } from './support/cases';

// The tests of test/apps/, in one jest file: see test/support/cases.ts.
includeCases(join(__dirname, 'apps'));
