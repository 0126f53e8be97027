// The synthesized YAML in dist/ (the same files GitOps applies), parsed into documents for the derivation of
// runtime/common/vault-config/manifests.ts.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as YAML from 'yaml';
import { recordSource } from '../../runtime/common/vault-config/manifests';

type Doc = Record<string, any>;

/** Every YAML document of the `.yaml`/`.yml` files in `dir`, in file name order. */
export function readManifests(dir: string): Doc[] {
  let files: string[];
  try {
    // dist/ holds one folder per GitOps unit.
    files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (error) {
    throw new Error(`cannot read the manifests in ${dir} (${(error as NodeJS.ErrnoException).code}): run \`npm run synth\`, or pass --dist DIR`);
  }
  const docs: Doc[] = [];
  for (const file of files) {
    for (const doc of YAML.parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`cannot parse ${join(dir, file)}: ${doc.errors[0].message}`);
      const value = doc.toJSON();
      if (value && typeof value === 'object') {
        recordSource(value, file);
        docs.push(value);
      }
    }
  }
  return docs;
}

