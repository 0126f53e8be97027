import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as YAML from 'yaml';
import { root } from '../build/bundle';

// The HA example's migration runbook, read as an operator follows it: what one step suspends, a later step before the
// unseal step resumes, because nothing else will (no manifest in dist/ owns spec.suspend).
const readme = readFileSync(join(root, 'examples', 'ha-raft', 'README.md'), 'utf8');
const steps = readme.split(/\n(?=\d+\. \*\*)/);
const stepIndex = (title: RegExp) => steps.findIndex((s) => title.test(s.split('\n')[0]));
const patched = (step: string, suspend: boolean): string[] => {
  const loops = [...step.matchAll(/for cj in ([\w -]+); do kubectl -n security patch cronjob "\$cj" -p '\{"spec":\{"suspend":(true|false)\}\}'/g)];
  return loops.filter((m) => m[2] === String(suspend)).flatMap((m) => m[1].trim().split(/\s+/));
};

function cronJobs(dir: string): any[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return cronJobs(path);
    if (!e.name.endsWith('.yaml')) return [];
    return YAML.parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJSON()).filter((o) => o?.kind === 'CronJob');
  });
}

test('every CronJob the runbook suspends is resumed by an explicit patch before the unseal step', () => {
  const unsealStep = stepIndex(/\*\*Unseal\*\*/);
  expect(unsealStep).toBeGreaterThan(0);
  const suspended = steps.slice(0, unsealStep).flatMap((s) => patched(s, true));
  expect(suspended).toEqual(['vault-auto-unseal', 'eso-recovery']);
  const suspendStep = steps.findIndex((s) => patched(s, true).length > 0);
  const resumed = steps.slice(suspendStep + 1, unsealStep).flatMap((s) => patched(s, false));
  expect(resumed.sort()).toEqual([...suspended].sort());
});

test('no manifest of the example sets spec.suspend, so GitOps would never resume a suspended CronJob', () => {
  const jobs = cronJobs(join(root, 'examples', 'ha-raft', 'dist'));
  expect(jobs.map((j) => j.metadata.name)).toEqual(expect.arrayContaining(['vault-auto-unseal', 'eso-recovery']));
  for (const job of jobs) expect(job.spec.suspend).toBeUndefined();
  expect(readme).not.toMatch(/GitOps re-applies the CronJobs unsuspended/);
});
