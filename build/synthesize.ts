import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { join, relative, resolve } from 'path';
import { ApiObject, App } from 'cdk8s';
import { extraFiles, summaryLines } from './summary';
import { isPropError } from './prop-error';
import { root } from './bundle';

/** A file written to the output folder: its path in the folder and its number of objects. */
export interface Written {
  readonly file: string;
  /** Undefined for a file that is not a manifest. */
  readonly objects?: number;
}

/** What a synthesis wrote, and what its constructs say the operator must know (such as who may reach Vault). */
export interface Synthesis {
  readonly files: Written[];
  readonly notes: string[];
}

const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : 'core');

/**
 * What no single construct can see: two objects with the same kind, namespace and name (the second would silently
 * replace the first), and two ExternalSecrets writing the same Secret (ESO would overwrite it in turn, forever). Each
 * message names both constructs by their path in the app.
 */
export function checkApps(apps: App[]): string[] {
  const errors: string[] = [];
  const objects = new Map<string, string>();
  const targets = new Map<string, string>();
  /** Whether `owner` is the first to claim `key`; a later one is an error. */
  const claim = (seen: Map<string, string>, key: string, owner: string, message: (first: string) => string) => {
    const first = seen.get(key);
    if (first !== undefined) errors.push(message(first));
    else seen.set(key, owner);
    return first === undefined;
  };
  for (const app of apps) {
    for (const c of app.node.findAll()) {
      if (!(c instanceof ApiObject)) continue;
      const owner = c.node.scope?.node.path ?? c.node.path;
      const namespace = c.metadata.namespace;
      const where = namespace ? `${namespace}/${c.name}` : c.name;
      const unique = claim(objects, `${groupOf(c.apiVersion)} ${c.kind} ${namespace ?? ''} ${c.name}`, owner,
        (first) => `duplicate ${c.kind} ${where}: defined by ${first} and by ${owner}; give one of them another name`);
      if (unique && c.kind === 'ExternalSecret') {
        const target = c.toJson().spec?.target?.name ?? c.name;
        claim(targets, `${namespace ?? ''} ${target}`, owner,
          (first) => `two ExternalSecrets write the Secret ${namespace}/${target}: ${first} and ${owner}; ESO would overwrite it in turn, forever`);
      }
    }
  }
  return errors;
}

/** The number of objects in a manifest; undefined for another file (such as a runbook). */
function countObjects(file: string, text: string): number | undefined {
  if (!file.endsWith('.yaml')) return undefined;
  return text.trim() === '' ? 0 : (text.match(/^---$/gm) ?? []).length + 1;
}

function listFiles(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path, base) : [relative(base, path)];
  });
}

/**
 * Builds the apps into a staging folder beside `outdir` and replaces `outdir` with it only when every construct
 * accepted its props and the checks across the apps pass: a wrong prop leaves `outdir` as it was. Returns what it wrote.
 */
export function synthesize(build: (outdir: string) => App[], outdir: string): Synthesis {
  // The output folder is replaced whole: never the project, nor a folder holding it.
  if (!relative(resolve(outdir), root).startsWith('..')) {
    throw Object.assign(new Error(`refusing to write to ${outdir}: it holds the project (${root}); set CDK8S_OUTDIR to a folder of its own, such as dist`), { propError: true });
  }
  const staging = `${outdir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  let notes: string[] = [];
  try {
    const apps = build(staging);
    const errors = checkApps(apps);
    if (errors.length > 0) throw Object.assign(new Error(errors.join('\n')), { propError: true });
    for (const app of apps) {
      app.synth();
      // The folder the app's files end up in, as the user sees it: relative to the project, after the rename below.
      const folder = relative(root, join(resolve(outdir), relative(resolve(staging), resolve(app.outdir)))).replace(/\\/g, '/');
      for (const file of extraFiles(app)) writeFileSync(join(app.outdir, file.name), file.produce(folder));
    }
    notes = apps.flatMap((app) => summaryLines(app));
    rmSync(outdir, { recursive: true, force: true });
    renameSync(staging, outdir);
  } finally {
    if (existsSync(staging)) rmSync(staging, { recursive: true, force: true });
  }
  return { files: listFiles(outdir).map((file) => ({ file, objects: countObjects(file, readFileSync(join(outdir, file), 'utf8')) })), notes };
}

/** What synthesis prints: each file with its number of objects, then what the constructs say. */
export function summary(outdir: string, { files, notes }: Synthesis): string {
  const width = Math.max(...files.map((w) => w.file.length));
  const total = files.reduce((sum, w) => sum + (w.objects ?? 0), 0);
  return [
    `wrote ${outdir}/: ${files.length} files, ${total} objects`,
    ...files.map((w) => (w.objects === undefined ? `  ${w.file}` : `  ${w.file.padEnd(width)}  ${String(w.objects).padStart(3)}`)),
    ...notes,
  ].join('\n');
}

export { isPropError };
